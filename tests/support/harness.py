"""Several emulated Kubernetes clusters on loopback ports, and a kubeconfig that reaches them.

Each cluster is a `ClusterEmulator` (kmock) behind its own aiohttp server on 127.0.0.1; all
servers share one event loop in a background thread, so synchronous code under test (the
official `kubernetes` client) talks real HTTP to them from the test's thread. Each cluster
demands its own bearer token, so a client configured for the wrong cluster is refused (401).

    with EmulatedFleet(tmp_path) as fleet:
        east = fleet.add_cluster("east", objects=[namespace("shop"), service("shop", "cart")])
        fleet.add_down_cluster("gone")          # a reserved port with nothing listening
        fleet.add_blackhole_cluster("dead")     # connecting times out
        east.latency = 0.2                      # seconds per request
        east.delay(600, method="PATCH")         # writes hang
        east.fail(500, times=1, path="/services")
        path = fleet.write_kubeconfig()         # contexts east, gone, dead; current-context east
        ...
        assert east.counts["GET"] == 3

Watches (see tests/support/emulator.py for what they do) are tuned and broken per cluster:

        east.configure_watches(bookmark_interval=0.1, max_watch_seconds=5, history_size=100)
        east.wait_for_watches(1, "services")    # a client's watch is open
        east.compact()                          # older resourceVersions: 410 Expired
        east.drop_watches()                     # open streams reset mid-way
        east.fail(500, watch=True)              # new watches refused, lists still answered

A cluster's port is held for the life of the fleet: `stop()` leaves it bound but not listening
(connection refused), and `start()` serves on it again.
"""

from __future__ import annotations

import asyncio
import collections
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp.web
import yaml

from tests.support.emulator import ClusterEmulator, Fault, InFlight, make_emulator
from tests.support.tls import TLSMaterial

T = TypeVar("T")


def _reserve_port(port: int = 0) -> socket.socket:
    """A TCP socket bound to 127.0.0.1 but not listening: connecting to it is refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


class EmulatedCluster:
    """One emulated cluster: its server, token and emulator, driven from the test's thread."""

    def __init__(
        self, fleet: EmulatedFleet, name: str, emulator: ClusterEmulator, token: str, tls: bool = False
    ) -> None:
        self.fleet = fleet
        self.name = name
        self.emulator = emulator
        self.token = token
        self.tls = tls  # https, demanding the client certificate of `fleet.tls`
        self._sock: socket.socket | None = _reserve_port()
        self.port: int = self._sock.getsockname()[1]
        self._runner: aiohttp.web.BaseRunner | None = None
        self._fillers: list[socket.socket] = []  # connections that keep a blackhole's queue full

    def __repr__(self) -> str:
        return f"EmulatedCluster({self.name!r}, {self.server!r}, running={self.running})"

    @property
    def server(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._runner is not None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> EmulatedCluster:
        if not self.running:
            self.fleet.run(self._start())
        return self

    def stop(self) -> EmulatedCluster:
        """Stop serving; the port stays reserved, so connecting is refused."""
        if self.running:
            self.fleet.run(self._stop())
        return self

    async def _start(self) -> None:
        if self._sock is None:
            self._sock = _reserve_port(self.port)
        server = aiohttp.web.Server(self.emulator, handler_cancellation=True)
        runner = aiohttp.web.ServerRunner(server, shutdown_timeout=0.1)
        await runner.setup()
        site = aiohttp.web.SockSite(
            runner, self._sock, ssl_context=self.fleet.tls.server_context() if self.tls else None
        )
        await site.start()
        self._runner = runner

    def blackhole(self) -> EmulatedCluster:
        """Stop serving and make connecting time out: the port listens with a backlog of one
        that is already full and is never accepted from, so the kernel drops new SYNs."""
        self.stop()
        assert self._sock is not None
        self._sock.listen(0)
        for _ in range(2):  # more than the queue takes, so it is surely full
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", self.port))
            self._fillers.append(filler)
        return self

    async def _stop(self) -> None:
        self.emulator.drop_watches()  # open streams break at once, as when a server dies
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()  # closes the listening socket
        self._sock = _reserve_port(self.port)

    async def _close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        for sock in [self._sock, *self._fillers]:
            if sock is not None:
                sock.close()
        self._sock = None
        self._fillers.clear()

    # -- objects ------------------------------------------------------------------------------

    def seed(self, *objects: dict, manager: str = "kubectl-client-side-apply") -> list[dict]:
        """Store objects directly (status included), as if they had been created long ago."""
        return self.fleet.call(lambda: [self.emulator.seed(obj, manager=manager) for obj in objects])

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict | None:
        return self.fleet.call(self.emulator.get_object, kind, name, namespace)

    def list(self, kind: str, namespace: str | None = None) -> list[dict]:
        return self.fleet.call(self.emulator.list_objects, kind, namespace)

    # -- faults and counters ------------------------------------------------------------------

    @property
    def latency(self) -> float:
        return self.emulator.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self.fleet.call(setattr, self.emulator, "latency", seconds)

    def fail(
        self,
        status: int = 500,
        *,
        times: int | None = None,
        method: str | None = None,
        path: str | None = None,
        message: str = "injected failure",
        retry_after: str | float | None = None,
        watch: bool | None = None,
    ) -> Fault:
        """Answer matching requests with `status` (all of them, or the next `times`),
        with a `Retry-After` header when `retry_after` is given. `watch=True` matches only
        watch requests (new watches fail, lists work), `watch=False` all but watches."""
        return self.fleet.call(
            self.emulator.fail,
            status,
            times=times,
            method=method,
            path=path,
            message=message,
            retry_after=retry_after,
            watch=watch,
        )

    def delay(
        self,
        seconds: float,
        *,
        times: int | None = None,
        method: str | None = None,
        path: str | None = None,
        watch: bool | None = None,
    ) -> Fault:
        """Answer matching requests (all of them, or the next `times`) only after `seconds`:
        a slow request, or with a long delay a hung one (say, `delay(600, method="PATCH")`)."""
        return self.fleet.call(
            self.emulator.fail, None, times=times, method=method, path=path, delay=seconds, watch=watch
        )

    # -- watches ------------------------------------------------------------------------------

    def configure_watches(
        self,
        *,
        bookmark_interval: float | None = None,
        max_watch_seconds: float | None = None,
        history_size: int | None = None,
    ) -> None:
        """Seconds between BOOKMARK events; the server's own limit on a watch's duration;
        the changes kept per resource for watches from an older resourceVersion."""
        settings = {
            "bookmark_interval": bookmark_interval,
            "max_watch_seconds": max_watch_seconds,
            "history_size": history_size,
        }
        for name, value in settings.items():
            if value is not None:
                self.fleet.call(setattr, self.emulator, name, value)

    @property
    def revision(self) -> int:
        """The latest resourceVersion the cluster gave out."""
        return self.fleet.call(lambda: self.emulator.revision)

    def compact(self, kind: str | None = None) -> int:
        """Compact the watch history (of one kind, or all) up to now: watching from an older
        resourceVersion gets `410 Expired`. Returns the revision compacted to."""
        return self.fleet.call(self.emulator.compact, kind)

    def drop_watches(self, kind: str | None = None) -> int:
        """Reset the open watch streams (of one kind, or all): TCP reset, no final event."""
        return self.fleet.call(self.emulator.drop_watches, kind)

    def watch_count(self, kind: str | None = None) -> int:
        """Watch streams open right now (of one kind, or all)."""
        return self.fleet.call(self.emulator.watch_count, kind)

    def wait_for_watches(self, count: int = 1, kind: str | None = None, timeout: float = 5.0) -> int:
        """Wait until at least `count` watch streams (of one kind, or all) are open."""
        deadline = time.monotonic() + timeout
        while (found := self.watch_count(kind)) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: {found} watches open, expected {count}")
            time.sleep(0.01)
        return found

    def clear_faults(self) -> None:
        self.fleet.call(self.emulator.faults.clear)

    @property
    def counts(self) -> collections.Counter:
        """Requests received, by HTTP method (a copy)."""
        return self.fleet.call(lambda: collections.Counter(self.emulator.counts))

    @property
    def writes(self) -> int:
        """Changes persisted (dry runs and no-op applies excluded)."""
        return self.fleet.call(lambda: self.emulator.writes)

    @property
    def requests(self) -> list[tuple[str, str]]:
        """(method, path?query) of every request received, in order."""
        return self.fleet.call(
            lambda: [(r.method.value, str(r.url.relative())) for r in self.emulator._requests]
        )

    @property
    def request_log(self) -> list[dict]:
        """Every request received, in order: method, path, query (a dict), content_type, text."""
        return self.fleet.call(
            lambda: [
                {
                    "method": r.method.value.upper(),
                    "path": r.url.path,
                    "query": dict(r.params),
                    "content_type": (r._raw_request.content_type if r._raw_request is not None else ""),
                    "text": r.text,
                }
                for r in self.emulator._requests
            ]
        )

    def reset_counts(self) -> None:
        self.fleet.call(self.emulator.reset_counts)


class EmulatedFleet:
    """Emulated clusters sharing one event loop thread; a context manager that cleans up."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.tracker = InFlight()
        self.clusters: dict[str, EmulatedCluster] = {}
        self._tls: TLSMaterial | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="kube-emulators", daemon=True)
        self._thread.start()

    def __enter__(self) -> EmulatedFleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getitem__(self, name: str) -> EmulatedCluster:
        return self.clusters[name]

    # -- running code on the emulators' loop --------------------------------------------------

    def run(self, coroutine: Any, timeout: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        async def call() -> T:
            return fn(*args, **kwargs)

        return self.run(call())

    # -- clusters -----------------------------------------------------------------------------

    @property
    def tls(self) -> TLSMaterial:
        """The CA, server and client certificates of the fleet's https clusters (made once)."""
        if self._tls is None:
            self._tls = TLSMaterial.create(self.directory / "tls")
        return self._tls

    def add_cluster(
        self,
        name: str,
        *,
        objects: Iterable[dict] = (),
        token: str | None = None,
        istio: bool = True,
        istio_version: str = "v1",
        tls: bool = False,
        echo_credentials: bool = False,
        start: bool = True,
    ) -> EmulatedCluster:
        """A cluster serving core/v1, Istio (unless `istio=False`: no CRD, lists 404) and Tetrate kinds.

        `tls`: served over https, demanding the client certificate (see `tls`);
        `echo_credentials`: its 401 answers quote the credentials they were sent."""
        if name in self.clusters:
            raise ValueError(f"cluster {name} exists")
        token = token or secrets.token_hex(16)

        async def create() -> ClusterEmulator:
            emulator = make_emulator(
                name, token=token, istio=istio, istio_version=istio_version, tracker=self.tracker
            )
            emulator.echo_credentials = echo_credentials
            await emulator.__aenter__()
            return emulator

        cluster = EmulatedCluster(self, name, self.run(create()), token, tls)
        self.clusters[name] = cluster
        if objects:
            cluster.seed(*objects)
        if start:
            cluster.start()
        return cluster

    def add_down_cluster(self, name: str, **kwargs: Any) -> EmulatedCluster:
        """A cluster whose port is reserved but not listening (connection refused)."""
        return self.add_cluster(name, start=False, **kwargs)

    def add_blackhole_cluster(self, name: str, **kwargs: Any) -> EmulatedCluster:
        """A cluster whose address takes no connection: connecting times out, as for a server
        that is switched off or behind a firewall that drops packets (a dead context)."""
        cluster = self.add_cluster(name, start=False, **kwargs)
        cluster.blackhole()
        return cluster

    def write_kubeconfig(
        self,
        path: str | Path | None = None,
        *,
        names: Iterable[str] | None = None,
        current_context: str | None = None,
    ) -> Path:
        """A kubeconfig with one context (cluster + token user) per emulated cluster; an https
        cluster's has the CA, and its user the client certificate and key, as `*-data`."""
        chosen = [self.clusters[n] for n in (names if names is not None else self.clusters)]
        document = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": c.name, "cluster": {"server": c.server, **self._ca_of(c)}} for c in chosen],
            "users": [
                {"name": f"{c.name}-admin", "user": {"token": c.token, **self._client_tls_of(c)}}
                for c in chosen
            ],
            "contexts": [
                {
                    "name": c.name,
                    "context": {"cluster": c.name, "user": f"{c.name}-admin", "namespace": "default"},
                }
                for c in chosen
            ],
            "current-context": current_context or (chosen[0].name if chosen else ""),
            "preferences": {},
        }
        target = Path(path) if path is not None else self.directory / "kubeconfig.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        return target

    def _ca_of(self, cluster: EmulatedCluster) -> dict:
        return {"certificate-authority-data": self.tls.data("ca.crt")} if cluster.tls else {}

    def _client_tls_of(self, cluster: EmulatedCluster) -> dict:
        if not cluster.tls:
            return {}
        return {
            "client-certificate-data": self.tls.data("client.crt"),
            "client-key-data": self.tls.data("client.key"),
        }

    def close(self) -> None:
        if not self._loop.is_running():
            return

        async def shutdown() -> None:
            for cluster in self.clusters.values():
                await cluster._close()
                await cluster.emulator.__aexit__(None, None, None)
            # What is still pending (a dropped watch's stream waiting for its next change) ends
            # here, as asyncio.run ends a loop: left to the garbage collector, it would run its
            # clean-up on a closed loop.
            others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in others:
                task.cancel()
            if others:
                await asyncio.wait(others, timeout=5)
            await self._loop.shutdown_asyncgens()

        try:
            self.run(shutdown())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
            self._loop.close()


# -- object builders for tests ---------------------------------------------------------------


def namespace(name: str, labels: dict | None = None) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, **({"labels": labels} if labels else {})},
    }


def service(
    ns: str,
    name: str,
    *,
    labels: dict | None = None,
    selector: dict | None = None,
    ports: list[dict] | None = None,
    type: str = "ClusterIP",
    load_balancer: list[dict] | None = None,
    annotations: dict | None = None,
) -> dict:
    obj: dict = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "type": type,
            "selector": selector or {"app": name},
            "ports": ports or [{"name": "http", "port": 9080}],
        },
    }
    if labels:
        obj["metadata"]["labels"] = labels
    if annotations:
        obj["metadata"]["annotations"] = annotations
    if load_balancer is not None:
        obj["status"] = {"loadBalancer": {"ingress": load_balancer}}
    return obj


def lease(
    ns: str,
    name: str,
    *,
    holder: str | None = None,
    duration: int = 15,
    renew_time: str | None = None,
    transitions: int = 0,
) -> dict:
    """A `coordination.k8s.io/v1` Lease as leader election writes it (times are MicroTime)."""
    spec: dict = {"leaseDurationSeconds": duration, "leaseTransitions": transitions}
    if holder is not None:
        spec["holderIdentity"] = holder
    if renew_time is not None:
        spec["acquireTime"] = spec["renewTime"] = renew_time
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


def destination_rule(
    ns: str, name: str, host: str, *, labels: dict | None = None, api_version: str = "networking.istio.io/v1"
) -> dict:
    obj: dict = {
        "apiVersion": api_version,
        "kind": "DestinationRule",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"host": host, "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}}},
    }
    if labels:
        obj["metadata"]["labels"] = labels
    return obj


def exec_plugin_user(folder: Path) -> tuple[dict, Path]:
    """A kubeconfig user whose exec plugin (Python) answers with the ExecCredential status held
    as JSON in the file returned (write it before use), and counts its runs in folder/runs."""
    status, runs, plugin = folder / "status.json", folder / "runs", folder / "plugin.py"
    plugin.write_text(
        f"#!{sys.executable}\n"
        "import json\n"
        f"open({str(runs)!r}, 'a').write('run\\n')\n"
        f"status = json.load(open({str(status)!r}))\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1beta1', "
        "'kind': 'ExecCredential', 'status': status}))\n"
    )
    plugin.chmod(0o755)
    return {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(plugin)}}, status
