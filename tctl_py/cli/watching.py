"""Running the control loop from a command (`sync --watch`, and the controller): the store as the
loop's configuration source, its log lines (text or JSON), metrics and health endpoints, and a
requested stop (SIGINT/SIGTERM) as a clean exit."""

from __future__ import annotations

import contextlib
import gc
import json
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

from tctl_py.cli.state import OPTIONS
from tctl_py.errors import UsageError
from tctl_py.reconcile.loop import LoopObserver

if TYPE_CHECKING:
    from tctl_py.mesh import MeshConfig
    from tctl_py.reconcile.executor import StepResult
    from tctl_py.reconcile.loop import LoopOptions, WriteGate
    from tctl_py.reconcile.metrics import Endpoints, Metrics
    from tctl_py.reconcile.ownership import Ownership
    from tctl_py.store import ConfigStore

LOG_FORMATS = ("text", "json")


class StoreSource:
    """The loop's `ConfigSource` over a store. Given a `follower` (a second store of its own,
    with its own connection), a thread waits in its `wait_for_change`: a watch on the custom
    resources for the Kubernetes store, `PRAGMA data_version` for SQLite (which any commit by
    another process changes); `version` is then the last token it saw, free to ask. Without one,
    `version` asks the store's change token itself (cheap on SQLite only).

    `writing` holds the store's reconcile lock while any of the loop's reconciles runs (they run
    side by side, for different clusters: the first takes it, the last lets it go), on a store
    `open_store()` opens for that, and reads the configuration there once it is held (a store
    belongs to the thread that opened it, so each time on a new one)."""

    FOLLOW_S = 10.0  # how long one wait lasts before it starts again (a relist on Kubernetes)

    def __init__(
        self,
        store: ConfigStore,
        follower: ConfigStore | None = None,
        stop: threading.Event | None = None,
        *,
        open_store: Callable[[], ConfigStore],
        doing: str = "tctl sync --watch",
    ) -> None:
        self.store = store
        self.open_store = open_store
        self.doing = doing
        self._holders = 0  # reconciles in `writing` now
        self._held: contextlib.ExitStack | None = None  # the lock, while they hold it
        self._holding = threading.Lock()  # taking and letting go of the lock, one thread at a time
        self._token: str | None = None
        if follower is not None:
            seen = threading.Event()
            threading.Thread(
                target=self._follow,
                args=(follower, stop or threading.Event(), seen),
                name="store-follower",
                daemon=True,
            ).start()
            seen.wait()

    def _follow(self, follower: ConfigStore, stop: threading.Event, seen: threading.Event) -> None:
        from tctl_py.errors import TctlError

        with follower:  # used by this thread only (a SQLite connection belongs to one thread)
            while not stop.is_set():
                try:
                    if self._token is None:
                        self._token = follower.change_token()
                    else:
                        self._token = follower.wait_for_change(self._token, self.FOLLOW_S)
                except TctlError:
                    stop.wait(1.0)  # the store cannot be read now: the loop keeps what it loaded
                finally:
                    seen.set()

    def version(self) -> object:
        return self.store.change_token() if self._token is None else self._token

    def load(self):
        return _configuration(self.store)

    @contextlib.contextmanager
    def writing(self) -> Iterator[tuple[MeshConfig, Ownership] | None]:
        from tctl_py.errors import TctlError

        with self._holding:  # while the first one waits for the lock, so do the others
            if self._holders == 0:
                with contextlib.ExitStack() as held:
                    locker = held.enter_context(self.open_store())
                    held.enter_context(locker.reconcile_lock(self.doing))
                    self._held = held.pop_all()  # kept once it is held; let go if that failed
            self._holders += 1
        try:
            try:
                with self.open_store() as store:
                    stored: tuple[MeshConfig, Ownership] | None = _configuration(store)
            except TctlError:
                stored = None  # the store cannot be read now: the loop keeps what it loaded
            yield stored
        finally:
            with self._holding:
                self._holders -= 1
                if self._holders == 0 and self._held is not None:
                    held, self._held = self._held, None
                    held.close()


def _configuration(store: ConfigStore) -> tuple[MeshConfig, Ownership]:
    from tctl_py.cli import meshview

    config = meshview.mesh_config(store)
    return config, meshview.ownership(store, config)


class WatchLog(LoopObserver):
    """One line per write and per cluster state change (and per failed reconcile, on stderr);
    `json`: one object per line, with a `time`."""

    def __init__(self, log_format: str, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.json = log_format == "json"
        self.out, self.err = out or sys.stdout, err or sys.stderr
        self._lock = threading.Lock()

    def _emit(self, stream: TextIO, text: str, record: dict) -> None:
        line = (
            json.dumps({"time": datetime.now(UTC).isoformat(timespec="milliseconds"), **record})
            if self.json
            else text
        )
        with self._lock:
            stream.write(line + "\n")
            stream.flush()

    def cluster_state(self, cluster: str, state: str, error: str = "") -> None:
        text = f"cluster {cluster} {state}" + (f": {error}" if error else "")
        record = {"event": "cluster", "cluster": cluster, "state": state}
        if error:
            record["error"] = error
        self._emit(self.err if state == "unreadable" else self.out, text, record)

    def wrote(self, result: StepResult) -> None:
        from tctl_py.config import kinds

        step = result.step
        kind = kinds.by_kind(step.kind)
        label = f"{kind.singular}.{kind.group}/{step.name}" if kind else f"{step.kind.lower()}/{step.name}"
        text = f"{step.cluster} {label} {result.outcome}" + (f": {result.reason}" if result.reason else "")
        record = {
            "event": "write",
            "cluster": step.cluster,
            "kind": step.kind,
            "namespace": step.namespace,
            "name": step.name,
            "outcome": str(result.outcome),
        }
        if result.reason:
            record["reason"] = result.reason
        self._emit(self.out, text, record)

    def cluster_failed(self, cluster: str, error: str) -> None:
        text = f"error: cluster {cluster}: {error}" if cluster else f"error: {error}"
        self._emit(self.err, text, {"event": "error", "cluster": cluster, "error": error})

    def leader(self, state: str, identity: str, text: str) -> None:
        """A leader election event of the controller: `acquired`, `lost`, `observed` (another
        holder, `identity`, or "" for none) or `error` (on stderr)."""
        record = {"event": "leader", "state": state, "identity": identity}
        if state == "error":
            record["error"] = text
        self._emit(self.err if state == "error" else self.out, text, record)


def check_watch_options(debounce: float, resync: float, log_format: str) -> None:
    if debounce < 0:
        raise UsageError(f"--debounce must be 0 or more seconds, not {debounce}")
    if resync <= 0:
        raise UsageError(f"--resync must be more than 0 seconds, not {resync}")
    if log_format not in LOG_FORMATS:
        raise UsageError(f'--log-format must be "text" or "json", not "{log_format}"')


class _FreezeWhenReady(LoopObserver):
    """Once the loop is ready, what it holds (the clusters' listed objects, the engine's
    result) is left out of the collector's passes: they went through every one of those objects
    and delayed reconciles. Frozen objects are still freed when nothing refers to them."""

    def ready(self) -> None:
        gc.freeze()


def run_loop(
    options: LoopOptions,
    *,
    doing: str,
    log_format: str,
    metrics_addr: str | None,
    health_addr: str | None,
    gate: WriteGate | None = None,
    on_metrics: Callable[[Metrics], None] | None = None,
) -> int:
    """Run the loop on the store and fleet of the global options until SIGINT/SIGTERM; 0 then.

    `doing`: the command, as other tctl commands waiting for the store's lock name its holder.
    `gate`: when the loop may write (default: always). `on_metrics`: given the metrics when
    there are any (the controller sets `tctl_leader`). `/readyz` answers 200 once every cluster
    was listed once: for the controller, the leader or a warm follower alike."""
    from tctl_py.cli import meshview
    from tctl_py.cli.common import open_store
    from tctl_py.reconcile.loop import Loop, Observers
    from tctl_py.reconcile.metrics import parse_address

    if OPTIONS.fleet:
        raise UsageError("--watch reads live clusters: it cannot watch a snapshot fleet (--fleet)")
    if OPTIONS.cluster_timeout:
        raise UsageError(
            "--cluster-timeout bounds all the work of a one-shot command on a cluster; "
            "a loop that runs until stopped has only --request-timeout"
        )
    metrics_at = parse_address(metrics_addr, "--metrics-addr") if metrics_addr else None
    health_at = parse_address(health_addr, "--health-addr") if health_addr else None
    interrupt = OPTIONS.interrupt
    interrupt.stops_cleanly()  # from now on a signal asks the loop to stop
    # One-shot commands run without the cyclic collector (cli/app.py); a loop that runs for days
    # needs it for its reference cycles (exceptions, sockets).
    gc.enable()
    observers: list[LoopObserver] = [WatchLog(log_format), _FreezeWhenReady()]
    metrics: Metrics | None = None
    if metrics_at:
        from tctl_py.reconcile.metrics import Metrics

        metrics = Metrics()
        metrics.leader.set(1 if gate is None else 0)
        observers.append(metrics)
        if on_metrics is not None:
            on_metrics(metrics)
    loops: list[Loop] = []
    # up before the fleet is read: alive at once (/healthz), ready once the loop says so
    servers = _endpoints(metrics_at, health_at, metrics, lambda: any(loop.ready.is_set() for loop in loops))
    try:
        with open_store() as store:
            config = meshview.mesh_config(store)
            with meshview.load_fleet(config) as fleet:
                if options.clusters:
                    meshview.check_clusters(fleet, options.clusters)
                source = StoreSource(store, open_store(), interrupt.stop, open_store=open_store, doing=doing)
                loops.append(Loop(fleet, source, gate=gate, observer=Observers(observers), options=options))
                loops[0].run(interrupt.stop)
    finally:
        for server in servers:
            server.close()
    return 0


def _endpoints(
    metrics_at: tuple[str, int] | None,
    health_at: tuple[str, int] | None,
    metrics: Metrics | None,
    ready: Callable[[], bool],
) -> list[Endpoints]:
    """The HTTP servers asked for: one when both options name the same address."""
    from tctl_py.reconcile.metrics import Endpoints

    if metrics_at and metrics_at == health_at:
        return [Endpoints(metrics_at, metrics=metrics, ready=ready).start()]
    servers = []
    if metrics_at:
        servers.append(Endpoints(metrics_at, metrics=metrics).start())
    if health_at:
        servers.append(Endpoints(health_at, ready=ready).start())
    return servers
