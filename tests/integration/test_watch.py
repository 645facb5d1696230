"""The control loop (`tctl sync --watch`) against the emulated bookinfo fleet, over real HTTP.

The loop runs in a thread of this process (its reconciles counted), or as `tctl sync --watch` in
a subprocess (signals, log lines, metrics and health). Changes are made behind the API servers'
backs (`seed`: as another writer would) or with the official client, and every check waits on a
condition with a deadline: no fixed sleeps, no timed assertions.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import EmulatedFleet, namespace, service
from tests.support.bookinfo import CLUSTERS, CONFIG, reset, user_client, write_requests
from tests.support.cli import ROOT, example_objects

pytestmark = pytest.mark.integration

MULTICLUSTER = "xcp-multicluster"
GATEWAY = ("istio-system", "eastwest-gateway")
DEADLINE = 15.0  # seconds a condition may take: generous, the machine is shared


def eventually(condition: Callable[[], object], what: str, timeout: float = DEADLINE) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


def settled(fleet: EmulatedFleet, quiet: float = 1.5) -> None:
    """Wait until no cluster received a write for `quiet` seconds."""
    last, since = write_requests(fleet), time.monotonic()
    deadline = since + DEADLINE
    while time.monotonic() - since < quiet:
        time.sleep(0.1)
        now = write_requests(fleet)
        if now != last:
            last, since = now, time.monotonic()
        assert time.monotonic() < deadline, "the fleet never settled"


def names(fleet: EmulatedFleet, cluster: str, kind: str, ns: str | None = None) -> list[str]:
    return sorted(o["metadata"]["name"] for o in fleet[cluster].list(kind, ns))


def shadow(origin: str, name: str, ns: str = "bookinfo") -> str:
    return f"k-{name}-{hashlib.md5(f'{origin}/{ns}/{name}'.encode()).hexdigest()}"


def bookinfo_service(name: str) -> dict:
    return service(
        "bookinfo", name, labels={"app": name}, selector={"app": name}, ports=[{"name": "http", "port": 9080}]
    )


class Recorder:
    """A LoopObserver keeping what the loop said."""

    def __init__(self) -> None:
        from tctl_py.reconcile.loop import LoopObserver

        self.states: list[tuple[str, str]] = []
        self.writes: list[tuple[str, str, str, str]] = []
        self.reconciles: list[tuple[str, ...]] = []
        self.verdicts: list[str] = []  # of each reconcile: success, conflict, error or stale
        recorder = self

        class Observer(LoopObserver):
            def cluster_state(self, cluster: str, state: str, error: str = "") -> None:
                recorder.states.append((cluster, state))

            def wrote(self, result) -> None:
                step = result.step
                recorder.writes.append((step.cluster, step.kind, step.name, str(result.outcome)))

            def reconciled(self, clusters, result, seconds) -> None:
                recorder.reconciles.append(tuple(clusters))
                recorder.verdicts.append(result)

        self.observer = Observer()


class Running:
    """A loop running in a thread on the test's store and emulated fleet."""

    def __init__(self, fleet: EmulatedFleet, store: Path, gate=None, **options) -> None:
        from tctl_py.cli import meshview
        from tctl_py.cli.watching import StoreSource
        from tctl_py.fleet.loader import FleetOptions, load_fleet
        from tctl_py.reconcile.loop import Loop, LoopOptions
        from tctl_py.store import Store

        with Store(store) as opened:
            declared = [c["metadata"]["name"] for c in meshview.mesh_config(opened).clusters]
        self.fleet = load_fleet(FleetOptions(kubeconfig=str(fleet.directory / "kubeconfig.yaml")), declared)
        self.recorder = Recorder()
        self.stop = threading.Event()
        self.loop = Loop(
            self.fleet,
            StoreSource(Store(store), open_store=lambda: Store(store)),  # opened in the loop's thread
            observer=self.recorder.observer,
            gate=gate,
            options=LoopOptions(**{"debounce": 0.2, **options}),
        )
        self.thread = threading.Thread(target=self.loop.run, args=(self.stop,), daemon=True)
        self.thread.start()
        assert self.loop.ready.wait(DEADLINE), "the initial lists never finished"

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        self.fleet.close()
        assert not self.thread.is_alive()


@pytest.fixture
def running(fleet, applied, store) -> Iterator[Running]:
    loop = Running(fleet, store)
    settled(fleet)
    reset(fleet)
    yield loop
    loop.close()


@pytest.mark.parametrize("held", ["nothing", "another organization"])
def test_a_loop_on_a_store_that_did_not_make_the_objects_deletes_nothing(
    fleet, applied, tmp_path, tctl, held
):
    other = tmp_path / "other.db"
    if held != "nothing":
        org = "apiVersion: api.tsb.tetrate.io/v2\nkind: Organization\nmetadata: {name: elsewhere}\nspec: {}\n"
        assert tctl("apply", "--no-sync", "-f", "-", input=org, store_path=other).exit_code == 0
    before = {name: fleet[name].list("WorkloadEntry") + fleet[name].list("ServiceEntry") for name in CLUSTERS}
    loop = Running(fleet, other)
    try:
        # what would prune reviews' and details' ServiceEntries under the store that made them
        fleet["cluster-3"].seed(
            namespace("bookinfo"), bookinfo_service("details"), bookinfo_service("reviews")
        )
        eventually(
            lambda: any(
                s["metadata"]["name"] == "details" for s in loop.loop.engine.states["cluster-3"].services
            ),
            "the engine saw details in cluster-3",
        )
        settled(fleet)
    finally:
        loop.close()
    assert write_requests(fleet) == dict.fromkeys(CLUSTERS, 0)
    after = {name: fleet[name].list("WorkloadEntry") + fleet[name].list("ServiceEntry") for name in CLUSTERS}
    assert after == before


def test_a_converged_fleet_is_left_alone_and_unrelated_changes_write_nothing(fleet, running) -> None:
    assert write_requests(fleet) == dict.fromkeys(CLUSTERS, 0)
    # a Service nobody exposes, and an annotation on an exposed one: nothing to do
    fleet["cluster-3"].seed(service("sleep", "other", labels={"app": "other"}))
    details = fleet["cluster-1"].get("Service", "details", "bookinfo")
    details["metadata"].setdefault("annotations", {})["note"] = "touched"
    fleet["cluster-1"].seed(details)

    def seen_by_the_engine() -> bool:
        services = running.loop.engine.states["cluster-1"].services
        return any((s["metadata"].get("annotations") or {}).get("note") == "touched" for s in services)

    eventually(seen_by_the_engine, "the engine saw the annotation")
    settled(fleet)
    assert write_requests(fleet) == dict.fromkeys(CLUSTERS, 0)


def test_details_and_reviews_deployed_into_cluster_3_then_removed(fleet, running) -> None:
    c3 = "cluster-3"
    assert names(fleet, c3, "ServiceEntry", MULTICLUSTER) == ["details.bookinfo", "reviews.bookinfo"]
    fleet[c3].seed(namespace("bookinfo"), bookinfo_service("details"), bookinfo_service("reviews"))
    eventually(
        lambda: names(fleet, c3, "ServiceEntry", MULTICLUSTER) == [], "cluster-3's ServiceEntries gone"
    )
    eventually(
        lambda: (
            {"details.bookinfo", "reviews.bookinfo"} <= set(names(fleet, c3, "DestinationRule", "bookinfo"))
        ),
        "DestinationRules in cluster-3",
    )
    shadows = names(fleet, c3, "WorkloadEntry", "bookinfo")
    assert shadow("cluster-1", "details") in shadows and shadow("cluster-2", "reviews") in shadows
    # only cluster-3 was written
    assert write_requests(fleet)["cluster-1"] == write_requests(fleet)["cluster-2"] == 0

    with user_client(fleet, c3) as api:
        from kubernetes import client

        core = client.CoreV1Api(api)
        core.delete_namespaced_service("details", "bookinfo")
        core.delete_namespaced_service("reviews", "bookinfo")
    eventually(
        lambda: names(fleet, c3, "ServiceEntry", MULTICLUSTER) == ["details.bookinfo", "reviews.bookinfo"],
        "cluster-3's ServiceEntries back",
    )
    eventually(lambda: names(fleet, c3, "WorkloadEntry", "bookinfo") == [], "the shadow entries gone")


def test_a_token_file_replaced_while_the_loop_runs_is_used_for_its_writes(
    fleet, applied, store, tmp_path
) -> None:
    """cluster-3's user reads its token from a file, as a Pod's projected ServiceAccount token
    is; the kubelet replaces the file and the old token stops working: the loop's next writes
    go out with the new one."""
    import yaml

    c3 = "cluster-3"
    token_file = tmp_path / "token"
    token_file.write_text(fleet[c3].token)
    path = fleet.directory / "kubeconfig.yaml"
    config = yaml.safe_load(path.read_text())
    for entry in config["users"]:
        if entry["name"] == f"{c3}-admin":
            entry["user"] = {"tokenFile": str(token_file)}
    path.write_text(yaml.safe_dump(config))
    loop = Running(fleet, store)
    try:
        settled(fleet)
        renewed = tmp_path / "token.new"
        renewed.write_text("renewed-token-of-cluster-3")
        renewed.replace(token_file)  # one rename, as the kubelet swaps its `..data` link
        fleet[c3].emulator.token = "renewed-token-of-cluster-3"  # the old one is refused from now on
        fleet[c3].seed(namespace("bookinfo"), bookinfo_service("details"), bookinfo_service("reviews"))
        eventually(
            lambda: (
                {"details.bookinfo", "reviews.bookinfo"}
                <= set(names(fleet, c3, "DestinationRule", "bookinfo"))
            ),
            "DestinationRules written to cluster-3 with the new token",
        )
        eventually(
            lambda: names(fleet, c3, "ServiceEntry", MULTICLUSTER) == [], "cluster-3's ServiceEntries pruned"
        )
    finally:
        loop.close()


def test_new_gateway_addresses_reach_every_entry_that_pointed_at_the_old_ones(fleet, running) -> None:
    c1 = fleet["cluster-1"]
    gateway = next(s for s in c1.list("Service") if s["metadata"]["name"] == GATEWAY[1])
    old = {i["ip"] for i in gateway["status"]["loadBalancer"]["ingress"]}
    reconciles = len(running.recorder.reconciles)
    gateway["status"]["loadBalancer"]["ingress"] = [{"ip": "203.0.113.7"}, {"ip": "203.0.113.8"}]
    c1.seed(gateway)

    def addresses() -> set[str]:
        found = set()
        for endpoint in fleet["cluster-3"].get("ServiceEntry", "details.bookinfo", MULTICLUSTER)["spec"][
            "endpoints"
        ]:
            found.add(endpoint["address"])
        for entry in fleet["cluster-2"].list("WorkloadEntry", "bookinfo"):
            found.add(entry["spec"]["address"])
        return found

    eventually(
        lambda: {"203.0.113.7", "203.0.113.8"} <= addresses() and not old & addresses(), "new addresses"
    )
    settled(fleet)
    # one reconcile: tctl's own writes, coming back as watch events, are found as wanted
    assert len(running.recorder.reconciles) == reconciles + 1, running.recorder.reconciles


def test_a_managed_entry_deleted_by_hand_comes_back_and_a_users_label_survives(fleet, running) -> None:
    entry = shadow("cluster-1", "details")
    with user_client(fleet, "cluster-2") as api:
        from kubernetes import client

        custom = client.CustomObjectsApi(api)
        custom.delete_namespaced_custom_object(
            "networking.istio.io", "v1", "bookinfo", "workloadentries", entry
        )
        custom.patch_namespaced_custom_object(
            "networking.istio.io", "v1", "bookinfo", "destinationrules", "details.bookinfo",
            {"metadata": {"labels": {"team": "payments"}}}, field_manager="kubectl-edit",
        )  # fmt: skip
    eventually(lambda: fleet["cluster-2"].get("WorkloadEntry", entry, "bookinfo"), "the entry recreated")
    settled(fleet)
    labels = fleet["cluster-2"].get("DestinationRule", "details.bookinfo", "bookinfo")["metadata"]["labels"]
    assert labels["team"] == "payments"


def test_a_hung_cluster_holds_back_no_other(fleet, running) -> None:
    """cluster-1 answers writes only after 8 s: a drift in cluster-2 is repaired meanwhile."""
    hung, quick = shadow("cluster-2", "details"), shadow("cluster-1", "details")
    fleet["cluster-1"].delay(8.0, method="PATCH")
    for cluster, entry in (("cluster-1", hung), ("cluster-2", quick)):
        with user_client(fleet, cluster) as api:
            from kubernetes import client

            client.CustomObjectsApi(api).delete_namespaced_custom_object(
                "networking.istio.io", "v1", "bookinfo", "workloadentries", entry
            )
        if cluster == "cluster-1":  # its reconcile is writing (and hanging) before the next change
            eventually(lambda: fleet["cluster-1"].counts["PATCH"], "cluster-1's write sent")
    eventually(
        lambda: fleet["cluster-2"].get("WorkloadEntry", quick, "bookinfo"), "cluster-2's entry", timeout=6.0
    )
    assert fleet["cluster-1"].get("WorkloadEntry", hung, "bookinfo") is None  # still hanging
    eventually(
        lambda: fleet["cluster-1"].get("WorkloadEntry", hung, "bookinfo"), "cluster-1's entry, at last"
    )


def test_a_down_cluster_keeps_what_derives_from_it_and_converges_when_back(fleet, running) -> None:
    c1, c2 = fleet["cluster-1"], fleet["cluster-2"]
    before = fleet["cluster-3"].get("ServiceEntry", "reviews.bookinfo", MULTICLUSTER)["spec"]["endpoints"]
    c1.stop()
    eventually(lambda: ("cluster-1", "unreadable") in running.recorder.states, "cluster-1 unreadable")
    # the others keep reconciling: reviews goes away from cluster-2
    with user_client(fleet, "cluster-2") as api:
        from kubernetes import client

        client.CoreV1Api(api).delete_namespaced_service("reviews", "bookinfo")

    def gateway_without_reviews() -> bool:
        gateway = c2.get("Gateway", "tctl-eastwest-gateway", "bookinfo")
        return gateway is None or "reviews" not in json.dumps(gateway["spec"])

    eventually(gateway_without_reviews, "cluster-2's Gateway no longer exposes reviews")
    settled(fleet)
    # cluster-3 still has cluster-1's endpoints for reviews (derived from an unreadable cluster)
    after = fleet["cluster-3"].get("ServiceEntry", "reviews.bookinfo", MULTICLUSTER)["spec"]["endpoints"]
    assert {e["address"] for e in before if e["address"] in after_addresses(after)} == after_addresses(after)

    c1.start()
    eventually(lambda: ("cluster-1", "recovered") in running.recorder.states, "cluster-1 recovered")
    # converged: reviews now only comes from cluster-1
    eventually(
        lambda: fleet["cluster-2"].get("ServiceEntry", "reviews.bookinfo", MULTICLUSTER) is not None,
        "cluster-2 consumes reviews through a ServiceEntry",
    )


def after_addresses(endpoints: list[dict]) -> set[str]:
    return {e["address"] for e in endpoints}


def test_a_cluster_missing_from_the_kubeconfig_is_unreadable_and_the_others_carry_on(
    fleet, applied, store
) -> None:
    fleet.write_kubeconfig(fleet.directory / "kubeconfig.yaml", names=["cluster-1", "cluster-2"])
    loop = Running(fleet, store)
    try:
        assert ("cluster-3", "unreadable") in loop.recorder.states
        entry = shadow("cluster-1", "details")
        with user_client(fleet, "cluster-2") as api:
            from kubernetes import client

            client.CustomObjectsApi(api).delete_namespaced_custom_object(
                "networking.istio.io", "v1", "bookinfo", "workloadentries", entry
            )
        eventually(lambda: fleet["cluster-2"].get("WorkloadEntry", entry, "bookinfo"), "the entry recreated")
        assert all("cluster-3" not in clusters for clusters in loop.recorder.reconciles)
    finally:
        loop.close()


def test_a_changed_setting_applied_to_the_same_store_is_reflected(
    fleet, running, tctl, changed_setting, tmp_path
) -> None:
    assert fleet["cluster-3"].get("ServiceEntry", "reviews.bookinfo", MULTICLUSTER) is not None
    # another tctl apply, with reviews no longer exposed, that only stores: the loop must
    # carry the change to the fleet
    ran = tctl("apply", "--no-sync", "-f", str(changed_setting))
    assert "workspacesetting/bookinfo-ws-settings configured" in ran.stdout, ran.stderr
    assert ran.exit_code == 0
    eventually(
        lambda: fleet["cluster-3"].get("ServiceEntry", "reviews.bookinfo", MULTICLUSTER) is None,
        "reviews' ServiceEntry pruned",
    )


def test_a_burst_of_service_events_gives_a_bounded_number_of_reconciles(fleet, running) -> None:
    c2 = fleet["cluster-2"]
    details = c2.get("Service", "details", "bookinfo")
    before = running.loop.reconciles
    for n in range(100):
        details["metadata"].setdefault("annotations", {})["n"] = str(n)
        c2.seed(details)
    with user_client(fleet, "cluster-2") as api:  # and one change that matters
        from kubernetes import client

        client.CoreV1Api(api).delete_namespaced_service("reviews", "bookinfo")

    def endpoints() -> set[str]:
        entry = fleet["cluster-3"].get("ServiceEntry", "reviews.bookinfo", MULTICLUSTER)
        return {e["address"] for e in entry["spec"]["endpoints"]}

    eventually(lambda: "198.51.100.20" not in endpoints(), "cluster-2's addresses gone from reviews")
    settled(fleet)
    assert running.loop.reconciles - before <= 5, running.recorder.reconciles


needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")


@pytest.fixture
def tls_fleet(emulated: EmulatedFleet, monkeypatch, tctl) -> EmulatedFleet:
    """The bookinfo fleet over https (kubectl sends no credentials over http), applied."""
    for name in CLUSTERS:
        emulated.add_cluster(name, tls=True, objects=example_objects(name))
    path = emulated.write_kubeconfig(emulated.directory / "kubeconfig.yaml", current_context="cluster-1")
    monkeypatch.setenv("KUBECONFIG", str(path))
    assert tctl("apply", "-f", CONFIG).exit_code == 0
    return emulated


def kubectl(fleet: EmulatedFleet, context: str, *args: str, stdin: str | None = None) -> None:
    ran = subprocess.run(
        ["kubectl", "--kubeconfig", str(fleet.directory / "kubeconfig.yaml"), "--context", context, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert ran.returncode == 0, ran.stderr


@needs_kubectl
def test_changes_made_with_kubectl_are_followed(tls_fleet, store) -> None:
    loop = Running(tls_fleet, store)
    try:
        manifest = "".join(
            f"---\napiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: bookinfo, labels: {{app: {name}}}}}\n"
            f"spec: {{selector: {{app: {name}}}, ports: [{{name: http, port: 9080}}]}}\n"
            for name in ("details", "reviews")
        )
        namespace_manifest = "apiVersion: v1\nkind: Namespace\nmetadata: {name: bookinfo}\n"
        kubectl(tls_fleet, "cluster-3", "apply", "--validate=false", "-f", "-", stdin=namespace_manifest)
        kubectl(tls_fleet, "cluster-3", "apply", "--validate=false", "-f", "-", stdin=manifest)
        eventually(
            lambda: names(tls_fleet, "cluster-3", "ServiceEntry", MULTICLUSTER) == [], "ServiceEntries gone"
        )
        eventually(lambda: names(tls_fleet, "cluster-3", "WorkloadEntry", "bookinfo"), "shadow entries")
        kubectl(tls_fleet, "cluster-3", "delete", "-f", "-", stdin=manifest)
        eventually(
            lambda: (
                names(tls_fleet, "cluster-3", "ServiceEntry", MULTICLUSTER)
                == ["details.bookinfo", "reviews.bookinfo"]
            ),
            "ServiceEntries back",
        )
        entry = shadow("cluster-2", "reviews")
        kubectl(tls_fleet, "cluster-1", "delete", "workloadentry", entry, "-n", "bookinfo")
        eventually(
            lambda: tls_fleet["cluster-1"].get("WorkloadEntry", entry, "bookinfo"), "the entry recreated"
        )
    finally:
        loop.close()


class Gate:
    """A write gate as the controller's leader election gives one: open while leading."""

    def __init__(self) -> None:
        self.open = False

    def may_write(self) -> bool:
        return self.open


def test_a_closed_gate_writes_nothing_and_opening_it_reconciles_what_changed(fleet, applied, store) -> None:
    gate = Gate()
    follower = Running(fleet, store, gate=gate)
    try:
        fleet["cluster-3"].seed(namespace("bookinfo"), bookinfo_service("details"))

        def seen() -> bool:  # the follower's caches are warm
            return any(
                s["metadata"]["name"] == "details" for s in follower.loop.engine.states["cluster-3"].services
            )

        eventually(seen, "the engine saw details in cluster-3")
        settled(fleet)
        assert write_requests(fleet) == dict.fromkeys(CLUSTERS, 0)
        assert follower.recorder.reconciles == []

        gate.open = True  # it became the leader
        eventually(
            lambda: names(fleet, "cluster-3", "ServiceEntry", MULTICLUSTER) == ["reviews.bookinfo"],
            "details' ServiceEntry pruned by the new leader",
        )
        # the reconcile is recorded once its writes are done: the prune may be seen a moment before
        first = eventually(lambda: follower.recorder.reconciles[:1], "the reconcile recorded")
        assert sorted(first[0]) == list(CLUSTERS)  # type: ignore[index]  # everything, once
    finally:
        follower.close()


# --- tctl sync --watch as a process ----------------------------------------------------------------


class Process:
    def __init__(self, args: list[str], env: dict) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tctl_py", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **env},
            cwd=ROOT,
        )
        self.lines: list[str] = []
        self.errors: list[str] = []
        for stream, into in ((self.process.stdout, self.lines), (self.process.stderr, self.errors)):
            threading.Thread(target=self._read, args=(stream, into), daemon=True).start()

    @staticmethod
    def _read(stream, into: list[str]) -> None:
        for line in stream:
            into.append(line.rstrip("\n"))

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return 0, ""


def test_sync_watch_logs_json_serves_metrics_and_health_and_exits_0_on_sigterm(fleet, applied, store) -> None:
    port = free_port()
    address = f"127.0.0.1:{port}"
    env = {"TCTL_STORE": str(store), "KUBECONFIG": str(fleet.directory / "kubeconfig.yaml"), "NO_PROXY": "*"}
    watching = Process(
        ["sync", "--watch", "--debounce", "0.2", "--log-format", "json", "--metrics-addr", address,
         "--health-addr", address],
        env,
    )  # fmt: skip
    try:
        eventually(lambda: http_get(f"http://{address}/readyz")[0] == 200, "ready")
        assert http_get(f"http://{address}/healthz")[0] == 200
        records = [json.loads(line) for line in list(watching.lines)]
        assert {(r["event"], r["cluster"], r["state"]) for r in records if r["event"] == "cluster"} == {
            ("cluster", name, "reachable") for name in CLUSTERS
        }
        entry = shadow("cluster-1", "details")
        with user_client(fleet, "cluster-2") as api:
            from kubernetes import client

            client.CustomObjectsApi(api).delete_namespaced_custom_object(
                "networking.istio.io", "v1", "bookinfo", "workloadentries", entry
            )
        eventually(lambda: fleet["cluster-2"].get("WorkloadEntry", entry, "bookinfo"), "the entry recreated")
        write = eventually(
            lambda: [json.loads(x) for x in watching.lines if '"write"' in x and entry in x], "a write line"
        )
        assert write[0]["outcome"] == "created" and write[0]["cluster"] == "cluster-2"  # type: ignore[index]
        status, text = http_get(f"http://{address}/metrics")
        assert status == 200
        for name in (
            "tctl_reconcile_total",
            "tctl_reconcile_duration_seconds_bucket",
            'tctl_cluster_reachable{cluster="cluster-1"} 1.0',
            'tctl_managed_objects{cluster="cluster-2",kind="WorkloadEntry"}',
            'tctl_writes_total{cluster="cluster-2",verb="create"}',
            "tctl_leader 1.0",
            "process_resident_memory_bytes",
            "python_gc_collections_total",
        ):
            assert name in text, name
        started = time.monotonic()
        watching.process.send_signal(signal.SIGTERM)
        assert watching.process.wait(10) == 0, watching.errors
        assert time.monotonic() - started < 10
    finally:
        watching.kill()


def test_the_loop_waits_for_a_command_that_holds_the_store_then_plans_from_what_it_stored(
    fleet, running, store, tctl, tmp_path
) -> None:
    """A one-shot command (here: this test) holds the store's reconcile lock from reading the
    configuration to its last write. Meanwhile the loop writes nothing; and a reconcile that
    waited for the lock with the configuration the command then changed plans nothing from it
    (it could prune what the new one generates): it is planned again from what was stored."""
    from tctl_py.store import Store

    entry = shadow("cluster-1", "details")
    setting = (CONFIG / "bookinfo-settings.yaml").read_text()
    changed = tmp_path / "bookinfo-settings.yaml"
    changed.write_text(setting.replace("trafficMode: REQUIRED", "trafficMode: OPTIONAL"))
    assert changed.read_text() != setting
    with Store(store) as other, other.reconcile_lock("tctl apply (a test)"):
        with user_client(fleet, "cluster-2") as api:
            from kubernetes import client

            client.CustomObjectsApi(api).delete_namespaced_custom_object(
                "networking.istio.io", "v1", "bookinfo", "workloadentries", entry
            )
        reset(fleet)  # that delete is not the loop's
        settled(fleet)  # the loop would have put it back by now, were the store not held
        assert write_requests(fleet) == dict.fromkeys(CLUSTERS, 0)
        assert fleet["cluster-2"].get("WorkloadEntry", entry, "bookinfo") is None
        stored = tctl("apply", "--no-sync", "-f", str(changed))  # --no-sync takes no lock
        assert stored.exit_code == 0, stored.stderr
    eventually(lambda: fleet["cluster-2"].get("WorkloadEntry", entry, "bookinfo"), "the entry recreated")
    assert "stale" in running.recorder.verdicts, running.recorder.verdicts
    settled(fleet)
    assert write_requests(fleet)["cluster-1"] == write_requests(fleet)["cluster-3"] == 0


def test_the_loop_runs_with_the_cyclic_garbage_collector(fleet, applied, store, tctl) -> None:
    """One-shot commands switch the collector off (they build large acyclic trees, then exit); a
    loop that runs for days must collect its reference cycles. What it holds once ready is
    frozen out of the collector's passes."""
    from tctl_py.cli.state import OPTIONS

    before = OPTIONS.interrupt
    gc.unfreeze()
    seen: list[bool] = []

    def look_then_stop() -> None:
        started = lambda: OPTIONS.interrupt is not before and OPTIONS.interrupt.clean_stop  # noqa: E731
        try:
            eventually(started, "the loop started")
            eventually(lambda: gc.get_freeze_count() > 0, "what the ready loop holds frozen")
            seen.append(gc.isenabled())
        finally:
            OPTIONS.interrupt.stop.set()

    looking = threading.Thread(target=look_then_stop)
    looking.start()
    ran = tctl("sync", "--watch")
    looking.join()
    assert ran.exit_code == 0, ran.stderr
    assert seen == [True]
