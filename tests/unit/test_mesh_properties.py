"""Hypothesis properties of the exposure engine (SPEC §4 rules 4-10, naming, scoping).

Random small fleets (tests/support/mesh_scenarios.py) are checked against independent oracles
written here, not against the engine's own helpers. Changing any one rule in `tctl_py/mesh/`
(a name, the multicluster namespace, local-wins, the failover priority, the 15443 port, the
network of a shadow WorkloadEntry, the system namespaces, which overlapping selector owns a
namespace) makes one of them fail.
"""

from __future__ import annotations

import hashlib
import json
import random
import re

import pytest
from hypothesis import HealthCheck, Phase, event, given, settings, target
from hypothesis import strategies as st

from tctl_py.mesh import KINDS, ClusterState, MeshConfig, MeshResult, compute
from tests.support.mesh_scenarios import CLUSTERS, scenarios

# TSB's system namespaces: a `*` or prefix pattern never covers them, an exact name does.
SYSTEM_NAMESPACES = ["kube-system", "kube-public", "kube-node-lease", "istio-system", "xcp-multicluster"]
XCP = "xcp-multicluster"
WS_LABEL = "tctl.tetrate.io/workspace"

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def is_subdomain(name: str) -> bool:
    return len(name) <= 253 and all(DNS_LABEL.match(part) for part in name.split("."))


def is_label(name: str) -> bool:
    return len(name) <= 63 and bool(DNS_LABEL.match(name))


# -- independent oracles -----------------------------------------------------------------------


def covers(workspace: dict, cluster: str, namespace: str) -> bool:
    """SPEC §4 rule 1, written from the text, and docs/exposure.md's system namespaces."""
    return covered_by(workspace["spec"]["namespaceSelector"]["names"], cluster, namespace)


def covered_by(entries: list[str], cluster: str, namespace: str) -> bool:
    for entry in entries:
        c, n = entry.split("/", 1)
        if c not in ("*", cluster):
            continue
        if n == namespace:
            return True
        if namespace in SYSTEM_NAMESPACES:
            continue
        if n == "*" or (n.endswith("*") and namespace.startswith(n[:-1])):
            return True
    return False


def index(fleet: list[ClusterState]) -> dict[str, dict[tuple[str, str], dict]]:
    return {
        s.name: {(svc["metadata"]["namespace"], svc["metadata"]["name"]): svc for svc in s.services}
        for s in fleet
        if s.reachable
    }


def origin_of_workload_entry(name: str, namespace: str, clusters: list[str]) -> tuple[str, str]:
    m = re.fullmatch(r"k-(.+)-([0-9a-f]{32})(-\d+)?", name)
    assert m, name
    svc, digest = m.group(1), m.group(2)
    found = [c for c in clusters if hashlib.md5(f"{c}/{namespace}/{svc}".encode()).hexdigest() == digest]
    assert len(found) == 1, (name, clusters)
    return found[0], svc


COMMON = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def exercises_failover(kinds: set[str]) -> bool:
    return {"WorkloadEntry", "DestinationRule"} <= kinds


def observe(result: MeshResult) -> None:
    """What the example exercised, for `pytest --hypothesis-show-statistics`: a property that
    sees no object, or no shadow WorkloadEntry, passes without checking rules 4-9."""
    kinds = {o.kind for o in result.objects}
    event("objects generated" if kinds else "no object")
    event(
        "rules 5-7 (shadow WorkloadEntries and DestinationRule)"
        if exercises_failover(kinds)
        else "no rule 5-7"
    )
    target(float(len(kinds)), label="distinct kinds generated")


def test_scenarios_exercise_the_rules():
    """The scenarios are worth checking: at least 80% generate objects and 30% shadow
    WorkloadEntries and a failover DestinationRule (rules 5-7). Measured on a fixed sequence
    of examples, so it cannot flake."""
    seen: list[set[str]] = []

    @settings(COMMON, max_examples=300, derandomize=True, database=None, phases=[Phase.generate])
    @given(scenarios())
    def draw(scenario):
        seen.append({o.kind for o in compute(*scenario).objects})

    draw()
    with_objects = sum(1 for kinds in seen if kinds) / len(seen)
    with_failover = sum(1 for kinds in seen if exercises_failover(kinds)) / len(seen)
    assert with_objects >= 0.8, with_objects
    assert with_failover >= 0.3, with_failover


@COMMON
@given(scenarios())
def test_isolation(scenario):
    """Rule 9: objects live in namespaces their workspace covers (or xcp-multicluster) and
    derive only from Services in namespaces covered by a workspace."""
    config, fleet = scenario
    result = compute(config, fleet)
    observe(result)
    workspaces = {w["metadata"]["name"]: w for w in config.workspaces}
    services = index(fleet)
    reachable = sorted(services)
    for obj in result.objects:
        assert obj.cluster in reachable
        labels = obj.body["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "tctl"
        ws = workspaces[labels[WS_LABEL]]
        spec = obj.body.get("spec", {})
        if obj.kind == "Namespace":
            assert obj.name == XCP
        elif obj.kind == "ServiceEntry":
            assert obj.namespace == XCP
            [host] = spec["hosts"]
            name, namespace = host.split(".")[:2]
            for ep in spec["endpoints"]:
                origin = next(c for c in reachable if c == ep["labels"]["topology.istio.io/cluster"])
                assert origin != obj.cluster
                assert (namespace, name) in services[origin]
                assert any(covers(w, origin, namespace) for w in config.workspaces)
        elif obj.kind == "WorkloadEntry":
            assert covers(ws, obj.cluster, obj.namespace)
            origin, name = origin_of_workload_entry(obj.name, obj.namespace, reachable)
            assert origin != obj.cluster
            assert covers(ws, origin, obj.namespace)
            assert (obj.namespace, name) in services[origin]
        elif obj.kind == "DestinationRule":
            assert covers(ws, obj.cluster, obj.namespace)
        elif obj.kind == "Gateway":
            assert covers(ws, obj.cluster, obj.namespace)
            for host in spec["servers"][0]["hosts"]:
                name, namespace = host.split(".")[:2]
                assert covers(ws, obj.cluster, namespace)
                assert (namespace, name) in services[obj.cluster]
        else:
            raise AssertionError(obj.kind)


@COMMON
@given(scenarios())
def test_local_instance_wins(scenario):
    """Rule 5: never a ServiceEntry for a Service the cluster has; shadow objects only where it has it."""
    config, fleet = scenario
    result = compute(config, fleet)
    observe(result)
    services = index(fleet)
    for obj in result.objects:
        if obj.kind == "ServiceEntry":
            name, namespace = obj.body["spec"]["hosts"][0].split(".")[:2]
            assert (namespace, name) not in services[obj.cluster]
        elif obj.kind == "WorkloadEntry":
            _, name = origin_of_workload_entry(obj.name, obj.namespace, sorted(services))
            assert (obj.namespace, name) in services[obj.cluster]
        elif obj.kind == "DestinationRule":
            name, namespace = obj.body["spec"]["host"].split(".")[:2]
            assert (namespace, name) in services[obj.cluster]


def scramble(value, rng: random.Random):
    """The same data in another order: lists of objects shuffled, dict keys reordered."""
    if isinstance(value, dict):
        items = [(k, scramble(v, rng)) for k, v in value.items()]
        rng.shuffle(items)
        return dict(items)
    if isinstance(value, list):
        return [scramble(v, rng) for v in value]
    return value


@COMMON
@given(scenarios(), st.randoms(use_true_random=False))
def test_determinism(scenario, rng):
    """Rule 10: shuffled input lists and reordered maps give byte-identical output."""
    config, fleet = scenario
    first = compute(config, fleet)
    observe(first)

    def shuffled(items):
        items = [scramble(i, rng) for i in items]
        rng.shuffle(items)
        return tuple(items)

    fleet2 = [
        ClusterState(
            name=s.name,
            reachable=s.reachable,
            services=shuffled(s.services),
            namespaces=shuffled(s.namespaces),
            destination_rules=shuffled(s.destination_rules),
        )
        for s in fleet
    ]
    rng.shuffle(fleet2)
    config2 = MeshConfig(
        workspaces=shuffled(config.workspaces),
        settings=shuffled(config.settings),
        clusters=shuffled(config.clusters),
    )
    second = compute(config2, fleet2)
    dump = lambda r: json.dumps([[o.cluster, o.body] for o in r.objects])  # noqa: E731 - key order matters
    assert dump(first) == dump(second)
    assert first.findings == second.findings
    assert [o.sort_key for o in first.objects] == sorted(o.sort_key for o in first.objects)


@COMMON
@given(scenarios())
def test_names_unique_and_valid(scenario):
    config, fleet = scenario
    result = compute(config, fleet)
    observe(result)
    keys = [o.sort_key for o in result.objects]
    assert len(keys) == len(set(keys))
    for obj in result.objects:
        assert is_subdomain(obj.name), obj.name
        if obj.kind in ("Gateway", "Namespace"):
            assert is_label(obj.name), obj.name
        for key, value in obj.body["metadata"]["labels"].items():
            assert len(value) <= 63 and LABEL_VALUE.match(value), (key, value)
    # One ServiceEntry per host per cluster, one DestinationRule per host per namespace.
    se_hosts = [(o.cluster, o.body["spec"]["hosts"][0]) for o in result.objects if o.kind == "ServiceEntry"]
    assert len(se_hosts) == len(set(se_hosts))
    dr_hosts = [
        (o.cluster, o.namespace, o.body["spec"]["host"])
        for o in result.objects
        if o.kind == "DestinationRule"
    ]
    assert len(dr_hosts) == len(set(dr_hosts))


@COMMON
@given(
    scenarios(),
    st.one_of(st.none(), st.sets(st.sampled_from([*CLUSTERS, "not-in-fleet"]))),
    st.one_of(st.none(), st.sets(st.sampled_from(sorted(KINDS)))),
)
def test_scoped_result_is_the_full_result_filtered(scenario, clusters, kinds):
    """Item 1 of issue 8: asking for some clusters and kinds gives exactly the full result's
    objects of those clusters and kinds, its findings about those clusters and the fleet-wide
    ones, and the fleet-wide gateways and held origins."""
    config, fleet = scenario
    full = compute(config, fleet)
    observe(full)
    scoped = compute(config, fleet, clusters=clusters, kinds=kinds)

    def wanted(cluster: str, kind: str) -> bool:
        return (clusters is None or cluster in clusters) and (kinds is None or kind in kinds)

    dump = lambda objects: json.dumps([[o.cluster, o.body] for o in objects])  # noqa: E731 - key order matters
    assert dump(scoped.objects) == dump([o for o in full.objects if wanted(o.cluster, o.kind)])
    assert scoped.findings == [f for f in full.findings if clusters is None or f.cluster in {"", *clusters}]
    assert scoped.gateways == full.gateways
    assert scoped.held_origins == full.held_origins


def test_scoped_kinds_are_checked():
    with pytest.raises(ValueError, match=r"unknown kind.*Service.*expected among DestinationRule"):
        compute(MeshConfig(), [], kinds={"Service"})
    with pytest.raises(TypeError, match="not one string"):
        compute(MeshConfig(), [], clusters="c1")


# -- bodies (SPEC §4 rules 4, 6, 7, 8; docs/exposure.md names) --------------------------------


def network_of(config: MeshConfig, cluster: str) -> str:
    """A Cluster object's spec.network, else the cluster's name."""
    for body in config.clusters:
        if body["metadata"]["name"] == cluster:
            return (body["spec"].get("network") or "").strip() or cluster
    return cluster


def addresses_of(state: ClusterState) -> set[str]:
    """Every address the cluster's gateway Services advertise, however they advertise it."""
    found = set()
    for svc in state.services:
        annotation = svc["metadata"].get("annotations", {}).get("xcp.tetrate.io/cluster-external-addresses")
        if annotation:
            found |= {a.strip() for a in annotation.split(",")}
        for ingress in svc.get("status", {}).get("loadBalancer", {}).get("ingress", []):
            found |= {ingress.get("ip"), ingress.get("hostname")} - {None}
    return found


def is_ip(address: str) -> bool:
    return bool(re.fullmatch(r"[0-9.]+|[0-9a-f:]+", address))


@COMMON
@given(scenarios())
def test_bodies_follow_the_rules(scenario):
    """Each generated body as SPEC §4 words it: names, the 15443 port, the network of the
    origin, failover priority on topology.istio.io/network, TLS passthrough."""
    config, fleet = scenario
    result = compute(config, fleet)
    observe(result)
    states = {s.name: s for s in fleet if s.reachable}
    services = index(fleet)
    shadows: dict[tuple[str, str, str], list[str]] = {}  # (cluster, namespace, service) -> names
    for obj in result.objects:
        if obj.kind == "WorkloadEntry":
            _, name = origin_of_workload_entry(obj.name, obj.namespace, sorted(states))
            shadows.setdefault((obj.cluster, obj.namespace, name), []).append(obj.name)
    rules = set()
    for obj in result.objects:
        spec = obj.body.get("spec", {})
        if obj.kind == "ServiceEntry":
            name, namespace = spec["hosts"][0].split(".")[:2]
            assert (obj.name, obj.namespace) == (f"{name}.{namespace}", XCP)
            assert spec["hosts"] == [f"{name}.{namespace}.svc.cluster.local"]
            assert spec["location"] == "MESH_INTERNAL"
            ips = all(is_ip(ep["address"]) for ep in spec["endpoints"])
            assert spec["resolution"] == ("STATIC" if ips else "DNS")
            for ep in spec["endpoints"]:
                origin = ep["labels"]["topology.istio.io/cluster"]
                assert ep["labels"]["security.istio.io/tlsMode"] == "istio"
                assert ep["ports"] == {p["name"]: 15443 for p in spec["ports"]}
                assert ep["network"] == network_of(config, origin)
                assert ep["address"] in addresses_of(states[origin])
        elif obj.kind == "WorkloadEntry":
            origin, name = origin_of_workload_entry(obj.name, obj.namespace, sorted(states))
            local = services[obj.cluster][(obj.namespace, name)]
            assert set(spec["ports"].values()) == {15443}
            assert set(spec["ports"]) <= {p.get("name") for p in local["spec"]["ports"]}
            assert spec["labels"] == {**local["spec"]["selector"], "security.istio.io/tlsMode": "istio"}
            assert spec["network"] == network_of(config, origin)
            assert spec["address"] in addresses_of(states[origin])
        elif obj.kind == "DestinationRule":
            name, namespace = spec["host"].split(".")[:2]
            assert (obj.name, obj.namespace) == (f"{name}.{namespace}", namespace)
            assert spec["host"] == f"{name}.{namespace}.svc.cluster.local"
            balancing = spec["trafficPolicy"]["loadBalancer"]["localityLbSetting"]
            assert balancing == {"enabled": True, "failoverPriority": ["topology.istio.io/network"]}
            assert spec["trafficPolicy"]["outlierDetection"]["maxEjectionPercent"] == 100
            assert (obj.cluster, namespace, name) in shadows  # rule 7 goes with rule 6
            rules.add((obj.cluster, namespace, name))
        elif obj.kind == "Gateway":
            [server] = spec["servers"]
            assert server["port"] == {"number": 15443, "name": "tls", "protocol": "TLS"}
            assert server["tls"] == {"mode": "AUTO_PASSTHROUGH"}
            assert obj.name.startswith("tctl-")
            gateway = services[obj.cluster][(obj.namespace, obj.name.removeprefix("tctl-"))]
            assert spec["selector"].items() <= gateway["spec"]["selector"].items()
    for (cluster, namespace, name), names in shadows.items():
        by_origin: dict[str, list[str]] = {}  # k-<name>-<md5>, then -2, -3... per origin
        for shadow in names:
            base = re.fullmatch(r"(k-.+-[0-9a-f]{32})(-\d+)?", shadow).group(1)
            by_origin.setdefault(base, []).append(shadow)
        for base, own in by_origin.items():
            assert sorted(own) == [base, *(f"{base}-{i}" for i in range(2, len(own) + 1))], own
        users = [d for d in states[cluster].destination_rules if d["metadata"]["namespace"] == namespace]
        assert (cluster, namespace, name) in rules or users  # else a user's rule is in the way


# -- system namespaces (docs/exposure.md rule 1) -------------------------------------------------

SYSTEM_PATTERNS = [
    "*/*",
    "c1/*",
    "c2/*",
    "*/kube*",
    "*/kube-*",
    "*/istio-*",
    "*/xcp-*",
    "*/k*",
    "c1/i*",
    *(f"*/{ns}" for ns in SYSTEM_NAMESPACES),
    "c1/kube-system",
    "c2/istio-system",
    "*/apps",
    "*/ap*",
]


@COMMON
@given(st.lists(st.sampled_from(SYSTEM_PATTERNS), min_size=1, max_size=5, unique=True))
def test_no_system_namespace_is_covered_by_a_wildcard(patterns):
    """Every namespace of c1 holds a Service; c1's gateway is in gw; c2 consumes. A Service of a
    system namespace is exposed only when a pattern names that namespace exactly."""
    namespaces = [*SYSTEM_NAMESPACES, "apps", "kubeflow"]
    services = [
        {
            "metadata": {"name": "probe", "namespace": ns, "labels": {"app": "probe"}},
            "spec": {"selector": {"app": "probe"}, "ports": [{"name": "http", "port": 80}]},
        }
        for ns in namespaces
    ]
    gateway = {
        "metadata": {"name": "ew", "namespace": "gw"},
        "spec": {"selector": {"app": "ew"}, "ports": [{"name": "tls", "port": 15443}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}]}},
    }
    config = MeshConfig(
        workspaces=(
            {
                "metadata": {"name": "w", "tenant": "t", "organization": "o"},
                "spec": {"namespaceSelector": {"names": [*patterns, "*/gw"]}},
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
    result = compute(config, [ClusterState("c1", services=(*services, gateway)), ClusterState("c2")])
    exposed = {o.body["spec"]["hosts"][0].split(".")[1] for o in result.objects if o.kind == "ServiceEntry"}
    for namespace in exposed & set(SYSTEM_NAMESPACES):
        assert f"*/{namespace}" in patterns or f"c1/{namespace}" in patterns, (namespace, patterns)
    assert exposed == {ns for ns in namespaces if covered_by(patterns, "c1", ns)}


# -- port protocols against Istio's protocol selection ------------------------------------------


# Istio's `ConvertProtocol` (pkg/config/kube/conversion.go) and `protocol.Parse`, transcribed.
def istio_protocol(name: str, app_protocol: str | None) -> str:
    if app_protocol is not None:
        name = app_protocol
        kubernetes = {"kubernetes.io/h2c": "HTTP2", "kubernetes.io/ws": "HTTP", "kubernetes.io/wss": "HTTPS"}
        if name in kubernetes:
            return kubernetes[name]
    if len(name) >= len("grpc-web") and name[: len("grpc-web")].lower() == "grpc-web":
        return "GRPC-Web"
    if "-" in name:
        name = name[: name.index("-")]
    known = {
        "tcp": "TCP",
        "udp": "UDP",
        "grpc": "GRPC",
        "grpc-web": "GRPC-Web",
        "http": "HTTP",
        "http_proxy": "HTTP_PROXY",
        "http2": "HTTP2",
        "https": "HTTPS",
        "tls": "TLS",
        "mongo": "Mongo",
        "redis": "Redis",
        "mysql": "MySQL",
    }
    return known.get(name.lower(), "UnsupportedProtocol")


# What a consumer's ServiceEntry says for each (docs/exposure.md): Redis/MySQL filters are off by
# default, gRPC-Web is HTTP/1.1 to the consumer, what Istio would sniff is declared TCP.
WRITTEN = {
    "Mongo": "MONGO",
    "GRPC-Web": "HTTP",
    "Redis": "TCP",
    "MySQL": "TCP",
    "HTTP_PROXY": "TCP",
    "UnsupportedProtocol": "TCP",
}
TOKENS = [
    "http",
    "http2",
    "https",
    "grpc",
    "grpc-web",
    "tcp",
    "tls",
    "mongo",
    "redis",
    "mysql",
    "udp",
    "web",
    "HTTP",
    "Grpc-Web",
    "http_proxy",
    "kubernetes.io/h2c",
    "kubernetes.io/ws",
    "kubernetes.io/wss",
    "Kubernetes.io/ws",
    "example.com/x",
    "x",
    "",
]
protocol_names = st.lists(st.sampled_from(TOKENS), max_size=3).flatmap(
    lambda parts: st.sampled_from(["-", "", "_"]).map(lambda sep: sep.join(parts))
)


@COMMON
@given(protocol_names, st.one_of(st.none(), protocol_names))
def test_port_protocol_is_istios(name, app_protocol):
    """The protocol of a ServiceEntry port is the one Istio gives the Service port; a port Istio
    takes for UDP is not carried."""
    port: dict = {"name": name, "port": 8080, "protocol": "TCP"}
    if app_protocol is not None:
        port["appProtocol"] = app_protocol
    service = {
        "metadata": {"name": "svc", "namespace": "ns-a", "labels": {"app": "alpha"}},
        "spec": {"selector": {"app": "alpha"}, "ports": [{"name": "main", "port": 80}, port]},
    }
    gateway = {
        "metadata": {"name": "ew", "namespace": "ns-a"},
        "spec": {"selector": {"app": "ew"}, "ports": [{"name": "tls", "port": 15443}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}]}},
    }
    config = MeshConfig(
        workspaces=(
            {
                "metadata": {"name": "w", "tenant": "t", "organization": "o"},
                "spec": {"namespaceSelector": {"names": ["*/ns-a"]}},
            },
        ),
        settings=(
            {
                "metadata": {"name": "s", "workspace": "w", "tenant": "t", "organization": "o"},
                "spec": {
                    "defaultEastWestGatewaySettings": [
                        {"workloadSelector": {"namespace": "ns-a", "labels": {"app": "ew"}}}
                    ]
                },
            },
        ),
    )
    result = compute(config, [ClusterState("c1", services=(service, gateway)), ClusterState("c2")])
    [entry] = [o for o in result.objects if o.kind == "ServiceEntry"]
    written = [p["protocol"] for p in entry.body["spec"]["ports"] if p["number"] == 8080]
    istio = istio_protocol(name, app_protocol)
    assert written == ([] if istio == "UDP" else [WRITTEN.get(istio, istio)]), (name, app_protocol)


# -- namespace ownership between overlapping workspaces (rule 9) --------------------------------

OWNERSHIP_PATTERNS = ["*/*", "c1/*", "*/apps", "c1/apps", "*/app*", "c1/app*", "*/apps-*", "*/other"]
OWNERSHIP_NAMESPACES = ["apps", "apps-eu", "other"]


def rank(pattern: str, cluster: str, namespace: str) -> tuple[int, int, int] | None:
    """How specifically `pattern` selects the namespace, from docs/exposure.md: an exact namespace
    beats a longer prefix, which beats a shorter one, which beats `*`; then an exact cluster
    beats `*`. None when it does not select it."""
    c, n = pattern.split("/", 1)
    if c not in ("*", cluster):
        return None
    by_cluster = int(c == cluster)
    if n == namespace:
        return (2, 0, by_cluster)
    if n == "*":
        return (0, 0, by_cluster)
    if n.endswith("*") and namespace.startswith(n[:-1]):
        return (1, len(n) - 1, by_cluster)
    return None


@COMMON
@given(
    st.lists(st.sampled_from(OWNERSHIP_PATTERNS), min_size=1, max_size=3, unique=True),
    st.lists(st.sampled_from(OWNERSHIP_PATTERNS), min_size=1, max_size=3, unique=True),
)
def test_the_most_specific_workspace_owns_a_namespace(patterns_a, patterns_b):
    """Two workspaces select overlapping namespaces of c1, each with a setting exposing every
    Service of its namespaces; c2's ServiceEntry for a namespace's Service carries the workspace
    whose best pattern is the most specific (ties: the smaller FQN, workspace a)."""
    services = [
        {
            "metadata": {"name": "probe", "namespace": ns, "labels": {"app": "probe"}},
            "spec": {"selector": {"app": "probe"}, "ports": [{"name": "http", "port": 80}]},
        }
        for ns in OWNERSHIP_NAMESPACES
    ]
    # each workspace's gateway in a namespace that it alone names exactly, so it owns it
    selectors = {"a": [*patterns_a, "c1/gw-a"], "b": [*patterns_b, "c1/gw-b"]}
    gateways = [
        {
            "metadata": {"name": "ew", "namespace": f"gw-{name}"},
            "spec": {"selector": {"app": "ew"}, "ports": [{"name": "tls", "port": 15443}]},
            "status": {"loadBalancer": {"ingress": [{"ip": f"10.0.0.{i + 1}"}]}},
        }
        for i, name in enumerate(selectors)
    ]
    config = MeshConfig(
        workspaces=tuple(
            {
                "metadata": {"name": name, "tenant": "t", "organization": "o"},
                "spec": {"namespaceSelector": {"names": names}},
            }
            for name, names in selectors.items()
        ),
        settings=tuple(
            {
                "metadata": {"name": f"s-{name}", "workspace": name, "tenant": "t", "organization": "o"},
                "spec": {
                    "defaultEastWestGatewaySettings": [
                        {"workloadSelector": {"namespace": f"gw-{name}", "labels": {"app": "ew"}}}
                    ]
                },
            }
            for name in selectors
        ),
    )
    result = compute(config, [ClusterState("c1", services=(*services, *gateways)), ClusterState("c2")])
    owners = {
        o.body["spec"]["hosts"][0].split(".")[1]: o.body["metadata"]["labels"][WS_LABEL]
        for o in result.objects
        if o.kind == "ServiceEntry" and o.cluster == "c2"
    }
    expected = {}
    for namespace in OWNERSHIP_NAMESPACES:
        best = {
            name: max((r for p in names if (r := rank(p, "c1", namespace)) is not None), default=None)
            for name, names in selectors.items()
        }
        ranked = [(r, name) for name, r in best.items() if r is not None]
        if ranked:
            top = max(r for r, _ in ranked)
            expected[namespace] = min(name for r, name in ranked if r == top)
    event(f"owners: {sorted(set(expected.values()))}")
    assert owners == expected
