"""`tctl delete`: remove configuration from the store (with --cascade, with everything under it)."""

from __future__ import annotations

import contextlib
from typing import Optional

import typer

from tctl_py.cli.common import (
    AllClusters,
    DryRun,
    OneCluster,
    Org,
    Quiet,
    Recursive,
    ReportOutput,
    Suppress,
    Tenant,
    Verbose,
    Workspace,
    open_store,
    read_inputs,
    reconcile_lock,
)

HELP = """Delete objects named in files (-f) or as KIND NAME: what apply -f added, delete -f takes away.

A parent whose children are not deleted in the same command is refused (exit 3): --cascade deletes everything under it too (a workspace's setting; an organization's tenants, workspaces, settings and clusters). Nothing is deleted if any named object does not exist. Then the clusters are reconciled: what the deleted configuration generated is pruned (--no-sync leaves them; --cluster C reconciles C alone). IngressGateway documents are deleted from the cluster named by --cluster, or from every cluster with --all-clusters.

--dry-run (client) shows what would be deleted and pruned and writes nothing; --dry-run=server sends the deletes with dryRun=All. Both exit 1 when anything would change. Exit 4 when a cluster failed.
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
    dry_run: Optional[str] = DryRun,
    no_sync: bool = typer.Option(False, "--no-sync", help="Delete from the store; leave the clusters."),
    cluster: Optional[str] = OneCluster,
    all_clusters: bool = AllClusters,
    cascade: bool = typer.Option(False, "--cascade", help="Also delete everything under the named objects."),
    verbose: bool = Verbose,
    quiet: bool = Quiet,
    output: Optional[str] = ReportOutput,
    suppress: Optional[list[str]] = Suppress,
) -> None:
    from tctl_py.cli import meshview
    from tctl_py.cli.report import (
        FINDINGS,
        Reporter,
        check_dry_run,
        install_and_report,
        installed_documents,
        reconcile_and_report,
    )
    from tctl_py.config import kinds, objects
    from tctl_py.config.selection import select
    from tctl_py.errors import ExitCode, InvalidInput, NotFound, UsageError

    FINDINGS.start(suppress)
    check_dry_run(dry_run)
    chosen = meshview.cluster_choice([cluster] if cluster else [])
    cluster = chosen[0] if chosen else None
    if bool(filenames) == bool(kind):
        raise UsageError("name what to delete: either -f PATH or KIND NAME")
    reporter = Reporter("delete", output=output or "text", dry_run=dry_run, verbose=verbose, quiet=quiet)
    installs: list = []
    with open_store() as store:
        if filenames:
            loaded, problems = read_inputs(filenames, recursive)
            if problems:
                raise InvalidInput(problems, "nothing deleted: the input has problems")
            installs = installed_documents(loaded, cluster, all_clusters)
            targets = [item.fqn for item in objects.items(loaded.documents)]
        else:
            if cluster and all_clusters:
                raise UsageError("give either --cluster or --all-clusters, not both")
            resolved = kinds.resolve(kind or "")
            if not name:
                raise UsageError(f"name the {resolved.singular} to delete: tctl delete {kind} NAME")
            if not resolved.stored:
                raise UsageError(
                    f"{resolved.plural} are not kept in the store",
                    hint="delete them with the file that installed them: tctl delete -f FILE --cluster C",
                )
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
        if installs or not no_sync:
            meshview.require_fleet()
        codes = []
        with contextlib.ExitStack() as held:
            if not no_sync:
                held.enter_context(reconcile_lock(store, "tctl delete", dry_run))
            baseline = meshview.mesh_config(store)
            changes = store.delete(targets, dry_run=bool(dry_run), cascade=cascade) if targets else []
            deleted = [change.fqn for change in changes]
            config = meshview.mesh_config(store, without=deleted if dry_run else ())
            reporter.store(changes)
            if dry_run and changes:
                codes.append(int(ExitCode.DIFFERENCES))
            if installs or not no_sync:
                reconciling = None if no_sync else [cluster] if cluster else []
                fleet = held.enter_context(meshview.load_fleet(config, reconciling=reconciling))
            if installs:
                where = [cluster] if cluster else fleet.names()
                bodies = [d.mapping for d in installs]
                codes.append(install_and_report(fleet, bodies, where, dry_run, reporter, remove=True))
            if not no_sync:
                # What the deleted configuration generated is pruned from the clusters: the
                # tombstones the store just recorded (or would) make it this store's to prune.
                codes.append(
                    reconcile_and_report(
                        config,
                        fleet,
                        meshview.ownership(store, config, releasing=deleted if dry_run else ()),
                        dry_run=dry_run,
                        force_conflicts=False,
                        clusters=[cluster] if cluster else None,
                        baseline=baseline,
                        reporter=reporter,
                        history=(store, "tctl delete"),
                    )
                )
    reporter.close()
    raise typer.Exit(ExitCode.worst(codes))
