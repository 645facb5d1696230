"""SPEC §4 rules 1-10 on examples built from the use case (seed/000_a863c7719182e3de.txt).

Fields are compared exactly: these tests pin every name, label and value the engine writes.
"""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from tctl_py.mesh import ClusterState, MeshConfig, MeshResult, compute
from tctl_py.mesh import findings as F

ORG = TENANT = "tse"
WS = "bookinfo-ws"
SETTING = "bookinfo-ws-settings"
SOURCE = f"organizations/{ORG}/tenants/{TENANT}/workspaces/{WS}/settings/{SETTING}"
GW_LABELS = {"app": "eastwest-gateway"}
SEED_EXPOSED = [{"serviceLabels": {"app": "details"}}, {"serviceLabels": {"app": "reviews"}}]


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def workspace(*names: str, name: str = WS, org: str = ORG, labels: dict | None = None) -> dict:
    meta = {"name": name, "tenant": TENANT, "organization": org}
    if labels:
        meta["labels"] = labels
    return {
        "apiVersion": "api.tsb.tetrate.io/v2",
        "kind": "Workspace",
        "metadata": meta,
        "spec": {"namespaceSelector": {"names": list(names or ["*/bookinfo"])}},
    }


def entry(namespace: str = "bookinfo", labels: dict | None = None, exposed=SEED_EXPOSED) -> dict:
    body: dict = {"workloadSelector": {"namespace": namespace, "labels": labels or dict(GW_LABELS)}}
    if exposed is not None:
        body["exposedServices"] = exposed
    return body


def setting(*entries: dict, workspace: str = WS, name: str = SETTING, org: str = ORG) -> dict:
    return {
        "apiVersion": "api.tsb.tetrate.io/v2",
        "kind": "WorkspaceSetting",
        "metadata": {"name": name, "workspace": workspace, "tenant": TENANT, "organization": org},
        "spec": {
            "defaultSecuritySetting": {"authenticationSettings": {"trafficMode": "REQUIRED"}},
            "defaultEastWestGatewaySettings": list(entries or [entry()]),
        },
    }


def cluster_obj(name: str, network: str = "", region: str = "", zone: str = "", org: str = ORG) -> dict:
    spec: dict = {}
    if network:
        spec["network"] = network
    if region:
        spec["locality"] = {"region": region, **({"zone": zone} if zone else {})}
    return {
        "apiVersion": "api.tsb.tetrate.io/v2",
        "kind": "Cluster",
        "metadata": {"name": name, "organization": org},
        "spec": spec,
    }


def service(
    name: str,
    namespace: str = "bookinfo",
    labels: dict | None = None,
    selector: dict | None = None,
    ports: list | None = None,
    type_: str = "ClusterIP",
) -> dict:
    spec: dict = {
        "type": type_,
        "ports": ports or [{"name": "http", "port": 9080, "targetPort": 9080, "protocol": "TCP"}],
    }
    if selector != {}:
        spec["selector"] = selector or {"app": name}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels if labels is not None else {"app": name, "service": name},
        },
        "spec": spec,
    }


def gateway_service(
    ips=(),
    hostnames=(),
    external_ips=(),
    annotation: str | None = None,
    namespace: str = "bookinfo",
    name: str = "eastwest-gateway",
    selector: dict | None = None,
) -> dict:
    meta: dict = {"name": name, "namespace": namespace, "labels": {"app": name}}
    if annotation is not None:
        meta["annotations"] = {"xcp.tetrate.io/cluster-external-addresses": annotation}
    ingress = [{"ip": ip} for ip in ips] + [{"hostname": h} for h in hostnames]
    body = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "type": "LoadBalancer",
            "selector": selector or dict(GW_LABELS),
            "ports": [{"name": "mtls", "port": 15443, "targetPort": 15443, "protocol": "TCP"}],
        },
        "status": {"loadBalancer": {"ingress": ingress}},
    }
    if external_ips:
        body["spec"]["externalIPs"] = list(external_ips)
    return body


def bookinfo(namespace: str = "bookinfo") -> list[dict]:
    return [service(n, namespace) for n in ("details", "productpage", "ratings", "reviews")]


def state(
    name: str, *services: dict, namespaces=(), drs=(), reachable: bool = True, error: str = ""
) -> ClusterState:
    ns_objs = tuple(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} if isinstance(n, str) else n
        for n in namespaces
    )
    return ClusterState(
        name=name,
        reachable=reachable,
        error=error,
        services=tuple(services),
        namespaces=ns_objs,
        destination_rules=tuple(drs),
    )


def run(fleet, workspaces=None, settings=None, clusters=()) -> MeshResult:
    return compute(
        MeshConfig(
            workspaces=tuple(workspaces if workspaces is not None else [workspace()]),
            settings=tuple(settings if settings is not None else [setting()]),
            clusters=tuple(clusters),
        ),
        fleet,
    )


def listing(result: MeshResult) -> list[tuple[str, str, str, str]]:
    return [o.sort_key for o in result.objects]


def get(result: MeshResult, cluster: str, kind: str, namespace: str, name: str) -> dict:
    for o in result.objects:
        if o.sort_key == (cluster, kind, namespace, name):
            return o.body
    raise AssertionError(f"no {kind} {namespace}/{name} in {cluster}: {listing(result)}")


def codes(result: MeshResult) -> list[tuple[str, str]]:
    return [(f.cluster, f.code) for f in result.findings]


def meta(name: str, namespace: str = "", origins: str = "cluster-1") -> dict:
    m: dict = {"name": name}
    if namespace:
        m["namespace"] = namespace
    m["labels"] = {
        "app.kubernetes.io/managed-by": "tctl",
        "tctl.tetrate.io/organization": ORG,
        "tctl.tetrate.io/tenant": TENANT,
        "tctl.tetrate.io/workspace": WS,
        "tctl.tetrate.io/setting": SETTING,
    }
    m["annotations"] = {
        "tctl.tetrate.io/origins": json.dumps(origins.split(","), separators=(",", ":")),
        "tctl.tetrate.io/source": SOURCE,
    }
    return m


def endpoint(
    address: str, cluster: str, network: str | None = None, locality: str = "", ports=("http",)
) -> dict:
    ep = {
        "address": address,
        "ports": {p: 15443 for p in ports},
        "labels": {"security.istio.io/tlsMode": "istio", "topology.istio.io/cluster": cluster},
        "network": network or cluster,
    }
    if locality:
        ep["locality"] = locality
    return ep


def gateway_body(
    cluster_hosts: list[str],
    name: str = "tctl-eastwest-gateway",
    namespace: str = "bookinfo",
    origins: str = "cluster-1",
) -> dict:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": meta(name, namespace, origins),
        "spec": {
            "selector": {"app": "eastwest-gateway"},
            "servers": [
                {
                    "port": {"number": 15443, "name": "tls", "protocol": "TLS"},
                    "hosts": cluster_hosts,
                    "tls": {"mode": "AUTO_PASSTHROUGH"},
                }
            ],
        },
    }


DETAILS = "details.bookinfo.svc.cluster.local"
REVIEWS = "reviews.bookinfo.svc.cluster.local"
XCP = "xcp-multicluster"


# -- one, two, three clusters ------------------------------------------------------------------


def test_one_cluster_gets_only_its_gateway():
    result = run([state("cluster-1", *bookinfo(), gateway_service(ips=["10.0.0.1"]))])
    assert listing(result) == [("cluster-1", "Gateway", "bookinfo", "tctl-eastwest-gateway")]
    assert get(result, "cluster-1", "Gateway", "bookinfo", "tctl-eastwest-gateway") == gateway_body(
        [DETAILS, REVIEWS]
    )
    assert result.findings == []


def test_two_clusters_remote_consumer_gets_service_entries_and_namespace():
    result = run(
        [
            state("cluster-1", *bookinfo(), gateway_service(ips=["18.135.167.198"])),
            state("cluster-2", namespaces=["default", "kube-system"]),
        ]
    )
    assert listing(result) == [
        ("cluster-1", "Gateway", "bookinfo", "tctl-eastwest-gateway"),
        ("cluster-2", "Namespace", "", XCP),
        ("cluster-2", "ServiceEntry", XCP, "details.bookinfo"),
        ("cluster-2", "ServiceEntry", XCP, "reviews.bookinfo"),
    ]
    assert get(result, "cluster-2", "ServiceEntry", XCP, "details.bookinfo") == {
        "apiVersion": "networking.istio.io/v1",
        "kind": "ServiceEntry",
        "metadata": meta("details.bookinfo", XCP),
        "spec": {
            "hosts": [DETAILS],
            "location": "MESH_INTERNAL",
            "resolution": "STATIC",
            "ports": [{"name": "http", "number": 9080, "protocol": "HTTP"}],
            "endpoints": [endpoint("18.135.167.198", "cluster-1")],
        },
    }
    assert get(result, "cluster-2", "Namespace", "", XCP) == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": meta(XCP),
    }
    assert result.findings == []


def test_three_clusters_endpoints_from_every_origin_and_failover_between_origins():
    clusters = [
        cluster_obj("cluster-1", network="vpc-1", region="eu-west-2", zone="eu-west-2a"),
        cluster_obj("cluster-2", network="vpc-2", region="eu-west-1"),
    ]
    result = run(
        [
            state("cluster-3"),
            state("cluster-2", service("details"), gateway_service(ips=["10.2.0.1"])),
            state("cluster-1", *bookinfo(), gateway_service(ips=["10.1.0.1"])),
        ],
        clusters=clusters,
    )
    h1 = md5("cluster-1/bookinfo/details")
    h2 = md5("cluster-2/bookinfo/details")
    assert listing(result) == [
        ("cluster-1", "DestinationRule", "bookinfo", "details.bookinfo"),
        ("cluster-1", "Gateway", "bookinfo", "tctl-eastwest-gateway"),
        ("cluster-1", "WorkloadEntry", "bookinfo", f"k-details-{h2}"),
        ("cluster-2", "DestinationRule", "bookinfo", "details.bookinfo"),
        ("cluster-2", "Gateway", "bookinfo", "tctl-eastwest-gateway"),
        ("cluster-2", "Namespace", "", XCP),
        ("cluster-2", "ServiceEntry", XCP, "reviews.bookinfo"),
        ("cluster-2", "WorkloadEntry", "bookinfo", f"k-details-{h1}"),
        ("cluster-3", "Namespace", "", XCP),
        ("cluster-3", "ServiceEntry", XCP, "details.bookinfo"),
        ("cluster-3", "ServiceEntry", XCP, "reviews.bookinfo"),
    ]
    se = get(result, "cluster-3", "ServiceEntry", XCP, "details.bookinfo")
    assert se["spec"]["endpoints"] == [
        endpoint("10.1.0.1", "cluster-1", "vpc-1", "eu-west-2/eu-west-2a"),
        endpoint("10.2.0.1", "cluster-2", "vpc-2", "eu-west-1"),
    ]
    assert get(result, "cluster-2", "Gateway", "bookinfo", "tctl-eastwest-gateway") == gateway_body(
        [DETAILS], origins="cluster-2"
    )
    # cluster-3 has no Cluster object: network = its name, no locality (only as a consumer here).
    assert result.findings == []


# -- same service in both clusters: local wins, shadow WorkloadEntries, DestinationRule ------------


def test_same_service_in_both_clusters_no_service_entry_workload_entries_both_ways():
    clusters = [
        cluster_obj("cluster-1", region="eu-west-2"),
        cluster_obj("cluster-2", network="net-2", region="us-east-1", zone="us-east-1b"),
    ]
    result = run(
        [
            state("cluster-1", *bookinfo(), gateway_service(ips=["10.1.0.1"])),
            state("cluster-2", *bookinfo(), gateway_service(ips=["10.2.0.1"])),
        ],
        clusters=clusters,
    )
    assert not [o for o in result.objects if o.kind in ("ServiceEntry", "Namespace")]
    h = {c: {s: md5(f"{c}/bookinfo/{s}") for s in ("details", "reviews")} for c in ("cluster-1", "cluster-2")}
    assert listing(result) == [
        ("cluster-1", "DestinationRule", "bookinfo", "details.bookinfo"),
        ("cluster-1", "DestinationRule", "bookinfo", "reviews.bookinfo"),
        ("cluster-1", "Gateway", "bookinfo", "tctl-eastwest-gateway"),
        ("cluster-1", "WorkloadEntry", "bookinfo", f"k-details-{h['cluster-2']['details']}"),
        ("cluster-1", "WorkloadEntry", "bookinfo", f"k-reviews-{h['cluster-2']['reviews']}"),
        ("cluster-2", "DestinationRule", "bookinfo", "details.bookinfo"),
        ("cluster-2", "DestinationRule", "bookinfo", "reviews.bookinfo"),
        ("cluster-2", "Gateway", "bookinfo", "tctl-eastwest-gateway"),
        ("cluster-2", "WorkloadEntry", "bookinfo", f"k-details-{h['cluster-1']['details']}"),
        ("cluster-2", "WorkloadEntry", "bookinfo", f"k-reviews-{h['cluster-1']['reviews']}"),
    ]
    name = f"k-details-{h['cluster-2']['details']}"
    assert get(result, "cluster-1", "WorkloadEntry", "bookinfo", name) == {
        "apiVersion": "networking.istio.io/v1",
        "kind": "WorkloadEntry",
        "metadata": meta(name, "bookinfo", "cluster-2"),
        "spec": {
            "address": "10.2.0.1",
            "ports": {"http": 15443},
            "labels": {"app": "details", "security.istio.io/tlsMode": "istio"},
            "network": "net-2",
            "locality": "us-east-1/us-east-1b",
        },
    }
    assert get(result, "cluster-2", "DestinationRule", "bookinfo", "details.bookinfo") == {
        "apiVersion": "networking.istio.io/v1",
        "kind": "DestinationRule",
        "metadata": meta("details.bookinfo", "bookinfo", "cluster-1"),
        "spec": {
            "host": DETAILS,
            "trafficPolicy": {
                "loadBalancer": {
                    "localityLbSetting": {"enabled": True, "failoverPriority": ["topology.istio.io/network"]}
                },
                "outlierDetection": {
                    "consecutive5xxErrors": 5,
                    "interval": "10s",
                    "baseEjectionTime": "30s",
                    "maxEjectionPercent": 100,
                },
            },
        },
    }
    assert result.findings == []


def test_seed_listing_shape_three_gateway_addresses():
    """The seed's `kubectl get workloadentries -n bookinfo` in cluster-2, reproduced."""
    result = run(
        [
            state(
                "cluster-1",
                *bookinfo(),
                gateway_service(ips=["35.179.51.164", "18.168.99.230", "18.135.167.198"]),
            ),
            state("cluster-2", *bookinfo(), gateway_service(ips=["10.2.0.1"])),
        ]
    )
    wes = [o for o in result.objects if o.cluster == "cluster-2" and o.kind == "WorkloadEntry"]
    rows = [(o.name, o.body["spec"]["address"]) for o in wes]
    d, r = md5("cluster-1/bookinfo/details"), md5("cluster-1/bookinfo/reviews")
    assert rows == [
        (f"k-details-{d}", "18.135.167.198"),
        (f"k-details-{d}-2", "18.168.99.230"),
        (f"k-details-{d}-3", "35.179.51.164"),
        (f"k-reviews-{r}", "18.135.167.198"),
        (f"k-reviews-{r}-2", "18.168.99.230"),
        (f"k-reviews-{r}-3", "35.179.51.164"),
    ]
    assert all(re.fullmatch(r"k-(details|reviews)-[0-9a-f]{32}(-[23])?", name) for name, _ in rows)
    assert all(o.namespace == "bookinfo" for o in wes)


# -- exposure selection (rule 3) ----------------------------------------------------------------


@pytest.mark.parametrize("exposed", [None, []], ids=["absent", "empty"])
def test_no_exposed_services_exposes_every_service_but_the_gateway(exposed):
    result = run(
        [state("cluster-1", *bookinfo(), gateway_service(ips=["10.0.0.1"])), state("cluster-2")],
        settings=[setting(entry(exposed=exposed))],
    )
    assert [o.name for o in result.objects if o.kind == "ServiceEntry"] == [
        "details.bookinfo",
        "productpage.bookinfo",
        "ratings.bookinfo",
        "reviews.bookinfo",
    ]


def test_entry_with_several_labels_needs_all_of_them():
    svcs = [
        service("a", labels={"tier": "platinum", "critical": "true"}),
        service("b", labels={"tier": "platinum"}),
        service("c", labels={"critical": "true"}),
    ]
    result = run(
        [state("cluster-1", *svcs, gateway_service(ips=["10.0.0.1"])), state("cluster-2")],
        settings=[setting(entry(exposed=[{"serviceLabels": {"tier": "platinum", "critical": "true"}}]))],
    )
    assert [o.name for o in result.objects if o.kind == "ServiceEntry"] == ["a.bookinfo"]


def test_external_name_services_are_never_exposed():
    result = run(
        [
            state("cluster-1", service("details", type_="ExternalName"), gateway_service(ips=["10.0.0.1"])),
            state("cluster-2"),
        ],
        settings=[setting(entry(exposed=None))],
    )
    assert [o.kind for o in result.objects] == []
    assert ("cluster-1", F.Code.GATEWAY_EXPOSES_NOTHING) in codes(result)


def test_namespace_outside_workspace_with_matching_labels_is_never_exposed():
    result = run(
        [
            state("cluster-1", *bookinfo(), service("details", "other"), gateway_service(ips=["10.0.0.1"])),
            state("cluster-2"),
        ]
    )
    hosts = {o.body["spec"]["hosts"][0] for o in result.objects if o.kind == "ServiceEntry"}
    assert hosts == {DETAILS, REVIEWS}
    for o in result.objects:
        assert "other" not in (o.namespace, *o.body.get("spec", {}).get("hosts", []))


def test_first_matching_gateway_entry_wins():
    second = entry("eastwest", labels={"app": "ew2"}, exposed=[{"serviceLabels": {"app": "details"}}])
    result = run(
        [
            state(
                "cluster-1",
                *bookinfo(),
                gateway_service(ips=["10.0.0.1"]),
                gateway_service(ips=["10.9.9.9"], namespace="eastwest", name="ew2", selector={"app": "ew2"}),
            ),
            state("cluster-2"),
        ],
        workspaces=[workspace("*/bookinfo", "*/eastwest")],
        settings=[setting(entry(), second)],
    )
    se = get(result, "cluster-2", "ServiceEntry", XCP, "details.bookinfo")
    assert [e["address"] for e in se["spec"]["endpoints"]] == ["10.0.0.1"]
    assert ("cluster-1", F.Code.GATEWAY_EXPOSES_NOTHING) in codes(result)
    assert not [o for o in result.objects if o.kind == "Gateway" and o.namespace == "eastwest"]


def test_gateway_in_another_covered_namespace_exposes_the_workspace_services():
    result = run(
        [
            state("cluster-1", *bookinfo(), gateway_service(ips=["10.0.0.1"], namespace="eastwest")),
            state("cluster-2"),
        ],
        workspaces=[workspace("*/bookinfo", "*/eastwest")],
        settings=[setting(entry("eastwest"))],
    )
    assert get(result, "cluster-1", "Gateway", "eastwest", "tctl-eastwest-gateway") == gateway_body(
        [DETAILS, REVIEWS], namespace="eastwest"
    )


def test_gateway_outside_the_workspace_is_never_used():
    result = run(
        [
            state("cluster-1", *bookinfo(), gateway_service(ips=["10.0.0.1"], namespace="eastwest")),
            state("cluster-2"),
        ],
        workspaces=[workspace("*/bookinfo")],
        settings=[setting(entry("eastwest"))],
    )
    assert result.objects == []
    assert ("cluster-1", F.Code.GATEWAY_OUTSIDE_WORKSPACE) in codes(result)


def test_selector_matching_nothing_is_reported():
    result = run(
        [state("cluster-1", *bookinfo(), gateway_service(ips=["10.0.0.1"]))],
        settings=[
            setting(
                entry(exposed=[{"serviceLabels": {"app": "details"}}, {"serviceLabels": {"app": "nope"}}])
            )
        ],
    )
    [finding] = [f for f in result.findings if f.code == F.Code.SELECTOR_MATCHES_NOTHING]
    assert "exposedServices[1]" in finding.message and finding.cluster == "" and finding.source == SOURCE


# -- gateway addresses (rule 2) ----------------------------------------------------------------


def addresses_in_consumer(gw: dict) -> tuple[str, list[str]]:
    result = run([state("cluster-1", *bookinfo(), gw), state("cluster-2")])
    se = get(result, "cluster-2", "ServiceEntry", XCP, "details.bookinfo")
    return se["spec"]["resolution"], [e["address"] for e in se["spec"]["endpoints"]]


def test_one_address():
    assert addresses_in_consumer(gateway_service(ips=["18.135.167.198"])) == ("STATIC", ["18.135.167.198"])


def test_three_addresses_in_numeric_order_deduplicated_with_external_ips():
    gw = gateway_service(ips=["10.0.0.10", "10.0.0.9", "2001:db8::1"], external_ips=["10.0.0.9", "9.9.9.9"])
    assert addresses_in_consumer(gw) == ("STATIC", ["9.9.9.9", "10.0.0.9", "10.0.0.10", "2001:db8::1"])


def test_hostname_address_uses_dns_resolution_and_is_reported():
    host = "k8s-bookinfo-eastwest-00a17af379-bdda7f4eb8c5da5c.elb.eu-west-2.amazonaws.com"
    assert addresses_in_consumer(gateway_service(hostnames=[host])) == ("DNS", [host])
    result = run([state("cluster-1", *bookinfo(), gateway_service(hostnames=[host])), state("cluster-2")])
    assert ("cluster-1", F.Code.GATEWAY_HOSTNAME) in codes(result)


def test_ips_before_hostnames():
    gw = gateway_service(ips=["10.0.0.1"], hostnames=["b.example.com", "A.example.com"])
    assert addresses_in_consumer(gw) == ("DNS", ["10.0.0.1", "a.example.com", "b.example.com"])


def test_annotation_overrides_load_balancer_status():
    gw = gateway_service(ips=["10.0.0.1"], annotation=" 35.179.51.164, 18.135.167.198 ,18.135.167.198")
    assert addresses_in_consumer(gw) == ("STATIC", ["18.135.167.198", "35.179.51.164"])
    gw = gateway_service(ips=["10.0.0.1"], annotation="ew.example.com")
    assert addresses_in_consumer(gw) == ("DNS", ["ew.example.com"])


def test_blank_annotation_falls_back_to_status():
    assert addresses_in_consumer(gateway_service(ips=["10.0.0.1"], annotation=" ")) == (
        "STATIC",
        ["10.0.0.1"],
    )


@pytest.mark.parametrize(
    ("written", "rendered"),
    [
        ("::ffff:10.0.0.1", "::ffff:10.0.0.1"),  # IPv4-mapped: mixed notation on every Python
        ("0:0:0:0:0:FFFF:0A00:0001", "::ffff:10.0.0.1"),
        ("::ffff:0a00:1", "::ffff:10.0.0.1"),
        ("::10.0.0.1", "::a00:1"),  # IPv4-compatible (deprecated): hex, as every Python and Go print it
        ("::ffff:0:10.0.0.1", "::ffff:0:a00:1"),  # IPv4-translated: hex
        ("fe80::1%eth0", "fe80::1%eth0"),  # the zone is kept verbatim
        ("FE80:0000:0000:0000:0000:0000:0000:0001%Eth0", "fe80::1%Eth0"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),  # the first of two longest zero runs
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),  # one zero field is not compressed
        ("2001:DB8:0:0:0:1:0:0", "2001:db8::1:0:0"),
        ("1:0:0:0:0:0:0:0", "1::"),
        ("0:0:0:0:0:0:0:0", "::"),
        ("::1", "::1"),
    ],
)
def test_ipv6_gateway_addresses_are_written_canonically(written, rendered):
    gw = gateway_service(ips=[written])
    result = run([state("cluster-1", *bookinfo(), gw), state("cluster-2", *bookinfo()), state("cluster-3")])
    se = get(result, "cluster-3", "ServiceEntry", XCP, "details.bookinfo")
    assert [e["address"] for e in se["spec"]["endpoints"]] == [rendered]
    assert se["spec"]["resolution"] == "STATIC"
    we = get(
        result, "cluster-2", "WorkloadEntry", "bookinfo", f"k-details-{md5('cluster-1/bookinfo/details')}"
    )
    assert we["spec"]["address"] == rendered


def test_mapped_compatible_and_plain_addresses_sort_numerically():
    gw = gateway_service(
        ips=["2001:db8::1", "::ffff:10.0.0.1", "10.0.0.2", "::10.0.0.1"],
        annotation=None,
        external_ips=["::ffff:9.0.0.1", "10.0.0.1"],
    )
    assert addresses_in_consumer(gw) == (
        "STATIC",
        ["10.0.0.1", "10.0.0.2", "::a00:1", "::ffff:9.0.0.1", "::ffff:10.0.0.1", "2001:db8::1"],
    )
    annotated = gateway_service(annotation="::ffff:10.0.0.1, ::ffff:9.0.0.1,10.0.0.3")
    assert addresses_in_consumer(annotated) == ("STATIC", ["10.0.0.3", "::ffff:9.0.0.1", "::ffff:10.0.0.1"])


@pytest.mark.parametrize(
    ("annotation", "why"),
    [
        ("not_an_ip,also", '"not_an_ip" is neither an IP address nor a DNS name'),
        ("gw_1!", '"gw_1!" is neither an IP address nor a DNS name'),
        ("eastwest", '"eastwest" is neither an IP address nor a DNS name'),  # one label: not resolvable
        ("10.0.0.1,ew.example.com", "not several names or a mix"),
        ("a.example.com,b.example.com", "not several names or a mix"),
        ("10.0.0.1,,10.0.0.2", "an empty item"),
        (",", "an empty item"),
        ("10.0.0.1;10.0.0.2", '"10.0.0.1;10.0.0.2" is neither'),
    ],
)
def test_malformed_address_annotation_is_an_error_and_holds_the_cluster(annotation, why):
    gw1 = gateway_service(ips=["10.1.0.1"], annotation=annotation)  # the load balancer is not a fallback
    result = run(
        [
            state("cluster-1", *bookinfo(), gw1),
            state("cluster-2", *bookinfo(), gateway_service(ips=["10.2.0.1"])),
            state("cluster-3"),
        ]
    )
    assert result.held_origins == frozenset({"cluster-1"})
    [finding] = [f for f in result.findings if f.code == F.Code.GATEWAY_ANNOTATION_INVALID]
    assert finding.code.severity is F.Severity.ERROR
    assert (finding.cluster, finding.subject, finding.source) == (
        "cluster-1",
        "gateway bookinfo/eastwest-gateway",
        SOURCE,
    )
    assert f"xcp.tetrate.io/cluster-external-addresses={annotation!r}" in finding.message
    assert "Service bookinfo/eastwest-gateway" in finding.message and why in finding.message
    assert "comma-separated IPs" in finding.hint
    assert ("cluster-1", F.Code.GATEWAY_PENDING) not in codes(result)
    # Nothing is derived from cluster-1 through the broken gateway; cluster-2 still exposes.
    assert not [o for o in result.objects if o.kind == "Gateway" and o.cluster == "cluster-1"]
    se = get(result, "cluster-3", "ServiceEntry", XCP, "details.bookinfo")
    assert [(e["labels"]["topology.istio.io/cluster"], e["address"]) for e in se["spec"]["endpoints"]] == [
        ("cluster-2", "10.2.0.1")
    ]
    assert se["metadata"]["annotations"]["tctl.tetrate.io/origins"] == '["cluster-2"]'
    for obj in result.objects:
        if obj.kind == "WorkloadEntry":
            assert obj.cluster == "cluster-1" and obj.body["spec"]["address"] == "10.2.0.1"


def test_valid_annotation_or_pending_gateway_holds_nothing():
    fine = run(
        [
            state("cluster-1", *bookinfo(), gateway_service(annotation="10.0.0.1, ::ffff:10.0.0.2")),
            state("cluster-2"),
        ]
    )
    pending = run([state("cluster-1", *bookinfo(), gateway_service()), state("cluster-2")])
    assert fine.held_origins == pending.held_origins == frozenset()
    assert not [f for r in (fine, pending) for f in r.findings if f.code.severity is F.Severity.ERROR]


def test_malformed_annotation_outside_the_workspace_holds_nothing():
    gw = gateway_service(annotation="not_an_ip,also", namespace="istio-system")
    result = run(
        [state("cluster-1", *bookinfo(), gw), state("cluster-2")], settings=[setting(entry("istio-system"))]
    )
    assert result.held_origins == frozenset()
    assert codes(result) == [("cluster-1", F.Code.GATEWAY_OUTSIDE_WORKSPACE)]


def test_gateway_without_address_is_pending_and_exposes_nothing():
    result = run([state("cluster-1", *bookinfo(), gateway_service()), state("cluster-2")])
    assert result.objects == []
    [pending] = [f for f in result.findings if f.code == F.Code.GATEWAY_PENDING]
    assert (pending.cluster, pending.subject, pending.source) == (
        "cluster-1",
        "gateway bookinfo/eastwest-gateway",
        SOURCE,
    )


def test_missing_gateway_is_reported_where_the_namespace_exists():
    result = run([state("cluster-1", *bookinfo()), state("cluster-2", namespaces=["default"])])
    assert result.objects == []
    assert codes(result) == [("cluster-1", F.Code.GATEWAY_MISSING)]


def test_several_matching_gateway_services_use_the_first_by_name():
    result = run(
        [
            state(
                "cluster-1",
                *bookinfo(),
                gateway_service(ips=["10.0.0.2"], name="ew-b"),
                gateway_service(ips=["10.0.0.1"], name="ew-a"),
            ),
            state("cluster-2"),
        ]
    )
    se = get(result, "cluster-2", "ServiceEntry", XCP, "details.bookinfo")
    assert [e["address"] for e in se["spec"]["endpoints"]] == ["10.0.0.1"]
    assert ("cluster-1", F.Code.GATEWAY_AMBIGUOUS) in codes(result)
    assert [o.name for o in result.objects if o.kind == "Gateway"] == ["tctl-ew-a"]


def test_long_gateway_service_name_gives_a_valid_gateway_name():
    long = "e" * 60
    result = run([state("cluster-1", *bookinfo(), gateway_service(ips=["10.0.0.1"], name=long))])
    [gw] = [o for o in result.objects if o.kind == "Gateway"]
    assert len(gw.name) == 63 and gw.name.startswith("tctl-eee") and re.fullmatch(r"[a-z0-9-]+", gw.name)


# -- ports ---------------------------------------------------------------------------------------


def test_port_names_and_protocols():
    ports = [
        {"port": 80, "protocol": "TCP", "name": "http2-web"},
        {"port": 81, "protocol": "TCP", "name": "grpc-web"},
        {"port": 82, "protocol": "TCP", "name": "web", "appProtocol": "https"},
        {"port": 83, "protocol": "TCP", "name": "db", "appProtocol": "kubernetes.io/h2c"},
        {"port": 84, "protocol": "TCP", "name": "mongo"},
        {"port": 85, "protocol": "TCP", "name": "redis"},
        {"port": 86, "protocol": "TCP", "name": "tls-x"},
        {"port": 53, "protocol": "UDP", "name": "dns"},
    ]
    result = run(
        [
            state("cluster-1", service("details", ports=ports), gateway_service(ips=["10.0.0.1"])),
            state("cluster-2"),
        ]
    )
    se = get(result, "cluster-2", "ServiceEntry", XCP, "details.bookinfo")
    assert se["spec"]["ports"] == [
        {"name": "http2-web", "number": 80, "protocol": "HTTP2"},
        {"name": "grpc-web", "number": 81, "protocol": "HTTP"},
        {"name": "web", "number": 82, "protocol": "HTTPS"},
        {"name": "db", "number": 83, "protocol": "HTTP2"},
        {"name": "mongo", "number": 84, "protocol": "MONGO"},
        {"name": "redis", "number": 85, "protocol": "TCP"},
        {"name": "tls-x", "number": 86, "protocol": "TLS"},
    ]
    assert se["spec"]["endpoints"][0]["ports"] == {p["name"]: 15443 for p in se["spec"]["ports"]}
    assert ("cluster-1", F.Code.PORT_UNSUPPORTED) in codes(result)


def se_protocols(port: dict) -> list[str]:
    """The protocol(s) of port 6379 in the ServiceEntry cluster-2 gets for a details Service
    with ports 9080 (named "main") and 6379 (`port`)."""
    ports = [{"port": 9080, "protocol": "TCP", "name": "main"}, {"port": 6379, "protocol": "TCP", **port}]
    result = run(
        [
            state("cluster-1", service("details", ports=ports), gateway_service(ips=["10.0.0.1"])),
            state("cluster-2"),
        ]
    )
    se = get(result, "cluster-2", "ServiceEntry", XCP, "details.bookinfo")
    return [p["protocol"] for p in se["spec"]["ports"] if p["number"] == 6379]


@pytest.mark.parametrize(
    ("name", "app_protocol", "protocol"),
    [
        ("http-cache", "redis", "TCP"),  # appProtocol instead of the name; Istio's Redis filter is off
        ("tcp-cache", "http", "HTTP"),
        ("http", "mysql", "TCP"),
        ("http", "mongo", "MONGO"),
        ("web", "HTTP2", "HTTP2"),  # any case
        ("http", "grpc", "GRPC"),
        ("http", "grpc-web", "HTTP"),  # gRPC-Web is HTTP/1.1 to the consumer's sidecar
        ("tcp", "https", "HTTPS"),
        ("http", "tls", "TLS"),
        ("http", "http2-web", "HTTP2"),  # the value's prefix counts, as for names
        ("http", "kubernetes.io/h2c", "HTTP2"),
        ("http", "kubernetes.io/ws", "HTTP"),
        ("tls", "kubernetes.io/wss", "HTTPS"),
        ("http", "Kubernetes.io/h2c", "TCP"),  # Kubernetes' values are exact-case
        ("http", "example.com/custom", "TCP"),  # unknown: no fallback to the name
        ("grpc", "", "TCP"),  # set, even empty: no fallback
        ("grpc-api", None, "GRPC"),
        ("grpc-web", None, "HTTP"),
        ("GRPC-WEBsocket", None, "HTTP"),  # Istio matches "grpc-web" as a prefix, any case
        ("http2", None, "HTTP2"),
        ("https-admin", None, "HTTPS"),
        ("mongo-db", None, "MONGO"),
        ("redis", None, "TCP"),
        ("mysql", None, "TCP"),
        ("TLS-x", None, "TLS"),
        ("cache", None, "TCP"),
        ("httpx", None, "TCP"),
    ],
)
def test_port_protocol_follows_istio_protocol_selection(name, app_protocol, protocol):
    port: dict = {"name": name}
    if app_protocol is not None:
        port["appProtocol"] = app_protocol
    assert se_protocols(port) == [protocol]


def test_null_app_protocol_leaves_the_name_in_charge():
    assert se_protocols({"name": "http-cache", "appProtocol": None}) == ["HTTP"]


@pytest.mark.parametrize("port", [{"name": "udp-dns"}, {"name": "http-dns", "appProtocol": "udp"}])
def test_tcp_port_istio_takes_for_udp_is_not_carried(port):
    assert se_protocols(port) == []
    ports = [{"port": 9080, "protocol": "TCP", "name": "main"}, {"port": 53, "protocol": "TCP", **port}]
    result = run(
        [
            state("cluster-1", service("details", ports=ports), gateway_service(ips=["10.0.0.1"])),
            state("cluster-2"),
        ]
    )
    [finding] = [f for f in result.findings if f.code == F.Code.PORT_UNSUPPORTED]
    assert f"53/TCP ({port['name']})" in finding.message


def test_unnamed_port_is_named_after_protocol_and_number():
    ports = [{"port": 9080, "protocol": "TCP"}]
    result = run(
        [
            state("cluster-1", service("details", ports=ports), gateway_service(ips=["10.0.0.1"])),
            state("cluster-2"),
        ]
    )
    se = get(result, "cluster-2", "ServiceEntry", XCP, "details.bookinfo")
    assert se["spec"]["ports"] == [{"name": "tcp-9080", "number": 9080, "protocol": "TCP"}]
    assert se["spec"]["endpoints"][0]["ports"] == {"tcp-9080": 15443}


def test_origins_disagreeing_on_ports_use_the_first_origin_and_report():
    other = [{"name": "http", "port": 8080, "protocol": "TCP"}]
    result = run(
        [
            state("cluster-2", service("details", ports=other), gateway_service(ips=["10.2.0.1"])),
            state("cluster-1", service("details"), gateway_service(ips=["10.1.0.1"])),
            state("cluster-3"),
        ]
    )
    se = get(result, "cluster-3", "ServiceEntry", XCP, "details.bookinfo")
    assert se["spec"]["ports"] == [{"name": "http", "number": 9080, "protocol": "HTTP"}]
    assert [e["address"] for e in se["spec"]["endpoints"]] == ["10.1.0.1", "10.2.0.1"]
    assert ("", F.Code.PORT_CONFLICT) in codes(result)
    assert ("cluster-1", F.Code.PORT_CONFLICT) in codes(result)  # local vs remote, for the failover


def test_unnamed_local_port_cannot_fail_over():
    unnamed = [{"port": 9080, "protocol": "TCP"}]
    result = run(
        [
            state("cluster-1", service("details"), gateway_service(ips=["10.1.0.1"])),
            state("cluster-2", service("details", ports=unnamed), gateway_service(ips=["10.2.0.1"])),
        ]
    )
    assert not [
        o
        for o in result.objects
        if o.cluster == "cluster-2" and o.kind in ("WorkloadEntry", "DestinationRule")
    ]
    assert ("cluster-2", F.Code.FAILOVER_UNSUPPORTED) in codes(result)


def test_local_service_without_selector_cannot_fail_over():
    result = run(
        [
            state("cluster-1", service("details"), gateway_service(ips=["10.1.0.1"])),
            state("cluster-2", service("details", selector={})),
        ]
    )
    assert [o.kind for o in result.objects if o.cluster == "cluster-2"] == []
    assert ("cluster-2", F.Code.FAILOVER_UNSUPPORTED) in codes(result)


# -- workspace span, DestinationRule conflicts ---------------------------------------------------


def test_workspace_not_spanning_the_local_cluster_means_no_failover():
    result = run(
        [
            state("cluster-1", *bookinfo(), gateway_service(ips=["10.1.0.1"])),
            state("cluster-2", *bookinfo()),
        ],
        workspaces=[workspace("cluster-1/bookinfo")],
    )
    assert [o.cluster for o in result.objects] == ["cluster-1"]  # only the Gateway
    no_failover = [f for f in result.findings if f.code == F.Code.NO_FAILOVER]
    assert [(f.cluster, f.subject) for f in no_failover] == [
        ("cluster-2", "service bookinfo/details"),
        ("cluster-2", "service bookinfo/reviews"),
    ]


@pytest.mark.parametrize("host", ["details", "details.bookinfo", "details.bookinfo.svc", DETAILS])
def test_user_destination_rule_for_the_host_is_a_conflict(host):
    user_dr = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "DestinationRule",
        "metadata": {"name": "details", "namespace": "bookinfo"},
        "spec": {"host": host},
    }
    result = run(
        [
            state("cluster-1", *bookinfo(), gateway_service(ips=["10.1.0.1"])),
            state("cluster-2", *bookinfo(), gateway_service(ips=["10.2.0.1"]), drs=[user_dr]),
        ]
    )
    drs = [(o.cluster, o.name) for o in result.objects if o.kind == "DestinationRule"]
    assert drs == [
        ("cluster-1", "details.bookinfo"),
        ("cluster-1", "reviews.bookinfo"),
        ("cluster-2", "reviews.bookinfo"),
    ]
    assert [o for o in result.objects if o.cluster == "cluster-2" and o.kind == "WorkloadEntry"]
    [conflict] = [f for f in result.findings if f.code == F.Code.DESTINATION_RULE_CONFLICT]
    assert (conflict.cluster, conflict.subject) == ("cluster-2", "DestinationRule bookinfo/details")
    assert F.Code.DESTINATION_RULE_CONFLICT in F.CONFLICT_CODES


def test_tctl_owned_or_unrelated_destination_rules_are_not_conflicts():
    owned = {
        "metadata": {
            "name": "details.bookinfo",
            "namespace": "bookinfo",
            "labels": {"app.kubernetes.io/managed-by": "tctl"},
        },
        "spec": {"host": DETAILS},
    }
    elsewhere = {"metadata": {"name": "details", "namespace": "client"}, "spec": {"host": DETAILS}}
    other_host = {"metadata": {"name": "ratings", "namespace": "bookinfo"}, "spec": {"host": "ratings"}}
    result = run(
        [
            state("cluster-1", *bookinfo(), gateway_service(ips=["10.1.0.1"])),
            state(
                "cluster-2",
                *bookinfo(),
                gateway_service(ips=["10.2.0.1"]),
                drs=[owned, elsewhere, other_host],
            ),
        ]
    )
    assert ("cluster-2", "DestinationRule", "bookinfo", "details.bookinfo") in listing(result)
    assert F.Code.DESTINATION_RULE_CONFLICT not in [c for _, c in codes(result)]


# -- clusters -------------------------------------------------------------------------------------


def test_unreachable_cluster_is_neither_origin_nor_consumer():
    result = run(
        [
            state("cluster-1", *bookinfo(), gateway_service(ips=["10.1.0.1"])),
            state(
                "cluster-2",
                *bookinfo(),
                gateway_service(ips=["10.2.0.1"]),
                reachable=False,
                error="connection refused",
            ),
            state("cluster-3"),
        ]
    )
    assert {o.cluster for o in result.objects} == {"cluster-1", "cluster-3"}
    se = get(result, "cluster-3", "ServiceEntry", XCP, "details.bookinfo")
    assert [e["address"] for e in se["spec"]["endpoints"]] == ["10.1.0.1"]
    assert not [o for o in result.objects if o.kind in ("WorkloadEntry", "DestinationRule")]
    [finding] = [f for f in result.findings if f.code == F.Code.CLUSTER_UNREACHABLE]
    assert finding.cluster == "cluster-2" and "connection refused" in finding.message


def test_existing_multicluster_namespace():
    user_ns = {"metadata": {"name": XCP}}
    result = run(
        [
            state("cluster-1", *bookinfo(), gateway_service(ips=["10.1.0.1"])),
            state("cluster-2", namespaces=[user_ns]),
        ]
    )
    assert ("cluster-2", "Namespace", "", XCP) not in listing(result)
    owned_ns = {"metadata": {"name": XCP, "labels": {"app.kubernetes.io/managed-by": "tctl"}}}
    result = run(
        [
            state("cluster-1", *bookinfo(), gateway_service(ips=["10.1.0.1"])),
            state("cluster-2", namespaces=[owned_ns]),
        ]
    )
    assert ("cluster-2", "Namespace", "", XCP) in listing(result)


def test_clusters_of_another_organization_are_not_covered():
    result = run(
        [state("cluster-1", *bookinfo(), gateway_service(ips=["10.1.0.1"])), state("cluster-2")],
        clusters=[cluster_obj("cluster-1", org="other-org")],
    )
    assert result.objects == []


def test_cluster_names_that_are_not_label_values_are_sanitised():
    arn = "arn:aws:eks:eu-west-2:123456789012:cluster/c1"
    result = run([state(arn, *bookinfo(), gateway_service(ips=["10.1.0.1"])), state("cluster-2")])
    se = get(result, "cluster-2", "ServiceEntry", XCP, "details.bookinfo")
    label = se["spec"]["endpoints"][0]["labels"]["topology.istio.io/cluster"]
    assert re.fullmatch(r"arn-aws-eks-eu-west-2-123456789012-cluster-c1-[0-9a-f]{8}", label)
    assert se["spec"]["endpoints"][0]["network"] == arn


def test_overlapping_workspaces_most_specific_owns_the_namespace():
    other_ws = workspace("cluster-1/*", name="platform")
    other_setting = setting(entry(exposed=None), workspace="platform", name="platform-settings")
    result = run(
        [state("cluster-1", *bookinfo(), gateway_service(ips=["10.1.0.1"])), state("cluster-2")],
        workspaces=[other_ws, workspace()],
        settings=[other_setting, setting()],
    )
    # */bookinfo (exact namespace) beats cluster-1/* : the seed setting exposes details and reviews.
    assert [o.name for o in result.objects if o.kind == "ServiceEntry"] == [
        "details.bookinfo",
        "reviews.bookinfo",
    ]
    assert ("cluster-1", F.Code.NAMESPACE_OVERLAP) in codes(result)


def test_prefix_namespace_patterns():
    result = run(
        [
            state(
                "cluster-1",
                service("details", "team-a"),
                service("details", "teamb"),
                gateway_service(ips=["10.1.0.1"], namespace="team-gw"),
            ),
            state("cluster-2"),
        ],
        workspaces=[workspace("cluster-1/team-*")],
        settings=[setting(entry("team-gw", exposed=None))],
    )
    assert [o.name for o in result.objects if o.kind == "ServiceEntry"] == ["details.team-a"]


SYSTEM = ["kube-system", "kube-public", "kube-node-lease", "istio-system", "xcp-multicluster"]


def system_fleet() -> list[ClusterState]:
    """cluster-1: a Service in every system namespace and in bookinfo, a gateway in gw."""
    services = [service("probe", ns) for ns in [*SYSTEM, "bookinfo"]]
    return [
        state("cluster-1", *services, gateway_service(ips=["10.1.0.1"], namespace="gw")),
        state("cluster-2"),
    ]


def exposed_hosts(result: MeshResult) -> list[str]:
    return [o.body["spec"]["hosts"][0] for o in result.objects if o.kind == "ServiceEntry"]


@pytest.mark.parametrize(
    "pattern", ["*/*", "cluster-1/*", "*/kube*", "*/kube-*", "*/istio-*", "*/xcp-*", "*/k*"]
)
def test_wildcards_and_prefixes_leave_out_system_namespaces(pattern):
    result = run(
        system_fleet(),
        workspaces=[workspace(pattern, "*/gw", "*/bookinfo")],
        settings=[setting(entry("gw", exposed=None))],
    )
    assert exposed_hosts(result) == ["probe.bookinfo.svc.cluster.local"]


@pytest.mark.parametrize("namespace", SYSTEM)
def test_a_system_namespace_named_exactly_is_covered(namespace):
    for pattern in (f"*/{namespace}", f"cluster-1/{namespace}"):
        result = run(
            system_fleet(),
            workspaces=[workspace("*/*", pattern)],
            settings=[setting(entry("gw", exposed=None))],
        )
        assert exposed_hosts(result) == sorted(
            f"probe.{ns}.svc.cluster.local" for ns in ("bookinfo", namespace)
        )


def test_gateway_in_istio_system_needs_the_namespace_named():
    gw = gateway_service(ips=["10.1.0.1"], namespace="istio-system")
    fleet = [state("cluster-1", *bookinfo(), gw), state("cluster-2")]
    result = run(fleet, workspaces=[workspace("*/*")], settings=[setting(entry("istio-system"))])
    assert result.objects == []
    [finding] = [f for f in result.findings if f.code == F.Code.GATEWAY_OUTSIDE_WORKSPACE]
    assert "istio-system is a system namespace" in finding.hint
    result = run(
        fleet, workspaces=[workspace("*/*", "*/istio-system")], settings=[setting(entry("istio-system"))]
    )
    assert exposed_hosts(result) == [DETAILS, REVIEWS]


def test_metadata_propagates_from_workspace_setting_and_gateway_entry():
    ws = workspace(labels={"team": "books", "app.kubernetes.io/managed-by": "someone"})
    st = setting(entry())
    st["metadata"]["labels"] = {"team": "override", "bad key!": "x"}
    st["metadata"]["annotations"] = {"owner": "books@example.com"}
    st["spec"]["defaultEastWestGatewaySettings"][0]["configGenerationMetadata"] = {"labels": {"tier": "gold"}}
    result = run(
        [state("cluster-1", *bookinfo(), gateway_service(ips=["10.1.0.1"]))], workspaces=[ws], settings=[st]
    )
    [gw] = result.objects
    assert gw.body["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "tctl",
        "tctl.tetrate.io/organization": ORG,
        "tctl.tetrate.io/tenant": TENANT,
        "tctl.tetrate.io/workspace": WS,
        "tctl.tetrate.io/setting": SETTING,
        "team": "override",
        "tier": "gold",
    }
    assert gw.body["metadata"]["annotations"] == {
        "owner": "books@example.com",
        "tctl.tetrate.io/origins": '["cluster-1"]',
        "tctl.tetrate.io/source": SOURCE,
    }
    assert ("", F.Code.METADATA_SKIPPED) in codes(result)


def test_shared_network_is_reported():
    result = run(
        [
            state("cluster-1", service("details"), gateway_service(ips=["10.1.0.1"])),
            state("cluster-2", service("details"), gateway_service(ips=["10.2.0.1"])),
        ],
        clusters=[cluster_obj("cluster-1", network="vpc"), cluster_obj("cluster-2", network="vpc")],
    )
    assert ("cluster-1", F.Code.SHARED_NETWORK) in codes(result) and (
        "cluster-2",
        F.Code.SHARED_NETWORK,
    ) in codes(result)


def test_findings_codes_are_known():
    result = run(
        [
            state("cluster-1", *bookinfo(), gateway_service(hostnames=["a.example.com"])),
            state("cluster-2", *bookinfo(), gateway_service()),
            state("cluster-3", reachable=False),
        ]
    )
    assert result.findings and all(isinstance(f.code, F.Code) for f in result.findings)
    assert [f.sort_key for f in result.findings] == sorted(f.sort_key for f in result.findings)


def test_input_is_not_mutated_nor_aliased():
    import copy

    fleet = [
        state("cluster-1", *bookinfo(), gateway_service(ips=["10.1.0.1"])),
        state("cluster-2", *bookinfo(), gateway_service(ips=["10.2.0.1"])),
    ]
    before = copy.deepcopy(fleet)
    result = run(fleet)
    assert fleet == before
    we = next(o for o in result.objects if o.kind == "WorkloadEntry")
    we.body["spec"]["labels"]["x"] = "y"
    assert "x" not in fleet[0].services[0]["spec"]["selector"]


# -- origins: the clusters each object derives from -------------------------------------------------


def origins_of(result: MeshResult) -> dict[tuple[str, str, str, str], str]:
    """Each object's origins (a JSON list in the annotation), joined by commas for brevity."""
    return {
        o.sort_key: ",".join(json.loads(o.body["metadata"]["annotations"]["tctl.tetrate.io/origins"]))
        for o in result.objects
    }


def test_every_object_names_the_clusters_it_derives_from():
    result = run(
        [
            state("cluster-1", *bookinfo(), gateway_service(ips=["10.1.0.1", "10.1.0.2"])),
            state("cluster-2", service("details"), gateway_service(ips=["10.2.0.1"])),
            state("cluster-3", service("details"), gateway_service(ips=["10.3.0.1"])),
            state("cluster-4"),
        ]
    )
    h = {c: md5(f"{c}/bookinfo/details") for c in ("cluster-1", "cluster-2", "cluster-3")}
    origins = origins_of(result)
    # ServiceEntry: the origin clusters of its endpoints; the Namespace: the union over its ServiceEntries.
    assert origins[("cluster-4", "ServiceEntry", XCP, "details.bookinfo")] == "cluster-1,cluster-2,cluster-3"
    assert origins[("cluster-4", "ServiceEntry", XCP, "reviews.bookinfo")] == "cluster-1"
    assert origins[("cluster-4", "Namespace", "", XCP)] == "cluster-1,cluster-2,cluster-3"
    assert origins[("cluster-2", "ServiceEntry", XCP, "reviews.bookinfo")] == "cluster-1"
    assert origins[("cluster-2", "Namespace", "", XCP)] == "cluster-1"
    # WorkloadEntry: its origin cluster (every address); DestinationRule: those of its WorkloadEntries.
    assert origins[("cluster-2", "WorkloadEntry", "bookinfo", f"k-details-{h['cluster-1']}")] == "cluster-1"
    assert origins[("cluster-2", "WorkloadEntry", "bookinfo", f"k-details-{h['cluster-1']}-2")] == "cluster-1"
    assert origins[("cluster-2", "WorkloadEntry", "bookinfo", f"k-details-{h['cluster-3']}")] == "cluster-3"
    assert origins[("cluster-2", "DestinationRule", "bookinfo", "details.bookinfo")] == "cluster-1,cluster-3"
    assert origins[("cluster-1", "DestinationRule", "bookinfo", "details.bookinfo")] == "cluster-2,cluster-3"
    # Gateway: its own cluster.
    for c in ("cluster-1", "cluster-2", "cluster-3"):
        assert origins[(c, "Gateway", "bookinfo", "tctl-eastwest-gateway")] == c
    assert set(origins) == {o.sort_key for o in result.objects}


def test_origins_never_name_an_unreachable_cluster():
    result = run(
        [
            state("cluster-1", *bookinfo(), gateway_service(ips=["10.1.0.1"])),
            state("cluster-2", *bookinfo(), gateway_service(ips=["10.2.0.1"]), reachable=False),
            state("cluster-3"),
        ]
    )
    assert set(origins_of(result).values()) == {"cluster-1"}


def test_user_cannot_set_the_origins_annotation():
    ws = workspace()
    ws["metadata"]["annotations"] = {"tctl.tetrate.io/origins": "elsewhere"}
    result = run([state("cluster-1", *bookinfo(), gateway_service(ips=["10.1.0.1"]))], workspaces=[ws])
    assert set(origins_of(result).values()) == {"cluster-1"}


def test_origins_of_unusual_cluster_names_are_kept_verbatim():
    arn = "arn:aws:eks:eu-west-2:123456789012:cluster/c1"
    result = run([state(arn, *bookinfo(), gateway_service(ips=["10.1.0.1"])), state("cluster-2")])
    assert origins_of(result)[("cluster-2", "ServiceEntry", XCP, "details.bookinfo")] == arn


def test_origins_are_a_json_list_so_a_comma_in_a_context_name_reads_back_as_one_name():
    odd = "cluster-1,cluster-3"
    result = run([state(odd, *bookinfo(), gateway_service(ips=["10.1.0.1"])), state("cluster-2")])
    entries = [o for o in result.objects if o.kind == "ServiceEntry"]
    assert entries
    for entry in entries:
        assert entry.body["metadata"]["annotations"]["tctl.tetrate.io/origins"] == '["cluster-1,cluster-3"]'
