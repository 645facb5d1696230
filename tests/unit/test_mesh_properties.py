"""Hypothesis properties of the exposure engine (SPEC §4 rules 5, 9, 10 and naming).

Random small fleets (1-3 clusters, a few namespaces, Services, gateways, workspaces with
overlapping selectors) are checked against independent oracles written here, not against the
engine's own helpers.
"""

from __future__ import annotations

import hashlib
import json
import random
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tctl_py.mesh import ClusterState, MeshConfig, compute

CLUSTERS = ["c1", "c2", "c3"]
NAMESPACES = ["ns-a", "ns-b", "team-x", "gw", "istio-system"]
SERVICES = ["alpha", "beta", "gamma"]
PATTERNS = [
    "*/ns-a",
    "*/ns-b",
    "c1/*",
    "*/team-*",
    "c2/ns-b",
    "*/gw",
    "*/*",
    "c3/ns-*",
    "c1/gw",
    "*/istio-*",
    "c2/istio-system",
]
# TSB's system namespaces: a `*` or prefix pattern never covers them, an exact name does.
SYSTEM_NAMESPACES = ["kube-system", "kube-public", "kube-node-lease", "istio-system", "xcp-multicluster"]
IPS = ["10.0.0.1", "10.0.0.2", "10.0.0.10", "192.168.1.1", "2001:db8::1"]
HOSTS = ["ew.example.com", "elb.eu-west-2.amazonaws.com"]
SELECTORS = [{"app": "alpha"}, {"tier": "gold"}, {"app": "beta", "tier": "silver"}, {"app": "nope"}]
PORT_SETS = [
    [{"name": "http", "port": 9080, "protocol": "TCP"}],
    [{"name": "grpc", "port": 9090, "protocol": "TCP"}, {"name": "http-web", "port": 80, "protocol": "TCP"}],
    [{"port": 5432, "protocol": "TCP"}],
]
XCP = "xcp-multicluster"
WS_LABEL = "tctl.tetrate.io/workspace"

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def is_subdomain(name: str) -> bool:
    return len(name) <= 253 and all(DNS_LABEL.match(part) for part in name.split("."))


def is_label(name: str) -> bool:
    return len(name) <= 63 and bool(DNS_LABEL.match(name))


@st.composite
def service_bodies(draw, namespace: str) -> dict:
    name = draw(st.sampled_from(SERVICES))
    labels = {"app": name} if draw(st.booleans()) else {}
    tier = draw(st.sampled_from([None, "gold", "silver"]))
    if tier:
        labels["tier"] = tier
    spec: dict = {"ports": draw(st.sampled_from(PORT_SETS))}
    if draw(st.integers(0, 9)):
        spec["selector"] = {"app": name}
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels}, "spec": spec}


@st.composite
def gateway_bodies(draw, namespace: str) -> dict:
    app = draw(st.sampled_from(["ew", "ew", "ew2"]))
    ips = draw(st.lists(st.sampled_from(IPS), min_size=draw(st.sampled_from([0, 1, 1, 1])), max_size=3))
    hosts = draw(st.lists(st.sampled_from(HOSTS), max_size=1)) if draw(st.integers(0, 4)) == 0 else []
    meta: dict = {"name": draw(st.sampled_from([f"{app}-gateway", f"{app}-gw-b"])), "namespace": namespace}
    if draw(st.integers(0, 5)) == 0:
        meta["annotations"] = {
            "xcp.tetrate.io/cluster-external-addresses": ",".join(
                draw(st.lists(st.sampled_from(IPS), min_size=1, max_size=2))
            )
        }
    return {
        "metadata": meta,
        "spec": {
            "type": "LoadBalancer",
            "selector": {"app": app, "istio": "eastwestgateway"},
            "ports": [{"name": "tls", "port": 15443}],
        },
        "status": {"loadBalancer": {"ingress": [{"ip": i} for i in ips] + [{"hostname": h} for h in hosts]}},
    }


@st.composite
def cluster_states(draw, name: str, gw_namespace: str) -> ClusterState:
    services: dict[tuple[str, str], dict] = {}
    for namespace in draw(st.lists(st.sampled_from(NAMESPACES), unique=True, min_size=1, max_size=4)):
        for svc in draw(st.lists(service_bodies(namespace), min_size=1, max_size=3)):
            services[(namespace, svc["metadata"]["name"])] = svc
    gw_namespaces = [gw_namespace] if draw(st.integers(0, 4)) else []
    gw_namespaces += draw(st.lists(st.sampled_from([*NAMESPACES, gw_namespace]), max_size=2))
    for namespace in gw_namespaces:
        gw = draw(gateway_bodies(namespace))
        services[(namespace, gw["metadata"]["name"])] = gw
    listed = list(services.values())
    if listed and draw(st.integers(0, 5)) == 0:  # the same Service listed twice, differently
        twin = json.loads(json.dumps(draw(st.sampled_from(listed))))
        twin["metadata"]["labels"] = {"app": "twin"}
        listed.append(twin)
    drs = []
    for namespace, svc_name in draw(st.lists(st.sampled_from(sorted(services)), max_size=1)):
        drs.append(
            {"metadata": {"name": f"user-{svc_name}", "namespace": namespace}, "spec": {"host": svc_name}}
        )
    return ClusterState(
        name=name,
        reachable=draw(st.integers(0, 9)) > 0,
        services=tuple(listed),
        destination_rules=tuple(drs),
    )


@st.composite
def scenarios(draw) -> tuple[MeshConfig, list[ClusterState]]:
    gw_namespace = draw(st.sampled_from(NAMESPACES))
    names = draw(st.lists(st.sampled_from(CLUSTERS), min_size=1, max_size=3, unique=True))
    fleet = [draw(cluster_states(n, gw_namespace)) for n in names]
    workspaces, settings_ = [], []
    for i in range(draw(st.integers(1, 2))):
        ws = f"ws-{i}"
        patterns = draw(st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=3, unique=True))
        if draw(st.integers(0, 3)) and f"*/{gw_namespace}" not in patterns:
            patterns.append(f"*/{gw_namespace}")
        workspaces.append(
            {
                "metadata": {"name": ws, "tenant": "t", "organization": "o"},
                "spec": {"namespaceSelector": {"names": patterns}},
            }
        )
        entries = []
        for _ in range(draw(st.integers(1, 2))):
            namespace = gw_namespace if draw(st.integers(0, 4)) else draw(st.sampled_from(NAMESPACES))
            entry: dict = {
                "workloadSelector": {
                    "namespace": namespace,
                    "labels": {"app": draw(st.sampled_from(["ew", "ew", "ew2"]))},
                }
            }
            exposed = draw(st.one_of(st.none(), st.lists(st.sampled_from(SELECTORS), max_size=2)))
            if exposed is not None:
                entry["exposedServices"] = [{"serviceLabels": s} for s in exposed]
            entries.append(entry)
        if draw(st.integers(0, 7)):
            settings_.append(
                {
                    "metadata": {
                        "name": f"{ws}-settings",
                        "workspace": ws,
                        "tenant": "t",
                        "organization": "o",
                    },
                    "spec": {"defaultEastWestGatewaySettings": entries},
                }
            )
    clusters = []
    for n in names:
        if draw(st.booleans()):
            spec: dict = {"network": draw(st.sampled_from(["", "net-1", "net-2", n]))}
            region = draw(st.sampled_from(["", "eu-west-1", "us-east-1"]))
            if region:
                spec["locality"] = {"region": region, "zone": draw(st.sampled_from(["", "a"]))}
            clusters.append({"metadata": {"name": n, "organization": "o"}, "spec": spec})
    config = MeshConfig(workspaces=tuple(workspaces), settings=tuple(settings_), clusters=tuple(clusters))
    return config, fleet


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


@COMMON
@given(scenarios())
def test_isolation(scenario):
    """Rule 9: objects live in namespaces their workspace covers (or xcp-multicluster) and
    derive only from Services in namespaces covered by a workspace."""
    config, fleet = scenario
    result = compute(config, fleet)
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
