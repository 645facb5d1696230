"""`tctl controller --leader-elect` as processes against the emulated bookinfo fleet: of several
replicas exactly one writes; SIGTERM hands the Lease over at once, SIGKILL after it expires.

Writes are counted at the API servers and attributed through each replica's JSON log lines.
Every check waits on a condition with a deadline: the deadlines are generous (a shared machine)
but shorter than what the mechanism under test would take without its effect (a takeover after a
SIGTERM is awaited for less than the lease duration, so only a released Lease can explain it).
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_deploy_manifests import requested, role_allows
from tests.integration.test_watch import DEADLINE, Process, eventually, free_port, http_get, shadow
from tests.support import EmulatedFleet
from tests.support.bookinfo import user_client
from tests.unit.test_deploy import DEPLOY, documents, granted, manifests

pytestmark = pytest.mark.integration

LEASE_NS, LEASE = "tctl-system", "tctl-controller"


class Replica(Process):
    """One `tctl controller --leader-elect` process, its health address and JSON log records."""

    def __init__(self, fleet: EmulatedFleet, store: Path, identity: str, *timings: str) -> None:
        self.identity = identity
        self.address = f"127.0.0.1:{free_port()}"
        env = {
            "TCTL_STORE": str(store),
            "KUBECONFIG": str(fleet.directory / "kubeconfig.yaml"),
            "NO_PROXY": "*",
        }
        args = ["controller", "--leader-elect", "--identity", identity, "--log-format", "json"]
        super().__init__(
            [*args, "--metrics-addr", self.address, "--health-addr", self.address, *timings], env
        )

    def records(self, event: str) -> list[dict]:
        return [r for r in map(json.loads, list(self.lines)) if r.get("event") == event]

    def leading(self) -> bool:
        states = [r["state"] for r in self.records("leader") if r["state"] in ("acquired", "lost")]
        return bool(states) and states[-1] == "acquired"

    def ready(self) -> bool:
        return http_get(f"http://{self.address}/readyz")[0] == 200

    def leader_gauge(self) -> str:
        text = http_get(f"http://{self.address}/metrics")[1]
        return next((line.split()[1] for line in text.splitlines() if line.startswith("tctl_leader ")), "")


@pytest.fixture
def replicas(fleet, applied, store) -> Iterator[list[Replica]]:
    started: list[Replica] = []
    yield started
    for replica in started:
        replica.kill()


def fleet_writes(fleet: EmulatedFleet) -> int:
    """Writes the clusters received, the Lease's renewals left out."""
    return sum(
        1
        for cluster in fleet.clusters.values()
        for r in cluster.request_log
        if r["method"] != "GET" and "/leases" not in r["path"]
    )


def settled(fleet: EmulatedFleet, quiet: float = 1.5) -> None:
    """Wait until no cluster received a write (but the Lease's) for `quiet` seconds."""
    last, since = fleet_writes(fleet), time.monotonic()
    deadline = since + DEADLINE
    while time.monotonic() - since < quiet:
        time.sleep(0.1)
        if fleet_writes(fleet) != last:
            last, since = fleet_writes(fleet), time.monotonic()
        assert time.monotonic() < deadline, "the fleet never settled"


def holder(fleet: EmulatedFleet) -> str:
    lease = fleet["cluster-1"].get("Lease", LEASE, LEASE_NS)
    return (lease or {}).get("spec", {}).get("holderIdentity") or ""


def delete_entry(fleet: EmulatedFleet, cluster: str, name: str) -> None:
    from kubernetes import client

    with user_client(fleet, cluster) as api:
        client.CustomObjectsApi(api).delete_namespaced_custom_object(
            "networking.istio.io", "v1", "bookinfo", "workloadentries", name
        )


def written(replica: Replica, name: str) -> list[dict]:
    return [r for r in replica.records("write") if r["name"] == name]


def test_one_replica_writes_and_sigterm_hands_over_at_once(fleet, store, replicas) -> None:
    a = Replica(fleet, store, "replica-a")
    replicas.append(a)
    eventually(a.leading, "a leads")  # in the current context's cluster, tctl-system created
    b = Replica(fleet, store, "replica-b")
    replicas.append(b)
    eventually(lambda: a.ready() and b.ready(), "both ready (b: a warm follower)")
    assert (a.leader_gauge(), b.leader_gauge()) == ("1.0", "0.0")
    settled(fleet)

    entry = shadow("cluster-1", "details")
    before = len(fleet["cluster-2"].request_log)
    delete_entry(fleet, "cluster-2", entry)
    eventually(lambda: fleet["cluster-2"].get("WorkloadEntry", entry, "bookinfo"), "the entry recreated")
    settled(fleet)
    creates = [
        r
        for r in fleet["cluster-2"].request_log[before:]
        if r["method"] in ("PATCH", "POST") and r["path"].endswith(f"/{entry}")
    ]
    assert len(creates) == 1  # one writer, one write
    assert [r["outcome"] for r in written(a, entry)] == ["created"] and written(b, entry) == []

    stopped = time.monotonic()
    a.process.send_signal(signal.SIGTERM)
    eventually(b.leading, "b leads after a released the Lease", timeout=10)  # < 15 s: a release
    took_over = time.monotonic() - stopped
    assert a.process.wait(10) == 0, a.errors
    exited = time.monotonic() - stopped
    assert holder(fleet) == "replica-b"
    assert [r["state"] for r in a.records("leader") if r["state"] in ("acquired", "lost")] == [
        "acquired",
        "lost",
    ]
    print(f"SIGTERM -> takeover: {took_over:.2f} s, exit: {exited:.2f} s")

    delete_entry(fleet, "cluster-2", entry)
    eventually(lambda: written(b, entry), "b writes")
    assert_granted(fleet)


def assert_granted(fleet: EmulatedFleet) -> None:
    """Every request the replicas (and the fixtures' tctl apply) sent is one deploy/ grants:
    the fleet ClusterRole's, or for the Lease the controller Role's."""
    fleet_rules = granted(documents(DEPLOY / "fleet" / "clusterrole.yaml")[0]["rules"])
    role = manifests()[("Role", "tctl-controller")]
    seen = set()
    for cluster in fleet.clusters.values():
        for group, plural, name, verb in requested(cluster.request_log):
            seen.add(verb)
            if plural == "leases":
                assert role_allows(role, group, plural, name, verb), (cluster.name, plural, name, verb)
            else:
                assert verb in fleet_rules.get((group, plural), set()), (cluster.name, group, plural, verb)
    assert {"list", "watch", "patch", "update"} <= seen


def test_sigkill_of_the_leader_is_taken_over_after_the_lease_expires(fleet, store, replicas) -> None:
    timings = ["--lease-duration", "4", "--renew-deadline", "3", "--retry-period", "0.5"]
    a = Replica(fleet, store, "replica-a", *timings)
    replicas.append(a)
    eventually(a.leading, "a leads")
    b = Replica(fleet, store, "replica-b", *timings)
    replicas.append(b)
    eventually(b.ready, "b is a warm follower")
    settled(fleet)

    killed = time.monotonic()
    a.process.kill()
    eventually(b.leading, "b leads after a's Lease expired", timeout=30)
    took_over = time.monotonic() - killed
    assert took_over >= 3  # not before the Lease could expire (4 s after b last saw a renewal)
    assert holder(fleet) == "replica-b"
    entry = shadow("cluster-1", "details")
    delete_entry(fleet, "cluster-2", entry)
    eventually(lambda: written(b, entry), "b writes")
    print(f"SIGKILL -> takeover: {took_over:.2f} s (lease 4 s)")
