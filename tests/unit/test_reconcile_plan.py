"""The reconcile plan (SPEC §3.3, §7; tctl_py/reconcile/plan.py): desired vs live objects.

Examples for every action, then Hypothesis properties: idempotence (the plan's results plan to
nothing), no write to objects tctl does not own, deterministic order, order of phases.
"""

from __future__ import annotations

import copy
import itertools
import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tctl_py.mesh import ClusterState, GeneratedObject, MeshConfig, compute
from tctl_py.reconcile import plan as planning
from tctl_py.reconcile.ownership import Ownership
from tctl_py.reconcile.plan import (
    KIND_ORDER,
    Action,
    Step,
    clean,
    differences,
    differs,
    is_managed,
    merged,
    origins,
    sync_status,
    write_wave,
)

ISTIO = "networking.istio.io/v1"
XCP = "xcp-multicluster"
MANAGED = {"app.kubernetes.io/managed-by": "tctl", "tctl.tetrate.io/workspace": "bookinfo-ws"}
SOURCE = "organizations/tse/tenants/tse/workspaces/bookinfo-ws/settings/s"
# The examples' objects are produced by SOURCE, a setting the run holds (tests/unit/
# test_ownership.py covers objects of other configuration).
OURS = Ownership.of([SOURCE])


def plan_cluster(*args, ownership: Ownership = OURS, **kwargs) -> list[Step]:
    return planning.plan_cluster(*args, ownership=ownership, **kwargs)


def plan(*args, ownership: Ownership = OURS, **kwargs) -> list[Step]:
    return planning.plan(*args, ownership=ownership, **kwargs)


def obj(
    kind: str,
    name: str,
    namespace: str = "bookinfo",
    *,
    origins: str | None = "c1",
    spec: dict | None = None,
    labels: dict | None = None,
    annotations: dict | None = None,
    api_version: str = ISTIO,
) -> dict:
    """A generated-like object: managed labels, source and origins annotations."""
    meta: dict = {"name": name}
    if kind != "Namespace":
        meta["namespace"] = namespace
    meta["labels"] = dict(MANAGED) if labels is None else labels
    ann = {"tctl.tetrate.io/source": SOURCE} if annotations is None else annotations
    if origins is not None:
        ann = {**ann, "tctl.tetrate.io/origins": json.dumps(origins.split(","))}
    meta["annotations"] = ann
    body: dict = {"apiVersion": "v1" if kind == "Namespace" else api_version, "kind": kind, "metadata": meta}
    if kind != "Namespace":
        body["spec"] = {"host": f"{name}.svc"} if spec is None else spec
    return body


def se(name: str = "details.bookinfo", *, origins: str = "c1", endpoints=("10.1.0.1",), **kw) -> dict:
    spec = {"hosts": [f"{name}.svc.cluster.local"], "endpoints": [{"address": a} for a in endpoints]}
    return obj("ServiceEntry", name, XCP, origins=origins, spec=spec, **kw)


def ns(origins: str = "c1", **kw) -> dict:
    return obj("Namespace", XCP, origins=origins, **kw)


def with_server_fields(body: dict) -> dict:
    """`body` as the API server returns it."""
    live = copy.deepcopy(body)
    live["metadata"].update(
        uid="0b5d7a4e-1111-2222-3333-444455556666",
        resourceVersion="4711",
        generation=3,
        creationTimestamp="2024-05-01T10:00:00Z",
        selfLink="/apis/x",
        managedFields=[{"manager": "tctl", "operation": "Apply", "fieldsV1": {"f:spec": {}}}],
    )
    live["status"] = {"conditions": [{"type": "Reconciled", "status": "True"}]}
    if body["kind"] == "Namespace":
        live["spec"] = {"finalizers": ["kubernetes"]}
        live["status"] = {"phase": "Active"}
    return live


def unmanaged(body: dict, manager: str | None = None) -> dict:
    live = copy.deepcopy(body)
    live["metadata"]["labels"] = {"app": "mine"} | (
        {"app.kubernetes.io/managed-by": manager} if manager else {}
    )
    live["metadata"]["annotations"] = {}
    return live


def actions(steps: list[Step]) -> list[tuple[str, str, str]]:
    return [(s.kind, s.name, s.action.value) for s in steps]


# -- helpers of the plan -------------------------------------------------------------------------


def test_action_values_print_as_kubectl_words():
    assert [a.value for a in Action] == [
        "created",
        "configured",
        "pruned",
        "deleted",
        "unchanged",
        "conflict",
        "kept",
        "owned elsewhere",
    ]
    assert f"{Action.CREATE}" == "created" and str(Action.UPDATE) == "configured"
    assert Action("pruned") is Action.DELETE


def test_clean_drops_server_bookkeeping_only_and_leaves_the_input_alone():
    body = se()
    live = with_server_fields(body)
    live["metadata"]["deletionTimestamp"] = "2024-05-02T00:00:00Z"
    before = copy.deepcopy(live)
    cleaned = clean(live)
    assert live == before
    assert "status" not in cleaned
    assert set(cleaned["metadata"]) == {"name", "namespace", "labels", "annotations", "deletionTimestamp"}
    cleaned["metadata"]["name"] = "renamed"  # top level and metadata are new dicts
    cleaned["kind"] = "Other"
    assert live == before


def test_is_managed():
    assert is_managed(se())
    assert not is_managed(unmanaged(se()))
    assert not is_managed(unmanaged(se(), manager="Helm"))
    assert not is_managed({"metadata": {"name": "x", "labels": None}})


def test_origins_annotation_is_read_back():
    assert origins(se(origins="c1,c2")) == {"c1", "c2"}
    assert origins(obj("Gateway", "gw", origins=None)) is None


def test_origins_in_an_earlier_comma_separated_form_are_unknown():
    legacy = obj(
        "Gateway",
        "gw",
        origins=None,
        annotations={"tctl.tetrate.io/source": SOURCE, "tctl.tetrate.io/origins": "c1,c2"},
    )
    assert origins(legacy) is None


def test_server_fields_and_others_labels_are_no_difference():
    desired = se()
    live = with_server_fields(desired)
    live["metadata"]["labels"]["team"] = "books"
    live["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = "{}"
    assert differences(desired, live) == [] and not differs(desired, live)


def test_tctl_label_or_annotation_left_on_live_is_a_difference():
    desired = se()
    live = copy.deepcopy(desired)
    live["metadata"]["labels"]["tctl.tetrate.io/tenant"] = "old"
    live["metadata"]["annotations"]["tctl.tetrate.io/note"] = "x"
    assert differences(desired, live) == [
        "labels[tctl.tetrate.io/tenant]",
        "annotations[tctl.tetrate.io/note]",
    ]


def test_missing_or_changed_desired_metadata_and_spec_are_differences():
    desired = se(origins="c1,c2")
    live = se(origins="c1", endpoints=("10.9.9.9",))
    del live["metadata"]["labels"]["tctl.tetrate.io/workspace"]
    assert differences(desired, live) == [
        "spec",
        "labels[tctl.tetrate.io/workspace]",
        "annotations[tctl.tetrate.io/origins]",
    ]


def test_namespace_compares_metadata_only():
    desired = ns()
    live = with_server_fields(desired)
    assert not differs(desired, live)
    live["metadata"]["labels"]["app.kubernetes.io/managed-by"] = "someone"
    assert differences(desired, live) == ["labels[app.kubernetes.io/managed-by]"]


_KEYS = ["app", "app.kubernetes.io/managed-by", "tctl.tetrate.io/store", "tctl.tetrate.io/x"]
_VALUES = st.sampled_from(["a", "b", "", None])
_MAPS = st.one_of(st.dictionaries(st.sampled_from(_KEYS), _VALUES, max_size=4), _VALUES)


@st.composite
def compared_bodies(draw) -> dict:
    """Bodies whose content fields, labels and annotations differ, or not, in every way the
    comparison tells apart: tctl keys, others' keys, the store stamp, missing or odd maps."""
    body: dict = {"kind": "ServiceEntry", "status": draw(_VALUES)}
    for key in draw(st.lists(st.sampled_from(["spec", "data", "apiVersion"]), unique=True)):
        body[key] = draw(st.sampled_from([{"v": 1}, {"v": 2}, None, "x"]))
    if draw(st.booleans()):
        body["metadata"] = {
            which: draw(_MAPS) for which in draw(st.sets(st.sampled_from(["labels", "annotations"])))
        }
    elif draw(st.booleans()):
        body["metadata"] = draw(_VALUES)
    return body


@st.composite
def near(draw, desired: dict) -> dict:
    """`desired` with a key or two of its content, labels or annotations set or removed."""
    live = copy.deepcopy(desired)
    for _ in range(draw(st.integers(0, 2))):
        where = draw(st.sampled_from(["spec", "labels", "annotations"]))
        if where == "spec":
            live["spec"] = draw(st.sampled_from([{"v": 1}, {"v": 2}]))
            continue
        if not isinstance(live.get("metadata"), dict):
            live["metadata"] = {}
        if not isinstance(live["metadata"].get(where), dict):
            live["metadata"][where] = {}
        key = draw(st.sampled_from(_KEYS))
        if draw(st.booleans()):
            live["metadata"][where][key] = draw(_VALUES)
        else:
            live["metadata"][where].pop(key, None)
    return live


@settings(max_examples=500, deadline=None)
@given(compared_bodies(), st.data())
def test_differs_is_whether_there_are_differences(desired, data):
    """`differs` stops at the first difference; it must say what `differences` lists."""
    live = data.draw(st.one_of(compared_bodies(), near(desired)))
    assert differs(desired, live) == bool(differences(desired, live))


def test_merged_keeps_others_fields_and_replaces_tctls():
    desired = se(origins="c1,c2", endpoints=("10.1.0.1", "10.2.0.1"))
    live = with_server_fields(se(origins="c1"))
    live["metadata"]["labels"].update({"team": "books", "tctl.tetrate.io/stale": "x"})
    live["metadata"]["finalizers"] = ["example.com/keep"]
    after = merged(desired, live)
    assert after["spec"] == desired["spec"]
    assert after["metadata"]["labels"] == {**MANAGED, "team": "books"}
    assert after["metadata"]["annotations"] == desired["metadata"]["annotations"]
    assert after["metadata"]["finalizers"] == ["example.com/keep"]
    assert "status" not in after and "uid" not in after["metadata"]
    assert list(after["metadata"]["labels"]) == sorted(after["metadata"]["labels"])
    assert merged(desired, None) == desired and merged(desired, None) is not desired
    assert merged(None, live) is None


# -- one action each -----------------------------------------------------------------------------


def test_create_when_absent():
    [step] = plan_cluster("c2", [se()], [])
    assert (step.action, step.writes, sync_status(step), step.live) == (Action.CREATE, True, "missing", None)
    assert step.path == f"c2/ServiceEntry/{XCP}/details.bookinfo"
    assert step.after == se() and step.before is None


def test_unchanged_ignores_server_fields_and_others_metadata():
    live = with_server_fields(se())
    live["metadata"]["labels"]["team"] = "books"
    [step] = plan_cluster("c2", [se()], [live])
    assert (step.action, step.writes, sync_status(step)) == (Action.UNCHANGED, False, "in-sync")
    assert "status" not in step.live and "resourceVersion" not in step.live["metadata"]
    assert step.after == step.live


def test_update_when_spec_drifted():
    live = with_server_fields(se(endpoints=("10.9.9.9",)))
    [step] = plan_cluster("c2", [se()], [live])
    assert (step.action, step.writes, sync_status(step)) == (Action.UPDATE, True, "drifted")
    assert step.reason == "differs in spec"
    assert step.after["spec"] == se()["spec"]


def test_update_when_a_tctl_label_was_removed_from_desired():
    live = se()
    live["metadata"]["labels"]["tctl.tetrate.io/organization"] = "old-org"
    [step] = plan_cluster("c2", [se()], [live])
    assert step.action is Action.UPDATE and "labels[tctl.tetrate.io/organization]" in step.reason
    assert "tctl.tetrate.io/organization" not in step.after["metadata"]["labels"]


def test_other_api_version_of_the_same_object_is_the_same_object():
    live = se(api_version="networking.istio.io/v1beta1")
    assert actions(plan_cluster("c2", [se()], [live])) == [("ServiceEntry", "details.bookinfo", "unchanged")]


def test_namespace_with_server_spec_and_status_is_unchanged():
    [step] = plan_cluster("c2", [ns()], [with_server_fields(ns())])
    assert step.action is Action.UNCHANGED
    assert step.path == f"c2/Namespace/{XCP}"


def test_prune_managed_objects_no_longer_desired_and_ignore_others():
    others = unmanaged(obj("DestinationRule", "mine"))
    steps = plan_cluster("c1", [], [with_server_fields(obj("DestinationRule", "old")), others])
    assert actions(steps) == [("DestinationRule", "old", "pruned")]
    assert steps[0].writes and steps[0].desired is None and steps[0].after is None


@pytest.mark.parametrize("manager", [None, "Helm"])
def test_conflict_with_an_object_tctl_does_not_own(manager):
    live = with_server_fields(unmanaged(obj("DestinationRule", "details.bookinfo"), manager))
    [step] = plan_cluster("c1", [obj("DestinationRule", "details.bookinfo")], [live])
    assert (step.action, step.writes, sync_status(step)) == (Action.CONFLICT, False, "conflict")
    assert "not managed by tctl" in step.reason and "--force-conflicts" in step.reason
    if manager:
        assert "managed-by=Helm" in step.reason
    assert step.after == step.live  # left as is


def test_forced_conflict_is_an_update_taking_over():
    desired = obj("DestinationRule", "details.bookinfo")
    live = unmanaged(desired, "Helm")
    [step] = plan_cluster("c1", [desired], [live], force_conflicts=True)
    assert (step.action, step.writes, step.taking_over) == (Action.UPDATE, True, True)
    assert step.reason.startswith("taking over")
    assert sync_status(step) == "conflict"  # still someone else's until written
    assert is_managed(step.after) and step.after["metadata"]["labels"]["app"] == "mine"
    assert not step.taking_over or step.live is not None
    [again] = plan_cluster("c1", [desired], [step.after], force_conflicts=True)
    assert again.action is Action.UNCHANGED


def test_unmanaged_object_never_desired_is_not_even_a_conflict_with_force():
    assert plan_cluster("c1", [], [unmanaged(obj("Gateway", "gw"))], force_conflicts=True) == []


# -- unreachable clusters: KEEP --------------------------------------------------------------------


def test_keep_endpoints_of_an_unreachable_cluster_instead_of_updating():
    live = se(origins="c1,c2", endpoints=("10.1.0.1", "10.2.0.1"))
    desired = se(origins="c1")  # the engine no longer sees c2's Service
    [step] = plan_cluster("c3", [desired], [live], unreachable=frozenset({"c2"}))
    assert (step.action, step.writes, sync_status(step)) == (Action.KEEP, False, "in-sync")
    assert "c2" in step.reason and "could not be read" in step.reason
    assert step.after == step.live
    # Once c2 is read again (or another cluster is the unreachable one) the update goes through.
    assert plan_cluster("c3", [desired], [live])[0].action is Action.UPDATE
    assert plan_cluster("c3", [desired], [live], unreachable=frozenset({"c9"}))[0].action is Action.UPDATE


def test_keep_instead_of_pruning_what_derives_from_an_unreachable_cluster():
    we = obj("WorkloadEntry", "k-details-abc", origins="c2")
    dr = obj("DestinationRule", "details.bookinfo", origins="c2")
    steps = plan_cluster("c1", [], [we, dr], unreachable=frozenset({"c2"}))
    assert actions(steps) == [
        ("DestinationRule", "details.bookinfo", "kept"),
        ("WorkloadEntry", "k-details-abc", "kept"),
    ]
    assert all(not s.writes and s.desired is None for s in steps)
    pruned = plan_cluster("c1", [], [we, dr], unreachable=frozenset({"c3"}))
    assert [s.action for s in pruned] == [Action.DELETE, Action.DELETE]


def test_unchanged_objects_stay_unchanged_while_a_cluster_is_unreachable():
    live = se(origins="c1,c2")
    assert plan_cluster("c3", [live], [live], unreachable=frozenset({"c2"}))[0].action is Action.UNCHANGED


def test_objects_without_recorded_origins_are_kept_while_any_cluster_is_unreachable():
    old = obj("WorkloadEntry", "k-old", origins=None)
    [step] = plan_cluster("c1", [], [old], unreachable=frozenset({"c2"}))
    assert step.action is Action.KEEP and "tctl.tetrate.io/origins" in step.reason
    assert plan_cluster("c1", [], [old])[0].action is Action.DELETE


def test_a_namespace_is_never_pruned():
    """Deleting a Namespace deletes everything in it, objects tctl does not own included: once
    tctl needs it no more, it is left alone, whatever else is planned."""
    steps = plan_cluster("c3", [], [ns(origins="c1"), se(origins="c2")], unreachable=frozenset({"c2"}))
    assert actions(steps) == [("ServiceEntry", "details.bookinfo", "kept")]
    steps = plan_cluster("c3", [], [ns(origins="c1"), se(origins="c2")])
    assert actions(steps) == [("ServiceEntry", "details.bookinfo", "pruned")]


def test_unreachable_cluster_is_not_planned():
    desired = [GeneratedObject("c1", obj("Gateway", "gw")), GeneratedObject("c2", obj("Gateway", "gw"))]
    steps = plan(desired, {"c1": [], "c2": [obj("Gateway", "old")]}, unreachable={"c2"})
    assert [(s.cluster, s.name, s.action) for s in steps] == [("c1", "gw", Action.CREATE)]


# -- terminating objects ----------------------------------------------------------------------------


def test_object_being_deleted_is_not_deleted_again():
    live = obj("Gateway", "old")
    live["metadata"]["deletionTimestamp"] = "2024-05-02T00:00:00Z"
    [step] = plan_cluster("c1", [], [live])
    assert step.action is Action.UNCHANGED and not step.writes and "being deleted" in step.reason


# -- order ----------------------------------------------------------------------------------------------


def test_order_namespace_first_prunes_reversed_namespace_last():
    desired = [
        obj("WorkloadEntry", "k-a"),
        obj("DestinationRule", "a.bookinfo"),
        se("b.bookinfo"),
        se("a.bookinfo"),
        obj("Gateway", "gw"),
        ns(),
    ]
    live = [
        ns(),
        obj("Gateway", "gone"),
        se("old.bookinfo"),
        obj("DestinationRule", "old.bookinfo"),
        obj("WorkloadEntry", "k-old"),
        se("a.bookinfo"),
    ]
    random.Random(7).shuffle(desired)
    random.Random(8).shuffle(live)
    assert actions(plan_cluster("c1", desired, live)) == [
        ("Namespace", XCP, "unchanged"),
        ("Gateway", "gw", "created"),
        ("ServiceEntry", "a.bookinfo", "unchanged"),
        ("ServiceEntry", "b.bookinfo", "created"),
        ("DestinationRule", "a.bookinfo", "created"),
        ("WorkloadEntry", "k-a", "created"),
        ("WorkloadEntry", "k-old", "pruned"),
        ("DestinationRule", "old.bookinfo", "pruned"),
        ("ServiceEntry", "old.bookinfo", "pruned"),
        ("Gateway", "gone", "pruned"),
    ]


def test_plan_sorts_by_cluster_and_ignores_clusters_not_read():
    desired = [GeneratedObject(c, obj("Gateway", "gw")) for c in ("c3", "c1", "c2")]
    steps = plan(desired, {"c3": [], "c1": []})
    assert [s.cluster for s in steps] == ["c1", "c3"]
    steps = plan(desired, {"c1": []}, clusters=["c2", "c1"])
    assert [s.cluster for s in steps] == ["c1", "c2"]


def test_duplicate_desired_identity_is_an_error():
    with pytest.raises(ValueError, match="share the identity"):
        plan_cluster("c1", [se(), se(api_version="networking.istio.io/v1beta1")], [])


def test_same_live_object_listed_twice_is_planned_once():
    live = [se(api_version="networking.istio.io/v1beta1"), with_server_fields(se())]
    assert actions(plan_cluster("c1", [se()], live)) == [("ServiceEntry", "details.bookinfo", "unchanged")]


# -- with the engine -----------------------------------------------------------------------------------


def _fleet(unreachable: str = "") -> list[ClusterState]:
    def svc(name: str) -> dict:
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": "bookinfo", "labels": {"app": name}},
            "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 9080}]},
        }

    def gw(ip: str) -> dict:
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "eastwest-gateway", "namespace": "bookinfo"},
            "spec": {
                "type": "LoadBalancer",
                "selector": {"app": "eastwest-gateway"},
                "ports": [{"name": "tls", "port": 15443}],
            },
            "status": {"loadBalancer": {"ingress": [{"ip": ip}]}},
        }

    states = [
        ClusterState("c1", services=(svc("details"), svc("reviews"), gw("10.1.0.1"))),
        ClusterState("c2", services=(svc("details"), gw("10.2.0.1"))),
        ClusterState("c3"),
    ]
    return [ClusterState(s.name, reachable=False) if s.name == unreachable else s for s in states]


MESH = MeshConfig(
    workspaces=(
        {
            "kind": "Workspace",
            "metadata": {"name": "ws", "tenant": "t", "organization": "o"},
            "spec": {"namespaceSelector": {"names": ["*/bookinfo"]}},
        },
    ),
    settings=(
        {
            "kind": "WorkspaceSetting",
            "metadata": {"name": "s", "workspace": "ws", "tenant": "t", "organization": "o"},
            "spec": {
                "defaultEastWestGatewaySettings": [
                    {"workloadSelector": {"namespace": "bookinfo", "labels": {"app": "eastwest-gateway"}}}
                ]
            },
        },
    ),
)


def _live_after(steps: list[Step]) -> dict[str, list[dict]]:
    live: dict[str, list[dict]] = {}
    for step in steps:
        if step.after is not None:
            live.setdefault(step.cluster, []).append(with_server_fields(step.after))
    return live


MESH_OWNS = Ownership.of(["organizations/o/tenants/t/workspaces/ws/settings/s"])


def test_engine_objects_create_then_converge_then_survive_an_unreachable_cluster():
    desired = compute(MESH, _fleet()).objects
    first = plan(desired, {}, ownership=MESH_OWNS, clusters=["c1", "c2", "c3"])
    assert first and {s.action for s in first} == {Action.CREATE}
    live = _live_after(first)
    assert {s.action for s in plan(desired, live, ownership=MESH_OWNS)} == {Action.UNCHANGED}
    # c2 cannot be read: its endpoints in c3 and the failover objects it feeds in c1 stay.
    degraded = compute(MESH, _fleet(unreachable="c2")).objects
    readable = {c: v for c, v in live.items() if c != "c2"}
    steps = plan(degraded, readable, ownership=MESH_OWNS, unreachable={"c2"})
    assert not [s for s in steps if s.writes]
    kept = {(s.cluster, s.kind, s.name) for s in steps if s.action is Action.KEEP}
    assert ("c3", "ServiceEntry", "details.bookinfo") in kept
    assert ("c1", "DestinationRule", "details.bookinfo") in kept
    assert {(c, k) for c, k, _ in kept} >= {("c1", "WorkloadEntry")}


# -- properties ----------------------------------------------------------------------------------------

NAMES = ["a", "b", "c.bookinfo"]
NSS = ["bookinfo", "shop"]
CLUSTERS = ["c1", "c2", "c3"]


@st.composite
def desired_objects(draw) -> list[dict]:
    keys = draw(
        st.lists(
            st.tuples(st.sampled_from(KIND_ORDER[1:]), st.sampled_from(NSS), st.sampled_from(NAMES)),
            unique=True,
            max_size=8,
        )
    )
    bodies = [
        obj(
            kind,
            name,
            namespace,
            origins=",".join(draw(st.lists(st.sampled_from(CLUSTERS), min_size=1, max_size=2, unique=True))),
            spec={"v": draw(st.integers(0, 2))},
            labels={
                **MANAGED,
                **draw(
                    st.dictionaries(
                        st.sampled_from(["team", "tctl.tetrate.io/tier"]),
                        st.sampled_from(["x", "y"]),
                        max_size=1,
                    )
                ),
            },
        )
        for kind, namespace, name in keys
    ]
    if draw(st.booleans()):
        bodies.append(ns(origins=draw(st.sampled_from(CLUSTERS))))
    return bodies


@st.composite
def live_of(draw, desired: list[dict]) -> list[dict]:
    """What a cluster may hold: versions of the desired objects, and objects nobody desires."""
    live = []
    for body in desired:
        variant = draw(
            st.sampled_from(
                ["absent", "same", "server", "others", "spec", "stale", "lost", "unmanaged", "terminating"]
            )
        )
        copy_ = with_server_fields(body) if variant != "same" else copy.deepcopy(body)
        if variant == "absent":
            continue
        if variant == "others":
            copy_["metadata"]["labels"]["owner"] = "ops"
            copy_["metadata"]["annotations"]["note"] = "hi"
        elif variant == "spec" and "spec" in body:
            copy_["spec"] = {"v": 9}
        elif variant == "stale":
            copy_["metadata"]["labels"]["tctl.tetrate.io/old"] = "x"
        elif variant == "lost":
            copy_["metadata"]["annotations"].pop("tctl.tetrate.io/origins", None)
        elif variant == "unmanaged":
            copy_ = unmanaged(copy_, draw(st.sampled_from([None, "Helm"])))
        elif variant == "terminating":
            copy_["metadata"]["deletionTimestamp"] = "2024-05-02T00:00:00Z"
        live.append(copy_)
    for kind, namespace, name in draw(
        st.lists(
            st.tuples(st.sampled_from(KIND_ORDER), st.sampled_from(NSS), st.sampled_from(["old", "z"])),
            unique=True,
            max_size=4,
        )
    ):
        extra = obj(
            kind,
            name if kind != "Namespace" else namespace,
            namespace,
            origins=draw(st.sampled_from([None, "c1", "c2", "c1,c3"])),
        )
        live.append(extra if draw(st.booleans()) else unmanaged(extra))
    return live


@st.composite
def scenarios(draw):
    desired = draw(desired_objects())
    live = draw(live_of(desired))
    unreachable = frozenset(draw(st.lists(st.sampled_from(CLUSTERS), max_size=2)))
    return desired, live, unreachable, draw(st.booleans())


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(scenarios())
def test_applying_the_plan_leaves_nothing_to_write(scenario):
    desired, live, unreachable, force = scenario
    steps = plan_cluster("c9", desired, live, unreachable=unreachable, force_conflicts=force)
    after = [with_server_fields(s.after) for s in steps if s.after is not None]
    again = plan_cluster("c9", desired, after, unreachable=unreachable, force_conflicts=force)
    assert [s for s in again if s.writes] == []
    if force:
        assert all(s.action is not Action.CONFLICT for s in again)


@PROPERTY
@given(desired_objects(), st.data())
def test_desired_merged_over_anything_is_unchanged(desired, data):
    live = data.draw(live_of(desired))
    by_key = {(b["kind"], b["metadata"].get("namespace", ""), b["metadata"]["name"]): b for b in live}
    result = [
        merged(b, by_key.get((b["kind"], b["metadata"].get("namespace", ""), b["metadata"]["name"])))
        for b in desired
    ]
    steps = plan_cluster("c9", desired, result)
    assert [s.action for s in steps] == [Action.UNCHANGED] * len(desired)


@PROPERTY
@given(scenarios())
def test_objects_tctl_does_not_own_are_never_written_without_force(scenario):
    desired, live, unreachable, _ = scenario
    for step in plan_cluster("c9", desired, live, unreachable=unreachable):
        if step.writes and step.action is not Action.CREATE:
            assert is_managed(step.live)
        if step.live is not None and not is_managed(step.live):
            if step.kind == "Namespace":  # someone else's namespace is used, never written
                assert step.action is Action.UNCHANGED and not step.writes
            else:
                assert step.action is Action.CONFLICT and step.desired is not None


@PROPERTY
@given(scenarios())
def test_nothing_derived_from_an_unreachable_cluster_is_written(scenario):
    desired, live, unreachable, force = scenario
    for step in plan_cluster("c9", desired, live, unreachable=unreachable, force_conflicts=force):
        if step.writes and step.live is not None and is_managed(step.live) and unreachable:
            recorded = origins(step.live)
            assert recorded is not None and not (recorded & unreachable)


@PROPERTY
@given(scenarios(), st.randoms(use_true_random=False))
def test_order_is_deterministic_and_phased(scenario, rng):
    desired, live, unreachable, force = scenario
    steps = plan_cluster("c9", desired, live, unreachable=unreachable, force_conflicts=force)
    desired2, live2 = list(desired), list(live)
    rng.shuffle(desired2)
    rng.shuffle(live2)
    assert plan_cluster("c9", desired2, live2, unreachable=unreachable, force_conflicts=force) == steps
    phases = [s.action is Action.DELETE for s in steps]
    assert phases == sorted(phases)  # every prune after every create/update
    kinds = [s.kind for s in steps if s.action is not Action.DELETE]
    assert kinds == sorted(kinds, key=KIND_ORDER.index)
    prunes = [s.kind for s in steps if s.action is Action.DELETE]
    assert prunes == sorted(prunes, key=KIND_ORDER.index, reverse=True)
    # the executor writes wave by wave, each wave a run of consecutive steps
    waves = [write_wave(s) for s in steps]
    assert waves == sorted(waves)
    for before, after in itertools.combinations(steps, 2):
        if write_wave(before) == write_wave(after) and before.kind != after.kind:
            # in one wave only kinds that depend on neither: never a Namespace, never a
            # DestinationRule with a WorkloadEntry
            assert {before.kind, after.kind} <= {"Gateway", "ServiceEntry", "DestinationRule"}


def test_a_namespace_someone_else_made_is_used_not_a_conflict():
    """xcp-multicluster often exists already (made by an operator or a platform team): tctl
    needs it to exist, nothing more, and never takes it over, even when forced."""
    theirs = unmanaged(ns())
    for force in (False, True):
        [step] = plan_cluster("c3", [ns()], [theirs], force_conflicts=force)
        assert step.action is Action.UNCHANGED and not step.writes
        assert sync_status(step) == "in-sync"


def test_uninstalls_remove_what_is_there_and_leave_the_rest():
    gateway = {
        "apiVersion": "install.tetrate.io/v1alpha1",
        "kind": "IngressGateway",
        "metadata": {"name": "eastwest-gateway", "namespace": "bookinfo"},
        "spec": {"eastWestOnly": True},
    }
    other = {**gateway, "metadata": {"name": "other", "namespace": "bookinfo"}}
    live = {**gateway, "metadata": {**gateway["metadata"], "uid": "u1"}, "spec": {"eastWestOnly": False}}
    steps = planning.plan_uninstalls("cluster-1", [gateway, other], [live])
    assert [(s.name, s.action, s.reason) for s in steps] == [
        ("eastwest-gateway", planning.Action.REMOVE, ""),
        ("other", planning.Action.UNCHANGED, "not in the cluster"),
    ]
    removed = steps[0]
    assert removed.writes and removed.after is None and removed.desired is None
    assert removed.before is not None and removed.before["spec"] == {"eastWestOnly": False}
    assert planning.step_order(removed)[0] == 1  # removals go after every create and update
