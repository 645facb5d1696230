"""The emulated API servers' watch API and Leases, over real HTTP, as the control loop will use them.

Driven by the official `kubernetes` client (`watch.Watch().stream(...)`, `CoordinationV1Api`) and
by the real `kubectl` (`get -w --output-watch-events`, `apply`, `edit`, `delete`). The clusters
serve https: kubectl sends no bearer token over plain http.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import urllib3
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

from tests.support import EmulatedCluster, EmulatedFleet, lease, namespace, service

pytestmark = pytest.mark.integration

needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")


@pytest.fixture
def cluster(emulated: EmulatedFleet) -> EmulatedCluster:
    return emulated.add_cluster(
        "c1",
        tls=True,
        objects=[namespace("shop"), namespace("other"), service("shop", "cart"), service("other", "db")],
    )


@pytest.fixture
def kubeconfig(emulated: EmulatedFleet, cluster: EmulatedCluster) -> Path:
    return emulated.write_kubeconfig()


def new_api(kubeconfig: Path) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(kubeconfig), context="c1")


@pytest.fixture
def api(kubeconfig: Path) -> Iterator[client.ApiClient]:
    with new_api(kubeconfig) as api_client:
        yield api_client


@pytest.fixture
def v1(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


def kubectl(kubeconfig: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    ran = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), "--context", "c1", *args],
        capture_output=True,
        text=True,
        timeout=30,
        **kwargs,
    )
    assert ran.returncode == 0, ran.stderr
    return ran


def svc_body(name: str, port: int = 80, labels: dict | None = None) -> dict:
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {"ports": [{"port": port}]}}


def rv(event: dict) -> int:
    return int(event["raw_object"]["metadata"]["resourceVersion"])


class Collector:
    """A watch running in a thread; its events (or the error that ended it) come in a queue."""

    def __init__(self, fn, *args, **kwargs) -> None:
        self.watch = watch.Watch()
        self.events: queue.Queue = queue.Queue()
        self.error: BaseException | None = None
        self.ended = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(fn, args, kwargs), daemon=True)
        self._thread.start()

    def _run(self, fn, args, kwargs) -> None:
        try:
            for event in self.watch.stream(fn, *args, **kwargs):
                self.events.put(event)
        except BaseException as error:  # handed to the test
            self.error = error
        finally:
            self.ended.set()

    def take(self, count: int, timeout: float = 5.0, skip_bookmarks: bool = True) -> list[dict]:
        taken: list[dict] = []
        deadline = time.monotonic() + timeout
        while len(taken) < count:
            try:
                event = self.events.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise AssertionError(f"{len(taken)} events of {count}: {summary(taken)}") from None
            if not (skip_bookmarks and event["type"] == "BOOKMARK"):
                taken.append(event)
        return taken

    def stop(self) -> None:
        self.watch.stop()


def summary(events: list[dict]) -> list[tuple[str, str]]:
    return [(e["type"], e["raw_object"]["metadata"].get("name", "")) for e in events]


# --- list, then watch from the list's resourceVersion -------------------------------------------


@needs_kubectl
def test_list_then_watch_sees_exactly_the_writes_made_after_the_list(
    cluster: EmulatedCluster, kubeconfig: Path, v1: client.CoreV1Api, tmp_path: Path
) -> None:
    listed = v1.list_service_for_all_namespaces()
    since = int(listed.metadata.resource_version)
    assert since == cluster.revision
    assert sorted(s.metadata.name for s in listed.items) == ["cart", "db"]
    assert all(int(s.metadata.resource_version) <= since for s in listed.items)

    # writes racing in between the list and the watch: they must come, once
    v1.create_namespaced_service("shop", svc_body("early"))
    manifest = tmp_path / "late.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: late, namespace: other}\n"
        "spec: {ports: [{port: 8080}]}\n"
    )
    kubectl(kubeconfig, "apply", "--validate=false", "-f", str(manifest))

    seen = Collector(v1.list_service_for_all_namespaces, resource_version=str(since), timeout_seconds=10)
    first = seen.take(2)
    assert summary(first) == [("ADDED", "early"), ("ADDED", "late")]

    # writes once the watch is open: through the client and through kubectl
    cluster.wait_for_watches(1, "services")
    v1.patch_namespaced_service("cart", "shop", {"metadata": {"labels": {"tier": "web"}}})
    kubectl(kubeconfig, "delete", "svc", "db", "-n", "other")
    manifest.write_text(manifest.read_text().replace("8080", "8081"))
    kubectl(kubeconfig, "apply", "--validate=false", "-f", str(manifest))
    rest = seen.take(3)
    assert summary(rest) == [("MODIFIED", "cart"), ("DELETED", "db"), ("MODIFIED", "late")]
    assert rest[0]["object"].metadata.labels == {"tier": "web"}
    assert rest[2]["object"].spec.ports[0].port == 8081

    versions = [rv(e) for e in first + rest]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
    assert versions[0] > since and versions[-1] == cluster.revision
    time.sleep(0.2)  # nothing else comes: no repeats
    seen.stop()
    assert seen.events.empty()


def test_watch_from_zero_starts_with_what_exists_then_changes(cluster: EmulatedCluster, v1) -> None:
    seen = Collector(v1.list_namespaced_service, "shop", resource_version="0", timeout_seconds=10)
    assert summary(seen.take(1)) == [("ADDED", "cart")]  # `other` is another namespace
    cluster.wait_for_watches(1)
    v1.create_namespaced_service("other", svc_body("elsewhere"))
    v1.create_namespaced_service("shop", svc_body("here"))
    assert summary(seen.take(1)) == [("ADDED", "here")]
    seen.stop()


def test_selectors_on_a_watch_turn_changes_into_added_and_deleted(cluster: EmulatedCluster, v1) -> None:
    seen = Collector(v1.list_service_for_all_namespaces, label_selector="tier=web", timeout_seconds=10)
    cluster.wait_for_watches(1)
    v1.patch_namespaced_service("cart", "shop", {"metadata": {"labels": {"tier": "web"}}})  # in
    v1.patch_namespaced_service("cart", "shop", {"metadata": {"labels": {"x": "1"}}})  # still in
    v1.patch_namespaced_service("db", "other", {"metadata": {"labels": {"tier": "db"}}})  # never
    v1.patch_namespaced_service("cart", "shop", {"metadata": {"labels": {"tier": "api"}}})  # out
    events = seen.take(3)
    assert summary(events) == [("ADDED", "cart"), ("MODIFIED", "cart"), ("DELETED", "cart")]
    assert events[2]["object"].metadata.labels["tier"] == "api"  # the object as it is now

    by_name = Collector(
        v1.list_namespaced_service, "shop", field_selector="metadata.name=cart", timeout_seconds=10
    )
    assert summary(by_name.take(1)) == [("ADDED", "cart")]
    seen.stop()
    by_name.stop()

    with pytest.raises(ApiException) as bad:  # refused before the stream starts, as a list is
        list(
            watch.Watch().stream(
                v1.list_service_for_all_namespaces, label_selector="a in (", timeout_seconds=1
            )
        )
    assert bad.value.status == 400 and json.loads(bad.value.body)["kind"] == "Status"


# --- bookmarks, timeouts -------------------------------------------------------------------------


def test_bookmarks_arrive_when_allowed_and_carry_only_the_resource_version(
    cluster: EmulatedCluster, v1
) -> None:
    cluster.configure_watches(bookmark_interval=0.05, max_watch_seconds=0.5)  # ends the streams
    stream = watch.Watch().stream(
        v1.list_service_for_all_namespaces,
        resource_version=str(cluster.revision),
        allow_watch_bookmarks=True,
        timeout_seconds=1,
    )
    events = []
    for event in stream:
        events.append(event)
        if len(events) == 2:
            v1.create_namespaced_service("shop", svc_body("new"))
    marks = [e for e in events if e["type"] == "BOOKMARK"]
    assert len(marks) >= 4, summary(events)
    assert marks[0]["raw_object"] == {
        "kind": "Service",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": str(cluster.revision - 1)},
    }
    assert marks[-1]["raw_object"]["metadata"]["resourceVersion"] == str(cluster.revision)
    added = [e for e in events if e["type"] == "ADDED"]
    assert summary(added) == [("ADDED", "new")]
    assert events.index(added[0]) < events.index(marks[-1])

    quiet = watch.Watch().stream(
        v1.list_service_for_all_namespaces, resource_version=str(cluster.revision), timeout_seconds=1
    )
    assert list(quiet) == []  # no bookmarks unless asked for


def test_timeout_seconds_ends_the_stream_cleanly_and_the_server_has_its_own_limit(cluster, v1) -> None:
    start = time.monotonic()
    quiet = watch.Watch().stream(
        v1.list_namespaced_service, "other", resource_version=str(cluster.revision), timeout_seconds=1
    )
    assert list(quiet) == []
    assert 0.9 < time.monotonic() - start < 2.5

    cluster.configure_watches(max_watch_seconds=0.5)
    start = time.monotonic()
    events = list(watch.Watch().stream(v1.list_namespaced_service, "other", timeout_seconds=30))
    assert summary(events) == [("ADDED", "db")]
    assert 0.4 < time.monotonic() - start < 2.0
    assert cluster.watch_count() == 0


# --- history and 410 ----------------------------------------------------------------------------


def test_a_watch_from_a_compacted_resource_version_gets_410_expired(cluster: EmulatedCluster, v1) -> None:
    since = v1.list_service_for_all_namespaces().metadata.resource_version
    v1.create_namespaced_service("shop", svc_body("after"))
    compacted = cluster.compact()

    with pytest.raises(ApiException) as raised:
        list(
            watch.Watch().stream(
                v1.list_service_for_all_namespaces, resource_version=since, timeout_seconds=5
            )
        )
    assert raised.value.status == 410
    assert "Expired" in raised.value.reason and "too old resource version" in raised.value.reason

    # as the server sends it: one ERROR event with a Status, then the end of the stream
    raw = v1.list_service_for_all_namespaces(
        watch=True, resource_version=since, timeout_seconds=5, _preload_content=False
    )
    lines = [json.loads(line) for line in raw.data.decode().splitlines()]
    assert lines == [
        {
            "type": "ERROR",
            "object": {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": f"too old resource version: {since} ({compacted})",
                "reason": "Expired",
                "code": 410,
            },
        }
    ]

    # relisting recovers: a watch from the fresh list's resourceVersion works
    relisted = v1.list_service_for_all_namespaces()
    assert int(relisted.metadata.resource_version) == compacted
    seen = Collector(
        v1.list_service_for_all_namespaces,
        resource_version=relisted.metadata.resource_version,
        timeout_seconds=5,
    )
    cluster.wait_for_watches(1)
    v1.delete_namespaced_service("after", "shop")
    assert summary(seen.take(1)) == [("DELETED", "after")]
    seen.stop()


def test_the_history_is_bounded_per_resource(cluster: EmulatedCluster, v1) -> None:
    cluster.configure_watches(history_size=2, max_watch_seconds=0.3)  # the streams end by themselves
    start = cluster.revision
    for name in ("a", "b", "c"):
        v1.create_namespaced_service("shop", svc_body(name))
    # the change at start+1 fell out of the history: from `start` it is gone, from start+1 not
    with pytest.raises(ApiException) as raised:
        list(
            watch.Watch().stream(
                v1.list_service_for_all_namespaces, resource_version=str(start), timeout_seconds=2
            )
        )
    assert raised.value.status == 410
    kept = watch.Watch().stream(
        v1.list_service_for_all_namespaces, resource_version=str(start + 1), timeout_seconds=1
    )
    assert summary(list(kept)) == [("ADDED", "b"), ("ADDED", "c")]
    # Namespaces have their own history: theirs is untouched
    assert list(watch.Watch().stream(v1.list_namespace, resource_version="1", timeout_seconds=1)) != []


# --- faults --------------------------------------------------------------------------------------


def test_a_dropped_stream_is_an_error_for_the_client(cluster: EmulatedCluster, v1) -> None:
    seen = Collector(
        v1.list_service_for_all_namespaces, resource_version=str(cluster.revision), timeout_seconds=30
    )
    cluster.wait_for_watches(1)
    assert cluster.drop_watches() == 1
    assert seen.ended.wait(5)
    assert isinstance(seen.error, urllib3.exceptions.ProtocolError), repr(seen.error)
    assert seen.events.empty()  # no final event
    assert cluster.watch_count() == 0


def test_new_watches_can_be_made_to_fail_while_lists_work(cluster: EmulatedCluster, v1) -> None:
    cluster.fail(500, watch=True, message="etcd is sad")
    with pytest.raises(ApiException) as raised:
        list(watch.Watch().stream(v1.list_service_for_all_namespaces, timeout_seconds=1))
    assert raised.value.status == 500
    assert len(v1.list_service_for_all_namespaces().items) == 2
    cluster.clear_faults()

    cluster.stop()  # connection refused, open streams broken
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        list(watch.Watch().stream(v1.list_service_for_all_namespaces, timeout_seconds=1, _request_timeout=2))
    cluster.start()
    cluster.configure_watches(max_watch_seconds=0.2)
    assert summary(list(watch.Watch().stream(v1.list_namespaced_service, "shop", timeout_seconds=1))) == [
        ("ADDED", "cart")
    ]


def test_latency_delays_every_watch_event(cluster: EmulatedCluster, v1) -> None:
    cluster.latency = 0.3
    started = time.monotonic()
    seen = Collector(
        v1.list_service_for_all_namespaces, resource_version=str(cluster.revision), timeout_seconds=10
    )
    cluster.wait_for_watches(1)
    assert time.monotonic() - started >= 0.25  # the watch request itself is slow
    written = time.monotonic()
    cluster.seed(service("shop", "seeded"))  # a change made behind the API (no request latency)
    assert summary(seen.take(1)) == [("ADDED", "seeded")]
    assert time.monotonic() - written >= 0.25
    seen.stop()


# --- Leases --------------------------------------------------------------------------------------


@needs_kubectl
def test_lease_updates_race_on_the_resource_version(cluster, kubeconfig: Path, api) -> None:
    mine, theirs = client.CoordinationV1Api(api), client.CoordinationV1Api(new_api(kubeconfig))
    created = mine.create_namespaced_lease(
        "shop", lease("shop", "tctl-leader", holder="a", renew_time="2025-01-01T00:00:00.000000Z")
    )
    assert created.spec.holder_identity == "a" and created.spec.lease_duration_seconds == 15

    # both candidates read the same version, both try to take the lease over
    first, second = (
        mine.read_namespaced_lease("tctl-leader", "shop"),
        theirs.read_namespaced_lease("tctl-leader", "shop"),
    )
    assert (
        first.metadata.resource_version
        == second.metadata.resource_version
        == created.metadata.resource_version
    )
    first.spec.holder_identity, second.spec.holder_identity = "b", "c"
    won = mine.replace_namespaced_lease("tctl-leader", "shop", first)
    with pytest.raises(ApiException) as lost:
        theirs.replace_namespaced_lease("tctl-leader", "shop", second)
    assert won.spec.holder_identity == "b"
    assert int(won.metadata.resource_version) > int(created.metadata.resource_version)
    assert lost.value.status == 409
    body = json.loads(lost.value.body)
    assert body["reason"] == "Conflict" and "the object has been modified" in body["message"]
    assert cluster.get("Lease", "tctl-leader", "shop")["spec"]["holderIdentity"] == "b"

    # a create of an existing lease is refused too; the winner's renewals are watched
    with pytest.raises(ApiException) as exists:
        theirs.create_namespaced_lease("shop", lease("shop", "tctl-leader", holder="c"))
    assert exists.value.status == 409 and json.loads(exists.value.body)["reason"] == "AlreadyExists"
    seen = Collector(
        mine.list_namespaced_lease, "shop", resource_version=won.metadata.resource_version, timeout_seconds=5
    )
    cluster.wait_for_watches(1, "leases")
    won.spec.renew_time = "2025-01-01T00:00:02.000000Z"
    mine.replace_namespaced_lease("tctl-leader", "shop", won)
    assert summary(seen.take(1)) == [("MODIFIED", "tctl-leader")]
    seen.stop()

    listed = kubectl(kubeconfig, "get", "leases", "-A", "-o", "name")
    assert listed.stdout.split() == ["lease.coordination.k8s.io/tctl-leader"]
    deleted = mine.delete_namespaced_lease("tctl-leader", "shop")
    assert deleted["kind"] == "Status" and deleted["status"] == "Success"  # not the object
    assert mine.list_lease_for_all_namespaces().items == []
    theirs.api_client.close()


# --- kubectl ------------------------------------------------------------------------------------


class Lines:
    """A long-running kubectl whose output lines are read in a thread."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.split())

    def take(self, count: int, timeout: float = 10.0) -> list[list[str]]:
        taken = []
        deadline = time.monotonic() + timeout
        while len(taken) < count:
            try:
                taken.append(self.lines.get(timeout=max(deadline - time.monotonic(), 0.01)))
            except queue.Empty:
                raise AssertionError(f"kubectl printed {taken}") from None
        return taken

    def stop(self) -> str:
        self.process.terminate()
        _out, err = self.process.communicate(timeout=5)
        return err


@needs_kubectl
def test_kubectl_watches_the_changes_made_by_kubectl_and_by_the_client(
    cluster: EmulatedCluster, kubeconfig: Path, v1, tmp_path: Path
) -> None:
    watching = Lines(
        "kubectl", "--kubeconfig", str(kubeconfig), "--context", "c1",
        "get", "svc", "-n", "shop", "-w", "--output-watch-events",
    )  # fmt: skip
    try:
        assert watching.take(2)[1][:2] == ["ADDED", "cart"]  # after the header line
        cluster.wait_for_watches(1, "services")
        manifest = tmp_path / "svc.yaml"
        manifest.write_text(
            "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {ports: [{port: 80}]}\n"
        )
        kubectl(kubeconfig, "apply", "--validate=false", "-f", str(manifest))
        v1.patch_namespaced_service("web", "shop", {"metadata": {"labels": {"by": "client"}}})
        v1.create_namespaced_service("other", svc_body("not-shown"))
        kubectl(kubeconfig, "delete", "svc", "cart", "-n", "shop")
        assert [line[:2] for line in watching.take(3)] == [
            ["ADDED", "web"],
            ["MODIFIED", "web"],
            ["DELETED", "cart"],
        ]
    finally:
        err = watching.stop()
    assert "error" not in err.lower(), err


@needs_kubectl
def test_kubectl_get_apply_edit_delete_on_namespaces_services_and_istio_kinds(
    cluster: EmulatedCluster, kubeconfig: Path, tmp_path: Path
) -> None:
    manifest = tmp_path / "objects.yaml"
    manifest.write_text(
        """apiVersion: v1
kind: Namespace
metadata: {name: bookinfo}
---
apiVersion: v1
kind: Service
metadata: {name: details, namespace: bookinfo, labels: {app: details}}
spec: {ports: [{name: http, port: 9080}], selector: {app: details}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: details, namespace: bookinfo}
spec: {hosts: [details.bookinfo.svc.cluster.local], resolution: DNS, location: MESH_INTERNAL}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: details, namespace: bookinfo}
spec: {host: details.bookinfo.svc.cluster.local}
"""
    )
    applied = kubectl(kubeconfig, "apply", "--validate=false", "-f", str(manifest))
    assert "namespace/bookinfo created" in applied.stdout
    assert "serviceentry.networking.istio.io/details created" in applied.stdout
    listed = kubectl(kubeconfig, "get", "ns,svc,se,dr", "-n", "bookinfo", "-o", "name")
    assert sorted(listed.stdout.split()) == sorted(
        [
            "namespace/bookinfo",
            "namespace/other",
            "namespace/shop",
            "service/details",
            "serviceentry.networking.istio.io/details",
            "destinationrule.networking.istio.io/details",
        ]
    )
    # re-applied with a change: a patch, not a new object
    manifest.write_text(manifest.read_text().replace("resolution: DNS", "resolution: STATIC"))
    again = kubectl(kubeconfig, "apply", "--validate=false", "-f", str(manifest))
    assert "serviceentry.networking.istio.io/details configured" in again.stdout
    assert cluster.get("ServiceEntry", "details", "bookinfo")["spec"]["resolution"] == "STATIC"

    editor = tmp_path / "editor.sh"
    editor.write_text(
        "#!/bin/sh\nsed -i -e 's/port: 9080/port: 9081/' -e 's/MESH_INTERNAL/MESH_EXTERNAL/' \"$1\"\n"
    )
    editor.chmod(0o755)
    env = {**os.environ, "KUBE_EDITOR": str(editor)}
    kubectl(kubeconfig, "edit", "svc", "details", "-n", "bookinfo", env=env)
    kubectl(kubeconfig, "edit", "se", "details", "-n", "bookinfo", env=env)
    assert cluster.get("Service", "details", "bookinfo")["spec"]["ports"][0]["port"] == 9081
    assert cluster.get("ServiceEntry", "details", "bookinfo")["spec"]["location"] == "MESH_EXTERNAL"

    kubectl(kubeconfig, "delete", "dr", "details", "-n", "bookinfo")
    assert cluster.get("DestinationRule", "details", "bookinfo") is None
    kubectl(kubeconfig, "delete", "ns", "bookinfo")
    assert cluster.list("Service", "bookinfo") == [] and cluster.get("Namespace", "bookinfo") is None
