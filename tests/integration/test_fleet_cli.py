"""The bookinfo example served by three emulated clusters, through the whole CLI.

The Namespaces and Services of examples/bookinfo/fleet/ are seeded into emulated clusters named
cluster-1..3, reached through one generated multi-context kubeconfig by the official
`kubernetes` client; the live fleet must give what the snapshot fleet gives.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from tests.support import EmulatedFleet
from tests.support.cli import Ran, example_objects

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "bookinfo"
CONFIG = EXAMPLE / "config"
FLEET = EXAMPLE / "fleet"
CLUSTERS = ("cluster-1", "cluster-2", "cluster-3")
GENERATED = ("se", "we", "dr", "gw")
NAMES = [
    "serviceentry.networking.istio.io/details.bookinfo",
    "serviceentry.networking.istio.io/reviews.bookinfo",
]


def no_traceback(ran: Ran) -> None:
    assert "Traceback" not in ran.stderr and "Traceback" not in ran.stdout


@pytest.fixture()
def bookinfo(emulated: EmulatedFleet) -> EmulatedFleet:
    for cluster in CLUSTERS:
        emulated.add_cluster(cluster, objects=example_objects(cluster))
    return emulated


@pytest.fixture()
def kubeconfig(bookinfo: EmulatedFleet) -> Path:
    """cluster-1..3, current context cluster-1."""
    return bookinfo.write_kubeconfig(bookinfo.directory / "kubeconfig.yaml", current_context="cluster-1")


@pytest.fixture()
def applied(main_run):
    """The example's configuration, Cluster objects cluster-1..3 included."""
    ran = main_run("apply", "--no-sync", "-f", str(CONFIG))
    assert ran.exit_code == 0, ran.stderr
    return ran


@pytest.fixture()
def applied_without_clusters(main_run):
    """The example's configuration without Cluster objects: every context is in the fleet."""
    for name in ("organization.yaml", "workspace.yaml", "bookinfo-settings.yaml"):
        ran = main_run("apply", "--no-sync", "-f", str(CONFIG / name))
        assert ran.exit_code == 0, ran.stderr


def table(text: str) -> list[dict[str, str]]:
    """Rows of a plain (non-TTY) table as dicts, cells cut at the header columns' offsets."""
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines, "no table printed"
    header = lines[0]
    found = list(re.finditer(r"\S+(?: \S+)*", header))
    names = [match.group() for match in found]
    starts = [match.start() for match in found]
    ends = [*starts[1:], None]
    return [
        {name: line[start:end].strip() for name, start, end in zip(names, starts, ends, strict=False)}
        for line in lines[1:]
    ]


# --- live == snapshot ------------------------------------------------------------------------------


def test_live_fleet_gives_the_same_objects_as_the_snapshot(main_run, applied, kubeconfig):
    for kind in GENERATED:
        live = main_run("--kubeconfig", str(kubeconfig), "get", kind, "-A", "-o", "yaml")
        snapshot = main_run("--fleet", str(FLEET), "get", kind, "-A", "-o", "yaml")
        assert live.exit_code == 0, live.stderr
        assert snapshot.exit_code == 0, snapshot.stderr
        assert live.stdout.encode() == snapshot.stdout.encode(), kind
    live = main_run("--kubeconfig", str(kubeconfig), "get", "se", "-A", "-o", "yaml")
    items = yaml.safe_load(live.stdout)["items"]
    assert [i["metadata"]["name"] for i in items] == ["details.bookinfo", "reviews.bookinfo"]
    assert len(items[0]["spec"]["endpoints"]) == 5


def test_kubeconfig_from_the_environment_in_a_subprocess(proc, applied, kubeconfig):
    snapshot = proc("--fleet", str(FLEET), "get", "se", "-A", "-o", "yaml")
    assert snapshot.exit_code == 0, snapshot.stderr
    by_env = proc("get", "se", "-A", "-o", "yaml", env={"KUBECONFIG": str(kubeconfig)})
    assert by_env.exit_code == 0, by_env.stderr
    assert by_env.stdout == snapshot.stdout
    by_option = proc("get", "se", "-A", "-o", "yaml", "--kubeconfig", str(kubeconfig))
    assert by_option.exit_code == 0, by_option.stderr
    assert by_option.stdout == snapshot.stdout


def test_kubeconfig_from_the_environment_in_process(main_run, applied, kubeconfig, monkeypatch):
    monkeypatch.setenv(
        "KUBECONFIG", os.pathsep.join([str(kubeconfig.parent / "missing.yaml"), str(kubeconfig)])
    )
    ran = main_run("get", "se", "--cluster", "cluster-3", "-o", "name")
    assert ran.exit_code == 0, ran.stderr
    assert ran.stdout.splitlines() == NAMES


def test_snapshot_of_the_live_fleet_gives_the_same_objects(main_run, applied, kubeconfig, tmp_path, bookinfo):
    out = tmp_path / "snap"
    ran = main_run("--kubeconfig", str(kubeconfig), "snapshot", "--out", str(out))
    assert ran.exit_code == 0, ran.stderr
    assert sorted(p.name for p in out.iterdir()) == list(CLUSTERS)
    assert "3 cluster(s)" in ran.stdout
    for kind in GENERATED:
        from_snapshot = main_run("--fleet", str(out), "get", kind, "-A", "-o", "yaml")
        live = main_run("--kubeconfig", str(kubeconfig), "get", kind, "-A", "-o", "yaml")
        example = main_run("--fleet", str(FLEET), "get", kind, "-A", "-o", "yaml")
        assert from_snapshot.exit_code == live.exit_code == 0, from_snapshot.stderr + live.stderr
        assert from_snapshot.stdout.encode() == live.stdout.encode() == example.stdout.encode(), kind
    # a snapshot holds no credentials
    for path in out.rglob("*"):
        if path.is_file():
            text = path.read_text()
            for cluster in bookinfo.clusters.values():
                assert cluster.token not in text, path


# --- a cluster that is down ----------------------------------------------------------------------


@pytest.fixture()
def with_down_cluster(bookinfo: EmulatedFleet) -> Path:
    """cluster-1..3 plus cluster-4, whose port is reserved with nothing listening."""
    bookinfo.add_down_cluster("cluster-4")
    return bookinfo.write_kubeconfig(bookinfo.directory / "kubeconfig-4.yaml", current_context="cluster-1")


def test_a_down_cluster_is_reported_and_the_others_still_printed(
    main_run, applied_without_clusters, with_down_cluster, bookinfo
):
    ran = main_run("--kubeconfig", str(with_down_cluster), "get", "se", "-A", "-o", "yaml")
    assert ran.exit_code == 4, ran.stderr
    items = yaml.safe_load(ran.stdout)["items"]
    assert [i["metadata"]["name"] for i in items] == ["details.bookinfo", "reviews.bookinfo"]
    addresses = [e["address"] for e in items[0]["spec"]["endpoints"]]
    assert addresses == ["18.135.167.198", "18.168.99.230", "35.179.51.164", "198.51.100.20", "198.51.100.21"]
    assert "cluster-4" in ran.stderr
    assert bookinfo["cluster-4"].server in ran.stderr
    for cluster in bookinfo.clusters.values():
        assert cluster.token not in ran.stderr
    no_traceback(ran)
    table_ran = main_run("--kubeconfig", str(with_down_cluster), "get", "se", "-A")
    assert table_ran.exit_code == 4
    assert {r["CLUSTER"] for r in table(table_ran.stdout)} == {"cluster-3"}


def test_a_down_cluster_declared_in_the_store_exits_4(main_run, applied, with_down_cluster, tmp_path):
    cluster_4 = tmp_path / "cluster-4.yaml"
    cluster_4.write_text(
        "apiVersion: api.tsb.tetrate.io/v2\nkind: Cluster\nmetadata:\n"
        "  name: cluster-4\n  organization: tse\nspec:\n  network: network-4\n"
    )
    assert main_run("apply", "--no-sync", "-f", str(cluster_4)).exit_code == 0
    # Only the clusters a command shows count: cluster-3's objects are shown, exit 0 ...
    ran = main_run(
        "--kubeconfig", str(with_down_cluster), "get", "se", "--cluster", "cluster-3", "-o", "name"
    )
    assert ran.exit_code == 0, ran.stderr
    assert ran.stdout.splitlines() == NAMES
    # ... and showing every cluster shows the dead one's error too, exit 4.
    every = main_run("--kubeconfig", str(with_down_cluster), "get", "se", "-A", "-o", "name")
    assert every.exit_code == 4
    assert "error: cluster cluster-4: could not be read" in every.stderr


def test_a_context_the_store_does_not_name_is_not_in_the_fleet(
    main_run, applied, with_down_cluster, bookinfo
):
    ran = main_run("--kubeconfig", str(with_down_cluster), "get", "se", "-A", "-o", "yaml")
    assert ran.exit_code == 0, ran.stderr
    assert "cluster-4" not in ran.stderr
    snapshot = main_run("--fleet", str(FLEET), "get", "se", "-A", "-o", "yaml")
    assert ran.stdout == snapshot.stdout
    assert bookinfo["cluster-4"].counts == {}
    clusters = main_run("--kubeconfig", str(with_down_cluster), "clusters")
    assert clusters.exit_code == 0, clusters.stderr
    assert [r["NAME"] for r in table(clusters.stdout)] == list(CLUSTERS)


# --- clusters ------------------------------------------------------------------------------------


def test_clusters_of_the_live_fleet(main_run, applied_without_clusters, with_down_cluster, bookinfo):
    ran = main_run("--kubeconfig", str(with_down_cluster), "clusters")
    assert ran.exit_code == 4
    rows = {row["NAME"]: row for row in table(ran.stdout)}
    assert list(rows) == ["cluster-1", "cluster-2", "cluster-3", "cluster-4"]
    for name, row in rows.items():
        assert row["SERVER"] == bookinfo[name].server
        assert row["REACHABLE"] == ("no" if name == "cluster-4" else "yes")
    assert rows["cluster-1"]["GATEWAY ADDRESSES"].split(",") == [
        "18.135.167.198",
        "18.168.99.230",
        "35.179.51.164",
    ]
    assert rows["cluster-2"]["GATEWAY ADDRESSES"].split(",") == ["198.51.100.20", "198.51.100.21"]
    assert [rows[n]["SERVICES"] for n in ("cluster-1", "cluster-2", "cluster-3")] == ["5", "5", "1"]
    assert "cluster-4" in ran.stderr
    for cluster in bookinfo.clusters.values():
        assert cluster.token not in ran.stdout and cluster.token not in ran.stderr


def test_clusters_with_the_store_declaring_them(main_run, applied, kubeconfig, bookinfo):
    ran = main_run("--kubeconfig", str(kubeconfig), "clusters")
    assert ran.exit_code == 0, ran.stderr
    rows = table(ran.stdout)
    assert [(r["NAME"], r["SERVER"], r["NETWORK"], r["LOCALITY"], r["REACHABLE"]) for r in rows] == [
        ("cluster-1", bookinfo["cluster-1"].server, "network-1", "eu-west-2", "yes"),
        ("cluster-2", bookinfo["cluster-2"].server, "network-2", "eu-west-1", "yes"),
        ("cluster-3", bookinfo["cluster-3"].server, "network-3", "us-east-1", "yes"),
    ]


# --- the current context -------------------------------------------------------------------------


def test_default_cluster_is_the_current_context(main_run, applied, bookinfo):
    current_3 = bookinfo.write_kubeconfig(bookinfo.directory / "current-3.yaml", current_context="cluster-3")
    ran = main_run("--kubeconfig", str(current_3), "get", "se")
    assert ran.exit_code == 0, ran.stderr
    rows = table(ran.stdout)
    assert "CLUSTER" not in rows[0]
    assert [(r["NAMESPACE"], r["NAME"]) for r in rows] == [
        ("xcp-multicluster", "details.bookinfo"),
        ("xcp-multicluster", "reviews.bookinfo"),
    ]
    named = main_run("--kubeconfig", str(current_3), "get", "se", "-o", "name")
    assert named.stdout.splitlines() == NAMES
    # cluster-1 runs details and reviews itself: nothing to consume there
    current_1 = bookinfo.write_kubeconfig(bookinfo.directory / "current-1.yaml", current_context="cluster-1")
    ran = main_run("--kubeconfig", str(current_1), "get", "se")
    assert ran.exit_code == 0 and ran.stdout == ""
    assert "No resources found in cluster cluster-1" in ran.stderr
    ran = main_run("--kubeconfig", str(current_1), "get", "we", "-o", "name")
    assert ran.exit_code == 0, ran.stderr
    assert len(ran.stdout.splitlines()) == 4  # cluster-2's two addresses x details, reviews


def test_default_cluster_from_kubeconfig_env(proc, applied, bookinfo):
    current_3 = bookinfo.write_kubeconfig(bookinfo.directory / "current-3.yaml", current_context="cluster-3")
    ran = proc("get", "se", "-o", "name", env={"KUBECONFIG": str(current_3)})
    assert ran.exit_code == 0, ran.stderr
    assert ran.stdout.splitlines() == NAMES


# --- snapshot and render while a cluster is down -----------------------------------------------


def test_snapshot_skips_a_down_cluster_and_exits_4(
    main_run, applied_without_clusters, with_down_cluster, tmp_path
):
    out = tmp_path / "snap"
    ran = main_run("--kubeconfig", str(with_down_cluster), "snapshot", "--out", str(out))
    assert ran.exit_code == 4
    assert sorted(p.name for p in out.iterdir()) == list(CLUSTERS)  # no empty cluster-4 folder
    assert "cluster-4" in ran.stderr


def test_render_keeps_files_while_a_cluster_is_down(main_run, applied, kubeconfig, bookinfo, tmp_path):
    out = tmp_path / "rendered"
    first = main_run("--kubeconfig", str(kubeconfig), "render", "--out", str(out))
    assert first.exit_code == 0, first.stderr
    before = sorted(p.relative_to(out) for p in out.rglob("*.yaml"))
    assert Path("cluster-2", "gateways", "bookinfo", "tctl-eastwest-gateway.yaml") in before
    bookinfo["cluster-2"].stop()
    ran = main_run("--kubeconfig", str(kubeconfig), "render", "--out", str(out))
    assert ran.exit_code == 4
    assert "cluster-2" in ran.stderr
    assert re.search(r", 0 removed in ", ran.stdout), ran.stdout
    assert sorted(p.relative_to(out) for p in out.rglob("*.yaml")) == before
    bookinfo["cluster-2"].start()
    again = main_run("--kubeconfig", str(kubeconfig), "render", "--out", str(out))
    assert again.exit_code == 0, again.stderr
    assert sorted(p.relative_to(out) for p in out.rglob("*.yaml")) == before
    assert re.search(r", 0 removed in ", again.stdout), again.stdout


def test_a_declared_cluster_missing_from_the_kubeconfig_does_not_stop_the_others(main_run, applied, bookinfo):
    """SPEC §7: one failing cluster never stops the others and is reported (exit 4). A Cluster of
    the store whose context the kubeconfig lacks is such a cluster: the others are still read."""
    partial = bookinfo.write_kubeconfig(
        bookinfo.directory / "partial.yaml", names=["cluster-1", "cluster-2"], current_context="cluster-1"
    )
    ran = main_run("--kubeconfig", str(partial), "get", "we", "-A", "-o", "name")
    assert ran.exit_code == 4, ran.stderr
    assert len(ran.stdout.splitlines()) == 10  # cluster-1: 2 x 2 shadow entries, cluster-2: 2 x 3
    assert "cluster-3" in ran.stderr
    clusters = main_run("--kubeconfig", str(partial), "clusters")
    assert clusters.exit_code == 4, clusters.stderr
    rows = {row["NAME"]: row for row in table(clusters.stdout)}
    assert [(name, rows[name]["REACHABLE"]) for name in CLUSTERS] == [
        ("cluster-1", "yes"),
        ("cluster-2", "yes"),
        ("cluster-3", "no"),
    ]


# --- context names that are not folder names ----------------------------------------------------

# EKS contexts are ARNs; the bookinfo clusters under such names (and under names that are paths).
ARNS = {c: f"arn:aws:eks:us-east-1:123456789012:cluster/{c}" for c in CLUSTERS}


@pytest.fixture()
def renamed(emulated: EmulatedFleet, tmp_path) -> dict[str, str]:
    """Example cluster -> context name: cluster-1 and cluster-2 are EKS ARNs, cluster-3 an
    absolute path under the test's folder, where an escape would be seen."""
    names = {**ARNS, "cluster-3": f"{tmp_path}/abs/cluster-3"}
    for cluster, name in names.items():
        emulated.add_cluster(name, objects=example_objects(cluster))
    return names


def test_snapshot_of_arn_contexts_reads_back_under_their_names(
    main_run, applied_without_clusters, emulated, renamed, tmp_path
):
    kubeconfig = emulated.write_kubeconfig(emulated.directory / "kubeconfig.yaml")
    out = tmp_path / "snap"
    ran = main_run("--kubeconfig", str(kubeconfig), "snapshot", "--out", str(out))
    assert ran.exit_code == 0, ran.stderr
    assert "3 cluster(s), 10 file(s) written" in ran.stdout  # 3 per cluster and tctl-clusters.yaml
    folders = {name: name.replace("/", "%2F") for name in renamed.values()}
    assert sorted(p.name for p in out.iterdir()) == sorted([*folders.values(), "tctl-clusters.yaml"])
    assert yaml.safe_load((out / "tctl-clusters.yaml").read_text()) == {
        "clusters": [
            {"folder": folder, "name": name} for name, folder in sorted(folders.items(), key=lambda i: i[1])
        ]
    }
    clusters = main_run("--fleet", str(out), "clusters")
    assert [row["NAME"] for row in table(clusters.stdout)] == sorted(renamed.values())
    for kind in GENERATED:
        from_snapshot = main_run("--fleet", str(out), "get", kind, "-A", "-o", "yaml")
        live = main_run("--kubeconfig", str(kubeconfig), "get", kind, "-A", "-o", "yaml")
        assert from_snapshot.exit_code == live.exit_code == 0, from_snapshot.stderr + live.stderr
        assert from_snapshot.stdout.encode() == live.stdout.encode(), kind
    no_traceback(ran)


def test_render_of_contexts_that_are_paths_writes_only_inside_out(
    main_run, applied_without_clusters, emulated, renamed, tmp_path
):
    emulated.add_cluster("../../escaped")  # an empty cluster: it gets the ServiceEntries too
    kubeconfig = emulated.write_kubeconfig(emulated.directory / "kubeconfig.yaml")
    out = tmp_path / "a" / "b" / "out"
    before = set(tmp_path.rglob("*"))
    ran = main_run("--kubeconfig", str(kubeconfig), "render", "--out", str(out))
    assert ran.exit_code == 0, ran.stderr
    created = sorted(
        p
        for p in tmp_path.rglob("*")
        if p not in before and not p.is_relative_to(out) and p not in out.parents
    )
    assert created == []
    expected = {name.replace("/", "%2F") for name in renamed.values()} | {"%2E.%2F..%2Fescaped"}
    assert {p.name for p in out.iterdir() if p.is_dir()} == expected
    assert (
        out / "%2E.%2F..%2Fescaped" / "serviceentries" / "xcp-multicluster" / "details.bookinfo.yaml"
    ).is_file()
    no_traceback(ran)
