"""The incremental engine (issue 8 item 2): after any sequence of the changes a watch delivers,
its result is exactly what a full `compute` gives on the fleet those changes lead to.

The fleet the changes lead to is kept here by a model written from the Kubernetes watch API's
meaning (an event replaces the object of its namespace and name, DELETED removes it; a relist
replaces the cluster), not by the engine's own helpers.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tctl_py.mesh import (
    KINDS,
    ClusterRead,
    ClusterRemoved,
    ClusterState,
    ClusterUnreadable,
    ConfigChanged,
    Engine,
    MeshConfig,
    MeshResult,
    ObjectEvent,
    compute,
)
from tests.support.mesh_scenarios import (
    CLUSTERS,
    NAMESPACES,
    SERVICES,
    Shared,
    chance,
    cluster_states,
    configs,
    gateway_bodies,
    scenarios,
    service_bodies,
    shared_choices,
)

MANAGED = {"app.kubernetes.io/managed-by": "tctl"}
FIELDS = {"Service": "services", "Namespace": "namespaces", "DestinationRule": "destination_rules"}


# -- the model -----------------------------------------------------------------------------------


def identity(kind: str, body: dict) -> tuple[str, str]:
    meta = body["metadata"]
    return ("", meta["name"]) if kind == "Namespace" else (meta.get("namespace", "default"), meta["name"])


def model_apply(fleet: dict[str, ClusterState], config: MeshConfig, change) -> MeshConfig:
    """Apply `change` to `fleet` (in place); the configuration after it."""
    if isinstance(change, ConfigChanged):
        return change.config
    if isinstance(change, ClusterRead):
        fleet[change.state.name] = change.state
    elif isinstance(change, ClusterUnreadable):
        server = fleet[change.cluster].server if change.cluster in fleet else ""
        fleet[change.cluster] = ClusterState(
            change.cluster, server=server, reachable=False, error=change.error
        )
    elif isinstance(change, ClusterRemoved):
        fleet.pop(change.cluster, None)
    elif change.cluster in fleet and fleet[change.cluster].reachable:  # an ObjectEvent
        state = fleet[change.cluster]
        field = FIELDS[change.kind]
        kept = [
            o for o in getattr(state, field) if identity(change.kind, o) != identity(change.kind, change.body)
        ]
        if change.type != "DELETED":
            kept.append(change.body)
        fleet[change.cluster] = replace(state, **{field: tuple(kept)})
    return config


# -- changes ---------------------------------------------------------------------------------------


@st.composite
def object_events(draw, shared: Shared, fleet: dict[str, ClusterState]) -> ObjectEvent:
    """An event in a cluster of the fleet (readable or not: events of an unreadable cluster
    must change nothing), aimed most of the time at what the scenario's rules look at."""
    cluster = draw(st.sampled_from(sorted(fleet) or CLUSTERS))
    existing = [
        (kind, body)
        for kind, field in FIELDS.items()
        for body in (getattr(fleet[cluster], field) if cluster in fleet else ())
    ]
    what = draw(st.sampled_from(["service", "gateway", "delete", "destination-rule", "namespace"]))
    namespace = shared.app_namespace if draw(chance(80)) else draw(st.sampled_from(NAMESPACES))
    if what == "delete" and existing:
        kind, body = draw(st.sampled_from(existing))
        return ObjectEvent(cluster, "DELETED", kind, body)
    changed = draw(st.sampled_from(["ADDED", "MODIFIED"]))
    if what == "gateway":  # often the same gateway Service, with other addresses
        return ObjectEvent(
            cluster, changed, "Service", draw(gateway_bodies(shared.gw_namespace, shared.gw_app))
        )
    if what == "destination-rule":
        service = draw(st.sampled_from(SERVICES))
        meta: dict = {
            "name": draw(st.sampled_from([f"{service}.{namespace}", f"user-{service}"])),
            "namespace": namespace,
        }
        if draw(st.booleans()):
            meta["labels"] = MANAGED
        body = {
            "metadata": meta,
            "spec": {
                "host": draw(st.sampled_from([service, f"{service}.{namespace}.svc.cluster.local", "other"]))
            },
        }
        return ObjectEvent(cluster, draw(st.sampled_from(["ADDED", "DELETED"])), "DestinationRule", body)
    if what == "namespace":
        meta = {"name": "xcp-multicluster", **({"labels": MANAGED} if draw(st.booleans()) else {})}
        return ObjectEvent(
            cluster, draw(st.sampled_from(["ADDED", "DELETED"])), "Namespace", {"metadata": meta}
        )
    return ObjectEvent(cluster, changed, "Service", draw(service_bodies(namespace)))


@st.composite
def steps(draw, shared: Shared, fleet: dict[str, ClusterState]) -> list:
    """The changes one reconcile sees together (a debounced burst)."""
    change = st.one_of(
        object_events(shared, fleet),
        object_events(shared, fleet),
        object_events(shared, fleet),
        st.builds(ClusterUnreadable, st.sampled_from(CLUSTERS), st.sampled_from(["", "connection refused"])),
        st.sampled_from(CLUSTERS).flatmap(lambda name: cluster_states(name, shared)).map(ClusterRead),
        st.builds(ClusterRemoved, st.sampled_from(CLUSTERS)),
        configs(shared, CLUSTERS).map(ConfigChanged),
    )
    return draw(st.lists(change, min_size=1, max_size=3))


# -- checks -----------------------------------------------------------------------------------------


def per_cluster(result: MeshResult) -> dict[str, str]:
    objects: dict[str, list] = {}
    for obj in result.objects:
        objects.setdefault(obj.cluster, []).append(obj.body)
    return {cluster: json.dumps(bodies) for cluster, bodies in objects.items()}


def assert_same(incremental: MeshResult, full: MeshResult) -> None:
    dump = lambda r: json.dumps([[o.cluster, o.body] for o in r.objects])  # noqa: E731 - key order matters
    assert dump(incremental) == dump(full)
    assert incremental.findings == full.findings
    assert incremental.gateways == full.gateways
    assert incremental.held_origins == full.held_origins


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(shared_choices.flatmap(lambda shared: st.tuples(st.just(shared), scenarios(shared))), st.data())
def test_incremental_result_is_the_full_recompute(scenario, data):
    """After each step, objects, findings, gateways and held origins equal a full compute of the
    model fleet, and `update` names exactly the clusters whose objects changed."""
    shared, (config, fleet) = scenario
    engine = Engine(config, fleet)
    model = {state.name: state for state in fleet}
    previous = compute(config, fleet)
    assert_same(engine.result(), previous)
    for _ in range(data.draw(st.integers(1, 6), label="steps")):
        changes = data.draw(steps(shared, model), label="changes")
        for change in changes:
            config = model_apply(model, config, change)
            event(f"{type(change).__name__} {getattr(change, 'kind', '')}".strip())
        changed = engine.update(changes)
        full = compute(config, list(model.values()))
        assert_same(engine.result(), full)
        before, after = per_cluster(previous), per_cluster(full)
        assert changed == {c for c in before.keys() | after.keys() if before.get(c) != after.get(c)}
        event("objects changed" if changed else "no object changed")
        previous = full
    clusters = data.draw(st.one_of(st.none(), st.sets(st.sampled_from(CLUSTERS))), label="scope")
    kinds = data.draw(st.one_of(st.none(), st.sets(st.sampled_from(sorted(KINDS)))), label="kinds")
    assert_same(
        engine.result(clusters=clusters, kinds=kinds),
        compute(config, list(model.values()), clusters=clusters, kinds=kinds),
    )


def test_a_gateway_address_change_regenerates_only_what_derives_from_it():
    """Two clusters run `app` (failover both ways), a third consumes it; a new address of c1's
    gateway changes the shadow WorkloadEntries in c2 and the ServiceEntry in c3, and nothing
    else: c1's shadow WorkloadEntries (from c2) are not even rebuilt."""

    def gateway(address: str) -> dict:
        return {
            "metadata": {"name": "ew", "namespace": "gw"},
            "spec": {
                "type": "LoadBalancer",
                "selector": {"app": "ew"},
                "ports": [{"name": "tls", "port": 15443}],
            },
            "status": {"loadBalancer": {"ingress": [{"ip": address}]}},
        }

    app = {
        "metadata": {"name": "app", "namespace": "apps"},
        "spec": {"selector": {"app": "app"}, "ports": [{"name": "http", "port": 80}]},
    }
    config = MeshConfig(
        workspaces=(
            {
                "metadata": {"name": "w", "tenant": "t", "organization": "o"},
                "spec": {"namespaceSelector": {"names": ["*/apps", "*/gw"]}},
            },
        ),
        settings=(
            {
                "metadata": {"name": "s", "workspace": "w", "tenant": "t", "organization": "o"},
                "spec": {
                    "defaultEastWestGatewaySettings": [
                        {"workloadSelector": {"namespace": "gw", "labels": {"app": "ew"}}}
                    ]
                },
            },
        ),
    )
    fleet = [
        ClusterState("c1", services=(app, gateway("10.0.0.1"))),
        ClusterState("c2", services=(app, gateway("10.0.0.2"))),
        ClusterState("c3"),
    ]
    engine = Engine(config, fleet)
    [c1_shadow] = engine.result(clusters=["c1"], kinds={"WorkloadEntry"}).objects
    changed = engine.update([ObjectEvent("c1", "MODIFIED", "Service", gateway("10.0.0.9"))])
    assert changed == {"c2", "c3"}
    assert engine.result(clusters=["c1"], kinds={"WorkloadEntry"}).objects[0] is c1_shadow
    [workload_entry] = [o for o in engine.result(clusters=["c2"], kinds={"WorkloadEntry"}).objects]
    assert workload_entry.body["spec"]["address"] == "10.0.0.9"
    [service_entry] = engine.result(clusters=["c3"], kinds={"ServiceEntry"}).objects
    assert [ep["address"] for ep in service_entry.body["spec"]["endpoints"]] == ["10.0.0.9", "10.0.0.2"]


def test_event_vocabulary_is_checked():
    with pytest.raises(ValueError, match="reads only Service, Namespace, DestinationRule"):
        ObjectEvent("c1", "ADDED", "Pod", {})
    with pytest.raises(ValueError, match="expected ADDED, MODIFIED or DELETED"):
        ObjectEvent("c1", "BOOKMARK", "Service", {})  # type: ignore[arg-type]
