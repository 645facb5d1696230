"""The control loop's timing rules with an injected clock: the debouncer that turns a burst into
one batch, and the capped backoff of informers and failed reconciles; its metrics registry."""

from __future__ import annotations

import pytest

from tctl_py.errors import UsageError
from tctl_py.fleet.informer import Backoff
from tctl_py.reconcile.executor import Outcome, StepResult
from tctl_py.reconcile.loop import Debouncer
from tctl_py.reconcile.metrics import Metrics, parse_address
from tctl_py.reconcile.plan import Action, Step


def test_a_batch_is_due_after_a_quiet_time_since_its_last_change() -> None:
    debouncer = Debouncer(quiet=0.5, max_delay=2.0)
    assert not debouncer.pending and debouncer.due_at() is None and not debouncer.due(100.0)
    debouncer.add(10.0)
    assert debouncer.due_at() == 10.5
    debouncer.add(10.3)  # another change: the batch waits for quiet again
    assert not debouncer.due(10.6)
    assert debouncer.due(10.8)
    debouncer.reset()
    assert not debouncer.pending and not debouncer.due(11.0)


def test_a_steady_stream_of_changes_is_still_reconciled_after_max_delay() -> None:
    debouncer = Debouncer(quiet=0.5, max_delay=2.0)
    now = 0.0
    while not debouncer.due(now):
        debouncer.add(now)  # a change every 0.1 s: never quiet
        now = round(now + 0.1, 1)
    assert now == 2.0


def test_max_delay_is_never_shorter_than_the_quiet_time() -> None:
    debouncer = Debouncer(quiet=1.0, max_delay=0.2)
    debouncer.add(0.0)
    assert debouncer.due_at() == 1.0


def test_backoff_doubles_from_the_first_failure_and_is_capped_at_30_seconds() -> None:
    backoff = Backoff(initial=0.5, cap=30.0, jitter=0.0)
    assert [backoff.delay(n) for n in range(0, 9)] == [0.0, 0.5, 1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay(10_000) == 30.0


def test_jitter_only_shortens_the_wait() -> None:
    backoff = Backoff(initial=1.0, cap=30.0, jitter=0.2)
    waits = [backoff.delay(3) for _ in range(200)]
    assert all(3.2 <= wait <= 4.0 for wait in waits)
    assert len(set(waits)) > 1


def step(cluster: str, action: Action) -> Step:
    body = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "ServiceEntry",
        "metadata": {"name": "details.bookinfo", "namespace": "xcp-multicluster"},
    }
    return Step(
        cluster=cluster,
        kind="ServiceEntry",
        api_version=body["apiVersion"],
        namespace="xcp-multicluster",
        name="details.bookinfo",
        action=action,
        desired=body if action is not Action.DELETE else None,
    )


def test_each_loop_has_its_own_registry_with_the_names_of_the_spec() -> None:
    first, second = Metrics(), Metrics()
    first.cluster_state("cluster-1", "reachable")
    first.cluster_state("cluster-2", "unreadable", "connection refused")
    first.wrote(StepResult(step("cluster-1", Action.CREATE), Outcome.CREATED))
    first.wrote(StepResult(step("cluster-1", Action.DELETE), Outcome.PRUNED))
    first.wrote(StepResult(step("cluster-1", Action.UPDATE), Outcome.CONFLICT))  # not a write
    first.reconciled(["cluster-1"], "success", 0.2)
    first.managed_objects("cluster-1", {"ServiceEntry": 2, "WorkloadEntry": 0})
    first.leader.set(1)
    text = first.render().decode()
    for line in (
        'tctl_reconcile_total{result="success"} 1.0',
        "tctl_reconcile_duration_seconds_count 1.0",
        'tctl_reconcile_duration_seconds_bucket{le="0.25"} 1.0',
        'tctl_cluster_reachable{cluster="cluster-1"} 1.0',
        'tctl_cluster_reachable{cluster="cluster-2"} 0.0',
        'tctl_managed_objects{cluster="cluster-1",kind="ServiceEntry"} 2.0',
        'tctl_writes_total{cluster="cluster-1",verb="create"} 1.0',
        'tctl_writes_total{cluster="cluster-1",verb="delete"} 1.0',
        "tctl_leader 1.0",
    ):
        assert line in text.splitlines(), line
    assert 'verb="update"' not in text
    assert "cluster-1" not in second.render().decode()  # nothing shared


@pytest.mark.parametrize(
    ("text", "expected"),
    [("127.0.0.1:9090", ("127.0.0.1", 9090)), (":8080", ("0.0.0.0", 8080)), ("[::1]:80", ("::1", 80))],
)
def test_addresses(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text, "--metrics-addr") == expected


@pytest.mark.parametrize("text", ["9090", "host:", "host:http", "host:70000"])
def test_bad_addresses_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="--metrics-addr"):
        parse_address(text, "--metrics-addr")
