"""`apply`, `diff`, `sync` and `delete` on the snapshot fleet examples/bookinfo/fleet.

A snapshot fleet is read-only (SPEC §5): `apply` stores the configuration and reports what it
would write to each cluster, "(snapshot fleet: not written)"; the snapshot's clusters are taken
to hold what the stored configuration generates, so `sync`, `diff` and `apply --dry-run` show
what a change of configuration changes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.cli import SUMMARY

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "bookinfo"
CONFIG = EXAMPLE / "config"
EASTWEST = EXAMPLE / "eastwest-gateway.yaml"
NOT_WRITTEN = " (snapshot fleet: not written)"
STEP = re.compile(
    r"^(?P<cluster>cluster-\d+) (?P<label>\S+) "
    r"(?P<outcome>created|configured|unchanged|pruned|conflict|kept)"
    r"(?P<suffix> \((?:dry run|server dry run|snapshot fleet: not written)\))?(?:: .+)?$"
)
GW = "gateway.networking.istio.io/tctl-eastwest-gateway"
OBJECTS = 2 + 1 + 10 + 4 + 2  # cluster-3's ServiceEntries and namespace, WEs, DRs, Gateways


def steps(stdout: str) -> dict[tuple[str, str], tuple[str, str]]:
    """(cluster, object) -> (outcome, suffix) for every per-object line; every cluster line must
    be one."""
    found = {}
    for line in stdout.splitlines():
        if line.startswith("cluster-") and not SUMMARY.match(line):
            match = STEP.match(line)
            assert match, line
            found[(match["cluster"], match["label"])] = (match["outcome"], match["suffix"] or "")
    return found


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture()
def snapshot(tmp_path) -> Path:
    """A copy of the example's snapshot fleet (so a write to it would be seen)."""
    target = tmp_path / "fleet"
    for path in (EXAMPLE / "fleet").rglob("*.yaml"):
        copy = target / path.relative_to(EXAMPLE / "fleet")
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(path.read_bytes())
    return target


@pytest.fixture()
def tctl(main_run, snapshot):
    """tctl in this process with `--fleet` the snapshot copy."""

    def run(*args):
        ran = main_run("--fleet", str(snapshot), *map(str, args))
        assert "Traceback" not in ran.stderr, ran.stderr
        return ran

    return run


@pytest.fixture()
def applied(tctl):
    ran = tctl("apply", "-f", CONFIG)
    assert ran.exit_code == 0, ran.stderr
    return ran


def test_apply_on_a_snapshot_fleet_stores_and_reports_what_it_would_write(tctl, snapshot):
    before = files(snapshot)
    ran = tctl("apply", "-f", CONFIG)
    assert ran.exit_code == 0, ran.stderr
    assert "workspacesetting/bookinfo-ws-settings created" in ran.stdout.splitlines()
    found = steps(ran.stdout)
    assert len(found) == OBJECTS
    assert set(found.values()) == {("created", NOT_WRITTEN)}
    assert ("cluster-3", "serviceentry.networking.istio.io/details.bookinfo") in found
    assert ("cluster-3", "namespace/xcp-multicluster") in found
    assert ("cluster-1", GW) in found and ("cluster-2", GW) in found
    assert files(snapshot) == before
    # stored: the configuration is there for the next commands
    stored = tctl("get", "wss", "-o", "name")
    assert stored.stdout.splitlines() == ["workspacesetting/bookinfo-ws-settings"]


def test_apply_dry_run_exits_1_before_and_0_after_the_same_config(tctl):
    first = tctl("apply", "-f", CONFIG, "--dry-run")
    assert first.exit_code == 1, first.stderr
    assert set(steps(first.stdout).values()) == {("created", " (dry run)")}
    assert "+++ b/cluster-3/ServiceEntry/xcp-multicluster/details.bookinfo" in first.stdout
    assert tctl("get", "organizations").stdout == ""  # a dry run stores nothing either
    assert tctl("apply", "-f", CONFIG).exit_code == 0
    again = tctl("apply", "-f", CONFIG, "--dry-run", "-v")
    assert again.exit_code == 0, again.stdout
    assert {outcome for outcome, _ in steps(again.stdout).values()} == {"unchanged"}
    assert "+++" not in again.stdout and "---" not in again.stdout


def test_diff_of_a_changed_setting_shows_the_gateway_hosts_change(tctl, applied, changed_setting):
    assert tctl("diff").exit_code == 0
    ran = tctl("diff", "-f", changed_setting)
    assert ran.exit_code == 1, ran.stderr
    for cluster in ("cluster-1", "cluster-2"):
        header = (
            f"--- a/{cluster}/Gateway/bookinfo/tctl-eastwest-gateway\n"
            f"+++ b/{cluster}/Gateway/bookinfo/tctl-eastwest-gateway\n"
        )
        assert header in ran.stdout
        hunk = ran.stdout.split(header, 1)[1].split("\n--- ", 1)[0]
        assert "     - details.bookinfo.svc.cluster.local\n-    - reviews.bookinfo.svc.cluster.local" in hunk
    assert "--- a/cluster-3/ServiceEntry/xcp-multicluster/reviews.bookinfo\n+++ /dev/null" in ran.stdout
    assert (
        "+++ b/store/organizations/tse/tenants/tse/workspaces/bookinfo-ws/settings/"
        "bookinfo-ws-settings" in ran.stdout
    )
    # the same bytes every time, and the store is left as it was
    assert tctl("diff", "-f", changed_setting).stdout.encode() == ran.stdout.encode()
    assert tctl("diff").exit_code == 0


def test_sync_on_a_snapshot_fleet_writes_nothing_and_reports_unchanged(tctl, applied, snapshot):
    before = files(snapshot)
    ran = tctl("sync", "-v")
    assert ran.exit_code == 0, ran.stderr
    found = steps(ran.stdout)
    assert len(found) == OBJECTS
    assert set(found.values()) == {("unchanged", "")}
    assert files(snapshot) == before
    one = tctl("sync", "--cluster", "cluster-3", "-v")
    assert one.exit_code == 0, one.stderr
    assert {cluster for cluster, _ in steps(one.stdout)} == {"cluster-3"}


def test_sync_and_apply_refuse_unknown_clusters_and_dry_run_modes(tctl, applied):
    unknown = tctl("sync", "--cluster", "cluster-9")
    assert unknown.exit_code == 2
    assert "cluster-9" in unknown.stderr and "cluster-1" in unknown.stderr
    assert tctl("apply", "-f", CONFIG, "--dry-run=sometimes").exit_code == 2
    assert tctl("sync", "--dry-run=sometimes").exit_code == 2


def test_apply_after_a_setting_change_reports_what_the_change_changes(
    tctl, applied, changed_setting, snapshot
):
    before = files(snapshot)
    ran = tctl("apply", "-f", changed_setting, "-v")
    assert ran.exit_code == 0, ran.stderr
    found = steps(ran.stdout)
    assert found[("cluster-1", GW)] == ("configured", NOT_WRITTEN)
    assert found[("cluster-3", "serviceentry.networking.istio.io/reviews.bookinfo")] == (
        "pruned",
        NOT_WRITTEN,
    )
    assert found[("cluster-3", "serviceentry.networking.istio.io/details.bookinfo")] == ("unchanged", "")
    assert files(snapshot) == before
    assert tctl("diff").exit_code == 0


def test_deleting_the_workspace_reports_every_prune(tctl, applied):
    ran = tctl("delete", "ws", "bookinfo-ws", "--org", "tse", "--tenant", "tse", "--cascade")
    assert ran.exit_code == 0, ran.stderr
    found = steps(ran.stdout)
    assert len(found) == OBJECTS - 1  # all but the xcp-multicluster Namespace, never pruned
    assert ("cluster-3", "namespace/xcp-multicluster") not in found
    assert set(found.values()) == {("pruned", NOT_WRITTEN)}
    assert tctl("get", "ws").stdout == ""


def test_ingress_gateway_on_a_snapshot_fleet(tctl, applied):
    refused = tctl("apply", "-f", EASTWEST)
    assert refused.exit_code == 2
    assert "--cluster" in refused.stderr
    assert tctl("apply", "-f", EASTWEST, "--cluster", "cluster-9").exit_code == 2
    one = tctl("apply", "-f", EASTWEST, "--cluster", "cluster-1")
    assert one.exit_code == 0, one.stderr
    label = "ingressgateway.install.tetrate.io/eastwest-gateway"
    assert [line for line in one.stdout.splitlines() if label in line] == [
        f"cluster-1 {label} created{NOT_WRITTEN}"
    ]
    every = tctl("apply", "-f", EASTWEST, "--all-clusters")
    assert every.exit_code == 0, every.stderr
    assert [line.split()[0] for line in every.stdout.splitlines() if label in line] == [
        "cluster-1",
        "cluster-2",
        "cluster-3",
    ]


def test_sync_with_the_fleet_from_the_environment(proc, snapshot, tmp_path):
    env = {"TCTL_FLEET": str(snapshot)}
    assert proc("apply", "-f", str(CONFIG), "--no-sync", env=env).exit_code == 0
    ran = proc("sync", "-v", env=env)
    assert ran.exit_code == 0, ran.stderr
    found = steps(ran.stdout)
    # stored with --no-sync: the snapshot is taken to hold what the stored configuration generates
    assert len(found) == OBJECTS and set(found.values()) == {("unchanged", "")}
