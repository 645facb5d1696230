"""`tctl sync`, and the reconcile-and-report step `apply` and `delete` share with it."""

from __future__ import annotations

from typing import Optional

import typer

from tctl_py.cli import completers
from tctl_py.cli.common import (
    HealthAddr,
    LogFormat,
    MetricsAddr,
    Quiet,
    ReportOutput,
    Suppress,
    Verbose,
    open_store,
    reconcile_lock,
)
from tctl_py.cli.report import Reporter, check_dry_run, reconcile_and_report

HELP = """Reconcile the generated objects of every cluster (or those named) with the stored configuration: create what is missing, update what drifted, prune what is no longer generated.

Only what this store's configuration produced is ever pruned: objects of settings it holds, or deleted (it keeps tombstones). Objects made by tctl for configuration it never held are left alone (-v lists them), so a new or empty store deletes nothing. Objects tctl does not own are never touched (a conflict, exit 5) unless --force-conflicts. A cluster that cannot be read is reported (exit 4) and nothing derived from it changes elsewhere. Reconciles of one store take turns (a lock beside the store). What a cron job or a pipeline step runs.

With --watch, tctl keeps the fleet in sync until stopped (SIGINT/SIGTERM: writes in flight finish, exit 0): every cluster is listed, then watched; a change of a Service, a gateway's addresses, a DestinationRule, an object tctl manages (edited or deleted by hand) or of the stored configuration (another tctl apply) leads, after --debounce seconds of quiet, to a plan and writes in the clusters it affects. It prints one line per write and per cluster state change (reachable, unreadable, recovered).
"""


def command(
    clusters: Optional[list[str]] = typer.Option(
        None, "--cluster", help="Only this cluster; repeatable.", autocompletion=completers.clusters
    ),
    dry_run: Optional[str] = typer.Option(
        None, "--dry-run", metavar="[client|server]", help="Show what would change; write nothing."
    ),
    force_conflicts: bool = typer.Option(
        False, "--force-conflicts", help="Take over objects with tctl's names that tctl does not own."
    ),
    verbose: bool = Verbose,
    quiet: bool = Quiet,
    output: Optional[str] = ReportOutput,
    suppress: Optional[list[str]] = Suppress,
    watch: bool = typer.Option(False, "--watch", help="Keep the fleet in sync until stopped."),
    debounce: float = typer.Option(
        0.5,
        "--debounce",
        metavar="SECONDS",
        help="With --watch: quiet time before a batch of changes is reconciled.",
    ),
    resync: float = typer.Option(
        600.0, "--resync", metavar="SECONDS", help="With --watch: relist every cluster this often."
    ),
    metrics_addr: Optional[str] = MetricsAddr,
    health_addr: Optional[str] = HealthAddr,
    log_format: str = LogFormat,
) -> None:
    from tctl_py.cli import meshview
    from tctl_py.cli.report import FINDINGS

    FINDINGS.start(suppress)

    check_dry_run(dry_run)
    clusters = meshview.cluster_choice(clusters or []) or None
    if watch:
        raise typer.Exit(
            _watch(
                clusters, dry_run, force_conflicts, debounce, resync, metrics_addr, health_addr, log_format
            )
        )
    reporter = Reporter("sync", output=output or "text", dry_run=dry_run, verbose=verbose, quiet=quiet)
    with open_store() as store, reconcile_lock(store, "tctl sync", dry_run):
        config = meshview.mesh_config(store)
        ownership = meshview.ownership(store, config)
        with meshview.load_fleet(config, reconciling=clusters or []) as fleet:
            code = reconcile_and_report(
                config,
                fleet,
                ownership,
                dry_run=dry_run,
                force_conflicts=force_conflicts,
                clusters=clusters,
                reporter=reporter,
                history=(store, "tctl sync"),
            )
    reporter.close()
    raise typer.Exit(code)


def _watch(
    clusters: Optional[list[str]],
    dry_run: Optional[str],
    force_conflicts: bool,
    debounce: float,
    resync: float,
    metrics_addr: Optional[str],
    health_addr: Optional[str],
    log_format: str,
) -> int:
    from tctl_py.cli.watching import check_watch_options, run_loop
    from tctl_py.errors import UsageError
    from tctl_py.reconcile.loop import LoopOptions

    if dry_run:
        raise UsageError("--watch writes: it cannot be a --dry-run")
    check_watch_options(debounce, resync, log_format)
    options = LoopOptions(
        debounce=debounce, resync=resync, clusters=clusters or None, force_conflicts=force_conflicts
    )
    return run_loop(
        options,
        doing="tctl sync --watch",
        log_format=log_format,
        metrics_addr=metrics_addr,
        health_addr=health_addr,
    )
