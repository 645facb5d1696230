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
from pathlib import Path

from tctl_py.errors import NotFound, StoreError
from tctl_py.store.base import (
    ApplyRefused,
    Change,
    Item,
    StoredObject,
    StoreItem,
    SyncRecord,
    ancestors,
    check,
    check_no_orphans,
    children_first,
    normalize,
    now,
)

__all__ = ["SCHEMA_VERSION", "Store", "default_path"]

SCHEMA_VERSION = 3
BUSY_TIMEOUT_S = 30.0
_POLL_S = 0.1  # how often wait_for_change looks at the file
_HINT = "choose another file with --store PATH or the TCTL_STORE environment variable"

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
        self.location = str(self.path)
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
        at = now()
        with self._errors("write"):
            db = self._connect(create=True)
            assert db is not None
            self._check_writable()
            with self._transaction(db, write=True):
                db.executemany("DELETE FROM sync_results WHERE cluster = ?", [(c,) for c in clusters])
                db.executemany(
                    "INSERT OR REPLACE INTO sync_results VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(*result, command, at) for result in results],
                )

    def sync_history(self) -> builtins.list[SyncRecord]:
        """Every object's last recorded reconcile, by cluster, kind, namespace and name."""
        with self._errors("read"):
            db = self._connect(create=False)
            if db is None:
                return []
            rows = db.execute("SELECT * FROM sync_results ORDER BY cluster, kind, namespace, name").fetchall()
        return [SyncRecord(*row) for row in rows]

    def init(self) -> builtins.list[tuple[str, str]]:
        """Create the store file if it does not exist (`tctl store init`); (what, action)."""
        existed = self.path.exists()
        with self._errors("create"):
            self._connect(create=True)
        return [(str(self.path), "unchanged" if existed else "created")]

    def change_token(self) -> str:
        """The file's identity and `PRAGMA data_version` of the kept connection (which changes
        when another connection commits) with this connection's own changes: a new string after
        every write, by anyone; "absent" while the store does not exist."""
        with self._errors("read"):
            db = self._connect(create=False)
            if db is None:
                return "absent"
            version = db.execute("PRAGMA data_version").fetchone()[0]
            stat = os.stat(self.path)
        return f"{stat.st_dev}:{stat.st_ino}:{version}:{db.total_changes}"

    def wait_for_change(self, token: str, timeout: float) -> str:
        """Poll `change_token` (a few times a second: SQLite has no notification across
        processes) until it differs from `token` or `timeout` seconds pass."""
        deadline = time.monotonic() + timeout
        while True:
            current = self.change_token()
            left = deadline - time.monotonic()
            if current != token or left <= 0:
                return current
            time.sleep(min(_POLL_S, left))

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
        items: Sequence[StoreItem],
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
        batch, problems = normalize(items)
        with self._errors("write"):
            db = self._connect(create=not dry_run)
            if db is None:  # dry run against a store that does not exist yet: it is empty
                problems += self._check(batch, None)
                if problems:
                    raise ApplyRefused(problems)
                return [Change(i.fqn, i.kind, "created", None, json.loads(i.text)) for i in batch]
            if not dry_run:
                self._check_writable()

            with self._transaction(db, write=not dry_run):
                problems += self._check(batch, db)
                if problems:
                    raise ApplyRefused(problems)
                changes, stamp = [], now()
                for item in batch:
                    row = db.execute("SELECT body FROM objects WHERE fqn = ?", (item.fqn,)).fetchone()
                    after = json.loads(item.text)
                    if row is None:
                        changes.append(Change(item.fqn, item.kind, "created", None, after))
                        if not dry_run:
                            db.execute(
                                "INSERT INTO objects (fqn, kind, parent, body, revision, created,"
                                " updated) VALUES (?, ?, ?, ?, 1, ?, ?)",
                                (item.fqn, item.kind, item.parent, item.text, stamp, stamp),
                            )
                    elif json.loads(row[0]) == after:  # key order alone is no change
                        changes.append(Change(item.fqn, item.kind, "unchanged", after, after))
                    else:
                        changes.append(Change(item.fqn, item.kind, "configured", json.loads(row[0]), after))
                        if not dry_run:
                            db.execute(
                                "UPDATE objects SET kind = ?, parent = ?, body = ?,"
                                " revision = revision + 1, updated = ? WHERE fqn = ?",
                                (item.kind, item.parent, item.text, stamp, item.fqn),
                            )
                if not dry_run:  # applied again: no longer deleted
                    db.executemany("DELETE FROM tombstones WHERE fqn = ?", [(i.fqn,) for i in batch])
                kept = {i.fqn for i in batch} | {a for i in batch for a in ancestors(i.fqn)}
                doomed = [
                    row
                    for root in replace_under
                    for row in self._subtree(db, root.rstrip("/"))
                    if row[0] not in kept
                ]
                changes += self._remove(db, doomed, stamp, dry_run)
        return changes

    @staticmethod
    def _check(batch: builtins.list[Item], db: sqlite3.Connection | None) -> builtins.list[tuple[str, str]]:
        if db is None:  # a dry run against a store that does not exist yet: it is empty
            return check(batch, lambda fqn: False, lambda parent, kind: [])

        def exists(fqn: str) -> bool:
            return db.execute("SELECT 1 FROM objects WHERE fqn = ?", (fqn,)).fetchone() is not None

        def siblings(parent: str, kind: str) -> builtins.list[str]:
            rows = db.execute(
                "SELECT fqn FROM objects WHERE parent = ? AND kind = ? ORDER BY fqn", (parent, kind)
            )
            return [r[0] for r in rows]

        return check(batch, exists, siblings)

    def delete(
        self, fqns: Sequence[str], *, dry_run: bool = False, cascade: bool = False
    ) -> builtins.list[Change]:
        """Delete each object (with `cascade`, and everything under it), in one transaction,
        recording a tombstone for each. Raises NotFound naming every unknown FQN, DeleteRefused
        when an object has children that are not deleted too, having deleted nothing. Returns
        the deletions, children first."""
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
                if not cascade:
                    check_no_orphans(targets, [row[0] for row in doomed])
                return self._remove(db, doomed, now(), dry_run)

    @staticmethod
    def _subtree(db: sqlite3.Connection, fqn: str) -> builtins.list[tuple]:
        """(fqn, kind, body) of `fqn` and everything under it."""
        low, high = _subtree_bounds(fqn)
        return db.execute(
            "SELECT fqn, kind, body FROM objects WHERE fqn = ? OR (fqn > ? AND fqn < ?)", (fqn, low, high)
        ).fetchall()

    @staticmethod
    def _remove(
        db: sqlite3.Connection, rows: builtins.list[tuple], stamp: str, dry_run: bool
    ) -> builtins.list[Change]:
        """Delete (fqn, kind, body) rows children first and leave a tombstone for each."""
        doomed = {row[0]: row for row in rows}
        order = children_first(list(doomed))
        if not dry_run:
            db.executemany("DELETE FROM objects WHERE fqn = ?", [(f,) for f in order])
            db.executemany(
                "INSERT OR REPLACE INTO tombstones (fqn, kind, deleted) VALUES (?, ?, ?)",
                [(f, doomed[f][1], stamp) for f in order],
            )
        return [Change(f, doomed[f][1], "deleted", json.loads(doomed[f][2]), None) for f in order]

    def _not_found(self, fqns: builtins.list[str]) -> NotFound:
        return NotFound(
            f"not found in the store {self.path}: {', '.join(fqns)}",
            hint="nothing was deleted; `tctl get` lists what the store holds",
        )
