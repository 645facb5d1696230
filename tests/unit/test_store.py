"""The SQLite store on real files: rules of apply/delete, error reporting, and real-process
concurrency and crash safety (no mocks)."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tctl_py.errors import ExitCode, NotFound, StoreError
from tctl_py.store import SCHEMA_VERSION, ApplyRefused, Store, default_path

ROOT = Path(__file__).resolve().parents[2]

ORG = "organizations/tse"
TENANT = f"{ORG}/tenants/tse"
WS = f"{TENANT}/workspaces/bookinfo-ws"
SETTING = f"{WS}/settings/bookinfo-ws-settings"
CLUSTER = f"{ORG}/clusters/cluster-1"


def org(name="tse", **spec):
    return (f"organizations/{name}", "Organization", None, {"displayName": name, **spec})


def tenant(org_fqn=ORG, name="tse"):
    return (f"{org_fqn}/tenants/{name}", "Tenant", org_fqn, {"spec": {}})


def workspace(tenant_fqn=TENANT, name="bookinfo-ws", namespaces=("bookinfo",)):
    return (
        f"{tenant_fqn}/workspaces/{name}",
        "Workspace",
        tenant_fqn,
        {"spec": {"namespaceSelector": {"names": [f"*/{n}" for n in namespaces]}}},
    )


def setting(ws_fqn=WS, name="bookinfo-ws-settings", mode="GATEWAY"):
    return (
        f"{ws_fqn}/settings/{name}",
        "WorkspaceSetting",
        ws_fqn,
        {"spec": {"defaultEastWestGatewaySettings": [{"mode": mode}]}},
    )


def cluster(name="cluster-1", org_fqn=ORG, **spec):
    return (f"{org_fqn}/clusters/{name}", "Cluster", org_fqn, {"spec": {"network": name, **spec}})


@pytest.fixture
def path(tmp_path):
    return tmp_path / "state" / "store.db"


@pytest.fixture
def store(path):
    with Store(path) as s:
        yield s


def fqns(store):
    return [o.fqn for o in store.list()]


# --- basic behaviour ---------------------------------------------------------------------------


def test_default_path(monkeypatch, tmp_path):
    monkeypatch.setenv("TCTL_STORE", str(tmp_path / "x.db"))
    assert default_path() == tmp_path / "x.db"
    monkeypatch.delenv("TCTL_STORE")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert default_path() == tmp_path / "state" / "tctl" / "store.db"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_path() == tmp_path / ".local" / "state" / "tctl" / "store.db"


def test_reads_of_a_missing_store_are_empty_and_create_nothing(path):
    with Store(path) as s:
        assert s.get(ORG) is None
        assert s.list() == []
        changes = s.apply([org(), tenant()], dry_run=True)
        assert [c.action for c in changes] == ["created", "created"]
    assert not path.exists() and not path.parent.exists()


def test_create_configure_unchanged(store, path):
    changes = store.apply([org(), cluster()])
    assert [(c.fqn, c.action) for c in changes] == [(ORG, "created"), (CLUSTER, "created")]
    assert changes[0].before is None and changes[0].after == org()[3]
    first = store.get(CLUSTER)
    assert (first.kind, first.parent, first.revision) == ("Cluster", ORG, 1)
    assert first.body == {"spec": {"network": "cluster-1"}}

    changes = store.apply([org(), cluster(locality={"region": "eu"})])
    assert [c.action for c in changes] == ["unchanged", "configured"]
    assert changes[1].before == {"spec": {"network": "cluster-1"}}
    assert changes[1].after == {"spec": {"network": "cluster-1", "locality": {"region": "eu"}}}
    second = store.get(CLUSTER)
    assert second.revision == 2 and second.created == first.created
    assert store.get(ORG).revision == 1

    # key order does not matter: the body is compared as canonical JSON
    body = {"spec": {"locality": {"region": "eu"}, "network": "cluster-1"}}
    assert store.apply([(CLUSTER, "Cluster", ORG, body)])[0].action == "unchanged"

    # schema version and journal mode are recorded in the file
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()


def test_shuffled_batch_is_applied_parent_first(store):
    items = [
        org(),
        tenant(),
        workspace(),
        setting(),
        cluster(),
        cluster("cluster-2"),
        org("other"),
        tenant("organizations/other", "t"),
        workspace("organizations/other/tenants/t", "w"),
    ]
    random.Random(7).shuffle(items)
    changes = store.apply(items)
    assert {c.action for c in changes} == {"created"}
    depths = [c.fqn.count("/") for c in changes]
    assert depths == sorted(depths)
    assert fqns(store) == sorted(i[0] for i in items)
    assert store.get(SETTING).parent == WS


def test_list_filters_by_kind_and_subtree(store):
    store.apply([org(), org("tse2"), tenant(), workspace(), cluster(), cluster("c", "organizations/tse2")])
    assert fqns(store) == sorted(fqns(store))
    assert [o.fqn for o in store.list(kind="Cluster")] == [CLUSTER, "organizations/tse2/clusters/c"]
    assert [o.fqn for o in store.list(under=ORG)] == [ORG, CLUSTER, TENANT, WS]
    assert [o.fqn for o in store.list(under=TENANT + "/")] == [TENANT, WS]
    assert [o.fqn for o in store.list(kind="Cluster", under=ORG)] == [CLUSTER]
    assert store.list(under="organizations/ts") == []


def test_missing_parent_writes_nothing_and_names_every_offender(store):
    store.apply([org()])
    batch = [
        cluster("fine"),
        tenant("organizations/nope", "t1"),
        workspace(f"{TENANT}", "w"),
        setting("organizations/tse/tenants/ghost/workspaces/w"),
        tenant(),
    ]
    with pytest.raises(ApplyRefused) as err:
        store.apply(batch)
    assert err.value.exit_code == ExitCode.INVALID == 3
    offenders = [fqn for fqn, _ in err.value.problems]
    ghost = "organizations/tse/tenants/ghost/workspaces/w/settings/bookinfo-ws-settings"
    assert offenders == sorted(["organizations/nope/tenants/t1", ghost])
    assert "organizations/nope/tenants/t1" in err.value.message
    # the valid items of the batch were not written either
    assert fqns(store) == [ORG]


def test_one_workspace_setting_per_workspace(store):
    store.apply([org(), tenant(), workspace(), setting()])
    # replacing the same setting is fine
    assert store.apply([setting(mode="SPECIFIC")])[0].action == "configured"
    with pytest.raises(ApplyRefused) as err:
        store.apply([cluster(), setting(name="another")])
    assert [fqn for fqn, _ in err.value.problems] == [f"{WS}/settings/another"]
    assert SETTING in err.value.problems[0][1]
    assert CLUSTER not in fqns(store)

    # two new settings for a new workspace in one batch: both named, nothing written
    ws2 = f"{TENANT}/workspaces/ws2"
    with pytest.raises(ApplyRefused) as err:
        store.apply([workspace(name="ws2"), setting(ws2, "a"), setting(ws2, "b")])
    assert [fqn for fqn, _ in err.value.problems] == [f"{ws2}/settings/a", f"{ws2}/settings/b"]
    assert ws2 not in fqns(store)


def test_duplicate_fqn_with_different_bodies_is_refused(store):
    store.apply([org()])
    assert len(store.apply([cluster(), cluster()])) == 1  # identical duplicates collapse
    with pytest.raises(ApplyRefused) as err:
        store.apply([cluster(region="a"), cluster(region="b")])
    assert [fqn for fqn, _ in err.value.problems] == [CLUSTER]


def test_recursive_delete(store):
    store.apply(
        [org(), tenant(), workspace(), setting(), cluster(), org("tse2"), tenant("organizations/tse2")]
    )
    changes = store.delete([TENANT])
    assert [(c.fqn, c.action) for c in changes] == [
        (SETTING, "deleted"),
        (WS, "deleted"),
        (TENANT, "deleted"),
    ]
    assert changes[0].before == setting()[3] and changes[0].after is None
    assert fqns(store) == [ORG, CLUSTER, "organizations/tse2", "organizations/tse2/tenants/tse"]

    # deleting an ancestor and a descendant together reports each object once, children first
    changes = store.delete([CLUSTER, ORG])
    assert [c.fqn for c in changes] == [CLUSTER, ORG]
    # the sibling organization sharing the name prefix is untouched
    assert fqns(store) == ["organizations/tse2", "organizations/tse2/tenants/tse"]


def test_unknown_delete_removes_nothing(store, tmp_path):
    store.apply([org(), tenant()])
    with pytest.raises(NotFound) as err:
        store.delete([TENANT, "organizations/tse/clusters/nope", "organizations/zz"])
    assert "organizations/tse/clusters/nope" in err.value.message
    assert "organizations/zz" in err.value.message
    assert err.value.exit_code == ExitCode.INVALID
    assert fqns(store) == [ORG, TENANT]
    with pytest.raises(NotFound):
        Store(tmp_path / "absent.db").delete([ORG])
    assert not (tmp_path / "absent.db").exists()


def test_dry_run_writes_nothing(store):
    store.apply([org(), cluster()])
    changes = store.apply([org(), cluster(region="x"), tenant()], dry_run=True)
    assert [(c.fqn, c.action) for c in changes] == [
        (ORG, "unchanged"),
        (CLUSTER, "configured"),
        (TENANT, "created"),
    ]
    assert fqns(store) == [ORG, CLUSTER]
    assert store.get(CLUSTER).body == cluster()[3] and store.get(CLUSTER).revision == 1
    with pytest.raises(ApplyRefused):
        store.apply([workspace()], dry_run=True)

    changes = store.delete([ORG], dry_run=True)
    assert [c.fqn for c in changes] == [CLUSTER, ORG]
    assert fqns(store) == [ORG, CLUSTER]


# --- errors ------------------------------------------------------------------------------------


def test_corrupt_file_raises_store_error(tmp_path):
    bad = tmp_path / "store.db"
    bad.write_bytes(b"this is not a sqlite database, just some text\n" * 100)
    with Store(bad) as s:
        for call in (lambda: s.get(ORG), lambda: s.list(), lambda: s.apply([org()]), lambda: s.delete([ORG])):
            with pytest.raises(StoreError) as err:
                call()
            assert str(bad) in err.value.message
            assert "TCTL_STORE" in err.value.hint and "--store" in err.value.hint
            assert err.value.__cause__ is None or not isinstance(err.value.__cause__, sqlite3.Error)
    assert bad.read_bytes().startswith(b"this is not a sqlite database")


def test_foreign_sqlite_database_and_newer_schema_are_refused(tmp_path):
    foreign = tmp_path / "foreign.db"
    raw = sqlite3.connect(foreign)
    raw.execute("CREATE TABLE t (x)")
    raw.commit()
    raw.close()
    with pytest.raises(StoreError, match="not a tctl store"):
        Store(foreign).list()

    newer = tmp_path / "newer.db"
    raw = sqlite3.connect(newer)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(StoreError, match="newer"):
        Store(newer).apply([org()])


def test_folder_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError) as err:
        Store(blocker / "sub" / "store.db").apply([org()])
    assert str(blocker / "sub") in err.value.message and "TCTL_STORE" in err.value.hint


def test_store_path_is_a_folder(tmp_path):
    with pytest.raises(StoreError) as err:
        Store(tmp_path).list()
    assert str(tmp_path) in err.value.message


# --- real processes ----------------------------------------------------------------------------


def _python(code: str, *args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


WRITER = """
import os, sys, time
from tctl_py.store import Store
path, go, me, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
while not os.path.exists(go):
    time.sleep(0.002)
with Store(path) as s:
    for i in range(n):
        fqn = f"organizations/tse/clusters/{me}-{i}"
        body = {"spec": {"writer": me, "i": i}}
        [change] = s.apply([(fqn, "Cluster", "organizations/tse", body)])
        assert change.action == "created", change
        assert s.get(fqn) is not None
"""


def test_concurrent_processes_all_writes_land(path, tmp_path):
    with Store(path) as s:
        s.apply([org()])
    go = tmp_path / "go"
    writers, per_writer = 4, 50
    procs = [_python(WRITER, str(path), str(go), f"w{k}", str(per_writer)) for k in range(writers)]
    time.sleep(0.3)  # let every interpreter start and wait on the barrier
    go.touch()
    for p in procs:
        _out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    with Store(path) as s:
        clusters = s.list(kind="Cluster")
        assert len(clusters) == writers * per_writer
        assert {o.fqn for o in clusters} == {
            f"{ORG}/clusters/w{k}-{i}" for k in range(writers) for i in range(per_writer)
        }
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
    raw.close()


CRASHER = """
import sys
from tctl_py.store import Store
path, batch, base = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
pad = "x" * 600  # large enough that a batch spills uncommitted pages into the WAL
s = Store(path)
gen = base
while True:
    print("start", gen, flush=True)
    s.apply([(f"organizations/tse/clusters/c{j}", "Cluster", "organizations/tse",
              {"spec": {"gen": gen, "j": j, "pad": pad}}) for j in range(batch)])
    print("done", gen, flush=True)
    gen += 1
"""


def test_sigkill_mid_transaction_leaves_all_or_nothing(path):
    batch = 5000
    with Store(path) as s:
        s.apply([org(), tenant()])
    killed_mid_apply = 0
    for round_, delay in enumerate((0.02, 0.06, 0.1)):
        base = round_ * 1000
        proc = _python(CRASHER, str(path), str(batch), str(base))
        lines = []
        while True:  # wait for the first batch to commit and the second to start
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            lines.append(line.split())
            if lines[-1] == ["start", str(base + 1)]:
                break
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        rest, _ = proc.communicate(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        lines += [line.split() for line in rest.splitlines()]
        done = [int(g) for word, g in lines if word == "done"]
        if lines[-1][0] == "start":
            killed_mid_apply += 1

        with Store(path) as s:
            objects = s.list(kind="Cluster")
            assert len(objects) == batch
            gens = {o.body["spec"]["gen"] for o in objects}
            assert len(gens) == 1, f"a torn batch: generations {sorted(gens)[:5]}"
            # the committed generation is the last "done", or the next one if the kill landed
            # between COMMIT and the print
            assert gens.pop() in (done[-1], done[-1] + 1)
            assert [o.fqn for o in s.list(kind="Tenant")] == [TENANT]
        raw = sqlite3.connect(path)
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        raw.close()
    assert killed_mid_apply >= 1


RACER = """
import os, sys, time
from tctl_py.store import Store
path, go, me = sys.argv[1], sys.argv[2], sys.argv[3]
while not os.path.exists(go):
    time.sleep(0.002)
with Store(path) as s:
    s.apply([("organizations/tse", "Organization", None, {}),
              (f"organizations/tse/clusters/{me}", "Cluster", "organizations/tse", {})])
"""


def test_concurrent_processes_creating_a_new_store(path, tmp_path):
    go = tmp_path / "go"
    procs = [_python(RACER, str(path), str(go), f"r{k}") for k in range(4)]
    time.sleep(0.3)
    go.touch()
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    with Store(path) as s:
        assert fqns(s) == [ORG] + [f"{ORG}/clusters/r{k}" for k in range(4)]
        assert s.get(ORG).revision == 1


# --- ownership: identity, tombstones, replacing an organization (issue 7 items 1, 2) --------------


def test_identity_is_made_once_with_the_store_and_kept(store, path):
    assert Store(path.with_name("missing.db")).identity() == ""
    store.apply([org()])
    identity = store.identity()
    assert len(identity) == 16 and int(identity, 16) >= 0
    with Store(path) as again:
        assert again.identity() == identity
    with Store(path.with_name("other.db")) as other:
        other.apply([org()])
        assert other.identity() != identity


def test_delete_leaves_tombstones_that_a_new_apply_lifts(store):
    store.apply([org(), tenant(), workspace(), setting()])
    store.delete([WS])
    assert set(store.tombstones()) == {WS, SETTING}
    store.apply([workspace(), setting()])
    assert store.tombstones() == {}


def test_a_dry_run_delete_leaves_no_tombstone(store):
    store.apply([org(), tenant(), workspace(), setting()])
    store.delete([WS], dry_run=True)
    assert store.tombstones() == {}


def test_replace_under_deletes_the_rest_of_the_organization_children_first(store):
    other_ws = f"{TENANT}/workspaces/other-ws"
    store.apply(
        [
            org(),
            tenant(),
            workspace(),
            setting(),
            workspace(name="other-ws"),
            setting(other_ws, "other-settings"),
            cluster(),
            org("acme"),
        ]
    )
    changes = store.apply([org(), tenant(), workspace(), setting()], replace_under=[ORG])
    deleted = [c.fqn for c in changes if c.action == "deleted"]
    assert deleted == [f"{other_ws}/settings/other-settings", other_ws, CLUSTER]
    assert fqns(store) == ["organizations/acme", ORG, TENANT, WS, SETTING]
    assert set(store.tombstones()) == set(deleted)


def test_replace_under_keeps_the_ancestors_of_what_the_input_holds(store):
    store.apply([org(), tenant(), workspace(), setting(), cluster()])
    # An input of one setting (its parents only named in its metadata) keeps its parents.
    changes = store.apply([setting()], replace_under=[ORG])
    assert [c.fqn for c in changes if c.action == "deleted"] == [CLUSTER]
    assert fqns(store) == [ORG, TENANT, WS, SETTING]


def test_replace_under_dry_run_reports_without_deleting(store):
    store.apply([org(), tenant(), workspace(), setting(), cluster()])
    changes = store.apply([org()], replace_under=[ORG], dry_run=True)
    assert {c.fqn for c in changes if c.action == "deleted"} == {TENANT, WS, SETTING, CLUSTER}
    assert set(fqns(store)) == {ORG, TENANT, WS, SETTING, CLUSTER}
    assert store.tombstones() == {}


def test_a_store_of_schema_version_1_is_upgraded_in_place(path):
    path.parent.mkdir(parents=True)
    raw = sqlite3.connect(path)
    raw.executescript("""
        CREATE TABLE objects (fqn TEXT PRIMARY KEY, kind TEXT NOT NULL, parent TEXT REFERENCES
            objects(fqn), body TEXT NOT NULL, revision INTEGER NOT NULL DEFAULT 1,
            created TEXT NOT NULL, updated TEXT NOT NULL) WITHOUT ROWID;
        INSERT INTO objects VALUES ('organizations/tse', 'Organization', NULL, '{}', 1, 'x', 'x');
        PRAGMA user_version = 1;
    """)
    raw.close()
    with Store(path) as store:
        assert fqns(store) == [ORG]
        assert len(store.identity()) == 16
        assert store.tombstones() == {}


# --- files: permissions, read-only stores (issue 7 item 9) ---------------------------------------


def test_store_is_created_0600_in_folders_created_0700(tmp_path):
    path = tmp_path / "a" / "b" / "store.db"
    with Store(path) as store:
        store.apply([org()])
        with store.reconcile_lock("test"):
            pass
    assert (path.stat().st_mode & 0o777) == 0o600
    assert (path.parent.stat().st_mode & 0o777) == 0o700
    assert (path.parent.parent.stat().st_mode & 0o777) == 0o700
    assert (path.with_name("store.db.lock").stat().st_mode & 0o777) == 0o600


def test_an_existing_folder_keeps_its_mode(tmp_path):
    tmp_path.chmod(0o755)
    with Store(tmp_path / "store.db") as store:
        store.apply([org()])
    assert (tmp_path.stat().st_mode & 0o777) == 0o755


def _make_read_only(*paths: Path) -> None:
    """Read-only even for root: the immutable attribute when root (root ignores file modes),
    else the mode bits."""
    for path in paths:
        if os.geteuid() == 0:
            done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
            if done.returncode != 0:
                pytest.skip(f"cannot make {path} read-only for root here: {done.stderr.strip()}")
        else:
            path.chmod(0o555 if path.is_dir() else 0o444)


def _make_writable(*paths: Path) -> None:
    for path in paths:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], capture_output=True)
        path.chmod(0o755 if path.is_dir() else 0o644)


@pytest.mark.parametrize("folder_writable", [True, False])
def test_a_read_only_store_still_reads_and_refuses_writes_clearly(tmp_path, folder_writable):
    folder = tmp_path / "shared"
    folder.mkdir()
    path = folder / "store.db"
    with Store(path) as store:
        store.apply([org(), tenant()])
    frozen = [path] if folder_writable else [path, folder]
    _make_read_only(*frozen)
    try:
        with Store(path) as store:
            assert [o.fqn for o in store.list()] == [ORG, TENANT]
            assert store.read_only
            with pytest.raises(StoreError, match="read-only"):
                store.apply([org("x")])
            with pytest.raises(StoreError, match="read-only"):
                store.delete([TENANT])
            assert [o.fqn for o in store.list()] == [ORG, TENANT]
    finally:
        _make_writable(*frozen)


# --- the reconcile lock (issue 7 item 3) -----------------------------------------------------------

HOLD_LOCK = """
import sys, time
from tctl_py.store import Store
with Store(sys.argv[1]).reconcile_lock("tctl apply (test)"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_a_second_reconcile_waits_for_the_first_and_is_told_who_holds_the_lock(path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path), "1.0"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        waited_for: list[str] = []
        started = time.monotonic()
        with Store(path).reconcile_lock("tctl sync", on_wait=waited_for.append):
            waited = time.monotonic() - started
        assert waited >= 0.5
        assert len(waited_for) == 1 and f"pid {holder.pid}: tctl apply (test)" == waited_for[0]
    finally:
        holder.wait(10)
    # free now: no wait, no message
    told: list[str] = []
    with Store(path).reconcile_lock("tctl sync", on_wait=told.append):
        pass
    assert told == []


def test_data_version_changes_when_another_connection_commits(path):
    with Store(path) as watcher:
        assert watcher.data_version() == 0  # no store yet: nothing was created
        with Store(path) as writer:
            writer.apply([org()])
            first = watcher.data_version()
            assert first != 0
            assert watcher.data_version() == first  # nothing new: the same token
            writer.apply([tenant()])
            assert watcher.data_version() != first
