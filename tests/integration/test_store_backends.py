"""The store's rules on both backends: one suite, run against the SQLite file and against the
Kubernetes store (custom resources on an emulated API server, real HTTP through the official
client). Then what only the Kubernetes store has to prove: optimistic concurrency, partial
failures, and changes made with kubectl."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator

import pytest

from tctl_py.errors import ClusterError, ConflictError, ExitCode, NotFound, StoreError, UsageError
from tctl_py.store import ApplyRefused, ConfigStore, DeleteRefused, open_store
from tests.support import EmulatedFleet, lease
from tests.support.store_items import (
    CLUSTER,
    ORG,
    SETTING,
    TENANT,
    WS,
    cluster,
    org,
    setting,
    tenant,
    workspace,
)

KUBE = "kube://mgmt/tctl"


@pytest.fixture
def mgmt(emulated: EmulatedFleet):
    """A management cluster (no Istio) for the Kubernetes store; KUBECONFIG names it."""
    cluster = emulated.add_cluster("mgmt", istio=False)
    return cluster, emulated.write_kubeconfig(emulated.directory / "kubeconfig.yaml")


@pytest.fixture(params=["sqlite", "kube"])
def spec(request, tmp_path) -> str:
    """The --store of each backend, initialised and empty."""
    if request.param == "sqlite":
        return str(tmp_path / "state" / "store.db")
    _cluster, kubeconfig = request.getfixturevalue("mgmt")
    request.getfixturevalue("monkeypatch").setenv("KUBECONFIG", str(kubeconfig))
    with open_store(KUBE) as fresh:
        fresh.init()
    return KUBE


@pytest.fixture
def store(spec) -> Iterator[ConfigStore]:
    with open_store(spec) as opened:
        yield opened


def fqns(store):
    return [o.fqn for o in store.list()]


# --- the rules, on both backends ----------------------------------------------------------------


def test_create_configure_unchanged(store):
    changes = store.apply([org(), cluster()])
    assert [(c.fqn, c.action) for c in changes] == [(ORG, "created"), (CLUSTER, "created")]
    assert changes[0].before is None and changes[0].after == org()[3]
    first = store.get(CLUSTER)
    assert (first.kind, first.parent, first.revision) == ("Cluster", ORG, 1)
    assert first.body == {"spec": {"network": "cluster-1"}}

    changes = store.apply([org(), cluster(locality={"region": "eu"})])
    assert [c.action for c in changes] == ["unchanged", "configured"]
    assert changes[1].before == {"spec": {"network": "cluster-1"}}
    assert changes[1].after == {"spec": {"network": "cluster-1", "locality": {"region": "eu"}}}
    second = store.get(CLUSTER)
    assert second.revision == 2 and second.created == first.created
    assert store.get(ORG).revision == 1

    # key order does not matter: the body is compared as canonical JSON
    body = {"spec": {"locality": {"region": "eu"}, "network": "cluster-1"}}
    assert store.apply([(CLUSTER, "Cluster", ORG, body)])[0].action == "unchanged"


def test_shuffled_batch_is_applied_parent_first(store):
    items = [
        org(),
        tenant(),
        workspace(),
        setting(),
        cluster(),
        cluster("cluster-2"),
        org("other"),
        tenant("organizations/other", "t"),
        workspace("organizations/other/tenants/t", "w"),
    ]
    random.Random(7).shuffle(items)
    changes = store.apply(items)
    assert {c.action for c in changes} == {"created"}
    depths = [c.fqn.count("/") for c in changes]
    assert depths == sorted(depths)
    assert fqns(store) == sorted(i[0] for i in items)
    assert store.get(SETTING).parent == WS


def test_list_filters_by_kind_and_subtree(store):
    store.apply([org(), org("tse2"), tenant(), workspace(), cluster(), cluster("c", "organizations/tse2")])
    assert fqns(store) == sorted(fqns(store))
    assert [o.fqn for o in store.list(kind="Cluster")] == [CLUSTER, "organizations/tse2/clusters/c"]
    assert [o.fqn for o in store.list(under=ORG)] == [ORG, CLUSTER, TENANT, WS]
    assert [o.fqn for o in store.list(under=TENANT + "/")] == [TENANT, WS]
    assert [o.fqn for o in store.list(kind="Cluster", under=ORG)] == [CLUSTER]
    assert store.list(under="organizations/ts") == []


def test_missing_parent_writes_nothing_and_names_every_offender(store):
    store.apply([org()])
    batch = [
        cluster("fine"),
        tenant("organizations/nope", "t1"),
        workspace(f"{TENANT}", "w"),
        setting("organizations/tse/tenants/ghost/workspaces/w"),
        tenant(),
    ]
    with pytest.raises(ApplyRefused) as err:
        store.apply(batch)
    assert err.value.exit_code == ExitCode.INVALID == 3
    offenders = [fqn for fqn, _ in err.value.problems]
    ghost = "organizations/tse/tenants/ghost/workspaces/w/settings/bookinfo-ws-settings"
    assert offenders == sorted(["organizations/nope/tenants/t1", ghost])
    assert "organizations/nope/tenants/t1" in err.value.message
    # the valid items of the batch were not written either
    assert fqns(store) == [ORG]


def test_one_workspace_setting_per_workspace(store):
    store.apply([org(), tenant(), workspace(), setting()])
    # replacing the same setting is fine
    assert store.apply([setting(gateway="other-gateway")])[0].action == "configured"
    with pytest.raises(ApplyRefused) as err:
        store.apply([cluster(), setting(name="another")])
    assert [fqn for fqn, _ in err.value.problems] == [f"{WS}/settings/another"]
    assert SETTING in err.value.problems[0][1]
    assert CLUSTER not in fqns(store)

    # two new settings for a new workspace in one batch: both named, nothing written
    ws2 = f"{TENANT}/workspaces/ws2"
    with pytest.raises(ApplyRefused) as err:
        store.apply([workspace(name="ws2"), setting(ws2, "a"), setting(ws2, "b")])
    assert [fqn for fqn, _ in err.value.problems] == [f"{ws2}/settings/a", f"{ws2}/settings/b"]
    assert ws2 not in fqns(store)


def test_duplicate_fqn_with_different_bodies_is_refused(store):
    store.apply([org()])
    assert len(store.apply([cluster(), cluster()])) == 1  # identical duplicates collapse
    with pytest.raises(ApplyRefused) as err:
        store.apply([cluster(locality={"region": "a"}), cluster(locality={"region": "b"})])
    assert [fqn for fqn, _ in err.value.problems] == [CLUSTER]


def test_cascading_delete(store):
    store.apply(
        [org(), tenant(), workspace(), setting(), cluster(), org("tse2"), tenant("organizations/tse2")]
    )
    changes = store.delete([TENANT], cascade=True)
    assert [(c.fqn, c.action) for c in changes] == [
        (SETTING, "deleted"),
        (WS, "deleted"),
        (TENANT, "deleted"),
    ]
    assert changes[0].before == setting()[3] and changes[0].after is None
    assert fqns(store) == [ORG, CLUSTER, "organizations/tse2", "organizations/tse2/tenants/tse"]

    # deleting an ancestor and a descendant together reports each object once, children first
    changes = store.delete([CLUSTER, ORG], cascade=True)
    assert [c.fqn for c in changes] == [CLUSTER, ORG]
    # the sibling organization sharing the name prefix is untouched
    assert fqns(store) == ["organizations/tse2", "organizations/tse2/tenants/tse"]


def test_dry_run_writes_nothing(store):
    store.apply([org(), cluster()])
    changes = store.apply([org(), cluster(locality={"region": "x"}), tenant()], dry_run=True)
    assert [(c.fqn, c.action) for c in changes] == [
        (ORG, "unchanged"),
        (CLUSTER, "configured"),
        (TENANT, "created"),
    ]
    assert fqns(store) == [ORG, CLUSTER]
    assert store.get(CLUSTER).body == cluster()[3] and store.get(CLUSTER).revision == 1
    with pytest.raises(ApplyRefused):
        store.apply([workspace()], dry_run=True)

    changes = store.delete([ORG], dry_run=True, cascade=True)
    assert [c.fqn for c in changes] == [CLUSTER, ORG]
    assert fqns(store) == [ORG, CLUSTER]


def test_deleting_a_parent_with_children_is_refused_unless_they_go_too(store):
    store.apply([org(), tenant(), workspace(), setting()])
    with pytest.raises(DeleteRefused) as refused:
        store.delete([WS])
    assert refused.value.exit_code == ExitCode.INVALID == 3
    assert WS in refused.value.message and SETTING in refused.value.message
    assert fqns(store) == [ORG, TENANT, WS, SETTING]
    with pytest.raises(DeleteRefused):
        store.delete([WS], dry_run=True)
    # the children named in the same command go first
    assert [c.fqn for c in store.delete([WS, SETTING])] == [SETTING, WS]
    assert fqns(store) == [ORG, TENANT]


def test_unknown_delete_removes_nothing(store):
    store.apply([org(), tenant()])
    with pytest.raises(NotFound) as err:
        store.delete([TENANT, "organizations/tse/clusters/nope", "organizations/zz"])
    assert "organizations/tse/clusters/nope" in err.value.message
    assert "organizations/zz" in err.value.message
    assert err.value.exit_code == ExitCode.INVALID
    assert fqns(store) == [ORG, TENANT]


def test_delete_leaves_tombstones_that_a_new_apply_lifts(store):
    store.apply([org(), tenant(), workspace(), setting()])
    store.delete([WS], cascade=True)
    assert set(store.tombstones()) == {WS, SETTING}
    store.apply([workspace(), setting()])
    assert store.tombstones() == {}


def test_a_dry_run_delete_leaves_no_tombstone(store):
    store.apply([org(), tenant(), workspace(), setting()])
    store.delete([WS], dry_run=True, cascade=True)
    assert store.tombstones() == {}


def test_replace_under_deletes_the_rest_of_the_organization_children_first(store):
    other_ws = f"{TENANT}/workspaces/other-ws"
    store.apply(
        [
            org(),
            tenant(),
            workspace(),
            setting(),
            workspace(name="other-ws"),
            setting(other_ws, "other-settings"),
            cluster(),
            org("acme"),
        ]
    )
    changes = store.apply([org(), tenant(), workspace(), setting()], replace_under=[ORG])
    deleted = [c.fqn for c in changes if c.action == "deleted"]
    assert deleted == [f"{other_ws}/settings/other-settings", other_ws, CLUSTER]
    assert fqns(store) == ["organizations/acme", ORG, TENANT, WS, SETTING]
    assert set(store.tombstones()) == set(deleted)


def test_replace_under_keeps_the_ancestors_of_what_the_input_holds(store):
    store.apply([org(), tenant(), workspace(), setting(), cluster()])
    # An input of one setting (its parents only named in its metadata) keeps its parents.
    changes = store.apply([setting()], replace_under=[ORG])
    assert [c.fqn for c in changes if c.action == "deleted"] == [CLUSTER]
    assert fqns(store) == [ORG, TENANT, WS, SETTING]


def test_replace_under_dry_run_reports_without_deleting(store):
    store.apply([org(), tenant(), workspace(), setting(), cluster()])
    changes = store.apply([org()], replace_under=[ORG], dry_run=True)
    assert {c.fqn for c in changes if c.action == "deleted"} == {TENANT, WS, SETTING, CLUSTER}
    assert set(fqns(store)) == {ORG, TENANT, WS, SETTING, CLUSTER}
    assert store.tombstones() == {}


def test_identity_is_stable_per_store(store, spec, tmp_path):
    store.apply([org()])
    identity = store.identity()
    assert len(identity) == 16 and int(identity, 16) >= 0
    with open_store(spec) as again:
        assert again.identity() == identity
    other_spec = str(tmp_path / "other.db") if spec != KUBE else "kube://mgmt/other"
    with open_store(other_spec) as other:
        other.init()
        other.apply([org()])
        assert other.identity() != identity


def test_the_change_token_moves_with_every_write_and_only_then(store, spec):
    before = store.change_token()
    assert store.wait_for_change(before, 0.2) == before
    with open_store(spec) as someone_else:
        someone_else.apply([org()])
    after = store.wait_for_change(before, 10)
    assert after != before
    assert store.change_token() == after
    store.apply([org()])  # unchanged: nothing written
    assert store.change_token() == after


def test_export_and_list_agree_on_both_stores(store):
    store.apply([org(), tenant(), workspace(), setting(), cluster()])
    assert fqns(store) == sorted([ORG, TENANT, WS, SETTING, CLUSTER])
    assert store.get(SETTING).body == setting()[3]
    assert store.get(SETTING).parent == WS
    assert store.get("organizations/tse/tenants/nope") is None


# --- only on Kubernetes: concurrency without a transaction -----------------------------------


@pytest.fixture
def kube(mgmt, monkeypatch):
    server, kubeconfig = mgmt
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    with open_store(KUBE) as opened:
        yield opened, server


def test_init_is_idempotent_and_a_store_not_initialised_reads_empty_and_refuses_writes(kube):
    store, server = kube
    assert store.list() == [] and store.identity() == "" and store.tombstones() == {}
    with pytest.raises(StoreError) as refused:
        store.apply([org()])
    assert "store init" in refused.value.hint and refused.value.exit_code == ExitCode.USAGE
    first = store.init()
    definitions = {c["metadata"]["name"]: c["metadata"]["resourceVersion"] for c in server.list("crd")}
    assert sorted(definitions) == [
        f"{plural}.tctl.tetrate.io"
        for plural in ("clusters", "organizations", "tenants", "workspaces", "workspacesettings")
    ]
    assert {action for _, action in first} == {"created"}
    identity = store.identity()
    second = store.init()
    assert {action for _, action in second} == {"unchanged"}
    assert {
        c["metadata"]["name"]: c["metadata"]["resourceVersion"] for c in server.list("crd")
    } == definitions
    assert store.identity() == identity


def test_names_labels_and_annotations_of_the_custom_resources(kube):
    store, server = kube
    store.init()
    store.apply([org(), tenant(), workspace(), setting()])
    (resource,) = server.list("workspacesettings", "tctl")
    meta = resource["metadata"]
    assert meta["name"] == "tse.tse.bookinfo-ws.bookinfo-ws-settings"
    for field, value in (("organization", "tse"), ("tenant", "tse"), ("workspace", "bookinfo-ws")):
        assert meta["labels"][f"tctl.tetrate.io/{field}"] == value
        assert meta["annotations"][f"tctl.tetrate.io/{field}"] == value
    assert meta["annotations"]["tctl.tetrate.io/fqn"] == SETTING
    assert resource["spec"] == setting()[3]["spec"]
    (ws,) = server.list("workspaces", "tctl")
    assert ws["metadata"]["labels"]["tctl.tetrate.io/workspace"] == "bookinfo-ws"


def test_two_writers_racing_on_one_object_one_wins_the_other_gets_a_conflict(kube):
    store, server = kube
    store.init()
    store.apply([org(), cluster_("a")])
    server.delay(1.5, times=1, method="PUT", path="/clusters/")
    failed: list[BaseException] = []

    def slow_writer() -> None:
        with open_store(KUBE) as mine:
            try:
                mine.apply([org(), cluster_("slow")])
            except BaseException as error:
                failed.append(error)

    writer = threading.Thread(target=slow_writer)
    writer.start()
    deadline = time.monotonic() + 10
    while server.counts["PUT"] < 1 and time.monotonic() < deadline:  # its write is held
        time.sleep(0.02)
    assert store.apply([org(), cluster_("fast")])[1].action == "configured"
    writer.join(10)
    assert len(failed) == 1 and isinstance(failed[0], ConflictError), failed
    assert failed[0].exit_code == ExitCode.CONFLICT == 5
    assert CLUSTER in failed[0].message and "nothing was written" in failed[0].message
    assert store.get(CLUSTER).body == cluster_("fast")[3]


def cluster_(region: str):
    return cluster(locality={"region": region})


def test_a_failure_part_way_says_what_was_written_and_a_rerun_converges(kube):
    store, server = kube
    store.init()
    store.apply([org()])
    server.fail(403, method="POST", path="/tenants")
    with pytest.raises(ClusterError) as failed:
        store.apply([org(), tenant(), cluster()])
    message = failed.value.message
    assert "written before the failure" in message and f"{CLUSTER} created" in message
    assert TENANT not in message.split("written before the failure")[1]
    assert fqns(store) == [ORG, CLUSTER]
    server.clear_faults()
    changes = store.apply([org(), tenant(), cluster()])
    assert [(c.fqn, c.action) for c in changes] == [
        (ORG, "unchanged"),
        (CLUSTER, "unchanged"),
        (TENANT, "created"),
    ]


def test_a_reconcile_lock_is_held_by_one_store_user_at_a_time(kube):
    store, _cluster = kube
    store.init()
    told: list[str] = []
    order: list[str] = []
    with store.reconcile_lock("tctl apply"):
        second = threading.Thread(
            target=lambda: _hold(told, order),
        )
        second.start()
        deadline = time.monotonic() + 10
        while not told and time.monotonic() < deadline:
            time.sleep(0.02)
        order.append("first done")
    second.join(10)
    assert order == ["first done", "second held"]
    assert "tctl apply" in told[0]


def _hold(told: list[str], order: list[str]) -> None:
    with open_store(KUBE) as other, other.reconcile_lock("tctl sync", on_wait=told.append):
        order.append("second held")


def test_a_lock_its_holder_stopped_renewing_is_taken_over(kube):
    store, server = kube
    store.init()
    server.seed(lease("tctl", "tctl-store-reconcile", holder="pid 1 on gone: tctl sync", duration=1))
    told: list[str] = []
    with store.reconcile_lock("tctl apply", on_wait=told.append):
        held = server.get("leases", "tctl-store-reconcile", "tctl")
        assert held["spec"]["holderIdentity"].endswith(": tctl apply")
    assert told == ["pid 1 on gone: tctl sync"]
    assert server.get("leases", "tctl-store-reconcile", "tctl") is None  # released


def test_a_store_naming_a_context_the_kubeconfig_lacks_is_a_usage_error(kube):
    with open_store("kube://nowhere/tctl") as lost, pytest.raises(UsageError) as refused:
        lost.list()
    assert refused.value.exit_code == ExitCode.USAGE and "mgmt" in refused.value.hint
    with pytest.raises(UsageError):
        open_store("kube://mgmt")
