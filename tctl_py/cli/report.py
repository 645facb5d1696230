"""Reporting a reconcile to a person: the per-object lines, the diffs, the cluster errors, and the
exit code they add up to. Shared by `apply`, `sync`, `delete` and `diff` (commands import this,
never one another)."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from tctl_py.cli.common import err, out
from tctl_py.cli.state import keep_until_exit

if TYPE_CHECKING:
    from tctl_py.mesh import Finding
    from tctl_py.store import ConfigStore


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
    reporter: Reporter | None = None,
    diffs: list | None = None,
    history: tuple[ConfigStore, str] | None = None,
) -> int:
    """Plan (and unless a dry run, write) every cluster; tell each step to `reporter` (a dry run
    adds the diffs for people; without a reporter, `diff`'s case, only those are printed; given
    `diffs`, a dry run adds its (label, before, after) there instead, for the caller to show);
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
    shown = list(clusters) if clusters else fleet.names()
    chatty = reporter is None or reporter.text  # progress, warnings, notes and diffs are for people
    # Redrawn in place only where colour is welcome: NO_COLOR means no escape codes at all.
    with ClusterProgress(
        sys.stderr, shown if fleet.live and chatty else [], live=use_color(sys.stderr)
    ) as progress:
        rec = reconcile(
            config,
            fleet,
            ownership=ownership,
            write=dry_run != "client",
            server_dry_run=dry_run == "server",
            force_conflicts=force_conflicts,
            clusters=clusters,
            baseline=baseline,
            on_cluster=progress if chatty else None,
        )
    keep_until_exit(rec)
    engine = rec.result
    assert engine is not None, "a reconcile of configuration computes the engine's result"
    report_findings(engine.findings, shown, warnings=chatty)
    if reporter is not None:
        reporter.findings(*visible_findings(engine.findings, shown))
        reporter.steps(rec, fleet.live)
    else:  # a diff shows objects; what stands in the way is said on stderr
        for conflict in rec.conflicts:
            err(f"conflict: {conflict.step.path}: {conflict.reason}\n")
    if dry_run and diffs is not None:
        diffs += [(step.path, step.before, step.after) for step in rec.changes]
    elif dry_run and chatty:
        print_diffs(rec)
    foreign = [step for step in rec.steps if step.action is Action.FOREIGN]
    if foreign and chatty and not (reporter and reporter.verbose):
        err(
            f"note: {len(foreign)} object(s) made by tctl for configuration this store does not hold "
            "were left alone (-v lists them)\n"
        )
    for name, objects in sorted(rec.unvalidated.items()) if chatty else ():
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


def record_history(store: ConfigStore, command: str, rec, clusters: Sequence[str]) -> None:
    """Keep each object's outcome as the store's sync history, where the store keeps one; a
    store that cannot write it (read-only) costs a note, not the run."""
    from tctl_py.errors import StoreError
    from tctl_py.store import KeepsSyncHistory

    if not isinstance(store, KeepsSyncHistory):
        return

    results = [
        (s.cluster, s.kind, s.namespace, s.name, str(r.outcome), r.reason)
        for r in rec.results
        if (s := r.step).cluster in clusters
    ]
    try:
        store.record_sync(command, clusters, results)
    except StoreError as error:
        err(f"note: the sync history was not recorded: {error.message}\n")


class Reporter:
    """What `apply`, `sync` and `delete` tell about each step, in one of three shapes.

    Text (the default): one line per object that changes, as kubectl prints them
    (`cluster-2 serviceentry.networking.istio.io/details.bookinfo created`), then a summary line
    per cluster (`cluster-2: 3 created, 1 configured, 40 unchanged`); unchanged objects, and
    objects owned elsewhere, get their line only with `verbose`; `quiet` prints none of it,
    nor warnings and notes (errors always go to stderr). `json`/`yaml`: nothing until `close`,
    which prints one document listing every step (store and clusters) and the engine's
    findings (and those `--suppress` hid) for machines.
    """

    def __init__(
        self, command: str, *, output: str = "text", dry_run: str | None = None, verbose=False, quiet=False
    ) -> None:
        from tctl_py.errors import UsageError

        if output not in ("text", "json", "yaml"):
            raise UsageError(f'--output must be "json" or "yaml", not "{output}"')
        if quiet and verbose:
            raise UsageError("give either --quiet or --verbose, not both")
        self.command, self.output, self.dry_run = command, output, dry_run
        self.verbose, self.quiet = verbose, quiet
        self._steps: list[dict] = []
        self._findings: dict[str, dict[tuple, dict]] = {"findings": {}, "suppressedFindings": {}}
        self._counts: dict[str, Counter] = {}  # cluster -> outcome -> objects, for the summaries
        self._suffixes: dict[str, str] = {}  # cluster -> " (dry run)" etc. when it has writes

    @property
    def text(self) -> bool:
        """Whether people read the output: lines, diffs, notes (not -o json|yaml, not --quiet)."""
        return self.output == "text" and not self.quiet

    def store(self, changes, *, deleted: bool = False) -> None:
        """The store's changes: one line per document (an input's size, so unchanged ones too)."""
        from tctl_py.config import objects

        suffix = " (dry run)" if self.dry_run else ""
        if self.text:
            out("".join(f"{objects.change_label(c)} {c.action}{suffix}\n" for c in changes))
        for change in changes:
            body = change.after if change.after is not None else change.before
            self._steps.append(
                _step_entry(
                    None, change.kind, None, body["metadata"]["name"], change.action, change.action, ""
                )
            )

    def findings(self, shown: Iterable, suppressed: Iterable) -> None:
        """The engine's findings, for the document of -o json|yaml (once each per run)."""
        for key, found in (("findings", shown), ("suppressedFindings", suppressed)):
            for finding in found:
                self._findings[key].setdefault(
                    (finding.code, finding.cluster, finding.subject), finding_json(finding)
                )

    def steps(self, rec, live: bool) -> None:
        """A reconcile's (or an install's) results: lines (the summaries come with `close`), or
        entries."""
        from tctl_py.config import kinds
        from tctl_py.reconcile.executor import Outcome

        suffix = self._suffix(live)
        entries = self.output != "text"  # the document of -o json|yaml lists every step
        lines: list[str] = []
        for result in rec.results:
            step = result.step
            if entries:
                self._steps.append(
                    _step_entry(
                        step.cluster,
                        step.kind,
                        step.namespace or None,
                        step.name,
                        step.action.value,
                        result.outcome.value,
                        result.reason,
                    )
                )
            if result.outcome is Outcome.OWNED_ELSEWHERE and not self.verbose:
                continue  # a note says how many; -v lists them
            counted = self._counts.get(step.cluster)
            if counted is None:
                counted = self._counts[step.cluster] = Counter()
            counted[result.outcome] += 1
            if step.writes:
                self._suffixes[step.cluster] = suffix
            if not self.text or (result.outcome is Outcome.UNCHANGED and not self.verbose):
                continue
            kind = kinds.by_kind(step.kind)
            # as kubectl names objects in a cluster: with their API group (core ones have none)
            label = (
                f"{kind.singular}.{kind.group}/{step.name}" if kind else f"{step.kind.lower()}/{step.name}"
            )
            line = f"{step.cluster} {label} {result.outcome}{suffix if step.writes else ''}"
            if result.reason:
                line += f": {result.reason}"
            lines.append(line + "\n")
        if lines:
            out("".join(lines))

    def _suffix(self, live: bool) -> str:
        if self.dry_run:
            return " (server dry run)" if self.dry_run == "server" else " (dry run)"
        return "" if live else " (snapshot fleet: not written)"

    def close(self) -> None:
        """The end of the report. For people, a summary line per cluster; for -o json|yaml, the
        one document: every step with its cluster (null for the store), kind, namespace, name,
        action (the plan's), outcome and reason; then `findings` and `suppressedFindings`."""
        from tctl_py.reconcile.executor import Outcome

        if self.text:
            out(
                "".join(
                    f"{cluster}: "
                    + ", ".join(f"{counted[o]} {o.value}" for o in Outcome if counted[o])
                    + f"{self._suffixes.get(cluster, '')}\n"
                    for cluster, counted in sorted(self._counts.items())
                )
            )
        if self.output == "text":
            return
        document = {
            "kind": "Report",
            "command": self.command,
            "dryRun": self.dry_run,
            "steps": self._steps,
            **{key: list(found.values()) for key, found in self._findings.items()},
        }
        from tctl_py.output.render import to_json, to_yaml

        out(to_json(document) + "\n" if self.output == "json" else to_yaml(document))


def _step_entry(cluster, kind, namespace, name, action, outcome, reason) -> dict:
    return {
        "cluster": cluster,
        "kind": kind,
        "namespace": namespace,
        "name": name,
        "action": action,
        "outcome": outcome,
        "reason": reason,
    }


def installed_documents(loaded, cluster: str | None, all_clusters: bool) -> list:
    """The input's documents installed in clusters rather than stored (IngressGateways); they
    need a cluster: --cluster C or --all-clusters, one of them."""
    from tctl_py.config import kinds
    from tctl_py.errors import UsageError

    installs = [
        d for d in loaded.documents if not getattr(kinds.lookup(d.api_version, d.kind), "stored", False)
    ]
    if installs and not (cluster or all_clusters):
        raise UsageError(
            f"{installs[0].source}: {installs[0].kind} {installs[0].name} is installed in a "
            "cluster: name it with --cluster C or use --all-clusters"
        )
    if cluster and all_clusters:
        raise UsageError("give either --cluster or --all-clusters, not both")
    return installs


def install_and_report(
    fleet, bodies: list[dict], targets: list[str], dry_run: str | None, reporter: Reporter, *, remove=False
) -> int:
    """Install (or with `remove`, delete) each IngressGateway in each target cluster through the
    reconcile executor, and report each step. A snapshot fleet only reports. The exit code: 4 if
    a cluster failed, 5 on a conflict, 1 when a dry run would change something."""
    from tctl_py.cli import meshview
    from tctl_py.errors import ExitCode
    from tctl_py.reconcile.executor import install

    meshview.check_clusters(fleet, targets)
    rec = install(
        fleet, bodies, targets, write=dry_run != "client", server_dry_run=dry_run == "server", remove=remove
    )
    reporter.steps(rec, fleet.live)
    for name, message in sorted(rec.failed.items()):
        cluster_error(name, message)
    if rec.failed:
        return int(ExitCode.CLUSTER)
    if rec.conflicts:
        return int(ExitCode.CONFLICT)
    return int(ExitCode.DIFFERENCES if dry_run and rec.changes else ExitCode.OK)


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


def report_findings(
    findings: Iterable, clusters: Sequence[str] | None = None, *, warnings: bool = True
) -> None:
    """Findings on stderr at their severity, with their code: those of the clusters shown, plus
    fleet-wide ones, less the suppressed and those already reported in this run; errors only
    unless `warnings` (--quiet, -o json|yaml). Unreachable clusters are left to
    `exit_for_unreachable`, which reports them as errors."""
    from tctl_py.errors import Severity

    shown, _ = visible_findings(findings, clusters)
    lines = []
    for finding in shown:
        if not warnings and finding.code.severity is not Severity.ERROR:
            continue
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
