"""The fleet a command works on: loaded from a snapshot folder or the live clusters of a
kubeconfig, with one `ClusterClient` per live cluster for every read and write.

Everything a caller decides is a value in `FleetOptions` (the CLI builds one from its global
options); nothing here reads a global, installs a signal handler or prints.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from tctl_py.errors import UsageError
from tctl_py.fleet.client import ClusterClient
from tctl_py.fleet.kubeconfig import Kubeconfig, kubeconfig_files
from tctl_py.fleet.retry import RetryPolicy
from tctl_py.fleet.timeouts import DEFAULT_REQUEST_TIMEOUT, ClusterBudgets
from tctl_py.mesh.model import ClusterState

# Writes in flight at once per cluster. A first apply of a few hundred objects is otherwise
# that many round trips one after the other; 8 overlaps most of the latency of a distant API
# server without a burst a busy one would throttle (client-go's default QPS is 5, burst 10).
DEFAULT_CONCURRENCY = 8


class Interruption(Protocol):
    """How the work learns that the user asked to stop (`tctl_py.cli.interrupt.Interrupt`)."""

    stop: threading.Event

    def writes_started(self) -> None:
        """Called before the first write: from then on a stop lets writes in flight finish."""


class Uninterrupted:
    """An `Interruption` that is never set: for callers that handle no signals."""

    def __init__(self) -> None:
        self.stop = threading.Event()

    def writes_started(self) -> None:
        pass


@dataclass(frozen=True)
class FleetOptions:
    """What a command's fleet is and how tctl talks to it.

    `snapshot`: a `--fleet` folder (read, never written), else the live clusters of
    `kubeconfig` (None: the files of KUBECONFIG, else ~/.kube/config); `context`: the current
    context, instead of the kubeconfig's (or a cluster of the snapshot). `request_timeout`: seconds
    for one request; `cluster_timeout`: seconds for everything done with one cluster (None: no
    limit). `concurrency`: writes in flight at once per cluster. `retry` and `sleep` (its pauses;
    tests pass one that does not wait): how failed requests are sent again. `interrupt`: set
    once the user asks to stop.
    """

    snapshot: str | None = None
    kubeconfig: str | None = None
    context: str | None = None  # --context: the current context, instead of the kubeconfig's
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    cluster_timeout: float | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] | None = None
    interrupt: Interruption = field(default_factory=Uninterrupted)


@dataclass
class Fleet:
    """The clusters tctl works on: their states, and the current one (the kubeconfig's, or
    --context; "" when neither names one).

    A live fleet opens one `ClusterClient` per cluster on first use (`client`) and reads and
    writes through it, sharing its connections, its retry policy and its `--cluster-timeout`
    budget (started by the cluster's first request). `close` closes them.

    `list_managed` lists the objects tctl manages in a cluster and keeps them (`load_fleet`
    does, right after reading the cluster's state); the next `take_managed` hands them over.
    """

    states: list[ClusterState]
    current: str = ""
    kubeconfig: Kubeconfig | None = None  # live fleets only: how to reach each cluster
    servers: dict[str, str] = field(default_factory=dict)
    options: FleetOptions = field(default_factory=FleetOptions)
    budgets: ClusterBudgets = field(init=False)
    _clients: dict[str, ClusterClient] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _managed: dict[str, list[dict]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.budgets = ClusterBudgets(self.options.cluster_timeout)

    @property
    def live(self) -> bool:
        return self.kubeconfig is not None

    @property
    def interrupt(self) -> Interruption:
        return self.options.interrupt

    def names(self) -> list[str]:
        return [state.name for state in self.states]

    def client(self, name: str) -> ClusterClient:
        """The client of cluster `name` (a live fleet's context), opened on first use.
        Raises ClusterError if the context cannot be turned into a client configuration."""
        assert self.kubeconfig is not None, "a snapshot fleet has no clients"
        with self._lock:
            client = self._clients.get(name)
            if client is None:
                options = self.options
                client = self._clients[name] = ClusterClient(
                    self.kubeconfig,
                    name,
                    request_timeout=options.request_timeout,
                    budget=self.budgets.get(name),
                    cancel=options.interrupt.stop,
                    retry=options.retry,
                    sleep=options.sleep,
                    connections=max(options.concurrency, 1),
                )
            return client

    def list_managed(self, name: str) -> None:
        """List the objects tctl manages in cluster `name` (`MANAGED_RESOURCES`, by label) and
        keep them for `take_managed`; if the list fails, keep nothing (they are listed again)."""
        from tctl_py.errors import TctlError
        from tctl_py.fleet.objects import MANAGED_RESOURCES

        try:
            objects = self.client(name).list_managed(MANAGED_RESOURCES)
        except TctlError:
            return  # a list that failed is no evidence of absence: the reconcile lists again
        with self._lock:
            self._managed[name] = objects

    def take_managed(self, names: Iterable[str]) -> dict[str, list[dict]]:
        """The managed objects `list_managed` kept, for those of `names` it listed. Handed over
        once: nothing is kept after this call, as a write would make it stale."""
        with self._lock:
            kept, self._managed = self._managed, {}
        return {name: kept[name] for name in names if name in kept}

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_fleet(options: FleetOptions) -> Kubeconfig | None:
    """Make sure there is a fleet, before a command changes anything: the snapshot folder holds
    cluster folders, or the kubeconfig defines contexts. Return the kubeconfig (None for a
    snapshot). There is never a silent empty fleet: none is a UsageError saying where tctl looked.
    The context chosen (`options.context`, else the kubeconfig's current-context) must exist."""
    from pathlib import Path

    from tctl_py.fleet.kubeconfig import load_kubeconfig
    from tctl_py.fleet.snapshot import cluster_folders

    if options.snapshot:
        cluster_folders(Path(options.snapshot))
        return None
    kubeconfig = load_kubeconfig(options.kubeconfig)
    if not kubeconfig.clusters:
        where = (
            f"the kubeconfig ({kubeconfig.describe_files()}) defines no context"
            if kubeconfig.files
            else "no kubeconfig was found ("
            + ", ".join(map(str, kubeconfig_files(options.kubeconfig)[0]))
            + ")"
        )
        raise UsageError(
            f"there is no fleet: {where} and --fleet is not set",
            hint="give --kubeconfig PATH or set KUBECONFIG, or --fleet DIR (a snapshot); "
            "`tctl apply --no-sync` only stores configuration",
        )
    current_context(kubeconfig, options.context)
    return kubeconfig


def current_context(kubeconfig: Kubeconfig, chosen: str | None) -> str:
    """The context kubectl would talk to: `chosen` (--context), else the kubeconfig's
    current-context ("" when it sets none). One that does not exist is an error in kubectl's
    words: a usage error for --context, an invalid kubeconfig for its current-context."""
    from tctl_py.fleet.kubeconfig import KubeconfigError

    name = chosen or kubeconfig.current_context
    if name and name not in kubeconfig.names():
        error = UsageError if chosen else KubeconfigError
        hint = "known contexts: " + ", ".join(kubeconfig.names())
        if not chosen:
            hint = f"the current-context of {kubeconfig.describe_files()}; give --context NAME, or {hint}"
        raise error(f'context "{name}" was not found', hint=hint)
    return name


def load_fleet(
    options: FleetOptions, declared: Iterable[str] = (), *, managed: bool | Collection[str] = False
) -> Fleet:
    """The snapshot `options.snapshot`, else the live clusters of the kubeconfig.

    `declared`: the clusters the store's Cluster objects name; when there are any, only they
    are the fleet (one missing from the kubeconfig is read as unreachable, not an error: the
    others still work). Every cluster is read even when a command shows one: its objects derive
    from the others. No fleet at all is a UsageError (`check_fleet`).
    `managed`: for a command about to reconcile every live cluster (True) or those named, the
    objects tctl manages there are listed right after their state, in the same worker and
    through the same client (`Fleet.list_managed`): the reconcile sends no second round of
    requests after the engine's work, and no connection is opened for it.
    """
    from tctl_py.fleet.live import LiveFleet
    from tctl_py.fleet.snapshot import read_snapshot

    names = sorted(set(declared))
    kubeconfig = check_fleet(options)
    if kubeconfig is None:
        assert options.snapshot is not None, "check_fleet gives no kubeconfig only for a snapshot"
        fleet = Fleet(read_snapshot(options.snapshot), options.context or "", options=options)
        if fleet.current and fleet.current not in fleet.names():  # a snapshot's contexts: its clusters
            raise UsageError(
                f'context "{fleet.current}" was not found', hint="clusters: " + ", ".join(fleet.names())
            )
    else:
        live = LiveFleet(kubeconfig, names or kubeconfig.names(), request_timeout=options.request_timeout)
        fleet = Fleet(
            [],
            current_context(kubeconfig, options.context),
            kubeconfig,
            {ref.name: ref.server for ref in live.refs},
            options,
        )
        wanted = None if managed is True else frozenset(managed or ())

        def then(name: str) -> None:
            if wanted is None or name in wanted:
                fleet.list_managed(name)

        states = live.read(clients=fleet.client, then=then if managed else None)
        fleet.states = states if names else [_how_to_leave_out(state) for state in states]
    if names:
        fleet.states = [s for s in fleet.states if s.name in names]
        if not fleet.states:
            raise UsageError(
                "there is no fleet: no cluster of the snapshot is one the store's Cluster objects name",
                hint="Cluster objects name: " + ", ".join(names),
            )
    return fleet


def server_versions(options: FleetOptions, declared: Iterable[str] = ()) -> dict[str, dict | str]:
    """Each live cluster's `/version` (the fleet: `declared`, else every context), or what went
    wrong asking it; none for a snapshot. Only that request: no cluster's state is read."""
    from tctl_py.fleet.parallel import run_per_cluster

    kubeconfig = check_fleet(options)
    if kubeconfig is None:
        return {}
    with Fleet([], kubeconfig=kubeconfig, options=options) as fleet:

        def ask(name: str) -> dict:
            return fleet.client(name).request("GET", "/version", doing="reading the server version")[1]

        found = run_per_cluster(sorted(set(declared)) or kubeconfig.names(), ask)
    return {
        name: _failure(answer) if isinstance(answer, BaseException) else answer
        for name, answer in found.items()
    }


def _failure(error: BaseException) -> str:
    from tctl_py.errors import TctlError

    return error.message if isinstance(error, TctlError) else f"{type(error).__name__}: {error}"


def _how_to_leave_out(state: ClusterState) -> ClusterState:
    """An unreadable context of a fleet that is every context of the kubeconfig: its error
    says how to leave it out (a dead context otherwise fails every command)."""
    if state.reachable:
        return state
    return dataclasses.replace(
        state,
        error=(
            f"{state.error} (without Cluster objects in the store every context of the kubeconfig "
            f'is a cluster of the fleet; if "{state.name}" is not one, apply Cluster objects naming '
            "those that are, or use a kubeconfig without it; --cluster C limits a command to C)"
        ),
    )
