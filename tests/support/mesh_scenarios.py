"""Random small fleets and configurations for the exposure engine's Hypothesis properties
(tests/unit/test_mesh_*.py): 1-3 clusters, a few namespaces, Services, gateways, workspaces
with overlapping selectors.

Drawn independently, these rarely line up into anything the engine generates (a property that
sees no object passes without checking anything), so each scenario picks a namespace its
applications share across clusters, a gateway namespace and a gateway label, and uses them
most of the time: most scenarios generate objects, and about half have the same Service
exposed from several clusters (rules 5-7). The misses (other namespaces, mismatched labels,
no address, unreachable clusters) are still drawn, less often.
`tests/unit/test_mesh_properties.py::test_scenarios_exercise_the_rules` measures it."""

from __future__ import annotations

import json
from dataclasses import dataclass

from hypothesis import strategies as st

from tctl_py.mesh import ClusterState, MeshConfig

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
GATEWAY_APPS = ["ew", "ew2"]
IPS = ["10.0.0.1", "10.0.0.2", "10.0.0.10", "192.168.1.1", "2001:db8::1"]
HOSTS = ["ew.example.com", "elb.eu-west-2.amazonaws.com"]
SELECTORS = [
    {"app": "alpha"},
    {"app": "beta"},
    {"app": "gamma"},
    {"tier": "gold"},
    {"app": "beta", "tier": "silver"},
    {"app": "nope"},
]
PORT_SETS = [
    [{"name": "http", "port": 9080, "protocol": "TCP"}],
    [{"name": "grpc", "port": 9090, "protocol": "TCP"}, {"name": "http-web", "port": 80, "protocol": "TCP"}],
    [{"port": 5432, "protocol": "TCP"}],
]


def chance(percent: int) -> st.SearchStrategy[bool]:
    """True in about `percent`% of draws (shrinks towards True: the common case)."""
    return st.integers(1, 100).map(lambda n: n <= percent)


@st.composite
def service_bodies(draw, namespace: str) -> dict:
    name = draw(st.sampled_from(SERVICES))
    labels = {"app": name} if draw(chance(80)) else {}
    tier = draw(st.sampled_from([None, "gold", "silver"]))
    if tier:
        labels["tier"] = tier
    spec: dict = {"ports": draw(st.sampled_from(PORT_SETS))}
    if draw(chance(90)):
        spec["selector"] = {"app": name}
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels}, "spec": spec}


@st.composite
def gateway_bodies(draw, namespace: str, app: str) -> dict:
    if not draw(chance(95)):
        app = draw(st.sampled_from(GATEWAY_APPS))
    ips = draw(st.lists(st.sampled_from(IPS), min_size=1 if draw(chance(90)) else 0, max_size=3))
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
def cluster_states(draw, name: str, shared: Shared) -> ClusterState:
    services: dict[tuple[str, str], dict] = {}
    namespaces = [shared.app_namespace] if draw(chance(95)) else []
    namespaces += draw(st.lists(st.sampled_from(NAMESPACES), max_size=2))
    for namespace in dict.fromkeys(namespaces) or [draw(st.sampled_from(NAMESPACES))]:
        for svc in draw(st.lists(service_bodies(namespace), min_size=1, max_size=3)):
            services[(namespace, svc["metadata"]["name"])] = svc
    gw_namespaces = [shared.gw_namespace] if draw(chance(95)) else []
    gw_namespaces += draw(st.lists(st.sampled_from([*NAMESPACES, shared.gw_namespace]), max_size=1))
    for namespace in gw_namespaces:
        gw = draw(gateway_bodies(namespace, shared.gw_app))
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
        reachable=draw(chance(95)),
        services=tuple(listed),
        destination_rules=tuple(drs),
    )


@dataclass(frozen=True)
class Shared:
    """What most clusters of a scenario have in common."""

    app_namespace: str  # where the applications run
    gw_namespace: str  # where the east-west gateways run
    gw_app: str  # the gateways' `app` label, which the WorkspaceSettings select


shared_choices = st.builds(
    Shared,
    app_namespace=st.sampled_from(NAMESPACES),
    gw_namespace=st.sampled_from(NAMESPACES),
    gw_app=st.sampled_from(GATEWAY_APPS),
)


@st.composite
def scenarios(draw, shared: Shared | None = None) -> tuple[MeshConfig, list[ClusterState]]:
    shared = shared or draw(shared_choices)
    several = draw(chance(95))
    names = draw(st.lists(st.sampled_from(CLUSTERS), min_size=2 if several else 1, max_size=3, unique=True))
    fleet = [draw(cluster_states(n, shared)) for n in names]
    return draw(configs(shared, names)), fleet


@st.composite
def configs(draw, shared: Shared, names: list[str]) -> MeshConfig:
    """Workspaces, their settings, and Cluster objects for some of `names`."""
    gw_namespace = shared.gw_namespace
    workspaces, settings_ = [], []
    for i in range(1 if draw(chance(75)) else 2):
        ws = f"ws-{i}"
        patterns = draw(st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=3, unique=True))
        for namespace in (shared.app_namespace, gw_namespace) if i == 0 else ():  # one owner
            if f"*/{namespace}" not in patterns:
                patterns.append(f"*/{namespace}")
        workspaces.append(
            {
                "metadata": {"name": ws, "tenant": "t", "organization": "o"},
                "spec": {"namespaceSelector": {"names": patterns}},
            }
        )
        entries = []
        for j in range(draw(st.integers(1, 2))):  # the first entry selects the shared gateways
            namespace = gw_namespace if j == 0 else draw(st.sampled_from(NAMESPACES))
            app = shared.gw_app if j == 0 else draw(st.sampled_from(GATEWAY_APPS))
            entry: dict = {"workloadSelector": {"namespace": namespace, "labels": {"app": app}}}
            exposed = None if draw(chance(75)) else draw(st.lists(st.sampled_from(SELECTORS), max_size=2))
            if exposed is not None:
                entry["exposedServices"] = [{"serviceLabels": s} for s in exposed]
            entries.append(entry)
        if i == 0 or draw(chance(80)):
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
    return MeshConfig(workspaces=tuple(workspaces), settings=tuple(settings_), clusters=tuple(clusters))
