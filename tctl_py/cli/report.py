"""Reporting a reconcile to a person: the per-object lines, the diffs, the cluster errors, and the
exit code they add up to. Shared by `apply`, `sync`, `delete` and `diff` (commands import this,
never one another)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence

from tctl_py.cli.common import err, out


def check_dry_run(dry_run: str | None) -> None:
    from tctl_py.errors import UsageError

    if dry_run not in (None, "client", "server"):
        raise UsageError(f'--dry-run must be "client" or "server", not "{dry_run}"')


def reconcile_and_report(
    config,
    fleet,
    ownership,
    *,
    dry_run: str | None,
    force_conflicts: bool,
    clusters: Sequence[str] | None = None,
    baseline=None,
    diff_only: bool = False,
    verbose: bool = False,
) -> int:
    """Plan (and unless a dry run, write) every cluster; print one line per object (a dry run
    adds the diffs; `diff_only` prints only those; objects owned elsewhere only with `verbose`);
    return the exit code: 4 if a cluster failed, else 5 if an object was in the way, else for a
    dry run 1 when something would change, else 0."""
    from tctl_py.cli import meshview
    from tctl_py.errors import ExitCode
    from tctl_py.mesh.findings import CONFLICT_CODES
    from tctl_py.output.progress import ClusterProgress
    from tctl_py.reconcile.executor import reconcile
    from tctl_py.reconcile.plan import Action

    if clusters:
        meshview.check_clusters(fleet, clusters)
    if not fleet.states:  # no kubeconfig and no --fleet: configuration only, nothing to reconcile
        return int(ExitCode.OK)
    shown = list(clusters) if clusters else fleet.names()
    # Redrawn in place only where colour is welcome: NO_COLOR means no escape codes at all.
    with ClusterProgress(sys.stderr, shown if fleet.live else [], live=use_color(sys.stderr)) as progress:
        rec = reconcile(
            config,
            fleet,
            ownership=ownership,
            write=dry_run != "client",
            server_dry_run=dry_run == "server",
            force_conflicts=force_conflicts,
            clusters=clusters,
            baseline=baseline,
            on_cluster=progress,
        )
    engine = rec.result
    assert engine is not None, "a reconcile of configuration computes the engine's result"
    report_findings(engine.findings, shown)
    if not diff_only:
        print_steps(rec, dry_run, fleet.live, verbose)
    else:  # a diff shows objects; what stands in the way is said on stderr
        for conflict in rec.conflicts:
            err(f"conflict: {conflict.step.path}: {conflict.reason}\n")
    if dry_run:
        print_diffs(rec)
    foreign = [step for step in rec.steps if step.action is Action.FOREIGN]
    if foreign and not verbose:
        err(
            f"note: {len(foreign)} object(s) made by tctl for configuration this store does not hold "
            "were left alone (-v lists them)\n"
        )
    for name, objects in sorted(rec.unvalidated.items()):
        err(
            f"note: cluster {name}: {len(objects)} object(s) not sent for validation, as their "
            "namespace does not exist yet (the real apply creates it first)\n"
        )
    down = unreadable(fleet.states, shown, consequence="nothing derived from it was changed elsewhere")
    for name, message in sorted(rec.failed.items()):
        cluster_error(name, f"{message}; run again to converge")
    if down or rec.failed or engine.held_origins:
        return int(ExitCode.CLUSTER)
    # An object in the way: one holding a name tctl needs, or a user's DestinationRule for an
    # exposed host (the engine then generates none for it, and says so as a finding).
    in_the_way = [f for f in engine.findings if f.code in CONFLICT_CODES and f.cluster in shown]
    if rec.conflicts or in_the_way:
        return int(ExitCode.CONFLICT)
    if dry_run and rec.changes:
        return int(ExitCode.DIFFERENCES)
    return int(ExitCode.OK)


def print_steps(rec, dry_run: str | None, live: bool, verbose: bool = False) -> None:
    """`cluster-2 serviceentry.networking.istio.io/details.bookinfo created`, one per object;
    objects owned elsewhere (left alone) only when `verbose`."""
    from tctl_py.config import kinds
    from tctl_py.reconcile.plan import Action

    if dry_run:
        suffix = " (server dry run)" if dry_run == "server" else " (dry run)"
    else:
        suffix = "" if live else " (snapshot fleet: not written)"
    lines = []
    for result in rec.results:
        step = result.step
        if step.action is Action.FOREIGN and not verbose:
            continue
        kind = kinds.by_kind(step.kind)
        # as kubectl names objects in a cluster: with their API group (core ones have none)
        label = f"{kind.singular}.{kind.group}/{step.name}" if kind else f"{step.kind.lower()}/{step.name}"
        line = f"{step.cluster} {label} {result.outcome}{suffix if step.writes else ''}"
        if result.reason:
            line += f": {result.reason}"
        lines.append(line + "\n")
    out("".join(lines))


def print_diffs(rec) -> None:
    """Diffs of each object that would change, live (cleaned) against after the apply."""
    from tctl_py.output.diff import show

    show([(step.path, step.before, step.after) for step in rec.changes], sys.stdout, color=use_color())


def use_color(stream=None) -> bool:
    """Whether escape codes may go to `stream` (stdout by default): --color, else only on a
    terminal and unless NO_COLOR is set."""
    import os

    from tctl_py.cli.state import OPTIONS
    from tctl_py.output.diff import wants_color

    return wants_color(OPTIONS.color, sys.stdout if stream is None else stream, os.environ)


def cluster_error(name: str, message: str) -> None:
    """Every error about one cluster, in one format: `error: cluster NAME: MESSAGE`."""
    err(f"error: cluster {name}: {message}\n")


def unreadable(states: Iterable, shown: Iterable[str], *, consequence: str = "") -> list[str]:
    """Report the clusters among `shown` that could not be read, and return their names. One rule
    for every command: only the clusters it shows or targets count (the engine reads every
    cluster, but a dead cluster nobody asked about is no failure of this command)."""
    wanted = set(shown)
    down = sorted(state.name for state in states if not state.reachable and state.name in wanted)
    errors = {state.name: state.error for state in states}
    for name in down:
        cluster_error(
            name, f"could not be read: {errors[name]}" + (f"; {consequence}" if consequence else "")
        )
    return down


def exit_for_unreachable(states: Iterable, shown: Iterable[str], held: Iterable[str] = ()) -> None:
    """Exit 4 at the end when a shown cluster could not be read, or an East-West gateway's
    address annotation cannot be parsed (`held`, already reported as an error finding): what
    could be shown has been."""
    import typer

    from tctl_py.errors import ExitCode

    states = list(states)
    if unreadable(states, shown) or set(held):
        raise typer.Exit(int(ExitCode.CLUSTER))


def report_findings(findings: Iterable, clusters: Sequence[str] | None = None) -> None:
    """Findings as warnings (errors for `ERROR_CODES`) on stderr; only those of the clusters
    shown, plus fleet-wide ones. Unreachable clusters are left to `exit_for_unreachable`, which
    reports them as errors."""
    from tctl_py.mesh.findings import CLUSTER_CODES, ERROR_CODES

    for finding in findings:
        if finding.code in CLUSTER_CODES:
            continue
        if clusters is not None and finding.cluster and finding.cluster not in clusters:
            continue
        where = ": ".join(part for part in (finding.cluster, finding.subject) if part)
        level = "error" if finding.code in ERROR_CODES else "warning"
        line = f"{level}: {where}: {finding.message}"
        if finding.hint:
            line += f" (hint: {finding.hint})"
        err(line + "\n")
