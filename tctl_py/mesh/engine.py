"""`compute(config, fleet)`: the desired Istio objects of every cluster, plus findings.

Order of work: parse the configuration; index each reachable cluster; resolve gateways and
exposed Services (rules 1-3); then, per exposed Service s and fleet cluster d, either a
ServiceEntry (rule 4, d has no s) or shadow WorkloadEntries and a failover DestinationRule
(rules 5-7, d has its own s); finally one Gateway per gateway Service that exposes something
(rule 8). Work is O(clusters x exposed services) plus one pass over every Service.

Unreachable clusters are neither origins nor consumers: nothing is generated for them and
nothing is derived from them (their Services are unknown, not absent). A cluster whose gateway
address annotation is malformed is no origin through that gateway either; it is named in
`MeshResult.held_origins` so that the reconcile plan keeps what was derived from it.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import findings as F
from . import objects
from .config import ParsedConfig, Setting, Workspace, parse_config
from .coverage import Coverage
from .exposure import Exposure, Exposures, expose
from .findings import Findings
from .index import (
    ClusterIndex,
    destination_rule_host,
    object_name,
    service_labels_of,
    service_selector,
    service_type,
)
from .model import ClusterState, GatewaySummary, GeneratedObject, MeshConfig, MeshResult
from .names import (
    CLUSTER_DOMAIN,
    MANAGED_BY,
    MANAGED_BY_VALUE,
    MULTICLUSTER_NAMESPACE,
    destination_rule_name,
    gateway_name,
    service_entry_name,
    service_fqdn,
    workload_entry_name,
)
from .ports import service_entry_ports, workload_entry_port_names


def compute(config: MeshConfig, fleet: Sequence[ClusterState]) -> MeshResult:
    findings = Findings()
    parsed = parse_config(config, findings)
    clusters = []
    for state in _unique_clusters(fleet):
        if state.reachable:
            clusters.append(ClusterIndex.build(state))
        else:
            findings.add(
                F.CLUSTER_UNREACHABLE,
                state.name,
                f"cluster {state.name}",
                "could not be read"
                + (f" ({state.error})" if state.error else "")
                + ": nothing is generated for it, and its Services are neither exposed nor "
                "considered absent",
            )
    coverage = Coverage(parsed.workspaces, parsed.clusters, findings)
    exposures = expose(clusters, parsed, coverage, findings)
    generator = _Generator(parsed, coverage, findings)
    generator.services(clusters, exposures)
    generator.gateways(exposures)
    generator.namespaces(clusters)
    gateways = sorted(
        {GatewaySummary(g.cluster, g.namespace, g.service, g.addresses) for g in exposures.gateways},
        key=lambda g: (g.cluster, g.namespace, g.service),
    )
    held = frozenset(g.cluster for g in exposures.gateways if g.annotation_error)
    return MeshResult(
        objects=generator.result(), findings=findings.sorted(), gateways=gateways, held_origins=held
    )


def _unique_clusters(fleet: Sequence[ClusterState]) -> list[ClusterState]:
    """Sorted by name; a name listed twice keeps its reachable, then smallest, description."""
    chosen: dict[str, ClusterState] = {}
    for state in sorted(fleet, key=lambda s: (s.name, not s.reachable, s.server, s.error, repr(s))):
        chosen.setdefault(state.name, state)
    return list(chosen.values())


def _expand_host(host: str, namespace: str) -> str:
    """A DestinationRule host as Istio resolves it in `namespace` (short names), accepting the
    `<name>.<ns>` and `<name>.<ns>.svc` forms people also write."""
    parts = host.rstrip(".").split(".")
    if len(parts) == 1:
        return f"{host}.{namespace}.svc.{CLUSTER_DOMAIN}"
    if len(parts) == 2:
        return f"{host}.svc.{CLUSTER_DOMAIN}"
    if len(parts) == 3 and parts[2] == "svc":
        return f"{host}.{CLUSTER_DOMAIN}"
    return host.rstrip(".")


def _describe_ports(exposure: Exposure) -> str:
    return ", ".join(f"{p.name}:{p.number}/{p.protocol}" for p in exposure.ports)


class _Generator:
    def __init__(self, parsed: ParsedConfig, coverage: Coverage, findings: Findings) -> None:
        self.parsed = parsed
        self.coverage = coverage
        self.findings = findings
        self._objects: dict[tuple[str, str, str, str], GeneratedObject] = {}
        # consumer cluster -> [(ServiceEntry, its workspace, its setting)]
        self._service_entries: dict[str, list[tuple[GeneratedObject, Workspace, Setting]]] = {}
        # consumer cluster -> origin clusters of its ServiceEntries (the Namespace's origins)
        self._consumer_origins: dict[str, set[str]] = {}

    def _add(self, cluster: str, body: dict) -> GeneratedObject:
        obj = GeneratedObject(cluster=cluster, body=body)
        if obj.sort_key in self._objects:  # impossible by construction of the names
            raise RuntimeError(f"two generated objects share the identity {obj.sort_key}")
        self._objects[obj.sort_key] = obj
        return obj

    def result(self) -> list[GeneratedObject]:
        return [self._objects[key] for key in sorted(self._objects)]

    # -- rules 4 to 7 -------------------------------------------------------------------------

    def services(self, clusters: list[ClusterIndex], exposures: Exposures) -> None:
        for key, origins in exposures.by_service.items():
            namespace, name = key
            subject = f"service {namespace}/{name}"
            lead = origins[0]  # origins are sorted by cluster name
            differing = [o for o in origins if o.ports != lead.ports]
            if differing:
                self.findings.add(
                    F.PORT_CONFLICT,
                    "",
                    subject,
                    "origin clusters disagree on ports: "
                    + "; ".join(f"{o.cluster}: {_describe_ports(o)}" for o in origins)
                    + f". ServiceEntries use the ports of {lead.cluster} (first origin by name)",
                    hint="give the Service the same ports in every cluster",
                    source=lead.gateway.setting.fqn,
                )
            fqns = sorted({o.gateway.setting.fqn for o in origins})
            if len(fqns) > 1:
                self.findings.add(
                    F.SERVICE_MULTIPLE_WORKSPACES,
                    "",
                    subject,
                    f"exposed by several workspaces ({', '.join(fqns)}); its ServiceEntries are "
                    f"attributed to {lead.gateway.setting.fqn}, the setting of {lead.cluster}",
                    source=lead.gateway.setting.fqn,
                )
            for d in clusters:
                remote = [o for o in origins if o.cluster != d.name]
                if not remote:
                    continue
                local = d.services.get(key)
                if local is None:
                    self._service_entry(d, key, origins, lead)
                else:
                    self._shadow(d, key, local, remote)

    def _service_entry(
        self, d: ClusterIndex, key: tuple[str, str], origins: list[Exposure], lead: Exposure
    ) -> None:
        """Rule 4 (d has no Service s; d is never an origin then)."""
        namespace, name = key
        gw = lead.gateway
        sources = {o.cluster for o in origins if o.gateway.addresses}
        meta = objects.metadata(
            service_entry_name(namespace, name),
            MULTICLUSTER_NAMESPACE,
            gw.workspace,
            gw.setting,
            gw.entry,
            origins=sources,
        )
        endpoints = [
            (self.parsed.cluster(o.cluster), address) for o in origins for address in o.gateway.addresses
        ]
        body = objects.service_entry(meta, service_fqdn(namespace, name), lead.ports, endpoints)
        obj = self._add(d.name, body)
        self._service_entries.setdefault(d.name, []).append((obj, gw.workspace, gw.setting))
        self._consumer_origins.setdefault(d.name, set()).update(sources)

    def _shadow(self, d: ClusterIndex, key: tuple[str, str], local: dict, remote: list[Exposure]) -> None:
        """Rules 5-7: d has its own Service s, so no ServiceEntry; failover to the other
        origins of the same workspace when that workspace also covers d/ns."""
        namespace, name = key
        subject = f"service {namespace}/{name}"
        owner = self.coverage.owner(d.name, namespace)
        failover = [o for o in remote if o.gateway.workspace == owner]
        elsewhere = [o for o in remote if o.gateway.workspace != owner]
        if elsewhere:
            by = sorted({o.gateway.workspace.fqn for o in elsewhere})
            self.findings.add(
                F.NO_FAILOVER,
                d.name,
                subject,
                f"also exposed from {', '.join(o.cluster for o in elsewhere)} by "
                f"{' and '.join(by)}, which {'does' if len(by) == 1 else 'do'} not cover "
                f"{d.name}/{namespace}: the local Service is used and cannot fail over to "
                "those clusters",
                hint=f"make the workspace span the namespace in every cluster (e.g. */{namespace})",
                source=elsewhere[0].gateway.setting.fqn,
            )
        if not failover:
            return
        setting = failover[0].gateway.setting
        selector = service_selector(local)
        port_names, unmapped = workload_entry_port_names(local)
        reason = ""
        if service_type(local) == "ExternalName":
            reason = "the local Service is of type ExternalName"
        elif not selector:
            reason = "the local Service has no selector, so it cannot select shadow WorkloadEntries"
        elif not port_names:
            reason = "the local Service has no named TCP port to map to the gateway port 15443"
        if reason:
            self.findings.add(
                F.FAILOVER_UNSUPPORTED,
                d.name,
                subject,
                f"no failover: {reason}",
                source=setting.fqn,
            )
            return
        if unmapped:
            self.findings.add(
                F.PORT_UNSUPPORTED,
                d.name,
                subject,
                f"unnamed port(s) {', '.join(unmapped)} of the local Service do not fail over "
                "(Istio maps WorkloadEntry ports by Service port name)",
                hint="name every port of the Service",
                source=setting.fqn,
            )
        local_numbers = {p.number for p in service_entry_ports(local)[0]}
        info_d = self.parsed.cluster(d.name)
        for origin in failover:
            gw = origin.gateway
            origin_numbers = {p.number for p in origin.ports}
            if origin_numbers != local_numbers:
                self.findings.add(
                    F.PORT_CONFLICT,
                    d.name,
                    subject,
                    f"local ports differ from those of {origin.cluster} "
                    f"({_describe_ports(origin)}): failover works only for the ports both have",
                    hint="give the Service the same ports in every cluster",
                    source=gw.setting.fqn,
                )
            info_c = self.parsed.cluster(origin.cluster)
            if info_c.network == info_d.network:
                self.findings.add(
                    F.SHARED_NETWORK,
                    d.name,
                    subject,
                    f"{d.name} and {origin.cluster} share network {info_d.network!r}: failover "
                    "priority on topology.istio.io/network cannot keep traffic local, the shadow "
                    "WorkloadEntries are used alongside local endpoints",
                    hint="give each cluster its own spec.network in its Cluster object",
                    source=gw.setting.fqn,
                )
            for i, address in enumerate(gw.addresses, start=1):
                meta = objects.metadata(
                    workload_entry_name(origin.cluster, namespace, name, i),
                    namespace,
                    gw.workspace,
                    gw.setting,
                    gw.entry,
                    origins=(origin.cluster,),
                )
                body = objects.workload_entry(meta, address, port_names, selector, info_c)
                self._add(d.name, body)
        self._failover_rule(d, key, failover)

    def _failover_rule(self, d: ClusterIndex, key: tuple[str, str], failover: list[Exposure]) -> None:
        """Rule 7, unless a DestinationRule tctl does not own already targets the host.
        Attributed to the first failover origin; derives from all of them."""
        origin = failover[0]
        namespace, name = key
        host = service_fqdn(namespace, name)
        dr_name = destination_rule_name(namespace, name)
        gw = origin.gateway
        in_the_way = []
        for dr in d.destination_rules.get(namespace, ()):
            if service_labels_of(dr).get(MANAGED_BY) == MANAGED_BY_VALUE:
                continue
            same_host = _expand_host(destination_rule_host(dr), namespace) == host
            if same_host or object_name(dr) == dr_name:
                in_the_way.append(object_name(dr))
        if in_the_way:
            self.findings.add(
                F.DESTINATION_RULE_CONFLICT,
                d.name,
                f"DestinationRule {namespace}/{in_the_way[0]}",
                f"not managed by tctl and targets {host}: the failover DestinationRule "
                f"{namespace}/{dr_name} is not generated, so {d.name} fails over only if that rule "
                "sets outlierDetection and localityLbSetting",
                hint="add outlierDetection and localityLbSetting.failoverPriority "
                "[topology.istio.io/network] to it, or delete it and let tctl manage the host",
                source=gw.setting.fqn,
            )
            return
        meta = objects.metadata(
            dr_name,
            namespace,
            gw.workspace,
            gw.setting,
            gw.entry,
            origins={o.cluster for o in failover},
        )
        self._add(d.name, objects.destination_rule(meta, host))

    # -- rule 8 -------------------------------------------------------------------------------

    def gateways(self, exposures: Exposures) -> None:
        for (cluster, namespace, service), exposed in exposures.by_gateway.items():
            gw = min((e.gateway for e in exposed), key=lambda g: g.entry.index)
            hosts = sorted({service_fqdn(e.namespace, e.name) for e in exposed})
            meta = objects.metadata(
                gateway_name(service),
                namespace,
                gw.workspace,
                gw.setting,
                gw.entry,
                origins=(cluster,),
            )
            self._add(cluster, objects.gateway(meta, dict(gw.entry.labels), hosts))

    # -- the xcp-multicluster namespace ----------------------------------------------------------

    def namespaces(self, clusters: list[ClusterIndex]) -> None:
        """Generated where ServiceEntries go and the namespace is missing, or exists because
        tctl created it (else the reconcile layer would prune it). Attributed to the
        consumer's first ServiceEntry; user labels are not copied onto a shared namespace.
        Its origins are those of all its ServiceEntries, so that it is never pruned while one
        of them is kept for an unreadable cluster."""
        for d in clusters:
            entries = self._service_entries.get(d.name)
            if not entries:
                continue
            existing = d.namespaces.get(MULTICLUSTER_NAMESPACE)
            owned = existing is None or (service_labels_of(existing).get(MANAGED_BY) == MANAGED_BY_VALUE)
            if not owned:
                continue
            _, workspace, setting = min(entries, key=lambda e: e[0].name)
            meta = objects.metadata(
                MULTICLUSTER_NAMESPACE,
                "",
                workspace,
                setting,
                None,
                origins=self._consumer_origins.get(d.name, ()),
                propagate=False,
            )
            self._add(d.name, objects.namespace(meta))
