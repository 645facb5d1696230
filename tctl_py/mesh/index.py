"""Per-cluster indexes over the Kubernetes objects of a ClusterState.

Every rule asks "does cluster d have Service (ns, name)?" or "which Services are in namespace
ns?"; answering from dicts keeps the engine linear in clusters x services. Inputs are sorted
here, once, so the order in which the fleet listed its objects never shows in the output.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from .model import ClusterState
from .parsed import as_map, as_str

K = TypeVar("K", str, tuple[str, str])


def _meta(obj: dict) -> dict:
    return as_map(obj.get("metadata"))


def object_namespace(obj: dict) -> str:
    return as_str(_meta(obj).get("namespace")) or "default"


def object_name(obj: dict) -> str:
    return as_str(_meta(obj).get("name"))


def service_labels_of(obj: dict, which: str = "labels") -> dict:
    """`metadata.labels` (or `.annotations`) as a str->str dict."""
    return {str(k): v for k, v in as_map(_meta(obj).get(which)).items() if isinstance(v, str)}


def service_selector(service: dict) -> dict:
    return {
        str(k): v
        for k, v in as_map(as_map(service.get("spec")).get("selector")).items()
        if isinstance(v, str)
    }


def service_type(service: dict) -> str:
    return as_str(as_map(service.get("spec")).get("type")) or "ClusterIP"


def _canonical(obj: dict) -> str:
    return json.dumps(obj, sort_keys=True, default=str)


def _one_per_identity(objects: Iterable[dict], identity: Callable[[dict], K]) -> dict[K, dict]:
    """Sorted by identity; an identity listed twice keeps the canonically smallest body
    (compared only then: serialising every object would cost more than the rest of indexing)."""
    chosen: dict[K, dict] = {}
    for obj in objects:
        key = identity(obj)
        kept = chosen.get(key)
        if kept is None or _canonical(obj) < _canonical(kept):
            chosen[key] = obj
    return {key: chosen[key] for key in sorted(chosen)}


@dataclass
class ClusterIndex:
    name: str
    services: dict[tuple[str, str], dict] = field(default_factory=dict)
    by_namespace: dict[str, list[tuple[str, dict]]] = field(default_factory=dict)  # sorted names
    namespaces: dict[str, dict] = field(default_factory=dict)
    destination_rules: dict[str, list[dict]] = field(default_factory=dict)

    @classmethod
    def build(cls, state: ClusterState) -> ClusterIndex:
        index = cls(name=state.name)
        index.services = _one_per_identity(
            (s for s in state.services if isinstance(s, dict) and object_name(s)),
            lambda s: (object_namespace(s), object_name(s)),
        )
        for (namespace, name), svc in index.services.items():  # insertion order is sorted
            index.by_namespace.setdefault(namespace, []).append((name, svc))
        index.namespaces = _one_per_identity(
            (n for n in state.namespaces if isinstance(n, dict) and object_name(n)), object_name
        )
        for dr in sorted(
            (d for d in state.destination_rules if isinstance(d, dict)),
            key=lambda d: (object_namespace(d), object_name(d), _canonical(d)),
        ):
            index.destination_rules.setdefault(object_namespace(dr), []).append(dr)
        return index

    def has_namespace(self, namespace: str) -> bool:
        return namespace in self.namespaces or namespace in self.by_namespace


def destination_rule_host(dr: dict) -> str:
    return as_str(as_map(dr.get("spec")).get("host")).strip().lower()
