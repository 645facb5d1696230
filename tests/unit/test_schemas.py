"""JSON Schemas under schemas/: well-formed, accept the use case's documents, reject broken ones."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from tests.support.seed import SEED_INGRESS_GATEWAY, SEED_WORKSPACE_SETTING

SCHEMAS = Path(__file__).parents[2] / "schemas"

FILES = {
    "Organization": "organization.schema.json",
    "Tenant": "tenant.schema.json",
    "Workspace": "workspace.schema.json",
    "WorkspaceSetting": "workspacesetting.schema.json",
    "Cluster": "cluster.schema.json",
    "IngressGateway": "ingressgateway.schema.json",
}

TSB = "api.tsb.tetrate.io/v2"

MINIMAL = {
    "Organization": {"apiVersion": TSB, "kind": "Organization", "metadata": {"name": "tse"}},
    "Tenant": {"apiVersion": TSB, "kind": "Tenant", "metadata": {"name": "tse", "organization": "tse"}},
    "Workspace": {
        "apiVersion": TSB,
        "kind": "Workspace",
        "metadata": {"name": "bookinfo-ws", "organization": "tse", "tenant": "tse"},
        "spec": {"namespaceSelector": {"names": ["*/bookinfo"]}},
    },
    "WorkspaceSetting": {
        "apiVersion": TSB,
        "kind": "WorkspaceSetting",
        "metadata": {"name": "s", "organization": "tse", "tenant": "tse", "workspace": "bookinfo-ws"},
    },
    "Cluster": {
        "apiVersion": TSB,
        "kind": "Cluster",
        "metadata": {"name": "cluster-1", "organization": "tse"},
    },
    "IngressGateway": {
        "apiVersion": "install.tetrate.io/v1alpha1",
        "kind": "IngressGateway",
        "metadata": {"name": "eastwest-gateway", "namespace": "bookinfo"},
        "spec": {},
    },
}

# Richer documents using most documented fields; each must be valid.
FULL = {
    "Organization": """
apiVersion: api.tsb.tetrate.io/v2
kind: Organization
metadata:
  name: tse
  displayName: TSE
  labels: {env: prod}
  resourceVersion: '"BePMGaj00FM="'
spec:
  displayName: TSE
  description: the organization
  systemNamespaces: [kube-system, istio-system]
  profiles: [organizations/tse/profiles/default]
  deletionProtectionEnabled: true
  configGenerationMetadata:
    labels: {team: platform}
    annotations: {owner: me}
  fqn: organizations/tse
  etag: '"abc"'
""",
    "Tenant": """
apiVersion: api.tsb.tetrate.io/v2
kind: Tenant
metadata: {name: tse, organization: tse, annotations: {a: b}}
spec:
  securityDomain: organizations/tse/securitydomains/prod
  deletionProtectionEnabled: false
  fqn: organizations/tse/tenants/tse
""",
    "Workspace": """
apiVersion: api.tsb.tetrate.io/v2
kind: Workspace
metadata:
  name: bookinfo-ws
  organization: tse
  tenant: tse
  resourceVersion: '"BePMGaj00FM="'
spec:
  namespaceSelector:
    names: ["*/bookinfo", "c1/ns*", "*/*"]
  privileged: false
  isolationBoundary: global
  securityDomain: organizations/tse/securitydomains/prod
  profiles: [organizations/tse/profiles/p]
  displayName: Bookinfo
  description: the app
  fqn: organizations/tse/tenants/tse/workspaces/bookinfo-ws
  etag: '"BePMGaj00FM="'
""",
    "WorkspaceSetting": """
apiVersion: api.tsb.tetrate.io/v2
kind: WorkspaceSetting
metadata: {name: s, organization: tse, tenant: tse, workspace: ws}
spec:
  displayName: settings
  defaultSecuritySetting:
    propagationStrategy: STRICTER
    authenticationSettings:
      trafficMode: OPTIONAL
      http:
        jwt: {issuer: "https://issuer", jwksUri: "https://issuer/jwks"}
        requireJwt: true
    authorization:
      mode: CUSTOM
      serviceAccounts: ["./*", "ns1/*", "ns1/svc1-sa"]
      identityMatch: SOURCE_IDENTITY
      rules: {allow: [{from: {fqn: x}, to: {fqn: y}}]}
    extension: [{fqn: organizations/tse/extensions/wasm, config: {a: 1}}]
    waf: {rules: ["SecRuleEngine On"]}
    authentication: REQUIRED
  defaultTrafficSetting:
    reachability: {mode: CUSTOM, hosts: ["ns1/*", "*/svc1.com"]}
    egress: {host: bookinfo-perimeter/tsb-egress}
    resilience: {circuitBreakerSensitivity: HIGH, httpRequestTimeout: 1s}
    outbound:
      reachability: {mode: WORKSPACE}
      egress: {host: istio-system/istio-egressgateway}
      upstreamTrafficSettings:
        - hosts: ["*"]
          settings:
            loadBalancer: {simple: LEAST_REQUEST}
            resilience: {circuitBreakerSensitivity: CUSTOM, outlierDetection: {consecutive5xx: 3}}
    inbound:
      resilience: {circuitBreakerSensitivity: LOW}
      failoverSettings: {topologyChoice: LOCALITY}
  defaultEastWestGatewaySettings:
    - workloadSelector:
        namespace: eastwest
        labels: {app: eastwest-gateway}
    - workloadSelector:
        namespace: other
        labels: {app: other-gateway}
      exposedServices: []
  failoverSettings:
    topologyChoice: CLUSTER
    failoverPriority: ["failover.tetrate.io/version=v1", "topology.istio.io/network"]
    regionalFailover: [{from: us-east1, to: us-west1}]
    automaticLoadBalancing: {enabled: true}
  hostsReachability:
    hostnames: [{exact: details.bookinfo.svc.cluster.local}, {prefix: rev}]
  regionalFailover: [{from: us-east1, to: us-west1}]
  fqn: organizations/tse/tenants/tse/workspaces/ws/settings/s
  etag: '"x"'
""",
    "Cluster": """
apiVersion: api.tsb.tetrate.io/v2
kind: Cluster
metadata: {name: cluster-1, organization: tse, labels: {env: uat-demo}}
spec:
  tokenTtl: 1h
  network: vpc-1
  tier1Cluster: false
  locality: {region: us-west1, zone: us-west1-a}
  trustDomain: cluster-1.local
  namespaceScope: {scope: global, exceptions: [kube-system]}
  state:
    lastSyncTime: "2024-01-01T00:00:00Z"
    provider: GKE
    istioVersions: ["1.20.1"]
    mode: CONTROL
    discoveredLocality: {region: us-west1}
  namespaces: [{name: bookinfo, services: [{name: details}]}]
  serviceAccount: sa
  installTemplate: {message: hello, helm: {image: {registry: r}}}
""",
    "IngressGateway": """
apiVersion: install.tetrate.io/v1alpha1
kind: IngressGateway
metadata:
  name: eastwest-gateway
  namespace: eastwest
  labels: {app: eastwest-gateway}
  annotations: {note: x}
  uid: 8a7f-12
  resourceVersion: "12345"
  generation: 2
  creationTimestamp: "2024-01-01T00:00:00Z"
  managedFields: [{manager: kubectl, operation: Apply}]
  finalizers: [tetrate.io/finalizer]
  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: x, uid: y}]
spec:
  eastWestOnly: true
  revision: canary
  connectionDrainDuration: 1.5s
  kubeSpec:
    service:
      type: LoadBalancer
      annotations:
        xcp.tetrate.io/cluster-external-addresses: "10.0.0.1,10.0.0.2"
      labels: {app: eastwest-gateway}
      ports:
        - {name: tls, port: 15443, targetPort: 15443, protocol: TCP}
        - {name: http, port: 80, targetPort: http, nodePort: 30080}
    deployment:
      replicaCount: 2
      hpaSpec: {minReplicas: 1, maxReplicas: 3, metrics: [{type: Resource}]}
      resources: {limits: {cpu: 1, memory: 512Mi}, requests: {cpu: "100m"}}
      env: [{name: FOO, value: bar}]
      affinity: {podAntiAffinity: {}}
      podAnnotations: {a: b}
      labels: {tier: gw}
      strategy: {type: RollingUpdate}
    serviceAccount: {imagePullSecrets: [{name: pull}]}
    overlays:
      - apiVersion: apps/v1
        kind: Deployment
        name: eastwest-gateway
        patches:
          - path: spec.template.spec.containers.[name:istio-proxy].env[-1]
            value: {name: X, value: "1"}
""",
}


@cache
def schema(kind: str) -> dict:
    return json.loads((SCHEMAS / FILES[kind]).read_text(encoding="utf-8"))


@cache
def validator(kind: str) -> Draft202012Validator:
    return Draft202012Validator(schema(kind))


def errors(kind: str, doc: object) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator(kind).iter_errors(doc)]


# ------------------------------------------------------------------------------------ well-formed


@pytest.mark.parametrize("kind", FILES)
def test_schema_is_valid_draft_2020_12(kind: str) -> None:
    s = schema(kind)
    Draft202012Validator.check_schema(s)
    assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert s["$id"] == f"https://tctl.dev/schemas/{FILES[kind]}"
    assert s["title"] and s["description"]
    assert s["additionalProperties"] is False
    assert set(s["required"]) >= {"apiVersion", "kind", "metadata"}
    assert s["properties"]["kind"]["const"] == kind


@pytest.mark.parametrize("kind", FILES)
def test_schema_is_self_contained(kind: str) -> None:
    """No $ref leaves the file (the validator compiles each file alone)."""

    def refs(node: object):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for item in node:
                yield from refs(item)

    s = schema(kind)
    for target in refs(s):
        assert target.startswith("#/$defs/"), target
        assert target.removeprefix("#/$defs/") in s["$defs"], target


@pytest.mark.parametrize("kind", FILES)
def test_every_property_has_title_and_description(kind: str) -> None:
    """Editors (yaml-language-server) show them on hover; a bare $ref shows its target's."""
    s = schema(kind)
    missing = []

    def documented(prop: dict) -> bool:
        if "$ref" in prop and not ("title" in prop and "description" in prop):
            prop = s["$defs"][prop["$ref"].removeprefix("#/$defs/")]
        return "title" in prop and "description" in prop

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            properties = node.get("properties", {})
            if isinstance(properties, dict) and path != "$.$defs":
                for name, prop in properties.items():
                    if not documented(prop):
                        missing.append(f"{path}.{name}")
            for key, value in node.items():
                walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{path}[{i}]")

    walk(s, "$")
    for name, definition in s["$defs"].items():
        if not ("title" in definition and "description" in definition):
            missing.append(f"$defs.{name}")
    assert not missing


# ---------------------------------------------------------------------------------------- valid


def test_seed_ingress_gateway_is_valid() -> None:
    assert errors("IngressGateway", yaml.safe_load(SEED_INGRESS_GATEWAY)) == []


def test_seed_workspace_setting_is_valid() -> None:
    assert errors("WorkspaceSetting", yaml.safe_load(SEED_WORKSPACE_SETTING)) == []


@pytest.mark.parametrize("kind", FILES)
def test_minimal_object_is_valid(kind: str) -> None:
    assert errors(kind, MINIMAL[kind]) == []


@pytest.mark.parametrize("kind", [k for k in FILES if k != "Workspace"])
def test_empty_spec_is_valid(kind: str) -> None:
    assert errors(kind, {**MINIMAL[kind], "spec": {}}) == []


@pytest.mark.parametrize("kind", FILES)
def test_full_object_is_valid(kind: str) -> None:
    assert errors(kind, yaml.safe_load(FULL[kind])) == []


@pytest.mark.parametrize("duration", ["1h", "30s", "1.5s", "1h30m", "250ms", "0s"])
def test_durations_accepted(duration: str) -> None:
    assert errors("Cluster", {**MINIMAL["Cluster"], "spec": {"tokenTtl": duration}}) == []
    gateway = {**MINIMAL["IngressGateway"], "spec": {"connectionDrainDuration": duration}}
    assert errors("IngressGateway", gateway) == []


# -------------------------------------------------------------------------------------- invalid


def mutate(
    kind: str, path: str, value: object = None, *, delete: bool = False, base: dict | None = None
) -> dict:
    """A copy of the minimal object with the value at a dotted path set (or deleted)."""
    doc = copy.deepcopy(base if base is not None else MINIMAL[kind])
    *parents, last = path.split(".")
    node = doc
    for step in parents:
        step_key: str | int = int(step) if step.isdigit() else step
        if isinstance(node, dict) and step_key not in node:
            node[step_key] = {}
        node = node[step_key]
    last_key: str | int = int(last) if last.isdigit() else last
    if delete:
        del node[last_key]
    else:
        node[last_key] = value
    return doc


def ws(path: str, value: object = None, *, delete: bool = False) -> dict:
    """The seed WorkspaceSetting with one value changed."""
    return mutate("", path, value, delete=delete, base=yaml.safe_load(SEED_WORKSPACE_SETTING))


def ig(path: str, value: object = None, *, delete: bool = False) -> dict:
    """The seed IngressGateway with one value changed."""
    return mutate("", path, value, delete=delete, base=yaml.safe_load(SEED_INGRESS_GATEWAY))


def common_cases(kind: str) -> list:
    """Broken variants every kind must reject."""
    api = MINIMAL[kind]["apiVersion"]
    return [
        pytest.param(kind, mutate(kind, "bogus", 1), id=f"{kind}-unknown-top-level"),
        pytest.param(kind, mutate(kind, "status", {}), id=f"{kind}-status"),
        pytest.param(kind, mutate(kind, "metadata.bogus", "x"), id=f"{kind}-unknown-metadata"),
        pytest.param(kind, mutate(kind, "spec.bogus", "x"), id=f"{kind}-unknown-spec"),
        pytest.param(kind, mutate(kind, "apiVersion", delete=True), id=f"{kind}-no-apiVersion"),
        pytest.param(kind, mutate(kind, "kind", delete=True), id=f"{kind}-no-kind"),
        pytest.param(kind, mutate(kind, "metadata", delete=True), id=f"{kind}-no-metadata"),
        pytest.param(kind, mutate(kind, "metadata.name", delete=True), id=f"{kind}-no-name"),
        pytest.param(
            kind, mutate(kind, "apiVersion", api.replace("v", "x", 1)), id=f"{kind}-wrong-apiVersion"
        ),
        pytest.param(kind, mutate(kind, "apiVersion", "v1"), id=f"{kind}-apiVersion-v1"),
        pytest.param(kind, mutate(kind, "kind", kind.lower()), id=f"{kind}-wrong-kind"),
        pytest.param(kind, mutate(kind, "kind", "Gateway"), id=f"{kind}-other-kind"),
        pytest.param(kind, mutate(kind, "metadata.name", "Bad_Name"), id=f"{kind}-bad-name"),
        pytest.param(kind, mutate(kind, "metadata.name", "a" * 64), id=f"{kind}-long-name"),
        pytest.param(kind, mutate(kind, "metadata.name", 42), id=f"{kind}-name-not-string"),
        pytest.param(kind, mutate(kind, "metadata.labels", {"a": 1}), id=f"{kind}-label-not-string"),
        pytest.param(kind, mutate(kind, "metadata.annotations", ["a"]), id=f"{kind}-annotations-not-map"),
        pytest.param(kind, mutate(kind, "spec", []), id=f"{kind}-spec-not-object"),
        pytest.param(kind, mutate(kind, "metadata", "x"), id=f"{kind}-metadata-not-object"),
        pytest.param(kind, [], id=f"{kind}-not-an-object"),
    ]


ORG, TEN, WSP, WSS, CLU, IGW = (
    "Organization",
    "Tenant",
    "Workspace",
    "WorkspaceSetting",
    "Cluster",
    "IngressGateway",
)
SEL = "spec.defaultEastWestGatewaySettings.0.workloadSelector"
EXPOSED = "spec.defaultEastWestGatewaySettings.0.exposedServices"
SEC = "spec.defaultSecuritySetting"
TRAFFIC = "spec.defaultTrafficSetting"
KUBE = "spec.kubeSpec"

KIND_CASES = [
    # Organization
    (ORG, mutate(ORG, "spec.systemNamespaces", "kube-system"), "systemNamespaces-not-list"),
    (ORG, mutate(ORG, "spec.deletionProtectionEnabled", "yes"), "deletionProtection-not-bool"),
    (ORG, mutate(ORG, "spec.configGenerationMetadata.bogus", {}), "unknown-in-cgm"),
    (ORG, mutate(ORG, "metadata.tenant", "tse"), "tenant-in-metadata"),
    # Tenant
    (TEN, mutate(TEN, "metadata.organization", delete=True), "no-organization"),
    (TEN, mutate(TEN, "spec.profiles", [{"a": 1}]), "profiles-not-strings"),
    (TEN, mutate(TEN, "spec.configGenerationMetadata.labels", {"a": True}), "cgm-label-not-string"),
    (TEN, mutate(TEN, "metadata.organization", "Not Valid"), "bad-organization"),
    # Workspace
    (WSP, mutate(WSP, "spec", delete=True), "no-spec"),
    (WSP, mutate(WSP, "spec.namespaceSelector", delete=True), "no-namespaceSelector"),
    (WSP, mutate(WSP, "spec.namespaceSelector.names", []), "empty-names"),
    (WSP, mutate(WSP, "spec.namespaceSelector.names", delete=True), "no-names"),
    (WSP, mutate(WSP, "spec.namespaceSelector.names", ["bookinfo"]), "name-without-cluster"),
    (WSP, mutate(WSP, "spec.namespaceSelector.names", ["a/b/c"]), "name-two-slashes"),
    (WSP, mutate(WSP, "spec.namespaceSelector.names", "*/bookinfo"), "names-not-list"),
    (WSP, mutate(WSP, "spec.namespaceSelector.bogus", 1), "unknown-in-selector"),
    (WSP, mutate(WSP, "spec.privileged", "true"), "privileged-not-bool"),
    (WSP, mutate(WSP, "metadata.tenant", delete=True), "no-tenant"),
    (WSP, mutate(WSP, "metadata.organization", delete=True), "no-organization"),
    # WorkspaceSetting (ws(...) variants start from the seed document)
    (WSS, mutate(WSS, "metadata.workspace", delete=True), "no-workspace"),
    (WSS, mutate(WSS, "metadata.tenant", delete=True), "no-tenant"),
    (WSS, mutate(WSS, "metadata.organization", delete=True), "no-organization"),
    (WSS, ws(f"{SEC}.authenticationSettings.trafficMode", "DISABLED"), "bad-trafficMode"),
    (WSS, ws(f"{SEC}.authorization.mode", "workspace"), "bad-authz-mode-case"),
    (WSS, ws(f"{SEC}.authorization.identityMatch", "X"), "bad-identityMatch"),
    (WSS, ws(f"{SEC}.propagationStrategy", "MERGE"), "bad-propagationStrategy"),
    (WSS, ws(f"{SEC}.authorization.bogus", 1), "unknown-in-authorization"),
    (WSS, ws(f"{SEC}.authorization.serviceAccounts", ["no-slash"]), "bad-serviceAccount"),
    (WSS, ws(f"{SEC}.authenticationSettings.http.requireJwt", "yes"), "requireJwt-not-bool"),
    (WSS, ws(f"{SEC}.bogus", 1), "unknown-in-securitySetting"),
    (WSS, ws(SEL, delete=True), "no-workloadSelector"),
    (WSS, ws(f"{SEL}.namespace", delete=True), "no-selector-namespace"),
    (WSS, ws(f"{SEL}.labels", delete=True), "no-selector-labels"),
    (WSS, ws(f"{SEL}.labels", {"app": True}), "selector-label-not-string"),
    (WSS, ws(f"{SEL}.label", {"app": "x"}), "unknown-in-workloadSelector"),
    (WSS, ws(f"{EXPOSED}.0", {}), "exposedService-without-serviceLabels"),
    (
        WSS,
        ws(f"{EXPOSED}.0", {"serviceLabels": {"app": "details"}, "name": "x"}),
        "unknown-in-exposedService",
    ),
    (WSS, ws(EXPOSED, ["details"]), "exposedServices-plain-strings"),
    (WSS, ws("spec.defaultEastWestGatewaySettings", {"workloadSelector": {}}), "eastwest-not-list"),
    (WSS, ws("spec.defaultEastWestGatewaySettings.0.bogus", 1), "unknown-in-eastwest"),
    (WSS, mutate(WSS, f"{TRAFFIC}.reachability.mode", "EVERYTHING"), "bad-reachability-mode"),
    (WSS, mutate(WSS, f"{TRAFFIC}.egress", {"port": 1}), "egress-without-host"),
    (WSS, mutate(WSS, f"{TRAFFIC}.outbound.bogus", {}), "unknown-in-outbound"),
    (WSS, mutate(WSS, f"{TRAFFIC}.resilience.circuitBreakerSensitivity", "CUSTOM"), "bad-sensitivity"),
    (
        WSS,
        mutate(
            WSS,
            f"{TRAFFIC}.outbound.upstreamTrafficSettings",
            [{"hosts": ["*"], "settings": {"loadBalancer": {"simple": "LEAST_CONN"}}}],
        ),
        "bad-simple-lb",
    ),
    (WSS, mutate(WSS, f"{TRAFFIC}.bogus", 1), "unknown-in-trafficSetting"),
    (WSS, mutate(WSS, "spec.failoverSettings.topologyChoice", "ZONE"), "bad-topologyChoice"),
    (
        WSS,
        mutate(WSS, "spec.failoverSettings.automaticLoadBalancing", {"enabled": "true"}),
        "automaticLB-enabled-not-bool",
    ),
    (
        WSS,
        mutate(WSS, "spec.failoverSettings.regionalFailover", [{"from": "a", "towards": "b"}]),
        "unknown-in-regionalFailover",
    ),
    (WSS, mutate(WSS, "spec.regionalFailover", {"from": "a"}), "regionalFailover-not-list"),
    # Cluster
    (CLU, mutate(CLU, "metadata.organization", delete=True), "no-organization"),
    (CLU, mutate(CLU, "spec.tokenTtl", "1 hour"), "bad-duration"),
    (CLU, mutate(CLU, "spec.tokenTtl", 3600), "duration-not-string"),
    (CLU, mutate(CLU, "spec.namespaceScope.scope", "GLOBAL"), "bad-namespaceScope"),
    (CLU, mutate(CLU, "spec.locality.regoin", "us"), "unknown-in-locality"),
    (CLU, mutate(CLU, "spec.tier1Cluster", "false"), "tier1-not-bool"),
    (CLU, mutate(CLU, "spec.network", 5), "network-not-string"),
    # IngressGateway (ig(...) variants start from the seed document)
    (IGW, ig("metadata.namespace", delete=True), "no-namespace"),
    (IGW, ig("metadata.namespace", "Book_Info"), "bad-namespace"),
    (IGW, ig("spec.eastWestOnly", "true"), "eastWestOnly-not-bool"),
    (IGW, ig("spec.eastWestOnly", "yes"), "eastWestOnly-yes"),
    (IGW, ig("spec.connectionDrainDuration", "soon"), "bad-drain-duration"),
    (IGW, ig("spec.revision", 1), "revision-not-string"),
    (IGW, ig(f"{KUBE}.bogus", {}), "unknown-in-kubeSpec"),
    (IGW, ig(f"{KUBE}.service.type", "Loadbalancer"), "bad-service-type"),
    (IGW, ig(f"{KUBE}.service.ports", [{"port": 15443, "protocol": "HTTP"}]), "bad-port-protocol"),
    (IGW, ig(f"{KUBE}.service.ports", [{"port": "15443"}]), "port-not-integer"),
    (IGW, ig(f"{KUBE}.service.ports", [{"port": 70000}]), "port-out-of-range"),
    (IGW, ig(f"{KUBE}.service.ports", [{"port": 1, "nodeport": 2}]), "unknown-in-port"),
    (
        IGW,
        ig(f"{KUBE}.service.annotations", {"xcp.tetrate.io/cluster-external-addresses": ["1.2.3.4"]}),
        "annotation-not-string",
    ),
    (IGW, ig(f"{KUBE}.deployment.replicas", 2), "unknown-in-deployment"),
    (IGW, ig(f"{KUBE}.deployment.replicaCount", -1), "negative-replicas"),
    (IGW, ig(f"{KUBE}.overlays", [{"kind": "Service", "patch": []}]), "unknown-in-overlay"),
]

INVALID = [case for kind in FILES for case in common_cases(kind)] + [
    pytest.param(kind, doc, id=f"{kind}-{name}") for kind, doc, name in KIND_CASES
]


@pytest.mark.parametrize(("kind", "doc"), INVALID)
def test_broken_object_is_rejected(kind: str, doc: object) -> None:
    assert errors(kind, doc), f"{kind} accepted a broken document: {doc!r}"


def test_error_points_at_the_deep_field() -> None:
    doc = ws(f"{SEL}.label", {"app": "x"})
    (error,) = list(validator("WorkspaceSetting").iter_errors(doc))
    assert list(error.absolute_path) == ["spec", "defaultEastWestGatewaySettings", 0, "workloadSelector"]
    assert "label" in error.message


def test_kinds_cannot_be_swapped() -> None:
    """A document is valid only against its own kind's schema."""
    for kind, doc in MINIMAL.items():
        for other in FILES:
            if other != kind:
                assert errors(other, doc), f"{kind} document accepted by the {other} schema"
