"""`tctl delete`: remove configuration from the store (with --cascade, with everything under it)."""

from __future__ import annotations

import contextlib
from typing import Optional

import typer

from tctl_py.cli.common import (
    Org,
    Recursive,
    Tenant,
    Verbose,
    Workspace,
    open_store,
    out,
    read_inputs,
    reconcile_lock,
)

HELP = """Delete objects named in files (-f) or as KIND NAME.

A parent whose children are not deleted in the same command is refused (exit 3): --cascade deletes everything under it too (a workspace's setting; an organization's tenants, workspaces, settings and clusters). Nothing is deleted if any named object does not exist. Then the clusters are reconciled: what the deleted configuration generated is pruned (--no-sync leaves them).
"""


def command(
    kind: Optional[str] = typer.Argument(None, help="Kind of object (plural, singular or short name)."),
    name: Optional[str] = typer.Argument(None, help="Name of the object."),
    filenames: Optional[list[str]] = typer.Option(
        None, "-f", "--filename", metavar="PATH", help="Delete the objects defined in these files."
    ),
    recursive: bool = Recursive,
    org: Optional[str] = Org,
    tenant: Optional[str] = Tenant,
    workspace: Optional[str] = Workspace,
    no_sync: bool = typer.Option(False, "--no-sync", help="Delete from the store; leave the clusters."),
    cascade: bool = typer.Option(False, "--cascade", help="Also delete everything under the named objects."),
    verbose: bool = Verbose,
) -> None:
    from tctl_py.cli import meshview
    from tctl_py.cli.report import reconcile_and_report
    from tctl_py.config import kinds, objects
    from tctl_py.config.selection import select
    from tctl_py.errors import InvalidInput, NotFound, UsageError

    if bool(filenames) == bool(kind):
        raise UsageError("name what to delete: either -f PATH or KIND NAME")
    with open_store() as store:
        if filenames:
            loaded, problems = read_inputs(filenames, recursive)
            if problems:
                raise InvalidInput(problems, "nothing deleted: the input has problems")
            installs = [
                d
                for d in loaded.documents
                if not getattr(kinds.lookup(d.api_version, d.kind), "stored", False)
            ]
            if installs:
                raise UsageError(
                    f"{installs[0].source}: {installs[0].kind} {installs[0].name} is not "
                    "kept in the store; delete it from its cluster with kubectl"
                )
            targets = [item.fqn for item in objects.items(loaded.documents)]
        else:
            resolved = kinds.resolve(kind or "")
            if not name:
                raise UsageError(f"name the {resolved.singular} to delete: tctl delete {kind} NAME")
            if not resolved.stored:
                raise UsageError(f"{resolved.plural} are not kept in the store")
            found = select(store, resolved, name=name, org=org, tenant=tenant, workspace=workspace)
            if not found:
                raise NotFound(
                    f'{resolved.singular} "{name}" not found; nothing deleted',
                    hint=f"`tctl get {resolved.plural}` lists what the store holds",
                )
            if len(found) > 1:
                choices = ", ".join(stored.fqn for stored in found)
                raise UsageError(
                    f'"{name}" names {len(found)} objects: {choices}',
                    hint="narrow it with --org, --tenant or --workspace",
                )
            targets = [found[0].fqn]
        with contextlib.ExitStack() as held:
            if not no_sync:
                held.enter_context(reconcile_lock(store, "tctl delete"))
            baseline = meshview.mesh_config(store)
            changes = store.delete(targets, cascade=cascade)
            config = meshview.mesh_config(store)
            out("".join(f"{objects.change_label(change)} deleted\n" for change in changes))
            if no_sync:
                return
            # What the deleted configuration generated is pruned from the clusters: the
            # tombstones the store just recorded make it this store's to prune.
            fleet = held.enter_context(meshview.load_fleet(config))
            code = reconcile_and_report(
                config,
                fleet,
                meshview.ownership(store, config),
                dry_run=None,
                force_conflicts=False,
                baseline=baseline,
                verbose=verbose,
            )
    raise typer.Exit(code)
