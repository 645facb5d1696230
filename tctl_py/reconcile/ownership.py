"""Whose objects a run may prune: scoped ownership (SPEC §3.3). Pure.

The `app.kubernetes.io/managed-by: tctl` label says tctl made an object, not that *this*
configuration did: another store (a teammate's laptop, a CI runner) may have written it for
settings this one never held. So every generated object names the WorkspaceSetting that produced
it (annotation `tctl.tetrate.io/source`), and a run prunes a managed object only when that setting
is one it knows to be its own:

- a setting the configuration holds (it stopped producing the object);
- a setting this store deleted (a tombstone): what it produced is still this store's to remove;
- with `apply --prune`, any setting of an organization the input declares whole (the input is
  that organization's entire configuration, so its settings not in the input are gone).

Anything else managed by tctl is owned elsewhere: left alone, reported only on request. A new or
empty store knows no setting, so it never deletes anything. This is kubectl's ApplySet rule
(prune only members of this set) with the setting as the set, and Argo CD's (prune only what the
application tracks, and only when asked).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tctl_py.mesh.names import ANNOTATION_SOURCE


def source_of(obj: Mapping | None) -> str:
    """The FQN of the WorkspaceSetting that produced `obj` ("" when it does not say)."""
    metadata = (obj or {}).get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    value = annotations.get(ANNOTATION_SOURCE) if isinstance(annotations, Mapping) else None
    return value if isinstance(value, str) else ""


def organization_scope(organization: str) -> str:
    """The FQN prefix of everything in an organization: `organizations/<name>/`."""
    return f"organizations/{organization}/"


@dataclass(frozen=True)
class Ownership:
    """What configuration this run knows to be its own.

    `held`: FQNs of the WorkspaceSettings the configuration holds. `released`: FQNs this store
    deleted (tombstones; only settings matter). `scopes`: FQN prefixes declared whole by
    `apply --prune` (`organizations/<name>/`). `store`: the id of the store, stamped on writes.
    """

    held: frozenset[str] = frozenset()
    released: frozenset[str] = frozenset()
    scopes: tuple[str, ...] = ()
    store: str = ""

    @classmethod
    def of(
        cls,
        settings: Iterable[str],
        *,
        released: Iterable[str] = (),
        scopes: Iterable[str] = (),
        store: str = "",
    ) -> Ownership:
        return cls(frozenset(settings), frozenset(released), tuple(sorted(set(scopes))), store)

    def owns(self, live: Mapping) -> bool:
        """True when `live` was produced by configuration this run knows (see the module doc)."""
        source = source_of(live)
        if not source:
            return False
        return (
            source in self.held
            or source in self.released
            or any(source.startswith(scope) for scope in self.scopes)
        )

    def why_not(self, live: Mapping) -> str:
        """Why `live` is left alone: the reason printed for an object owned elsewhere."""
        source = source_of(live)
        if not source:
            return f"managed by tctl but names no WorkspaceSetting ({ANNOTATION_SOURCE}): left alone"
        return (
            f"produced by {source}, which this store does not hold: left alone "
            "(owned by another store, or by configuration applied elsewhere)"
        )
