"""The embedded SQLite store of applied configuration (Organization, Tenant, Workspace, ...).

One row per object, keyed by its FQN (`organizations/o/tenants/t/...`). Every write is one
`BEGIN IMMEDIATE` transaction: a multi-object apply or a recursive delete is all-or-nothing, and
concurrent tctl processes queue on the write lock (busy_timeout) instead of failing. The database
runs in WAL mode with `synchronous=FULL`: a killed process or a power cut leaves the last committed
state, and a command that reported "created" has its write on disk.

Besides the objects, a store keeps what ownership of the fleet's objects rests on (SPEC §3.3): its
identity (a random id made with the store, stamped on what it writes) and tombstones, the FQNs it
deleted, so a later run still knows that what they produced is its to prune. A reconcile of the
fleet holds the store's reconcile lock (`reconcile_lock`) from reading the configuration to the last
write, so two commands on one store never leave the fleet out of step with it.

Files: tctl's own folders are created 0700 and the store 0600 (its WAL files follow, as SQLite gives
them the database's mode). A store that cannot be written (a read-only file or folder) still reads.
"""

from __future__ import annotations

import builtins
import errno
import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tctl_py.config.kinds import KINDS
from tctl_py.errors import ExitCode, NotFound, StoreError, TctlError

__all__ = ["SCHEMA_VERSION", "ApplyRefused", "Change", "Store", "StoredObject", "SyncRecord", "default_path"]

SCHEMA_VERSION = 3
BUSY_TIMEOUT_S = 30.0
_HINT = "choose another file with --store PATH or the TCTL_STORE environment variable"

# Kinds of which a parent holds at most one (one WorkspaceSetting per workspace).
_ONE_PER_PARENT = frozenset({KINDS["WorkspaceSetting"].kind})

# Migrations: _MIGRATIONS[n] brings a store from user_version n to n + 1.
_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE objects (
        fqn      TEXT PRIMARY KEY,
        kind     TEXT NOT NULL,
        parent   TEXT REFERENCES objects(fqn),
        body     TEXT NOT NULL,
        revision INTEGER NOT NULL DEFAULT 1,
        created  TEXT NOT NULL,
        updated  TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX objects_parent ON objects(parent);
    CREATE INDEX objects_kind ON objects(kind, fqn);
    """,
    """
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO meta (key, value) VALUES ('id', lower(hex(randomblob(8))));
    CREATE TABLE tombstones (
        fqn     TEXT PRIMARY KEY,
        kind    TEXT NOT NULL,
        deleted TEXT NOT NULL
    ) WITHOUT ROWID;
    """,
    """
    CREATE TABLE sync_results (
        cluster   TEXT NOT NULL,
        kind      TEXT NOT NULL,
        namespace TEXT NOT NULL,
        name      TEXT NOT NULL,
        outcome   TEXT NOT NULL,
        reason    TEXT NOT NULL,
        command   TEXT NOT NULL,
        at        TEXT NOT NULL,
        PRIMARY KEY (cluster, kind, namespace, name)
    ) WITHOUT ROWID;
    """,
)
assert len(_MIGRATIONS) == SCHEMA_VERSION


def default_path() -> Path:
    """$TCTL_STORE, else $XDG_STATE_HOME/tctl/store.db, else ~/.local/state/tctl/store.db."""
    explicit = os.environ.get("TCTL_STORE")
    if explicit:
        return Path(explicit).expanduser()
    state = os.environ.get("XDG_STATE_HOME")
    base = Path(state) if state and os.path.isabs(state) else Path.home() / ".local" / "state"
    return base / "tctl" / "store.db"


@dataclass(frozen=True)
class StoredObject:
    fqn: str
    kind: str
    parent: str | None
    body: dict
    revision: int  # 1 when created, +1 on every change of the body
    created: str  # RFC 3339 UTC, e.g. 2024-05-01T12:00:00Z
    updated: str


@dataclass(frozen=True)
class SyncRecord:
    """What the last reconcile that wrote to a cluster did to one of its objects."""

    cluster: str
    kind: str
    namespace: str
    name: str
    outcome: str  # created, configured, unchanged, pruned, conflict, kept, failed, ...
    reason: str
    command: str  # e.g. "tctl sync"
    at: str  # RFC 3339 UTC


Action = Literal["created", "configured", "unchanged", "deleted"]


@dataclass(frozen=True)
class Change:
    fqn: str
    kind: str
    action: Action
    before: dict | None
    after: dict | None


_NO_PARENT = "its parent"


class ApplyRefused(TctlError):
    """An apply broke a store rule (missing parent, second WorkspaceSetting...); nothing written.

    `problems` lists every offending object as (fqn, message); `orphans` are the FQNs among
    them refused because their parent does not exist.
    """

    exit_code = ExitCode.INVALID

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.orphans = {fqn for fqn, message in problems if message.startswith(_NO_PARENT)}
        lines = "\n".join(f"  {fqn}: {message}" for fqn, message in problems)
        super().__init__(
            f"nothing applied, {len(problems)} object(s) refused:\n{lines}",
            hint="apply the parents first or in the same command",
        )
        self.problems = problems


@dataclass(frozen=True)
class _Item:
    fqn: str
    kind: str
    parent: str | None
    text: str  # compact JSON of the body, keys in the user's order (so `get -o yaml` keeps it)


def _compact(body: dict) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def _depth(fqn: str) -> int:
    return fqn.count("/")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _ancestors(fqn: str) -> list[str]:
    """`organizations/o/tenants/t` -> [`organizations/o`]: the FQNs of the objects above it."""
    parts = fqn.split("/")
    return ["/".join(parts[:end]) for end in range(2, len(parts) - 1, 2)]


def _cannot_write(error: sqlite3.OperationalError) -> bool:
    text = str(error).lower()
    return "readonly" in text or "read-only" in text or "unable to open" in text


def private_folder(folder: Path) -> None:
    """Create `folder` and any missing parent 0700 (tctl's own folders hold its store and
    credentials-adjacent state); folders that exist are left as they are."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass


def _subtree_bounds(fqn: str) -> tuple[str, str]:
    # Every descendant is > "fqn/" and < "fqn0" ("0" follows "/" in code point order), so the
    # primary key index answers "under" exactly, without LIKE wildcards.
    return fqn + "/", fqn + "0"


class Store:
    """The configuration store in one SQLite file; open on first use, `close()` when done."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        self.read_only = False  # set when the file or its folder cannot be written

    # --- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            db.close()

    def _connect(self, *, create: bool) -> sqlite3.Connection | None:
        """The connection; None when the file does not exist and `create` is false (reads and
        dry runs never create a store). A store that cannot be written is opened read-only."""
        if self._db is not None:
            return self._db
        if not create and not self.path.exists():
            return None
        with self._errors("open"):
            if create and not self.path.exists():
                self._create_file()
            try:
                db = self._open(read_only=False)
            except sqlite3.OperationalError as e:
                if not _cannot_write(e):
                    raise
                db = self._open(read_only=True)
                self.read_only = True
        self._db = db
        return db

    def _create_file(self) -> None:
        """An empty store file (a valid, empty SQLite database), 0600, in folders made 0700."""
        try:
            private_folder(self.path.parent)
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass  # another tctl made it a moment ago
        except OSError as e:
            raise StoreError(f"cannot create the store {self.path}: {e.strerror or e}", hint=_HINT) from None

    def _open(self, *, read_only: bool) -> sqlite3.Connection:
        if not read_only:
            if not os.access(self.path, os.W_OK):  # SQLite would open it read-only, silently
                raise sqlite3.OperationalError("the store file is read-only")
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        else:
            # mode=ro still needs the -shm file; in a folder nobody may write, a store nobody
            # can be changing is read as immutable.
            uri = self.path.resolve().as_uri()
            try:
                db = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None)
                db.execute("PRAGMA user_version").fetchone()
            except sqlite3.OperationalError:
                db = sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)
        try:
            if read_only:
                self._check_version(db.execute("PRAGMA user_version").fetchone()[0], writable=False)
            else:
                self._prepare(db)
        except BaseException:
            db.close()
            raise
        return db

    def _prepare(self, db: sqlite3.Connection) -> None:
        db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        db.execute("PRAGMA foreign_keys = ON")
        # Switching to WAL needs a moment of exclusive access; a concurrent opener may get
        # SQLITE_BUSY without the busy handler, so retry until the timeout.
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                mode = db.execute("PRAGMA journal_mode").fetchone()[0]
                if mode.lower() != "wal":
                    db.execute("PRAGMA journal_mode = WAL")
                break
            except sqlite3.OperationalError as e:
                if ("locked" not in str(e) and "busy" not in str(e)) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        db.execute("PRAGMA synchronous = FULL")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]  # re-read under the lock
            self._check_version(version, writable=True)
            if version == 0:
                tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
                if tables:
                    raise StoreError(
                        f"{self.path} is a SQLite database but not a tctl store "
                        f"(it has tables {', '.join(sorted(tables))})",
                        hint=_HINT,
                    )
            for step in range(version, SCHEMA_VERSION):
                for statement in _MIGRATIONS[step].split(";"):
                    if statement.strip():
                        db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _check_version(self, version: int, *, writable: bool) -> None:
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the store {self.path} has schema version {version}, newer than this tctl "
                f"understands ({SCHEMA_VERSION})",
                hint="upgrade tctl, or " + _HINT,
            )
        if not writable and version != SCHEMA_VERSION:
            raise StoreError(
                f"the store {self.path} is read-only and has schema version {version}; this "
                f"tctl reads version {SCHEMA_VERSION}",
                hint="run one tctl command with write access to the store to upgrade it",
            )

    def _check_writable(self) -> None:
        if self.read_only:
            raise StoreError(
                f"the store {self.path} is read-only: nothing was changed",
                hint="give yourself write access to the file and its folder, or " + _HINT,
            )

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Turn sqlite3 and OS errors into StoreError naming the file and what to do."""
        try:
            yield
        except sqlite3.DatabaseError as e:
            text = str(e)
            if "not a database" in text or "malformed" in text:
                raise StoreError(
                    f"{self.path} is not a usable tctl store ({text})",
                    hint=f"move the file away, or {_HINT}",
                ) from None
            if "readonly" in text:
                raise StoreError(
                    f"the store {self.path} is read-only: nothing was changed",
                    hint="give yourself write access to the file and its folder, or " + _HINT,
                ) from None
            if "locked" in text or "busy" in text:
                raise StoreError(
                    f"the store {self.path} stayed locked by another process for "
                    f"{BUSY_TIMEOUT_S:.0f}s ({text})",
                    hint="retry when the other tctl command has finished",
                ) from None
            raise StoreError(f"cannot {doing} the store {self.path}: {text}", hint=_HINT) from None
        except OSError as e:
            raise StoreError(f"cannot {doing} the store {self.path}: {e.strerror or e}", hint=_HINT) from None

    @contextmanager
    def _transaction(self, db: sqlite3.Connection, *, write: bool) -> Iterator[None]:
        # BEGIN IMMEDIATE takes the write lock up front (waiting through busy_timeout), so a
        # write transaction never fails half-way on a lock upgrade; reads see one snapshot.
        db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield
        except BaseException:
            if db.in_transaction:  # SQLite may already have rolled back (e.g. disk full)
                db.execute("ROLLBACK")
            raise
        if write:
            db.execute("COMMIT")
        else:
            db.execute("ROLLBACK")

    # --- reads -------------------------------------------------------------------------------

    @staticmethod
    def _object(row: tuple) -> StoredObject:
        fqn, kind, parent, body, revision, created, updated = row
        return StoredObject(fqn, kind, parent, json.loads(body), revision, created, updated)

    _COLUMNS = "fqn, kind, parent, body, revision, created, updated"

    def get(self, fqn: str) -> StoredObject | None:
        with self._errors("read"):
            db = self._connect(create=False)
            if db is None:
                return None
            row = db.execute(f"SELECT {self._COLUMNS} FROM objects WHERE fqn = ?", (fqn,)).fetchone()
        return self._object(row) if row else None

    def list(self, kind: str | None = None, under: str | None = None) -> list[StoredObject]:
        """Objects sorted by FQN; `kind` filters on the kind, `under` keeps that FQN and its
        descendants."""
        where, params = [], []
        if kind is not None:
            where.append("kind = ?")
            params.append(kind)
        if under is not None:
            under = under.rstrip("/")
            low, high = _subtree_bounds(under)
            where.append("(fqn = ? OR (fqn > ? AND fqn < ?))")
            params += [under, low, high]
        sql = f"SELECT {self._COLUMNS} FROM objects"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY fqn"
        with self._errors("read"):
            db = self._connect(create=False)
            if db is None:
                return []
            rows = db.execute(sql, params).fetchall()
        return [self._object(r) for r in rows]

    def identity(self) -> str:
        """The store's id (16 hex digits, random, made with the store); "" when the store does
        not exist yet. Stamped on the objects a reconcile writes, so one can tell which store
        last wrote an object."""
        with self._errors("read"):
            db = self._connect(create=False)
            if db is None:
                return ""
            row = db.execute("SELECT value FROM meta WHERE key = 'id'").fetchone()
        return row[0] if row else ""

    def tombstones(self) -> dict[str, str]:
        """FQN -> when it was deleted (RFC 3339), for every object deleted from this store and
        not applied again since: what those produced in the fleet is still this store's to prune."""
        with self._errors("read"):
            db = self._connect(create=False)
            if db is None:
                return {}
            rows = db.execute("SELECT fqn, deleted FROM tombstones ORDER BY fqn").fetchall()
        return dict(rows)

    def record_sync(
        self, command: str, clusters: Sequence[str], results: Sequence[tuple[str, str, str, str, str, str]]
    ) -> None:
        """Replace what is recorded of `clusters` by `results`, each (cluster, kind, namespace,
        name, outcome, reason), as done now by `command`: the history `tctl describe` shows."""
        now = _now()
        with self._errors("write"):
            db = self._connect(create=True)
            assert db is not None
            self._check_writable()
            with self._transaction(db, write=True):
                db.executemany("DELETE FROM sync_results WHERE cluster = ?", [(c,) for c in clusters])
                db.executemany(
                    "INSERT OR REPLACE INTO sync_results VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(*result, command, now) for result in results],
                )

    def sync_history(self) -> builtins.list[SyncRecord]:
        """Every object's last recorded reconcile, by cluster, kind, namespace and name."""
        with self._errors("read"):
            db = self._connect(create=False)
            if db is None:
                return []
            rows = db.execute("SELECT * FROM sync_results ORDER BY cluster, kind, namespace, name").fetchall()
        return [SyncRecord(*row) for row in rows]

    @contextmanager
    def reconcile_lock(self, doing: str, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
        """Hold the store's reconcile lock (an flock on `<store>.lock`) for the block.

        Commands that change the fleet hold it from reading the configuration to their last
        write, so that of two commands on one store the second plans from what the first left,
        and after both the fleet matches the store. `on_wait(holder)` is called once when
        another process holds it ("pid 4242: tctl apply"); the wait lasts until it is released
        (Ctrl-C ends it). A store folder nobody may write cannot be changed by anyone, so then
        no lock is taken.
        """
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            private_folder(lock_path.parent)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as e:
            if e.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise StoreError(
                    f"cannot create the lock file {lock_path}: {e.strerror or e}", hint=_HINT
                ) from None
            yield
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if on_wait is not None:
                    on_wait(os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process")
                fcntl.flock(fd, fcntl.LOCK_EX)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()}: {doing}\n".encode(), 0)
            yield
        finally:
            os.close(fd)  # releases the lock; the file stays (removing it would race with waiters)

    # --- writes ------------------------------------------------------------------------------

    def apply(
        self,
        items: Sequence[tuple[str, str, str | None, dict]],
        *,
        dry_run: bool = False,
        replace_under: Sequence[str] = (),
    ) -> builtins.list[Change]:
        """Create or replace every (fqn, kind, parent_fqn, body), parents first, in one
        transaction. Raises ApplyRefused naming every offending object, having written nothing.
        Returns one Change per distinct FQN, parent-first.

        `replace_under`: FQNs (e.g. `organizations/tetrate`) whose whole subtree the batch
        replaces (`apply --prune`): every stored object under one of them that is neither in
        the batch nor an ancestor of an object in it is deleted in the same transaction
        (children first, tombstones recorded; Changes "deleted" follow the others).
        """
        batch, problems = self._normalize(items)
        with self._errors("write"):
            db = self._connect(create=not dry_run)
            if db is None:  # dry run against a store that does not exist yet: it is empty
                problems += self._check(batch, lambda sql, params: [])
                if problems:
                    raise ApplyRefused(problems)
                return [Change(i.fqn, i.kind, "created", None, json.loads(i.text)) for i in batch]
            if not dry_run:
                self._check_writable()

            def query(sql: str, params: Sequence) -> builtins.list[tuple]:
                return db.execute(sql, params).fetchall()

            with self._transaction(db, write=not dry_run):
                problems += self._check(batch, query)
                if problems:
                    raise ApplyRefused(problems)
                changes, now = [], _now()
                for item in batch:
                    row = db.execute("SELECT body FROM objects WHERE fqn = ?", (item.fqn,)).fetchone()
                    after = json.loads(item.text)
                    if row is None:
                        changes.append(Change(item.fqn, item.kind, "created", None, after))
                        if not dry_run:
                            db.execute(
                                "INSERT INTO objects (fqn, kind, parent, body, revision, created,"
                                " updated) VALUES (?, ?, ?, ?, 1, ?, ?)",
                                (item.fqn, item.kind, item.parent, item.text, now, now),
                            )
                    elif json.loads(row[0]) == after:  # key order alone is no change
                        changes.append(Change(item.fqn, item.kind, "unchanged", after, after))
                    else:
                        changes.append(Change(item.fqn, item.kind, "configured", json.loads(row[0]), after))
                        if not dry_run:
                            db.execute(
                                "UPDATE objects SET kind = ?, parent = ?, body = ?,"
                                " revision = revision + 1, updated = ? WHERE fqn = ?",
                                (item.kind, item.parent, item.text, now, item.fqn),
                            )
                if not dry_run:  # applied again: no longer deleted
                    db.executemany("DELETE FROM tombstones WHERE fqn = ?", [(i.fqn,) for i in batch])
                kept = {i.fqn for i in batch} | {a for i in batch for a in _ancestors(i.fqn)}
                doomed = [
                    row
                    for root in replace_under
                    for row in self._subtree(db, root.rstrip("/"))
                    if row[0] not in kept
                ]
                changes += self._remove(db, doomed, now, dry_run)
        return changes

    @staticmethod
    def _normalize(
        items: Sequence[tuple[str, str, str | None, dict]],
    ) -> tuple[builtins.list[_Item], builtins.list[tuple[str, str]]]:
        """Canonical JSON bodies, duplicates merged, sorted parent-first (by FQN depth)."""
        by_fqn: dict[str, _Item] = {}
        problems: list[tuple[str, str]] = []
        for fqn, kind, parent, body in items:
            if parent is not None and not fqn.startswith(parent + "/"):
                raise ValueError(f"{fqn} is not under its parent {parent}")
            try:
                item = _Item(fqn, kind, parent, _compact(body))
            except (TypeError, ValueError) as e:
                problems.append((fqn, f"the body cannot be stored as JSON: {e}"))
                continue
            seen = by_fqn.setdefault(fqn, item)
            if seen is not item and json.loads(seen.text) != body:
                problems.append((fqn, "appears more than once in this apply, with different content"))
        batch = sorted(by_fqn.values(), key=lambda i: (_depth(i.fqn), i.fqn))
        return batch, problems

    @staticmethod
    def _check(batch: builtins.list[_Item], query) -> builtins.list[tuple[str, str]]:
        """Every broken rule of the batch against the store, as (fqn, message)."""
        problems: list[tuple[str, str]] = []
        in_batch = {i.fqn for i in batch}
        for item in batch:
            if item.parent is None or item.parent in in_batch:
                continue
            if not query("SELECT 1 FROM objects WHERE fqn = ?", (item.parent,)):
                problems.append((item.fqn, f"{_NO_PARENT} {item.parent} does not exist"))
        singles: dict[tuple[str, str], list[str]] = {}
        for item in batch:
            if item.kind in _ONE_PER_PARENT and item.parent is not None:
                singles.setdefault((item.parent, item.kind), []).append(item.fqn)
        for (parent, kind), fqns in singles.items():
            stored = [
                r[0]
                for r in query(
                    "SELECT fqn FROM objects WHERE parent = ? AND kind = ? ORDER BY fqn", (parent, kind)
                )
            ]
            every = sorted(set(stored) | set(fqns))
            if len(every) <= 1:
                continue
            for fqn in fqns:
                if fqn in stored:
                    continue
                others = ", ".join(f for f in every if f != fqn)
                problems.append(
                    (fqn, f"{parent} can have only one {kind}; it already has or is given {others}")
                )
        problems.sort()
        return problems

    def delete(self, fqns: Sequence[str], *, dry_run: bool = False) -> builtins.list[Change]:
        """Delete each object and everything under it, in one transaction, recording a tombstone
        for each. Raises NotFound naming every unknown FQN, having deleted nothing. Returns the
        deletions, children first."""
        targets = list(dict.fromkeys(f.rstrip("/") for f in fqns))
        with self._errors("write"):
            db = self._connect(create=False)
            if db is None:
                raise self._not_found(targets)
            if not dry_run:
                self._check_writable()
            with self._transaction(db, write=not dry_run):
                missing = [
                    f
                    for f in targets
                    if not db.execute("SELECT 1 FROM objects WHERE fqn = ?", (f,)).fetchone()
                ]
                if missing:
                    raise self._not_found(missing)
                doomed = [row for fqn in targets for row in self._subtree(db, fqn)]
                return self._remove(db, doomed, _now(), dry_run)

    @staticmethod
    def _subtree(db: sqlite3.Connection, fqn: str) -> builtins.list[tuple]:
        """(fqn, kind, body) of `fqn` and everything under it."""
        low, high = _subtree_bounds(fqn)
        return db.execute(
            "SELECT fqn, kind, body FROM objects WHERE fqn = ? OR (fqn > ? AND fqn < ?)", (fqn, low, high)
        ).fetchall()

    @staticmethod
    def _remove(
        db: sqlite3.Connection, rows: builtins.list[tuple], now: str, dry_run: bool
    ) -> builtins.list[Change]:
        """Delete (fqn, kind, body) rows children first and leave a tombstone for each."""
        doomed = {row[0]: row for row in rows}
        order = sorted(doomed, key=lambda f: (-_depth(f), f))
        if not dry_run:
            db.executemany("DELETE FROM objects WHERE fqn = ?", [(f,) for f in order])
            db.executemany(
                "INSERT OR REPLACE INTO tombstones (fqn, kind, deleted) VALUES (?, ?, ?)",
                [(f, doomed[f][1], now) for f in order],
            )
        return [Change(f, doomed[f][1], "deleted", json.loads(doomed[f][2]), None) for f in order]

    def _not_found(self, fqns: builtins.list[str]) -> NotFound:
        return NotFound(
            f"not found in the store {self.path}: {', '.join(fqns)}",
            hint="nothing was deleted; `tctl get` lists what the store holds",
        )
