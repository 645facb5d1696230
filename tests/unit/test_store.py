"""The SQLite store on real files: rules of apply/delete, error reporting, and real-process
concurrency and crash safety (no mocks)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tctl_py.errors import NotFound, StoreError
from tctl_py.store import SCHEMA_VERSION, Store, default_path
from tests.support.store_items import (
    ORG,
    TENANT,
    org,
    tenant,
)

ROOT = Path(__file__).resolve().parents[2]


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


def test_schema_version_and_journal_mode_are_recorded_in_the_file(store, path):
    store.apply([org()])
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()


def test_deleting_from_a_store_that_does_not_exist_creates_nothing(tmp_path):
    with pytest.raises(NotFound):
        Store(tmp_path / "absent.db").delete([ORG])
    assert not (tmp_path / "absent.db").exists()


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
        assert store.sync_history() == []


def test_a_store_of_schema_version_2_keeps_its_objects_and_tombstones_and_gains_sync_history(path):
    with Store(path) as store:
        store.apply([org()])
    raw = sqlite3.connect(path)
    raw.executescript("DROP TABLE sync_results; PRAGMA user_version = 2;")
    raw.execute("INSERT INTO tombstones VALUES ('organizations/gone', 'Organization', 'x')")
    raw.commit()
    raw.close()
    with Store(path) as store:
        assert fqns(store) == [ORG] and store.tombstones() == {"organizations/gone": "x"}
        store.record_sync(
            "tctl sync", ["c1"], [("c1", "ServiceEntry", "xcp-multicluster", "a.b", "created", "")]
        )
        assert [(r.cluster, r.outcome, r.command) for r in store.sync_history()] == [
            ("c1", "created", "tctl sync")
        ]
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3


def test_sync_history_is_the_last_run_of_each_cluster(path):
    def results(cluster: str, outcome: str, *names: str):
        return [(cluster, "WorkloadEntry", "ns", name, outcome, "") for name in names]

    with Store(path) as store:
        store.record_sync(
            "tctl apply", ["c1", "c2"], results("c1", "created", "a", "b") + results("c2", "created", "a")
        )
        store.record_sync("tctl sync", ["c1"], results("c1", "unchanged", "a"))
        history = [(r.command, r.cluster, r.name, r.outcome) for r in store.sync_history()]
        assert history == [
            ("tctl sync", "c1", "a", "unchanged"),  # b is no longer there: c1's last run did not see it
            ("tctl apply", "c2", "a", "created"),
        ]
        assert all(r.at.endswith("Z") for r in store.sync_history())


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
