"""`tctl get`: list configuration from the store, as a table, YAML, JSON or names."""

from __future__ import annotations

import enum
import sys
from typing import Optional

import typer

from tctl_py.cli.common import err, open_store, out

HELP = """List objects of a kind, or one by NAME.

KIND: organizations|org, tenants, workspaces|ws, workspacesettings|wss, clusters.

Several objects in yaml/json are printed as one `kind: List`. When nothing matches, "No resources found" goes to stderr and the exit code is 0.
"""


class Output(str, enum.Enum):
    table = "table"
    wide = "wide"
    yaml = "yaml"
    json = "json"
    name = "name"


Org = typer.Option(None, "--org", "--organization", help="Only objects of this organization.")
Tenant = typer.Option(None, "--tenant", help="Only objects of this tenant.")
Workspace = typer.Option(None, "--workspace", "-w", help="Only objects of this workspace.")


def command(
    kind: str = typer.Argument(..., help="Kind of object (plural, singular or short name)."),
    name: Optional[str] = typer.Argument(None, help="Name of one object."),
    org: Optional[str] = Org,
    tenant: Optional[str] = Tenant,
    workspace: Optional[str] = Workspace,
    output: Output = typer.Option(Output.table, "-o", "--output", help="Output format."),
) -> None:
    from tctl_py.config import kinds, objects
    from tctl_py.config.selection import select
    from tctl_py.errors import NotFound, UsageError
    from tctl_py.output import render, tables

    resolved = kinds.resolve(kind)
    if not resolved.stored:
        raise UsageError(f"{resolved.plural} are not kept in the store",
                         hint="generated Istio objects are listed with --cluster once a fleet is set")
    with open_store() as store:
        found = select(store, resolved, name=name, org=org, tenant=tenant, workspace=workspace)
    if name and not found:
        raise NotFound(f'{resolved.singular} "{name}" not found',
                       hint=f"`tctl get {resolved.plural}` lists what the store holds")
    if not found:
        err("No resources found\n")
        return
    bodies = [stored.body for stored in found]
    if output is Output.yaml:
        out(render.yaml_text(bodies, single=bool(name)))
    elif output is Output.json:
        out(render.json_text(bodies, single=bool(name)))
    elif output is Output.name:
        out("".join(f"{objects.label(resolved, b['metadata']['name'])}\n" for b in bodies))
    else:
        headers, rows = tables.rows(resolved.kind, bodies, wide=output is Output.wide)
        tables.render(headers, rows, sys.stdout)
