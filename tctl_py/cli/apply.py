"""`tctl apply -f`: validate, store the configuration, then reconcile every cluster of the fleet."""

from __future__ import annotations

import contextlib
from typing import Optional

import typer

from tctl_py.cli.common import (
    AllClusters,
    DryRun,
    Filenames,
    OneCluster,
    Quiet,
    Recursive,
    ReportOutput,
    Suppress,
    Verbose,
    open_store,
    organizations_of,
    out,
    read_inputs,
    reconcile_lock,
    store_batch,
)
from tctl_py.errors import ExitCode, InvalidInput

HELP = """Validate and apply configuration: store it, then write the Istio objects it means to every cluster of the fleet.

Documents are ordered parent-first automatically. Storing is one transaction: if any document is invalid or its parent is missing, nothing is written anywhere. Then every cluster is reconciled (server-side apply, field manager tctl): missing objects created, drifted ones updated, and ones the store's configuration no longer generates pruned; objects tctl made for configuration this store does not hold, and objects tctl does not own, are left alone (the latter unless --force-conflicts). --no-sync stores only.

--prune (GitOps): the input holds the whole configuration of the organizations it names. What else the store holds of them is deleted from it, and what their settings outside the input produced is pruned from the clusters, even by a fresh store. Try it with --dry-run first. IngressGateway documents are installed in the cluster named by --cluster, or in every cluster with --all-clusters.

--cluster C limits the whole apply to C: its objects are created, updated and pruned, the other clusters are left as they are (as sync --cluster C); run tctl sync to bring them along.

--dry-run (client) computes everything and writes nothing; --dry-run=server sends the writes with dryRun=All so the API servers validate them. Both print unified diffs and exit 1 when anything would change, 0 when nothing would. Exit 4 when a cluster failed, 5 on a conflict.
"""


def command(
    filenames: list[str] = Filenames,
    recursive: bool = Recursive,
    dry_run: Optional[str] = DryRun,
    no_sync: bool = typer.Option(False, "--no-sync", help="Store the configuration; leave the clusters."),
    prune: bool = typer.Option(
        False,
        "--prune",
        help="The input is the whole configuration of the organizations it names: remove from the "
        "store, and prune from the clusters, what their settings not in the input produced.",
    ),
    force_conflicts: bool = typer.Option(
        False, "--force-conflicts", help="Take over objects with tctl's names that tctl does not own."
    ),
    cluster: Optional[str] = OneCluster,
    all_clusters: bool = AllClusters,
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
    from tctl_py.config import objects
    from tctl_py.output.diff import unified

    FINDINGS.start(suppress)
    check_dry_run(dry_run)
    chosen = meshview.cluster_choice([cluster] if cluster else [])
    cluster = chosen[0] if chosen else None
    reporter = Reporter("apply", output=output or "text", dry_run=dry_run, verbose=verbose, quiet=quiet)
    loaded, problems = read_inputs(filenames, recursive)
    if problems:
        raise InvalidInput(problems, "nothing applied: the input has problems")
    installs = installed_documents(loaded, cluster, all_clusters)
    if installs or not no_sync:
        meshview.require_fleet()
    batch = objects.items(loaded.documents)
    organizations = organizations_of(batch) if prune else []
    with contextlib.ExitStack() as held:
        store = held.enter_context(open_store())
        if not no_sync:
            held.enter_context(reconcile_lock(store, "tctl apply", dry_run))
        baseline, config, changes = store_batch(store, batch, organizations, dry_run=bool(dry_run))
        reporter.store(changes)
        if dry_run and reporter.text:
            out("".join(unified(c.before, c.after, c.fqn) for c in changes if c.action != "unchanged"))
        stored_changed = bool(dry_run) and any(c.action != "unchanged" for c in changes)
        if no_sync and not installs:
            reporter.close()
            raise typer.Exit(int(ExitCode.DIFFERENCES if stored_changed else ExitCode.OK))
        reconciling = None if no_sync else [cluster] if cluster else []
        fleet = held.enter_context(meshview.load_fleet(config, reconciling=reconciling))
        codes = []
        if installs:
            targets = [cluster] if cluster else fleet.names()
            codes.append(install_and_report(fleet, [d.mapping for d in installs], targets, dry_run, reporter))
        if not no_sync:
            ownership = meshview.ownership(store, config, organizations)
            codes.append(
                reconcile_and_report(
                    config,
                    fleet,
                    ownership,
                    dry_run=dry_run,
                    force_conflicts=force_conflicts,
                    clusters=[cluster] if cluster else None,
                    baseline=baseline,
                    reporter=reporter,
                    history=(store, "tctl apply"),
                )
            )
    if stored_changed:
        codes.append(int(ExitCode.DIFFERENCES))
    reporter.close()
    raise typer.Exit(ExitCode.worst(codes))
