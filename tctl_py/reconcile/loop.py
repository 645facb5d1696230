"""The control loop of `tctl sync --watch` (and of the controller): informers feed the
incremental engine; debounced, the clusters whose desired objects changed, or whose managed
objects drifted, are planned and written through the one reconcile path (`executor.reconcile`).

- Informers (`tctl_py.fleet.informer`) hand over watch events, full lists (`ClusterRead`) and
  failures (`ClusterUnreadable`); the loop alone owns the `Engine` and applies them in batches.
- A batch waits until no change came for `debounce` seconds (but no longer than `max_delay`
  after its first change), so a burst of events gives one reconcile.
- Only the clusters that need it are planned: those whose desired objects changed, those where
  an object tctl manages was added, edited or deleted (by hand, or by tctl itself: a plan that
  finds nothing to do writes nothing), and those just listed. An unreadable cluster is never
  planned, and nothing derived from it changes elsewhere (the plan keeps it, SPEC §3.3).
- The configuration is read again when its store says it changed (`ConfigSource.version`,
  polled every `config_poll` seconds).
- A reconcile holds the store's reconcile lock (`ConfigSource.writing`), as one-shot commands
  do, and plans nothing if the configuration as stored is no longer the one it was given (a
  command changed it while the reconcile waited): its clusters are planned again from the new
  one. Planned from the old one, it could prune what the new one generates.
- A reconcile runs in a thread of its own, and the clusters it is writing to are left out of
  later batches until it is over with them (each is released as soon as its own writes end):
  one slow or hung cluster never holds back the others, and no cluster is written by two
  reconciles at once. Their ends come back through the event queue, so the loop's state stays
  in the loop's thread.
- Writes happen only while `gate.may_write()` (asked before every write); until then changes are applied to the engine
  (the caches stay warm) and the clusters owed a reconcile are remembered; when the gate opens
  every readable cluster is reconciled.

Nothing here prints: what happens is told to a `LoopObserver` (log lines, metrics).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from tctl_py.errors import TctlError
from tctl_py.reconcile.executor import Outcome, Reconciliation, StepResult, reconcile

if TYPE_CHECKING:
    from tctl_py.fleet.informer import Backoff, InformerEvent
    from tctl_py.fleet.loader import Fleet
    from tctl_py.mesh import MeshConfig
    from tctl_py.mesh.incremental import Change
    from tctl_py.reconcile.ownership import Ownership

DEFAULT_DEBOUNCE = 0.5
DEFAULT_CONFIG_POLL = 0.3  # seconds between checks of the store's change token
STOP_WAIT_S = 3.0  # on stop, how long the writes in flight may take to finish


class ConfigSource(Protocol):
    """Where the configuration comes from (the SQLite store, or another with the same rules)."""

    def version(self) -> object:
        """A token that changes whenever the configuration may have changed; cheap to ask."""

    def load(self) -> tuple[MeshConfig, Ownership]:
        """The configuration and what a reconcile of it may prune."""

    def writing(self) -> AbstractContextManager[tuple[MeshConfig, Ownership] | None]:
        """Held around each reconcile: the store's reconcile lock, which one-shot commands
        (`apply`, `sync`, `delete`) hold from reading the configuration to their last write.
        Gives what `load` would give once it is held (None if the store cannot be read)."""


class WriteGate(Protocol):
    """Whether the loop may write to clusters now (the controller: while it holds the Lease)."""

    def may_write(self) -> bool: ...


@dataclass(frozen=True)
class _ClusterWritten:
    """A reconcile's writes to `cluster` are over (its thread told so before the others')."""

    cluster: str


@dataclass(frozen=True)
class _Reconciled:
    """A reconcile running in its own thread ended."""

    targets: tuple[str, ...]
    rec: Reconciliation | None  # None: it raised `error` (a bug), or was `stale`
    seconds: float
    error: str = ""
    stale: bool = False  # the stored configuration was not the loop's: nothing was planned


class AlwaysWrite:
    def may_write(self) -> bool:
        return True


class LoopObserver:
    """What the loop tells about itself; every method does nothing unless overridden."""

    def cluster_state(self, cluster: str, state: str, error: str = "") -> None:
        """`state`: "reachable" (first read), "unreadable" or "recovered"."""

    def wrote(self, result: StepResult) -> None:
        """One write step done (created, configured, pruned) or refused (conflict, failed)."""

    def cluster_failed(self, cluster: str, error: str) -> None:
        """A reconcile of `cluster` failed (it will be tried again)."""

    def reconciled(self, clusters: Sequence[str], result: str, seconds: float) -> None:
        """One reconcile of `clusters`: `result` "success", "conflict" or "error"."""

    def managed_objects(self, cluster: str, counts: dict[str, int]) -> None:
        """The objects tctl wants in `cluster`, by kind (after a change)."""

    def ready(self) -> None:
        """Every cluster has been listed once (or found unreadable)."""


class Observers(LoopObserver):
    """Several observers as one."""

    def __init__(self, observers: Iterable[LoopObserver]) -> None:
        self.observers = list(observers)

    def cluster_state(self, cluster: str, state: str, error: str = "") -> None:
        for o in self.observers:
            o.cluster_state(cluster, state, error)

    def wrote(self, result: StepResult) -> None:
        for o in self.observers:
            o.wrote(result)

    def cluster_failed(self, cluster: str, error: str) -> None:
        for o in self.observers:
            o.cluster_failed(cluster, error)

    def reconciled(self, clusters: Sequence[str], result: str, seconds: float) -> None:
        for o in self.observers:
            o.reconciled(clusters, result, seconds)

    def managed_objects(self, cluster: str, counts: dict[str, int]) -> None:
        for o in self.observers:
            o.managed_objects(cluster, counts)

    def ready(self) -> None:
        for o in self.observers:
            o.ready()


class Debouncer:
    """When a batch of changes is due: `quiet` seconds after the last change, but at most
    `max_delay` seconds after the first. Times are a clock's readings, passed in."""

    def __init__(self, quiet: float, max_delay: float) -> None:
        self.quiet = quiet
        self.max_delay = max(max_delay, quiet)
        self._first: float | None = None
        self._last = 0.0

    def add(self, now: float) -> None:
        if self._first is None:
            self._first = now
        self._last = now

    @property
    def pending(self) -> bool:
        return self._first is not None

    def due_at(self) -> float | None:
        if self._first is None:
            return None
        return min(self._last + self.quiet, self._first + self.max_delay)

    def due(self, now: float) -> bool:
        at = self.due_at()
        return at is not None and now >= at

    def reset(self) -> None:
        self._first = None


@dataclass(frozen=True)
class LoopOptions:
    """`debounce`: quiet seconds before a batch is reconciled (`max_delay`: at most this long
    after its first change; default 4x debounce). `resync`: seconds between relists of each
    cluster. `clusters`: write only these (None: all). `initial_wait`: how long the first
    reconcile waits for every cluster's first list."""

    debounce: float = DEFAULT_DEBOUNCE
    max_delay: float | None = None
    resync: float = 600.0
    config_poll: float = DEFAULT_CONFIG_POLL
    clusters: Sequence[str] | None = None
    initial_wait: float = 30.0
    force_conflicts: bool = False


# (cluster, sink) -> a started informer (with `stop()`), or None if the cluster cannot be watched
# at all (it then told the sink why, as ClusterUnreadable)
InformerFactory = Callable[[str, Callable[["InformerEvent"], None]], object | None]


class Loop:
    """Run with `run(stop)` in one thread until `stop` is set; `ready` is set once every cluster
    was listed once. `informers(name, sink)` makes and starts a cluster's informer (an object
    with `stop()`); by default a `ClusterInformer` on its own client from `fleet`'s kubeconfig."""

    def __init__(
        self,
        fleet: Fleet,
        source: ConfigSource,
        *,
        gate: WriteGate | None = None,
        observer: LoopObserver | None = None,
        options: LoopOptions = LoopOptions(),
        informers: InformerFactory | None = None,
        clock: Callable[[], float] = time.monotonic,
        backoff: Backoff | None = None,
    ) -> None:
        from tctl_py.fleet.informer import Backoff

        self.fleet = fleet
        self.source = source
        self.gate = gate or AlwaysWrite()
        self.observer = observer or LoopObserver()
        self.options = options
        self.clock = clock
        self.backoff = backoff or Backoff()
        self.ready = threading.Event()
        self.reconciles = 0  # reconciles that planned at least one cluster
        self._make_informer = informers or self._informer
        self._events: queue.Queue[InformerEvent | _ClusterWritten | _Reconciled] = queue.Queue()
        # clusters a reconcile is writing to now: the next reconciles leave them out until it
        # is over with them, so one slow or hung cluster holds back no other
        self._busy: set[str] = set()
        self._workers: list[threading.Thread] = []
        self._debouncer = Debouncer(options.debounce, options.max_delay or 4 * options.debounce)
        self._changes: list[Change] = []
        self._dirty: set[str] = set()  # clusters to plan in the next batch
        self._owed: set[str] = set()  # clusters to plan once the gate opens
        self._retry_at: dict[str, float] = {}  # a cluster whose reconcile failed -> when to try again
        self._failures: dict[str, int] = {}  # cluster -> reconciles failed in a row
        self._seen: dict[str, str] = {}  # cluster -> "reachable" / "unreadable"
        # cluster -> the objects tctl manages there, by identity, as the informer last saw them
        self._managed: dict[str, dict[tuple[str, str, str], dict]] = {}
        self._wanted_by_cluster: dict[str, dict[tuple[str, str, str], dict]] = {}  # see _wanted
        self._may_write = False

    # -- running --------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        from tctl_py.mesh.incremental import Engine

        self.config, self.ownership = self.source.load()
        self._version = self.source.version()
        self.engine = Engine(self.config, self.fleet.states)
        self._count_managed(self.engine.indexes)
        started = self.clock()
        informers = [self._make_informer(name, self._events.put) for name in self.fleet.names()]
        informers = [informer for informer in informers if informer is not None]
        try:
            while not stop.is_set():
                self._wait()
                if stop.is_set():
                    break
                self._check_config()
                self._check_gate()
                now = self.clock()
                waiting = not self.ready.is_set()
                if waiting and (
                    len(self._seen) >= len(self.fleet.names()) or now - started >= self.options.initial_wait
                ):
                    self.ready.set()
                    self.observer.ready()
                    waiting = False
                self._due_retries(now)
                if not waiting and self._debouncer.due(now):
                    self._debouncer.reset()
                    self._flush()
        finally:
            for informer in informers:
                informer.stop()  # type: ignore[attr-defined]
            deadline = time.monotonic() + STOP_WAIT_S  # writes in flight finish; none starts
            for worker in self._workers:
                worker.join(max(deadline - time.monotonic(), 0.0))

    def _informer(self, name: str, sink: Callable[[InformerEvent], None]) -> object | None:
        from tctl_py.fleet.client import ClusterClient
        from tctl_py.fleet.informer import ClusterInformer
        from tctl_py.mesh.incremental import ClusterUnreadable

        assert self.fleet.kubeconfig is not None, "the loop watches live clusters"
        try:
            client = ClusterClient(
                self.fleet.kubeconfig,
                name,
                request_timeout=self.fleet.options.request_timeout,
                cancel=self.fleet.interrupt.stop,
                connections=8,  # a watch per resource (6), and the lists
            )
        except TctlError as error:  # e.g. a Cluster object naming no context of the kubeconfig
            sink(ClusterUnreadable(name, error.message))
            return None
        return ClusterInformer(
            client,
            sink,
            server=self.fleet.servers.get(name, ""),
            resync=self.options.resync,
            backoff=self.backoff,
        ).start()

    def _wait(self) -> None:
        """Take what the informers delivered, waiting until the batch is due, the next check of
        the configuration, or an event."""
        due = self._debouncer.due_at()
        timeout = self.options.config_poll
        if due is not None:
            timeout = min(timeout, max(due - self.clock(), 0.0))
        try:
            event = self._events.get(timeout=timeout)
        except queue.Empty:
            return
        while True:
            self._take(event)
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                return

    def _take(self, event: InformerEvent | _ClusterWritten | _Reconciled) -> None:
        from tctl_py.fleet.informer import ManagedChanged, ManagedRead, is_managed
        from tctl_py.mesh.incremental import ClusterRead, ClusterUnreadable, ObjectEvent

        now = self.clock()
        if isinstance(event, _ClusterWritten | _Reconciled):
            released = [event.cluster] if isinstance(event, _ClusterWritten) else event.targets
            self._busy.difference_update(released)
            if isinstance(event, _Reconciled):
                self._reconciled(event)
            if self._dirty & set(released):  # what changed there meanwhile is due now
                self._debouncer.add(now)
            return
        # (objects without tctl's label are left out, should a server ignore the label selector)
        if isinstance(event, ManagedRead):
            self._managed[event.cluster] = {_identity(b): b for b in event.objects if is_managed(b)}
        elif isinstance(event, ManagedChanged):
            known = self._managed.setdefault(event.cluster, {})
            if event.type == "DELETED" or not is_managed(event.body):
                known.pop(_identity(event.body), None)
            else:
                known[_identity(event.body)] = event.body
            if self._drifted(event.cluster, event.type, event.body):
                self._dirty.add(event.cluster)
        elif isinstance(event, ClusterRead):
            name = event.state.name
            before = self._seen.get(name)
            self._seen[name] = "reachable"
            if before != "reachable":
                self.observer.cluster_state(name, "recovered" if before else "reachable")
            self._changes.append(event)
            self._dirty.add(name)  # a first list, a recovery or a resync: check for drift
        elif isinstance(event, ClusterUnreadable):
            if self._seen.get(event.cluster) != "unreadable":
                self._seen[event.cluster] = "unreadable"
                self.observer.cluster_state(event.cluster, "unreadable", event.error)
                self._changes.append(event)
        elif isinstance(event, ObjectEvent):
            self._changes.append(event)
            if event.kind != "Service" and (
                self._drifted(event.cluster, event.type, event.body)
                if is_managed(event.body)
                else event.kind == "DestinationRule"  # a user's, or one that lost tctl's label
            ):
                self._dirty.add(event.cluster)
        self._debouncer.add(now)

    def _drifted(self, cluster: str, change: str, body: dict) -> bool:
        """Whether an event of an object tctl manages may call for a write: not when the object
        is as tctl wants it, as when tctl's own write comes back."""
        from tctl_py.reconcile.plan import plan_cluster

        if cluster not in self.engine.indexes:
            return True
        wanted = self._wanted(cluster).get(_identity(body))
        if change == "DELETED" or wanted is None:
            return (wanted is None) != (change == "DELETED")  # deleted but wanted, or unwanted
        steps = plan_cluster(cluster, [wanted], [body], ownership=self.ownership)
        return any(step.writes for step in steps)

    def _wanted(self, cluster: str) -> dict[tuple[str, str, str], dict]:
        """What the engine generates for `cluster`, by identity (kept until it changes)."""
        from tctl_py.mesh.engine import KINDS

        if cluster not in self._wanted_by_cluster:
            objects = self.engine.cluster_result(cluster, KINDS)[0]
            self._wanted_by_cluster[cluster] = {_identity(o.body): o.body for o in objects}
        return self._wanted_by_cluster[cluster]

    def _check_config(self) -> None:
        from tctl_py.mesh.incremental import ConfigChanged

        try:
            version = self.source.version()
            if version == self._version:
                return
            config, ownership = self.source.load()
        except TctlError as error:  # the store could not be read: keep the last configuration
            self.observer.cluster_failed("", f"cannot read the configuration: {error.message}")
            return
        self._version = version
        self.config, self.ownership = config, ownership
        self._wanted_by_cluster.clear()  # the ownership stamped on objects may have changed
        self._changes.append(ConfigChanged(config))
        self._debouncer.add(self.clock())

    def _check_gate(self) -> None:
        writable = self.gate.may_write()
        if writable and not self._may_write:  # just became the leader: everything may be owed
            self._owed.update(self.fleet.names())
            self._debouncer.add(self.clock())
        self._may_write = writable

    def _due_retries(self, now: float) -> None:
        for name, when in list(self._retry_at.items()):
            if now >= when:
                del self._retry_at[name]
                self._dirty.add(name)
                self._debouncer.add(now)

    # -- one batch ------------------------------------------------------------------------------

    def _flush(self) -> None:
        changes, self._changes = self._changes, []
        changed = self.engine.update(changes) if changes else frozenset()
        for name in changed:
            self._wanted_by_cluster.pop(name, None)
        self._count_managed(changed)
        dirty = self._dirty | changed | self._owed
        self._dirty = set()
        if not self.gate.may_write():
            self._owed = dirty
            return
        self._owed = set()
        wanted = self.options.clusters
        targets = sorted(
            name for name in dirty if name in self.engine.indexes and (wanted is None or name in wanted)
        )
        self._dirty = {name for name in targets if name in self._busy}  # planned once released
        targets = [name for name in targets if name not in self._busy]
        if targets:
            self._reconcile(targets)

    def _count_managed(self, names: Iterable[str]) -> None:
        from tctl_py.mesh.engine import KINDS

        for name in names:
            if name in self.engine.indexes:
                counts: dict[str, int] = dict.fromkeys(sorted(KINDS), 0)
                for obj in self.engine.cluster_result(name, KINDS)[0]:
                    counts[obj.kind] += 1
                self.observer.managed_objects(name, counts)

    def _reconcile(self, targets: list[str]) -> None:
        """Plan and write `targets` in a thread of their own: the loop goes on taking events, and
        a later batch for other clusters need not wait for this one's slowest cluster."""
        self.fleet.states = list(self.engine.states.values())
        result = self.engine.result(clusters=targets)
        managed = {name: list(self._managed[name].values()) for name in targets if name in self._managed}
        config, ownership = self.config, self.ownership
        self._busy.update(targets)

        def written(cluster: str, progress: str) -> None:
            if progress in ("done", "failed"):
                self._events.put(_ClusterWritten(cluster))

        def work() -> None:
            started = time.perf_counter()
            try:
                # Planned from the configuration a one-shot command may have changed meanwhile,
                # a reconcile could prune what the new one generates: it plans only while no
                # such command runs, and only from the configuration as stored.
                with self.source.writing() as stored:
                    if stored is not None and stored != (config, ownership):
                        self._events.put(
                            _Reconciled(tuple(targets), None, time.perf_counter() - started, stale=True)
                        )
                        return
                    rec = reconcile(
                        config,
                        self.fleet,
                        ownership=ownership,
                        write=True,
                        clusters=targets,
                        result=result,
                        force_conflicts=self.options.force_conflicts,
                        managed=managed,
                        may_write=self.gate.may_write,
                        on_cluster=written,
                    )
            except TctlError as error:  # e.g. the store's lock could not be taken: tried again
                self._events.put(
                    _Reconciled(tuple(targets), None, time.perf_counter() - started, error.message)
                )
            except Exception as bug:  # noqa: BLE001 - reported, and its clusters tried again
                self._events.put(_Reconciled(tuple(targets), None, time.perf_counter() - started, repr(bug)))
            else:
                self._events.put(_Reconciled(tuple(targets), rec, time.perf_counter() - started))

        self._workers = [worker for worker in self._workers if worker.is_alive()]
        worker = threading.Thread(target=work, name="tctl-reconcile", daemon=True)
        self._workers.append(worker)
        worker.start()

    def _reconciled(self, done: _Reconciled) -> None:
        """A reconcile's end, told in the loop's thread: its writes, failures and retries."""
        if done.stale:  # the configuration is read again now, and the clusters planned from it
            self._version = _STALE
            self._dirty.update(done.targets)
            self._debouncer.add(self.clock())
            self.observer.reconciled(list(done.targets), "stale", done.seconds)
            return
        self.reconciles += 1
        rec = done.rec
        failed = dict.fromkeys(done.targets, done.error) if rec is None else rec.failed
        for result in rec.results if rec is not None else ():
            if result.step.writes and result.outcome is not Outcome.NOT_DONE:
                self.observer.wrote(result)
        now = self.clock()
        for name in done.targets:
            if name in failed:
                failures = self._failures[name] = self._failures.get(name, 0) + 1
                self._retry_at[name] = now + self.backoff.delay(failures)
                self.observer.cluster_failed(name, failed[name])
            else:
                self._failures.pop(name, None)
        verdict = "error" if failed else "conflict" if rec is not None and rec.conflicts else "success"
        self.observer.reconciled(list(done.targets), verdict, done.seconds)


_STALE = object()  # a version no store gives: the configuration is read again


def _identity(body: dict) -> tuple[str, str, str]:
    meta = body.get("metadata") or {}
    return (body.get("kind", ""), meta.get("namespace") or "", meta.get("name", ""))
