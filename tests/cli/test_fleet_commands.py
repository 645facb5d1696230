"""Commands that look at the fleet, on the snapshot fleet of examples/bookinfo: get of the generated
kinds, render, clusters; global options and environment variables; determinism."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "bookinfo"
CONFIG = EXAMPLE / "config"
FLEET = EXAMPLE / "fleet"

# The east-west gateway addresses of the snapshot clusters, in the order of SPEC §4 rule 2.
C1_ADDRESSES = ["18.135.167.198", "18.168.99.230", "35.179.51.164"]
C2_ADDRESSES = ["198.51.100.20", "198.51.100.21"]
NETWORKS = {"cluster-1": "network-1", "cluster-2": "network-2", "cluster-3": "network-3"}
REGIONS = {"cluster-1": "eu-west-2", "cluster-2": "eu-west-1", "cluster-3": "us-east-1"}
EXPOSED = ["details", "reviews"]
HOSTS = [f"{name}.bookinfo.svc.cluster.local" for name in EXPOSED]
GENERATED = {"serviceentries": "se", "workloadentries": "we", "destinationrules": "dr", "gateways": "gw"}

DETAILS_SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: details
  namespace: bookinfo
  labels:
    app: details
    service: details
spec:
  type: ClusterIP
  selector:
    app: details
  ports:
  - name: http
    port: 9080
    protocol: TCP
    targetPort: 9080
"""


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def we_name(cluster: str, namespace: str, name: str, index: int = 1) -> str:
    base = f"k-{name}-{md5(f'{cluster}/{namespace}/{name}')}"
    return base if index == 1 else f"{base}-{index}"


def table(text: str) -> list[dict[str, str]]:
    """Rows of a plain (non-TTY) table as dicts, cells cut at the header columns' offsets."""
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines, "no table printed"
    header = lines[0]
    found = list(re.finditer(r"\S+(?: \S+)*", header))  # cells hold at most single spaces
    names = [match.group() for match in found]
    starts = [match.start() for match in found]
    ends = [*starts[1:], None]
    return [
        {name: line[start:end].strip() for name, start, end in zip(names, starts, ends, strict=False)}
        for line in lines[1:]
    ]


def headers(text: str) -> list[str]:
    return re.split(r" {2,}", text.splitlines()[0].strip())


def no_traceback(ran) -> None:
    assert "Traceback" not in ran.stderr and "Traceback" not in ran.stdout


@pytest.fixture()
def applied(main_run):
    ran = main_run("apply", "--no-sync", "-f", str(CONFIG))
    assert ran.exit_code == 0, ran.stderr
    return ran


@pytest.fixture()
def tctl(main_run, applied):
    """tctl on the example's snapshot fleet (or another one), with the example config applied."""

    def run(*args: str, fleet: Path | str = FLEET):
        return main_run("--fleet", str(fleet), *args)

    return run


@pytest.fixture()
def fleet_copy(tmp_path) -> Path:
    target = tmp_path / "fleet"
    shutil.copytree(FLEET, target)
    return target


def items_of(ran) -> list[dict]:
    assert ran.exit_code == 0, ran.stderr
    document = yaml.safe_load(ran.stdout)
    assert document["apiVersion"] == "v1" and document["kind"] == "List"
    return document["items"]


# --- get serviceentries ------------------------------------------------------------------------


def test_get_se_cluster_3_table(tctl):
    ran = tctl("get", "se", "--cluster", "cluster-3")
    assert ran.exit_code == 0, ran.stderr
    assert headers(ran.stdout) == ["NAMESPACE", "NAME", "HOSTS", "LOCATION", "RESOLUTION"]
    assert table(ran.stdout) == [
        {
            "NAMESPACE": "xcp-multicluster",
            "NAME": f"{name}.bookinfo",
            "HOSTS": host,
            "LOCATION": "MESH_INTERNAL",
            "RESOLUTION": "STATIC",
        }
        for name, host in zip(EXPOSED, HOSTS, strict=False)
    ]
    no_traceback(ran)


def test_get_se_cluster_3_names(tctl):
    ran = tctl("get", "se", "--cluster", "cluster-3", "-o", "name")
    assert ran.exit_code == 0, ran.stderr
    assert ran.stdout.splitlines() == [
        "serviceentry.networking.istio.io/details.bookinfo",
        "serviceentry.networking.istio.io/reviews.bookinfo",
    ]


def test_get_se_cluster_3_yaml(tctl):
    items = items_of(tctl("get", "se", "--cluster", "cluster-3", "-o", "yaml"))
    assert [item["metadata"]["name"] for item in items] == ["details.bookinfo", "reviews.bookinfo"]
    expected_endpoints = [(address, "cluster-1") for address in C1_ADDRESSES] + [
        (address, "cluster-2") for address in C2_ADDRESSES
    ]
    for item, host in zip(items, HOSTS, strict=False):
        assert item["apiVersion"] == "networking.istio.io/v1"
        assert item["kind"] == "ServiceEntry"
        assert item["metadata"]["namespace"] == "xcp-multicluster"
        assert item["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "tctl"
        spec = item["spec"]
        assert spec["hosts"] == [host]
        assert spec["location"] == "MESH_INTERNAL"
        assert spec["resolution"] == "STATIC"
        assert spec["ports"] == [{"name": "http", "number": 9080, "protocol": "HTTP"}]
        endpoints = spec["endpoints"]
        assert [
            (e["address"], e["labels"]["topology.istio.io/cluster"]) for e in endpoints
        ] == expected_endpoints
        for endpoint in endpoints:
            cluster = endpoint["labels"]["topology.istio.io/cluster"]
            assert endpoint["ports"] == {"http": 15443}
            assert endpoint["labels"]["security.istio.io/tlsMode"] == "istio"
            assert endpoint["network"] == NETWORKS[cluster]
            assert endpoint["locality"] == REGIONS[cluster]


def test_get_se_json_is_the_same_list_as_yaml(tctl):
    as_yaml = items_of(tctl("get", "se", "--cluster", "cluster-3", "-o", "yaml"))
    ran = tctl("get", "se", "--cluster", "cluster-3", "-o", "json")
    assert ran.exit_code == 0, ran.stderr
    document = json.loads(ran.stdout)
    assert document["kind"] == "List" and document["items"] == as_yaml


def test_get_se_by_name_is_one_object(tctl):
    ran = tctl("get", "se", "details.bookinfo", "--cluster", "cluster-3", "-o", "yaml")
    assert ran.exit_code == 0, ran.stderr
    body = yaml.safe_load(ran.stdout)
    assert body["kind"] == "ServiceEntry" and body["metadata"]["name"] == "details.bookinfo"
    assert body["spec"]["hosts"] == [HOSTS[0]]
    table_ran = tctl("get", "se", "details.bookinfo", "--cluster", "cluster-3")
    assert [row["NAME"] for row in table(table_ran.stdout)] == ["details.bookinfo"]


def test_get_se_missing_name_exits_3(tctl):
    ran = tctl("get", "se", "nope.bookinfo", "--cluster", "cluster-3")
    assert ran.exit_code == 3
    assert ran.stdout == ""
    assert '"nope.bookinfo" not found' in ran.stderr
    no_traceback(ran)


def test_get_se_all_clusters_has_a_cluster_column(tctl):
    ran = tctl("get", "se", "-A")
    assert ran.exit_code == 0, ran.stderr
    assert headers(ran.stdout)[:3] == ["CLUSTER", "NAMESPACE", "NAME"]
    rows = table(ran.stdout)
    # cluster-1 and cluster-2 run both services themselves: only cluster-3 consumes them
    assert [(r["CLUSTER"], r["NAMESPACE"], r["NAME"]) for r in rows] == [
        ("cluster-3", "xcp-multicluster", "details.bookinfo"),
        ("cluster-3", "xcp-multicluster", "reviews.bookinfo"),
    ]


def test_get_se_namespace_filter(tctl):
    ran = tctl("get", "se", "-A", "-n", "xcp-multicluster")
    assert ran.exit_code == 0, ran.stderr
    assert "NAMESPACE" not in headers(ran.stdout)
    assert [(r["CLUSTER"], r["NAME"]) for r in table(ran.stdout)] == [
        ("cluster-3", "details.bookinfo"),
        ("cluster-3", "reviews.bookinfo"),
    ]


def test_get_se_name_filter_over_all_clusters(tctl):
    """With several clusters, `-o name` says which cluster each name is in."""
    ran = tctl("get", "se", "reviews.bookinfo", "-A", "-o", "name")
    assert ran.exit_code == 0, ran.stderr
    assert ran.stdout.splitlines() == ["cluster-3 serviceentry.networking.istio.io/reviews.bookinfo"]


def test_get_gw_names_over_all_clusters_are_told_apart(tctl):
    ran = tctl("get", "gw", "-A", "-o", "name")
    assert ran.stdout.splitlines() == [
        "cluster-1 gateway.networking.istio.io/tctl-eastwest-gateway",
        "cluster-2 gateway.networking.istio.io/tctl-eastwest-gateway",
    ]


def test_get_nothing_in_a_namespace_is_exit_0(tctl):
    ran = tctl("get", "se", "-A", "-n", "bookinfo")
    assert ran.exit_code == 0
    assert ran.stdout == ""
    assert "No resources found" in ran.stderr
    ran = tctl("get", "we", "--cluster", "cluster-3", "-n", "sleep")
    assert ran.exit_code == 0 and ran.stdout == "" and "No resources found" in ran.stderr


def test_unknown_cluster_is_a_usage_error(tctl):
    ran = tctl("get", "se", "--cluster", "unknown")
    assert ran.exit_code == 2
    assert ran.stdout == ""
    assert '"unknown"' in ran.stderr and "cluster-1" in ran.stderr
    no_traceback(ran)


# --- get workloadentries -------------------------------------------------------------------------


def test_get_we_cluster_2_is_the_seed_listing(tctl):
    ran = tctl("get", "we", "-n", "bookinfo", "--cluster", "cluster-2")
    assert ran.exit_code == 0, ran.stderr
    assert headers(ran.stdout) == ["NAME", "ADDRESS"]
    expected = [
        {"NAME": we_name("cluster-1", "bookinfo", name, index), "ADDRESS": address}
        for name in EXPOSED
        for index, address in enumerate(C1_ADDRESSES, start=1)
    ]
    assert table(ran.stdout) == expected
    assert (
        we_name("cluster-1", "bookinfo", "details")
        == "k-details-" + hashlib.md5(b"cluster-1/bookinfo/details").hexdigest()
    )
    # productpage and ratings are not exposed: no shadow entries for them
    assert "productpage" not in ran.stdout and "ratings" not in ran.stdout


def test_get_we_cluster_2_yaml(tctl):
    items = items_of(tctl("get", "we", "-n", "bookinfo", "--cluster", "cluster-2", "-o", "yaml"))
    assert len(items) == 6
    for item in items:
        assert item["apiVersion"] == "networking.istio.io/v1" and item["kind"] == "WorkloadEntry"
        assert item["metadata"]["namespace"] == "bookinfo"
        spec = item["spec"]
        assert spec["ports"] == {"http": 15443}
        assert spec["network"] == "network-1" and spec["locality"] == "eu-west-2"
        assert spec["labels"]["security.istio.io/tlsMode"] == "istio"
        assert spec["labels"]["app"] in EXPOSED
        assert item["metadata"]["name"].startswith(f"k-{spec['labels']['app']}-")


def test_get_we_all_clusters(tctl):
    ran = tctl("get", "we", "-A")
    assert ran.exit_code == 0, ran.stderr
    rows = table(ran.stdout)
    expected = [
        ("cluster-1", we_name("cluster-2", "bookinfo", name, i), address)
        for name in EXPOSED
        for i, address in enumerate(C2_ADDRESSES, start=1)
    ] + [
        ("cluster-2", we_name("cluster-1", "bookinfo", name, i), address)
        for name in EXPOSED
        for i, address in enumerate(C1_ADDRESSES, start=1)
    ]
    assert [(r["CLUSTER"], r["NAME"], r["ADDRESS"]) for r in rows] == expected
    assert {r["NAMESPACE"] for r in rows} == {"bookinfo"}


# --- get destinationrules and gateways -----------------------------------------------------------


def test_get_dr_all_clusters(tctl):
    ran = tctl("get", "dr", "-A")
    assert ran.exit_code == 0, ran.stderr
    rows = table(ran.stdout)
    assert [(r["CLUSTER"], r["NAMESPACE"], r["NAME"], r["HOST"]) for r in rows] == [
        (cluster, "bookinfo", f"{name}.bookinfo", host)
        for cluster in ("cluster-1", "cluster-2")
        for name, host in zip(EXPOSED, HOSTS, strict=False)
    ]
    items = items_of(tctl("get", "dr", "-A", "-o", "yaml"))
    for item in items:
        assert item["apiVersion"] == "networking.istio.io/v1" and item["kind"] == "DestinationRule"
        policy = item["spec"]["trafficPolicy"]
        assert "outlierDetection" in policy
        assert policy["loadBalancer"]["localityLbSetting"]["failoverPriority"] == [
            "topology.istio.io/network"
        ]


def test_get_gw_wide_hosts_are_exactly_the_exposed_fqdns(tctl):
    ran = tctl("get", "gw", "-A", "-o", "wide")
    assert ran.exit_code == 0, ran.stderr
    rows = table(ran.stdout)
    assert [(r["CLUSTER"], r["NAMESPACE"], r["NAME"], r["SELECTOR"]) for r in rows] == [
        (cluster, "bookinfo", "tctl-eastwest-gateway", "app=eastwest-gateway")
        for cluster in ("cluster-1", "cluster-2")
    ]
    for row in rows:
        assert row["HOSTS"].split(",") == HOSTS
    for item in items_of(tctl("get", "gw", "-A", "-o", "yaml")):
        assert item["apiVersion"] == "networking.istio.io/v1" and item["kind"] == "Gateway"
        assert item["spec"]["selector"] == {"app": "eastwest-gateway"}
        (server,) = item["spec"]["servers"]
        assert server["port"]["number"] == 15443 and server["port"]["protocol"] == "TLS"
        assert server["tls"] == {"mode": "AUTO_PASSTHROUGH"}
        assert server["hosts"] == HOSTS


# --- global options -------------------------------------------------------------------------------


def test_global_options_after_the_command(main_run, applied):
    ran = main_run("get", "se", "--fleet", str(FLEET), "--cluster", "cluster-3", "-o", "name")
    assert ran.exit_code == 0, ran.stderr
    assert ran.stdout.splitlines() == [
        "serviceentry.networking.istio.io/details.bookinfo",
        "serviceentry.networking.istio.io/reviews.bookinfo",
    ]


def test_global_options_after_the_command_in_a_subprocess(proc, main_run, applied):
    ran = proc("get", "se", "--fleet", str(FLEET), "--cluster", "cluster-3", "-o", "name")
    assert ran.exit_code == 0, ran.stderr
    assert ran.stdout.splitlines() == [
        "serviceentry.networking.istio.io/details.bookinfo",
        "serviceentry.networking.istio.io/reviews.bookinfo",
    ]
    ran = proc("get", "se", "--cluster", "cluster-3", "--fleet", str(FLEET), "-o", "yaml")
    assert ran.exit_code == 0, ran.stderr
    assert (
        ran.stdout
        == main_run("--fleet", str(FLEET), "get", "se", "--cluster", "cluster-3", "-o", "yaml").stdout
    )


def test_tctl_fleet_environment_variable(main_run, applied, monkeypatch, proc):
    monkeypatch.setenv("TCTL_FLEET", str(FLEET))
    ran = main_run("get", "se", "--cluster", "cluster-3", "-o", "name")
    assert ran.exit_code == 0, ran.stderr
    assert ran.stdout.splitlines() == [
        "serviceentry.networking.istio.io/details.bookinfo",
        "serviceentry.networking.istio.io/reviews.bookinfo",
    ]
    sub = proc("get", "se", "--cluster", "cluster-3", "-o", "name", env={"TCTL_FLEET": str(FLEET)})
    assert sub.exit_code == 0, sub.stderr
    assert sub.stdout == ran.stdout


def test_fleet_option_wins_over_the_environment(main_run, applied, monkeypatch, tmp_path):
    monkeypatch.setenv("TCTL_FLEET", str(tmp_path / "does-not-exist"))
    ran = main_run("get", "se", "--cluster", "cluster-3", "-o", "name", "--fleet", str(FLEET))
    assert ran.exit_code == 0, ran.stderr
    assert len(ran.stdout.splitlines()) == 2


def test_missing_fleet_folder_is_a_usage_error(main_run, applied, tmp_path):
    ran = main_run("--fleet", str(tmp_path / "nowhere"), "get", "se", "-A")
    assert ran.exit_code == 2
    assert "nowhere" in ran.stderr
    no_traceback(ran)


# --- rules seen through the CLI ------------------------------------------------------------------


def test_local_instance_wins_and_shadow_entries_appear(tctl, fleet_copy):
    (fleet_copy / "cluster-3" / "details.yaml").write_text(DETAILS_SERVICE)
    ran = tctl("get", "se", "--cluster", "cluster-3", "-o", "name", fleet=fleet_copy)
    assert ran.exit_code == 0, ran.stderr
    assert ran.stdout.splitlines() == ["serviceentry.networking.istio.io/reviews.bookinfo"]

    # cluster-3's details is in bookinfo, which the workspace covers: it fails over to 1 and 2
    we = items_of(tctl("get", "we", "--cluster", "cluster-3", "-o", "yaml", fleet=fleet_copy))
    assert [(w["metadata"]["namespace"], w["metadata"]["name"], w["spec"]["address"]) for w in we] == sorted(
        [
            ("bookinfo", we_name("cluster-1", "bookinfo", "details", i), a)
            for i, a in enumerate(C1_ADDRESSES, start=1)
        ]
        + [
            ("bookinfo", we_name("cluster-2", "bookinfo", "details", i), a)
            for i, a in enumerate(C2_ADDRESSES, start=1)
        ]
    )
    for entry in we:
        assert entry["spec"]["labels"] == {"app": "details", "security.istio.io/tlsMode": "istio"}
        assert entry["spec"]["ports"] == {"http": 15443}
    drs = items_of(tctl("get", "dr", "--cluster", "cluster-3", "-o", "yaml", fleet=fleet_copy))
    assert [(d["metadata"]["namespace"], d["spec"]["host"]) for d in drs] == [("bookinfo", HOSTS[0])]

    # cluster-3 has no gateway: its details exposes nothing, so 1 and 2 are unchanged
    ran = tctl("get", "we", "--cluster", "cluster-2", "-o", "name", fleet=fleet_copy)
    assert len(ran.stdout.splitlines()) == 6


def test_gateway_without_address_is_pending_and_exposes_nothing(tctl, fleet_copy):
    services = fleet_copy / "cluster-2" / "services.yaml"
    document = yaml.safe_load(services.read_text())
    for item in document["items"]:
        if item["metadata"]["name"] == "eastwest-gateway":
            del item["status"]
    services.write_text(yaml.safe_dump(document))

    ran = tctl("get", "se", "-A", "-o", "yaml", fleet=fleet_copy)
    assert ran.exit_code == 0, ran.stderr
    warnings = [line for line in ran.stderr.splitlines() if line.startswith("warning:")]
    assert any("pending" in line and "cluster-2" in line for line in warnings), ran.stderr
    for item in items_of(ran):
        clusters = {e["labels"]["topology.istio.io/cluster"] for e in item["spec"]["endpoints"]}
        assert clusters == {"cluster-1"}
        assert [e["address"] for e in item["spec"]["endpoints"]] == C1_ADDRESSES
    # cluster-2 exposes nothing: no Gateway there, no shadow entries of it in cluster-1
    gateways = items_of(tctl("get", "gw", "-A", "-o", "yaml", fleet=fleet_copy))
    assert [g["metadata"]["name"] for g in gateways] == ["tctl-eastwest-gateway"]
    ran = tctl("get", "we", "--cluster", "cluster-1", fleet=fleet_copy)
    assert ran.exit_code == 0 and ran.stdout == ""
    assert "No resources found" in ran.stderr
    # cluster-2 still receives cluster-1's shadow entries
    ran = tctl("get", "we", "--cluster", "cluster-2", "-o", "name", fleet=fleet_copy)
    assert len(ran.stdout.splitlines()) == 6
    # clusters shows it pending
    ran = tctl("clusters", fleet=fleet_copy)
    rows = {row["NAME"]: row for row in table(ran.stdout)}
    assert rows["cluster-2"]["GATEWAY ADDRESSES"] == "<pending>"


def test_malformed_gateway_annotation_is_an_error_naming_cluster_service_and_value(tctl, fleet_copy):
    services = fleet_copy / "cluster-2" / "services.yaml"
    document = yaml.safe_load(services.read_text())
    for item in document["items"]:
        if item["metadata"]["name"] == "eastwest-gateway":
            item["metadata"].setdefault("annotations", {})["xcp.tetrate.io/cluster-external-addresses"] = (
                "not_an_ip,also"
            )
    services.write_text(yaml.safe_dump(document))

    ran = tctl("get", "se", "-A", "-o", "yaml", fleet=fleet_copy)
    no_traceback(ran)
    assert ran.exit_code == 4  # an error finding: the objects are shown, the exit says so
    [error] = [line for line in ran.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith("error: cluster-2: gateway ")
    assert "annotation xcp.tetrate.io/cluster-external-addresses='not_an_ip,also'" in error
    assert '"not_an_ip" is neither an IP address nor a DNS name' in error
    assert not [line for line in ran.stderr.splitlines() if "pending" in line]
    for item in yaml.safe_load(ran.stdout)["items"]:  # cluster-2's gateway is not guessed from its LB
        assert [e["address"] for e in item["spec"]["endpoints"]] == C1_ADDRESSES
    # clusters says the address is invalid, not that it is pending
    ran = tctl("clusters", fleet=fleet_copy)
    rows = {row["NAME"]: row for row in table(ran.stdout)}
    assert rows["cluster-2"]["GATEWAY ADDRESSES"] == "<invalid>"
    [item] = [
        i
        for i in yaml.safe_load(tctl("clusters", "-o", "yaml", fleet=fleet_copy).stdout)["items"]
        if i["name"] == "cluster-2"
    ]
    assert (item["gatewayAddressInvalid"], item["gatewayPending"]) == (True, False)


# --- render ---------------------------------------------------------------------------------------


def _expected_files(tctl, fleet=FLEET) -> dict[Path, dict]:
    expected: dict[Path, dict] = {}
    for plural, short in GENERATED.items():
        rows = table(tctl("get", short, "-A", fleet=fleet).stdout)
        items = items_of(tctl("get", short, "-A", "-o", "yaml", fleet=fleet))
        assert len(rows) == len(items)
        for row, item in zip(rows, items, strict=False):
            meta = item["metadata"]
            assert (row["NAMESPACE"], row["NAME"]) == (meta["namespace"], meta["name"])
            expected[Path(row["CLUSTER"], plural, meta["namespace"], f"{meta['name']}.yaml")] = item
    return expected


def _rendered(out: Path) -> dict[Path, dict]:
    return {path.relative_to(out): yaml.safe_load(path.read_text()) for path in sorted(out.rglob("*.yaml"))}


def test_render_writes_one_file_per_generated_object(tctl, tmp_path):
    out = tmp_path / "out"
    ran = tctl("render", "--out", str(out))
    assert ran.exit_code == 0, ran.stderr
    rendered = _rendered(out)
    expected = _expected_files(tctl)
    generated = {path: body for path, body in rendered.items() if path.parts[1] in GENERATED}
    assert generated == expected
    assert len(expected) == 2 + 4 + 6 + 2 + 2 + 1 + 1  # se; we of c1, c2; dr c1, c2; gw c1, c2
    # anything else rendered is the xcp-multicluster Namespace the ServiceEntries need
    others = {path: body for path, body in rendered.items() if path not in generated}
    for path, body in others.items():
        assert body["kind"] == "Namespace" and body["metadata"]["name"] == "xcp-multicluster", path
    assert f"{len(rendered)} written, 0 unchanged, 0 removed" in ran.stdout


def test_render_again_rewrites_nothing(tctl, tmp_path):
    out = tmp_path / "out"
    assert tctl("render", "--out", str(out)).exit_code == 0
    files = sorted(out.rglob("*.yaml"))
    before = {path: path.stat().st_mtime_ns for path in files}
    again = tctl("render", "--out", str(out))
    assert again.exit_code == 0, again.stderr
    assert f"0 written, {len(files)} unchanged, 0 removed" in again.stdout
    assert {path: path.stat().st_mtime_ns for path in sorted(out.rglob("*.yaml"))} == before


def test_render_removes_files_of_objects_no_longer_generated(tctl, tmp_path, fleet_copy):
    out = tmp_path / "out"
    assert tctl("render", "--out", str(out), fleet=fleet_copy).exit_code == 0
    reviews = [p for p in out.rglob("*.yaml") if "reviews" in p.name]
    assert len(reviews) == 1 + 2 + 3 + 2  # se in c3; we in c1, c2; dr in c1, c2
    # remove reviews from cluster-1 and cluster-2
    for cluster in ("cluster-1", "cluster-2"):
        services = fleet_copy / cluster / "services.yaml"
        document = yaml.safe_load(services.read_text())
        document["items"] = [i for i in document["items"] if i["metadata"]["name"] != "reviews"]
        services.write_text(yaml.safe_dump(document))
    ran = tctl("render", "--out", str(out), fleet=fleet_copy)
    assert ran.exit_code == 0, ran.stderr
    assert not [p for p in out.rglob("*.yaml") if "reviews" in p.name]
    # the Gateways of cluster-1 and cluster-2 lost a host; the reviews files are removed
    assert re.search(rf"^2 written, \d+ unchanged, {len(reviews)} removed in ", ran.stdout), ran.stdout
    for cluster in ("cluster-1", "cluster-2"):
        gateway = yaml.safe_load(
            (out / cluster / "gateways" / "bookinfo" / "tctl-eastwest-gateway.yaml").read_text()
        )
        assert gateway["spec"]["servers"][0]["hosts"] == [HOSTS[0]]
    assert not (
        out
        / "cluster-1"
        / "workloadentries"
        / "bookinfo"
        / f"{we_name('cluster-2', 'bookinfo', 'reviews')}.yaml"
    ).exists()
    generated = {p: b for p, b in _rendered(out).items() if p.parts[1] in GENERATED}
    assert generated == _expected_files(tctl, fleet_copy)


def test_render_refuses_a_foreign_folder(tctl, tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine\n")
    ran = tctl("render", "--out", str(foreign))
    assert ran.exit_code == 2
    assert "not empty" in ran.stderr
    assert [p.name for p in foreign.iterdir()] == ["keep.txt"]
    no_traceback(ran)


def test_render_into_an_empty_existing_folder(tctl, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    ran = tctl("render", "--out", str(empty))
    assert ran.exit_code == 0, ran.stderr
    assert (empty / "cluster-3" / "serviceentries" / "xcp-multicluster" / "details.bookinfo.yaml").exists()


# --- render never writes outside --out ------------------------------------------------------------


@pytest.fixture()
def every_namespace(main_run, tmp_path):
    """The example's configuration without Cluster objects (every snapshot folder is a cluster,
    whatever its name) and with a workspace of every namespace (`*/*`)."""
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text((CONFIG / "workspace.yaml").read_text().replace('"*/bookinfo"', '"*/*"'))
    for path in (CONFIG / "organization.yaml", workspace, CONFIG / "bookinfo-settings.yaml"):
        ran = main_run("apply", "--no-sync", "-f", str(path))
        assert ran.exit_code == 0, ran.stderr


def _created_outside(top: Path, out: Path, before: set[Path]) -> list[Path]:
    """What appeared under `top` since `before`, other than `out`, its contents and its parents."""
    return sorted(
        p for p in top.rglob("*") if p not in before and not p.is_relative_to(out) and p not in out.parents
    )


# (context name, its folder): an absolute path (under the test's folder, so an escape is seen),
# a relative one that climbs out of --out, and `..` itself.
PATH_CONTEXTS = [
    ("{top}/abs/x", "{top_encoded}%2Fabs%2Fx"),
    ("../../escaped", "%2E.%2F..%2Fescaped"),
    ("..", "%2E."),
]


@pytest.mark.parametrize(("context", "folder"), PATH_CONTEXTS)
def test_render_keeps_a_context_name_that_is_a_path_inside_out(
    main_run, every_namespace, fleet_copy, tmp_path, context, folder
):
    name = context.format(top=tmp_path)
    folder = folder.format(top_encoded=str(tmp_path).replace("/", "%2F"))
    (fleet_copy / "tctl-clusters.yaml").write_text(
        yaml.safe_dump({"clusters": [{"folder": "cluster-3", "name": name}]})
    )
    out = tmp_path / "a" / "b" / "out"
    before = set(tmp_path.rglob("*"))
    ran = main_run("--fleet", str(fleet_copy), "render", "--out", str(out))
    assert ran.exit_code == 0, ran.stderr
    assert _created_outside(tmp_path, out, before) == []
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted(["cluster-1", "cluster-2", folder])
    # cluster-3, now called `name`, is the cluster that gets the ServiceEntries
    assert {p.relative_to(out).parts[:2] for p in out.rglob("*.yaml") if "serviceentries" in p.parts} == {
        (folder, "serviceentries")
    }
    no_traceback(ran)


def test_render_refuses_a_snapshot_namespace_that_climbs_out(main_run, every_namespace, fleet_copy, tmp_path):
    # the exposed Services move to the namespace; the east-west gateways stay where they are
    for cluster in ("cluster-1", "cluster-2"):
        services = fleet_copy / cluster / "services.yaml"
        document = yaml.safe_load(services.read_text())
        for item in document["items"]:
            if item["metadata"]["name"] in EXPOSED:
                item["metadata"]["namespace"] = "../../../../escaped"
        services.write_text(yaml.safe_dump(document))
    out = tmp_path / "a" / "b" / "out"
    before = set(tmp_path.rglob("*"))
    ran = main_run("--fleet", str(fleet_copy), "render", "--out", str(out))
    assert _created_outside(tmp_path, out, before) == [] and not out.exists()
    assert ran.exit_code == 3
    problems = re.findall(
        rf"^{re.escape(str(fleet_copy))}/cluster-(\d)/services.yaml:\d+:\d+: Service (\w+): "
        r'metadata.namespace "../../../../escaped" is not a valid namespace name',
        ran.stderr,
        re.MULTILINE,
    )
    assert problems == [("1", "details"), ("1", "reviews"), ("2", "details"), ("2", "reviews")], ran.stderr
    no_traceback(ran)


def test_render_refuses_a_link_in_out_that_leads_outside(tctl, tmp_path):
    out = tmp_path / "out"
    assert tctl("render", "--out", str(out)).exit_code == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    entries = out / "cluster-3" / "serviceentries"
    shutil.rmtree(entries)
    entries.symlink_to(elsewhere, target_is_directory=True)
    ran = tctl("render", "--out", str(out))
    assert ran.exit_code == 2
    assert f'"{entries / "xcp-multicluster" / "details.bookinfo.yaml"}" leads outside' in ran.stderr
    assert list(elsewhere.iterdir()) == []
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == {
        p: b for p, b in before.items() if not p.is_relative_to(entries)
    }  # nothing written
    no_traceback(ran)


def test_render_prunes_nothing_a_link_in_out_leads_to(tctl, tmp_path):
    out = tmp_path / "out"
    assert tctl("render", "--out", str(out)).exit_code == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "theirs.yaml").write_text("kind: Theirs\n")
    (out / "linked").symlink_to(elsewhere, target_is_directory=True)
    (out / "linked.yaml").symlink_to(elsewhere / "theirs.yaml")
    ran = tctl("render", "--out", str(out))
    assert ran.exit_code == 0, ran.stderr
    assert "1 removed" in ran.stdout  # the stale link itself, not what it leads to
    assert (elsewhere / "theirs.yaml").read_text() == "kind: Theirs\n"
    assert not (out / "linked.yaml").is_symlink() and (out / "linked").is_symlink()


# --- clusters -------------------------------------------------------------------------------------


def test_clusters_of_the_snapshot_fleet(tctl):
    ran = tctl("clusters")
    assert ran.exit_code == 0, ran.stderr
    rows = table(ran.stdout)
    assert [(r["NAME"], r["NETWORK"], r["LOCALITY"], r["REACHABLE"]) for r in rows] == [
        ("cluster-1", "network-1", "eu-west-2", "yes"),
        ("cluster-2", "network-2", "eu-west-1", "yes"),
        ("cluster-3", "network-3", "us-east-1", "yes"),
    ]
    by_name = {r["NAME"]: r for r in rows}
    assert by_name["cluster-1"]["GATEWAY ADDRESSES"].split(",") == C1_ADDRESSES
    assert by_name["cluster-2"]["GATEWAY ADDRESSES"].split(",") == C2_ADDRESSES
    assert by_name["cluster-3"]["GATEWAY ADDRESSES"] == ""
    assert [by_name[n]["SERVICES"] for n in ("cluster-1", "cluster-2", "cluster-3")] == ["5", "5", "1"]


# --- determinism ----------------------------------------------------------------------------------


def test_two_runs_give_identical_bytes(tctl, proc):
    first = tctl("get", "se", "-A", "-o", "yaml")
    second = tctl("get", "se", "-A", "-o", "yaml")
    assert first.exit_code == second.exit_code == 0
    assert first.stdout.encode() == second.stdout.encode()
    sub = proc("--fleet", str(FLEET), "get", "se", "-A", "-o", "yaml")
    assert sub.exit_code == 0, sub.stderr
    assert sub.stdout.encode() == first.stdout.encode()


def test_file_order_in_the_snapshot_does_not_matter(tctl, fleet_copy):
    services = fleet_copy / "cluster-1" / "services.yaml"
    document = yaml.safe_load(services.read_text())
    document["items"].reverse()
    for item in document["items"]:
        if item["metadata"]["name"] == "eastwest-gateway":
            item["status"]["loadBalancer"]["ingress"].reverse()
    services.write_text(yaml.safe_dump(document))
    for kind in GENERATED.values():
        original = tctl("get", kind, "-A", "-o", "yaml")
        shuffled = tctl("get", kind, "-A", "-o", "yaml", fleet=fleet_copy)
        assert shuffled.exit_code == 0, shuffled.stderr
        assert shuffled.stdout == original.stdout, kind
