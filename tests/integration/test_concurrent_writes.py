"""A cluster's writes go out concurrently, wave by wave, through one client per cluster.

The example's configuration is applied to the emulated bookinfo fleet (cluster-2 gets a Gateway,
2 DestinationRules and 6 WorkloadEntries; cluster-3 the xcp-multicluster Namespace and 2
ServiceEntries). The emulators record when each request started and ended (`tracker.log`): a
request made slow on purpose shows what else was in flight meanwhile.
"""

from __future__ import annotations

import os

import pytest

from tctl_py.fleet.loader import FleetOptions, load_fleet
from tests.support.bookinfo import CLUSTERS, CONFIG

pytestmark = pytest.mark.integration

SLOW = 0.4  # seconds added to the requests a test watches


def spans(fleet, cluster: str) -> list[tuple[float, float]]:
    return fleet.call(lambda: [(start, end) for name, start, end in fleet.tracker.log if name == cluster])


def peak(intervals: list[tuple[float, float]]) -> int:
    """The most intervals in progress at one time."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    most = current = 0
    for _, change in events:
        current += change
        most = max(most, current)
    return most


def apart(slow: list[tuple[float, float]], others: list[tuple[float, float]]) -> bool:
    """No request of `others` was in flight while one of `slow` was."""
    return all(
        end <= start_slow or start >= end_slow for start_slow, end_slow in slow for start, end in others
    )


def test_writes_overlap_within_a_wave_and_never_across_waves(fleet, tctl):
    for name in CLUSTERS:
        fleet[name].latency = 0.05
    fleet["cluster-2"].delay(SLOW, method="PATCH", path="/destinationrules/")
    fleet["cluster-3"].delay(SLOW, method="PATCH", path="/namespaces/xcp-multicluster$")
    fleet.call(fleet.tracker.reset)

    ran = tctl("--concurrency", "4", "apply", "-f", CONFIG)
    assert ran.exit_code == 0, ran.stderr

    west = spans(fleet, "cluster-2")
    rules = [span for span in west if span[1] - span[0] >= SLOW]
    assert len(rules) == 2 and peak(rules) == 2  # both DestinationRules at once
    # the Gateway goes with them (it depends on neither), and nothing else
    gateway = [span for span in west if span not in rules and not apart(rules, [span])]
    assert len(gateway) == 1 and peak(rules + gateway) == 3
    # the WorkloadEntries after them: nothing else in flight meanwhile
    assert apart(rules, [span for span in west if span not in rules + gateway])
    assert peak(west) == 4  # six WorkloadEntries, at most --concurrency at a time

    east = spans(fleet, "cluster-3")
    (namespace,) = [span for span in east if span[1] - span[0] >= SLOW]
    assert apart([namespace], [span for span in east if span != namespace])  # the Namespace first
    assert peak(east) == 2  # then its two ServiceEntries together


def test_concurrency_one_writes_one_at_a_time(fleet, tctl):
    fleet.call(fleet.tracker.reset)
    ran = tctl("--concurrency", "1", "apply", "-f", CONFIG)
    assert ran.exit_code == 0, ran.stderr
    assert [peak(spans(fleet, name)) for name in CLUSTERS] == [1, 1, 1]


def test_one_client_per_cluster_reads_and_writes_with_the_injected_pause(fleet):
    """The fleet reads each state and writes through the same client, whose retries pause with
    the `sleep` of the options: a 503 is sent again without waiting through real backoff."""
    pauses: list[float] = []
    fleet["cluster-1"].fail(503, times=1, method="GET", path="/services$")
    fleet["cluster-1"].fail(503, times=1, method="PATCH")

    options = FleetOptions(kubeconfig=os.environ["KUBECONFIG"], sleep=pauses.append)
    with load_fleet(options, declared=CLUSTERS) as loaded:
        assert [state.reachable for state in loaded.states] == [True, True, True]
        client = loaded.client("cluster-1")
        assert client is loaded.client("cluster-1")
        client.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "made-here"}})
    assert len(pauses) == 2 and all(0 < pause <= options.retry.max_backoff for pause in pauses)
    assert fleet["cluster-1"].counts["PATCH"] == 2  # refused once, then applied
    assert fleet["cluster-1"].get("Namespace", "made-here") is not None


def test_a_write_gate_that_closes_stops_every_write_after_it(fleet, tctl, store):
    """The controller's Lease: once `may_write` says no, no write starts, in any cluster."""
    from tctl_py.cli import meshview
    from tctl_py.reconcile.executor import Outcome, reconcile
    from tctl_py.store import open_store
    from tests.support.bookinfo import write_requests

    assert tctl("apply", "--no-sync", "-f", CONFIG).exit_code == 0
    allowed = 3  # answers of "yes" before the gate closes

    def may_write() -> bool:
        nonlocal allowed
        allowed -= 1
        return allowed >= 0

    with open_store(str(store)) as opened:
        config = meshview.mesh_config(opened)
        ownership = meshview.ownership(opened, config)
    kubeconfig = str(fleet.directory / "kubeconfig.yaml")
    with load_fleet(FleetOptions(kubeconfig=kubeconfig, concurrency=1), CLUSTERS) as live:
        rec = reconcile(config, live, ownership=ownership, write=True, may_write=may_write)
    outcomes = [result.outcome for result in rec.results if result.step.writes]
    written = sum(outcome is Outcome.CREATED for outcome in outcomes)
    assert 0 < written < len(outcomes) and Outcome.NOT_DONE in outcomes
    assert set(outcomes) <= {Outcome.CREATED, Outcome.NOT_DONE}
    assert sum(write_requests(fleet).values()) == written  # nothing went out after the gate closed
    assert all("no longer allowed to write" in message for message in rec.failed.values())
