"""Exposed services (SPEC §4 rule 3) and their origin clusters O(s).

One pass over every Service of each reachable cluster, cluster by cluster: the owning workspace of its namespace,
that workspace's setting, the first gateway entry whose `exposedServices` select it. A Service
is exposed (and its cluster is an origin) only when that entry's gateway has an address in the
same cluster. The first matching entry wins even when its gateway is missing or pending in that
cluster: selection is configuration, and a Service must not hop to another gateway because a
load balancer lost its IP.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

from . import findings as F
from .coverage import Coverage
from .findings import Findings
from .gateways import Gateway, GatewayState, resolve_gateways
from .index import ClusterIndex, service_labels_of, service_type
from .model import Finding
from .names import workload_entry_names
from .parsed import ClusterInfo, ParsedConfig, contains
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
    info: ClusterInfo  # of `cluster`, from the configuration

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)

    @cached_property
    def port_numbers(self) -> frozenset[int]:
        return frozenset(p.number for p in self.ports)

    @cached_property
    def workload_entry_names(self) -> tuple[str, ...]:
        """The shadow WorkloadEntries' names, one per gateway address: the same in every
        consumer cluster, so computed once per origin."""
        return workload_entry_names(self.cluster, self.namespace, self.name, len(self.gateway.addresses))


@dataclass
class ClusterExposure:
    """What one reachable cluster contributes as an origin (rules 2-3). It depends on that
    cluster's objects and the configuration only, so a change elsewhere in the fleet leaves it
    as it is."""

    cluster: str
    services: dict[tuple[str, str], Exposure] = field(default_factory=dict)  # sorted by key
    by_gateway: dict[tuple[str, str], list[Exposure]] = field(default_factory=dict)  # (ns, name)
    gateways: list[Gateway] = field(default_factory=list)  # every gateway Service resolved
    findings: list[Finding] = field(default_factory=list)  # all about this cluster
    # (setting FQN, gateway entry, exposedServices index) of the selectors a Service matched
    selector_hits: frozenset[tuple[str, int, int]] = frozenset()
    # Services selected for exposure whose gateway is missing, pending or unusable here
    waiting: dict[tuple[str, str], GatewayState] = field(default_factory=dict)


def expose_cluster(index: ClusterIndex, parsed: ParsedConfig, coverage: Coverage) -> ClusterExposure:
    cluster = index.name
    findings = Findings()
    result = ClusterExposure(cluster)
    by_gateway: dict[tuple[str, str], list[Exposure]] = defaultdict(list)
    selector_hits: set[tuple[str, int, int]] = set()
    workspaces = {ws.key: ws for ws in parsed.workspaces}
    settings = sorted(parsed.settings.values(), key=lambda s: s.fqn)

    states: dict[str, list[GatewayState]] = {}
    gateway_services: dict[str, set[tuple[str, str]]] = {}
    for setting in settings:
        ws = workspaces[setting.workspace_key]
        states[setting.fqn] = resolve_gateways(index, ws, setting, coverage, findings)
        result.gateways += [st.gateway for st in states[setting.fqn] if st.gateway is not None]
        gateway_services[setting.fqn] = set().union(*(s.service_keys for s in states[setting.fqn]))
    waiting: dict[tuple[str, int], int] = defaultdict(int)  # services held by a bad gateway

    for (namespace, name), svc in index.services.items():
        owner = coverage.owner(cluster, namespace, findings)
        own = parsed.settings.get(owner.key) if owner else None  # the owner's setting
        if own is None or not own.gateways:
            continue
        if (namespace, name) in gateway_services[own.fqn]:
            continue  # gateway Services are never exposed
        if service_type(svc) == "ExternalName":
            continue
        labels = service_labels_of(svc)
        chosen = None
        for entry in own.gateways:
            for j, selector in enumerate(entry.exposed or ()):
                if contains(labels, selector):
                    selector_hits.add((own.fqn, entry.index, j))
            if chosen is None and entry.exposes(labels):
                chosen = entry
        if chosen is None:
            continue
        state = states[own.fqn][chosen.index]
        if not state.usable:
            waiting[(own.fqn, chosen.index)] += 1
            result.waiting[(namespace, name)] = state
            continue
        subject = f"service {namespace}/{name}"
        ports, skipped = service_entry_ports(svc)
        if skipped:
            findings.add(
                F.Code.PORT_UNSUPPORTED,
                cluster,
                subject,
                f"port(s) {', '.join(skipped)} not exposed: only TCP ports cross clusters",
                source=own.fqn,
            )
        if not ports:
            findings.add(
                F.Code.SERVICE_NOT_EXPOSED,
                cluster,
                subject,
                "selected for exposure but has no TCP port: not exposed",
                source=own.fqn,
            )
            continue
        gw = state.gateway
        assert gw is not None
        exposure = Exposure(cluster, namespace, name, svc, gw, ports, parsed.cluster(cluster))
        result.services[(namespace, name)] = exposure
        by_gateway[(gw.namespace, gw.service)].append(exposure)

    for setting in settings:
        ws = workspaces[setting.workspace_key]
        for state in states[setting.fqn]:
            entry = state.entry
            held = waiting.get((setting.fqn, entry.index), 0)
            relevant = held or index.has_namespace(entry.namespace)
            if state.covered and state.gateway is None and relevant:
                findings.add(
                    F.Code.GATEWAY_MISSING,
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
            idle = gw is not None and (gw.namespace, gw.service) not in by_gateway
            if state.usable and gw is not None and idle:
                findings.add(
                    F.Code.GATEWAY_EXPOSES_NOTHING,
                    cluster,
                    gw.subject,
                    "no Service of the workspace is exposed through this gateway: no Gateway object",
                    source=setting.fqn,
                )

    result.by_gateway = {key: by_gateway[key] for key in sorted(by_gateway)}
    result.findings = findings.sorted()
    result.selector_hits = frozenset(selector_hits)
    return result


def unmatched_selectors(
    parsed: ParsedConfig, selector_hits: set[tuple[str, int, int]], findings: Findings
) -> None:
    """Fleet-wide: each exposedServices selector that no Service of any reachable cluster matched."""
    workspaces = {ws.key: ws for ws in parsed.workspaces}
    for setting in sorted(parsed.settings.values(), key=lambda s: s.fqn):
        ws = workspaces[setting.workspace_key]
        for entry in setting.gateways:
            for j, selector in enumerate(entry.exposed or ()):
                if (setting.fqn, entry.index, j) not in selector_hits:
                    findings.add(
                        F.Code.SELECTOR_MATCHES_NOTHING,
                        "",
                        f"WorkspaceSetting {setting.fqn}",
                        f"defaultEastWestGatewaySettings[{entry.index}].exposedServices[{j}] "
                        f"(serviceLabels {dict(selector)}) matches no Service of workspace "
                        f"{ws.name} in any reachable cluster",
                        hint="the labels must be on the Kubernetes Services themselves "
                        "(metadata.labels), not only on their pods",
                        source=setting.fqn,
                    )
