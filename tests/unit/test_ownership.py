"""Scoped ownership in the reconcile plan (SPEC §3.3; issue 7 items 1, 2, 5, 6).

A managed object is pruned or updated only when configuration the run knows produced it; the
rest is someone else's. Examples for each source of knowledge, then a Hypothesis property: a run
that holds no configuration writes nothing, whatever the clusters hold.
"""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from tctl_py.reconcile.ownership import Ownership, organization_scope, source_of
from tctl_py.reconcile.plan import Action, differences, plan_cluster

ISTIO = "networking.istio.io/v1"
A = "organizations/tse/tenants/tse/workspaces/bookinfo-ws/settings/a"
B = "organizations/tse/tenants/tse/workspaces/other-ws/settings/b"
OTHER_ORG = "organizations/acme/tenants/t/workspaces/w/settings/s"


def managed(
    kind: str,
    name: str,
    source: str | None,
    *,
    origins: list[str] | None = None,
    namespace: str = "bookinfo",
    spec: dict | None = None,
) -> dict:
    annotations = {}
    if source is not None:
        annotations["tctl.tetrate.io/source"] = source
    annotations["tctl.tetrate.io/origins"] = json.dumps(origins or ["c1"])
    meta = {"name": name, "labels": {"app.kubernetes.io/managed-by": "tctl"}, "annotations": annotations}
    if kind == "Namespace":
        return {"apiVersion": "v1", "kind": kind, "metadata": meta}
    meta["namespace"] = namespace
    return {"apiVersion": ISTIO, "kind": kind, "metadata": meta, "spec": spec or {"host": name}}


def actions(steps) -> dict[str, Action]:
    return {step.name: step.action for step in steps}


def test_source_of_reads_the_setting_annotation():
    assert source_of(managed("Gateway", "gw", A)) == A
    assert source_of(managed("Gateway", "gw", None)) == ""
    assert source_of({"metadata": {"annotations": None}}) == ""


def test_only_objects_of_settings_the_run_holds_are_pruned():
    live = [
        managed("WorkloadEntry", "ours", A),
        managed("WorkloadEntry", "theirs", B),
        managed("WorkloadEntry", "unsigned", None),
    ]
    steps = plan_cluster("c2", [], live, ownership=Ownership.of([A]))
    assert actions(steps) == {"ours": Action.DELETE, "theirs": Action.FOREIGN, "unsigned": Action.FOREIGN}
    assert not any(step.writes for step in steps if step.name != "ours")
    theirs = next(step for step in steps if step.name == "theirs")
    assert B in theirs.reason and "does not hold" in theirs.reason


def test_an_empty_or_new_store_deletes_nothing():
    live = [managed("WorkloadEntry", "ours", A), managed("DestinationRule", "dr", B)]
    steps = plan_cluster("c2", [], live, ownership=Ownership())
    assert {step.action for step in steps} == {Action.FOREIGN}


def test_a_tombstone_makes_what_the_deleted_setting_produced_ours_to_prune():
    live = [managed("WorkloadEntry", "gone", A)]
    steps = plan_cluster("c2", [], live, ownership=Ownership.of([], released=[A]))
    assert actions(steps) == {"gone": Action.DELETE}


def test_prune_scope_covers_every_setting_of_the_organization_and_nothing_else():
    live = [
        managed("WorkloadEntry", "a", A),
        managed("WorkloadEntry", "b", B),
        managed("WorkloadEntry", "acme", OTHER_ORG),
    ]
    ownership = Ownership.of([], scopes=[organization_scope("tse")])
    assert actions(plan_cluster("c2", [], live, ownership=ownership)) == {
        "a": Action.DELETE,
        "b": Action.DELETE,
        "acme": Action.FOREIGN,
    }
    # A prefix is a whole path segment: organization "ts" covers nothing of "tse".
    assert {
        s.action
        for s in plan_cluster("c2", [], live, ownership=Ownership.of([], scopes=[organization_scope("ts")]))
    } == {Action.FOREIGN}


def test_a_desired_object_held_by_other_configuration_is_a_conflict_unless_forced():
    desired = managed("ServiceEntry", "details.bookinfo", A, spec={"hosts": ["x"]})
    live = managed("ServiceEntry", "details.bookinfo", B, spec={"hosts": ["y"]})
    [step] = plan_cluster("c3", [desired], [live], ownership=Ownership.of([A]))
    assert step.action is Action.CONFLICT and B in step.reason and "--force-conflicts" in step.reason
    [forced] = plan_cluster("c3", [desired], [live], ownership=Ownership.of([A]), force_conflicts=True)
    assert forced.action is Action.UPDATE and forced.reason.startswith("taking over")


def test_a_namespace_made_for_other_configuration_is_used_as_it_is():
    desired = managed("Namespace", "xcp-multicluster", A)
    live = managed("Namespace", "xcp-multicluster", B)
    [step] = plan_cluster("c3", [desired], [live], ownership=Ownership.of([A]))
    assert step.action is Action.UNCHANGED and "used" in step.reason


def test_writes_carry_the_store_stamp_and_the_stamp_alone_is_no_difference():
    desired = managed("Gateway", "gw", A)
    [create] = plan_cluster("c1", [desired], [], ownership=Ownership.of([A], store="5eed"))
    assert create.desired["metadata"]["annotations"]["tctl.tetrate.io/store"] == "5eed"
    assert "tctl.tetrate.io/store" not in desired["metadata"]["annotations"]  # input untouched
    written_by_another_store = create.desired | {
        "metadata": {
            **create.desired["metadata"],
            "annotations": {**create.desired["metadata"]["annotations"], "tctl.tetrate.io/store": "0ther"},
        }
    }
    assert differences(desired, written_by_another_store) == []
    [again] = plan_cluster(
        "c1", [desired], [written_by_another_store], ownership=Ownership.of([A], store="5eed")
    )
    assert again.action is Action.UNCHANGED


def test_what_derives_from_a_cluster_with_an_unparsable_gateway_annotation_is_kept():
    we = managed("WorkloadEntry", "k-details-1", A, origins=["c1"])
    dr = managed("DestinationRule", "details.bookinfo", A, origins=["c1", "c3"])
    elsewhere = managed("WorkloadEntry", "k-details-3", A, origins=["c3"])
    steps = plan_cluster(
        "c2", [], [we, dr, elsewhere], ownership=Ownership.of([A]), unsettled=frozenset({"c1"})
    )
    assert actions(steps) == {
        "k-details-1": Action.KEEP,
        "details.bookinfo": Action.KEEP,
        "k-details-3": Action.DELETE,
    }
    kept = next(step for step in steps if step.name == "k-details-1")
    assert "gateway address annotation cannot be parsed" in kept.reason


def test_a_comma_in_a_context_name_is_one_origin():
    """Item 5: origins are a JSON list, so `cluster-1,cluster-3` is one cluster, not two."""
    we = managed("WorkloadEntry", "k-details-1", A, origins=["cluster-1,cluster-3"])
    [kept] = plan_cluster(
        "cluster-2", [], [we], ownership=Ownership.of([A]), unreachable=frozenset({"cluster-1,cluster-3"})
    )
    assert kept.action is Action.KEEP
    [pruned] = plan_cluster(
        "cluster-2", [], [we], ownership=Ownership.of([A]), unreachable=frozenset({"cluster-1"})
    )
    assert pruned.action is Action.DELETE


SOURCES = st.sampled_from([A, B, OTHER_ORG, None, "", "organizations/tse"])
KINDS = st.sampled_from(["ServiceEntry", "WorkloadEntry", "DestinationRule", "Gateway", "Namespace"])


@st.composite
def live_objects(draw) -> list[dict]:
    found = {}
    for _ in range(draw(st.integers(0, 8))):
        kind, name = draw(KINDS), draw(st.sampled_from(["a", "b", "c"]))
        found[(kind, name)] = managed(
            kind, name, draw(SOURCES), origins=draw(st.lists(st.sampled_from(["c1", "c2"]), max_size=2))
        )
    return list(found.values())


@given(live_objects(), st.booleans())
def test_a_run_that_holds_no_configuration_never_writes(live, force):
    steps = plan_cluster("c1", [], live, ownership=Ownership(store="new"), force_conflicts=force)
    assert not [step for step in steps if step.writes]


@given(live_objects(), st.sampled_from([A, B]))
def test_nothing_outside_what_the_run_knows_is_ever_pruned(live, held):
    steps = plan_cluster("c1", [], live, ownership=Ownership.of([held]))
    for step in steps:
        if step.action is Action.DELETE:
            assert source_of(step.live) == held
