"""Failover readiness (`tctl_py.mesh.status`, SPEC §11) on the seed and on each way it can fail:
a pending gateway, a host-name address, a shared network, a user's DestinationRule, unnamed
ports, an unreadable cluster, a workspace that stops short of a cluster."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from tctl_py.mesh import Exposed, MeshConfig
from tctl_py.mesh.status import Reason, Role, ServiceStatus, service_status
from tctl_py.output import graph
from tests.support.mesh_scenarios import scenarios
from tests.unit.test_mesh_rules import (
    bookinfo,
    cluster_obj,
    gateway_service,
    service,
    setting,
    state,
    workspace,
)


def statuses(fleet, workspaces=None, clusters=()) -> dict[tuple[str, str], ServiceStatus]:
    config = MeshConfig(
        workspaces=tuple(workspaces or [workspace()]), settings=(setting(),), clusters=tuple(clusters)
    )
    exposed = Exposed(config, fleet)
    return {(row.service, row.cluster): row for row in service_status(exposed, exposed.result())}


def reasons(row: ServiceStatus) -> list[Reason]:
    return [b.reason for b in row.blockers]


def seed(gw1=None, gw2=None, extra1=(), extra2=(), reachable2: bool = True):
    """cluster-1 and cluster-2 run bookinfo behind an East-West gateway; cluster-3 only a client."""
    return [
        state("cluster-1", *bookinfo(), gw1 or gateway_service(ips=["10.1.0.1"]), *extra1),
        state(
            "cluster-2",
            *bookinfo(),
            gw2 or gateway_service(ips=["10.2.0.1", "10.2.0.2"]),
            *extra2,
            reachable=reachable2,
            error="" if reachable2 else "connection refused",
        ),
        state("cluster-3", service("sleep", "sleep")),
    ]


def test_seed_every_exposed_service_is_ready_in_every_cluster():
    rows = statuses(seed())
    assert sorted(rows) == [
        (svc, c)
        for svc in ("details.bookinfo", "reviews.bookinfo")
        for c in ("cluster-1", "cluster-2", "cluster-3")
    ]
    assert all(row.ready for row in rows.values())
    one, two, three = (rows[("details.bookinfo", c)] for c in ("cluster-1", "cluster-2", "cluster-3"))
    assert (one.role, one.first, one.failover, one.rule) == (
        Role.LOCAL_FAILOVER,
        ("cluster-1",),
        ("cluster-2",),
        6,
    )
    assert one.addresses == (("cluster-2", ("10.2.0.1", "10.2.0.2")),)
    assert [o.kind for o in one.objects] == ["Gateway", "WorkloadEntry", "WorkloadEntry", "DestinationRule"]
    assert (two.role, two.failover) == (Role.LOCAL_FAILOVER, ("cluster-1",))
    assert (three.role, three.first, three.failover, three.rule) == (
        Role.CONSUMER,
        ("cluster-1", "cluster-2"),
        (),
        4,
    )
    assert [(o.kind, o.namespace, o.name) for o in three.objects] == [
        ("ServiceEntry", "xcp-multicluster", "details.bookinfo")
    ]


def test_gateway_pending_in_one_cluster_leaves_the_other_without_failover():
    rows = statuses(seed(gw2=gateway_service()))
    one = rows[("details.bookinfo", "cluster-1")]
    assert (one.role, one.ready, reasons(one)) == (Role.ORIGIN, False, [Reason.GATEWAY_PENDING])
    assert "cluster-2" in one.blockers[0].detail
    two = rows[("details.bookinfo", "cluster-2")]  # its own gateway is pending, not its failover
    assert (two.role, two.ready, two.failover) == (Role.LOCAL_FAILOVER, True, ("cluster-1",))
    three = rows[("details.bookinfo", "cluster-3")]
    assert (three.ready, three.first) == (True, ("cluster-1",))


def test_a_service_whose_only_gateway_is_pending_is_listed_unready_everywhere():
    fleet = [
        state("cluster-1", *bookinfo(), gateway_service()),
        state("cluster-3", service("sleep", "sleep")),
    ]
    rows = statuses(fleet)
    assert {k: reasons(r) for k, r in rows.items() if k[0] == "details.bookinfo"} == {
        ("details.bookinfo", "cluster-1"): [Reason.GATEWAY_PENDING],
        ("details.bookinfo", "cluster-3"): [Reason.GATEWAY_PENDING],
    }


def test_hostname_address_breaks_failover_towards_it_not_the_service_entry():
    rows = statuses(seed(gw2=gateway_service(hostnames=["ew.example.com"])))
    one = rows[("details.bookinfo", "cluster-1")]
    assert (one.ready, reasons(one)) == (False, [Reason.HOSTNAME_ADDRESS])
    assert "ew.example.com" in one.blockers[0].detail
    assert rows[("details.bookinfo", "cluster-2")].ready  # fails over to cluster-1's IP
    assert rows[("details.bookinfo", "cluster-3")].ready  # a DNS ServiceEntry works


def test_shared_network_is_not_ready_on_both_sides():
    clusters = [cluster_obj("cluster-1", network="flat"), cluster_obj("cluster-2", network="flat")]
    rows = statuses(seed(), clusters=clusters)
    for c in ("cluster-1", "cluster-2"):
        assert reasons(rows[("details.bookinfo", c)]) == [Reason.SHARED_NETWORK]
    assert rows[("details.bookinfo", "cluster-3")].ready


def test_user_destination_rule_in_the_way():
    user_dr = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "DestinationRule",
        "metadata": {"name": "details", "namespace": "bookinfo"},
        "spec": {"host": "details"},
    }
    fleet = seed()
    fleet[1] = state("cluster-2", *bookinfo(), gateway_service(ips=["10.2.0.1"]), drs=[user_dr])
    rows = statuses(fleet)
    two = rows[("details.bookinfo", "cluster-2")]
    assert (two.ready, reasons(two)) == (False, [Reason.USER_DESTINATION_RULE])
    assert "DestinationRule" not in [o.kind for o in two.objects]
    assert rows[("reviews.bookinfo", "cluster-2")].ready


def test_unnamed_port_of_the_local_service():
    ports = [
        {"name": "http", "port": 9080, "protocol": "TCP"},
        {"port": 9090, "protocol": "TCP"},
    ]
    details = service("details", ports=ports)
    fleet = [
        state("cluster-1", details, *bookinfo()[1:], gateway_service(ips=["10.1.0.1"])),
        state("cluster-2", details, *bookinfo()[1:], gateway_service(ips=["10.2.0.1"])),
    ]
    rows = statuses(fleet)
    assert reasons(rows[("details.bookinfo", "cluster-1")]) == [Reason.UNNAMED_PORTS]


def test_a_local_service_without_selector_cannot_fail_over():
    details = service("details", selector={})
    fleet = seed()
    fleet[0] = state("cluster-1", details, *bookinfo()[1:], gateway_service(ips=["10.1.0.1"]))
    rows = statuses(fleet)
    assert reasons(rows[("details.bookinfo", "cluster-1")]) == [Reason.LOCAL_SERVICE_UNSUPPORTED]


def test_cluster_down_rows_say_unreadable_and_its_peer_may_lack_an_origin():
    rows = statuses(seed(reachable2=False))
    two = rows[("details.bookinfo", "cluster-2")]
    assert (two.role, two.ready, reasons(two)) == (Role.UNKNOWN, False, [Reason.CLUSTER_UNREADABLE])
    assert "connection refused" in two.blockers[0].detail
    one = rows[("details.bookinfo", "cluster-1")]
    assert (one.role, reasons(one)) == (Role.ORIGIN, [Reason.CLUSTER_UNREADABLE])
    assert rows[("details.bookinfo", "cluster-3")].ready


def test_workspace_not_spanning_the_namespace():
    rows = statuses(seed(), workspaces=[workspace("cluster-1/bookinfo", "cluster-3/*")])
    two = rows[("details.bookinfo", "cluster-2")]
    assert (two.role, two.rule, reasons(two)) == (Role.NOT_COVERED, 1, [Reason.WORKSPACE_NOT_SPANNING])
    one = rows[("details.bookinfo", "cluster-1")]
    assert (one.role, reasons(one)) == (Role.ORIGIN, [Reason.NO_REMOTE_ORIGIN])


# --- properties on random fleets ----------------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_readiness_agrees_with_the_generated_objects(scenario):
    """On any fleet: one row per exposed service and cluster; a ready local+failover row has its
    shadow WorkloadEntries and failover DestinationRule, a consumer row with origins its
    ServiceEntry; an unreadable cluster's rows are never ready; both pictures draw every row."""
    config, fleet = scenario
    exposed = Exposed(config, fleet)
    result = exposed.result()
    rows = service_status(exposed, result)
    keys = [(r.namespace, r.name, r.cluster) for r in rows]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert {(r.namespace, r.name) for r in rows} >= set(exposed.services)
    objects = {(o.cluster, o.kind, o.namespace, o.name) for o in result.objects}
    reachable = {s.name for s in fleet if s.reachable}
    for row in rows:
        present = {(row.cluster, o.kind, o.namespace, o.name) for o in row.objects}
        assert present <= objects
        kinds = {o.kind for o in row.objects}
        if row.role is Role.LOCAL_FAILOVER and row.ready:
            assert {"WorkloadEntry", "DestinationRule"} <= kinds and row.failover
        if row.role is Role.CONSUMER and row.first:
            assert kinds == {"ServiceEntry"}
        if row.cluster not in reachable:
            assert row.role is Role.UNKNOWN and not row.ready
        assert row.ready == (not row.blockers)
    clusters = [(s.name, s.reachable) for s in exposed.states.values()]
    topo = graph.topology(clusters, result.gateways, rows)
    drawn = {n.id for box in topo.boxes for n in box.nodes if n.kind == "service"}
    assert len(drawn) == sum(r.role is not Role.UNKNOWN for r in rows)
    assert all(e.source in drawn and e.target in drawn for e in topo.edges)
    assert graph.to_mermaid(topo).startswith("flowchart LR\n") and graph.to_dot(topo).endswith("}\n")
