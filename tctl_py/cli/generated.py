"""`tctl get` of the Istio objects tctl generates: the engine's desired objects per cluster."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING

from tctl_py.cli.common import err, open_store

if TYPE_CHECKING:
    from tctl_py.config.kinds import Kind
    from tctl_py.config.label_selector import Selector
    from tctl_py.mesh import GeneratedObject, MeshResult
    from tctl_py.output.formats import OutputFormat


class Desired:
    """The engine's objects for the clusters (and kinds) a command shows, one cluster at a time.

    Commands that show generated objects ask the engine here and only here. The fleet is read
    and exposed once (`mesh.Exposed`); `result` holds the findings, held origins and gateways of
    the clusters shown (no objects), and `objects(cluster)` generates one cluster's objects when
    it is printed, so memory holds the parsed fleet and one cluster's objects.
    """

    def __init__(self, config, fleet, clusters: Sequence[str], kinds: Collection[str] | None = None) -> None:
        from tctl_py.mesh import Exposed

        self._exposed = Exposed(config, fleet.states)
        self._clusters = list(clusters)
        self._kinds = kinds
        self.result = self._exposed.result(clusters=self._clusters, kinds=())

    def objects(self, cluster: str) -> list[GeneratedObject]:
        """`cluster`'s objects, sorted by kind, namespace and name."""
        return self._exposed.result(clusters=[cluster], kinds=self._kinds).objects

    def whole(self) -> MeshResult:
        """Every shown cluster's objects at once, for a plan against the live clusters."""
        return self._exposed.result(clusters=self._clusters, kinds=self._kinds)


def get_generated(
    wanted: Sequence[Kind],
    name: str | None,
    cluster: str | None,
    all_clusters: bool,
    namespace: str | None,
    output: OutputFormat,
    labels: Selector,
) -> None:
    """Print the chosen clusters' objects of the `wanted` kinds cluster by cluster, in the order
    of `GeneratedObject.sort_key`; findings first, unreadable clusters last."""
    import sys

    from tctl_py.cli import meshview
    from tctl_py.cli.report import exit_for_unreachable, report_findings
    from tctl_py.errors import NotFound
    from tctl_py.output.printer import ObjectPrinter

    with open_store() as store:
        config = meshview.mesh_config(store)
        ownership = meshview.ownership(store, config)
    fleet = meshview.load_fleet(config)
    clusters = meshview.selected_clusters(fleet, cluster, all_clusters)
    desired = Desired(config, fleet, clusters, kinds={k.kind for k in wanted})
    report_findings(desired.result.findings, clusters)
    several = len(clusters) > 1
    sync = None
    if fleet.live and output.name in ("table", "wide"):
        sync = sync_states(config, fleet, desired.whole(), clusters, ownership)
    printer = ObjectPrinter(
        output,
        sys.stdout,
        single=bool(name) and len(wanted) == 1,
        kinds=[k.kind for k in wanted],
        prefix=[*(["CLUSTER"] if several else []), *(["NAMESPACE"] if namespace is None else [])],
        suffix=["SYNC"] if sync is not None else [],
    )
    shown = 0
    for each in sorted(set(clusters)):  # the objects' order: by cluster first
        for o in desired.objects(each):
            if (namespace is not None and o.namespace != namespace) or (name is not None and o.name != name):
                continue
            if not labels.matches(o.body.get("metadata", {}).get("labels")):
                continue
            shown += 1
            printer.add(
                o.body,
                prefix=[*([o.cluster] if several else []), *([o.namespace] if namespace is None else [])],
                suffix=[sync.get(o.sort_key, "unknown")] if sync is not None else [],
                lead=f"{o.cluster} " if several else "",
            )
    if shown:
        printer.close()
    elif name:
        raise NotFound(
            f'{"/".join(k.singular for k in wanted)} "{name}" not found in {_where(clusters, namespace)}',
            hint=f"`tctl get {','.join(k.plural for k in wanted)} -A` lists every generated one",
        )
    else:
        readable = [c for c in clusters if c not in unreachable_names(fleet.states)]
        if readable:
            err(f"No resources found in {_where(readable, namespace)}.\n")
    exit_for_unreachable(fleet.states, clusters, desired.result.held_origins)


def sync_states(config, fleet, result, clusters: Sequence[str], ownership) -> dict[tuple, str]:
    """in-sync, missing, drifted or conflict by object (`GeneratedObject.sort_key`), from a plan
    against the live clusters; objects of clusters that could not be read are not in it."""
    from tctl_py.reconcile.executor import reconcile
    from tctl_py.reconcile.plan import sync_status

    rec = reconcile(config, fleet, ownership=ownership, write=False, clusters=clusters, result=result)
    return {(s.cluster, s.kind, s.namespace, s.name): sync_status(s) for s in rec.steps}


def _where(clusters: Sequence[str], namespace: str | None) -> str:
    place = f"cluster {clusters[0]}" if len(clusters) == 1 else f"{len(clusters)} clusters"
    return f"{place}, namespace {namespace}" if namespace else place


def unreachable_names(states: Iterable) -> set[str]:
    return {state.name for state in states if not state.reachable}
