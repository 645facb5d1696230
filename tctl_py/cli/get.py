"""`tctl get`: list configuration from the store, as a table, YAML, JSON or names."""

from __future__ import annotations

import sys
from typing import Optional

import typer

from tctl_py.cli import completers
from tctl_py.cli.common import Org, Suppress, Tenant, Workspace, err, open_store

HELP = """List objects of a kind, or one by NAME.

Configuration from the store: organizations|org, tenants, workspaces|ws, workspacesettings|wss, clusters.

Istio objects tctl generates for the fleet: serviceentries|se, workloadentries|we, destinationrules|dr, gateways|gw, for the current context's cluster, --cluster C, or every cluster with -A; -n narrows to one namespace. Their yaml output can be piped to `kubectl apply -f -`.

Several objects in yaml/json are printed as one `kind: List`. When nothing matches, "No resources found" goes to stderr and the exit code is 0.
"""


OUTPUT_HELP = (
    "table, wide, yaml (or yml), json, name, jsonpath=TEMPLATE (kubectl's: "
    "'{.items[*].metadata.name}', '{range .items[*]}{.metadata.name}{\"\\n\"}{end}') or "
    "custom-columns=HEADER:.path,... (e.g. NAME:.metadata.name,HOST:.spec.host)."
)


def command(
    kind: str = typer.Argument(
        ...,
        help="Kind of object (plural, singular or short name); several as se,we; all for every "
        "generated kind; or KIND/NAME.",
        autocompletion=completers.kinds,
    ),
    name: Optional[str] = typer.Argument(None, help="Name of one object.", autocompletion=completers.names),
    org: Optional[str] = Org,
    tenant: Optional[str] = Tenant,
    workspace: Optional[str] = Workspace,
    output: str = typer.Option("table", "-o", "--output", metavar="FORMAT", help=OUTPUT_HELP),
    selector: Optional[str] = typer.Option(
        None,
        "-l",
        "--selector",
        metavar="SELECTOR",
        help="Only objects whose labels match: key=value, key!=value, key in (a,b), "
        "key notin (a,b), key, !key; comma-separated, all must hold.",
    ),
    cluster: Optional[str] = typer.Option(
        None,
        "--cluster",
        "--context",
        help="Cluster of generated objects.",
        autocompletion=completers.clusters,
    ),
    all_clusters: bool = typer.Option(
        False, "-A", "--all-clusters", help="Generated objects of every cluster."
    ),
    namespace: Optional[str] = typer.Option(
        None, "-n", "--namespace", help="Only this namespace.", autocompletion=completers.namespaces
    ),
    suppress: Optional[list[str]] = Suppress,
) -> None:
    from tctl_py.cli.report import FINDINGS
    from tctl_py.config import label_selector
    from tctl_py.config.selection import select
    from tctl_py.errors import NotFound, UsageError
    from tctl_py.output.formats import parse_output

    FINDINGS.start(suppress)
    fmt = parse_output(output)
    try:
        labels = label_selector.parse(selector or "")
    except label_selector.SelectorError as error:
        raise UsageError(f"bad --selector: {error}") from None
    wanted, name = kinds_and_name(kind, name)
    if all(k.generated for k in wanted):
        from tctl_py.cli.generated import get_generated

        get_generated(wanted, name, cluster, all_clusters, namespace, fmt, labels)
        return
    for each in wanted:
        if not each.stored and not each.generated:
            raise UsageError(
                f"{each.plural} are installed in clusters, not kept in the store",
                hint="list them with kubectl get",
            )
    if any(k.generated for k in wanted):
        raise UsageError(
            "configuration kinds and generated kinds cannot be listed together",
            hint="run one tctl get for each",
        )
    # The store's configuration has no namespace and is the same for every cluster: options
    # that choose one are refused, never silently ignored. -A (everything, as `kubectl get -A`)
    # is what a list of configuration always is, so it is accepted.
    for given, option in (
        (namespace is not None, "-n/--namespace"),
        (cluster, "--cluster/--context"),
    ):
        if given:
            raise UsageError(
                f"{option} does not apply to {wanted[0].plural}: configuration is kept in the store, "
                "in no namespace and no cluster",
                hint="narrow it with --org, --tenant or --workspace; "
                f"{option} chooses generated objects (se, we, dr, gw)",
            )
    with open_store() as store:
        found = [
            stored
            for each in wanted
            for stored in select(store, each, name=name, org=org, tenant=tenant, workspace=workspace)
            if labels.matches(stored.body.get("metadata", {}).get("labels"))
        ]
    if name and not found:
        plural = ",".join(k.plural for k in wanted)
        raise NotFound(
            f'{"/".join(k.singular for k in wanted)} "{name}" not found',
            hint=f"`tctl get {plural}` lists what the store holds",
        )
    if not found:
        err("No resources found\n")
        return
    from tctl_py.output.printer import ObjectPrinter

    single = bool(name) and len(wanted) == 1
    printer = ObjectPrinter(fmt, sys.stdout, single=single, kinds=[k.kind for k in wanted])
    for stored in found:
        printer.add(stored.body)
    printer.close()


def kinds_and_name(text: str, name: str | None) -> tuple[list, str | None]:
    """The kinds `get` lists and the name it looks for: `se`, `se,we`, `all` (every generated
    kind) or `se/NAME`."""
    from tctl_py.config import kinds
    from tctl_py.errors import UsageError

    if "/" in text:
        if name:
            raise UsageError(f'give the name once: "{text}" already names it')
        text, name = text.split("/", 1)
        if not name:
            raise UsageError(f'"{text}/" names no object')
    wanted: list = []
    for part in text.split(","):
        found = kinds.generated_kinds() if part.lower() == "all" else [kinds.resolve(part)]
        wanted += [k for k in found if k not in wanted]
    return wanted, name
