"""Putting the parts together for commands that look at the mesh: store -> config, global
options -> the fleet (`tctl_py.fleet.load_fleet`), both -> the engine's desired objects. The only
place that turns the global options into the fleet's. Everything is imported when a command calls in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from tctl_py.cli.state import OPTIONS

if TYPE_CHECKING:
    from tctl_py.fleet.loader import Fleet, FleetOptions
    from tctl_py.mesh import MeshConfig
    from tctl_py.reconcile.ownership import Ownership
    from tctl_py.store import ConfigStore

# The kinds of configuration the engine reads, by MeshConfig field.
_CONFIG_KINDS = {"workspaces": "Workspace", "settings": "WorkspaceSetting", "clusters": "Cluster"}


def mesh_config(store: ConfigStore, extra: Sequence[dict] = (), without: Sequence[str] = ()) -> MeshConfig:
    """The configuration as stored, optionally with bodies about to be applied on top and the
    FQNs `without` about to be deleted (dry runs show the configuration as it would be)."""
    from tctl_py.config import kinds
    from tctl_py.mesh import MeshConfig

    bodies: dict[str, dict] = {}
    for kind in _CONFIG_KINDS.values():
        for stored in store.list(kind=kind):
            bodies[stored.fqn] = stored.body
    for body in extra:
        extra_kind = kinds.lookup(body.get("apiVersion", ""), body.get("kind", ""))
        assert extra_kind is not None, "extra bodies are validated configuration"
        bodies[extra_kind.fqn(body.get("metadata", {}))] = body
    for fqn in without:
        bodies.pop(fqn, None)
    grouped = {
        name: tuple(b for fqn, b in sorted(bodies.items()) if b["kind"] == kind)
        for name, kind in _CONFIG_KINDS.items()
    }
    return MeshConfig(**grouped)


def ownership(
    store: ConfigStore, config: MeshConfig, organizations: Sequence[str] = (), releasing: Sequence[str] = ()
) -> Ownership:
    """What this run may prune: the settings of `config`, the store's tombstones (and those a
    dry run of `delete` would record, `releasing`), and with `apply --prune` everything of the
    `organizations` the input declares whole."""
    from tctl_py.config import kinds
    from tctl_py.reconcile.ownership import Ownership, organization_scope

    setting = kinds.KINDS["WorkspaceSetting"]
    return Ownership.of(
        (setting.fqn(body.get("metadata", {})) for body in config.settings),
        released=[*store.tombstones(), *releasing],
        scopes=[organization_scope(name) for name in organizations],
        store=store.identity(),
    )


def fleet_options() -> FleetOptions:
    """The global options that say what the fleet is and how to talk to it, as a value."""
    from tctl_py.fleet.loader import DEFAULT_CONCURRENCY, FleetOptions

    return FleetOptions(
        snapshot=OPTIONS.fleet,
        kubeconfig=OPTIONS.kubeconfig,
        context=OPTIONS.context,
        request_timeout=OPTIONS.request_timeout,
        cluster_timeout=OPTIONS.cluster_timeout,
        concurrency=OPTIONS.concurrency or DEFAULT_CONCURRENCY,
        interrupt=OPTIONS.interrupt,
    )


def load_fleet(config: MeshConfig, *, reconciling: Sequence[str] | None = None) -> Fleet:
    """The fleet of the global options (`--fleet`, else the kubeconfig's live clusters); when
    the store holds Cluster objects, only the clusters they name (see `tctl_py.fleet.load_fleet`).
    `reconciling`: for a command about to reconcile those clusters ([]: every one), the objects
    tctl manages there are listed with the fleet's state."""
    from tctl_py.fleet.loader import load_fleet as load

    return load(
        fleet_options(),
        declared=[c["metadata"]["name"] for c in config.clusters],
        managed=False if reconciling is None else list(reconciling) or True,
    )


def require_fleet() -> None:
    """Fail now, before anything is stored, when there is no fleet to reconcile (a UsageError
    saying where tctl looked): a command that needs one never succeeds without it."""
    from tctl_py.fleet.loader import check_fleet

    check_fleet(fleet_options())


def cluster_choice(given: Sequence[str] = ()) -> list[str]:
    """The clusters a command that takes --cluster is limited to: those of --cluster, else the
    one of --context (kubectl's way to choose the cluster), else none: every cluster. Both
    naming different clusters is a usage error."""
    from tctl_py.errors import UsageError

    context = OPTIONS.context
    if context and given and list(given) != [context]:
        raise UsageError(
            f'--context "{context}" and --cluster "{", ".join(given)}" name different clusters',
            hint="give one of them",
        )
    return list(given) or ([context] if context else [])


def refuse_context(command: str) -> None:
    """--context for a command that works on the whole fleet, which never narrows: an error,
    never silently ignored."""
    from tctl_py.errors import UsageError

    if OPTIONS.context:
        raise UsageError(
            f"tctl {command} works on every cluster of the fleet; --context does not narrow it",
            hint="--context chooses the cluster of apply, sync, delete, diff, get, clusters and version",
        )


def selected_clusters(fleet: Fleet, cluster: str | None, all_clusters: bool) -> list[str]:
    """`--cluster C`, `-A`, or by default the current context's cluster (every cluster when
    there is no current context, as a snapshot without --context). A current context that is
    not a cluster of the fleet (the store's Cluster objects leave it out) is an error, never a
    silent fallback to every cluster."""
    from tctl_py.errors import UsageError

    if cluster and all_clusters:
        raise UsageError("give either --cluster or --all-clusters, not both")
    known = fleet.names()
    if cluster:
        return check_clusters(fleet, cluster_choice([cluster]))
    if all_clusters or not fleet.current:
        return known
    if fleet.current not in known:
        from tctl_py.fleet.kubeconfig import KubeconfigError

        # the kubeconfig's current-context is input tctl read (exit 3); --context, a command line
        raise (UsageError if OPTIONS.context else KubeconfigError)(
            f'the current context "{fleet.current}" is not a cluster of the fleet',
            hint="the store's Cluster objects name the fleet: "
            + ", ".join(known)
            + "; choose one with --cluster C or --context C, or all with -A",
        )
    return [fleet.current]


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
