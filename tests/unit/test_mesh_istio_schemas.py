"""Every object the engine generates for a rich fleet is valid Istio configuration, judged by
three independent sources:

(a) Istio's own CRD openAPIV3Schema (tests/data/istio-crds/, copied from istio/api), made strict
    (unknown fields are errors, as the API server would silently prune them), plus the CRD's CEL
    rules that matter here, transcribed by hand;
(b) the independent pydantic models of `cloudcoil-models-istio` (networking v1), round-tripped
    so that a field the models do not know is caught too;
(c) istiod's validating-webhook rules (reference/istio.md §1.4, istio pkg/config/validation),
    written below as plain functions.
"""

from __future__ import annotations

import copy
import ipaddress
import re
from functools import cache
from pathlib import Path

import pytest
import yaml
from cloudcoil.models.istio.networking import v1 as istio_v1
from jsonschema import Draft7Validator

from tctl_py.mesh import ClusterState, GeneratedObject, MeshConfig, compute

CRDS = Path(__file__).parents[1] / "data" / "istio-crds"
CRD_FILES = {
    "ServiceEntry": "serviceentry.crd.yaml",
    "WorkloadEntry": "workloadentry.crd.yaml",
    "DestinationRule": "destinationrule.crd.yaml",
    "Gateway": "gateway.crd.yaml",
}
ISTIO_KINDS = tuple(CRD_FILES)

# --------------------------------------------------------------------------------------------
# The rich scenario: 4 clusters (one unreachable), two workspaces, IPv4/IPv6/DNS gateway
# addresses, the annotation, multi-port Services, Cluster localities, propagated metadata.
# --------------------------------------------------------------------------------------------

LONG = "a" * 63  # the longest Service name Kubernetes allows


def _svc(name, namespace="bookinfo", labels=None, selector=None, ports=None):
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {"app": name}},
        "spec": {
            "selector": selector or {"app": name, "version": "v1"},
            "ports": ports or [{"name": "http", "port": 9080, "targetPort": 9080, "protocol": "TCP"}],
        },
    }


def _gw(name, namespace, app, ips=(), hostnames=(), annotation=None, external_ips=()):
    meta = {"name": name, "namespace": namespace}
    if annotation:
        meta["annotations"] = {"xcp.tetrate.io/cluster-external-addresses": annotation}
    body = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "type": "LoadBalancer",
            "selector": {"app": app},
            "ports": [{"name": "mtls", "port": 15443}],
        },
        "status": {
            "loadBalancer": {"ingress": [{"ip": i} for i in ips] + [{"hostname": h} for h in hostnames]}
        },
    }
    if external_ips:
        body["spec"]["externalIPs"] = list(external_ips)
    return body


MULTI_PORTS = [
    {"name": "http", "port": 9080, "protocol": "TCP"},
    {"name": "grpc-api", "port": 9090, "protocol": "TCP"},
    {"name": "metrics", "port": 15020, "protocol": "TCP", "appProtocol": "http"},
    {"name": "tls-db", "port": 5432, "protocol": "TCP"},
    {"name": "dns", "port": 53, "protocol": "UDP"},
]


def rich_scenario() -> tuple[MeshConfig, list[ClusterState]]:
    workspaces = (
        {
            "metadata": {
                "name": "bookinfo-ws",
                "tenant": "tse",
                "organization": "tse",
                "labels": {"team": "books"},
            },
            "spec": {"namespaceSelector": {"names": ["*/bookinfo", "*/eastwest"]}},
        },
        {
            "metadata": {"name": "shop-ws", "tenant": "tse", "organization": "tse"},
            "spec": {"namespaceSelector": {"names": ["*/shop-*"]}},
        },
    )
    settings = (
        {
            "metadata": {
                "name": "bookinfo-ws-settings",
                "workspace": "bookinfo-ws",
                "tenant": "tse",
                "organization": "tse",
                "annotations": {"example.com/owner": "books"},
            },
            "spec": {
                "defaultEastWestGatewaySettings": [
                    {
                        "workloadSelector": {"namespace": "bookinfo", "labels": {"app": "eastwest-gateway"}},
                        "exposedServices": [
                            {"serviceLabels": {"app": "details"}},
                            {"serviceLabels": {"app": "reviews"}},
                            {"serviceLabels": {"failover": "enable"}},
                        ],
                        "configGenerationMetadata": {"labels": {"tier": "gold"}},
                    },
                    {"workloadSelector": {"namespace": "eastwest", "labels": {"app": "ew"}}},
                ]
            },
        },
        {
            "metadata": {
                "name": "shop-settings",
                "workspace": "shop-ws",
                "tenant": "tse",
                "organization": "tse",
            },
            "spec": {
                "defaultEastWestGatewaySettings": [
                    {"workloadSelector": {"namespace": "shop-gw", "labels": {"app": "ew"}}}
                ]
            },
        },
    )
    clusters = (
        {
            "metadata": {"name": "cluster-1", "organization": "tse"},
            "spec": {"network": "vpc-1", "locality": {"region": "eu-west-2", "zone": "eu-west-2a"}},
        },
        {
            "metadata": {"name": "cluster-2", "organization": "tse"},
            "spec": {"locality": {"region": "us-east-1"}},
        },
    )
    cluster_1 = ClusterState(
        name="cluster-1",
        services=(
            _svc("details"),
            _svc("reviews", ports=MULTI_PORTS),
            _svc("ratings"),
            _svc("productpage"),
            _svc(LONG, labels={"failover": "enable"}),
            _gw(
                "eastwest-gateway",
                "bookinfo",
                "eastwest-gateway",
                ips=["35.179.51.164", "18.168.99.230", "18.135.167.198"],
            ),
            _gw("ew", "eastwest", "ew", ips=["2001:db8::5"], external_ips=["10.9.0.1"]),
            _svc("cart", "shop-a", ports=[{"port": 8080, "protocol": "TCP"}]),
            _gw("shop-ew", "shop-gw", "ew", annotation="52.1.1.1, 52.1.1.2"),
        ),
    )
    cluster_2 = ClusterState(
        name="cluster-2",
        services=(
            _svc("details"),
            _svc("reviews", ports=MULTI_PORTS),
            _svc(LONG, labels={"failover": "enable"}),
            _gw(
                "eastwest-gateway",
                "bookinfo",
                "eastwest-gateway",
                hostnames=["k8s-bookinfo-eastwest-00a17af379-bdda7f4eb8c5da5c.elb.eu-west-2.amazonaws.com"],
            ),
            _svc("cart", "shop-a", ports=[{"port": 8080, "protocol": "TCP", "name": "http"}]),
            _svc("orders", "shop-b"),
            _gw("shop-ew", "shop-gw", "ew", annotation="shop-ew.example.com"),
        ),
        destination_rules=(
            {"metadata": {"name": "details", "namespace": "bookinfo"}, "spec": {"host": "details"}},
        ),
    )
    cluster_3 = ClusterState(name="cluster-3", services=(_svc("web", "frontend"),))
    cluster_4 = ClusterState(name="cluster-4", reachable=False, error="timeout")
    config = MeshConfig(workspaces=workspaces, settings=settings, clusters=clusters)
    return config, [cluster_1, cluster_2, cluster_3, cluster_4]


@cache
def generated() -> tuple[GeneratedObject, ...]:
    config, fleet = rich_scenario()
    return tuple(compute(config, fleet).objects)


def istio_objects():
    return [
        pytest.param(o, id=f"{o.cluster}/{o.kind}/{o.namespace}/{o.name}")
        for o in generated()
        if o.kind in ISTIO_KINDS
    ]


def test_the_scenario_covers_every_kind_and_form():
    objs = generated()
    kinds = {o.kind for o in objs}
    assert kinds == {"ServiceEntry", "WorkloadEntry", "DestinationRule", "Gateway", "Namespace"}
    resolutions = {o.body["spec"]["resolution"] for o in objs if o.kind == "ServiceEntry"}
    assert resolutions == {"STATIC", "DNS"}
    assert any(
        o.kind == "WorkloadEntry" and o.name.startswith(f"k-{LONG}-") and o.name.endswith("-3") for o in objs
    )
    assert any(
        ":" in e["address"] for o in objs if o.kind == "ServiceEntry" for e in o.body["spec"]["endpoints"]
    )
    assert not any(o.cluster == "cluster-4" for o in objs)


# --------------------------------------------------------------------------------------------
# (a) Istio's CRD schemas
# --------------------------------------------------------------------------------------------


def _strict(schema):
    """Unknown fields become errors wherever the schema lists its properties."""
    if isinstance(schema, dict):
        schema = {k: _strict(v) for k, v in schema.items()}
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


@cache
def spec_validator(kind: str) -> Draft7Validator:
    crd = yaml.safe_load((CRDS / CRD_FILES[kind]).read_text())
    [v1] = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    assert v1["served"] and v1["storage"]
    return Draft7Validator(_strict(copy.deepcopy(v1["schema"]["openAPIV3Schema"]["properties"]["spec"])))


def _duration_ms(text: str) -> float:
    units = {"h": 3600e3, "m": 60e3, "s": 1e3, "ms": 1, "us": 1e-3, "ns": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s|us|ns)", text)
    assert parts and "".join(n + u for n, u in parts) == text, text
    return sum(float(n) * units[u] for n, u in parts)


def cel_rules(kind: str, spec: dict) -> list[str]:
    """The x-kubernetes-validations of the v1 CRDs that apply to what we generate."""
    errors = []
    endpoints = spec.get("endpoints", [])
    if kind == "ServiceEntry":
        if any(h == "*" for h in spec["hosts"]):
            errors.append("hostname cannot be wildcard")
        if "workloadSelector" in spec and "endpoints" in spec:
            errors.append("only one of WorkloadSelector or Endpoints can be set")
        resolution = spec.get("resolution", "NONE")
        if resolution == "NONE" and "endpoints" in spec:
            errors.append("NONE mode cannot set endpoints")
        if resolution == "DNS_ROUND_ROBIN" and len(endpoints) > 1:
            errors.append("DNS_ROUND_ROBIN mode cannot have multiple endpoints")
        numbers = [p["number"] for p in spec.get("ports", [])]
        if len(numbers) != len(set(numbers)):
            errors.append("port number cannot be duplicated")
        names = [p["name"] for p in spec.get("ports", [])]
        if len(names) != len(set(names)):
            errors.append("Duplicate value (ports list-map key name)")
        if not all(0 < n <= 65535 for n in numbers):
            errors.append("port must be between 1-65535")
    for ep in endpoints + ([spec] if kind == "WorkloadEntry" else []):
        if "address" not in ep and "network" not in ep:
            errors.append("Address is required")
        for key, value in ep.get("ports", {}).items():
            if not (re.fullmatch(r"[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?", key) and len(key) < 63):
                errors.append(f"port name {key!r} must be valid")
            if not 0 < value <= 65535:
                errors.append("port must be between 1-65535")
    if kind == "DestinationRule":
        od = spec.get("trafficPolicy", {}).get("outlierDetection", {})
        for field in ("interval", "baseEjectionTime"):
            if field in od and _duration_ms(od[field]) < 1:
                errors.append("must be a valid duration greater than 1ms")
    return errors


@pytest.mark.parametrize("obj", istio_objects())
def test_crd_schema(obj: GeneratedObject):
    assert obj.body["apiVersion"] == "networking.istio.io/v1"
    errors = [
        f"{'/'.join(map(str, e.path))}: {e.message}"
        for e in spec_validator(obj.kind).iter_errors(obj.body["spec"])
    ]
    assert errors == []
    assert cel_rules(obj.kind, obj.body["spec"]) == []


def test_crd_schema_check_has_teeth():
    se = copy.deepcopy(next(o for o in generated() if o.kind == "ServiceEntry").body["spec"])
    se["ports"][0]["nmae"] = "typo"
    assert list(spec_validator("ServiceEntry").iter_errors(se))
    del se["resolution"]
    assert "NONE mode cannot set endpoints" in cel_rules("ServiceEntry", se)


# --------------------------------------------------------------------------------------------
# (b) cloudcoil-models-istio, an independent library
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("obj", istio_objects())
def test_cloudcoil_models(obj: GeneratedObject):
    model = getattr(istio_v1, obj.kind).model_validate(obj.body)
    assert model.kind == obj.kind and model.api_version == "networking.istio.io/v1"
    # Pydantic ignores unknown fields: the round trip shows none was dropped or renamed.
    assert model.model_dump(mode="json", by_alias=True, exclude_none=True) == obj.body


def test_cloudcoil_check_has_teeth():
    body = copy.deepcopy(next(o for o in generated() if o.kind == "ServiceEntry").body)
    body["spec"]["resolution"] = "SOMETIMES"
    with pytest.raises(ValueError):
        istio_v1.ServiceEntry.model_validate(body)
    body["spec"]["resolution"] = "STATIC"
    body["spec"]["endpoints"][0]["adress"] = "typo"
    dumped = istio_v1.ServiceEntry.model_validate(body).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
    assert dumped != body


# --------------------------------------------------------------------------------------------
# (c) istiod's webhook rules (pkg/config/validation/validation.go), as test helpers
# --------------------------------------------------------------------------------------------

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
PROTOCOLS = {
    "HTTP",
    "HTTPS",
    "GRPC",
    "GRPC-WEB",
    "HTTP2",
    "MONGO",
    "TCP",
    "TLS",
    "REDIS",
    "MYSQL",
    "UDP",
    "HTTP_PROXY",
}
TOPOLOGY_LOCALITY_LABELS = {
    "topology.kubernetes.io/region",
    "topology.kubernetes.io/zone",
    "topology.istio.io/subzone",
}


def is_label(value: str) -> bool:
    return len(value) <= 63 and bool(DNS_LABEL.match(value))


def is_subdomain(value: str) -> bool:
    return 0 < len(value) <= 253 and all(DNS_LABEL.match(p) for p in value.split("."))


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


def is_fqdn(value: str) -> bool:
    return len(value) <= 255 and is_subdomain(value.rstrip(".")) and "." in value


def is_wildcard_domain(value: str) -> bool:
    first, _, rest = value.partition(".")
    return (first == "*" or is_label(first)) and (not rest or all(is_label(p) for p in rest.split(".")))


def check_labels(labels: dict) -> list[str]:
    errors = []
    for key, value in labels.items():
        prefix, _, name = key.rpartition("/")
        if (prefix and not is_subdomain(prefix)) or len(name) > 63 or not QUALIFIED_NAME.match(name):
            errors.append(f"invalid label key {key!r}")
        if len(value) > 63 or not LABEL_VALUE.match(value):
            errors.append(f"invalid label value {value!r}")
    return errors


def check_metadata(obj: GeneratedObject) -> list[str]:
    meta = obj.body["metadata"]
    errors = [] if is_subdomain(meta["name"]) else [f"name {meta['name']!r} is not a DNS-1123 subdomain"]
    if obj.kind != "Namespace" and not is_label(meta.get("namespace", "")):
        errors.append("namespace must be a DNS-1123 label")
    if obj.kind in ("Gateway", "Namespace") and not is_label(meta["name"]):
        errors.append("Gateway/Namespace names must be DNS-1123 labels (no dots)")
    errors += check_labels(meta.get("labels", {}))
    for key in meta.get("annotations", {}):
        prefix, _, name = key.rpartition("/")
        if (prefix and not is_subdomain(prefix)) or not QUALIFIED_NAME.match(name):
            errors.append(f"invalid annotation key {key!r}")
    return errors


def check_workload_entry(we: dict, service_ports: set[str] | None, allow_fqdn: bool) -> list[str]:
    """validateWorkloadEntry: address (or network), IP (or FQDN when allowed), port keys."""
    errors = []
    address = we.get("address", "")
    if not address and not we.get("network"):
        errors.append("address is required")
    elif address and not is_ip(address):
        if not allow_fqdn:
            errors.append(f"endpoint address {address!r} is not a valid IP address")
        elif not is_fqdn(address):
            errors.append(f"endpoint address {address!r} is not a valid FQDN or an IP address")
    for name, port in we.get("ports", {}).items():
        if service_ports is not None and name not in service_ports:
            errors.append(f"endpoint port {name} is not defined by the service entry")
        if not is_label(name):
            errors.append(f"invalid port name: {name}")
        if not 0 < port <= 65535:
            errors.append(f"port number {port} must be in the range 1..65535")
    return errors + check_labels(we.get("labels", {}))


def check_service_entry(spec: dict) -> list[str]:
    errors = []
    hosts = spec.get("hosts", [])
    if not hosts:
        errors.append("service entry must have at least one host")
    for host in hosts:
        if host == "*" or not is_wildcard_domain(host):
            errors.append(f"invalid host {host}")
    ports = spec.get("ports", [])
    if not ports:
        errors.append("ports must not be empty")
    names, numbers = set(), set()
    for port in ports:
        if port["name"] in names:
            errors.append(f"service entry port name {port['name']!r} already defined")
        if port["number"] in numbers:
            errors.append(f"service entry port {port['number']} already defined")
        names.add(port["name"])
        numbers.add(port["number"])
        if not is_label(port["name"]):
            errors.append(f"invalid port name: {port['name']}")
        if port.get("protocol") and port["protocol"].upper() not in PROTOCOLS:
            errors.append(f"unsupported protocol: {port['protocol']}")
        if not 0 < port["number"] <= 65535:
            errors.append("port out of range")
    resolution = spec.get("resolution", "NONE")
    endpoints = spec.get("endpoints", [])
    if resolution == "NONE" and endpoints:
        errors.append("no endpoints should be provided for resolution type none")
    elif resolution == "STATIC":
        for ep in endpoints:
            errors += check_workload_entry(ep, names, allow_fqdn=False)
    elif resolution in ("DNS", "DNS_ROUND_ROBIN"):
        if resolution == "DNS_ROUND_ROBIN" and len(endpoints) > 1:
            errors.append("there must only be 0 or 1 endpoint for resolution mode DNS_ROUND_ROBIN")
        for ep in endpoints:
            errors += check_workload_entry(ep, names, allow_fqdn=True)
    elif resolution != "NONE":
        errors.append(f"unsupported resolution type {resolution}")
    if (
        resolution != "NONE"
        and len(hosts) > 1
        and any(p.get("protocol") not in ("HTTP", "HTTPS", "HTTP2", "GRPC", "TLS") for p in ports)
    ):
        errors.append("multiple hosts provided with non-HTTP, non-TLS ports")
    if spec.get("location") not in ("MESH_INTERNAL", "MESH_EXTERNAL", None):
        errors.append("invalid location")
    return errors


def check_destination_rule(spec: dict) -> list[str]:
    errors = [] if is_wildcard_domain(spec.get("host", "")) and spec.get("host") != "*" else ["invalid host"]
    policy = spec.get("trafficPolicy", {})
    od = policy.get("outlierDetection")
    if od is not None:
        for field in ("interval", "baseEjectionTime"):
            if field in od and _duration_ms(od[field]) < 1:
                errors.append(f"outlierDetection.{field} must be positive")
        for field in ("maxEjectionPercent", "minHealthPercent"):
            if field in od and not 0 <= od[field] <= 100:
                errors.append(f"outlierDetection.{field} must be in 0..100")
    lb = policy.get("loadBalancer", {}).get("localityLbSetting")
    if lb:
        if lb.get("distribute") and lb.get("failover"):
            errors.append("can not simultaneously specify 'distribute' and 'failover'")
        if lb.get("failover") and set(lb.get("failoverPriority", [])) & TOPOLOGY_LOCALITY_LABELS:
            errors.append("can not simultaneously set 'failover' and topology label in 'failover_priority'")
        if (lb.get("failover") or lb.get("failoverPriority")) and od is None:
            errors.append("outlier detection policy must be provided for failover")  # a warning in istiod
        for label in lb.get("failoverPriority", []):
            key = label.split("=", 1)[0]
            if check_labels({key: "x"}):
                errors.append(f"invalid failoverPriority label {label!r}")
    return errors


def check_gateway(spec: dict) -> list[str]:
    errors = []
    servers = spec.get("servers", [])
    if not servers:
        errors.append("gateway must have at least one server")
    port_names = set()
    for server in servers:
        hosts = server.get("hosts", [])
        if not hosts:
            errors.append("server config must contain at least one host")
        for host in hosts:
            namespace, slash, name = host.rpartition("/")
            if slash and namespace not in ("*", ".") and not is_label(namespace):
                errors.append(f"invalid namespace value {namespace!r} in gateway")
            if name != "*" and "." not in name:
                errors.append("short names (non FQDN) are not allowed")
            if not (is_wildcard_domain(name) or is_ip(name)):
                errors.append(f"invalid host {host}")
        port = server.get("port")
        if not port:
            errors.append("port is required")
            continue
        if port.get("protocol", "").upper() not in PROTOCOLS:
            errors.append(f"invalid protocol {port.get('protocol')!r}")
        if not port.get("name"):
            errors.append("port name must be set")
        if port.get("targetPort"):
            errors.append("targetPort has no impact on Gateways")
        if port["name"] in port_names:
            errors.append("port names in servers must be unique")
        port_names.add(port["name"])
        is_tls = port.get("protocol", "").upper() in ("HTTPS", "TLS")
        if is_tls and "tls" not in server:
            errors.append("server must have TLS settings for HTTPS/TLS protocols")
        if not is_tls and "tls" in server:
            errors.append("server cannot have TLS settings for non HTTPS/TLS ports")
    if not spec.get("selector"):
        errors.append("a Gateway without selector applies to every gateway pod of the namespace")
    return errors


WEBHOOK = {
    "ServiceEntry": check_service_entry,
    "WorkloadEntry": lambda spec: check_workload_entry(spec, None, allow_fqdn=True),
    "DestinationRule": check_destination_rule,
    "Gateway": check_gateway,
}


@pytest.mark.parametrize(
    "obj", [pytest.param(o, id=f"{o.cluster}/{o.kind}/{o.namespace}/{o.name}") for o in generated()]
)
def test_metadata_is_valid_kubernetes(obj: GeneratedObject):
    assert check_metadata(obj) == []
    labels = obj.body["metadata"]["labels"]
    assert labels["app.kubernetes.io/managed-by"] == "tctl"
    assert labels["tctl.tetrate.io/workspace"] in ("bookinfo-ws", "shop-ws")
    assert obj.body["metadata"]["annotations"]["tctl.tetrate.io/source"].startswith(
        "organizations/tse/tenants/tse/workspaces/"
    )


@pytest.mark.parametrize("obj", istio_objects())
def test_istiod_webhook_rules(obj: GeneratedObject):
    assert WEBHOOK[obj.kind](obj.body["spec"]) == []


def test_webhook_helpers_have_teeth():
    objs = {o.kind: copy.deepcopy(o.body["spec"]) for o in generated() if o.kind in ISTIO_KINDS}
    static = next(
        copy.deepcopy(o.body["spec"])
        for o in generated()
        if o.kind == "ServiceEntry" and o.body["spec"]["resolution"] == "STATIC"
    )
    static["endpoints"][0]["address"] = "ew.example.com"
    static["endpoints"][0]["ports"] = {"undeclared": 15443}
    errors = check_service_entry(static)
    assert any("not a valid IP" in e for e in errors) and any(
        "not defined by the service entry" in e for e in errors
    )
    del static["resolution"]
    assert "no endpoints should be provided for resolution type none" in check_service_entry(static)
    dr = objs["DestinationRule"]
    del dr["trafficPolicy"]["outlierDetection"]
    assert check_destination_rule(dr) == ["outlier detection policy must be provided for failover"]
    gw = objs["Gateway"]
    del gw["servers"][0]["tls"]
    assert check_gateway(gw) == ["server must have TLS settings for HTTPS/TLS protocols"]
    bad = GeneratedObject(
        cluster="x", body={"kind": "Gateway", "metadata": {"name": "a.b", "namespace": "ns"}}
    )
    assert check_metadata(bad) == ["Gateway/Namespace names must be DNS-1123 labels (no dots)"]


def test_dns_service_entries_are_the_ones_with_hostname_endpoints():
    for o in generated():
        if o.kind == "ServiceEntry":
            hostnames = [e for e in o.body["spec"]["endpoints"] if not is_ip(e["address"])]
            assert o.body["spec"]["resolution"] == ("DNS" if hostnames else "STATIC")
