"""`tctl sync`, and the reconcile-and-report step `apply` and `delete` share with it."""

from __future__ import annotations

from typing import Optional

import typer

from tctl_py.cli.common import Quiet, ReportOutput, Suppress, Verbose, open_store, reconcile_lock
from tctl_py.cli.report import Reporter, check_dry_run, reconcile_and_report

HELP = """Reconcile the generated objects of every cluster (or those named) with the stored configuration: create what is missing, update what drifted, prune what is no longer generated.

Only what this store's configuration produced is ever pruned: objects of settings it holds, or deleted (it keeps tombstones). Objects made by tctl for configuration it never held are left alone (-v lists them), so a new or empty store deletes nothing. Objects tctl does not own are never touched (a conflict, exit 5) unless --force-conflicts. A cluster that cannot be read is reported (exit 4) and nothing derived from it changes elsewhere. Reconciles of one store take turns (a lock beside the store). What a cron job or a pipeline step runs.
"""


def command(
    clusters: Optional[list[str]] = typer.Option(None, "--cluster", help="Only this cluster; repeatable."),
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
) -> None:
    from tctl_py.cli import meshview
    from tctl_py.cli.report import FINDINGS

    FINDINGS.start(suppress)

    check_dry_run(dry_run)
    clusters = meshview.cluster_choice(clusters or []) or None
    reporter = Reporter("sync", output=output or "text", dry_run=dry_run, verbose=verbose, quiet=quiet)
    with open_store() as store, reconcile_lock(store, "tctl sync", dry_run):
        config = meshview.mesh_config(store)
        ownership = meshview.ownership(store, config)
        with meshview.load_fleet(config) as fleet:
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
