"""Compare two sets of objects per cluster: what would be created, configured or removed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tctl_py.mesh.model import GeneratedObject

Key = tuple[str, str, str, str]  # cluster, kind, namespace, name


@dataclass(frozen=True)
class ObjectChange:
    cluster: str
    kind: str
    namespace: str
    name: str
    action: str  # "created" | "configured" | "pruned"
    before: dict | None
    after: dict | None

    @property
    def path(self) -> str:
        """`cluster-2/ServiceEntry/xcp-multicluster/details.bookinfo`, for diff headers."""
        return "/".join(part for part in (self.cluster, self.kind, self.namespace, self.name) if part)


def diff_objects(before: Iterable[GeneratedObject], after: Iterable[GeneratedObject]) -> list[ObjectChange]:
    """Every object that differs between the two sets, sorted by cluster, kind, namespace, name."""
    old = {o.sort_key: o.body for o in before}
    new = {o.sort_key: o.body for o in after}
    changes = []
    for key in sorted(old.keys() | new.keys()):
        was, will = old.get(key), new.get(key)
        if was == will:
            continue
        action = "created" if was is None else "pruned" if will is None else "configured"
        changes.append(ObjectChange(*key, action, was, will))
    return changes
