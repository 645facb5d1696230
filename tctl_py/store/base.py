"""What every configuration store is: the `ConfigStore` interface, its values (`StoredObject`,
`Change`), and the rules of an apply that every backend checks the same way.

Two backends implement it: SQLite on one file (`store/sqlite.py`) and custom resources in a
namespace of a Kubernetes cluster (`store/kube.py`). Commands only see this interface.
"""

from __future__ import annotations

import builtins
import json
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from tctl_py.config.kinds import KINDS
from tctl_py.errors import ExitCode, TctlError

# Kinds of which a parent holds at most one (one WorkspaceSetting per workspace).
ONE_PER_PARENT = frozenset({KINDS["WorkspaceSetting"].kind})

StoreItem = tuple[str, str, "str | None", dict]  # (fqn, kind, parent fqn, body)


@dataclass(frozen=True)
class StoredObject:
    fqn: str
    kind: str
    parent: str | None
    body: dict
    revision: int  # 1 when created, +1 on every change of the body
    created: str  # RFC 3339 UTC, e.g. 2024-05-01T12:00:00Z
    updated: str


Action = Literal["created", "configured", "unchanged", "deleted"]


@dataclass(frozen=True)
class Change:
    fqn: str
    kind: str
    action: Action
    before: dict | None
    after: dict | None


NO_PARENT = "its parent"


class ApplyRefused(TctlError):
    """An apply broke a store rule (missing parent, second WorkspaceSetting...); nothing written.

    `problems` lists every offending object as (fqn, message); `orphans` are the FQNs among
    them refused because their parent does not exist.
    """

    exit_code = ExitCode.INVALID

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.orphans = {fqn for fqn, message in problems if message.startswith(NO_PARENT)}
        lines = "\n".join(f"  {fqn}: {message}" for fqn, message in problems)
        super().__init__(
            f"nothing applied, {len(problems)} object(s) refused:\n{lines}",
            hint="apply the parents first or in the same command",
        )
        self.problems = problems


class DeleteRefused(TctlError):
    """A delete named a parent without the objects under it (and no cascade); nothing deleted."""

    exit_code = ExitCode.INVALID


def check_no_orphans(targets: Sequence[str], stored: Sequence[str]) -> None:
    """Refuse to delete a parent whose children stay: every object under a target must be a
    target too. Raises DeleteRefused naming each parent and what is under it."""
    named = set(targets)
    problems = []
    for target in targets:
        left = sorted(f for f in stored if f.startswith(target + "/") and f not in named)
        if left:
            problems.append(f"  {target} has {len(left)} object(s) under it: {', '.join(left)}")
    if problems:
        raise DeleteRefused(
            "nothing deleted, a parent would lose its children:\n" + "\n".join(problems),
            hint="delete them first or in the same command, or use --cascade to delete everything under it",
        )


@dataclass(frozen=True)
class Item:
    fqn: str
    kind: str
    parent: str | None
    text: str  # compact JSON of the body, keys in the user's order (so `get -o yaml` keeps it)


def compact(body: dict) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def depth(fqn: str) -> int:
    return fqn.count("/")


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def ancestors(fqn: str) -> list[str]:
    """`organizations/o/tenants/t` -> [`organizations/o`]: the FQNs of the objects above it."""
    parts = fqn.split("/")
    return ["/".join(parts[:end]) for end in range(2, len(parts) - 1, 2)]


def in_subtree(fqn: str, root: str) -> bool:
    return fqn == root or fqn.startswith(root + "/")


def children_first(fqns: Sequence[str]) -> list[str]:
    return sorted(fqns, key=lambda f: (-depth(f), f))


def normalize(items: Sequence[StoreItem]) -> tuple[list[Item], list[tuple[str, str]]]:
    """Canonical JSON bodies, duplicates merged, sorted parent-first (by FQN depth)."""
    by_fqn: dict[str, Item] = {}
    problems: list[tuple[str, str]] = []
    for fqn, kind, parent, body in items:
        if parent is not None and not fqn.startswith(parent + "/"):
            raise ValueError(f"{fqn} is not under its parent {parent}")
        try:
            item = Item(fqn, kind, parent, compact(body))
        except (TypeError, ValueError) as e:
            problems.append((fqn, f"the body cannot be stored as JSON: {e}"))
            continue
        seen = by_fqn.setdefault(fqn, item)
        if seen is not item and json.loads(seen.text) != body:
            problems.append((fqn, "appears more than once in this apply, with different content"))
    batch = sorted(by_fqn.values(), key=lambda i: (depth(i.fqn), i.fqn))
    return batch, problems


def check(
    batch: list[Item],
    exists: Callable[[str], bool],
    siblings: Callable[[str, str], list[str]],
) -> list[tuple[str, str]]:
    """Every rule the batch breaks against the store, as sorted (fqn, message).

    `exists(fqn)` says whether the store holds an object; `siblings(parent, kind)` lists the
    FQNs of the stored objects of `kind` under `parent`."""
    problems: list[tuple[str, str]] = []
    in_batch = {i.fqn for i in batch}
    for item in batch:
        if item.parent is None or item.parent in in_batch:
            continue
        if not exists(item.parent):
            problems.append((item.fqn, f"{NO_PARENT} {item.parent} does not exist"))
    singles: dict[tuple[str, str], list[str]] = {}
    for item in batch:
        if item.kind in ONE_PER_PARENT and item.parent is not None:
            singles.setdefault((item.parent, item.kind), []).append(item.fqn)
    for (parent, kind), fqns in singles.items():
        stored = siblings(parent, kind)
        every = sorted(set(stored) | set(fqns))
        if len(every) <= 1:
            continue
        for fqn in fqns:
            if fqn in stored:
                continue
            others = ", ".join(f for f in every if f != fqn)
            problems.append((fqn, f"{parent} can have only one {kind}; it already has or is given {others}"))
    problems.sort()
    return problems


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


@runtime_checkable
class KeepsSyncHistory(Protocol):
    """A store that also keeps what the last reconcile did to each object (`tctl describe`
    shows it); the SQLite store does, the Kubernetes one does not."""

    def record_sync(
        self, command: str, clusters: Sequence[str], results: Sequence[tuple[str, str, str, str, str, str]]
    ) -> None: ...

    def sync_history(self) -> builtins.list[SyncRecord]: ...


class ConfigStore(Protocol):
    """The configuration store commands use; `tctl_py.store.open_store` picks the backend.

    Reads of a store that does not exist yet see it empty. `apply` and `delete` check every
    rule before the first write and raise `ApplyRefused` / `NotFound` having written nothing.
    """

    location: str  # what to name in messages: a file path or kube://CONTEXT/NAMESPACE

    def __enter__(self) -> ConfigStore: ...

    def __exit__(self, *exc: object) -> None: ...

    def close(self) -> None: ...

    def get(self, fqn: str) -> StoredObject | None: ...

    def list(self, kind: str | None = None, under: str | None = None) -> builtins.list[StoredObject]: ...

    def identity(self) -> str: ...

    def tombstones(self) -> dict[str, str]: ...

    def reconcile_lock(
        self, doing: str, on_wait: Callable[[str], None] | None = None
    ) -> AbstractContextManager[None]: ...

    def apply(
        self, items: Sequence[StoreItem], *, dry_run: bool = False, replace_under: Sequence[str] = ()
    ) -> builtins.list[Change]: ...

    def delete(
        self, fqns: Sequence[str], *, dry_run: bool = False, cascade: bool = False
    ) -> builtins.list[Change]: ...

    def init(self) -> builtins.list[tuple[str, str]]:
        """Make the store ready for writes (idempotent): (what, "created"/"configured"/"unchanged")."""
        ...

    def change_token(self) -> str:
        """A short string that changes whenever the configuration does (cheap to ask)."""
        ...

    def wait_for_change(self, token: str, timeout: float) -> str:
        """Block until the configuration differs from what `token` (from `change_token` or an
        earlier call) stood for, or `timeout` seconds pass; return the current token."""
        ...
