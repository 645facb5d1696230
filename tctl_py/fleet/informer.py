"""Informers: each cluster listed once, then watched, its changes handed to a sink.

The design is client-go's reflector (SPEC §9): per cluster, list every kind the engine reads
(Namespaces, Services, DestinationRules) and the objects tctl manages (ServiceEntries,
WorkloadEntries, Gateways labelled managed-by tctl), then watch each from its list's
resourceVersion with bookmarks. A run of one list and the watches that follow it is an *epoch*:

- a watch that ends by itself (`timeoutSeconds`, the server's limit) reconnects from the last
  resourceVersion seen (an event's or a bookmark's);
- a stream dropped mid-way reconnects from there at once, then with capped exponential backoff
  while drops repeat with nothing delivered in between;
- `410 Gone` (the version was compacted away) ends the epoch: the cluster is listed again;
- a list or a watch request that fails makes the cluster unreadable (`ClusterUnreadable`) and
  ends the epoch; lists are tried again with capped exponential backoff (`Backoff`) until
  one succeeds (`ClusterRead`, the whole state);
- every `resync` seconds a new epoch starts anyway (a relist).

Each cluster has its own threads (a supervisor, one watcher per resource): one cluster's trouble
never delays another's. Events of an ended epoch are never delivered. The sink receives the
incremental engine's changes (`ObjectEvent`, `ClusterRead`, `ClusterUnreadable`) and
`ManagedRead` / `ManagedChanged` for the objects tctl manages (so a reconcile need not list
them again); it is called from the informer's threads.
Requests go through `ClusterClient` (`fleet/client.py`).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass

from tctl_py.errors import TctlError
from tctl_py.fleet import wirejson
from tctl_py.fleet.client import ClusterClient, ClusterRequestError, status_error
from tctl_py.fleet.objects import (
    DESTINATION_RULES,
    MANAGED_RESOURCES,
    NAMESPACES,
    SERVICES,
    Resource,
    normalize,
    sort_objects,
)
from tctl_py.fleet.transport import Stream
from tctl_py.kube import MANAGED_BY, MANAGED_BY_VALUE, MANAGED_SELECTOR
from tctl_py.mesh.incremental import Change, ClusterRead, ClusterUnreadable, ObjectEvent
from tctl_py.mesh.model import ClusterState

DEFAULT_RESYNC = 600.0  # seconds between relists of a cluster, as a safety net
DEFAULT_WATCH_TIMEOUT = 300  # timeoutSeconds asked of the server; client-go picks 5-10 min
_DESTINATION_RULE_VERSIONS = ("v1", "v1beta1")  # newest first: Istio < 1.22 serves no v1


@dataclass(frozen=True)
class ManagedChanged:
    """An object tctl manages in `cluster` was added, changed or deleted (by tctl or by hand):
    `cluster` may have drifted from what is desired."""

    cluster: str
    type: str
    body: dict


@dataclass(frozen=True)
class ManagedRead:
    """Every ServiceEntry, WorkloadEntry and Gateway tctl manages in `cluster`, as just listed
    (`metadata.managedFields` kept, as the reconcile plan reads them). Comes right after the
    cluster's `ClusterRead`."""

    cluster: str
    objects: tuple[dict, ...]


InformerEvent = Change | ManagedChanged | ManagedRead
Sink = Callable[[InformerEvent], None]


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff: the n-th consecutive failure (n >= 1) waits
    `initial * 2**(n-1)` seconds, at most `cap`, scaled by a random factor in [1 - jitter, 1]."""

    initial: float = 0.5
    # SPEC §9 allows up to 30 s; a cluster back up is then listed again within 10 s at most
    cap: float = 10.0
    jitter: float = 0.2

    def delay(self, failures: int) -> float:
        if failures <= 0:
            return 0.0
        wait = min(self.cap, self.initial * 2 ** min(failures - 1, 32))
        return wait * (1 - self.jitter * random.random())


def is_managed(body: dict) -> bool:
    return ((body.get("metadata") or {}).get("labels") or {}).get(MANAGED_BY) == MANAGED_BY_VALUE


@dataclass(frozen=True)
class _Watched:
    """One resource an informer lists and watches: `engine_kind` if the engine reads it (every
    object), else None (objects tctl manages, by label)."""

    resource: Resource
    engine_kind: str | None

    @property
    def selector(self) -> str | None:
        return None if self.engine_kind else MANAGED_SELECTOR

    def normalize(self, obj: dict) -> dict:
        return normalize(
            obj, self.resource.api_version, self.resource.kind, managed_fields=not self.engine_kind
        )


# What an informer lists and watches; of alternatives, the first version the cluster serves.
_RESOURCES: tuple[tuple[_Watched, ...], ...] = (
    (_Watched(NAMESPACES, "Namespace"),),
    (_Watched(SERVICES, "Service"),),
    tuple(
        _Watched(
            Resource(DESTINATION_RULES.group, v, DESTINATION_RULES.plural, DESTINATION_RULES.kind),
            "DestinationRule",
        )
        for v in _DESTINATION_RULE_VERSIONS
    ),
    *((_Watched(resource, None),) for resource in MANAGED_RESOURCES),
)


class _EpochEnded(Exception):
    """The current epoch ended: `relist` after a 410 (the cluster is fine), else it failed."""

    def __init__(self, reason: str, *, relist: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.relist = relist


class _Epoch:
    """One list and the watches from it; `end()` wakes the supervisor and closes the streams."""

    def __init__(self) -> None:
        self.ended = threading.Event()
        self.outcome: _EpochEnded | None = None
        self._streams: set[Stream] = set()
        self._lock = threading.Lock()

    def end(self, outcome: _EpochEnded | None) -> None:
        with self._lock:
            if self.ended.is_set():
                return
            self.outcome = outcome
            self.ended.set()
            streams, self._streams = list(self._streams), set()
        for stream in streams:
            _shutdown(stream)

    def opened(self, stream: Stream) -> bool:
        """Track an open stream; False (and it is closed) if the epoch already ended."""
        with self._lock:
            if not self.ended.is_set():
                self._streams.add(stream)
                return True
        _shutdown(stream)
        return False

    def closed(self, stream: Stream) -> None:
        with self._lock:
            self._streams.discard(stream)


def _shutdown(stream: Stream) -> None:
    """Close a streaming response from another thread: its reader gets an error at once, and
    the server sees the connection closed."""
    try:
        stream.shutdown()
        stream.close()
    except Exception:  # noqa: BLE001 - already closed or broken: nothing left to close
        pass


class ClusterInformer:
    """Lists and watches one cluster in its own threads; see the module's docstring.

    `client`: a `ClusterClient` used only by this informer (watches hold its connections).
    `sleep(seconds, stop)` waits between attempts (default: `stop.wait`); tests inject one.
    """

    def __init__(
        self,
        client: ClusterClient,
        sink: Sink,
        *,
        server: str = "",
        resync: float = DEFAULT_RESYNC,
        backoff: Backoff = Backoff(),
        watch_timeout: int = DEFAULT_WATCH_TIMEOUT,
        sleep: Callable[[float, threading.Event], None] | None = None,
    ) -> None:
        self.client = client
        self.name = client.name
        self.server = server
        self.sink = sink
        self.resync = resync
        self.backoff = backoff
        self.watch_timeout = watch_timeout
        self.stop_event = threading.Event()
        self._sleep = sleep or (lambda seconds, stop: stop.wait(seconds) and None)
        self._lock = threading.Lock()  # delivery, and the switch from one epoch to the next
        self._epoch: _Epoch | None = None
        self._thread = threading.Thread(target=self._supervise, name=f"informer {self.name}", daemon=True)

    def start(self) -> ClusterInformer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        with self._lock:
            epoch = self._epoch
        if epoch is not None:
            epoch.end(None)

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    # -- the supervisor: list, watch, relist --------------------------------------------------

    def _supervise(self) -> None:
        failures = 0
        while not self.stop_event.is_set():
            epoch = _Epoch()
            try:
                state, managed, watched = self._list()
            except Exception as error:  # noqa: BLE001 - whatever it is, the cluster is not readable
                failures += 1
                message = (
                    error.message if isinstance(error, TctlError) else f"{type(error).__name__}: {error}"
                )
                self._deliver(None, ClusterUnreadable(self.name, message))
                self._sleep(self.backoff.delay(failures), self.stop_event)
                continue
            with self._lock:
                if self.stop_event.is_set():
                    return
                self._epoch = epoch
                self.sink(ClusterRead(state))
                self.sink(ManagedRead(self.name, managed))
            failures = 0
            for what, version in watched:
                threading.Thread(
                    target=self._watch,
                    args=(epoch, what, version),
                    name=f"watch {self.name} {what.resource.plural}",
                    daemon=True,
                ).start()
            epoch.ended.wait(self.resync)
            epoch.end(None)  # the resync period passed, or a watcher ended it
            outcome = epoch.outcome
            if outcome is not None and not outcome.relist and not self.stop_event.is_set():
                failures += 1
                self._deliver(None, ClusterUnreadable(self.name, outcome.reason))
                self._sleep(self.backoff.delay(failures), self.stop_event)

    def _deliver(self, epoch: _Epoch | None, event: InformerEvent) -> None:
        """Hand `event` to the sink unless it comes from an epoch that ended (None: the
        supervisor's own, between epochs)."""
        with self._lock:
            if self.stop_event.is_set() or (
                epoch is not None and (epoch is not self._epoch or epoch.ended.is_set())
            ):
                return
            self.sink(event)

    def _list(self) -> tuple[ClusterState, tuple[dict, ...], list[tuple[_Watched, str]]]:
        """Everything, with the resourceVersion to watch each resource from. A resource the
        cluster does not serve (its CRD is not installed) has no objects and is not watched."""
        watched: list[tuple[_Watched, str]] = []
        found: dict[str, list[dict]] = {}
        for alternatives in _RESOURCES:
            for what in alternatives:  # the first version the cluster serves
                listed = self._list_resource(what)
                if listed is not None:
                    found[what.resource.kind], version = listed
                    watched.append((what, version))
                    break
        state = ClusterState(
            name=self.name,
            server=self.server,
            namespaces=sort_objects(found.get("Namespace", [])),
            services=sort_objects(found.get("Service", [])),
            destination_rules=sort_objects(found.get("DestinationRule", [])),
        )
        return state, tuple(o for r in MANAGED_RESOURCES for o in found.get(r.kind, [])), watched

    def _list_resource(self, what: _Watched) -> tuple[list[dict], str] | None:
        """All of one resource's objects (page by page) and the list's resourceVersion; None
        when the server does not serve it (404)."""
        items: list[dict] = []
        token = ""
        while True:
            query = [("limit", "500")]
            if token:
                query.append(("continue", token))
            if what.selector:
                query.append(("labelSelector", what.selector))
            try:
                _, body = self.client.request(
                    "GET", what.resource.path(), query=query, doing=f"listing {what.resource.display}"
                )
            except ClusterRequestError as error:
                if error.status == 404:
                    return None
                raise
            items += [what.normalize(item) for item in body.get("items") or () if isinstance(item, dict)]
            metadata = body.get("metadata") or {}
            token = metadata.get("continue") or ""
            if not token:
                return items, str(metadata.get("resourceVersion") or "0")

    # -- the watchers ---------------------------------------------------------------------------

    def _watch(self, epoch: _Epoch, what: _Watched, version: str) -> None:
        drops = 0  # streams broken in a row with nothing delivered
        while not epoch.ended.is_set():
            try:
                broken, delivered, version = self._stream(epoch, what, version)
            except _EpochEnded as ended:
                epoch.end(ended)
                return
            drops = 0 if delivered or not broken else drops + 1
            if drops:
                self._sleep(self.backoff.delay(drops), epoch.ended)

    def _stream(self, epoch: _Epoch, what: _Watched, version: str) -> tuple[bool, bool, str]:
        """One watch request from `version`: (whether the stream broke rather than ended,
        whether it delivered anything, the last resourceVersion seen).

        Raises _EpochEnded when the request fails or the server says 410."""
        resource = what.resource
        doing = f"watching {resource.display}"
        query = [
            ("watch", "1"),
            ("resourceVersion", version),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", str(self.watch_timeout)),
        ]
        if what.selector:
            query.append(("labelSelector", what.selector))
        try:
            stream = self.client.watch(
                resource.path(), query, read_timeout=self.watch_timeout + 30.0, doing=doing
            )
        except ClusterRequestError as failure:  # no connection, TLS: the cluster cannot be watched
            raise _EpochEnded(failure.message) from None
        if not 200 <= stream.status <= 299:
            refused = status_error(stream.status, stream.reason, stream.read(), self.client.server, doing)
            raise _EpochEnded(refused.message, relist=refused.status == 410)
        if not epoch.opened(stream):
            return False, False, version
        delivered = False
        try:
            for line in stream.lines():
                event = wirejson.loads(line)
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    code = obj.get("code")
                    message = f"{self.client.server} ended the watch of {resource.display}: {obj.get('message', '')}"
                    raise _EpochEnded(message, relist=code == 410)
                new_version = (obj.get("metadata") or {}).get("resourceVersion")
                if kind in ("ADDED", "MODIFIED", "DELETED"):
                    body = what.normalize(obj)
                    change: InformerEvent = (
                        ObjectEvent(self.name, kind, what.engine_kind, body)
                        if what.engine_kind
                        else ManagedChanged(self.name, kind, body)
                    )
                    self._deliver(epoch, change)
                    delivered = True
                if new_version:
                    version = str(new_version)
        except _EpochEnded:
            raise
        except Exception:  # noqa: BLE001 - a broken connection or garbage: watch again from here
            return True, delivered, version
        finally:
            epoch.closed(stream)
            stream.close()  # a watch's connection is not reused: it may be half read
        return False, delivered, version  # ended cleanly (timeoutSeconds): not a failure
