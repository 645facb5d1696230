"""`tctl get`: list configuration from the store, as a table, YAML, JSON or names."""

from __future__ import annotations

import enum
import sys
from typing import Optional

import typer

from tctl_py.cli.common import Org, Suppress, Tenant, Workspace, err, open_store

HELP = """List objects of a kind, or one by NAME.

Configuration from the store: organizations|org, tenants, workspaces|ws, workspacesettings|wss, clusters.

Istio objects tctl generates for the fleet: serviceentries|se, workloadentries|we, destinationrules|dr, gateways|gw, for the current context's cluster, --cluster C, or every cluster with -A; -n narrows to one namespace. Their yaml output can be piped to `kubectl apply -f -`.

Several objects in yaml/json are printed as one `kind: List`. When nothing matches, "No resources found" goes to stderr and the exit code is 0.
"""


class Output(str, enum.Enum):
    table = "table"
    wide = "wide"
    yaml = "yaml"
    json = "json"
    name = "name"


def command(
    kind: str = typer.Argument(..., help="Kind of object (plural, singular or short name)."),
    name: Optional[str] = typer.Argument(None, help="Name of one object."),
    org: Optional[str] = Org,
    tenant: Optional[str] = Tenant,
    workspace: Optional[str] = Workspace,
    output: Output = typer.Option(Output.table, "-o", "--output", help="Output format."),
    cluster: Optional[str] = typer.Option(
        None, "--cluster", "--context", help="Cluster of generated objects."
    ),
    all_clusters: bool = typer.Option(
        False, "-A", "--all-clusters", help="Generated objects of every cluster."
    ),
    namespace: Optional[str] = typer.Option(None, "-n", "--namespace", help="Only this namespace."),
    suppress: Optional[list[str]] = Suppress,
) -> None:
    from tctl_py.cli.report import FINDINGS

    FINDINGS.start(suppress)
    from tctl_py.config import kinds
    from tctl_py.config.selection import select
    from tctl_py.errors import NotFound, UsageError

    resolved = kinds.resolve(kind)
    if resolved.generated:
        from tctl_py.cli.generated import get_generated

        get_generated(resolved, name, cluster, all_clusters, namespace, output.value)
        return
    if not resolved.stored:
        raise UsageError(
            f"{resolved.plural} are installed in clusters, not kept in the store",
            hint="list them with kubectl get",
        )
    # The store's configuration has no namespace and is the same for every cluster: options
    # that choose either are refused, never silently ignored.
    for given, option in (
        (namespace is not None, "-n/--namespace"),
        (all_clusters, "-A/--all-clusters"),
        (cluster, "--cluster/--context"),
    ):
        if given:
            raise UsageError(
                f"{option} does not apply to {resolved.plural}: configuration is kept in the store, "
                "in no namespace and no cluster",
                hint="narrow it with --org, --tenant or --workspace; "
                f"{option} chooses generated objects (se, we, dr, gw)",
            )
    with open_store() as store:
        found = select(store, resolved, name=name, org=org, tenant=tenant, workspace=workspace)
    if name and not found:
        raise NotFound(
            f'{resolved.singular} "{name}" not found',
            hint=f"`tctl get {resolved.plural}` lists what the store holds",
        )
    if not found:
        err("No resources found\n")
        return
    from tctl_py.output.printer import ObjectPrinter

    printer = ObjectPrinter(output.value, resolved, sys.stdout, single=bool(name))
    for stored in found:
        printer.add(stored.body)
    printer.close()
