"""Leader election on a Lease in an emulated cluster, over real HTTP with the official client.

Most tests drive `LeaderElector.step()` by hand on a shared fake monotonic clock, so the lease
arithmetic (renew deadline before expiry, takeover only after expiry) is checked exactly and
without waiting; the last ones run the electors' own threads with short timings and wait on
conditions with a deadline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tctl_py.fleet.kubeconfig import load_kubeconfig
from tctl_py.fleet.lease import LeaderElector, LeaseTimings, lease_client
from tests.support import EmulatedCluster, EmulatedFleet, lease, namespace

pytestmark = pytest.mark.integration

NS, NAME = "tctl-system", "tctl-controller"
LEASE_PUT = {"method": "PUT", "path": f"/leases/{NAME}$"}


class FakeClock:
    """A monotonic clock the test moves forward."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def cluster(emulated: EmulatedFleet) -> EmulatedCluster:
    return emulated.add_cluster("mgmt", objects=[namespace(NS)])


@pytest.fixture
def kubeconfig(emulated: EmulatedFleet, cluster: EmulatedCluster) -> Path:
    return emulated.write_kubeconfig()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def elector(kubeconfig: Path) -> Iterator[Callable[..., LeaderElector]]:
    """Makes electors with clients of their own, as separate processes have; closes them."""
    made: list[LeaderElector] = []

    def make(identity: str, timings: LeaseTimings = LeaseTimings(), **kwargs) -> LeaderElector:
        client = lease_client(load_kubeconfig(kubeconfig), "mgmt", timings)
        made.append(LeaderElector(client, identity=identity, timings=timings, **kwargs))
        return made[-1]

    yield make
    for one in made:
        one.stop(release=False)
        one.client.close()


def spec(cluster: EmulatedCluster) -> dict:
    found = cluster.get("Lease", NAME, NS)
    assert found is not None
    return found["spec"]


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_of_two_candidates_exactly_one_leads(cluster, elector, clock) -> None:
    a, b = elector("a", clock=clock), elector("b", clock=clock)
    assert a.step() is True  # creates the Lease
    assert b.step() is False
    for _ in range(3):
        clock.advance(2)
        assert a.step() is True and b.step() is False
    assert (a.may_write(), b.may_write()) == (True, False)
    assert (a.leader, b.leader) == ("a", "a")
    held = spec(cluster)
    assert held["holderIdentity"] == "a" and held["leaseTransitions"] == 0
    assert held["leaseDurationSeconds"] == 15


def test_a_leader_that_cannot_renew_stops_writing_before_anyone_takes_over(cluster, elector, clock) -> None:
    stopped: list[float] = []
    a = elector("a", clock=clock, on_stopped_leading=lambda: stopped.append(clock()))
    b = elector("b", clock=clock)
    assert a.step() and not b.step()  # b saw a's renewal at t0
    t0 = clock()
    cluster.fail(500, **LEASE_PUT)

    clock.advance(5)
    assert a.step() is False
    assert a.may_write() is True  # a failed renewal alone does not stop it: the deadline does
    clock.advance(5)  # the renew deadline (10 s) has passed since the last good renewal
    assert a.may_write() is False  # at once, without waiting for another attempt
    assert a.step() is False and not a.is_leader and stopped == [t0 + 10]

    cluster.clear_faults()
    clock.advance(4.9)  # 14.9 s after b last saw the Lease change: still a's
    assert b.step() is False
    clock.advance(0.1)  # 15 s: expired, on b's own clock
    assert b.step() is True and b.may_write()
    assert spec(cluster)["holderIdentity"] == "b" and spec(cluster)["leaseTransitions"] == 1
    assert a.step() is False and a.leader == "b"  # a recovered, and follows


def test_a_renewal_keeps_followers_waiting(cluster, elector, clock) -> None:
    a, b = elector("a", clock=clock), elector("b", clock=clock)
    assert a.step() and not b.step()
    for _ in range(10):  # far more than one lease duration, renewed every 2 s
        clock.advance(2)
        assert a.step() and not b.step()


def test_a_follower_tries_again_when_the_lease_it_saw_expires(cluster, elector, clock) -> None:
    a, b = elector("a", clock=clock), elector("b", clock=clock)
    assert a.step() and not b.step()
    assert a.pause(leading=True) == 2
    assert 2 <= b.pause(leading=False) <= 2.4  # a retry period, jittered
    clock.advance(14)
    assert b.pause(leading=False) == pytest.approx(1.05)  # the Lease expires in 1 s
    clock.advance(1.05)
    assert b.step() is True


def test_a_released_lease_is_taken_over_at_once(cluster, elector, clock) -> None:
    a, b = elector("a", clock=clock), elector("b", clock=clock)
    assert a.step() and not b.step()
    assert a.release() is True
    assert not a.may_write() and not a.is_leader
    released = spec(cluster)
    assert released["holderIdentity"] == "" and released["leaseDurationSeconds"] == 1
    assert b.step() is True  # no clock advance: nothing to wait for
    assert spec(cluster)["holderIdentity"] == "b" and spec(cluster)["leaseTransitions"] == 1
    assert b.release() is True and a.release() is False  # a holds nothing to release


def test_a_dead_holders_lease_is_taken_after_it_expires(cluster, elector, clock) -> None:
    cluster.seed(lease(NS, NAME, holder="gone", renew_time="2020-01-01T00:00:00.000000Z", transitions=4))
    a = elector("a", clock=clock)
    assert a.step() is False  # the remote renewTime is years old, but a has only just seen it
    clock.advance(15)
    assert a.step() is True
    assert spec(cluster)["leaseTransitions"] == 5


def test_a_stale_resource_version_is_refused_and_read_again(cluster, elector, clock) -> None:
    a = elector("a", clock=clock)
    assert a.step()
    # someone else writes the Lease (a label): a's next renewal carries a stale resourceVersion
    cluster.fleet.call(_label_lease, cluster.emulator)
    cluster.reset_counts()
    clock.advance(2)
    assert a.step() is True
    assert cluster.counts["PUT"] == 2 and cluster.counts["GET"] == 1  # 409, read, renewed
    assert cluster.get("Lease", NAME, NS)["metadata"]["labels"] == {"touched": "yes"}


def _label_lease(emulator) -> None:
    current = emulator.get_object("Lease", NAME, NS)
    current["metadata"]["labels"] = {"touched": "yes"}
    emulator.seed(current)


@pytest.mark.parametrize("existing", [False, True], ids=["create", "take-over"])
def test_candidates_racing_for_the_lease_give_one_leader(cluster, elector, clock, existing) -> None:
    if existing:
        cluster.seed(lease(NS, NAME, holder="", renew_time="2020-01-01T00:00:00.000000Z"))
    candidates = [elector(name, clock=clock) for name in "abcd"]
    cluster.delay(0.3, method="GET", path="/leases/")  # all read before any writes
    start = threading.Barrier(len(candidates))
    results: dict[str, bool] = {}

    def attempt(candidate: LeaderElector) -> None:
        start.wait()
        results[candidate.identity] = candidate.step()

    threads = [threading.Thread(target=attempt, args=(c,)) for c in candidates]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    winners = [name for name, won in results.items() if won]
    assert len(results) == 4 and len(winners) == 1
    assert spec(cluster)["holderIdentity"] == winners[0]
    assert spec(cluster)["leaseTransitions"] == (1 if existing else 0)


# --- the electors' own threads, real time -------------------------------------------------------

FAST = LeaseTimings(lease_duration=2, renew_deadline=1.5, retry_period=0.1)


def test_threads_elect_one_leader_and_fail_over_when_it_dies(cluster, elector) -> None:
    events: list[tuple[str, str]] = []
    a, b = (
        elector(n, FAST, on_started_leading=lambda n=n: events.append(("start", n))).start() for n in "ab"
    )
    wait_for(lambda: a.is_leader or b.is_leader)
    time.sleep(FAST.lease_duration)  # several renewals: the other stays a follower
    assert [a.may_write(), b.may_write()].count(True) == 1
    leader, follower = (a, b) if a.is_leader else (b, a)
    leader.stop(release=False)  # killed: the Lease is left to expire
    wait_for(follower.may_write)
    assert events == [("start", leader.identity), ("start", follower.identity)]
    assert spec(cluster)["holderIdentity"] == follower.identity


def test_stopping_the_leader_hands_over_well_before_expiry(cluster, elector) -> None:
    slow_expiry = LeaseTimings(lease_duration=30, renew_deadline=20, retry_period=0.2)
    a = elector("a", slow_expiry).start()
    wait_for(a.may_write)
    b = elector("b", slow_expiry).start()
    wait_for(lambda: b.leader == "a")
    a.stop()  # releases
    wait_for(b.may_write, timeout=10)  # a third of the lease duration
    assert spec(cluster)["holderIdentity"] == "b"


def test_a_missing_namespace_is_created_and_a_refusal_reported_once(cluster, elector, clock) -> None:
    errors: list[str] = []
    candidate = elector("a", clock=clock, namespace="nowhere", on_error=errors.append)
    cluster.fail(403, method="PATCH", path="/namespaces/nowhere$")
    assert candidate.step() is False and candidate.step() is False
    assert len(errors) == 1 and "HTTP 403" in errors[0] and "check its RBAC" in errors[0]
    cluster.clear_faults()
    assert candidate.step() is True
    assert cluster.get("Namespace", "nowhere") is not None
    assert cluster.get("Lease", NAME, "nowhere")["spec"]["holderIdentity"] == "a"


def test_a_renewal_hung_at_stop_leaves_the_lease_to_expire(cluster, elector) -> None:
    a = elector("a", FAST).start()
    wait_for(a.may_write)

    def renewals() -> int:
        return len([r for r in cluster.request_log if r["method"] == "PUT"])

    cluster.delay(3, **LEASE_PUT)  # the next renewal hangs
    sent = renewals()
    wait_for(lambda: renewals() > sent, timeout=5)
    assert a.stop(timeout=0.2) is False  # no release that the hung renewal could overwrite
    assert not a.may_write()
    assert spec(cluster)["holderIdentity"] == "a"
