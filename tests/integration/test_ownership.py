"""Fault matrix of issue 7, items 1, 2, 3, 5 and 6: tctl never deletes what its configuration did
not produce, `--prune` is the explicit GitOps form, reconciles of one store take turns, origins
survive odd context names, and a gateway whose addresses cannot be parsed tears nothing down. Three emulated clusters with the example's bookinfo, reached through a
real kubeconfig by the official client; objects are counted in the emulators before and after.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import EmulatedFleet, namespace, service
from tests.support.bookinfo import (
    CONFIG,
    ROOT,
    fleet_objects,
    fleet_objects_of,
    managed_objects,
    no_writes,
    reset,
    user_client,
    write_requests,
)
from tests.support.cli import example_objects

pytestmark = pytest.mark.integration

SOURCE = "organizations/tse/tenants/tse/workspaces/bookinfo-ws/settings/bookinfo-ws-settings"

ACME_TENANT = """\
apiVersion: api.tsb.tetrate.io/v2
kind: Organization
metadata: {name: acme}
---
apiVersion: api.tsb.tetrate.io/v2
kind: Tenant
metadata: {name: shop, organization: acme}
"""
OTHER_WORKSPACE = (
    ACME_TENANT
    + """\
---
apiVersion: api.tsb.tetrate.io/v2
kind: Workspace
metadata: {name: other-ws, tenant: shop, organization: acme}
spec:
  namespaceSelector: {names: ["*/other-ns"]}
---
apiVersion: api.tsb.tetrate.io/v2
kind: WorkspaceSetting
metadata: {name: other-ws-settings, workspace: other-ws, tenant: shop, organization: acme}
spec:
  defaultEastWestGatewaySettings:
    - workloadSelector: {namespace: other-ns, labels: {app: other-gateway}}
"""
)


def other_ns_objects() -> list[dict]:
    """other-ns in cluster-1: a gateway with an address and one Service it exposes."""
    return [
        namespace("other-ns"),
        service(
            "other-ns",
            "other-gateway",
            type="LoadBalancer",
            selector={"app": "other-gateway"},
            ports=[{"name": "tls", "port": 15443}],
            load_balancer=[{"ip": "192.0.2.50"}],
        ),
        service("other-ns", "cart", labels={"app": "cart"}),
    ]


def outcomes(ran, outcome: str) -> list[tuple[str, str]]:
    return sorted(key for key, value in ran.steps().items() if value == outcome)


@pytest.fixture()
def store_b(tmp_path) -> Path:
    """A second store: another home folder, a CI runner, `sudo`."""
    return tmp_path / "elsewhere" / "store.db"


def config_without_setting(tmp_path: Path) -> Path:
    """The example's configuration folder, its WorkspaceSetting deleted from git."""
    folder = tmp_path / "git"
    shutil.copytree(CONFIG, folder)
    (folder / "bookinfo-settings.yaml").unlink()
    return folder


# --- item 1: an empty, mistyped or foreign store prunes nothing ----------------------------------


def test_a_mistyped_store_prunes_nothing_and_lists_what_it_left_alone(fleet, tctl, applied, tmp_path):
    before = fleet_objects(fleet)
    assert sum(map(len, before.values())) >= 16
    ran = tctl("sync", store_path=tmp_path / "typo.db")
    assert ran.exit_code == 0, ran.stderr
    assert write_requests(fleet) == no_writes(fleet)
    assert fleet_objects(fleet) == before
    assert "left alone (-v lists them)" in ran.stderr
    assert "owned elsewhere" not in ran.stdout
    verbose = tctl("sync", "-v", store_path=tmp_path / "typo.db")
    assert verbose.exit_code == 0
    elsewhere = [line for line in verbose.stdout.splitlines() if " owned elsewhere: " in line]
    assert len(elsewhere) == sum(len([o for o in objs if o[0] != "Namespace"]) for objs in before.values())
    assert all(SOURCE in line for line in elsewhere)


def test_a_second_store_with_another_workspace_leaves_the_first_ones_objects(
    fleet, tctl, applied, store_b, tmp_path
):
    fleet["cluster-1"].seed(*other_ns_objects())
    before = fleet_objects(fleet)
    versions = {
        name: {
            (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): o["metadata"][
                "resourceVersion"
            ]
            for kind in ("ServiceEntry", "WorkloadEntry", "DestinationRule", "Gateway")
            for o in cluster.list(kind)
        }
        for name, cluster in fleet.clusters.items()
    }
    other = tmp_path / "other.yaml"
    other.write_text(OTHER_WORKSPACE)
    ran = tctl("apply", "-f", other, store_path=store_b)
    assert ran.exit_code == 0, ran.stderr
    assert outcomes(ran, "pruned") == []
    made_by_b = outcomes(ran, "created")
    # workspace B got its own objects (cart exposed to cluster-2 and -3), A's are untouched
    assert ("cluster-2", "serviceentry.networking.istio.io/cart.other-ns") in ran.steps()
    for name, objects in before.items():
        assert set(objects) <= set(managed_objects(fleet[name]))
        for kind in ("ServiceEntry", "WorkloadEntry", "DestinationRule", "Gateway"):
            for o in fleet[name].list(kind):
                key = (kind, o["metadata"].get("namespace", ""), o["metadata"]["name"])
                if key in versions[name]:
                    assert o["metadata"]["resourceVersion"] == versions[name][key], key
    # store B deleting its workspace prunes its own objects only; store A's stay
    ran = tctl("delete", "workspace", "other-ws", "--cascade", store_path=store_b)
    assert ran.exit_code == 0, ran.stderr
    assert outcomes(ran, "pruned") == [step for step in made_by_b if "namespace/" not in step[1]]
    # B's xcp-multicluster Namespace in cluster-2 stays (Namespaces are never pruned)
    assert fleet_objects(fleet, namespaces=False) == fleet_objects_of(before, namespaces=False)


def test_a_deletion_recorded_while_not_syncing_is_pruned_by_a_later_sync(fleet, tctl, applied):
    ran = tctl("delete", "workspacesetting", "bookinfo-ws-settings", "--no-sync")
    assert ran.exit_code == 0, ran.stderr
    assert write_requests(fleet) == no_writes(fleet)
    ran = tctl("sync")
    assert ran.exit_code == 0, ran.stderr
    left = fleet_objects(fleet)
    assert all(kind == "Namespace" for objects in left.values() for kind, _, _ in objects), left


def test_an_object_another_store_produced_under_a_name_we_need_is_a_conflict(
    fleet, tctl, applied, store_b, tmp_path
):
    """The same workspace and setting names in another organization: same object names,
    different configuration. Store B must not take A's objects over silently."""
    copy = tmp_path / "copy"
    shutil.copytree(CONFIG, copy)
    for path in copy.glob("*.yaml"):
        path.write_text(
            path.read_text()
            .replace("organization: tse", "organization: tse2")
            .replace(
                "name: tse\nspec:\n  displayName: TSE\n  description",
                "name: tse2\nspec:\n  displayName: TSE\n  description",
            )
        )
    before = fleet_objects(fleet)
    ran = tctl("apply", "-f", copy, store_path=store_b)
    assert ran.exit_code == 5, ran.stdout + ran.stderr
    assert outcomes(ran, "conflict")
    assert write_requests(fleet) == no_writes(fleet)
    assert fleet_objects(fleet) == before


# --- item 2: GitOps pruning is explicit ----------------------------------------------------------


def test_prune_from_a_fresh_store_removes_a_setting_deleted_from_git(fleet, tctl, tmp_path):
    ran = tctl("apply", "-f", CONFIG, "--prune", store_path=tmp_path / "run-1.db")
    assert ran.exit_code == 0, ran.stderr
    created = fleet_objects(fleet)
    git = config_without_setting(tmp_path)
    # without --prune, a fresh store removes nothing
    ran = tctl("apply", "-f", git, store_path=tmp_path / "run-2.db")
    assert ran.exit_code == 0, ran.stderr
    assert outcomes(ran, "pruned") == [] and fleet_objects(fleet) == created
    # --prune --dry-run and diff --prune show it first, write nothing, exit 1
    reset(fleet)
    dry = tctl("apply", "-f", git, "--prune", "--dry-run", store_path=tmp_path / "run-3.db")
    assert dry.exit_code == 1, dry.stderr
    assert len(outcomes(dry, "pruned")) == sum(
        len([o for o in v if o[0] != "Namespace"]) for v in created.values()
    )
    diff = tctl("diff", "-f", git, "--prune", store_path=tmp_path / "run-3.db")
    assert diff.exit_code == 1, diff.stderr
    assert "-  name: k-details-" in diff.stdout
    assert write_requests(fleet) == no_writes(fleet)
    # the pipeline's real run
    ran = tctl("apply", "-f", git, "--prune", store_path=tmp_path / "run-4.db")
    assert ran.exit_code == 0, ran.stderr
    assert outcomes(ran, "pruned") == outcomes(dry, "pruned")
    left = fleet_objects(fleet)
    assert all(kind == "Namespace" for objects in left.values() for kind, _, _ in objects), left


def test_prune_makes_the_store_follow_and_leaves_other_organizations(fleet, tctl, store, store_b, tmp_path):
    fleet["cluster-1"].seed(*other_ns_objects())
    other = tmp_path / "other.yaml"
    other.write_text(OTHER_WORKSPACE)
    acme_tenant = tmp_path / "acme.yaml"
    acme_tenant.write_text(ACME_TENANT)
    # this store holds tse and acme's tenant; another store wrote acme's objects to the fleet
    assert tctl("apply", "-f", CONFIG, "-f", acme_tenant).exit_code == 0
    assert tctl("apply", "-f", other, store_path=store_b).exit_code == 0
    acme = {
        name: [o for o in objects if o[1] == "other-ns" or o[2].endswith(".other-ns")]
        for name, objects in fleet_objects(fleet).items()
    }
    assert any(acme.values())
    ran = tctl("apply", "-f", config_without_setting(tmp_path), "--prune")
    assert ran.exit_code == 0, ran.stderr
    assert "workspacesetting/bookinfo-ws-settings deleted" in ran.stdout
    assert outcomes(ran, "pruned")
    assert tctl("get", "workspacesettings", "-o", "name").stdout == ""
    assert "tenant/shop" in tctl("get", "tenants", "-o", "name").stdout
    for name, objects in acme.items():
        assert set(objects) <= set(managed_objects(fleet[name]))


def test_prune_needs_input_for_diff(fleet, tctl, applied):
    ran = tctl("diff", "--prune")
    assert ran.exit_code == 2 and "-f" in ran.stderr


# --- item 3: concurrent commands on one store end with the fleet equal to the store ----------------


def tctl_process(*args: str, store: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tctl_py", *map(str, args), "--store", str(store)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("first,second", [("changed", "config"), ("config", "delete")])
def test_concurrent_commands_leave_the_fleet_equal_to_the_store(
    fleet, tctl, applied, store, changed_setting, first, second
):
    commands = {
        "config": ("apply", "-f", CONFIG),
        "changed": ("apply", "-f", changed_setting),
        "delete": ("delete", "workspace", "bookinfo-ws", "--cascade"),
    }
    running = [tctl_process(*commands[first], store=store), tctl_process(*commands[second], store=store)]
    for process in running:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, out + err
    diff = tctl("diff")
    assert diff.exit_code == 0, diff.stdout + diff.stderr


def test_a_reconcile_waits_for_the_lock_and_says_so(fleet, tctl, applied, store):
    from tctl_py.store import Store

    with Store(store).reconcile_lock("tctl apply (held by the test)"):
        waiting = tctl_process("sync", store=store)
        time.sleep(1.5)
        assert waiting.poll() is None  # still waiting
    _out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, err
    assert "waiting for another tctl command" in err and "tctl apply (held by the test)" in err


# --- item 5: a comma in a context name ---------------------------------------------------------------


def test_a_down_cluster_whose_name_holds_a_comma_keeps_what_derives_from_it(
    emulated: EmulatedFleet, tctl, monkeypatch, tmp_path
):
    odd = "cluster-1,cluster-3"
    emulated.add_cluster(odd, objects=example_objects("cluster-1"))
    emulated.add_cluster("cluster-2", objects=example_objects("cluster-2"))
    emulated.add_cluster("cluster-3", objects=example_objects("cluster-3"))
    monkeypatch.setenv("KUBECONFIG", str(emulated.write_kubeconfig(current_context="cluster-2")))
    config = tmp_path / "config"
    shutil.copytree(CONFIG, config)
    (config / "clusters.yaml").unlink()  # every context of the kubeconfig is the fleet
    ran = tctl("apply", "-f", config)
    assert ran.exit_code == 0, ran.stderr
    shadows = [
        o for o in managed_objects(emulated["cluster-2"]) if o[0] in ("WorkloadEntry", "DestinationRule")
    ]
    assert shadows
    before = fleet_objects(emulated)
    emulated[odd].stop()
    reset(emulated)
    ran = tctl("sync")
    assert ran.exit_code == 4
    assert outcomes(ran, "pruned") == []
    assert {name: objects for name, objects in fleet_objects(emulated).items()} == {
        name: objects for name, objects in before.items() if name != odd
    }
    assert sum(write_requests(emulated).values()) == 0
    assert f"cluster {odd}: could not be read" in ran.stderr


# --- item 6: a malformed gateway address annotation ---------------------------------------------------


def annotate_gateway(fleet: EmulatedFleet, cluster: str, value: str | None) -> None:
    from kubernetes import client

    patch = {"metadata": {"annotations": {"xcp.tetrate.io/cluster-external-addresses": value}}}
    with user_client(fleet, cluster) as api:
        client.CoreV1Api(api).patch_namespaced_service("eastwest-gateway", "bookinfo", patch)


def test_a_malformed_gateway_annotation_keeps_what_derives_from_it_until_fixed(fleet, tctl, applied):
    before = fleet_objects(fleet)
    annotate_gateway(fleet, "cluster-1", "not_an_ip,also")
    reset(fleet)
    ran = tctl("sync")
    assert ran.exit_code == 4, ran.stdout + ran.stderr
    assert "error: cluster-1: gateway bookinfo/eastwest-gateway" in ran.stderr
    assert "not_an_ip,also" in ran.stderr
    assert outcomes(ran, "pruned") == [] and outcomes(ran, "configured") == []
    assert write_requests(fleet) == no_writes(fleet)
    assert fleet_objects(fleet) == before
    # fixed: converges without anything else to do
    annotate_gateway(fleet, "cluster-1", None)
    ran = tctl("sync")
    assert ran.exit_code == 0, ran.stderr
    assert fleet_objects(fleet) == before


# --- item 1 as a user sees it: kubectl against the same clusters -----------------------------------


def kubectl(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), *args], capture_output=True, text=True, timeout=60
    )


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_still_lists_the_service_entries_after_a_mistyped_store_syncs(
    emulated: EmulatedFleet, tctl, monkeypatch, tmp_path
):
    # https clusters: kubectl sends no bearer token over plain http
    for name in ("cluster-1", "cluster-2", "cluster-3"):
        emulated.add_cluster(name, objects=example_objects(name), tls=True)
    kubeconfig = emulated.write_kubeconfig(current_context="cluster-1")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    assert tctl("apply", "-f", CONFIG).exit_code == 0
    listed = kubectl(
        kubeconfig, "get", "se", "-n", "xcp-multicluster", "--context", "cluster-3", "-o", "name"
    )
    assert listed.returncode == 0, listed.stderr
    entries = sorted(listed.stdout.split())
    assert entries == [
        "serviceentry.networking.istio.io/details.bookinfo",
        "serviceentry.networking.istio.io/reviews.bookinfo",
    ]
    ran = tctl("sync", store_path=tmp_path / "typo.db")
    assert ran.exit_code == 0, ran.stderr
    again = kubectl(kubeconfig, "get", "se", "-n", "xcp-multicluster", "--context", "cluster-3", "-o", "name")
    assert sorted(again.stdout.split()) == entries
