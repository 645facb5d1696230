"""`ClusterInformer` against an emulated API server over real HTTP: list, then watch from the
list's resourceVersion; bookmarks; 410 relists; dropped streams reconnect without a relist; a
cluster that cannot be listed or watched is unreadable until a relist succeeds."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator

import pytest

from tctl_py.fleet.client import ClusterClient
from tctl_py.fleet.informer import Backoff, ClusterInformer, ManagedChanged
from tctl_py.fleet.kubeconfig import load_kubeconfig
from tctl_py.mesh.incremental import ClusterRead, ClusterUnreadable, ObjectEvent
from tests.support import EmulatedCluster, EmulatedFleet, exec_plugin_user, namespace, service

pytestmark = pytest.mark.integration

QUICK = Backoff(initial=0.05, cap=0.2)


def service_entry(name: str, managed: bool) -> dict:
    labels = {"app.kubernetes.io/managed-by": "tctl"} if managed else {}
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "ServiceEntry",
        "metadata": {"name": name, "namespace": "shop", "labels": labels},
        "spec": {"hosts": [f"{name}.example"]},
    }


class Events:
    """What an informer delivered, in order."""

    def __init__(self) -> None:
        self.queue: queue.Queue = queue.Queue()
        self.seen: list = []

    def put(self, event) -> None:
        self.queue.put(event)

    def next(self, kind: type, timeout: float = 10.0):
        """The next event of `kind` (others before it are kept in `seen`)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                event = self.queue.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise AssertionError(
                    f"no {kind.__name__} within {timeout} s; before: {self.seen[-5:]}"
                ) from None
            self.seen.append(event)
            if isinstance(event, kind):
                return event

    def drain(self) -> list:
        found = []
        while not self.queue.empty():
            found.append(self.queue.get())
        self.seen += found
        return found


@pytest.fixture
def cluster(emulated: EmulatedFleet) -> EmulatedCluster:
    # https, as kubectl and real API servers use it (streams are closed through TLS)
    return emulated.add_cluster("c1", tls=True, objects=[namespace("shop"), service("shop", "cart")])


@pytest.fixture
def events(emulated: EmulatedFleet, cluster: EmulatedCluster) -> Iterator[tuple[Events, ClusterInformer]]:
    kubeconfig = load_kubeconfig(str(emulated.write_kubeconfig()))
    sink = Events()
    informer = ClusterInformer(ClusterClient(kubeconfig, "c1"), sink.put, backoff=QUICK).start()
    yield sink, informer
    informer.stop()
    informer.join(5)
    informer.client.close()


def watching_everything(cluster: EmulatedCluster) -> None:
    """Namespaces, Services, DestinationRules and the three managed kinds."""
    cluster.wait_for_watches(6)


def test_the_first_list_then_changes_of_what_the_engine_reads_and_of_managed_objects(cluster, events) -> None:
    sink, _ = events
    read = sink.next(ClusterRead)
    assert [s["metadata"]["name"] for s in read.state.services] == ["cart"]
    assert read.state.reachable and [n["metadata"]["name"] for n in read.state.namespaces] == ["shop"]
    watching_everything(cluster)

    cluster.seed(service("shop", "web"))
    added = sink.next(ObjectEvent)
    assert (added.type, added.kind, added.body["metadata"]["name"]) == ("ADDED", "Service", "web")
    assert added.body["apiVersion"] == "v1" and "managedFields" not in added.body["metadata"]

    cluster.seed(service_entry("theirs", managed=False), service_entry("ours", managed=True))
    managed = sink.next(ManagedChanged)
    assert (managed.type, managed.body["metadata"]["name"]) == ("ADDED", "ours")
    assert not [e for e in sink.drain() if isinstance(e, ManagedChanged)]  # not "theirs"


def test_a_dropped_stream_reconnects_from_where_it_was_without_a_relist(cluster, events) -> None:
    sink, _ = events
    sink.next(ClusterRead)
    watching_everything(cluster)
    assert cluster.drop_watches() == 6
    cluster.seed(service("shop", "during"))  # made while no watch is open
    cluster.wait_for_watches(6)
    event = sink.next(ObjectEvent)
    assert event.body["metadata"]["name"] == "during"
    assert not [e for e in sink.seen if isinstance(e, ClusterUnreadable)]
    assert sum(isinstance(e, ClusterRead) for e in sink.seen) == 1


def test_410_gone_relists_and_the_cluster_stays_readable(cluster, events) -> None:
    sink, _ = events
    sink.next(ClusterRead)
    watching_everything(cluster)
    # the Service watch comes back late, after a change it missed was compacted away: 410
    cluster.delay(1.0, watch=True, path="/services$", times=1)
    cluster.drop_watches("Service")
    cluster.seed(service("shop", "compacted-away"))
    cluster.compact()
    again = sink.next(ClusterRead)
    assert sorted(s["metadata"]["name"] for s in again.state.services) == ["cart", "compacted-away"]
    assert not [e for e in sink.seen if isinstance(e, ClusterUnreadable)]


def test_a_cluster_down_is_unreadable_and_listed_again_when_back(cluster, events) -> None:
    sink, _ = events
    sink.next(ClusterRead)
    watching_everything(cluster)
    cluster.stop()
    down = sink.next(ClusterUnreadable)
    assert down.cluster == "c1" and cluster.server.split("//")[-1] in down.error
    cluster.seed(service("shop", "while-down"))
    cluster.start()
    back = sink.next(ClusterRead, timeout=15)
    assert "while-down" in [s["metadata"]["name"] for s in back.state.services]


def test_watches_that_cannot_be_opened_make_the_cluster_unreadable(cluster, events) -> None:
    sink, _ = events
    sink.next(ClusterRead)
    watching_everything(cluster)
    cluster.fail(500, watch=True, message="etcd is sad")
    cluster.drop_watches()
    assert "etcd is sad" in sink.next(ClusterUnreadable).error
    cluster.clear_faults()
    sink.next(ClusterRead, timeout=15)


def test_stop_ends_every_thread_at_once(cluster, events) -> None:
    sink, informer = events
    sink.next(ClusterRead)
    watching_everything(cluster)
    informer.stop()
    informer.join(5)
    deadline = time.monotonic() + 5
    while cluster.watch_count() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert cluster.watch_count() == 0


def test_watches_refused_for_an_exec_plugins_old_token_reopen_with_a_new_one(emulated, tmp_path) -> None:
    """The streams dropped after the token an exec plugin gave was rotated: the watches are
    refused (401), the plugin is asked again, and they reopen from where they were, with no
    relist and no moment of the cluster being unreadable."""
    import json

    import yaml

    cluster = emulated.add_cluster("c2", objects=[namespace("shop"), service("shop", "cart")])
    user, status = exec_plugin_user(tmp_path)
    status.write_text(json.dumps({"token": cluster.token}))
    config = yaml.safe_load(emulated.write_kubeconfig().read_text())
    config["users"] = [{"name": "c2-admin", "user": user}]
    sink = Events()
    informer = ClusterInformer(ClusterClient(config, "c2"), sink.put, backoff=QUICK).start()
    try:
        sink.next(ClusterRead)
        watching_everything(cluster)
        status.write_text(json.dumps({"token": "rotated-token"}))
        cluster.emulator.token = "rotated-token"
        assert cluster.drop_watches() == 6
        cluster.seed(service("shop", "during"))
        cluster.wait_for_watches(6)
        assert sink.next(ObjectEvent).body["metadata"]["name"] == "during"
        assert not [e for e in sink.seen if isinstance(e, ClusterUnreadable)]
        assert sum(isinstance(e, ClusterRead) for e in sink.seen) == 1
        assert (tmp_path / "runs").read_text().count("run") == 2  # once more, for all six watches
    finally:
        informer.stop()
        informer.join(5)
        informer.client.close()
