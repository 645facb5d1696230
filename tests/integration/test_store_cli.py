"""tctl's commands on both stores (SQLite and `kube://CONTEXT/NAMESPACE`), the migration pipe,
two users in two home folders sharing one Kubernetes store, and the real kubectl reading and
changing the custom resources."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from tctl_py.store import open_store
from tests.support import EmulatedFleet
from tests.support.bookinfo import CONFIG
from tests.support.cli import ROOT, Ran, run_main, run_process

KUBE = "kube://mgmt/tctl"
STORED = ("organizations", "tenants", "workspaces", "clusters", "workspacesettings")
SETTING_NAME = "tse.tse.bookinfo-ws.bookinfo-ws-settings"


def tctl(spec: str, *args: str, input: str | None = None) -> Ran:
    ran = run_main([*args, "--store", spec], input=input)
    assert "Traceback" not in ran.stderr, ran.stderr
    return ran


@pytest.fixture
def mgmt(emulated: EmulatedFleet, monkeypatch):
    """A management cluster over https (kubectl needs it); KUBECONFIG names only it."""
    cluster = emulated.add_cluster("mgmt", istio=False, tls=True)
    kubeconfig = emulated.write_kubeconfig(emulated.directory / "kubeconfig.yaml")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    return cluster, kubeconfig


@pytest.fixture(params=["sqlite", "kube"])
def spec(request, tmp_path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    request.getfixturevalue("mgmt")
    return KUBE


def kubectl(kubeconfig: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_apply_get_delete_and_export_behave_the_same(spec):
    assert tctl(spec, "store", "init").exit_code == 0
    again = tctl(spec, "store", "init")
    assert again.exit_code == 0 and "created" not in again.stdout
    applied = tctl(spec, "apply", "--no-sync", "-f", str(CONFIG))
    assert applied.exit_code == 0, applied.stderr
    assert "workspacesetting/bookinfo-ws-settings created" in applied.stdout
    table = tctl(spec, "get", "workspaces")
    assert table.exit_code == 0 and "bookinfo-ws" in table.stdout
    shown = yaml.safe_load(tctl(spec, "get", "wss", "bookinfo-ws-settings", "-o", "yaml").stdout)
    assert shown["metadata"]["workspace"] == "bookinfo-ws"
    assert shown["spec"]["defaultEastWestGatewaySettings"]

    # a batch with an invalid document, or a setting whose workspace is missing, writes nothing
    orphan = (
        "apiVersion: api.tsb.tetrate.io/v2\nkind: WorkspaceSetting\nmetadata:\n  name: s\n"
        "  organization: tse\n  tenant: tse\n  workspace: nowhere\nspec: {}\n"
        "---\napiVersion: api.tsb.tetrate.io/v2\nkind: Tenant\nmetadata:\n  name: t2\n"
        "  organization: tse\nspec: {}\n"
    )
    refused = tctl(spec, "apply", "--no-sync", "-f", "-", input=orphan)
    assert refused.exit_code == 3 and "nowhere" in refused.stderr
    assert "t2" not in tctl(spec, "get", "tenants").stdout

    exported = tctl(spec, "store", "export")
    documents = list(yaml.safe_load_all(exported.stdout))
    assert [d["kind"] for d in documents][:3] == ["Organization", "Tenant", "Workspace"]
    assert {d["kind"] for d in documents} == {
        "Organization",
        "Tenant",
        "Workspace",
        "Cluster",
        "WorkspaceSetting",
    }

    refused = tctl(spec, "delete", "--no-sync", "workspace", "bookinfo-ws")
    assert refused.exit_code == 3 and "bookinfo-ws-settings" in refused.stderr
    deleted = tctl(spec, "delete", "--no-sync", "--cascade", "workspace", "bookinfo-ws")
    assert deleted.exit_code == 0, deleted.stderr
    assert deleted.stdout.splitlines() == [
        "workspacesetting/bookinfo-ws-settings deleted",
        "workspace/bookinfo-ws deleted",
    ]
    with open_store(spec) as store:
        assert set(store.tombstones()) == {
            "organizations/tse/tenants/tse/workspaces/bookinfo-ws",
            "organizations/tse/tenants/tse/workspaces/bookinfo-ws/settings/bookinfo-ws-settings",
        }
    missing = tctl(spec, "get", "wss", "bookinfo-ws-settings")
    assert missing.exit_code == 3


def test_sqlite_export_piped_into_apply_on_kubernetes_reads_back_identical(mgmt, tmp_path):
    sqlite = str(tmp_path / "store.db")
    assert tctl(sqlite, "apply", "--no-sync", "-f", str(CONFIG)).exit_code == 0
    assert tctl(KUBE, "store", "init").exit_code == 0
    exported = tctl(sqlite, "store", "export").stdout
    moved = tctl(KUBE, "apply", "--no-sync", "-f", "-", input=exported)
    assert moved.exit_code == 0, moved.stderr
    for kind in STORED:
        for output in ("yaml", "json", "table"):
            on_sqlite = tctl(sqlite, "get", kind, "-A", "-o", output)
            on_kube = tctl(KUBE, "get", kind, "-A", "-o", output)
            assert on_sqlite.exit_code == on_kube.exit_code == 0
            assert on_kube.stdout == on_sqlite.stdout and on_sqlite.stdout
    # and back: the Kubernetes store's export is the SQLite store's
    assert tctl(KUBE, "store", "export").stdout == exported


def test_two_home_folders_share_one_kubernetes_store_and_kubectl_sees_it(mgmt, tmp_path):
    _cluster, kubeconfig = mgmt
    homes = [tmp_path / "alice", tmp_path / "bob"]
    for home in homes:
        (home / ".kube").mkdir(parents=True)
        shutil.copy(kubeconfig, home / ".kube" / "config")

    def as_user(home: Path, *args: str) -> Ran:
        env = {"HOME": str(home), "TCTL_STORE": KUBE, "KUBECONFIG": "", "XDG_STATE_HOME": str(home / "state")}
        return run_process(list(args), env=env)

    assert as_user(homes[0], "store", "init").exit_code == 0
    assert as_user(homes[1], "store", "init").exit_code == 0
    applied = as_user(homes[0], "apply", "--no-sync", "-f", str(CONFIG))
    assert applied.exit_code == 0, applied.stderr
    seen = as_user(homes[1], "get", "wss", "-o", "yaml")
    assert seen.exit_code == 0 and "bookinfo-ws-settings" in seen.stdout
    assert not any((home / "state").exists() for home in homes)  # no SQLite file made anywhere

    listed = kubectl(kubeconfig, "get", "workspacesettings", "-A", "-L", "tctl.tetrate.io/workspace")
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split() == ["NAMESPACE", "NAME", "AGE", "WORKSPACE"]
    assert row.split()[0:2] == ["tctl", SETTING_NAME] and row.split()[-1] == "bookinfo-ws"


def test_a_kubectl_apply_of_a_changed_setting_is_seen_through_the_change_watch(mgmt):
    cluster, kubeconfig = mgmt
    assert tctl(KUBE, "store", "init").exit_code == 0
    assert tctl(KUBE, "apply", "--no-sync", "-f", str(CONFIG)).exit_code == 0
    resource = yaml.safe_load(
        kubectl(kubeconfig, "get", "workspacesettings", "-n", "tctl", SETTING_NAME, "-o", "yaml").stdout
    )
    gateways = resource["spec"]["defaultEastWestGatewaySettings"]
    gateways[0]["exposedServices"] = gateways[0]["exposedServices"][:1]
    with open_store(KUBE) as store:
        token = store.change_token()
        assert store.wait_for_change(token, 0.3) == token
        seen: list[str] = []
        waiting = threading.Thread(target=lambda: seen.append(store.wait_for_change(token, 30)))
        waiting.start()
        cluster.wait_for_watches(1, "workspacesettings")  # the change comes while it waits
        changed = kubectl(kubeconfig, "apply", "--validate=false", "-f", "-", input=yaml.safe_dump(resource))
        assert changed.returncode == 0, changed.stderr
        waiting.join(30)
        assert seen and seen[0] != token
    shown = yaml.safe_load(tctl(KUBE, "get", "wss", "bookinfo-ws-settings", "-o", "yaml").stdout)
    assert shown["spec"]["defaultEastWestGatewaySettings"][0]["exposedServices"] == [
        {"serviceLabels": {"app": "details"}}
    ]


def test_an_apply_racing_another_on_the_same_setting_gets_a_conflict_naming_it(
    mgmt, tmp_path, changed_setting
):
    cluster, kubeconfig = mgmt
    assert tctl(KUBE, "store", "init").exit_code == 0
    assert tctl(KUBE, "apply", "--no-sync", "-f", str(CONFIG)).exit_code == 0
    theirs = tmp_path / "theirs.yaml"
    theirs.write_text((CONFIG / "bookinfo-settings.yaml").read_text().replace("app: details", "app: ratings"))
    lease_reads = lambda: sum(1 for m, p in cluster.requests if m == "GET" and "/leases/" in p)  # noqa: E731
    with open_store(KUBE) as holder, holder.reconcile_lock("another tctl apply"):
        before = lease_reads()
        racing = subprocess.Popen(
            [sys.executable, "-m", "tctl_py", "apply", "-f", str(theirs), "--store", KUBE],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "KUBECONFIG": str(kubeconfig)},
            cwd=ROOT,
        )
        deadline = time.monotonic() + 30
        while lease_reads() == before and time.monotonic() < deadline:  # it waits for the lock
            time.sleep(0.05)
        assert lease_reads() > before, "the racing apply never asked for the lock"
        won = tctl(KUBE, "apply", "--no-sync", "-f", str(changed_setting))
        assert won.exit_code == 0 and "workspacesetting/bookinfo-ws-settings configured" in won.stdout
    out, err = racing.communicate(timeout=60)
    assert racing.returncode == 5, out + err
    assert "organizations/tse/tenants/tse/workspaces/bookinfo-ws/settings/bookinfo-ws-settings" in err
    assert "nothing was written" in err and "Traceback" not in err
    shown = tctl(KUBE, "get", "wss", "bookinfo-ws-settings", "-o", "yaml").stdout
    assert "reviews" not in shown and "ratings" not in shown and "details" in shown


def test_apply_sync_and_diff_reconcile_the_fleet_from_the_kubernetes_store(fleet, monkeypatch):
    fleet.add_cluster("mgmt", istio=False)
    kubeconfig = fleet.write_kubeconfig(fleet.directory / "kubeconfig.yaml", current_context="cluster-1")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    assert tctl(KUBE, "store", "init").exit_code == 0
    applied = tctl(KUBE, "apply", "-f", str(CONFIG))
    assert applied.exit_code == 0, applied.stderr
    assert set(applied.steps().values()) == {"created"} and applied.steps()
    synced = tctl(KUBE, "sync", "-v")  # -v: unchanged objects get their line too
    assert synced.exit_code == 0 and set(synced.steps().values()) == {"unchanged"}
    assert tctl(KUBE, "diff").exit_code == 0
