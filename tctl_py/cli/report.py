"""Reporting a reconcile to a person: the per-object lines, the diffs, the cluster errors, and the
exit code they add up to. Shared by `apply`, `sync`, `delete` and `diff` (commands import this,
never one another)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from tctl_py.cli.common import err, out

if TYPE_CHECKING:
    from tctl_py.mesh import Finding
    from tctl_py.store import Store


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
    history: tuple[Store, str] | None = None,
) -> int:
    """Plan (and unless a dry run, write) every cluster; print one line per object (a dry run
    adds the diffs; `diff_only` prints only those; objects owned elsewhere only with `verbose`);
    return the exit code: 4 if a cluster failed, else 5 if an object was in the way, else for a
    dry run 1 when something would change, else 0. `history`: (store, command) to record what
    a real run did to each object of a live fleet (`tctl describe` shows it)."""
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
    with ClusterProgress(sys.stderr, shown if fleet.live else []) as progress:
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
    if history is not None and not dry_run and fleet.live:
        store, command = history
        record_history(store, command, rec, [name for name in shown if name not in rec.unreachable])
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


def record_history(store: Store, command: str, rec, clusters: Sequence[str]) -> None:
    """Keep each object's outcome as the store's sync history; a store that cannot keep it
    (read-only) costs a note, not the run."""
    from tctl_py.errors import StoreError

    results = [
        (s.cluster, s.kind, s.namespace, s.name, str(r.outcome), r.reason)
        for r in rec.results
        if (s := r.step).cluster in clusters
    ]
    try:
        store.record_sync(command, clusters, results)
    except StoreError as error:
        err(f"note: the sync history was not recorded: {error.message}\n")


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

    show([(step.path, step.before, step.after) for step in rec.changes], sys.stdout)


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


class FindingFilter:
    """What a run shows of the engine's findings: `--suppress CODE[=SUBJECT]` hides some, and a
    finding already shown in this run (same code, cluster and subject) is not shown again, so a
    command in several phases (apply, then sync) says each thing once. `start` resets it at
    the beginning of every command that reports findings."""

    def __init__(self) -> None:
        self.rules: list[tuple[str, str]] = []  # (code, subject pattern or "")
        self.shown: set[tuple[str, str, str]] = set()

    def start(self, suppress: Sequence[str] | None = None) -> None:
        self.rules = [parse_suppression(text) for text in suppress or ()]
        self.shown = set()

    def suppressed(self, finding) -> bool:
        return any(
            finding.code == code and (not subject or _subject_matches(finding, subject))
            for code, subject in self.rules
        )


FINDINGS = FindingFilter()


def parse_suppression(text: str) -> tuple[str, str]:
    """`TCTL0201`, `gateway-pending` or either with `=SUBJECT` -> (code, subject pattern)."""
    from tctl_py.errors import UsageError
    from tctl_py.mesh.findings import Code

    name, _, subject = text.partition("=")
    name = name.strip()
    by_slug = {code.slug: code for code in Code}
    code = by_slug.get(name) or next((c for c in Code if c.value == name.upper()), None)
    if code is None:
        raise UsageError(
            f'--suppress "{text}": unknown finding code "{name}"',
            hint="codes are listed in docs/findings.md (TCTL0201 or its name, e.g. gateway-pending)",
        )
    return code.value, subject.strip()


def _subject_matches(finding, pattern: str) -> bool:
    """SUBJECT is the finding's subject (`service bookinfo/details`), the same without its kind
    (`bookinfo/details`) or its cluster; `*` and `?` are wildcards."""
    from fnmatch import fnmatchcase

    bare = finding.subject.partition(" ")[2]
    return any(fnmatchcase(text, pattern) for text in (finding.subject, bare, finding.cluster) if text)


def visible_findings(findings: Iterable, clusters: Sequence[str] | None = None) -> tuple[list, list]:
    """(shown, suppressed): the findings of the clusters shown plus fleet-wide ones, split by
    `--suppress`. Unreachable clusters are left out: commands report them as cluster errors."""
    from tctl_py.mesh.findings import CLUSTER_CODES

    shown: list[Finding] = []
    hidden: list[Finding] = []
    for finding in findings:
        if finding.code in CLUSTER_CODES:
            continue
        if clusters is not None and finding.cluster and finding.cluster not in clusters:
            continue
        (hidden if FINDINGS.suppressed(finding) else shown).append(finding)
    return shown, hidden


def report_findings(findings: Iterable, clusters: Sequence[str] | None = None) -> None:
    """Findings on stderr at their severity, with their code: those of the clusters shown, plus
    fleet-wide ones, less the suppressed and those already reported in this run. Unreachable
    clusters are left to `exit_for_unreachable`, which reports them as errors."""
    shown, _ = visible_findings(findings, clusters)
    lines = []
    for finding in shown:
        identity = (finding.code, finding.cluster, finding.subject)
        if identity in FINDINGS.shown:
            continue
        FINDINGS.shown.add(identity)
        lines.append(finding_line(finding) + "\n")
    err("".join(lines))


def finding_line(finding) -> str:
    """`warning: cluster-1: gateway bookinfo/eastwest-gateway: pending: ... [TCTL0201]`"""
    where = ": ".join(part for part in (finding.cluster, finding.subject) if part)
    line = f"{finding.code.severity}: {where}: {finding.message}"
    if finding.hint:
        line += f" (hint: {finding.hint})"
    return f"{line} [{finding.code}]"


def finding_json(finding) -> dict:
    """A finding for machines (`-o json`)."""
    return {
        "code": str(finding.code),
        "name": finding.code.slug,
        "severity": str(finding.code.severity),
        "cluster": finding.cluster,
        "subject": finding.subject,
        "message": finding.message,
        "hint": finding.hint,
        "source": finding.source,
    }
