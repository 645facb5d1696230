"""The live fleet reader against emulated clusters, through the official client over real HTTP."""

from __future__ import annotations

import dataclasses
import os
import time

import pytest

from tctl_py.errors import ClusterError
from tctl_py.fleet.client import ClusterClient
from tctl_py.fleet.kubeconfig import load_kubeconfig
from tctl_py.fleet.live import LiveFleet, load_live, read_live
from tctl_py.fleet.objects import DESTINATION_RULES, SERVICES
from tctl_py.fleet.retry import RetryPolicy
from tctl_py.fleet.snapshot import read_snapshot, write_snapshot
from tctl_py.fleet.timeouts import ClusterBudgets
from tests.support import EmulatedFleet, destination_rule, namespace, service

pytestmark = pytest.mark.integration

GATEWAY_LB = [{"ip": "203.0.113.10"}]
FAST = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.05)


@pytest.fixture
def fleet(emulated: EmulatedFleet) -> EmulatedFleet:
    """east and west run Istio; north has no Istio CRDs; south is down (nothing listening)."""
    emulated.add_cluster(
        "east",
        objects=[
            namespace("bookinfo", labels={"istio-injection": "enabled"}),
            namespace("istio-system"),
            service("bookinfo", "details", labels={"app": "details", "tier": "backend"}),
            service(
                "bookinfo",
                "reviews",
                labels={"app": "reviews", "tier": "backend"},
                ports=[{"name": "http", "port": 9080}, {"name": "grpc", "port": 9090}],
            ),
            service("bookinfo", "productpage", labels={"app": "productpage", "tier": "frontend"}),
            service(
                "istio-system",
                "eastwest-gateway",
                labels={"istio": "eastwestgateway"},
                type="LoadBalancer",
                load_balancer=GATEWAY_LB,
                selector={"istio": "eastwestgateway"},
            ),
            destination_rule("bookinfo", "reviews", "reviews.bookinfo.svc.cluster.local"),
        ],
    )
    emulated.add_cluster(
        "west",
        objects=[
            namespace("bookinfo"),
            service("bookinfo", "details", labels={"app": "details"}),
            service("bookinfo", "ratings", labels={"app": "ratings"}),
        ],
    )
    emulated.add_cluster(
        "north", istio=False, objects=[namespace("bookinfo"), service("bookinfo", "reviews")]
    )
    emulated.add_down_cluster("south")
    emulated.write_kubeconfig(current_context="west")
    return emulated


def kubeconfig_of(fleet: EmulatedFleet) -> str:
    return str(fleet.directory / "kubeconfig.yaml")


def names(objects) -> list[str]:
    return [f"{o['metadata'].get('namespace', '')}/{o['metadata']['name']}" for o in objects]


def test_reads_every_cluster_and_reports_the_down_one(fleet):
    states = load_live(kubeconfig_of(fleet), request_timeout=5)
    assert [s.name for s in states] == ["east", "north", "south", "west"]
    east, north, south, west = states

    assert east.reachable and east.error == "" and east.server == fleet["east"].server
    assert names(east.namespaces) == ["/bookinfo", "/istio-system"]
    assert names(east.services) == [
        "bookinfo/details",
        "bookinfo/productpage",
        "bookinfo/reviews",
        "istio-system/eastwest-gateway",
    ]
    assert names(east.destination_rules) == ["bookinfo/reviews"]
    assert names(west.services) == ["bookinfo/details", "bookinfo/ratings"]

    # as `kubectl get -o yaml` shows them: kind/apiVersion filled in, camelCase, no managedFields
    gateway = east.services[-1]
    assert (gateway["apiVersion"], gateway["kind"]) == ("v1", "Service")
    assert gateway["status"]["loadBalancer"]["ingress"] == GATEWAY_LB
    assert gateway["spec"]["type"] == "LoadBalancer" and "clusterIP" in gateway["spec"]
    assert "managedFields" not in gateway["metadata"] and gateway["metadata"]["resourceVersion"]
    assert east.destination_rules[0]["apiVersion"] == "networking.istio.io/v1"
    assert east.destination_rules[0]["spec"]["host"] == "reviews.bookinfo.svc.cluster.local"

    # no Istio CRD: a 404 that means "no DestinationRules", not an unreachable cluster
    assert north.reachable and north.destination_rules == () and names(north.services) == ["bookinfo/reviews"]

    assert not south.reachable
    assert south.namespaces == south.services == south.destination_rules == ()
    assert "cannot connect" in south.error and fleet["south"].server in south.error
    assert "refused" in south.error


def test_clusters_are_read_concurrently(fleet):
    for name in ("east", "west", "north"):
        fleet[name].latency = 0.3
    fleet.tracker.reset()
    started = time.monotonic()
    states = load_live(kubeconfig_of(fleet), request_timeout=5)
    elapsed = time.monotonic() - started
    assert [s.reachable for s in states] == [True, True, False, True]
    # 3 requests per cluster x 0.3 s: ~0.9 s when concurrent, 2.7 s one cluster after another
    assert fleet.tracker.peak >= 3
    assert elapsed < 2.4, elapsed
    intervals = {name: [(s, e) for n, s, e in fleet.tracker.log if n == name] for name in ("east", "west")}
    first_east, first_west = intervals["east"][0], intervals["west"][0]
    assert first_east[0] < first_west[1] and first_west[0] < first_east[1]  # they overlapped


def test_a_slow_cluster_times_out_alone(fleet):
    fleet["west"].latency = 3
    started = time.monotonic()
    states = {
        s.name: s for s in read_live(load_kubeconfig(kubeconfig_of(fleet)), request_timeout=0.5, retry=FAST)
    }
    assert time.monotonic() - started < 2.5  # three attempts of 0.5 s, tiny pauses
    assert not states["west"].reachable
    assert states["west"].error == (
        f"no answer from {fleet['west'].server} within 0.5 s (listing namespaces) (after 3 attempts)"
    )
    assert states["east"].reachable and states["north"].reachable


def test_the_request_timeout_is_per_request_not_per_cluster(fleet):
    """Three lists answering in 0.4 s each, with a request timeout of 1 s: read."""
    fleet["west"].latency = 0.4
    started = time.monotonic()
    states = {s.name: s for s in load_live(kubeconfig_of(fleet), request_timeout=1)}
    assert time.monotonic() - started >= 1.2
    assert states["west"].reachable, states["west"].error
    assert names(states["west"].services) == ["bookinfo/details", "bookinfo/ratings"]


def test_a_cluster_budget_is_separate_and_says_what_ran_out(fleet):
    """--cluster-timeout: the same three lists within 1 s for the whole cluster do not fit."""
    fleet["west"].latency = 0.4
    states = {
        s.name: s
        for s in read_live(
            load_kubeconfig(kubeconfig_of(fleet)), request_timeout=1, budgets=ClusterBudgets(1), retry=FAST
        )
    }
    assert not states["west"].reachable
    assert fleet["west"].server in states["west"].error
    assert "the 1 s allowed for this cluster (--cluster-timeout)" in states["west"].error
    assert states["east"].reachable and states["north"].reachable  # each has its own budget


def test_a_dead_address_costs_one_connect_timeout(emulated, monkeypatch):
    """A server that takes no connection: given up after the connect timeout (at most
    MAX_CONNECT_TIMEOUT, whatever the request timeout), and not tried again."""
    monkeypatch.setattr("tctl_py.fleet.timeouts.MAX_CONNECT_TIMEOUT", 0.3)
    emulated.add_blackhole_cluster("dead")
    emulated.add_cluster("alive", objects=[namespace("bookinfo")])
    started = time.monotonic()
    states = {s.name: s for s in load_live(str(emulated.write_kubeconfig()), request_timeout=10)}
    assert time.monotonic() - started < 1.5
    assert states["dead"].error == (
        f"cannot connect to {emulated['dead'].server}: no connection within 0.3 s (listing namespaces)"
    )
    assert states["alive"].reachable


def test_an_api_error_is_reported_with_the_server_and_the_others_still_work(fleet):
    fleet["east"].fail(500, path="/services", message="etcd is sad")
    states = {s.name: s for s in load_live(kubeconfig_of(fleet), request_timeout=5)}
    east = states["east"]
    assert not east.reachable and east.services == ()
    assert "HTTP 500" in east.error and fleet["east"].server in east.error
    assert "listing services" in east.error and "etcd is sad" in east.error
    assert states["west"].reachable and states["north"].reachable


def test_an_answer_that_is_not_json_is_reported(fleet):
    # kmock's own reaction DSL still works on top of the emulator: a proxy's HTML page
    west = fleet["west"].emulator
    fleet.call(lambda: west["list v1/services"] << b"<html>Proxy Authentication Required</html>")
    states = {s.name: s for s in load_live(kubeconfig_of(fleet))}
    assert not states["west"].reachable
    assert (
        states["west"].error
        == f"{fleet['west'].server} answered listing services with something that is not JSON"
    )


def test_a_transient_error_is_retried_within_the_read(fleet):
    fleet["west"].fail(503, times=1)
    states = {s.name: s for s in load_live(kubeconfig_of(fleet))}
    assert states["west"].reachable and len(states["west"].services) == 2


def test_a_lasting_error_makes_the_cluster_unreachable_after_bounded_attempts(fleet):
    fleet["west"].fail(503, times=10)
    states = {s.name: s for s in load_live(kubeconfig_of(fleet))}
    assert not states["west"].reachable
    assert "HTTP 503" in states["west"].error and "after 3 attempts" in states["west"].error
    assert states["east"].reachable
    again = {s.name: s for s in load_live(kubeconfig_of(fleet))}
    assert not again["west"].reachable  # 10 - 3 failures left: still failing


def test_each_cluster_gets_its_own_configuration_and_credentials(fleet, tmp_path):
    import kubernetes.client

    default_before = kubernetes.client.Configuration._default
    # every emulator refuses any token but its own: all readable means no credentials were mixed
    states = load_live(kubeconfig_of(fleet))
    assert [s.reachable for s in states] == [True, True, False, True]
    assert kubernetes.client.Configuration._default is default_before  # never the global default

    wrong = fleet.write_kubeconfig(tmp_path / "wrong.yaml", names=["east", "west"])
    text = wrong.read_text().replace(fleet["west"].token, "not-the-token")
    wrong.write_text(text)
    states = {s.name: s for s in load_live(str(wrong))}
    assert states["east"].reachable
    assert not states["west"].reachable and "HTTP 401" in states["west"].error
    assert fleet["east"].token not in states["west"].error
    assert "not-the-token" not in states["west"].error


def test_contexts_narrow_the_fleet_and_unknown_ones_are_reported(fleet):
    states = load_live(kubeconfig_of(fleet), contexts=["west", "nowhere"])
    assert [(s.name, s.reachable) for s in states] == [("nowhere", False), ("west", True)]
    assert 'context "nowhere" is not in the kubeconfig' in states[0].error
    assert fleet["east"].counts == {}  # not asked, not contacted


def test_kubeconfig_files_merge_first_wins_then_reach_the_clusters(fleet, tmp_path):
    primary = fleet.write_kubeconfig(tmp_path / "one.yaml", names=["east"], current_context="east")
    # a later file redefines the context "east" to point at the down cluster: ignored (first wins)
    shadow = fleet.write_kubeconfig(tmp_path / "two.yaml", names=["south", "west"], current_context="west")
    shadow.write_text(
        shadow.read_text()
        .replace("name: south\n", "name: east\n")
        .replace("cluster: south", "cluster: east")
        .replace("user: south-admin", "user: east-admin")
    )
    env = {"KUBECONFIG": os.pathsep.join([str(tmp_path / "missing.yaml"), str(primary), str(shadow)])}
    live = LiveFleet.load(None, env=env, request_timeout=5)
    assert live.kubeconfig.current_context == "east"
    assert [r.name for r in live.refs] == ["east", "west"]
    states = live.read()
    assert [(s.name, s.reachable) for s in states] == [("east", True), ("west", True)]
    assert states[0].server == fleet["east"].server


def test_requests_are_counted_per_server_and_method(fleet):
    load_live(kubeconfig_of(fleet))
    for name in ("east", "west"):
        assert fleet[name].counts == {"GET": 3}
    # north: the v1 DestinationRule list is a 404, so v1beta1 is tried too
    assert fleet["north"].counts == {"GET": 4}
    assert [path.split("?")[0] for _, path in fleet["east"].requests] == [
        "/api/v1/namespaces",
        "/api/v1/services",
        "/apis/networking.istio.io/v1/destinationrules",
    ]


def test_older_istio_serving_only_v1beta1_is_read(emulated):
    old = emulated.add_cluster(
        "old",
        istio_version="v1beta1",
        objects=[
            namespace("a"),
            destination_rule("a", "r", "r.a.svc.cluster.local", api_version="networking.istio.io/v1beta1"),
        ],
    )
    (state,) = load_live(str(emulated.write_kubeconfig()))
    assert state.reachable and names(state.destination_rules) == ["a/r"]
    assert state.destination_rules[0]["apiVersion"] == "networking.istio.io/v1beta1"
    assert old.counts == {"GET": 4}


def test_label_selectors_are_honoured(fleet):
    config = load_kubeconfig(kubeconfig_of(fleet))
    with ClusterClient(config, "east", request_timeout=5) as client:

        def listed(selector: str | None = None, **kw) -> list[str]:
            return names(client.list(SERVICES, label_selector=selector, **kw))

        everything = listed()
        assert len(everything) == 4
        assert listed("tier=backend") == ["bookinfo/details", "bookinfo/reviews"]
        assert listed("tier==frontend") == ["bookinfo/productpage"]
        assert listed("tier!=backend") == ["bookinfo/productpage", "istio-system/eastwest-gateway"]
        assert listed("app in (details, productpage)") == ["bookinfo/details", "bookinfo/productpage"]
        assert listed("app notin (details),tier") == ["bookinfo/productpage", "bookinfo/reviews"]
        assert listed("!tier") == ["istio-system/eastwest-gateway"]
        assert listed("tier,app=reviews") == ["bookinfo/reviews"]
        assert listed("app=nothing") == []
        assert listed(namespace="istio-system") == ["istio-system/eastwest-gateway"]
        assert listed(field_selector="metadata.name=details") == ["bookinfo/details"]
        with pytest.raises(ClusterError) as caught:
            listed("app in (unclosed")
        assert "HTTP 400" in caught.value.message
        assert names(client.list(DESTINATION_RULES, label_selector="app.kubernetes.io/managed-by=tctl")) == []


def test_lists_are_read_page_by_page(emulated):
    many = emulated.add_cluster(
        "many", objects=[namespace("a")] + [service("a", f"svc-{i:02d}") for i in range(7)]
    )
    config = load_kubeconfig(str(emulated.write_kubeconfig()))
    with ClusterClient(config, "many", request_timeout=5) as client:
        found = client.list(SERVICES, page_size=3)
    assert names(found) == [f"a/svc-{i:02d}" for i in range(7)]
    assert many.counts == {"GET": 3}
    assert "continue=" in many.requests[-1][1]


def test_snapshot_of_the_live_fleet_reads_back_as_the_same_states(fleet, tmp_path):
    live = load_live(kubeconfig_of(fleet))
    written = write_snapshot(live, tmp_path / "snapshot")
    assert not (tmp_path / "snapshot" / "south").exists()  # unreachable: not written
    assert len(written) == 9
    from_files = read_snapshot(tmp_path / "snapshot")
    expected = [dataclasses.replace(s, server="") for s in live if s.reachable]
    assert from_files == expected
    # and a second snapshot of the unchanged fleet is byte-identical
    write_snapshot(load_live(kubeconfig_of(fleet)), tmp_path / "again")
    for path in written:
        again = tmp_path / "again" / path.relative_to(tmp_path / "snapshot")
        assert again.read_bytes() == path.read_bytes()


def test_a_stopped_cluster_is_unreachable_and_comes_back(fleet):
    kubeconfig = kubeconfig_of(fleet)
    fleet["west"].stop()
    assert not {s.name: s for s in load_live(kubeconfig)}["west"].reachable
    fleet["west"].start()
    fleet["south"].start()  # the down cluster starts serving on its reserved port
    states = {s.name: s for s in load_live(kubeconfig)}
    assert states["west"].reachable and states["south"].reachable
    assert states["south"].services == ()


def test_read_live_reports_progress_per_cluster(fleet):
    seen = []
    config = load_kubeconfig(kubeconfig_of(fleet))
    read_live(config, on_done=lambda state: seen.append(state.name))
    assert sorted(seen) == ["east", "north", "south", "west"]


def test_no_context_at_all_is_a_usage_error(tmp_path):
    from tctl_py.errors import UsageError

    empty = tmp_path / "empty.yaml"
    empty.write_text("apiVersion: v1\nkind: Config\n")
    with pytest.raises(UsageError, match="defines no context"):
        load_live(str(empty))


def test_a_context_without_a_cluster_is_reported_not_raised(fleet, tmp_path):
    import yaml

    path = fleet.write_kubeconfig(tmp_path / "k.yaml", names=["east"])
    document = yaml.safe_load(path.read_text())
    document["contexts"][0]["context"]["cluster"] = "ghost"
    path.write_text(yaml.safe_dump(document))
    (state,) = load_live(str(path))
    assert not state.reachable and 'names cluster "ghost"' in state.error
    assert fleet["east"].counts == {}
