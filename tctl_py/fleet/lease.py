"""Leader election on a `coordination.k8s.io/v1` Lease, as client-go's `tools/leaderelection`.

Several `tctl controller --leader-elect` replicas share one Lease; the one named in
`spec.holderIdentity` writes to the fleet, the others keep their caches warm and wait. The rules
are client-go's:

- **acquire**: no Lease yet → create it (a 409 means another candidate created it first); a
  Lease held by someone else is taken over only once `leaseDurationSeconds` have passed since
  this process last *saw the record change*, measured on its own monotonic clock (never the
  remote `renewTime`: clocks of different machines disagree). An empty `holderIdentity` (a
  released Lease) is free at once.
- **renew / take over**: `PUT` of the whole Lease carrying the `metadata.resourceVersion` last
  read, so of two candidates racing for it exactly one wins; the other gets 409 and reads again.
  The holder first tries its renewal on the version it wrote last (no read), and reads only on
  a conflict.
- **stop writing in time**: `may_write()` turns False as soon as `renew_deadline` has passed
  since the start of the last successful renewal, which is before any other candidate may take
  over (`lease_duration` after it saw that renewal). It is computed from the clock, so a renewal
  that hangs cannot keep it True.
- **release** (client-go's `ReleaseOnCancel`): on stop, the holder writes an empty
  `holderIdentity` with `leaseDurationSeconds: 1`, so a follower takes over at its next retry.
- `leaseTransitions` counts changes of holder.

Timings default to client-go's (lease 15 s, renew deadline 10 s, retry 2 s); the clock is
injectable so tests drive `step()` without waiting. Requests go through the cluster's
`ClusterClient` (no retries of its own: the next retry period is the retry).
"""

from __future__ import annotations

import datetime
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tctl_py.errors import UsageError
from tctl_py.fleet.objects import Resource
from tctl_py.fleet.timeouts import DEFAULT_REQUEST_TIMEOUT

if TYPE_CHECKING:
    from tctl_py.fleet.client import ClusterClient, ClusterRequestError
    from tctl_py.fleet.kubeconfig import Kubeconfig

LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease")
DEFAULT_LEASE_NAME = "tctl-controller"
DEFAULT_LEASE_NAMESPACE = "tctl-system"

# Every request the elector sends, as RBAC verbs on `leases` (deploy/20-rbac.yaml grants exactly
# these). Only when the Lease's namespace does not exist does it also read and create that
# Namespace (as `ClusterClient.ensure_namespace` does); deploy/ creates the namespace itself.
LEASE_VERBS = ("get", "create", "update")

# Followers retry after retry_period * (1 + up to this fraction), so that replicas started
# together do not keep colliding. client-go's factor is 1.2; a smaller one keeps a released
# Lease's takeover within about one retry period.
_JITTER = 0.2

# A follower waiting for a Lease to expire tries this long after the expiry it computed.
_EXPIRY_MARGIN = 0.05

_MICRO_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"  # metav1.MicroTime, as the API server stores it


@dataclass(frozen=True)
class LeaseTimings:
    """client-go's LeaseDuration, RenewDeadline and RetryPeriod, in seconds."""

    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def __post_init__(self) -> None:
        if not self.lease_duration > self.renew_deadline > self.retry_period > 0:
            raise UsageError(
                "leader election needs lease duration > renew deadline > retry period > 0, got "
                f"{self.lease_duration:g} s, {self.renew_deadline:g} s and {self.retry_period:g} s"
            )


def default_identity() -> str:
    """POD_NAME when set (the Deployment sets it from the downward API), else hostname_pid."""
    return os.environ.get("POD_NAME") or f"{socket.gethostname()}_{os.getpid()}"


def _micro_time(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime(_MICRO_TIME)


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class LeaderElector:
    """Holds (or waits for) the Lease `namespace/name` in the cluster `client` talks to.

    `step()` is one attempt to acquire or renew; `start()` runs attempts every retry period in
    a thread until `stop()`, which releases the Lease when held. `may_write()` is the write gate
    the reconcile loop asks before each batch of writes. Callbacks run on the elector's thread:
    `on_started_leading()`, `on_stopped_leading()` and `on_new_leader(identity)` (the holder
    this process sees changed; "" when the Lease was released). `on_error(message)` reports a
    failed request (once per distinct message in a row, so a down cluster is not a log flood).
    """

    def __init__(
        self,
        client: ClusterClient,
        *,
        identity: str,
        name: str = DEFAULT_LEASE_NAME,
        namespace: str = DEFAULT_LEASE_NAMESPACE,
        timings: LeaseTimings = LeaseTimings(),
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime.datetime] = _utcnow,
        on_started_leading: Callable[[], None] | None = None,
        on_stopped_leading: Callable[[], None] | None = None,
        on_new_leader: Callable[[str], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        if not identity:
            raise UsageError("leader election needs a non-empty identity")
        self.client = client
        self.identity = identity
        self.name = name
        self.namespace = namespace
        self.timings = timings
        self._clock = clock
        self._wall_clock = wall_clock
        self._on_started_leading = on_started_leading
        self._on_stopped_leading = on_stopped_leading
        self._on_new_leader = on_new_leader
        self._on_error = on_error
        self._lock = threading.Lock()
        self._observed: dict | None = None  # the Lease as last read or written
        self._observed_spec: dict | None = None
        self._observed_at = 0.0  # clock() when the record was last seen to change
        self._renewed_at: float | None = None  # clock() at the start of the last successful renewal
        self._leading = False
        self._holder = ""
        self._last_error = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"LeaderElector({self.namespace}/{self.name}, identity={self.identity!r})"

    # -- state the loop and the metrics read ----------------------------------------------------

    @property
    def path(self) -> str:
        return LEASES.path(self.namespace, self.name)

    @property
    def is_leader(self) -> bool:
        """This process holds the Lease (it may still have to stop writing: see may_write)."""
        with self._lock:
            return self._leading

    @property
    def leader(self) -> str:
        """The holder this process last saw ("" if none, or not read yet)."""
        with self._lock:
            return self._holder

    def may_write(self) -> bool:
        """True while this process holds the Lease and renewed it within the renew deadline."""
        with self._lock:
            return self._leading and self._within_deadline()

    def _within_deadline(self) -> bool:
        return self._renewed_at is not None and self._clock() - self._renewed_at < self.timings.renew_deadline

    # -- one attempt ----------------------------------------------------------------------------

    def step(self) -> bool:
        """Try to acquire or renew the Lease once; True if that succeeded. After a failed renewal
        the holder stays the holder (`is_leader`) until its renew deadline passes."""
        from tctl_py.fleet.client import ClusterRequestError

        started = self._clock()
        try:
            held = self._try_acquire_or_renew(started)
        except ClusterRequestError as error:
            self._report(error)
            held = False
        else:
            self._last_error = ""
        if held:
            self._renewed(started)
        else:
            self._not_renewed()
        return held

    def _try_acquire_or_renew(self, started: float) -> bool:
        from tctl_py.fleet.client import ClusterRequestError

        if self.is_leader and self._observed is not None:
            # the holder's fast path: update the version it wrote last, read only on a conflict
            try:
                self._write("PUT", self._record(self._observed), started)
                return True
            except ClusterRequestError as error:
                if error.status != 409:
                    raise
        lease = self._read()
        if lease is None:
            return self._create(started)
        self._observe(lease, started)
        spec = lease.get("spec") or {}
        holder = str(spec.get("holderIdentity") or "")
        if holder and holder != self.identity and not self._expired(spec):
            return False
        try:
            self._write("PUT", self._record(lease), started)
        except ClusterRequestError as error:
            if error.status == 409:  # someone else wrote it since we read it: read again next time
                return False
            raise
        return True

    def _create(self, started: float, *, namespace_checked: bool = False) -> bool:
        """Create the Lease; False if another candidate created it between our read and write.
        Its namespace is created when missing, as tctl does for the namespaces it writes in."""
        from tctl_py.fleet.client import ClusterRequestError

        try:
            self._write("POST", self._record(None), started)
        except ClusterRequestError as error:
            if error.status == 409:
                return False
            if error.status != 404 or namespace_checked:
                raise
            self.client.ensure_namespace(self.namespace)
            return self._create(started, namespace_checked=True)
        return True

    def _expired(self, spec: dict) -> bool:
        """The record observed has not changed for its lease duration, on this process's clock."""
        with self._lock:
            return self._clock() - self._observed_at >= _duration(spec, self.timings)

    def _record(self, current: dict | None) -> dict:
        """The Lease this process writes to hold `current` (None: create it)."""
        now = _micro_time(self._wall_clock())
        old = (current or {}).get("spec") or {}
        mine = old.get("holderIdentity") == self.identity
        transitions = int(old.get("leaseTransitions") or 0)
        metadata: dict[str, Any] = {"name": self.name, "namespace": self.namespace}
        if current is not None:
            metadata = {**(current.get("metadata") or {}), **metadata}
        return {
            "apiVersion": LEASES.api_version,
            "kind": LEASES.kind,
            "metadata": metadata,
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": _whole_seconds(self.timings.lease_duration),
                "acquireTime": old.get("acquireTime") if mine and old.get("acquireTime") else now,
                "renewTime": now,
                "leaseTransitions": transitions if mine or current is None else transitions + 1,
            },
        }

    # -- requests -------------------------------------------------------------------------------

    def _read(self) -> dict | None:
        from tctl_py.fleet.client import ClusterRequestError

        try:
            _, lease = self.client.request(
                "GET", self.path, doing=f"reading Lease {self.namespace}/{self.name}"
            )
        except ClusterRequestError as error:
            if error.status == 404:
                return None
            raise
        return lease

    def _write(self, method: str, lease: dict, started: float) -> None:
        path = LEASES.path(self.namespace) if method == "POST" else self.path
        verb = "creating" if method == "POST" else "updating"
        _, written = self.client.request(
            method,
            path,
            body=lease,
            content_type="application/json",
            doing=f"{verb} Lease {self.namespace}/{self.name}",
        )
        self._observe(written, started)

    def _observe(self, lease: dict, at: float) -> None:
        """Remember `lease`; when its record differs from the one seen before, it changed `at`."""
        spec = dict(lease.get("spec") or {})
        holder = str(spec.get("holderIdentity") or "")
        with self._lock:
            self._observed = lease
            if spec != self._observed_spec:
                self._observed_spec = spec
                self._observed_at = at
            changed = holder != self._holder
            self._holder = holder
        if changed and self._on_new_leader is not None:
            self._on_new_leader(holder)

    def _renewed(self, started: float) -> None:
        with self._lock:
            self._renewed_at = started
            began = not self._leading
            self._leading = True
        if began and self._on_started_leading is not None:
            self._on_started_leading()

    def _not_renewed(self) -> None:
        """A failed attempt: a holder past its renew deadline (or no longer named) steps down."""
        with self._lock:
            ended = self._leading and (self._holder != self.identity or not self._within_deadline())
            if ended:
                self._leading = False
        if ended and self._on_stopped_leading is not None:
            self._on_stopped_leading()

    def _report(self, error: ClusterRequestError) -> None:
        message = f"leader election: {error.message}"
        if error.hint:
            message += f" ({error.hint})"
        if message != self._last_error and self._on_error is not None:
            self._on_error(message)
        self._last_error = message

    # -- release and the background thread ------------------------------------------------------

    def release(self) -> bool:
        """Give the Lease up if this process holds it (ReleaseOnCancel); True if released."""
        from tctl_py.fleet.client import ClusterRequestError

        with self._lock:
            lease, held = self._observed, self._leading
            self._leading = False
            self._renewed_at = None
        if not held or lease is None:
            return False
        if self._on_stopped_leading is not None:
            self._on_stopped_leading()
        now = _micro_time(self._wall_clock())
        spec = lease.get("spec") or {}
        released = {
            **lease,
            "spec": {
                "holderIdentity": "",
                "leaseDurationSeconds": 1,
                "acquireTime": now,
                "renewTime": now,
                "leaseTransitions": int(spec.get("leaseTransitions") or 0),
            },
        }
        try:
            self._write("PUT", released, self._clock())
        except ClusterRequestError as error:  # the Lease then expires as if we had died
            self._report(error)
            return False
        return True

    def start(self) -> LeaderElector:
        """Run `step()` every retry period in a daemon thread, until `stop()`."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"lease-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, *, release: bool = True, timeout: float | None = None) -> bool:
        """Stop the attempts and give the Lease up, unless `release` is False (as if killed);
        True if released. If the attempt in flight does not end within `timeout` seconds, the
        Lease is left to expire: a release sent meanwhile could be overwritten by that renewal."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                with self._lock:
                    self._leading = False
                return False
        return self.release() if release else False

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception as error:  # noqa: BLE001 - a callback's bug must not stop the renewals
                if self._on_error is not None:
                    self._on_error(f"leader election: {type(error).__name__}: {error}")
            self._stop.wait(self.pause(self.is_leader))

    def pause(self, leading: bool) -> float:
        """Seconds until the next attempt: a retry period for the holder; for a follower a
        jittered one, but no later than the moment the Lease it saw expires, so that a dead
        holder is replaced within a lease duration of its last renewal seen, not up to a retry
        period after that."""
        if leading:
            return self.timings.retry_period
        pause = self.timings.retry_period * (1 + _JITTER * random.random())
        with self._lock:
            spec, seen = self._observed_spec, self._observed_at
        if spec and spec.get("holderIdentity") and spec.get("holderIdentity") != self.identity:
            expires = seen + _duration(spec, self.timings) - self._clock()
            pause = min(pause, max(expires, 0.0) + _EXPIRY_MARGIN)
        return pause


def lease_client(kubeconfig: Kubeconfig | Mapping, context: str, timings: LeaseTimings) -> ClusterClient:
    """A client of its own for the Lease's cluster: no retries (the next attempt is the retry),
    and no request longer than the renew deadline (past it, the renewal is lost anyway)."""
    from tctl_py.fleet.client import ClusterClient
    from tctl_py.fleet.retry import NO_RETRY

    timeout = min(DEFAULT_REQUEST_TIMEOUT, timings.renew_deadline)
    return ClusterClient(kubeconfig, context, request_timeout=timeout, retry=NO_RETRY, connections=1)


def _duration(spec: dict, timings: LeaseTimings) -> float:
    """The Lease's own duration (its holder's setting), else ours."""
    duration = spec.get("leaseDurationSeconds")
    return float(duration) if isinstance(duration, (int, float)) else timings.lease_duration


def _whole_seconds(seconds: float) -> int:
    """leaseDurationSeconds is an integer; a shorter duration (tests) rounds up to 1."""
    return max(1, round(seconds))
