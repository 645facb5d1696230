"""Issue 11 against emulated clusters: delete -f undoes apply -f, apply --cluster, the current
context, one dead context."""

from __future__ import annotations

import shutil

from tests.support.bookinfo import CONFIG, managed_objects, no_writes, reset, write_requests
from tests.support.cli import EXAMPLE

EASTWEST = EXAMPLE / "eastwest-gateway.yaml"


def gateways(fleet) -> dict[str, list[str]]:
    return {
        name: sorted(o["metadata"]["name"] for o in cluster.list("IngressGateway"))
        for name, cluster in fleet.clusters.items()
    }


def test_delete_f_undoes_apply_f_of_a_folder_with_an_ingress_gateway(fleet, tctl, tmp_path):
    folder = tmp_path / "all"
    shutil.copytree(CONFIG, folder)
    shutil.copy(EASTWEST, folder / "eastwest-gateway.yaml")
    # (cluster-3 has no bookinfo namespace for a gateway: cluster-1 alone, configuration included)
    applied = tctl("apply", "-f", folder, "--cluster", "cluster-1")
    assert applied.exit_code == 0, applied.stderr
    assert gateways(fleet) == {"cluster-1": ["eastwest-gateway"], "cluster-2": [], "cluster-3": []}
    assert managed_objects(fleet["cluster-1"])

    refused = tctl("delete", "-f", folder)
    assert refused.exit_code == 2 and "--cluster" in refused.stderr

    reset(fleet)
    dry = tctl("delete", "-f", folder, "--cluster", "cluster-1", "--dry-run")
    assert dry.exit_code == 1, dry.stderr
    assert write_requests(fleet) == no_writes(fleet)
    assert (
        "cluster-1 ingressgateway.install.tetrate.io/eastwest-gateway deleted (dry run)" in dry.step_lines()
    )
    assert "workspacesetting/bookinfo-ws-settings deleted (dry run)" in dry.stdout.splitlines()
    assert any(line.endswith("pruned (dry run)") for line in dry.step_lines())
    assert tctl("get", "wss", "-o", "name").stdout.strip()  # still stored

    ran = tctl("delete", "-f", folder, "--cluster", "cluster-1")
    assert ran.exit_code == 0, ran.stderr
    assert "cluster-1 ingressgateway.install.tetrate.io/eastwest-gateway deleted" in ran.step_lines()
    assert ran.summaries()["cluster-1"]["deleted"] == 1
    assert gateways(fleet) == {name: [] for name in fleet.clusters}
    # what the configuration generated is pruned (a Namespace is never pruned)
    assert all(kind == "Namespace" for c in fleet.clusters.values() for kind, _, _ in managed_objects(c))
    assert tctl("get", "organizations").stdout == ""


def test_delete_f_of_a_gateway_from_one_cluster(fleet, tctl):
    for name in ("cluster-1", "cluster-2"):
        assert tctl("apply", "-f", EASTWEST, "--cluster", name, "--no-sync").exit_code == 0
    ran = tctl("delete", "-f", EASTWEST, "--cluster", "cluster-2", "-o", "json")
    assert ran.exit_code == 0, ran.stderr
    assert gateways(fleet) == {"cluster-1": ["eastwest-gateway"], "cluster-2": [], "cluster-3": []}
    import json

    steps = json.loads(ran.stdout)["steps"]
    assert [(s["cluster"], s["kind"], s["outcome"]) for s in steps] == [
        ("cluster-2", "IngressGateway", "deleted")
    ]


def test_apply_cluster_writes_to_that_cluster_only(fleet, tctl):
    ran = tctl("apply", "-f", CONFIG, "--cluster", "cluster-3")
    assert ran.exit_code == 0, ran.stderr
    assert {line.split()[0] for line in ran.step_lines()} == {"cluster-3"}
    assert not managed_objects(fleet["cluster-1"]) and not managed_objects(fleet["cluster-2"])
    assert managed_objects(fleet["cluster-3"])


def test_version_asks_each_cluster_for_its_version(fleet, tctl):
    import json

    ran = tctl("version")
    assert ran.exit_code == 0, ran.stderr
    servers = [line for line in ran.stdout.splitlines() if line.startswith("Server Version")]
    assert servers == [
        f"Server Version ({name}): v1.26.4+k3s1" for name in ("cluster-1", "cluster-2", "cluster-3")
    ]
    document = json.loads(tctl("version", "-o", "json").stdout)
    assert document["serverVersions"]["cluster-2"]["gitVersion"] == "v1.26.4+k3s1"
    assert set(fleet.clusters["cluster-1"].counts) <= {"GET"}  # nothing but reads of /version


def test_a_dead_context_says_which_and_how_to_leave_it_out(fleet, tctl, monkeypatch):
    fleet.add_blackhole_cluster("cluster-4")
    monkeypatch.setenv("KUBECONFIG", str(fleet.write_kubeconfig(fleet.directory / "dead.yaml")))
    assert tctl("apply", "--no-sync", "-f", CONFIG / "organization.yaml").exit_code == 0
    ran = tctl("sync")  # the default timeouts: the connection is given up after 3 s
    assert ran.exit_code == 4
    message = next(line for line in ran.stderr.splitlines() if line.startswith("error: cluster cluster-4:"))
    assert "no connection within 3 s" in message
    assert 'if "cluster-4" is not one, apply Cluster objects naming those that are' in message
    assert "--cluster C limits a command to C" in message
    limited = tctl("sync", "--cluster", "cluster-1", "--request-timeout", "0.5")
    assert limited.exit_code == 0, limited.stderr


def test_quiet_and_json_on_a_live_fleet_print_no_progress(fleet, tctl):
    import json

    quiet = tctl("apply", "-f", CONFIG, "-q")
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, "", "")
    synced = tctl("sync", "-o", "json")
    assert synced.exit_code == 0 and synced.stderr == ""
    assert {s["outcome"] for s in json.loads(synced.stdout)["steps"]} == {"unchanged"}


def test_a_current_context_the_cluster_objects_leave_out_is_an_error_not_every_cluster(fleet, tctl, tmp_path):
    clusters = (CONFIG / "clusters.yaml").read_text().split("---")
    without_1 = tmp_path / "clusters.yaml"
    without_1.write_text("---".join(c for c in clusters if "name: cluster-1" not in c))
    for path in (CONFIG / "organization.yaml", without_1):
        assert tctl("apply", "--no-sync", "-f", path).exit_code == 0
    ran = tctl("get", "se")  # the kubeconfig's current-context is cluster-1
    assert ran.exit_code == 3
    assert 'error: the current context "cluster-1" is not a cluster of the fleet' in ran.stderr
    assert "cluster-2, cluster-3" in ran.stderr and ran.stdout == ""
    chosen = tctl("get", "se", "--context", "cluster-3", "-o", "name")
    assert chosen.exit_code == 0, chosen.stderr
