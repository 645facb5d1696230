"""`compute(config, fleet)`: the desired Istio objects of every cluster, plus findings.

Order of work: parse the configuration; index each reachable cluster and find what it exposes
(rules 1-3, `ClusterExposure`, one cluster at a time); gather each exposed Service's origins
across the fleet (`ExposedService`); then, per consumer cluster d and exposed Service s, either
a ServiceEntry (rule 4, d has no s) or shadow WorkloadEntries and a failover DestinationRule
(rules 5-7, d has its own s) (`generate`, one `Unit` per (d, s)); one Gateway per gateway Service
that exposes something (rule 8); the `xcp-multicluster` Namespace where ServiceEntries go.
Work is O(clusters x exposed services) plus one pass over every Service.

Scoped runs (`clusters=`, `kinds=`) read and expose every cluster, since a ServiceEntry's
endpoints come from the others and local-wins needs to know where each Service runs, but run
rules 4-8 only for the requested clusters and build only the requested kinds' bodies.

Unreachable clusters are neither origins nor consumers: nothing is generated for them and
nothing is derived from them (their Services are unknown, not absent). A cluster whose gateway
address annotation is malformed is no origin through that gateway either; it is named in
`MeshResult.held_origins` so that the reconcile plan keeps what was derived from it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from . import findings as F
from . import objects
from .coverage import Coverage
from .exposure import ClusterExposure, Exposure, expose_cluster, unmatched_selectors
from .findings import Findings
from .index import (
    ClusterIndex,
    destination_rule_host,
    object_name,
    service_labels_of,
    service_selector,
    service_type,
)
from .model import ClusterState, Finding, GatewaySummary, GeneratedObject, MeshConfig, MeshResult
from .names import (
    CLUSTER_DOMAIN,
    GATEWAY_PORT,
    MANAGED_BY,
    MANAGED_BY_VALUE,
    MULTICLUSTER_NAMESPACE,
    destination_rule_name,
    gateway_name,
    join_origins,
    service_entry_name,
    service_fqdn,
)
from .parsed import ClusterInfo, ParsedConfig, Setting, Workspace, parse_config
from .ports import service_entry_ports, workload_entry_port_names

KINDS = frozenset({"DestinationRule", "Gateway", "Namespace", "ServiceEntry", "WorkloadEntry"})

ObjectKey = tuple[str, str, str]  # (kind, namespace, name) within one cluster


def compute(
    config: MeshConfig,
    fleet: Sequence[ClusterState],
    *,
    clusters: Iterable[str] | None = None,
    kinds: Iterable[str] | None = None,
) -> MeshResult:
    """The desired objects and findings; with `clusters` (names) and/or `kinds` (among
    `KINDS`), exactly the full result's objects of those clusters and kinds, and its findings
    about those clusters plus the fleet-wide ones (`Finding.cluster == ""`), whatever their
    kind. `gateways` and `held_origins` are always fleet-wide."""
    return Exposed(config, fleet).result(clusters=clusters, kinds=kinds)


def _requested_kinds(kinds: Iterable[str] | None) -> frozenset[str]:
    if kinds is None:
        return KINDS
    wanted = frozenset(kinds)
    if wanted - KINDS:
        raise ValueError(
            f"unknown kind(s) {', '.join(sorted(wanted - KINDS))}: expected among {', '.join(sorted(KINDS))}"
        )
    return wanted


def _requested_clusters(clusters: Iterable[str] | None) -> frozenset[str] | None:
    if isinstance(clusters, str):
        raise TypeError("clusters: a collection of cluster names, not one string")
    return None if clusters is None else frozenset(clusters)


def _unreachable(state: ClusterState) -> Finding:
    return Finding(
        cluster=state.name,
        subject=f"cluster {state.name}",
        message="could not be read"
        + (f" ({state.error})" if state.error else "")
        + ": nothing is generated for it, and its Services are neither exposed nor considered absent",
        code=F.Code.CLUSTER_UNREACHABLE,
    )


class Exposed:
    """The fleet-wide half of the engine: the configuration parsed, every reachable cluster
    indexed and exposed (rules 1-3), each exposed Service's origins. `result()` then runs rules
    4-8 for the clusters and kinds asked, so one `Exposed` serves several scoped results (e.g.
    one per cluster when output is streamed) for the price of one read of the fleet."""

    def __init__(self, config: MeshConfig, fleet: Sequence[ClusterState]) -> None:
        self.read(config, fleet)

    def read(self, config: MeshConfig, fleet: Sequence[ClusterState]) -> None:
        """(Re)computes everything from `config` and `fleet`."""
        findings = Findings()
        self.parsed = parse_config(config, findings)
        self.config_findings = findings.sorted()
        self.coverage = Coverage(self.parsed.workspaces, self.parsed.clusters)
        self.states = {state.name: state for state in _unique_clusters(fleet)}  # sorted by name
        self.indexes: dict[str, ClusterIndex] = {}  # the reachable clusters, sorted by name
        self.exposures: dict[str, ClusterExposure] = {}
        for name, state in self.states.items():
            if state.reachable:
                self.indexes[name] = ClusterIndex.build(state)
                self.exposures[name] = expose_cluster(self.indexes[name], self.parsed, self.coverage)
        by_service: dict[tuple[str, str], list[Exposure]] = {}
        for exposure in self.exposures.values():  # by cluster name
            for key, origin in exposure.services.items():
                by_service.setdefault(key, []).append(origin)
        self.services = {key: ExposedService.of(key, by_service[key]) for key in sorted(by_service)}
        self.fleet_findings = self._fleet_findings()

    def _fleet_findings(self) -> list[Finding]:
        """The findings about no cluster in particular: configuration, selectors, services."""
        findings = Findings()
        hits: set[tuple[str, int, int]] = set()
        for exposure in self.exposures.values():
            hits |= exposure.selector_hits
        unmatched_selectors(self.parsed, hits, findings)
        return [
            *self.config_findings,
            *findings.sorted(),
            *(f for service in self.services.values() for f in service.findings),
        ]

    def result(
        self, *, clusters: Iterable[str] | None = None, kinds: Iterable[str] | None = None
    ) -> MeshResult:
        """See `compute`."""
        wanted = _requested_kinds(kinds)
        names = _requested_clusters(clusters)
        generated: list[GeneratedObject] = []
        findings = dict.fromkeys(self.fleet_findings)  # a Finding's fields are its identity
        for name, state in self.states.items():  # sorted: objects come out sorted
            if names is not None and name not in names:
                continue
            if not state.reachable:
                findings[_unreachable(state)] = None
                continue
            cluster_objects, cluster_findings = self.cluster_result(name, wanted)
            generated += cluster_objects
            findings.update(dict.fromkeys(self.exposures[name].findings))
            findings.update(dict.fromkeys(cluster_findings))
        return MeshResult(
            objects=generated,
            findings=sorted(findings, key=lambda f: f.sort_key),
            gateways=self._gateway_summaries(),
            held_origins=frozenset(
                g.cluster for e in self.exposures.values() for g in e.gateways if g.annotation_error
            ),
        )

    def _gateway_summaries(self) -> list[GatewaySummary]:
        return sorted(
            {
                GatewaySummary(g.cluster, g.namespace, g.service, g.addresses)
                for e in self.exposures.values()
                for g in e.gateways
            },
            key=lambda g: (g.cluster, g.namespace, g.service),
        )

    def cluster_result(
        self, name: str, kinds: Collection[str]
    ) -> tuple[list[GeneratedObject], list[Finding]]:
        """The objects (sorted) and findings rules 4-8 give reachable cluster `name`."""
        index = self.indexes[name]
        units = [generate(self.parsed, self.coverage, index, s, kinds) for s in self.services.values()]
        return assemble(index, self.exposures[name], [u for u in units if u is not None], kinds)


def assemble(
    index: ClusterIndex, exposure: ClusterExposure, units: list[Unit], kinds: Collection[str]
) -> tuple[list[GeneratedObject], list[Finding]]:
    """One cluster's objects, sorted by (kind, namespace, name), and findings, from its units."""
    keyed = [item for unit in units for item in unit.objects]
    if "Gateway" in kinds:
        keyed += gateway_objects(exposure)
    if "Namespace" in kinds:
        keyed += namespace_object(index, units)
    return sort_objects(index.name, keyed), [f for unit in units for f in unit.findings]


def sort_objects(cluster: str, keyed: list[tuple[ObjectKey, GeneratedObject]]) -> list[GeneratedObject]:
    """One cluster's objects sorted by (kind, namespace, name)."""
    keyed = sorted(keyed, key=lambda item: item[0])
    for (key, _), (after, _) in pairwise(keyed):
        if key == after:  # impossible by construction of the names
            raise RuntimeError(f"two generated objects share the identity {cluster} {key}")
    return [obj for _, obj in keyed]


def _unique_clusters(fleet: Sequence[ClusterState]) -> list[ClusterState]:
    """Sorted by name; a name listed twice keeps its reachable, then smallest, description
    (compared in full only then: the repr of a cluster's every object is costly)."""
    listed: dict[str, list[ClusterState]] = {}
    for state in fleet:
        listed.setdefault(state.name, []).append(state)
    return [
        states[0]
        if len(states) == 1
        else min(states, key=lambda s: (not s.reachable, s.server, s.error, repr(s)))
        for name, states in sorted(listed.items())
    ]


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


@dataclass
class ExposedService:
    """Service s across the fleet: its origins O(s), sorted by cluster, and what follows from
    them alone (the same for every consumer)."""

    key: tuple[str, str]
    origins: list[Exposure]
    findings: list[Finding]  # fleet-wide
    sources: str  # the origins annotation of its ServiceEntries: origins with an address
    source_clusters: frozenset[str]
    endpoints: list[tuple[ClusterInfo, str]]  # (origin, gateway address) in output order

    @classmethod
    def of(cls, key: tuple[str, str], origins: list[Exposure]) -> ExposedService:
        namespace, name = key
        subject = f"service {namespace}/{name}"
        findings = Findings()
        lead = origins[0]  # origins are sorted by cluster name
        differing = [o for o in origins if o.ports != lead.ports]
        if differing:
            findings.add(
                F.Code.PORT_CONFLICT,
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
            findings.add(
                F.Code.SERVICE_MULTIPLE_WORKSPACES,
                "",
                subject,
                f"exposed by several workspaces ({', '.join(fqns)}); its ServiceEntries are "
                f"attributed to {lead.gateway.setting.fqn}, the setting of {lead.cluster}",
                source=lead.gateway.setting.fqn,
            )
        sources = frozenset(o.cluster for o in origins if o.gateway.addresses)
        return cls(
            key=key,
            origins=origins,
            findings=findings.sorted(),
            sources=join_origins(sources),
            source_clusters=sources,
            endpoints=[(o.info, a) for o in origins for a in o.gateway.addresses],
        )

    @property
    def lead(self) -> Exposure:
        return self.origins[0]


@dataclass
class Unit:
    """What consumer cluster d gets from one exposed Service s (rules 4-7)."""

    objects: list[tuple[ObjectKey, GeneratedObject]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # all about d
    # d's ServiceEntry for s, as its xcp-multicluster Namespace needs it (even when the
    # ServiceEntry's body was not asked for): (name, workspace, setting, origins)
    service_entry: tuple[str, Workspace, Setting, frozenset[str]] | None = None
    # d's own Service s, and per failover origin the exposure its shadow WorkloadEntries came
    # from: a later unit for the same pair reuses them while both are the very same objects
    local: dict | None = None
    shadows: dict[str, tuple[Exposure, list[tuple[ObjectKey, GeneratedObject]]]] = field(default_factory=dict)


def generate(
    parsed: ParsedConfig,
    coverage: Coverage,
    d: ClusterIndex,
    service: ExposedService,
    kinds: Collection[str],
    previous: Unit | None = None,
) -> Unit | None:
    """Rules 4-7 for consumer d and exposed Service s; None when s has no origin but d.
    `previous`: the unit computed for the same pair before, whose shadow WorkloadEntries are
    reused where neither d's Service nor the origin's exposure changed since (by identity)."""
    remote = [o for o in service.origins if o.cluster != d.name]
    if not remote:
        return None
    unit = Unit()
    findings = Findings()
    local = d.services.get(service.key)
    if local is None:
        _service_entry(unit, d, service, kinds)
    else:
        unit.local = local
        reusable = previous.shadows if previous is not None and previous.local is local else {}
        _shadow(unit, findings, parsed, coverage, d, service, local, remote, kinds, reusable)
    unit.findings = findings.sorted()
    return unit


def _add(unit: Unit, d: ClusterIndex, body: dict) -> None:
    meta = body["metadata"]
    obj = GeneratedObject(cluster=d.name, body=body)
    unit.objects.append(((body["kind"], meta.get("namespace", ""), meta["name"]), obj))


def _service_entry(unit: Unit, d: ClusterIndex, service: ExposedService, kinds: Collection[str]) -> None:
    """Rule 4 (d has no Service s; d is never an origin then)."""
    namespace, name = service.key
    gw = service.lead.gateway
    se_name = service_entry_name(namespace, name)
    unit.service_entry = (se_name, gw.workspace, gw.setting, service.source_clusters)
    if "ServiceEntry" not in kinds:
        return
    meta = objects.metadata(se_name, MULTICLUSTER_NAMESPACE, gw.stamp, service.sources)
    host = service_fqdn(namespace, name)
    _add(unit, d, objects.service_entry(meta, host, service.lead.ports, service.endpoints))


def _shadow(
    unit: Unit,
    findings: Findings,
    parsed: ParsedConfig,
    coverage: Coverage,
    d: ClusterIndex,
    service: ExposedService,
    local: dict,
    remote: list[Exposure],
    kinds: Collection[str],
    reusable: dict[str, tuple[Exposure, list[tuple[ObjectKey, GeneratedObject]]]],
) -> None:
    """Rules 5-7: d has its own Service s, so no ServiceEntry; failover to the other
    origins of the same workspace when that workspace also covers d/ns."""
    namespace, name = service.key
    subject = f"service {namespace}/{name}"
    owner = coverage.owner(d.name, namespace)
    failover = [o for o in remote if o.gateway.workspace is owner]
    elsewhere = [o for o in remote if o.gateway.workspace is not owner]
    if elsewhere:
        by = sorted({o.gateway.workspace.fqn for o in elsewhere})
        findings.add(
            F.Code.NO_FAILOVER,
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
        findings.add(
            F.Code.FAILOVER_UNSUPPORTED, d.name, subject, f"no failover: {reason}", source=setting.fqn
        )
        return
    if unmapped:
        findings.add(
            F.Code.PORT_UNSUPPORTED,
            d.name,
            subject,
            f"unnamed port(s) {', '.join(unmapped)} of the local Service do not fail over "
            "(Istio maps WorkloadEntry ports by Service port name)",
            hint="name every port of the Service",
            source=setting.fqn,
        )
    local_numbers = frozenset(p.number for p in service_entry_ports(local)[0])
    info_d = parsed.cluster(d.name)
    ports = dict.fromkeys(port_names, GATEWAY_PORT)
    labels = objects.workload_entry_labels(selector)
    for origin in failover:
        gw = origin.gateway
        if origin.port_numbers != local_numbers:
            findings.add(
                F.Code.PORT_CONFLICT,
                d.name,
                subject,
                f"local ports differ from those of {origin.cluster} "
                f"({_describe_ports(origin)}): failover works only for the ports both have",
                hint="give the Service the same ports in every cluster",
                source=gw.setting.fqn,
            )
        info_c = origin.info
        if info_c.network == info_d.network:
            findings.add(
                F.Code.SHARED_NETWORK,
                d.name,
                subject,
                f"{d.name} and {origin.cluster} share network {info_d.network!r}: failover "
                "priority on topology.istio.io/network cannot keep traffic local, the shadow "
                "WorkloadEntries are used alongside local endpoints",
                hint="give each cluster its own spec.network in its Cluster object",
                source=gw.setting.fqn,
            )
        if "WorkloadEntry" not in kinds:
            continue
        kept = reusable.get(origin.cluster)
        if kept is None or kept[0] is not origin:
            shadows = []
            for we_name, address in zip(origin.workload_entry_names, gw.addresses, strict=True):
                meta = objects.metadata(we_name, namespace, gw.stamp, gw.origins)
                body = objects.workload_entry(meta, address, ports, labels, info_c)
                shadows.append((("WorkloadEntry", namespace, we_name), GeneratedObject(d.name, body)))
            kept = (origin, shadows)
        unit.shadows[origin.cluster] = kept
        unit.objects += kept[1]
    _failover_rule(unit, findings, d, service.key, failover, kinds)


def _failover_rule(
    unit: Unit,
    findings: Findings,
    d: ClusterIndex,
    key: tuple[str, str],
    failover: list[Exposure],
    kinds: Collection[str],
) -> None:
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
        findings.add(
            F.Code.DESTINATION_RULE_CONFLICT,
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
    if "DestinationRule" not in kinds:
        return
    meta = objects.metadata(dr_name, namespace, gw.stamp, join_origins(o.cluster for o in failover))
    _add(unit, d, objects.destination_rule(meta, host))


def gateway_objects(exposure: ClusterExposure) -> list[tuple[ObjectKey, GeneratedObject]]:
    """Rule 8: one Gateway per gateway Service of the cluster that exposes something."""
    result = []
    for (namespace, service), exposed in exposure.by_gateway.items():
        gw = min((e.gateway for e in exposed), key=lambda g: g.entry.index)
        hosts = sorted({service_fqdn(e.namespace, e.name) for e in exposed})
        meta = objects.metadata(gateway_name(service), namespace, gw.stamp, gw.origins)
        obj = GeneratedObject(exposure.cluster, objects.gateway(meta, dict(gw.entry.labels), hosts))
        result.append((("Gateway", namespace, meta["name"]), obj))
    return result


def namespace_object(d: ClusterIndex, units: list[Unit]) -> list[tuple[ObjectKey, GeneratedObject]]:
    """The xcp-multicluster Namespace, generated where ServiceEntries go and the namespace is
    missing, or exists because tctl created it (else the reconcile layer would prune it).
    Attributed to the consumer's first ServiceEntry; user labels are not copied onto a shared
    namespace. Its origins are those of all its ServiceEntries, so that it is never pruned while
    one of them is kept for an unreadable cluster."""
    entries = [u.service_entry for u in units if u.service_entry is not None]
    if not entries:
        return []
    existing = d.namespaces.get(MULTICLUSTER_NAMESPACE)
    if existing is not None and service_labels_of(existing).get(MANAGED_BY) != MANAGED_BY_VALUE:
        return []
    _, workspace, setting, _ = min(entries, key=lambda e: e[0])
    origins = join_origins(c for entry in entries for c in entry[3])
    stamp = objects.stamp(workspace, setting, None, propagate=False)
    meta = objects.metadata(MULTICLUSTER_NAMESPACE, "", stamp, origins)
    return [(("Namespace", "", MULTICLUSTER_NAMESPACE), GeneratedObject(d.name, objects.namespace(meta)))]
