"""Reading live clusters: the state of each (Namespaces, Services, DestinationRules).

Clusters are read concurrently (a bounded thread pool), each through its `ClusterClient`
(`fleet/client.py`, the one HTTP path of tctl); each request has its own timeout (see
`tctl_py.fleet.timeouts`); a cluster that cannot be read becomes
`ClusterState(reachable=False, error=...)` and the others are unaffected. `managedFields` are
dropped, as kubectl does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from tctl_py.errors import ClusterError, UsageError
from tctl_py.fleet.client import ClusterClient
from tctl_py.fleet.kubeconfig import ClusterRef, Kubeconfig, load_kubeconfig
from tctl_py.fleet.parallel import run_per_cluster
from tctl_py.fleet.retry import RetryPolicy
from tctl_py.fleet.timeouts import DEFAULT_REQUEST_TIMEOUT, Budget, ClusterBudgets
from tctl_py.mesh.model import ClusterState

DEFAULT_WORKERS = 32  # clusters read at the same time (as fleet.parallel.DEFAULT_WORKERS)


def read_cluster(
    kubeconfig: Kubeconfig | Mapping,
    ref: ClusterRef | str,
    *,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    budget: Budget | None = None,
    retry: RetryPolicy = RetryPolicy(),
) -> ClusterState:
    """Namespaces, Services and DestinationRules of one cluster, through a client of its own
    (closed after), each request within `request_timeout` seconds, all of them within the
    cluster's `budget` if it has one.

    Never raises for a cluster problem: the state says `reachable=False` and why.
    """
    if isinstance(ref, str):
        found = [r for r in _refs_of(kubeconfig) if r.name == ref]
        ref = found[0] if found else ClusterRef(ref, "", "", "")
    try:
        client = ClusterClient(
            kubeconfig, ref.name, request_timeout=request_timeout, budget=budget, retry=retry
        )
    except ClusterError as error:
        return ClusterState(name=ref.name, server=ref.server, reachable=False, error=error.message)
    with client:
        return client.read_state(ref.server)


def _refs_of(kubeconfig: Kubeconfig | Mapping) -> list[ClusterRef]:
    if isinstance(kubeconfig, Kubeconfig):
        return list(kubeconfig.clusters)
    from tctl_py.fleet.kubeconfig import cluster_refs

    return cluster_refs(kubeconfig)


def read_live(
    kubeconfig: Kubeconfig,
    contexts: Sequence[str] | None = None,
    *,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    budgets: ClusterBudgets | None = None,
    retry: RetryPolicy = RetryPolicy(),
    max_workers: int = DEFAULT_WORKERS,
    on_done: Callable[[ClusterState], None] | None = None,
    clients: Callable[[str], ClusterClient] | None = None,
    then: Callable[[str], None] | None = None,
) -> list[ClusterState]:
    """Read the clusters (every context, or those named) concurrently; states sorted by name.

    Each request waits at most `request_timeout` seconds; `budgets` may limit each cluster's
    time in all (`--cluster-timeout`). `clients(name)`, if given, is the cluster's client to
    read through (kept open by its owner, who writes with it later; its own timeouts, budget
    and retry policy apply); else each cluster is read through a client of its own.

    A named context the kubeconfig lacks gives an unreachable state saying so (validate a
    user-typed `--context` first with `Kubeconfig.get`, which raises a UsageError).
    `on_done` is called in the calling thread as each cluster finishes (for progress displays).
    `then(name)`, if given, is called in the cluster's worker once its state was read (only with
    `clients`, whose client it may go on using), before the cluster counts as finished.
    """
    by_name = {ref.name: ref for ref in kubeconfig.clusters}
    if contexts is None:
        refs = list(kubeconfig.clusters)
        if not refs:
            raise UsageError(
                f"the kubeconfig defines no context ({kubeconfig.describe_files()})",
                hint="set --kubeconfig or KUBECONFIG, or read a snapshot with --fleet DIR",
            )
    else:
        refs = [by_name.get(name) or ClusterRef(name, "", "", "") for name in dict.fromkeys(contexts)]
    states: list[ClusterState] = []
    todo = []
    for ref in refs:
        if ref.name not in by_name:
            state = ClusterState(
                name=ref.name,
                reachable=False,
                error=f'context "{ref.name}" is not in the kubeconfig ({kubeconfig.describe_files()})',
            )
            states.append(state)
            if on_done:
                on_done(state)
        else:
            todo.append(ref.name)

    def done(_name: str, result: ClusterState | BaseException) -> None:
        if on_done and isinstance(result, ClusterState):
            on_done(result)

    def read(name: str) -> ClusterState:
        if clients is not None:
            try:
                client = clients(name)
            except ClusterError as error:
                return ClusterState(
                    name=name, server=by_name[name].server, reachable=False, error=error.message
                )
            state = client.read_state(by_name[name].server)
            if then is not None and state.reachable:
                then(name)
            return state
        return read_cluster(
            kubeconfig,
            by_name[name],
            request_timeout=request_timeout,
            budget=budgets.get(name) if budgets else None,
            retry=retry,
        )

    results = run_per_cluster(todo, read, max_workers=max_workers, on_done=done)
    for result in results.values():
        if isinstance(result, BaseException):  # a bug, not a cluster problem: raised after the rest
            raise result
        states.append(result)
    return sorted(states, key=lambda s: s.name)


class LiveFleet:
    """The clusters of a kubeconfig: read them all, or get a client for one (for writers)."""

    def __init__(
        self,
        kubeconfig: Kubeconfig,
        contexts: Sequence[str] | None = None,
        *,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        budgets: ClusterBudgets | None = None,
        max_workers: int = DEFAULT_WORKERS,
    ) -> None:
        self.kubeconfig = kubeconfig
        self.contexts = list(contexts) if contexts is not None else None
        self.request_timeout = request_timeout
        self.budgets = budgets
        self.max_workers = max_workers

    @classmethod
    def load(
        cls,
        kubeconfig_path: str | None = None,
        contexts: Sequence[str] | None = None,
        *,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        budgets: ClusterBudgets | None = None,
        max_workers: int = DEFAULT_WORKERS,
        env: Mapping[str, str] | None = None,
    ) -> LiveFleet:
        return cls(
            load_kubeconfig(kubeconfig_path, env=env),
            contexts,
            request_timeout=request_timeout,
            budgets=budgets,
            max_workers=max_workers,
        )

    @property
    def refs(self) -> list[ClusterRef]:
        if self.contexts is None:
            return list(self.kubeconfig.clusters)
        by_name = {ref.name: ref for ref in self.kubeconfig.clusters}
        return [by_name.get(name) or ClusterRef(name, "", "", "") for name in self.contexts]

    def read(
        self,
        on_done: Callable[[ClusterState], None] | None = None,
        clients: Callable[[str], ClusterClient] | None = None,
        then: Callable[[str], None] | None = None,
    ) -> list[ClusterState]:
        return read_live(
            self.kubeconfig,
            self.contexts,
            request_timeout=self.request_timeout,
            budgets=self.budgets,
            max_workers=self.max_workers,
            on_done=on_done,
            clients=clients,
            then=then,
        )

    def __repr__(self) -> str:  # never the kubeconfig itself: it holds credentials
        return (
            f"LiveFleet(contexts={[ref.name for ref in self.refs]!r}, "
            f"request_timeout={self.request_timeout!r})"
        )


def load_live(
    kubeconfig_path: str | None = None,
    contexts: Sequence[str] | None = None,
    *,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    budgets: ClusterBudgets | None = None,
    max_workers: int = DEFAULT_WORKERS,
    env: Mapping[str, str] | None = None,
) -> list[ClusterState]:
    """Merge the kubeconfig kubectl would use and read its clusters (see `read_live`)."""
    return LiveFleet.load(
        kubeconfig_path,
        contexts,
        request_timeout=request_timeout,
        budgets=budgets,
        max_workers=max_workers,
        env=env,
    ).read()
