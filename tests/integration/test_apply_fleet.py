"""`tctl apply`, `sync`, `diff`, `delete` and `get` end to end against a live (emulated) fleet.

Three emulated API servers (cluster-1..3, one loopback port each) are seeded with the Namespaces
and Services of examples/bookinfo/fleet; tctl reaches them through one generated multi-context
kubeconfig (KUBECONFIG) with the official `kubernetes` client, and every check reads the objects
back from the emulators or counts the requests they received. Users' own changes (a Service
deleted, a managed object edited) are made with the official client too, as kubectl would.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import EmulatedFleet, namespace, service
from tests.support.bookinfo import (
    CLUSTERS,
    GENERATED_KINDS,
    MANAGED_BY,
    WRITE_METHODS,
    managed_objects,
    names,
    no_writes,
    reset,
    user_client,
    write_requests,
)
from tests.support.cli import STEP

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "bookinfo"
CONFIG = EXAMPLE / "config"
FLEET = EXAMPLE / "fleet"
EASTWEST = EXAMPLE / "eastwest-gateway.yaml"

# Gateway addresses in rule 2's order (IPs in numeric order), networks and regions of the example.
IPS = {
    "cluster-1": ["18.135.167.198", "18.168.99.230", "35.179.51.164"],
    "cluster-2": ["198.51.100.20", "198.51.100.21"],
}
NETWORK = {"cluster-1": "network-1", "cluster-2": "network-2", "cluster-3": "network-3"}
REGION = {"cluster-1": "eu-west-2", "cluster-2": "eu-west-1", "cluster-3": "us-east-1"}
SOURCE = "organizations/tse/tenants/tse/workspaces/bookinfo-ws/settings/bookinfo-ws-settings"
MULTICLUSTER = "xcp-multicluster"


def shadow(origin: str, name: str, ns: str = "bookinfo") -> str:
    """Rule 6's WorkloadEntry name for the first address of `origin`'s Service ns/name."""
    return f"k-{name}-{hashlib.md5(f'{origin}/{ns}/{name}'.encode()).hexdigest()}"


def se(name: str) -> str:
    return f"serviceentry.networking.istio.io/{name}"


def we(name: str) -> str:
    return f"workloadentry.networking.istio.io/{name}"


def dr(name: str) -> str:
    return f"destinationrule.networking.istio.io/{name}"


GW = "gateway.networking.istio.io/tctl-eastwest-gateway"


def user_deletes_service(fleet: EmulatedFleet, cluster: str, ns: str, name: str) -> None:
    from kubernetes import client

    with user_client(fleet, cluster) as api:
        client.CoreV1Api(api).delete_namespaced_service(name, ns)


def user_edits(fleet: EmulatedFleet, cluster: str, plural: str, ns: str, name: str, patch: dict) -> None:
    """`kubectl edit`: a merge patch by another field manager (who then owns what it changed)."""
    from kubernetes import client

    with user_client(fleet, cluster) as api:
        client.CustomObjectsApi(api).patch_namespaced_custom_object(
            "networking.istio.io", "v1", ns, plural, name, patch, field_manager="kubectl-edit"
        )


def colliding_service_entry() -> dict:
    """A user's ServiceEntry with the name tctl gives details' ServiceEntry in cluster-3."""
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "ServiceEntry",
        "metadata": {"name": "details.bookinfo", "namespace": MULTICLUSTER, "labels": {"team": "payments"}},
        "spec": {
            "hosts": ["details.bookinfo.svc.cluster.local"],
            "location": "MESH_EXTERNAL",
            "resolution": "DNS",
            "ports": [{"name": "http", "number": 80, "protocol": "HTTP"}],
        },
    }


def endpoints(origins: list[str]) -> list[dict]:
    return [
        {
            "address": ip,
            "ports": {"http": 15443},
            "labels": {"security.istio.io/tlsMode": "istio", "topology.istio.io/cluster": c},
            "network": NETWORK[c],
            "locality": REGION[c],
        }
        for c in origins
        for ip in IPS[c]
    ]


def assert_tctl_owns(obj: dict) -> None:
    """Labelled as tctl's and written by server-side apply with field manager tctl."""
    meta = obj["metadata"]
    assert meta["labels"][MANAGED_BY] == "tctl", meta
    assert meta["labels"]["tctl.tetrate.io/workspace"] == "bookinfo-ws", meta
    assert meta["annotations"]["tctl.tetrate.io/source"] == SOURCE, meta
    appliers = [(e["manager"], e["operation"]) for e in meta["managedFields"]]
    assert ("tctl", "Apply") in appliers, appliers


# --- the seed scenario ---------------------------------------------------------------------------


def test_apply_writes_the_seed_scenario_field_by_field(fleet, tctl):
    ran = tctl("apply", "-f", CONFIG)
    assert ran.exit_code == 0, ran.stderr
    c1, c2, c3 = (fleet[name] for name in CLUSTERS)

    # where everything is
    assert (
        names(c3, "ServiceEntry")
        == names(c3, "ServiceEntry", MULTICLUSTER)
        == ["details.bookinfo", "reviews.bookinfo"]
    )
    assert names(c1, "ServiceEntry") == names(c2, "ServiceEntry") == []
    assert names(c3, "WorkloadEntry") == names(c3, "DestinationRule") == names(c3, "Gateway") == []
    shadows_in_2 = [
        f"{shadow('cluster-1', s)}{suffix}" for s in ("details", "reviews") for suffix in ("", "-2", "-3")
    ]
    shadows_in_1 = [
        f"{shadow('cluster-2', s)}{suffix}" for s in ("details", "reviews") for suffix in ("", "-2")
    ]
    assert names(c2, "WorkloadEntry", "bookinfo") == sorted(shadows_in_2)
    assert names(c1, "WorkloadEntry", "bookinfo") == sorted(shadows_in_1)
    for cluster in (c1, c2):
        assert names(cluster, "DestinationRule", "bookinfo") == ["details.bookinfo", "reviews.bookinfo"]
        assert names(cluster, "Gateway", "bookinfo") == ["tctl-eastwest-gateway"]

    # ServiceEntries of cluster-3: both origins' gateway addresses, field by field
    for name in ("details", "reviews"):
        entry = c3.get("ServiceEntry", f"{name}.bookinfo", MULTICLUSTER)
        assert entry["spec"] == {
            "hosts": [f"{name}.bookinfo.svc.cluster.local"],
            "location": "MESH_INTERNAL",
            "resolution": "STATIC",
            "ports": [{"name": "http", "number": 9080, "protocol": "HTTP"}],
            "endpoints": endpoints(["cluster-1", "cluster-2"]),
        }, name
        assert entry["metadata"]["annotations"]["tctl.tetrate.io/origins"] == '["cluster-1","cluster-2"]'
    # the namespace they live in was created for them, and is tctl's
    assert "xcp-multicluster" not in names(c1, "Namespace") + names(c2, "Namespace")
    assert_tctl_owns(c3.get("Namespace", MULTICLUSTER))

    # shadow WorkloadEntries: cluster-1's three addresses in cluster-2, cluster-2's two in cluster-1
    for here, origin in (("cluster-2", "cluster-1"), ("cluster-1", "cluster-2")):
        for name in ("details", "reviews"):
            for index, ip in enumerate(IPS[origin], start=1):
                entry_name = shadow(origin, name) + ("" if index == 1 else f"-{index}")
                entry = fleet[here].get("WorkloadEntry", entry_name, "bookinfo")
                assert entry is not None, (here, entry_name)
                assert entry["spec"] == {
                    "address": ip,
                    "ports": {"http": 15443},
                    "labels": {"app": name, "security.istio.io/tlsMode": "istio"},
                    "network": NETWORK[origin],
                    "locality": REGION[origin],
                }, (here, entry_name)
                assert entry["metadata"]["annotations"]["tctl.tetrate.io/origins"] == f'["{origin}"]'

    # failover DestinationRules and the Gateways exposing exactly details and reviews
    for cluster in (c1, c2):
        for name in ("details", "reviews"):
            rule = cluster.get("DestinationRule", f"{name}.bookinfo", "bookinfo")["spec"]
            assert rule["host"] == f"{name}.bookinfo.svc.cluster.local"
            assert rule["trafficPolicy"]["outlierDetection"]
            assert rule["trafficPolicy"]["loadBalancer"]["localityLbSetting"]["failoverPriority"] == [
                "topology.istio.io/network"
            ]
        gateway = cluster.get("Gateway", "tctl-eastwest-gateway", "bookinfo")["spec"]
        assert gateway == {
            "selector": {"app": "eastwest-gateway"},
            "servers": [
                {
                    "hosts": ["details.bookinfo.svc.cluster.local", "reviews.bookinfo.svc.cluster.local"],
                    "port": {"name": "tls", "number": 15443, "protocol": "TLS"},
                    "tls": {"mode": "AUTO_PASSTHROUGH"},
                }
            ],
        }

    # every generated object: labelled as tctl's, applied with field manager tctl
    for cluster in fleet.clusters.values():
        for kind in GENERATED_KINDS:
            for obj in cluster.list(kind):
                assert_tctl_owns(obj)
                assert [e["manager"] for e in obj["metadata"]["managedFields"]] == ["tctl"]
    # the applications' own objects were not touched
    for cluster in fleet.clusters.values():
        for obj in cluster.list("Service"):
            assert "tctl" not in [e["manager"] for e in obj["metadata"]["managedFields"]]

    # one line per object, `cluster kind.group/name outcome`
    lines = ran.step_lines()
    assert lines and all(STEP.match(line) for line in lines), lines
    steps = ran.steps()
    assert steps[("cluster-3", se("details.bookinfo"))] == "created"
    assert steps[("cluster-3", "namespace/xcp-multicluster")] == "created"
    assert steps[("cluster-2", we(shadow("cluster-1", "details") + "-3"))] == "created"
    assert steps[("cluster-1", GW)] == "created"
    assert len(steps) == len(lines) == 2 + 1 + 10 + 4 + 2  # SEs, namespace, WEs, DRs, Gateways
    assert set(steps.values()) == {"created"}


def test_a_second_apply_writes_nothing_and_reads_little(fleet, tctl, applied):
    ran = tctl("apply", "-f", CONFIG, "-v")
    assert ran.exit_code == 0, ran.stderr
    assert set(ran.steps().values()) == {"unchanged"} and len(ran.steps()) == 19
    assert write_requests(fleet) == no_writes(fleet)
    # one list each of Namespaces, Services, DestinationRules, and of what tctl manages
    # (ServiceEntries, WorkloadEntries, Gateways), read with the fleet: none again afterwards
    for name, cluster in fleet.clusters.items():
        assert cluster.writes == 0
        assert dict(cluster.counts) == {"GET": 6}, (name, cluster.counts)
    # nor does a sync
    reset(fleet)
    again = tctl("sync", "-v")
    assert again.exit_code == 0, again.stderr
    assert set(again.steps().values()) == {"unchanged"}
    assert write_requests(fleet) == no_writes(fleet)
    assert all(dict(c.counts) == {"GET": 6} for c in fleet.clusters.values())


def test_managed_objects_not_listed_with_the_fleet_are_listed_again(fleet, tctl, applied):
    """The list of cluster-3's ServiceEntries that goes with the fleet's read fails (three
    attempts): the reconcile lists them again rather than take them for absent."""
    fleet["cluster-3"].fail(500, times=3, method="GET", path="/serviceentries")
    ran = tctl("apply", "-f", CONFIG, "-v")
    assert ran.exit_code == 0, ran.stderr
    assert set(ran.steps().values()) == {"unchanged"} and len(ran.steps()) == 19
    assert write_requests(fleet) == no_writes(fleet)
    # the state's three lists, three failed attempts, then the reconcile's list of all three kinds
    assert fleet["cluster-3"].counts["GET"] == 3 + 3 + 3


def test_managed_objects_listed_with_the_fleet_serve_its_first_reconcile_only(fleet, applied, store):
    """What the fleet listed with its state is handed over once: a later reconcile on the same
    fleet (after writes it could be stale) lists again, and plans the same."""
    from tctl_py.cli import meshview
    from tctl_py.fleet.loader import FleetOptions, load_fleet
    from tctl_py.reconcile.executor import reconcile
    from tctl_py.store import open_store

    with open_store(str(store)) as opened:
        config = meshview.mesh_config(opened)
        ownership = meshview.ownership(opened, config)
    options = FleetOptions(kubeconfig=str(fleet.directory / "kubeconfig.yaml"))
    with load_fleet(options, CLUSTERS, managed=True) as live:
        first = reconcile(config, live, ownership=ownership, write=False)
        assert [dict(fleet[name].counts) for name in CLUSTERS] == [{"GET": 6}] * 3
        second = reconcile(config, live, ownership=ownership, write=False)
        assert [dict(fleet[name].counts) for name in CLUSTERS] == [{"GET": 9}] * 3
    assert first.steps == second.steps and {s.action.value for s in first.steps} == {"unchanged"}


def test_a_cluster_whose_managed_objects_cannot_be_listed_is_not_written(fleet, tctl, applied, tmp_path):
    """cluster-3's state can be read but not its ServiceEntries: it fails, and nothing there is
    created or pruned (what cannot be listed is no evidence of absence); the others are applied."""
    fleet["cluster-3"].fail(500, method="GET", path="/serviceentries")
    ran = tctl("apply", "-f", CONFIG)
    assert ran.exit_code == 4, ran.stderr
    assert re.search(r"^error: cluster cluster-3: .*HTTP 500", ran.stderr, re.MULTILINE), ran.stderr
    assert not [key for key in ran.steps() if key[0] == "cluster-3"]
    assert write_requests(fleet) == no_writes(fleet)
    assert names(fleet["cluster-3"], "ServiceEntry", MULTICLUSTER) == ["details.bookinfo", "reviews.bookinfo"]


# --- the fleet changes ---------------------------------------------------------------------------


def test_a_service_added_in_a_consumer_cluster_turns_its_service_entry_into_shadow_entries(
    fleet, tctl, applied
):
    c3 = fleet["cluster-3"]
    c3.seed(
        namespace("bookinfo"),
        service(
            "bookinfo",
            "details",
            labels={"app": "details"},
            selector={"app": "details"},
            ports=[{"name": "http", "port": 9080}],
        ),
    )
    ran = tctl("sync", "-v")
    assert ran.exit_code == 0, ran.stderr
    steps = ran.steps()
    assert steps[("cluster-3", se("details.bookinfo"))] == "pruned"
    assert steps[("cluster-3", se("reviews.bookinfo"))] == "unchanged"
    assert steps[("cluster-3", dr("details.bookinfo"))] == "created"

    assert names(c3, "ServiceEntry") == ["reviews.bookinfo"]
    from_1, from_2 = shadow("cluster-1", "details"), shadow("cluster-2", "details")
    assert from_1 != from_2
    expected = {
        from_1: ("cluster-1", IPS["cluster-1"][0]),
        f"{from_1}-2": ("cluster-1", IPS["cluster-1"][1]),
        f"{from_1}-3": ("cluster-1", IPS["cluster-1"][2]),
        from_2: ("cluster-2", IPS["cluster-2"][0]),
        f"{from_2}-2": ("cluster-2", IPS["cluster-2"][1]),
    }
    assert names(c3, "WorkloadEntry", "bookinfo") == sorted(expected)
    for entry_name, (origin, ip) in expected.items():
        entry = c3.get("WorkloadEntry", entry_name, "bookinfo")
        assert entry["spec"] == {
            "address": ip,
            "ports": {"http": 15443},
            "labels": {"app": "details", "security.istio.io/tlsMode": "istio"},
            "network": NETWORK[origin],
            "locality": REGION[origin],
        }
        assert_tctl_owns(entry)
        assert steps[("cluster-3", we(entry_name))] == "created"
    rule = c3.get("DestinationRule", "details.bookinfo", "bookinfo")
    assert_tctl_owns(rule)
    assert rule["spec"]["host"] == "details.bookinfo.svc.cluster.local"
    assert rule["spec"]["trafficPolicy"]["loadBalancer"]["localityLbSetting"]["failoverPriority"] == [
        "topology.istio.io/network"
    ]
    # the other clusters were only read
    assert write_requests(fleet)["cluster-1"] == write_requests(fleet)["cluster-2"] == 0
    # converged: the next sync writes nothing
    reset(fleet)
    assert tctl("sync").exit_code == 0
    assert write_requests(fleet) == no_writes(fleet)


def test_a_removed_service_is_pruned_everywhere(fleet, tctl, applied):
    for name in ("cluster-1", "cluster-2"):
        user_deletes_service(fleet, name, "bookinfo", "reviews")
    reset(fleet)
    ran = tctl("sync")
    assert ran.exit_code == 0, ran.stderr
    c1, c2, c3 = (fleet[name] for name in CLUSTERS)
    steps = ran.steps()
    assert steps[("cluster-3", se("reviews.bookinfo"))] == "pruned"
    assert steps[("cluster-2", we(shadow("cluster-1", "reviews") + "-3"))] == "pruned"
    assert steps[("cluster-1", dr("reviews.bookinfo"))] == "pruned"
    assert steps[("cluster-1", GW)] == steps[("cluster-2", GW)] == "configured"

    assert names(c3, "ServiceEntry") == ["details.bookinfo"]
    assert not [n for n in names(c1, "WorkloadEntry") + names(c2, "WorkloadEntry") if "reviews" in n]
    assert names(c1, "DestinationRule") == names(c2, "DestinationRule") == ["details.bookinfo"]
    for cluster in (c1, c2):
        gateway = cluster.get("Gateway", "tctl-eastwest-gateway", "bookinfo")
        assert gateway["spec"]["servers"][0]["hosts"] == ["details.bookinfo.svc.cluster.local"]
    # details is untouched
    assert len(c3.get("ServiceEntry", "details.bookinfo", MULTICLUSTER)["spec"]["endpoints"]) == 5
    assert len(names(c2, "WorkloadEntry")) == 3 and len(names(c1, "WorkloadEntry")) == 2
    reset(fleet)
    assert tctl("sync").exit_code == 0
    assert write_requests(fleet) == no_writes(fleet)


# --- objects tctl does not own -------------------------------------------------------------------


def test_an_unmanaged_colliding_service_entry_is_a_conflict_left_as_it_was(fleet, tctl):
    c3 = fleet["cluster-3"]
    c3.seed(namespace(MULTICLUSTER), colliding_service_entry(), manager="kubectl-client-side-apply")
    before = c3.get("ServiceEntry", "details.bookinfo", MULTICLUSTER)

    ran = tctl("apply", "-f", CONFIG)
    assert ran.exit_code == 5, ran.stderr
    line = next(line for line in ran.step_lines() if se("details.bookinfo") in line)
    assert line.startswith(f"cluster-3 {se('details.bookinfo')} conflict: "), line
    assert "--force-conflicts" in line
    assert c3.get("ServiceEntry", "details.bookinfo", MULTICLUSTER) == before  # byte for byte
    # everything else was applied
    assert ran.steps()[("cluster-3", se("reviews.bookinfo"))] == "created"
    assert names(fleet["cluster-2"], "WorkloadEntry") and names(fleet["cluster-1"], "Gateway")
    # the namespace already existed and is not tctl's: it stays the user's
    assert MANAGED_BY not in (c3.get("Namespace", MULTICLUSTER)["metadata"].get("labels") or {})

    # a sync says the same and still writes nothing to it
    reset(fleet)
    again = tctl("sync")
    assert again.exit_code == 5
    assert write_requests(fleet) == no_writes(fleet)
    assert c3.get("ServiceEntry", "details.bookinfo", MULTICLUSTER) == before

    forced = tctl("apply", "-f", CONFIG, "--force-conflicts")
    assert forced.exit_code == 0, forced.stderr
    assert forced.steps()[("cluster-3", se("details.bookinfo"))] == "configured"
    taken = c3.get("ServiceEntry", "details.bookinfo", MULTICLUSTER)
    assert_tctl_owns(taken)
    assert taken["spec"]["location"] == "MESH_INTERNAL" and taken["spec"]["resolution"] == "STATIC"
    assert taken["spec"]["ports"] == [{"name": "http", "number": 9080, "protocol": "HTTP"}]
    assert len(taken["spec"]["endpoints"]) == 5
    reset(fleet)
    assert tctl("sync").exit_code == 0
    assert write_requests(fleet) == no_writes(fleet)


# --- clusters that fail --------------------------------------------------------------------------


def derived_from(fleet: EmulatedFleet, origin: str) -> dict[tuple[str, str, str, str], str]:
    """resourceVersion of every generated object (any cluster) whose origins include `origin`."""
    found = {}
    for name, cluster in fleet.clusters.items():
        if not cluster.running:
            continue
        for kind in ("Namespace", *GENERATED_KINDS):
            for obj in cluster.list(kind):
                meta = obj["metadata"]
                origins = (meta.get("annotations") or {}).get("tctl.tetrate.io/origins", "[]")
                if origin in json.loads(origins):
                    found[(name, kind, meta.get("namespace", ""), meta["name"])] = meta["resourceVersion"]
    return found


def test_a_down_cluster_changes_nothing_derived_from_it_until_it_is_back(fleet, tctl, applied):
    c1, c2, c3 = (fleet[name] for name in CLUSTERS)
    c1.stop()
    before = derived_from(fleet, "cluster-1")
    assert len(before) == 2 + 1 + 6 + 2  # cluster-3's SEs and namespace, cluster-2's WEs and DRs
    # while cluster-1 is down, reviews goes away from cluster-2
    user_deletes_service(fleet, "cluster-2", "bookinfo", "reviews")
    reset(fleet)
    mark = len(c2.request_log)

    ran = tctl("sync")
    assert ran.exit_code == 4, ran.stderr
    assert "cluster-1" in ran.stderr and c1.server in ran.stderr
    assert "nothing derived from it was changed elsewhere" in ran.stderr
    assert derived_from(fleet, "cluster-1") == before
    # the one write: cluster-2's own Gateway no longer exposes reviews (it derives from cluster-2)
    assert write_requests(fleet) == {"cluster-1": 0, "cluster-2": 1, "cluster-3": 0}
    assert [r["path"] for r in c2.request_log[mark:] if r["method"] in WRITE_METHODS] == [
        "/apis/networking.istio.io/v1/namespaces/bookinfo/gateways/tctl-eastwest-gateway"
    ]
    # cluster-3 keeps cluster-1's endpoints, cluster-2 its WorkloadEntries pointing at cluster-1
    assert c3.get("ServiceEntry", "reviews.bookinfo", MULTICLUSTER)["spec"]["endpoints"] == endpoints(
        ["cluster-1", "cluster-2"]
    )
    assert (
        c2.get("WorkloadEntry", shadow("cluster-1", "details") + "-3", "bookinfo")["spec"]["address"]
        == IPS["cluster-1"][2]
    )
    steps = ran.steps()
    assert steps[("cluster-3", se("reviews.bookinfo"))] == "kept"
    assert steps[("cluster-2", we(shadow("cluster-1", "reviews")))] == "kept"
    assert not [key for key in steps if key[0] == "cluster-1"]

    c1.start()
    reset(fleet)
    back = tctl("sync")
    assert back.exit_code == 0, back.stderr
    steps = back.steps()
    # reviews now runs in cluster-1 only: cluster-3's ServiceEntry keeps cluster-1's endpoints
    # alone, cluster-1's shadows of cluster-2's reviews go, cluster-2's shadows of cluster-1's
    # reviews go too, and cluster-2 now consumes reviews through a ServiceEntry of its own
    assert c3.get("ServiceEntry", "reviews.bookinfo", MULTICLUSTER)["spec"]["endpoints"] == endpoints(
        ["cluster-1"]
    )
    assert steps[("cluster-3", se("reviews.bookinfo"))] == "configured"
    assert steps[("cluster-1", we(shadow("cluster-2", "reviews")))] == "pruned"
    assert not [n for n in names(c1, "WorkloadEntry") if "reviews" in n]
    assert not [n for n in names(c2, "WorkloadEntry") if "reviews" in n]
    assert names(c2, "ServiceEntry", MULTICLUSTER) == ["reviews.bookinfo"]
    reset(fleet)
    third = tctl("sync", "-v")
    assert third.exit_code == 0, third.stderr
    assert set(third.steps().values()) == {"unchanged"}
    assert write_requests(fleet) == no_writes(fleet)


def test_apply_with_a_cluster_down_applies_the_others_and_names_it(fleet, tctl):
    fleet["cluster-2"].stop()
    ran = tctl("apply", "-f", CONFIG)
    assert ran.exit_code == 4, ran.stderr
    assert re.search(
        r"^error: cluster cluster-2: could not be read: .*connection refused", ran.stderr, re.MULTILINE
    ), ran.stderr
    assert names(fleet["cluster-1"], "Gateway") == ["tctl-eastwest-gateway"]
    assert fleet["cluster-3"].get("ServiceEntry", "details.bookinfo", MULTICLUSTER)["spec"][
        "endpoints"
    ] == endpoints(["cluster-1"])
    assert not [key for key in ran.steps() if key[0] == "cluster-2"]
    fleet["cluster-2"].start()
    again = tctl("apply", "-f", CONFIG)
    assert again.exit_code == 0, again.stderr
    assert fleet["cluster-3"].get("ServiceEntry", "details.bookinfo", MULTICLUSTER)["spec"][
        "endpoints"
    ] == endpoints(["cluster-1", "cluster-2"])


def test_transient_server_errors_on_writes_are_retried(fleet, tctl):
    fleet["cluster-2"].fail(500, times=2, method="PATCH")
    ran = tctl("apply", "-f", CONFIG)
    assert ran.exit_code == 0, ran.stderr
    assert len(names(fleet["cluster-2"], "WorkloadEntry")) == 6
    assert fleet["cluster-2"].counts["PATCH"] == 9 + 2
    assert not fleet["cluster-2"].emulator.faults


def test_transient_server_errors_on_reads_are_retried(fleet, tctl):
    """A server answering 500 twice, then fine: the apply still succeeds (SPEC §7, the issue).
    The fleet's first reads (list namespaces/services) are requests like any other."""
    fleet["cluster-2"].fail(500, times=2)
    ran = tctl("apply", "-f", CONFIG)
    assert ran.exit_code == 0, ran.stderr
    assert len(names(fleet["cluster-2"], "WorkloadEntry")) == 6
    assert (
        len(fleet["cluster-3"].get("ServiceEntry", "details.bookinfo", MULTICLUSTER)["spec"]["endpoints"])
        == 5
    )


def test_a_cluster_slower_than_the_timeout_fails_alone(fleet, tctl):
    """Latency beyond --request-timeout: that cluster fails (after its attempts), the others
    are applied."""
    fleet["cluster-2"].latency = 1.0
    ran = tctl("apply", "-f", CONFIG, "--request-timeout", "0.5")
    assert ran.exit_code == 4, ran.stderr
    assert re.search(
        r"^error: cluster cluster-2: could not be read: no answer from "
        r"http://127\.0\.0\.1:\d+ within 0\.5 s \(listing namespaces\) \(after 3 attempts\)",
        ran.stderr,
        re.MULTILINE,
    ), ran.stderr
    assert names(fleet["cluster-1"], "Gateway") == ["tctl-eastwest-gateway"]
    assert names(fleet["cluster-3"], "ServiceEntry") == ["details.bookinfo", "reviews.bookinfo"]
    assert fleet["cluster-2"].counts["PATCH"] == 0


# --- diff ----------------------------------------------------------------------------------------


def test_diff_exit_codes_and_stable_bytes(fleet, tctl, applied, changed_setting):
    same = tctl("diff")
    assert (same.exit_code, same.stdout) == (0, ""), same.stderr
    first = tctl("diff", "-f", changed_setting)
    second = tctl("diff", "-f", changed_setting)
    assert first.exit_code == second.exit_code == 1, first.stderr
    assert first.stdout.encode() == second.stdout.encode()
    text = first.stdout
    for cluster in ("cluster-1", "cluster-2"):
        header = f"--- a/{cluster}/Gateway/bookinfo/tctl-eastwest-gateway\n"
        assert header in text
        hunk = text.split(header, 1)[1].split("\n--- ", 1)[0]
        assert "-    - reviews.bookinfo.svc.cluster.local" in hunk
    assert "--- a/cluster-3/ServiceEntry/xcp-multicluster/reviews.bookinfo\n+++ /dev/null" in text
    assert "-    - serviceLabels:\n-        app: reviews" in text  # the stored setting's own diff
    # a diff writes nothing, anywhere
    assert write_requests(fleet) == no_writes(fleet)
    assert tctl("diff").exit_code == 0


def test_diff_with_an_external_diff_program(fleet, tctl, applied, changed_setting, monkeypatch, store):
    env = {"KUBECTL_EXTERNAL_DIFF": "diff -u -N"}
    done = subprocess.run(
        [sys.executable, "-m", "tctl_py", "diff", "-f", str(changed_setting), "--store", str(store)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert re.search(
        r"^diff -u -N \S+/LIVE/cluster-1\.Gateway\.bookinfo\.tctl-eastwest-gateway ",
        done.stdout,
        re.MULTILINE,
    ), done.stdout
    assert "-    - reviews.bookinfo.svc.cluster.local" in done.stdout
    monkeypatch.setenv("KUBECTL_EXTERNAL_DIFF", "diff -u -N")
    assert tctl("diff").exit_code == 0
    # TCTL_EXTERNAL_DIFF wins over KUBECTL_EXTERNAL_DIFF
    monkeypatch.setenv("KUBECTL_EXTERNAL_DIFF", "echo KUBECTL")
    monkeypatch.setenv("TCTL_EXTERNAL_DIFF", "echo TCTL")
    ran = tctl("diff", "-f", changed_setting)
    assert ran.exit_code == 1, ran.stderr
    assert "TCTL " in ran.stdout and "KUBECTL" not in ran.stdout
    assert write_requests(fleet) == no_writes(fleet)


# --- dry runs and --no-sync ----------------------------------------------------------------------


def test_client_dry_run_writes_nothing_and_exits_1_then_0_after_a_real_apply(fleet, tctl):
    ran = tctl("apply", "-f", CONFIG, "--dry-run")
    assert ran.exit_code == 1, ran.stderr
    assert ran.steps()[("cluster-3", se("details.bookinfo"))] == "created"
    assert "+++ b/cluster-3/ServiceEntry/xcp-multicluster/details.bookinfo" in ran.stdout
    assert write_requests(fleet) == no_writes(fleet)
    assert all(c.writes == 0 for c in fleet.clusters.values())
    assert tctl("get", "organizations").stdout == ""  # nor to the store
    assert tctl("apply", "-f", CONFIG).exit_code == 0
    reset(fleet)
    after = tctl("apply", "-f", CONFIG, "--dry-run")
    assert after.exit_code == 0, after.stdout + after.stderr
    assert write_requests(fleet) == no_writes(fleet)


def test_server_dry_run_sends_writes_with_dry_run_all_and_persists_nothing(fleet, tctl):
    ran = tctl("apply", "-f", CONFIG, "--dry-run=server")
    assert ran.exit_code == 1, ran.stderr
    assert ran.steps()[("cluster-1", GW)] == "created"
    assert f"cluster-1 {GW} created (server dry run)" in ran.stdout
    for name, cluster in fleet.clusters.items():
        writes = [r for r in cluster.request_log if r["method"] in WRITE_METHODS]
        assert writes, name
        for request in writes:
            assert request["query"].get("dryRun") == "All", (name, request)
            assert request["query"].get("fieldManager") == "tctl", (name, request)
        assert cluster.writes == 0, name
        assert managed_objects(cluster) == [], name
    # the shadow WorkloadEntries were validated by cluster-2's server
    assert (
        sum(
            1
            for r in fleet["cluster-2"].request_log
            if r["method"] == "PATCH" and "/workloadentries/" in r["path"]
        )
        == 6
    )
    # cluster-3's ServiceEntries go to xcp-multicluster, which does not exist yet: said, not sent
    assert (
        "note: cluster cluster-3: 2 object(s) not sent for validation, as their namespace does not exist yet"
    ) in ran.stderr
    assert tctl("get", "organizations").stdout == ""


def test_no_sync_stores_only(fleet, tctl):
    ran = tctl("apply", "-f", CONFIG, "--no-sync")
    assert ran.exit_code == 0, ran.stderr
    assert "workspacesetting/bookinfo-ws-settings created" in ran.stdout
    assert not ran.step_lines()
    assert all(sum(c.counts.values()) == 0 for c in fleet.clusters.values())
    assert tctl("get", "wss", "-o", "name").stdout.strip() == "workspacesetting/bookinfo-ws-settings"


# --- delete --------------------------------------------------------------------------------------


def test_deleting_the_workspace_prunes_everything_tctl_generated(fleet, tctl, applied):
    ran = tctl("delete", "ws", "bookinfo-ws", "--org", "tse", "--tenant", "tse", "--cascade")
    assert ran.exit_code == 0, ran.stderr
    assert "workspace/bookinfo-ws deleted" in ran.stdout
    assert "workspacesetting/bookinfo-ws-settings deleted" in ran.stdout
    assert set(ran.steps().values()) == {"pruned"} and len(ran.steps()) == 18
    for name, cluster in fleet.clusters.items():
        left = [(k, n) for k, _, n in managed_objects(cluster)]
        assert left == ([("Namespace", MULTICLUSTER)] if name == "cluster-3" else []), name
        assert cluster.counts["PATCH"] == 0
    # the xcp-multicluster namespace is never pruned: deleting it would delete what else is in it
    assert ("cluster-3", "namespace/xcp-multicluster") not in ran.steps()
    # the applications are untouched
    assert names(fleet["cluster-1"], "Service", "bookinfo") == [
        "details",
        "eastwest-gateway",
        "productpage",
        "ratings",
        "reviews",
    ]
    assert names(fleet["cluster-3"], "Namespace") == ["default", "istio-system", "sleep", MULTICLUSTER]


def test_pruning_the_multicluster_namespace_never_deletes_objects_tctl_does_not_own(fleet, tctl, applied):
    """SPEC §3.3: only objects labelled managed-by tctl are ever deleted. Deleting the
    xcp-multicluster Namespace deletes everything in it, the user's objects too."""
    c3 = fleet["cluster-3"]
    theirs = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "ServiceEntry",
        "metadata": {"name": "httpbin-external", "namespace": MULTICLUSTER},
        "spec": {
            "hosts": ["httpbin.org"],
            "location": "MESH_EXTERNAL",
            "resolution": "DNS",
            "ports": [{"name": "http", "number": 80, "protocol": "HTTP"}],
        },
    }
    c3.seed(theirs)
    ran = tctl("delete", "ws", "bookinfo-ws", "--org", "tse", "--tenant", "tse", "--cascade")
    assert ran.exit_code == 0, ran.stderr
    assert [(k, n) for k, _, n in managed_objects(c3)] in ([], [("Namespace", MULTICLUSTER)])
    assert names(c3, "ServiceEntry", MULTICLUSTER) == ["httpbin-external"]


# --- IngressGateway ------------------------------------------------------------------------------


def test_ingress_gateway_is_installed_in_the_named_cluster_only(fleet, tctl, applied):
    refused = tctl("apply", "-f", EASTWEST)
    assert refused.exit_code == 2
    assert "--cluster" in refused.stderr
    assert write_requests(fleet) == no_writes(fleet)

    ran = tctl("apply", "-f", EASTWEST, "--cluster", "cluster-1")
    assert ran.exit_code == 0, ran.stderr
    assert "cluster-1 ingressgateway.install.tetrate.io/eastwest-gateway created" in ran.stdout.splitlines()
    installed = fleet["cluster-1"].get("IngressGateway", "eastwest-gateway", "bookinfo")
    assert installed["apiVersion"] == "install.tetrate.io/v1alpha1"
    assert installed["spec"] == {"eastWestOnly": True}
    assert [e["manager"] for e in installed["metadata"]["managedFields"]] == ["tctl"]
    assert fleet["cluster-2"].list("IngressGateway") == fleet["cluster-3"].list("IngressGateway") == []
    assert write_requests(fleet) == {"cluster-1": 1, "cluster-2": 0, "cluster-3": 0}

    reset(fleet)
    again = tctl("apply", "-f", EASTWEST, "--cluster", "cluster-1", "-v")
    assert again.exit_code == 0, again.stderr
    assert (
        "cluster-1 ingressgateway.install.tetrate.io/eastwest-gateway unchanged" in again.stdout.splitlines()
    )
    assert write_requests(fleet) == no_writes(fleet)


# --- get: the SYNC column ------------------------------------------------------------------------


def sync_column(tctl, kind: str = "se") -> dict[tuple[str, str], str]:
    ran = tctl("get", kind, "-A")
    assert ran.exit_code == 0, ran.stderr
    lines = ran.stdout.splitlines()
    header = lines[0].split()
    assert header[0] == "CLUSTER" and header[-1] == "SYNC", header
    return {(line.split()[0], line.split()[2]): line.split()[-1] for line in lines[1:]}


def test_get_shows_the_sync_state_of_each_object(fleet, tctl):
    assert tctl("apply", "-f", CONFIG, "--no-sync").exit_code == 0
    assert sync_column(tctl) == {
        ("cluster-3", "details.bookinfo"): "missing",
        ("cluster-3", "reviews.bookinfo"): "missing",
    }
    assert tctl("sync").exit_code == 0
    assert set(sync_column(tctl).values()) == {"in-sync"}
    assert set(sync_column(tctl, "we").values()) == {"in-sync"}
    reset(fleet)

    user_edits(
        fleet,
        "cluster-3",
        "serviceentries",
        MULTICLUSTER,
        "reviews.bookinfo",
        {"spec": {"resolution": "DNS"}},
    )
    assert sync_column(tctl) == {
        ("cluster-3", "details.bookinfo"): "in-sync",
        ("cluster-3", "reviews.bookinfo"): "drifted",
    }
    assert tctl("diff").exit_code == 1
    assert write_requests(fleet)["cluster-3"] == 1  # the user's edit, nothing from tctl

    # someone replaces tctl's details ServiceEntry with their own, of the same name
    from kubernetes import client

    with user_client(fleet, "cluster-3") as api:
        custom = client.CustomObjectsApi(api)
        custom.delete_namespaced_custom_object(
            "networking.istio.io", "v1", MULTICLUSTER, "serviceentries", "details.bookinfo"
        )
        custom.create_namespaced_custom_object(
            "networking.istio.io", "v1", MULTICLUSTER, "serviceentries", colliding_service_entry()
        )
    assert sync_column(tctl)[("cluster-3", "details.bookinfo")] == "conflict"


def test_sync_repairs_an_object_someone_edited(fleet, tctl, applied):
    """`sync` updates what drifted (its help, SPEC §7 "re-running converges"): an object labelled
    as tctl's, whose spec.resolution someone changed with `kubectl edit`, is put back. Like any
    controller reconciling its own objects, tctl must take its fields back (force)."""
    user_edits(
        fleet,
        "cluster-3",
        "serviceentries",
        MULTICLUSTER,
        "reviews.bookinfo",
        {"spec": {"resolution": "DNS"}},
    )
    ran = tctl("sync")
    assert ran.exit_code == 0, ran.stdout + ran.stderr
    assert ran.steps()[("cluster-3", se("reviews.bookinfo"))] == "configured"
    entry = fleet["cluster-3"].get("ServiceEntry", "reviews.bookinfo", MULTICLUSTER)
    assert entry["spec"]["resolution"] == "STATIC"
    assert set(sync_column(tctl).values()) == {"in-sync"}


def test_force_conflicts_repairs_an_object_someone_edited(fleet, tctl, applied):
    """The conflict's own hint says "re-run with --force-conflicts to take these fields over":
    doing so must take them over, for tctl's own (labelled) objects too."""
    user_edits(
        fleet,
        "cluster-3",
        "serviceentries",
        MULTICLUSTER,
        "reviews.bookinfo",
        {"spec": {"resolution": "DNS"}},
    )
    ran = tctl("sync", "--force-conflicts")
    assert ran.exit_code == 0, ran.stdout + ran.stderr
    entry = fleet["cluster-3"].get("ServiceEntry", "reviews.bookinfo", MULTICLUSTER)
    assert entry["spec"]["resolution"] == "STATIC"
    reset(fleet)
    assert tctl("sync").exit_code == 0
    assert write_requests(fleet) == no_writes(fleet)


def test_only_the_clusters_a_command_shows_or_targets_count_when_one_is_down(fleet, tctl, applied):
    """One rule for get, sync and apply (issue 8 item 7): a dead cluster the command does not
    show or target is no failure of it; one it shows is, in one message format."""
    fleet["cluster-3"].stop()
    shown_elsewhere = tctl("get", "se", "--cluster", "cluster-2")
    assert shown_elsewhere.exit_code == 0, shown_elsewhere.stderr
    assert "error:" not in shown_elsewhere.stderr
    synced_elsewhere = tctl("sync", "--cluster", "cluster-1")
    assert synced_elsewhere.exit_code == 0, synced_elsewhere.stderr
    for args in (("get", "se", "-A"), ("get", "se", "--cluster", "cluster-3"), ("sync",)):
        ran = tctl(*args)
        assert ran.exit_code == 4, (args, ran.stderr)
        assert re.search(r"^error: cluster cluster-3: could not be read: ", ran.stderr, re.MULTILINE), args
