"""Prometheus metrics of the control loop (SPEC §9) and the HTTP endpoints that serve them and
the health checks. Shared by `tctl sync --watch` and `tctl controller`.

`Metrics` keeps its own `CollectorRegistry` (never the process-wide one), so several loops, or
tests, each have theirs. `prometheus_client` is imported only when a `Metrics` is made, i.e. only
with `--metrics-addr`. `Endpoints` is a small threaded HTTP server: `/metrics` (when it has
metrics), `/healthz` (the process is alive) and `/readyz` (what `ready()` says).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tctl_py.errors import UsageError
from tctl_py.reconcile.executor import Outcome, StepResult
from tctl_py.reconcile.loop import LoopObserver

# Outcome of a write step -> the verb of tctl_writes_total.
_VERBS = {Outcome.CREATED: "create", Outcome.CONFIGURED: "update", Outcome.PRUNED: "delete"}


class Metrics(LoopObserver):
    """The metrics SPEC §9 names, updated from what the loop reports."""

    def __init__(self) -> None:
        from prometheus_client import (
            CollectorRegistry,
            Counter,
            Gauge,
            GCCollector,
            Histogram,
            PlatformCollector,
            ProcessCollector,
        )

        self.registry = CollectorRegistry(auto_describe=True)
        # the process_* and python_* series every Prometheus client exports by default
        for collector in (ProcessCollector, PlatformCollector, GCCollector):
            collector(registry=self.registry)
        self.reconciles = Counter(
            "tctl_reconcile",
            "Reconciles, by result (success, conflict, error).",
            ["result"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "tctl_reconcile_duration_seconds",
            "Time to plan and write the clusters of one reconcile.",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.reachable = Gauge(
            "tctl_cluster_reachable", "1 when the cluster is listed and watched, 0 when unreadable.", ["cluster"],
            registry=self.registry,
        )  # fmt: skip
        self.managed = Gauge(
            "tctl_managed_objects", "Objects tctl maintains in the cluster, by kind.", ["cluster", "kind"],
            registry=self.registry,
        )  # fmt: skip
        self.writes = Counter(
            "tctl_writes", "Writes sent to clusters, by verb (create, update, delete).", ["cluster", "verb"],
            registry=self.registry,
        )  # fmt: skip
        self.leader = Gauge(
            "tctl_leader", "1 while this process may write to clusters (the leader, or sync --watch).",
            registry=self.registry,
        )  # fmt: skip

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)

    def cluster_state(self, cluster: str, state: str, error: str = "") -> None:
        self.reachable.labels(cluster=cluster).set(0 if state == "unreadable" else 1)

    def wrote(self, result: StepResult) -> None:
        verb = _VERBS.get(result.outcome)
        if verb:
            self.writes.labels(cluster=result.step.cluster, verb=verb).inc()

    def reconciled(self, clusters: Sequence[str], result: str, seconds: float) -> None:
        self.reconciles.labels(result=result).inc()
        self.duration.observe(seconds)

    def managed_objects(self, cluster: str, counts: dict[str, int]) -> None:
        for kind, count in counts.items():
            self.managed.labels(cluster=cluster, kind=kind).set(count)


def parse_address(text: str, option: str) -> tuple[str, int]:
    """`HOST:PORT` (`:PORT` for every interface) as a (host, port) pair; a usage error otherwise."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise UsageError(f'{option} "{text}": expected HOST:PORT, e.g. 127.0.0.1:9090 or :9090')
    return host.strip("[]") or "0.0.0.0", int(port)


class Endpoints:
    """One HTTP server on `address`: `/metrics` if `metrics` is given, `/healthz` and `/readyz`
    if `ready` is. Runs in a daemon thread from `start()`; `close()` stops it."""

    def __init__(
        self,
        address: tuple[str, int],
        *,
        metrics: Metrics | None = None,
        ready: Callable[[], bool] | None = None,
    ) -> None:
        routes: dict[str, Callable[[], tuple[int, bytes, str]]] = {}
        if metrics is not None:
            from prometheus_client import CONTENT_TYPE_LATEST

            routes["/metrics"] = lambda: (200, metrics.render(), CONTENT_TYPE_LATEST)
        if ready is not None:
            routes["/healthz"] = lambda: (200, b"ok\n", "text/plain; charset=utf-8")
            routes["/readyz"] = lambda: (
                (200, b"ok\n", "text/plain; charset=utf-8")
                if ready()
                else (503, b"not ready: initial lists not done, or not the leader nor a warm follower\n",
                      "text/plain; charset=utf-8")
            )  # fmt: skip

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                route = routes.get(self.path.split("?", 1)[0])
                status, body, content_type = route() if route else (404, b"not found\n", "text/plain")
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        try:
            self.server = ThreadingHTTPServer(address, Handler)
        except OSError as error:
            raise UsageError(
                f"cannot listen on {address[0]}:{address[1]}: {error.strerror or error}"
            ) from None
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, name="endpoints", daemon=True)

    def start(self) -> Endpoints:
        self._thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
