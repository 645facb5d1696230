"""Planning changes to clusters: desired objects against what is there now. Pure.

`plan` compares the objects the engine generates for each cluster (`GeneratedObject`s) with the
objects read from that cluster and says, per object, what `apply`/`sync` will do:

- desired, absent from the cluster                         -> CREATE ("created")
- desired, present, managed by tctl, managed fields differ -> UPDATE ("configured")
- desired, present, managed by tctl, same managed fields   -> UNCHANGED
- desired, present, NOT managed by tctl                    -> CONFLICT, or with `force_conflicts`
                                                              an UPDATE that takes it over
- managed by tctl, present, no longer desired, produced by configuration this run owns
  (`Ownership`: a setting it holds, one it deleted, or one of an organization `--prune`
  declares whole)                                          -> DELETE ("pruned")
- managed by tctl, produced by configuration this run does not own -> FOREIGN ("owned
  elsewhere") when no longer desired, CONFLICT when desired (another store's object holds the
  name); never written either way (a Namespace that exists is simply used)
- managed by tctl and derived from a cluster that could not be read (or whose gateway address
  annotation cannot be parsed), and it would be changed or pruned -> KEEP: an unreadable
  cluster is no evidence that its services are gone (nothing derived from it changes until
  it can be read again)
- not managed by tctl and not desired                      -> not in the plan at all

"Managed fields" (see `differences`): every top-level field of the desired object other than
apiVersion/kind/metadata/status (for generated kinds: `spec`, entirely tctl's), and tctl's
labels and annotations. Labels/annotations others added are not a difference; a tctl key
(`tctl.tetrate.io/...` or app.kubernetes.io/managed-by) that is live but no longer desired is,
except the store stamp (`tctl.tetrate.io/store`), which is written with every write and never
by itself a reason to write.
Server bookkeeping (status, uid, resourceVersion, generation, managedFields, creationTimestamp,
selfLink) is dropped by `clean` before anything is compared or shown.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from tctl_py.kube import SERVER_METADATA
from tctl_py.mesh.model import GeneratedObject
from tctl_py.mesh.names import (
    ANNOTATION_ORIGINS,
    ANNOTATION_STORE,
    MANAGED_BY,
    MANAGED_BY_VALUE,
    split_origins,
)
from tctl_py.reconcile.ownership import Ownership, source_of

# -- live objects -------------------------------------------------------------------------------

_EMPTY: Mapping = MappingProxyType({})

SERVER_FIELDS = frozenset({"status"})
# Keys of label/annotation maps that belong to tctl: set by it, removed by it.
TCTL_PREFIX = "tctl.tetrate.io/"
# Top-level fields that are identity or server state, not content tctl manages.
_NOT_CONTENT = frozenset({"apiVersion", "kind", "metadata", "status"})


def clean(live: Mapping) -> dict:
    """`live` as `kubectl get -o yaml` shows it, minus server bookkeeping.

    Drops `status` and metadata uid, resourceVersion, generation, managedFields,
    creationTimestamp and selfLink. Keeps `deletionTimestamp`/`deletionGracePeriodSeconds`:
    they are not bookkeeping but the fact that the object is going away, which a diff should
    show (they are never compared: see `differences`). The top level and `metadata` are new
    dicts; deeper values are shared with `live` (plans only read them), which keeps planning a
    large fleet cheap.
    """
    # copies with keys popped: half the time of filtering comprehensions (a no-op plans 4,000)
    result = dict(live)
    for key in SERVER_FIELDS:
        result.pop(key, None)
    metadata = live.get("metadata")
    if type(metadata) is dict or isinstance(metadata, Mapping):
        kept = dict(metadata)
        for key in SERVER_METADATA:
            kept.pop(key, None)
        result["metadata"] = kept
    return result


def _mapping(value: object) -> Mapping:
    """`value` if it is a mapping, else an empty one."""
    # `type(...) is dict` first: the objects are dicts, and an ABC check costs ten times more
    return value if type(value) is dict or isinstance(value, Mapping) else _EMPTY


def _meta(obj: Mapping | None) -> Mapping:
    return _mapping((obj or _EMPTY).get("metadata"))


def _map(obj: Mapping | None, which: str) -> Mapping:
    return _mapping(_meta(obj).get(which))


def is_managed(live: Mapping | None) -> bool:
    """Labelled `app.kubernetes.io/managed-by: tctl` (SPEC §3.3: the only objects tctl touches)."""
    return _map(live, "labels").get(MANAGED_BY) == MANAGED_BY_VALUE


def is_tctl_key(key: str) -> bool:
    """A label/annotation key tctl owns: `tctl.tetrate.io/...` or app.kubernetes.io/managed-by."""
    return key == MANAGED_BY or key.startswith(TCTL_PREFIX)


def origins(obj: Mapping | None) -> frozenset[str] | None:
    """The clusters `obj` derives from (annotation tctl.tetrate.io/origins); None when the
    annotation is missing or not a JSON list (written by an earlier tctl: unknown)."""
    return split_origins(_map(obj, "annotations").get(ANNOTATION_ORIGINS))


def _terminating(live: Mapping | None) -> bool:
    return bool(_meta(live).get("deletionTimestamp"))


# -- comparison -----------------------------------------------------------------------------------

_MISSING = object()


def differences(desired: Mapping, live: Mapping) -> list[str]:
    """What of tctl's fields differs between `desired` and `live`, e.g.
    `["spec", "labels[tctl.tetrate.io/workspace]", "annotations[tctl.tetrate.io/origins]"]`.

    Content: every top-level field of `desired` but apiVersion/kind/metadata/status (`spec`
    for the Istio kinds, which is entirely tctl's; nothing for a Namespace). Metadata: each
    desired label/annotation missing or different on live, and each tctl key (`is_tctl_key`)
    live has but desired does not. Anything else others put on the object is not compared.
    """
    found = [key for key in desired if key not in _NOT_CONTENT and desired[key] != live.get(key)]
    for which in ("labels", "annotations"):
        want, have = _map(desired, which), _map(live, which)
        keys = {key for key, value in want.items() if have.get(key, _MISSING) != value}
        keys |= {key for key in have if key not in want and is_tctl_key(key)}
        found += [f"{which}[{key}]" for key in sorted(keys - {ANNOTATION_STORE})]
    return found


def differs(desired: Mapping, live: Mapping) -> bool:
    """True when tctl's fields of `live` are not those of `desired`: `bool(differences(...))`,
    answered at the first difference without listing them (most objects have none)."""
    for key, value in desired.items():
        if key not in _NOT_CONTENT and value != live.get(key):
            return True
    desired_meta, live_meta = _meta(desired), _meta(live)
    for which in ("labels", "annotations"):
        want, have = _mapping(desired_meta.get(which)), _mapping(live_meta.get(which))
        # the usual case, decided in C: the same (but for the store stamp, never compared)
        if want == have or (
            ANNOTATION_STORE in have and {**want, ANNOTATION_STORE: have[ANNOTATION_STORE]} == have
        ):
            continue
        for key, value in want.items():
            if key != ANNOTATION_STORE and have.get(key, _MISSING) != value:
                return True
        for key in have:
            if key not in want and key != ANNOTATION_STORE and is_tctl_key(key):
                return True
    return False


def merged(desired: Mapping | None, live: Mapping | None) -> dict | None:
    """The object as it will be after tctl writes `desired` over `live`, for diffs.

    CREATE (no live): `desired`. DELETE (no desired): None. Otherwise the cleaned live object
    with tctl's fields replaced: the content fields of `desired` (spec) replace live's, labels
    and annotations are live's plus desired's (desired wins), minus the tctl keys desired no
    longer has; label/annotation maps are sorted by key, as kubectl prints them.
    """
    if desired is None:
        return None
    if live is None:
        return copy.deepcopy(dict(desired))
    result = clean(live)
    for key, value in desired.items():
        if key != "metadata":
            result[key] = copy.deepcopy(value)
    metadata = result.setdefault("metadata", {})
    for key in ("name", "namespace"):
        if key in _meta(desired):
            metadata[key] = _meta(desired)[key]
    for which in ("labels", "annotations"):
        want = _map(desired, which)
        keep = {k: v for k, v in _map(live, which).items() if k in want or not is_tctl_key(k)}
        keep.update(copy.deepcopy(dict(want)))
        if keep or which in metadata:
            metadata[which] = dict(sorted(keep.items()))
    return result


# -- plan -----------------------------------------------------------------------------------------


class Action(StrEnum):
    """What happens to one object; the values are kubectl's words where kubectl has one."""

    CREATE = "created"
    UPDATE = "configured"
    DELETE = "pruned"
    REMOVE = "deleted"  # an installed object `delete -f` names (a prune is of a generated one)
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"
    KEEP = "kept"
    FOREIGN = "owned elsewhere"


WRITES = frozenset({Action.CREATE, Action.UPDATE, Action.DELETE, Action.REMOVE})
REMOVALS = frozenset({Action.DELETE, Action.REMOVE})


@dataclass(frozen=True)
class Step:
    """One object of one cluster and what the plan does with it.

    `desired`: the generated object (None for DELETE and for a KEEP of an object no longer
    generated). `live`: the object in the cluster, `clean`ed (None for CREATE). A conflict
    taken over with `force_conflicts` is an UPDATE whose `live` is not managed by tctl and
    whose `reason` starts with "taking over"; `taking_over` tells it apart. `force`: the write
    takes over fields other field managers own (every update of a generated object: it is
    tctl's even where someone edited a field, the edit being the drift repaired).
    """

    cluster: str
    kind: str
    api_version: str
    namespace: str
    name: str
    action: Action
    desired: dict | None = field(default=None, hash=False)
    live: dict | None = field(default=None, hash=False)
    reason: str = ""
    force: bool = False

    @property
    def path(self) -> str:
        """`cluster-2/ServiceEntry/xcp-multicluster/details.bookinfo` (no namespace part for
        cluster-scoped objects), for diff headers and messages."""
        return "/".join(part for part in (self.cluster, self.kind, self.namespace, self.name) if part)

    @property
    def writes(self) -> bool:
        """True when executing the step writes to the cluster (create, update, delete)."""
        return self.action in WRITES

    @property
    def taking_over(self) -> bool:
        """A forced conflict: an UPDATE of an object tctl does not manage (yet)."""
        return self.action is Action.UPDATE and self.live is not None and not is_managed(self.live)

    @property
    def before(self) -> dict | None:
        """The object as it is now (cleaned), None if absent."""
        return self.live

    @property
    def after(self) -> dict | None:
        """The object as it will be once the plan ran: `merged` for writes (None when pruned),
        the live object unchanged otherwise (including an unforced conflict and KEEP)."""
        if self.action in REMOVALS:
            return None
        if self.writes:
            return merged(self.desired, self.live)
        return self.live


class SyncState(StrEnum):
    """The SYNC column of `get` against a live fleet."""

    IN_SYNC = "in-sync"
    MISSING = "missing"
    DRIFTED = "drifted"
    CONFLICT = "conflict"
    EXTRA = "extra"


def sync_status(step: Step) -> SyncState:
    """The SYNC column of `get` for a generated object: in-sync (UNCHANGED, KEEP), missing
    (CREATE), drifted (UPDATE), conflict (CONFLICT, or a forced take-over: the object is not
    tctl's yet). DELETE and FOREIGN steps are no generated object; they read `extra`."""
    if step.action in (Action.UNCHANGED, Action.KEEP):
        return SyncState.IN_SYNC
    if step.action is Action.CREATE:
        return SyncState.MISSING
    if step.action is Action.CONFLICT or step.taking_over:
        return SyncState.CONFLICT
    if step.action is Action.UPDATE:
        return SyncState.DRIFTED
    return SyncState.EXTRA


# Order of kinds within a cluster. Writes go parent first: the Namespace must exist before
# the ServiceEntries in it; the failover DestinationRule is in place before the shadow
# WorkloadEntries, so that remote endpoints never receive traffic without the failover
# priority that keeps it local. Prunes go in the reverse order: WorkloadEntries before their
# DestinationRule (same reason). Namespaces are never pruned (deleting one deletes everything
# in it, objects tctl does not own included).
KIND_ORDER = ("Namespace", "Gateway", "ServiceEntry", "DestinationRule", "WorkloadEntry")
_RANK = {kind: i for i, kind in enumerate(KIND_ORDER)}
# What must be written before what, as waves: a wave's writes go out together. Gateways and
# ServiceEntries depend on nothing but their Namespace, so they go with the DestinationRules.
_WAVE = {"Namespace": 0, "Gateway": 1, "ServiceEntry": 1, "DestinationRule": 1, "WorkloadEntry": 2}
_OTHER_WAVE = max(_WAVE.values()) + 1  # kinds tctl does not generate (IngressGateway installs)

Key = tuple[str, str, str, str]  # API group, kind, namespace, name


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def object_identity(obj: Mapping) -> Key:
    """(API group, kind, namespace, name): the version is not part of an object's identity
    (networking.istio.io/v1 and v1beta1 serve the same objects)."""
    metadata = obj.get("metadata")
    if type(metadata) is dict:  # the usual shape, decided without the checks below
        kind, name = obj.get("kind"), metadata.get("name")
        api_version, namespace = obj.get("apiVersion"), metadata.get("namespace")
        if (
            type(kind) is str
            and kind
            and type(name) is str
            and name
            and type(api_version) is str
            and (namespace is None or type(namespace) is str)
        ):
            return (api_version.rpartition("/")[0], kind, namespace or "", name)
    return _checked_identity(obj)


def _checked_identity(obj: Mapping) -> Key:
    kind = obj.get("kind")
    metadata = _meta(obj)
    name = metadata.get("name")
    if not isinstance(kind, str) or not kind or not isinstance(name, str) or not name:
        raise ValueError(f"object without kind or metadata.name: {_short(obj)}")
    return (_group(str(obj.get("apiVersion") or "")), kind, str(metadata.get("namespace") or ""), name)


def _short(obj: Mapping) -> str:
    text = json.dumps(obj, sort_keys=True, default=str)
    return text if len(text) <= 200 else text[:197] + "..."


def step_order(step: Step) -> tuple:
    """Sort key within a cluster: creates/updates (and steps that write nothing) in KIND_ORDER,
    then prunes in the reverse order; then namespace, name, API group."""
    rank = _RANK.get(step.kind, len(KIND_ORDER))
    group = _group(step.api_version)
    if step.action in REMOVALS:
        return (1, -rank, "" if step.kind in _RANK else step.kind, step.namespace, step.name, group)
    return (0, rank, "" if step.kind in _RANK else step.kind, step.namespace, step.name, group)


def write_wave(step: Step) -> tuple:
    """The wave of a cluster's writes `step` goes out in; steps in `step_order` have their
    waves in order. Creates and updates: the Namespaces; then the Gateways, ServiceEntries and
    DestinationRules; then the WorkloadEntries; then other kinds, kind by kind. Prunes after
    them, in reverse: WorkloadEntries first."""
    wave = _WAVE.get(step.kind, _OTHER_WAVE)
    other = "" if step.kind in _WAVE else step.kind
    if step.action in REMOVALS:
        return (1, -wave, other)
    return (0, wave, other)


def _step(
    cluster: str,
    action: Action,
    desired: Mapping | None,
    live: dict | None,
    reason: str,
    *,
    force: bool = False,
) -> Step:
    body = desired if desired is not None else live
    assert body is not None
    meta = _meta(body)
    return Step(
        cluster=cluster,
        kind=str(body["kind"]),
        api_version=str(body.get("apiVersion") or ""),
        namespace=str(meta.get("namespace") or ""),
        name=str(meta["name"]),
        action=action,
        desired=dict(desired) if desired is not None else None,
        live=live,
        reason=reason,
        force=force,
    )


def _held(live: Mapping, unreachable: frozenset[str], unsettled: frozenset[str]) -> str:
    """Why `live` must be left alone while clusters cannot be read (`unreachable`) or their
    gateway address annotation cannot be parsed (`unsettled`); "" if it need not be."""
    blocked = unreachable | unsettled
    if not blocked:
        return ""
    names = origins(live)
    if names is None:
        return (
            f"records no origin clusters ({ANNOTATION_ORIGINS}) and "
            f"{', '.join(sorted(blocked))} {'is' if len(blocked) == 1 else 'are'} not settled: "
            "left as is until every cluster can be read and its gateway addresses parsed"
        )
    reasons = []
    down = sorted(names & unreachable)
    if down:
        reasons.append(
            f"derives from {', '.join(down)}, which could not be read: left as is until "
            f"{'it' if len(down) == 1 else 'they'} can be read again"
        )
    broken = sorted((names & unsettled) - unreachable)
    if broken:
        reasons.append(
            f"derives from {', '.join(broken)}, whose East-West gateway address annotation "
            "cannot be parsed: left as is until it is fixed"
        )
    return "; ".join(reasons)


def _join(*parts: str) -> str:
    return "; ".join(part for part in parts if part)


def _manager(live: Mapping) -> str:
    value = _map(live, "labels").get(MANAGED_BY)
    return f"{MANAGED_BY}={value}" if value else f"no {MANAGED_BY} label"


def plan_cluster(
    cluster: str,
    desired: Sequence[Mapping],
    live: Sequence[Mapping],
    *,
    ownership: Ownership,
    unreachable: frozenset[str] = frozenset(),
    unsettled: frozenset[str] = frozenset(),
    force_conflicts: bool = False,
) -> list[Step]:
    """The steps that bring `cluster` from `live` to `desired` (bodies), in execution order.

    `live`: what was read from the cluster (objects labelled managed-by tctl, plus any object
    whose name a desired one would take); anything else in it that is neither desired nor
    managed is ignored. `ownership`: which managed objects this run may prune or update (see
    `tctl_py.reconcile.ownership`); its store id is stamped on every object written.
    `unreachable`: clusters that could not be read, `unsettled`: clusters whose gateway address
    annotation cannot be parsed; managed objects that derive from either (annotation
    tctl.tetrate.io/origins, or no readable such annotation at all) are KEPT rather than changed
    or pruned. A Namespace is never pruned. Objects are identified by (API group, kind,
    namespace, name).
    """
    unreachable, unsettled = frozenset(unreachable), frozenset(unsettled)
    wanted: dict[Key, Mapping] = {}
    for body in desired:
        key = object_identity(body)
        if key in wanted:
            raise ValueError(f"two desired objects in {cluster} share the identity {key}")
        wanted[key] = body
    read: dict[Key, list[Mapping]] = {}
    for body in live:
        read.setdefault(object_identity(body), []).append(body)
    # The same object listed twice (read through two API versions): keep one, whatever the order.
    present = {
        key: clean(
            bodies[0] if len(bodies) == 1 else min(bodies, key=lambda b: (not is_managed(b), _short(b)))
        )
        for key, bodies in read.items()
    }

    def write(action: Action, want: Mapping, have: dict | None, reason: str) -> Step:
        stamped = _stamped(want, ownership.store)
        return _step(cluster, action, stamped, have, reason, force=action is Action.UPDATE)

    steps: list[Step] = []
    for key, want in wanted.items():
        have = present.get(key)
        if have is None:
            steps.append(write(Action.CREATE, want, None, "not in the cluster"))
            continue
        going = "it is being deleted: a later sync re-creates it" if _terminating(have) else ""
        theirs = not is_managed(have) or not ownership.owns(have)
        if theirs and key[:2] == ("", "Namespace"):
            # tctl only needs the namespace to exist: one made by someone else is used as it is.
            steps.append(
                _step(
                    cluster, Action.UNCHANGED, want, have, "exists, not managed by this configuration: used"
                )
            )
            continue
        if theirs:
            held_by = _manager(have) if not is_managed(have) else ownership.why_not(have)
            if force_conflicts:
                steps.append(
                    write(
                        Action.UPDATE,
                        want,
                        have,
                        _join(
                            f"taking over an object not managed by tctl ({held_by})"
                            if not is_managed(have)
                            else f"taking over: {held_by}",
                            going,
                        ),
                    )
                )
            else:
                reason = (
                    f"exists and is not managed by tctl ({held_by})"
                    if not is_managed(have)
                    else f"exists and is managed by tctl for other configuration: {held_by}"
                )
                steps.append(
                    _step(cluster, Action.CONFLICT, want, have, reason + "; --force-conflicts takes it over")
                )
            continue
        if not differs(want, have):
            steps.append(_step(cluster, Action.UNCHANGED, want, have, going))
            continue
        held = _held(have, unreachable, unsettled)
        if held:
            steps.append(_step(cluster, Action.KEEP, want, have, held))
        else:
            reason = "differs in " + ", ".join(differences(want, have))
            steps.append(write(Action.UPDATE, want, have, _join(reason, going)))

    for key, have in present.items():
        # A Namespace is never pruned: deleting it would delete whatever else lives in it,
        # objects tctl does not own included. Once tctl needs it no more, it is left alone.
        if key in wanted or not is_managed(have) or key[:2] == ("", "Namespace"):
            continue
        if not ownership.owns(have):
            steps.append(_step(cluster, Action.FOREIGN, None, have, ownership.why_not(have)))
            continue
        held = _held(have, unreachable, unsettled)
        if held:
            steps.append(_step(cluster, Action.KEEP, None, have, held))
        elif _terminating(have):
            steps.append(_step(cluster, Action.UNCHANGED, None, have, "already being deleted"))
        else:
            steps.append(
                _step(
                    cluster,
                    Action.DELETE,
                    None,
                    have,
                    "managed by tctl, no longer generated by " + source_of(have),
                )
            )
    return sorted(steps, key=step_order)


def _stamped(desired: Mapping, store: str) -> Mapping:
    """`desired` with the store stamp among its annotations (when the store has an id)."""
    if not store:
        return desired
    metadata = dict(_meta(desired))
    metadata["annotations"] = dict(sorted({**_map(desired, "annotations"), ANNOTATION_STORE: store}.items()))
    return {**desired, "metadata": metadata}


def plan(
    desired: Iterable[GeneratedObject],
    live: Mapping[str, Sequence[Mapping]],
    *,
    ownership: Ownership,
    unreachable: Iterable[str] = frozenset(),
    unsettled: Iterable[str] = frozenset(),
    force_conflicts: bool = False,
    clusters: Sequence[str] | None = None,
) -> list[Step]:
    """`plan_cluster` for every cluster that was read, sorted by cluster then execution order.

    `clusters`: the clusters to plan (default: those in `live`); `live[c]` missing means c has
    none of our objects. Clusters in `unreachable` are never planned (nothing is known of them)
    and desired objects of clusters not planned are left out. `unsettled` clusters are planned,
    but what derives from them is kept (see `plan_cluster`).
    """
    blocked = frozenset(unreachable)
    names = sorted(set(live if clusters is None else clusters) - blocked)
    by_cluster: dict[str, list[dict]] = {name: [] for name in names}
    for obj in desired:
        if obj.cluster in by_cluster:
            by_cluster[obj.cluster].append(obj.body)
    steps: list[Step] = []
    for name in names:
        steps += plan_cluster(
            name,
            by_cluster[name],
            live.get(name, ()),
            ownership=ownership,
            unreachable=blocked,
            unsettled=frozenset(unsettled),
            force_conflicts=force_conflicts,
        )
    return steps


def plan_installs(cluster: str, desired: Sequence[Mapping], live: Sequence[Mapping]) -> list[Step]:
    """The steps that install `desired` objects (IngressGateway documents given to
    `apply --cluster/--all-clusters`) in `cluster`, in the order given: CREATE what `live`
    (what was read of them) lacks, UPDATE what differs (see `differences`), else UNCHANGED.

    Installs are the user's own documents, not generated: never pruned, never stamped, and
    applied without force, so a field another manager owns is a conflict the API server reports.
    """
    present = {object_identity(body): clean(body) for body in live}
    steps = []
    for want in desired:
        have = present.get(object_identity(want))
        if have is None:
            steps.append(_step(cluster, Action.CREATE, want, None, "not in the cluster"))
            continue
        changed = differences(want, have)
        if changed:
            steps.append(_step(cluster, Action.UPDATE, want, have, "differs in " + ", ".join(changed)))
        else:
            steps.append(_step(cluster, Action.UNCHANGED, want, have, ""))
    return steps


def plan_uninstalls(cluster: str, named: Sequence[Mapping], live: Sequence[Mapping]) -> list[Step]:
    """The steps that undo `plan_installs` (`delete -f` of IngressGateway documents): REMOVE
    each named object `live` holds, in the order given; one that is not there is UNCHANGED."""
    present = {object_identity(body): clean(body) for body in live}
    steps = []
    for want in named:
        have = present.get(object_identity(want))
        if have is None:
            steps.append(_step(cluster, Action.UNCHANGED, want, None, "not in the cluster"))
        else:
            steps.append(_step(cluster, Action.REMOVE, None, have, ""))
    return steps
