"""`tctl status` and finding suppression, on the snapshot fleet of examples/bookinfo and copies
of it changed into each failing case."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.cli.test_fleet_commands import CONFIG, FLEET, table

SERVICES = ("details.bookinfo", "reviews.bookinfo")
CLUSTERS = ("cluster-1", "cluster-2", "cluster-3")


@pytest.fixture()
def tctl(main_run):
    """tctl on a snapshot fleet (the example's, or another), the example's configuration applied."""
    assert main_run("apply", "--no-sync", "-f", str(CONFIG)).exit_code == 0

    def run(*args: str, fleet: Path = FLEET):
        return main_run("--fleet", str(fleet), *args)

    return run


@pytest.fixture()
def fleet_copy(tmp_path) -> Path:
    target = tmp_path / "fleet"
    shutil.copytree(FLEET, target)
    return target


def edit_gateway(fleet: Path, cluster: str, change) -> None:
    """Apply `change` to the East-West gateway Service of `cluster` in a snapshot fleet."""
    services = fleet / cluster / "services.yaml"
    document = yaml.safe_load(services.read_text())
    [gateway] = [i for i in document["items"] if i["metadata"]["name"] == "eastwest-gateway"]
    change(gateway)
    services.write_text(yaml.safe_dump(document))


def rows_of(ran) -> dict[tuple[str, str], dict]:
    document = json.loads(ran.stdout)
    return {(row["service"], row["cluster"]): row for row in document["services"]}


def test_seed_is_ready_everywhere_and_exits_0(tctl):
    ran = tctl("status")
    assert ran.exit_code == 0, ran.stderr
    rows = table(ran.stdout)
    assert [(r["SERVICE"], r["CLUSTER"]) for r in rows] == [(s, c) for s in SERVICES for c in CLUSTERS]
    assert {r["READY"] for r in rows} == {"yes"}
    roles = {
        r["CLUSTER"]: (r["ROLE"], r["FIRST"], r["FAILOVER"]) for r in rows if r["SERVICE"] == SERVICES[0]
    }
    assert roles == {
        "cluster-1": ("local+failover", "cluster-1", "cluster-2"),
        "cluster-2": ("local+failover", "cluster-2", "cluster-1"),
        "cluster-3": ("consumer", "cluster-1,cluster-2", "-"),
    }


def test_json_of_one_service(tctl):
    ran = tctl("status", "details.bookinfo", "-o", "json")
    assert ran.exit_code == 0, ran.stderr
    document = json.loads(ran.stdout)
    assert document["ready"] is True and document["findings"] == document["suppressedFindings"] == []
    rows = rows_of(ran)
    assert sorted(rows) == [("details.bookinfo", c) for c in CLUSTERS]
    consumer = rows[("details.bookinfo", "cluster-3")]
    assert consumer["role"] == "consumer" and consumer["rule"] == 4 and consumer["reasons"] == []
    assert consumer["objects"] == [
        {"kind": "ServiceEntry", "namespace": "xcp-multicluster", "name": "details.bookinfo", "sync": None}
    ]
    assert [g["cluster"] for g in consumer["gateways"]] == ["cluster-1", "cluster-2"]
    assert yaml.safe_load(tctl("status", "details.bookinfo", "-o", "yaml").stdout) == document


def test_nothing_exposed_is_said_on_stderr_and_exits_0(main_run):
    ran = main_run("--fleet", str(FLEET), "status")
    assert (ran.exit_code, ran.stdout, ran.stderr) == (0, "", "No exposed services found.\n")


def test_unknown_service_exits_3(tctl):
    ran = tctl("status", "productpage.bookinfo")
    assert ran.exit_code == 3 and "productpage.bookinfo" in ran.stderr


def test_gateway_pending_exits_6_with_the_reason(tctl, fleet_copy):
    edit_gateway(fleet_copy, "cluster-2", lambda gw: gw.pop("status"))
    ran = tctl("status", "-o", "json", fleet=fleet_copy)
    assert ran.exit_code == 6, ran.stderr
    rows = rows_of(ran)
    one = rows[("details.bookinfo", "cluster-1")]
    assert (one["role"], one["ready"]) == ("origin", False)
    assert [r["reason"] for r in one["reasons"]] == ["gateway-pending"]
    assert rows[("details.bookinfo", "cluster-2")]["ready"] is True
    assert rows[("details.bookinfo", "cluster-3")]["first"] == ["cluster-1"]
    assert [f["code"] for f in json.loads(ran.stdout)["findings"]] == ["TCTL0201"]


def test_hostname_gateway_address(tctl, fleet_copy):
    def hostname(gw):
        gw["metadata"].setdefault("annotations", {})["xcp.tetrate.io/cluster-external-addresses"] = (
            "ew.example.com"
        )

    edit_gateway(fleet_copy, "cluster-2", hostname)
    ran = tctl("status", "-o", "json", fleet=fleet_copy)
    assert ran.exit_code == 6, ran.stderr
    readiness = {key: [r["reason"] for r in row["reasons"]] for key, row in rows_of(ran).items()}
    for service in SERVICES:
        assert readiness[(service, "cluster-1")] == ["hostname-address"]
        assert readiness[(service, "cluster-2")] == readiness[(service, "cluster-3")] == []


def test_shared_network(tctl, tmp_path):
    clusters = (CONFIG / "clusters.yaml").read_text().replace("network: network-2", "network: network-1")
    shared = tmp_path / "clusters.yaml"
    shared.write_text(clusters)
    assert tctl("apply", "-f", str(shared)).exit_code == 0
    ran = tctl("status", "-o", "json")
    assert ran.exit_code == 6, ran.stderr
    readiness = {key: [r["reason"] for r in row["reasons"]] for key, row in rows_of(ran).items()}
    for service in SERVICES:
        assert readiness[(service, "cluster-1")] == readiness[(service, "cluster-2")] == ["shared-network"]
        assert readiness[(service, "cluster-3")] == []


def test_user_destination_rule_in_the_way(tctl, fleet_copy):
    (fleet_copy / "cluster-2" / "destinationrules.yaml").write_text(
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
        "metadata: {name: details-mine, namespace: bookinfo}\nspec: {host: details}\n"
    )
    ran = tctl("status", "-o", "json", fleet=fleet_copy)
    assert ran.exit_code == 6, ran.stderr
    rows = rows_of(ran)
    mine = rows[("details.bookinfo", "cluster-2")]
    assert [r["reason"] for r in mine["reasons"]] == ["user-destinationrule"]
    assert "DestinationRule" not in [o["kind"] for o in mine["objects"]]
    assert all(row["ready"] for key, row in rows.items() if key != ("details.bookinfo", "cluster-2"))
    assert [f["code"] for f in json.loads(ran.stdout)["findings"]] == ["TCTL0404"]


def test_suppression_hides_a_finding_and_json_lists_it_apart(tctl, fleet_copy):
    edit_gateway(fleet_copy, "cluster-2", lambda gw: gw.pop("status"))
    table_run = tctl("status", fleet=fleet_copy)
    assert "[TCTL0201]" in table_run.stderr and table_run.stderr.startswith("warning: cluster-2: gateway")
    for spelling in ("TCTL0201", "gateway-pending", "TCTL0201=cluster-2", "gateway-pending=bookinfo/*"):
        ran = tctl("status", "--suppress", spelling, fleet=fleet_copy)
        assert "TCTL0201" not in ran.stderr, spelling
        assert ran.exit_code == 6  # suppression hides; readiness is unchanged
        document = json.loads(tctl("status", "-o", "json", "--suppress", spelling, fleet=fleet_copy).stdout)
        assert document["findings"] == []
        assert [f["code"] for f in document["suppressedFindings"]] == ["TCTL0201"]
    other = tctl("status", "--suppress", "TCTL0201=cluster-1", fleet=fleet_copy)
    assert "[TCTL0201]" in other.stderr


def test_the_report_of_sync_carries_the_findings_for_machines(tctl, fleet_copy):
    edit_gateway(fleet_copy, "cluster-2", lambda gw: gw.pop("status"))
    document = json.loads(tctl("sync", "-o", "json", fleet=fleet_copy).stdout)
    assert [(f["code"], f["cluster"]) for f in document["findings"]] == [("TCTL0201", "cluster-2")]
    assert document["suppressedFindings"] == []
    hidden = json.loads(tctl("sync", "-o", "json", "--suppress", "gateway-pending", fleet=fleet_copy).stdout)
    assert hidden["findings"] == [] and [f["code"] for f in hidden["suppressedFindings"]] == ["TCTL0201"]


def test_unknown_suppressed_code_is_a_usage_error(tctl):
    ran = tctl("status", "--suppress", "TCTL9999")
    assert ran.exit_code == 2 and "TCTL9999" in ran.stderr and "docs/findings.md" in ran.stderr


def test_suppress_works_on_get(tctl, fleet_copy):
    edit_gateway(fleet_copy, "cluster-2", lambda gw: gw.pop("status"))
    assert "[TCTL0201]" in tctl("get", "se", "-A", fleet=fleet_copy).stderr
    assert "TCTL0201" not in tctl("get", "se", "-A", "--suppress", "TCTL0201", fleet=fleet_copy).stderr


def test_a_finding_reported_by_several_phases_of_a_run_is_printed_once(capsys):
    from tctl_py.cli.report import FINDINGS, report_findings
    from tctl_py.mesh import Finding
    from tctl_py.mesh.findings import Code

    pending = Finding(Code.GATEWAY_PENDING, "cluster-2", "gateway bookinfo/ew", "pending")
    other = Finding(Code.GATEWAY_PENDING, "cluster-1", "gateway bookinfo/ew", "pending")
    FINDINGS.start()
    report_findings([pending])
    report_findings([pending, other])
    assert capsys.readouterr().err.splitlines() == [
        "warning: cluster-2: gateway bookinfo/ew: pending [TCTL0201]",
        "warning: cluster-1: gateway bookinfo/ew: pending [TCTL0201]",
    ]
    FINDINGS.start()  # a new command starts afresh
    report_findings([pending])
    assert capsys.readouterr().err.count("[TCTL0201]") == 1


# --- describe -------------------------------------------------------------------------------------


def test_describe_service_in_kubectl_layout(tctl):
    ran = tctl("describe", "service", "details", "-n", "bookinfo")
    assert ran.exit_code == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[:3] == [
        "Name:         details",
        "Namespace:    bookinfo",
        "Host:         details.bookinfo.svc.cluster.local",
    ]
    sections = [line for line in lines if line and not line.startswith(" ")]
    assert [s.split(":")[0] for s in sections] == [
        "Name", "Namespace", "Host", "Exposed by", "Origins", "Ready", "Clusters", "Findings", "Events",
    ]  # fmt: skip
    text = ran.stdout
    assert "  cluster-3:\n    Role:       consumer\n    Decision:   rule 4:" in text
    assert "  cluster-1:\n    Role:       local+failover\n    Decision:   rules 5-7:" in text
    assert "ServiceEntry xcp-multicluster/details.bookinfo" in text and "Ready:        3/3 clusters" in text


def test_describe_says_why_and_lists_the_findings_unless_suppressed(tctl, fleet_copy):
    edit_gateway(fleet_copy, "cluster-2", lambda gw: gw.pop("status"))
    ran = tctl("describe", "svc", "details", "-n", "bookinfo", fleet=fleet_copy)
    assert ran.exit_code == 0, ran.stderr
    assert "    Decision:   rule 3:" in ran.stdout and "      gateway-pending: " in ran.stdout
    assert "[TCTL0201]" in ran.stdout.split("Findings:")[1]
    hidden = tctl("describe", "svc", "details", "-n", "bookinfo", "--suppress", "TCTL0201", fleet=fleet_copy)
    assert "[TCTL0201]" not in hidden.stdout and "(1 suppressed)" in hidden.stdout


def test_describe_of_a_service_not_exposed_exits_3(tctl):
    ran = tctl("describe", "service", "productpage", "-n", "bookinfo")
    assert ran.exit_code == 3 and "productpage" in ran.stderr
    assert tctl("describe", "pod", "x", "-n", "bookinfo").exit_code == 2


@pytest.mark.parametrize(
    "command", ["apply", "sync", "diff", "delete", "get", "render", "status", "describe", "graph"]
)
def test_every_command_that_reports_findings_takes_suppress(cli, command):
    ran = cli(command, "--help")
    assert ran.exit_code == 0 and "--suppress" in ran.stdout
