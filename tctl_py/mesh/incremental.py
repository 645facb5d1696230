"""The incremental engine: a `MeshResult` kept up to date from what a watch delivers.

`Engine(config, fleet)` computes everything once, as `compute` does, and keeps what each part
depends on: per reachable cluster its index and exposure (rules 1-3), per exposed Service its
origins, per (consumer cluster, exposed Service) the `Unit` of objects rules 4-7 give it, per
cluster its assembled, sorted objects. `update(changes)` then recomputes only what the changes
reach:

- a cluster whose objects changed (or that became readable or unreadable) is indexed and
  exposed again, alone;
- a Service whose origins changed (exposed, withdrawn, other ports or labels, its gateway's
  addresses) is regenerated in every consumer cluster;
- in the changed cluster itself, as a consumer, the Services whose local instance changed, and
  those of a namespace whose DestinationRules changed (all of them when it was not readable);
- a configuration change recomputes everything.

The result is the same as `compute(config, fleet)` on the fleet the changes lead to, exactly
(a Hypothesis property checks it on random sequences of random changes).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from .engine import (
    KINDS,
    Exposed,
    ExposedService,
    ObjectKey,
    Unit,
    gateway_objects,
    generate,
    namespace_object,
    sort_objects,
)
from .exposure import expose_cluster
from .index import ClusterIndex, object_name, object_namespace
from .model import ClusterState, Finding, GeneratedObject, MeshConfig

EventType = Literal["ADDED", "MODIFIED", "DELETED"]
WATCHED_KINDS = ("Service", "Namespace", "DestinationRule")  # what the engine reads
_FIELDS = {"Service": "services", "Namespace": "namespaces", "DestinationRule": "destination_rules"}


@dataclass(frozen=True)
class ObjectEvent:
    """A watch event: `body`, a `kind` object of `cluster`, was ADDED, MODIFIED or DELETED.
    It replaces every object of the cluster with the same identity (namespace and name;
    name alone for a Namespace). Ignored for a cluster that is not readable: the
    `ClusterRead` that makes it readable again carries its whole state."""

    cluster: str
    type: EventType
    kind: str  # one of WATCHED_KINDS
    body: dict

    def __post_init__(self) -> None:
        if self.kind not in _FIELDS:
            raise ValueError(f"kind {self.kind!r}: the engine reads only {', '.join(WATCHED_KINDS)}")
        if self.type not in ("ADDED", "MODIFIED", "DELETED"):
            raise ValueError(f"event type {self.type!r}: expected ADDED, MODIFIED or DELETED")


@dataclass(frozen=True)
class ClusterRead:
    """A cluster listed in full: a first list, a relist, or one readable again."""

    state: ClusterState


@dataclass(frozen=True)
class ClusterUnreadable:
    """A cluster that could not be listed or watched; `error` says why."""

    cluster: str
    error: str = ""


@dataclass(frozen=True)
class ClusterRemoved:
    """A cluster no longer in the fleet (e.g. gone from the kubeconfig)."""

    cluster: str


@dataclass(frozen=True)
class ConfigChanged:
    """The stored configuration changed: everything is recomputed."""

    config: MeshConfig


Change = ObjectEvent | ClusterRead | ClusterUnreadable | ClusterRemoved | ConfigChanged

ServiceKey = tuple[str, str]


class Engine(Exposed):
    """`result()` as `compute` gives it for the current fleet and configuration; `update()`
    applies changes. Not thread-safe: one loop owns it."""

    def read(self, config: MeshConfig, fleet: Sequence[ClusterState]) -> None:
        super().read(config, fleet)
        self.config = config
        self._units: dict[str, dict[ServiceKey, Unit]] = {}  # consumer -> exposed Service -> Unit
        # per cluster, its Gateway and Namespace objects (what is not in a unit)
        self._extras: dict[str, list[tuple[ObjectKey, GeneratedObject]]] = {}
        self._assembled: dict[str, tuple[list[GeneratedObject], list[Finding]]] = {}  # when asked
        for name in self.indexes:
            self._generate(name, None)

    def cluster_result(
        self, name: str, kinds: Collection[str]
    ) -> tuple[list[GeneratedObject], list[Finding]]:
        if name not in self._assembled:
            units = self._units[name].values()
            keyed = [item for unit in units for item in unit.objects] + self._extras[name]
            self._assembled[name] = (sort_objects(name, keyed), [f for unit in units for f in unit.findings])
        objects, findings = self._assembled[name]
        if kinds != KINDS:
            objects = [o for o in objects if o.kind in kinds]
        return objects, findings

    def update(self, changes: Iterable[Change]) -> frozenset[str]:
        """Apply `changes` in order; the names of the clusters whose desired objects changed."""
        states = dict(self.states)
        touched: set[str] = set()
        config: MeshConfig | None = None
        for change in changes:
            if isinstance(change, ConfigChanged):
                config = change.config
            elif isinstance(change, ObjectEvent):
                state = states.get(change.cluster)
                if state is not None and state.reachable:
                    states[change.cluster] = apply_event(state, change)
                    touched.add(change.cluster)
            elif isinstance(change, ClusterRead):
                states[change.state.name] = change.state
                touched.add(change.state.name)
            elif isinstance(change, ClusterUnreadable):
                server = states[change.cluster].server if change.cluster in states else ""
                states[change.cluster] = ClusterState(
                    name=change.cluster, server=server, reachable=False, error=change.error
                )
                touched.add(change.cluster)
            else:
                states.pop(change.cluster, None)
                touched.add(change.cluster)
        if config is not None:
            return self._recompute(config, list(states.values()))
        return self._refresh(states, touched)

    def _recompute(self, config: MeshConfig, fleet: list[ClusterState]) -> frozenset[str]:
        before = {name: self.cluster_result(name, KINDS)[0] for name in self.indexes}
        self.read(config, fleet)
        after = {name: self.cluster_result(name, KINDS)[0] for name in self.indexes}
        return frozenset(
            name for name in before.keys() | after.keys() if before.get(name, []) != after.get(name, [])
        )

    def _refresh(self, states: dict[str, ClusterState], touched: set[str]) -> frozenset[str]:
        origins_changed: set[ServiceKey] = set()
        # consumer cluster -> the Services to regenerate there (None: all of them)
        local_changes: dict[str, set[ServiceKey] | None] = {}
        for name in touched:
            old_index = self.indexes.pop(name, None)
            old_exposure = self.exposures.pop(name, None)
            state = states.get(name)
            new_services = {}
            if state is not None and state.reachable:
                index = self.indexes[name] = ClusterIndex.build(state)
                exposure = self.exposures[name] = expose_cluster(index, self.parsed, self.coverage)
                new_services = exposure.services
                local_changes[name] = None if old_index is None else self._local_changes(old_index, index)
            old_services = old_exposure.services if old_exposure is not None else {}
            for key in old_services.keys() | new_services.keys():
                if old_services.get(key) != new_services.get(key):
                    origins_changed.add(key)
                else:  # the very same object, so that what derives from it is reused
                    new_services[key] = old_services[key]
        self.states = dict(sorted(states.items()))
        self.indexes = dict(sorted(self.indexes.items()))
        self.exposures = dict(sorted(self.exposures.items()))
        for key in origins_changed:
            origins = [e.services[key] for e in self.exposures.values() if key in e.services]
            if origins:
                self.services[key] = ExposedService.of(key, origins)
            else:
                self.services.pop(key, None)
        self.services = dict(sorted(self.services.items()))
        self.fleet_findings = self._fleet_findings()

        changed = set()
        for name in touched - self.indexes.keys():  # gone, or no longer readable
            units, extras = self._units.pop(name, {}), self._extras.pop(name, [])
            self._assembled.pop(name, None)
            if any(unit.objects for unit in units.values()) or extras:
                changed.add(name)
        for name in self.indexes:
            if name in local_changes:
                keys = local_changes[name]
                if keys is not None:
                    keys |= origins_changed
            elif origins_changed:
                keys = origins_changed
            else:
                continue
            if self._generate(name, keys):
                changed.add(name)
        return frozenset(changed)

    def _local_changes(self, old: ClusterIndex, new: ClusterIndex) -> set[ServiceKey]:
        """The exposed Services whose units in this cluster, as a consumer, may differ: its own
        instance changed, or the DestinationRules of its namespace did."""
        keys = {
            k for k in old.services.keys() | new.services.keys() if old.services.get(k) != new.services.get(k)
        }
        namespaces = {
            ns
            for ns in old.destination_rules.keys() | new.destination_rules.keys()
            if old.destination_rules.get(ns) != new.destination_rules.get(ns)
        }
        keys |= {key for key in self.services if key[0] in namespaces}
        return keys

    def _generate(self, name: str, keys: Iterable[ServiceKey] | None) -> bool:
        """Regenerate the units of consumer `name` for `keys` (None: every exposed Service),
        and its Gateway and Namespace objects; whether any of its objects changed."""
        index = self.indexes[name]
        units = self._units.setdefault(name, {})
        changed = False
        for key in self.services.keys() | units.keys() if keys is None else keys:
            service = self.services.get(key)
            old = units.pop(key, None)
            unit = generate(self.parsed, self.coverage, index, service, KINDS, old) if service else None
            if unit is not None:
                units[key] = unit
            changed = changed or (old.objects if old else []) != (unit.objects if unit else [])
        extras = gateway_objects(self.exposures[name]) + namespace_object(index, list(units.values()))
        changed = changed or extras != self._extras.get(name, [])
        self._extras[name] = extras
        self._assembled.pop(name, None)
        return changed


def _identity(kind: str) -> Callable[[dict], object]:
    if kind == "Namespace":
        return object_name
    return lambda obj: (object_namespace(obj), object_name(obj))


def apply_event(state: ClusterState, event: ObjectEvent) -> ClusterState:
    """`state` with every object of the event's identity replaced by its body (DELETED: removed)."""
    field = _FIELDS[event.kind]
    identity = _identity(event.kind)
    key = identity(event.body)
    kept = tuple(o for o in getattr(state, field) if not (isinstance(o, dict) and identity(o) == key))
    if event.type != "DELETED":
        kept += (event.body,)
    changed: dict[str, Any] = {field: kept}
    return replace(state, **changed)
