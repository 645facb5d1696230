"""Exposed services (SPEC §4 rule 3) and their origin clusters O(s).

One pass over every Service of every reachable cluster: the owning workspace of its namespace,
that workspace's setting, the first gateway entry whose `exposedServices` select it. A Service
is exposed (and its cluster is an origin) only when that entry's gateway has an address in the
same cluster. The first matching entry wins even when its gateway is missing or pending in that
cluster: selection is configuration, and a Service must not hop to another gateway because a
load balancer lost its IP.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from . import findings as F
from .config import ParsedConfig, contains
from .coverage import Coverage
from .findings import Findings
from .gateways import Gateway, GatewayState, resolve_gateways
from .index import ClusterIndex, service_labels_of, service_type
from .ports import Port, service_entry_ports


@dataclass(frozen=True)
class Exposure:
    """Service (namespace, name) of `cluster`, exposed through `gateway`."""

    cluster: str
    namespace: str
    name: str
    service: dict
    gateway: Gateway
    ports: tuple[Port, ...]

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)


@dataclass
class Exposures:
    by_service: dict[tuple[str, str], list[Exposure]] = field(default_factory=dict)  # by cluster
    by_gateway: dict[tuple[str, str, str], list[Exposure]] = field(default_factory=dict)
    gateways: list[Gateway] = field(default_factory=list)  # every gateway Service resolved


def expose(
    clusters: list[ClusterIndex], parsed: ParsedConfig, coverage: Coverage, findings: Findings
) -> Exposures:
    result = Exposures()
    by_service: dict[tuple[str, str], list[Exposure]] = defaultdict(list)
    by_gateway: dict[tuple[str, str, str], list[Exposure]] = defaultdict(list)
    selector_hits: set[tuple[str, int, int]] = set()
    workspaces = {ws.key: ws for ws in parsed.workspaces}
    settings = sorted(parsed.settings.values(), key=lambda s: s.fqn)

    for index in clusters:  # sorted by name
        cluster = index.name
        states: dict[str, list[GatewayState]] = {}
        gateway_services: dict[str, set[tuple[str, str]]] = {}
        for setting in settings:
            ws = workspaces[setting.workspace_key]
            states[setting.fqn] = resolve_gateways(index, ws, setting, coverage, findings)
            result.gateways += [st.gateway for st in states[setting.fqn] if st.gateway is not None]
            gateway_services[setting.fqn] = set().union(*(s.service_keys for s in states[setting.fqn]))
        waiting: dict[tuple[str, int], int] = defaultdict(int)  # services held by a bad gateway

        for (namespace, name), svc in index.services.items():
            ws = coverage.owner(cluster, namespace)
            setting = parsed.settings.get(ws.key) if ws else None
            if setting is None or not setting.gateways:
                continue
            if (namespace, name) in gateway_services[setting.fqn]:
                continue  # gateway Services are never exposed
            if service_type(svc) == "ExternalName":
                continue
            labels = service_labels_of(svc)
            chosen = None
            for entry in setting.gateways:
                for j, selector in enumerate(entry.exposed or ()):
                    if contains(labels, selector):
                        selector_hits.add((setting.fqn, entry.index, j))
                if chosen is None and entry.exposes(labels):
                    chosen = entry
            if chosen is None:
                continue
            state = states[setting.fqn][chosen.index]
            if not state.usable:
                waiting[(setting.fqn, chosen.index)] += 1
                continue
            subject = f"service {namespace}/{name}"
            ports, skipped = service_entry_ports(svc)
            if skipped:
                findings.add(
                    F.PORT_UNSUPPORTED,
                    cluster,
                    subject,
                    f"port(s) {', '.join(skipped)} not exposed: only TCP ports cross clusters",
                    source=setting.fqn,
                )
            if not ports:
                findings.add(
                    F.SERVICE_NOT_EXPOSED,
                    cluster,
                    subject,
                    "selected for exposure but has no TCP port: not exposed",
                    source=setting.fqn,
                )
                continue
            gw = state.gateway
            assert gw is not None
            exposure = Exposure(cluster, namespace, name, svc, gw, ports)
            by_service[(namespace, name)].append(exposure)
            by_gateway[(cluster, gw.namespace, gw.service)].append(exposure)

        for setting in settings:
            ws = workspaces[setting.workspace_key]
            for state in states[setting.fqn]:
                entry = state.entry
                held = waiting.get((setting.fqn, entry.index), 0)
                relevant = held or index.has_namespace(entry.namespace)
                if state.covered and state.gateway is None and relevant:
                    findings.add(
                        F.GATEWAY_MISSING,
                        cluster,
                        f"gateway {entry.namespace}/*",
                        f"no Service in namespace {entry.namespace} selects pods labelled "
                        f"{dict(entry.labels)} (defaultEastWestGatewaySettings[{entry.index}]): "
                        f"{held} Service(s) of workspace {ws.name} not exposed from {cluster}",
                        hint="deploy the east-west gateway (IngressGateway with "
                        "eastWestOnly: true) in this cluster, or fix the workloadSelector",
                        source=setting.fqn,
                    )
                gw = state.gateway
                idle = gw is not None and (cluster, gw.namespace, gw.service) not in by_gateway
                if state.usable and gw is not None and idle:
                    findings.add(
                        F.GATEWAY_EXPOSES_NOTHING,
                        cluster,
                        gw.subject,
                        "no Service of the workspace is exposed through this gateway: no Gateway object",
                        source=setting.fqn,
                    )

    for setting in settings:
        ws = workspaces[setting.workspace_key]
        for entry in setting.gateways:
            for j, selector in enumerate(entry.exposed or ()):
                if (setting.fqn, entry.index, j) not in selector_hits:
                    findings.add(
                        F.SELECTOR_MATCHES_NOTHING,
                        "",
                        f"WorkspaceSetting {setting.fqn}",
                        f"defaultEastWestGatewaySettings[{entry.index}].exposedServices[{j}] "
                        f"(serviceLabels {dict(selector)}) matches no Service of workspace "
                        f"{ws.name} in any reachable cluster",
                        hint="the labels must be on the Kubernetes Services themselves "
                        "(metadata.labels), not only on their pods",
                        source=setting.fqn,
                    )

    result.by_service = {key: by_service[key] for key in sorted(by_service)}
    result.by_gateway = {key: by_gateway[key] for key in sorted(by_gateway)}
    return result
