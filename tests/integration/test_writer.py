"""The fleet writer against emulated clusters: server-side apply, deletes, retries, timeouts.

The official `kubernetes` client talks real HTTP to each emulated API server; nothing is mocked.
Retry backoffs are made tiny through `RetryPolicy`, so these run in a few seconds.
"""

from __future__ import annotations

import json
import re
import threading
import time

import pytest

from tctl_py.errors import ClusterError, ExitCode
from tctl_py.fleet import ApplyConflict, ClusterClient, RetryPolicy, UnsupportedResource, resource_for
from tctl_py.fleet.client import MULTICLUSTER_NAMESPACE, ClusterRequestError
from tctl_py.fleet.kubeconfig import load_kubeconfig
from tctl_py.fleet.objects import (
    DESTINATION_RULES,
    GATEWAYS,
    INGRESS_GATEWAYS,
    SERVICE_ENTRIES,
    WORKLOAD_ENTRIES,
)
from tctl_py.fleet.parallel import run_per_cluster
from tctl_py.fleet.retry import NO_RETRY
from tctl_py.fleet.timeouts import Budget
from tests.support import EmulatedFleet, destination_rule, namespace, service

pytestmark = pytest.mark.integration

MANAGED = {"app.kubernetes.io/managed-by": "tctl", "tsb.tetrate.io/workspace": "bookinfo-ws"}
FAST = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.05)
GENERATED = (SERVICE_ENTRIES, WORKLOAD_ENTRIES, DESTINATION_RULES, GATEWAYS)


@pytest.fixture
def fleet(emulated: EmulatedFleet) -> EmulatedFleet:
    """east: bookinfo with a DestinationRule someone else made; west: plain; north: no Istio;
    south: down."""
    emulated.add_cluster(
        "east",
        objects=[
            namespace("bookinfo"),
            namespace("istio-system"),
            service("bookinfo", "details"),
            destination_rule("bookinfo", "details", "details.bookinfo.svc.cluster.local"),
        ],
    )
    emulated.add_cluster("west", objects=[namespace("bookinfo"), service("bookinfo", "details")])
    emulated.add_cluster("north", istio=False, objects=[namespace("bookinfo")])
    emulated.add_down_cluster("south", objects=[namespace("bookinfo")])
    emulated.write_kubeconfig()
    return emulated


@pytest.fixture
def kubeconfig(fleet):
    return load_kubeconfig(str(fleet.directory / "kubeconfig.yaml"))


@pytest.fixture
def east(kubeconfig):
    with ClusterClient(kubeconfig, "east", retry=FAST, request_timeout=5) as client:
        yield client


def service_entry(name: str = "details-bookinfo", *, address: str = "203.0.113.10", **extra) -> dict:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "ServiceEntry",
        "metadata": {
            "name": name,
            "namespace": MULTICLUSTER_NAMESPACE,
            "labels": dict(MANAGED),
            "annotations": {"tsb.tetrate.io/config": "organizations/tse/tenants/t/workspaces/w/settings/s"},
        },
        "spec": {
            "hosts": [f"{name.split('-')[0]}.bookinfo.svc.cluster.local"],
            "location": "MESH_INTERNAL",
            "resolution": "STATIC",
            "ports": [{"name": "http", "number": 9080, "protocol": "HTTP"}],
            "endpoints": [{"address": address, "ports": {"http": 15443}}],
            **extra,
        },
    }


def managed_dr(ns: str, name: str, host: str) -> dict:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "DestinationRule",
        "metadata": {"name": name, "namespace": ns, "labels": dict(MANAGED)},
        "spec": {"host": host, "trafficPolicy": {"outlierDetection": {"consecutive5xxErrors": 3}}},
    }


def owners(obj: dict) -> dict[str, dict]:
    return {entry["manager"]: entry for entry in obj["metadata"].get("managedFields") or ()}


# -- resources ------------------------------------------------------------------------------------


def test_resource_for_knows_exactly_what_tctl_writes():
    assert resource_for("v1", "Namespace").path(name="x") == "/api/v1/namespaces/x"
    for res in GENERATED:
        assert resource_for("networking.istio.io/v1", res.kind) == res
    gateway = resource_for("install.tetrate.io/v1alpha1", "IngressGateway")
    assert gateway == INGRESS_GATEWAYS and gateway.plural == "ingressgateways"
    for api_version, kind in [
        ("v1", "Service"),
        ("networking.istio.io/v1beta1", "Gateway"),
        ("install.tetrate.io/v1", "IngressGateway"),
        ("", ""),
    ]:
        with pytest.raises(UnsupportedResource) as error:
            resource_for(api_version, kind)
        assert "does not write" in error.value.message and "IngressGateway" in error.value.hint
        assert error.value.exit_code == ExitCode.INVALID


# -- server-side apply ----------------------------------------------------------------------------


def test_apply_creates_the_namespace_then_the_object_with_201_on_the_wire(fleet, east):
    cluster = fleet["east"]
    cluster.reset_counts()
    before = len(cluster.request_log)
    result = east.apply(service_entry())
    log = cluster.request_log[before:]
    assert [(r["method"], r["path"]) for r in log] == [
        ("GET", "/api/v1/namespaces/xcp-multicluster"),  # 404: not there yet
        ("PATCH", "/api/v1/namespaces/xcp-multicluster"),
        ("PATCH", "/apis/networking.istio.io/v1/namespaces/xcp-multicluster/serviceentries/details-bookinfo"),
    ]
    for request in log[1:]:
        assert request["content_type"] == "application/apply-patch+yaml"
        assert request["query"] == {"fieldManager": "tctl"}
    sent = json.loads(log[2]["text"])  # JSON is YAML
    assert sent == service_entry()
    assert east.created == ["Namespace xcp-multicluster", "ServiceEntry xcp-multicluster/details-bookinfo"]
    assert east.namespaces_created == ["xcp-multicluster"]
    assert cluster.writes == 2

    stored = cluster.get("ServiceEntry", "details-bookinfo", MULTICLUSTER_NAMESPACE)
    assert stored["spec"] == service_entry()["spec"] and stored["metadata"]["labels"] == MANAGED
    assert owners(stored)["tctl"]["operation"] == "Apply"
    assert "f:endpoints" in owners(stored)["tctl"]["fieldsV1"]["f:spec"]
    # the answer is the server's object, apiVersion/kind set, managedFields kept
    assert result["metadata"]["uid"] == stored["metadata"]["uid"]
    assert (result["apiVersion"], result["kind"]) == ("networking.istio.io/v1", "ServiceEntry")
    assert "tctl" in owners(result)

    # the namespace is asked for once per client
    east.apply(service_entry("reviews-bookinfo"))
    assert [r["method"] for r in cluster.request_log[before + 3 :]] == ["PATCH"]


def test_applying_the_same_object_again_writes_nothing(fleet, east):
    first = east.apply(service_entry())
    writes = fleet["east"].writes
    again = east.apply(service_entry())
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert fleet["east"].writes == writes and east.created == [
        "Namespace xcp-multicluster",
        "ServiceEntry xcp-multicluster/details-bookinfo",
    ]


def test_applying_a_changed_spec_updates_it(fleet, east):
    first = east.apply(service_entry())
    changed = east.apply(service_entry(address="203.0.113.99"))
    assert changed["metadata"]["resourceVersion"] != first["metadata"]["resourceVersion"]
    assert changed["metadata"]["generation"] == 2
    stored = fleet["east"].get("ServiceEntry", "details-bookinfo", MULTICLUSTER_NAMESPACE)
    assert stored["spec"]["endpoints"] == [{"address": "203.0.113.99", "ports": {"http": 15443}}]


def test_server_fields_and_status_are_not_sent(fleet, east):
    live = east.apply(service_entry())
    stale = {**live, "status": {"conditions": []}}
    stale["metadata"] = {**live["metadata"], "resourceVersion": "1"}  # would be a precondition
    east.apply(stale)
    sent = json.loads(fleet["east"].request_log[-1]["text"])
    assert "status" not in sent
    assert not {"resourceVersion", "uid", "managedFields", "creationTimestamp", "generation"} & set(
        sent["metadata"]
    )


def test_a_conflict_names_the_other_manager_and_force_takes_the_field_over(fleet, east):
    mine = managed_dr("bookinfo", "details", "details.bookinfo.svc.cluster.local")
    mine["spec"]["host"] = "details.elsewhere.svc.cluster.local"
    with pytest.raises(ApplyConflict) as conflict:
        east.apply(mine)
    error = conflict.value
    assert error.exit_code == ExitCode.CONFLICT and error.status == 409
    assert error.managers == ("kubectl-client-side-apply",) and ".spec.host" in error.fields
    assert (error.cluster, error.kind, error.namespace, error.name) == (
        "east",
        "DestinationRule",
        "bookinfo",
        "details",
    )
    assert 'conflict with "kubectl-client-side-apply": ' in error.message
    assert "DestinationRule bookinfo/details" in error.message and fleet["east"].server in error.message
    assert "--force-conflicts" in error.hint
    assert fleet["east"].counts["PATCH"] == 1  # a conflict is never retried
    assert (
        fleet["east"].get("DestinationRule", "details", "bookinfo")["spec"]["host"]
        == "details.bookinfo.svc.cluster.local"
    )

    forced = east.apply(mine, force=True)
    assert forced["spec"]["host"] == "details.elsewhere.svc.cluster.local"
    assert fleet["east"].request_log[-1]["query"] == {"fieldManager": "tctl", "force": "true"}
    assert "f:host" in owners(forced)["tctl"]["fieldsV1"]["f:spec"]
    theirs = owners(forced)["kubectl-client-side-apply"]["fieldsV1"]
    assert "f:host" not in theirs.get("f:spec", {})


def test_a_dry_run_writes_nothing_and_returns_the_would_be_object(fleet, east):
    east.ensure_namespace(MULTICLUSTER_NAMESPACE)
    writes = fleet["east"].writes
    preview = east.apply(service_entry(), dry_run=True)
    assert preview["metadata"]["name"] == "details-bookinfo" and preview["metadata"]["uid"]
    assert preview["spec"] == service_entry()["spec"] and "tctl" in owners(preview)
    assert fleet["east"].request_log[-1]["query"] == {"fieldManager": "tctl", "dryRun": "All"}
    assert fleet["east"].get("ServiceEntry", "details-bookinfo", MULTICLUSTER_NAMESPACE) is None
    assert east.delete("networking.istio.io/v1", "DestinationRule", "bookinfo", "details", dry_run=True)
    assert fleet["east"].request_log[-1]["query"] == {"dryRun": "All"}
    assert fleet["east"].get("DestinationRule", "details", "bookinfo") is not None
    assert fleet["east"].writes == writes  # nothing persisted since the namespace
    assert east.created == ["Namespace xcp-multicluster", "ServiceEntry xcp-multicluster/details-bookinfo"]


def test_a_dry_run_in_a_namespace_that_does_not_exist_yet(fleet, kubeconfig):
    fleet["west"].reset_counts()
    with ClusterClient(kubeconfig, "west", retry=FAST) as west:
        preview = west.apply(service_entry(), dry_run=True)
        again = west.apply(service_entry("reviews-bookinfo"), dry_run=True)
    log = fleet["west"].request_log
    # the namespace creation is validated by the server; objects in it cannot be (it would 404)
    assert [(r["method"], r["path"].rsplit("/", 1)[-1], r["query"].get("dryRun")) for r in log] == [
        ("GET", "xcp-multicluster", None),
        ("PATCH", "xcp-multicluster", "All"),
    ]
    assert preview == {**service_entry()} and again["metadata"]["name"] == "reviews-bookinfo"
    assert west.unvalidated == [
        "ServiceEntry xcp-multicluster/details-bookinfo",
        "ServiceEntry xcp-multicluster/reviews-bookinfo",
    ]
    assert west.namespaces_created == ["xcp-multicluster"]
    assert fleet["west"].writes == 0 and fleet["west"].get("Namespace", "xcp-multicluster") is None


def test_namespaces_and_ingress_gateways_are_applied(fleet, east):
    created = east.apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "eastwest", "labels": {"istio-injection": "enabled"}},
        }
    )
    assert created["metadata"]["labels"]["istio-injection"] == "enabled"
    assert created["status"]["phase"] == "Active" and east.created == ["Namespace eastwest"]
    gateway = {
        "apiVersion": "install.tetrate.io/v1alpha1",
        "kind": "IngressGateway",
        "metadata": {"name": "eastwest-gateway", "namespace": "eastwest"},
        "spec": {"eastWestOnly": True, "kubeSpec": {"service": {"type": "LoadBalancer"}}},
    }
    east.apply(gateway)
    assert (
        fleet["east"].request_log[-1]["path"]
        == "/apis/install.tetrate.io/v1alpha1/namespaces/eastwest/ingressgateways/eastwest-gateway"
    )
    stored = fleet["east"].get("IngressGateway", "eastwest-gateway", "eastwest")
    assert stored["apiVersion"] == "install.tetrate.io/v1alpha1" and stored["spec"]["eastWestOnly"] is True
    assert (
        east.get("install.tetrate.io/v1alpha1", "IngressGateway", "eastwest", "eastwest-gateway")["spec"]
        == gateway["spec"]
    )


def test_objects_tctl_cannot_apply(east, fleet):
    with pytest.raises(UnsupportedResource):
        east.apply(
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x", "namespace": "y"}}
        )
    with pytest.raises(UnsupportedResource, match=r"no metadata\.namespace"):
        east.apply({**service_entry(), "metadata": {"name": "x"}})
    with pytest.raises(ClusterRequestError) as missing_ns:  # only xcp-multicluster is created
        east.apply(managed_dr("nowhere", "x", "x.nowhere.svc.cluster.local"))
    assert missing_ns.value.status == 404 and 'namespace "nowhere" does not exist' in missing_ns.value.hint
    assert fleet["east"].counts["PATCH"] == 1


def test_a_cluster_without_the_crd_says_so(kubeconfig):
    with ClusterClient(kubeconfig, "north", retry=FAST) as north:
        with pytest.raises(ClusterRequestError) as error:
            north.apply(managed_dr("bookinfo", "details", "details.bookinfo.svc.cluster.local"))
        assert error.value.status == 404 and "CRD" in error.value.hint
        assert north.list_managed(GENERATED) == []  # not installed: nothing managed, not an error
        assert north.get("networking.istio.io/v1", "Gateway", "bookinfo", "x") is None


# -- reads ----------------------------------------------------------------------------------------


def test_list_managed_honours_the_label_selector(fleet, east):
    east.apply(service_entry())
    east.apply(managed_dr("bookinfo", "reviews", "reviews.bookinfo.svc.cluster.local"))
    found = east.list_managed(GENERATED)
    assert [(o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]) for o in found] == [
        ("ServiceEntry", "xcp-multicluster", "details-bookinfo"),
        ("DestinationRule", "bookinfo", "reviews"),  # not the unlabelled bookinfo/details
    ]
    assert all(o["apiVersion"] == "networking.istio.io/v1" and "tctl" in owners(o) for o in found)
    lists = [r for r in fleet["east"].request_log if r["method"] == "GET" and "namespaces" not in r["path"]]
    assert {r["query"]["labelSelector"] for r in lists} == {"app.kubernetes.io/managed-by=tctl"}
    assert east.list_managed(GENERATED, namespace="bookinfo")[0]["metadata"]["name"] == "reviews"


def test_get_reads_an_object_tctl_does_not_manage(east):
    theirs = east.get("networking.istio.io/v1", "DestinationRule", "bookinfo", "details")
    assert theirs["spec"]["host"] == "details.bookinfo.svc.cluster.local"
    assert "labels" not in theirs["metadata"] and "kubectl-client-side-apply" in owners(theirs)
    assert east.get("networking.istio.io/v1", "DestinationRule", "bookinfo", "nope") is None
    assert east.get("v1", "Namespace", None, "bookinfo")["kind"] == "Namespace"


# -- deletes --------------------------------------------------------------------------------------


def test_delete_and_an_object_already_gone(fleet, east):
    created = east.apply(managed_dr("bookinfo", "reviews", "reviews.bookinfo.svc.cluster.local"))
    with pytest.raises(ClusterRequestError) as replaced:  # not the object that was read
        east.delete("networking.istio.io/v1", "DestinationRule", "bookinfo", "reviews", uid="other-uid")
    assert replaced.value.status == 409 and fleet["east"].counts["DELETE"] == 1  # not retried
    assert (
        east.delete(
            "networking.istio.io/v1", "DestinationRule", "bookinfo", "reviews", uid=created["metadata"]["uid"]
        )
        is True
    )
    request = fleet["east"].request_log[-1]
    assert request["method"] == "DELETE" and json.loads(request["text"])["propagationPolicy"] == "Background"
    assert fleet["east"].get("DestinationRule", "reviews", "bookinfo") is None
    assert east.delete("networking.istio.io/v1", "DestinationRule", "bookinfo", "reviews") is False
    assert fleet["east"].counts["DELETE"] == 3


# -- retries, timeouts, failures ------------------------------------------------------------------


def test_transient_server_errors_are_retried(fleet, east):
    east.ensure_namespace(MULTICLUSTER_NAMESPACE)
    fleet["east"].reset_counts()
    fleet["east"].fail(500, times=2, method="PATCH")
    east.apply(service_entry())
    assert fleet["east"].counts == {"PATCH": 3}
    assert fleet["east"].get("ServiceEntry", "details-bookinfo", MULTICLUSTER_NAMESPACE) is not None
    fleet["east"].fail(503, times=1, method="GET", path="/serviceentries$")
    assert len(east.list_managed([SERVICE_ENTRIES])) == 1  # reads are retried too
    fleet["east"].fail(502, times=1, method="DELETE")
    assert east.delete("networking.istio.io/v1", "ServiceEntry", MULTICLUSTER_NAMESPACE, "details-bookinfo")


def test_too_many_requests_waits_as_the_server_says(fleet, east):
    east.ensure_namespace(MULTICLUSTER_NAMESPACE)
    fleet["east"].reset_counts()
    fleet["east"].fail(429, times=1, method="PATCH", retry_after=1)
    started = time.monotonic()
    east.apply(service_entry())
    assert 0.9 <= time.monotonic() - started < 3
    assert fleet["east"].counts == {"PATCH": 2}


def test_a_retry_after_beyond_the_cluster_budget_gives_up_at_once_and_says_why(fleet, kubeconfig):
    fleet["west"].fail(429, method="GET", retry_after=30)
    with ClusterClient(kubeconfig, "west", budget=Budget.starting_now(2)) as west:
        started = time.monotonic()
        with pytest.raises(ClusterRequestError) as error:
            west.get("v1", "Namespace", None, "bookinfo")
    assert time.monotonic() - started < 1
    assert error.value.message.startswith(f"HTTP 429 Too Many Requests from {fleet['west'].server}")
    assert re.search(
        r"\(after 1 attempt\(s\); the server asked to retry after 30 s, more than the "
        r"(1\.\d+|2) s left of the 2 s allowed for this cluster \(--cluster-timeout\)\)$",
        error.value.message,
    ), error.value.message
    assert fleet["west"].counts == {"GET": 1}


def test_a_retry_after_within_the_budget_is_waited_for(fleet, kubeconfig):
    fleet["west"].fail(503, times=1, method="GET", retry_after=0.5)
    with ClusterClient(kubeconfig, "west", budget=Budget.starting_now(5)) as west:
        started = time.monotonic()
        assert west.get("v1", "Namespace", None, "bookinfo") is not None
    assert 0.45 <= time.monotonic() - started < 2
    assert fleet["west"].counts == {"GET": 2}


def test_a_persistent_server_error_fails_after_the_bounded_attempts(fleet, east):
    east.ensure_namespace(MULTICLUSTER_NAMESPACE)
    fleet["east"].reset_counts()
    fleet["east"].fail(500, method="PATCH", message="etcdserver: request timed out")
    with pytest.raises(ClusterRequestError) as error:
        east.apply(service_entry())
    assert fleet["east"].counts == {"PATCH": 3}
    assert error.value.status == 500 and error.value.exit_code == ExitCode.CLUSTER
    assert error.value.message == (
        f"HTTP 500 Internal Server Error from {fleet['east'].server} (applying ServiceEntry "
        "xcp-multicluster/details-bookinfo): etcdserver: request timed out (after 3 attempts)"
    )


def test_client_errors_are_not_retried(fleet, east):
    fleet["east"].fail(403, method="PATCH", message="forbidden by RBAC")
    with pytest.raises(ClusterRequestError) as error:
        east.apply(managed_dr("bookinfo", "reviews", "reviews.bookinfo.svc.cluster.local"))
    assert error.value.status == 403 and fleet["east"].counts["PATCH"] == 1 and "RBAC" in error.value.hint


def test_no_answer_within_the_request_timeout(fleet, kubeconfig):
    fleet["west"].latency = 1.0
    with ClusterClient(
        kubeconfig, "west", request_timeout=0.2, retry=RetryPolicy(attempts=2, backoff=0.01)
    ) as west:
        started = time.monotonic()
        with pytest.raises(ClusterRequestError) as error:
            west.apply(managed_dr("bookinfo", "reviews", "reviews.bookinfo.svc.cluster.local"))
    assert time.monotonic() - started < 0.9
    assert error.value.message == (
        f"no answer from {fleet['west'].server} within 0.2 s "
        "(applying DestinationRule bookinfo/reviews) (after 2 attempts)"
    )


def test_each_request_has_the_whole_request_timeout(fleet, kubeconfig):
    """Three requests of 0.4 s each with a request timeout of 1 s: no budget for the cluster's
    requests together unless one is given (--cluster-timeout)."""
    fleet["west"].latency = 0.4
    with ClusterClient(kubeconfig, "west", request_timeout=1, retry=NO_RETRY) as west:
        for name in ("details", "reviews"):
            west.apply(managed_dr("bookinfo", name, f"{name}.bookinfo.svc.cluster.local"))
        assert len(west.list_managed([DESTINATION_RULES])) == 2
    assert fleet["west"].counts == {"PATCH": 2, "GET": 1}


def test_interrupted_clients_try_nothing_again(fleet, kubeconfig):
    """Once the cancel event is set (Ctrl-C), a failed request is not retried and a backoff
    pause ends at once."""
    cancel = threading.Event()
    cancel.set()
    fleet["west"].fail(503, method="PATCH")
    with ClusterClient(kubeconfig, "west", cancel=cancel, retry=RetryPolicy(backoff=30)) as west:
        started = time.monotonic()
        with pytest.raises(ClusterRequestError) as error:
            west.apply(managed_dr("bookinfo", "reviews", "reviews.bookinfo.svc.cluster.local"))
    assert time.monotonic() - started < 1
    assert error.value.message.endswith("(not tried again: interrupted)")
    assert fleet["west"].counts == {"PATCH": 1}

    later = threading.Event()
    with ClusterClient(
        kubeconfig, "west", cancel=later, retry=RetryPolicy(backoff=30, max_backoff=30)
    ) as west:
        threading.Timer(0.3, later.set).start()
        started = time.monotonic()
        with pytest.raises(ClusterRequestError, match="interrupted"):
            west.apply(managed_dr("bookinfo", "reviews", "reviews.bookinfo.svc.cluster.local"))
    assert 0.25 < time.monotonic() - started < 2  # the 15-30 s backoff pause ended when set
    assert fleet["west"].counts == {"PATCH": 2}


def test_a_down_cluster_fails_quickly(fleet, kubeconfig):
    started = time.monotonic()
    with ClusterClient(kubeconfig, "south", retry=FAST) as south, pytest.raises(ClusterRequestError) as error:
        south.list_managed(GENERATED)
    assert time.monotonic() - started < 1
    assert error.value.message.startswith(f"cannot connect to {fleet['south'].server}: connection refused")
    assert error.value.message.endswith("(after 3 attempts)")
    assert isinstance(error.value, ClusterError) and error.value.exit_code == ExitCode.CLUSTER


def test_a_spent_cluster_budget_stops_further_requests(fleet, kubeconfig):
    with ClusterClient(kubeconfig, "west", budget=Budget.starting_now(0.2), retry=FAST) as west:
        time.sleep(0.25)
        with pytest.raises(
            ClusterRequestError, match=r"the 0\.2 s allowed for this cluster \(--cluster-timeout\) are spent"
        ):
            west.get("v1", "Namespace", None, "bookinfo")
        with pytest.raises(ClusterRequestError, match="are spent"):
            west.list_managed(GENERATED)
    assert fleet["west"].counts == {}


# -- every cluster at once ------------------------------------------------------------------------


def test_run_per_cluster_reports_each_cluster_and_one_failure_stops_nothing(fleet, kubeconfig):
    for name in ("east", "west"):
        fleet[name].latency = 0.3
    fleet.tracker.reset()

    def work(name: str) -> list[str]:
        with ClusterClient(kubeconfig, name, retry=FAST) as client:
            if name == "north":
                raise RuntimeError("a bug in north's work")
            return [
                client.apply(managed_dr("bookinfo", "ratings", "ratings.bookinfo.svc.cluster.local"))[
                    "metadata"
                ]["name"]
            ]

    done: list[str] = []
    started = time.monotonic()
    results = run_per_cluster(
        ["west", "south", "north", "east"],
        work,
        max_workers=8,
        on_done=lambda name, result: done.append(name),
    )
    assert time.monotonic() - started < 0.9  # 0.3 s per request, concurrently
    assert list(results) == ["west", "south", "north", "east"] and sorted(done) == sorted(results)
    assert results["west"] == results["east"] == ["ratings"]
    assert isinstance(results["south"], ClusterRequestError) and "cannot connect" in results["south"].message
    assert isinstance(results["north"], RuntimeError)
    assert fleet.tracker.peak >= 2
    assert fleet["east"].get("DestinationRule", "ratings", "bookinfo") is not None

    # running again converges: nothing more is written where it worked
    fleet["south"].start()
    writes = {name: fleet[name].writes for name in ("east", "west")}
    again = run_per_cluster(["east", "west", "south"], work)
    assert all(result == ["ratings"] for result in again.values())
    assert {name: fleet[name].writes for name in ("east", "west")} == writes


def test_retry_policy_backoff_is_bounded_and_jittered():
    policy = RetryPolicy(attempts=5, backoff=0.5, max_backoff=2.0, jitter=0.5, max_retry_after=10)
    for attempt, full in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 2.0)]:
        delays = {policy.delay(attempt) for _ in range(50)}
        assert all(full / 2 <= d <= full for d in delays) and len(delays) > 1
    assert policy.delay(1, retry_after=3) == 3  # the server's wish, when longer
    assert policy.delay(1, retry_after=600) == 10  # but capped
    assert RetryPolicy(jitter=0).delay(1) == 0.5


def test_a_namespace_applied_in_a_dry_run_is_known_not_to_exist(fleet, kubeconfig):
    with ClusterClient(kubeconfig, "west", retry=FAST) as west:
        west.apply(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": MULTICLUSTER_NAMESPACE}},
            dry_run=True,
        )
        west.apply(service_entry(), dry_run=True)
    assert [r["method"] for r in fleet["west"].request_log] == ["PATCH"]
    assert west.unvalidated == ["ServiceEntry xcp-multicluster/details-bookinfo"]
