"""Putting the parts together for commands that look at the mesh: store -> config, fleet -> states,
both -> the engine's desired objects. Everything is imported when a command calls in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tctl_py.cli.state import OPTIONS

if TYPE_CHECKING:
    from tctl_py.cli.interrupt import Interrupt
    from tctl_py.fleet.kubeconfig import Kubeconfig
    from tctl_py.fleet.timeouts import ClusterBudgets
    from tctl_py.fleet.writer import ClusterClient
    from tctl_py.mesh import ClusterState, MeshConfig, MeshResult
    from tctl_py.reconcile.ownership import Ownership
    from tctl_py.store import Store

# The kinds of configuration the engine reads, by MeshConfig field.
_CONFIG_KINDS = {"workspaces": "Workspace", "settings": "WorkspaceSetting", "clusters": "Cluster"}


@dataclass
class Fleet:
    """The clusters tctl works on: their states, and the current one (live fleets only).

    Live fleets also carry each cluster's time budget (`--cluster-timeout`) and this run's
    `Interrupt`, whose `stop` tells the clients to try nothing again once Ctrl-C was pressed.
    """

    states: list[ClusterState]
    current: str = ""
    kubeconfig: Kubeconfig | None = None  # live fleets only: how to reach each cluster
    servers: dict[str, str] = field(default_factory=dict)
    budgets: ClusterBudgets | None = None
    interrupt: Interrupt = field(default_factory=lambda: OPTIONS.interrupt)

    @property
    def live(self) -> bool:
        return self.kubeconfig is not None

    def names(self) -> list[str]:
        return [state.name for state in self.states]

    def client(self, name: str) -> ClusterClient:
        """A client that reads and writes cluster `name` (a live fleet's context)."""
        from tctl_py.fleet.writer import ClusterClient

        return ClusterClient(
            self.kubeconfig,
            name,
            request_timeout=OPTIONS.request_timeout,
            budget=self.budgets.get(name) if self.budgets else None,
            cancel=self.interrupt.stop,
        )


def mesh_config(store: Store, extra: Sequence[dict] = (), without: Sequence[str] = ()) -> MeshConfig:
    """The configuration as stored, optionally with bodies about to be applied on top and the
    FQNs `without` about to be deleted (dry runs show the configuration as it would be)."""
    from tctl_py.config import kinds
    from tctl_py.mesh import MeshConfig

    bodies: dict[str, dict] = {}
    for kind in _CONFIG_KINDS.values():
        for stored in store.list(kind=kind):
            bodies[stored.fqn] = stored.body
    for body in extra:
        kind = kinds.lookup(body.get("apiVersion", ""), body.get("kind", ""))
        bodies[kind.fqn(body.get("metadata", {}))] = body
    for fqn in without:
        bodies.pop(fqn, None)
    grouped = {
        name: tuple(b for fqn, b in sorted(bodies.items()) if b["kind"] == kind)
        for name, kind in _CONFIG_KINDS.items()
    }
    return MeshConfig(**grouped)


def ownership(store: Store, config: MeshConfig, organizations: Sequence[str] = ()) -> Ownership:
    """What this run may prune: the settings of `config`, the store's tombstones, and with
    `apply --prune` everything of the `organizations` the input declares whole."""
    from tctl_py.config import kinds
    from tctl_py.reconcile.ownership import Ownership, organization_scope

    setting = kinds.KINDS["WorkspaceSetting"]
    return Ownership.of(
        (setting.fqn(body.get("metadata", {})) for body in config.settings),
        released=store.tombstones(),
        scopes=[organization_scope(name) for name in organizations],
        store=store.identity(),
    )


def load_fleet(config: MeshConfig) -> Fleet:
    """The snapshot named by --fleet, else the live clusters of the kubeconfig.

    When the store holds Cluster objects, only the clusters they name are part of the fleet.
    Every cluster is read even when a command shows one: its objects derive from the others.
    """
    declared = sorted({c["metadata"]["name"] for c in config.clusters})
    if OPTIONS.fleet:
        from tctl_py.fleet import read_snapshot

        fleet = Fleet(read_snapshot(OPTIONS.fleet))
    else:
        from tctl_py.fleet import LiveFleet
        from tctl_py.fleet.timeouts import ClusterBudgets

        budgets = ClusterBudgets(OPTIONS.cluster_timeout)
        live = LiveFleet.load(OPTIONS.kubeconfig, request_timeout=OPTIONS.request_timeout, budgets=budgets)
        if not live.kubeconfig.files:
            return Fleet([])  # no kubeconfig at all: no fleet to work on (configuration only)
        # A declared cluster missing from the kubeconfig is read as unreachable, not an error:
        # the other clusters still work.
        live.contexts = declared or live.kubeconfig.names()
        states = live.read()
        if not declared:
            states = [_how_to_leave_out(state) for state in states]
        fleet = Fleet(
            states,
            live.kubeconfig.current_context,
            live.kubeconfig,
            {ref.name: ref.server for ref in live.refs},
            budgets,
        )
    if declared:
        fleet.states = [s for s in fleet.states if s.name in declared]
    return fleet


def _how_to_leave_out(state: ClusterState) -> ClusterState:
    """An unreadable context of a fleet that is every context of the kubeconfig: its error
    says how to leave it out (a dead context otherwise fails every command)."""
    import dataclasses

    if state.reachable:
        return state
    return dataclasses.replace(
        state,
        error=(
            f"{state.error} (without Cluster objects in the store every context of the kubeconfig "
            f'is a cluster of the fleet; if "{state.name}" is not one, apply Cluster objects naming '
            "those that are, or use a kubeconfig without it)"
        ),
    )


def selected_clusters(fleet: Fleet, cluster: str | None, all_clusters: bool) -> list[str]:
    """`--cluster C`, `-A`, or by default the current context's cluster (every cluster of a
    snapshot, which has no current context)."""
    from tctl_py.errors import UsageError

    if cluster and all_clusters:
        raise UsageError("give either --cluster or --all-clusters, not both")
    known = fleet.names()
    if cluster:
        return check_clusters(fleet, [cluster])
    if all_clusters or not fleet.current or fleet.current not in known:
        return known
    return [fleet.current]


def compute(config: MeshConfig, fleet: Fleet) -> MeshResult:
    from tctl_py.mesh import compute as engine

    return engine(config, fleet.states)


def check_clusters(fleet: Fleet, names: Sequence[str]) -> list[str]:
    """`names` if every one is a cluster of the fleet, else a usage error listing the fleet."""
    from tctl_py.errors import UsageError

    unknown = [name for name in names if name not in fleet.names()]
    if unknown:
        raise UsageError(
            f'cluster "{unknown[0]}" is not in the fleet',
            hint="clusters: " + (", ".join(fleet.names()) or "none"),
        )
    return list(names)
