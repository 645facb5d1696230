"""`tctl get` of the Istio objects tctl generates: the engine's desired objects per cluster."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import typer

from tctl_py.cli.common import err, open_store


def get_generated(
    kind, name: str | None, cluster: str | None, all_clusters: bool, namespace: str | None, output: str
) -> None:
    from tctl_py.cli import meshview
    from tctl_py.cli.get import print_objects
    from tctl_py.errors import NotFound, UsageError

    with open_store() as store:
        config = meshview.mesh_config(store)
        ownership = meshview.ownership(store, config)
    fleet = meshview.load_fleet(config)
    if not fleet.states:
        raise UsageError(
            "there is no fleet: no kubeconfig was found and --fleet is not set",
            hint="give --fleet DIR (a snapshot), --kubeconfig PATH or set KUBECONFIG",
        )
    clusters = meshview.selected_clusters(fleet, cluster, all_clusters)
    result = meshview.compute(config, fleet)
    report_findings(result.findings, clusters)
    chosen = [
        o
        for o in result.objects
        if o.kind == kind.kind
        and o.cluster in clusters
        and (namespace is None or o.namespace == namespace)
        and (name is None or o.name == name)
    ]
    if name and not chosen:
        raise NotFound(
            f'{kind.singular} "{name}" not found in {_where(clusters, namespace)}',
            hint=f"`tctl get {kind.plural} -A` lists every generated one",
        )
    readable = [c for c in clusters if c not in unreachable_names(fleet.states)]
    if not chosen and readable:
        err(f"No resources found in {_where(readable, namespace)}.\n")
    elif chosen:
        prefix = []
        if len(clusters) > 1:
            prefix.append(("CLUSTER", [o.cluster for o in chosen]))
        if namespace is None:
            prefix.append(("NAMESPACE", [o.namespace for o in chosen]))
        suffix = []
        if fleet.live and output in ("table", "wide"):
            suffix.append(("SYNC", sync_column(config, fleet, result, clusters, chosen, ownership)))
        print_objects(
            kind,
            [o.body for o in chosen],
            output,
            single=bool(name) and len(chosen) == 1,
            prefix=tuple(prefix),
            suffix=tuple(suffix),
            clusters=[o.cluster for o in chosen] if len(clusters) > 1 else None,
        )
    exit_for_unreachable(fleet.states, result.held_origins)


def sync_column(config, fleet, result, clusters: Sequence[str], chosen: Sequence, ownership) -> list[str]:
    """in-sync, missing, drifted or conflict for each object, from a plan against the live
    clusters ("unknown" where a cluster could not be read)."""
    from tctl_py.reconcile.executor import reconcile
    from tctl_py.reconcile.plan import sync_status

    rec = reconcile(config, fleet, ownership=ownership, write=False, clusters=clusters, result=result)
    status = {(s.cluster, s.kind, s.namespace, s.name): sync_status(s) for s in rec.steps}
    return [status.get(o.sort_key, "unknown") for o in chosen]


def _where(clusters: Sequence[str], namespace: str | None) -> str:
    place = f"cluster {clusters[0]}" if len(clusters) == 1 else f"{len(clusters)} clusters"
    return f"{place}, namespace {namespace}" if namespace else place


def unreachable_names(states: Iterable) -> set[str]:
    return {state.name for state in states if not state.reachable}


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


def exit_for_unreachable(states: Iterable, held: Iterable[str] = ()) -> None:
    """Exit 4 at the end when a cluster could not be read, or its East-West gateway's address
    annotation cannot be parsed (`held`, already reported as an error finding): the others have
    been shown."""
    from tctl_py.errors import ExitCode

    down = [state for state in states if not state.reachable]
    for state in down:
        err(f"error: cluster {state.name} could not be read: {state.error}\n")
    if down or held:
        raise typer.Exit(int(ExitCode.CLUSTER))
