"""East-west gateways (SPEC §4 rule 2): the Service that fronts gateway G in a cluster, and its
addresses.

The addresses are what other clusters dial on port 15443, so their order is part of the output
(shadow WorkloadEntry suffixes `-2`, `-3` follow it): IPs first in numeric order (IPv4 before
IPv6), then DNS names in lexical order, de-duplicated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from . import findings as F
from .addresses import is_ip, parse_annotation, parse_reported
from .coverage import Coverage
from .findings import Findings
from .index import ClusterIndex, service_labels_of, service_selector
from .names import EXTERNAL_ADDRESSES_ANNOTATION, SYSTEM_NAMESPACES, join_origins
from .objects import Stamp, stamp
from .parsed import GatewayEntry, Setting, Workspace, as_list, as_map, as_str, contains


def gateway_addresses(service: dict) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """(addresses in rule-2 order, reported values that are neither an IP nor a DNS name, why
    the annotation cannot be used or "").

    The `xcp.tetrate.io/cluster-external-addresses` annotation, when set and not blank, replaces
    what the load balancer reports (TSB: one IP, several comma-separated IPs, or one DNS name).
    A malformed annotation gives no address at all: guessing from the load balancer instead
    could route other clusters to addresses the owner meant to replace.
    """
    annotation = service_labels_of(service, "annotations").get(EXTERNAL_ADDRESSES_ANNOTATION)
    if isinstance(annotation, str) and annotation.strip():
        addresses, problem = parse_annotation(annotation)
        return addresses, (), problem
    reported: list[str] = []
    status = as_map(as_map(service.get("status")).get("loadBalancer"))
    for ingress in as_list(status.get("ingress")):
        ingress = as_map(ingress)
        reported += [as_str(ingress.get("ip")), as_str(ingress.get("hostname"))]
    reported += [as_str(ip) for ip in as_list(as_map(service.get("spec")).get("externalIPs"))]
    addresses, invalid = parse_reported(reported)
    return addresses, invalid, ""


@dataclass(frozen=True)
class Gateway:
    """Gateway G of workspace W, resolved in one cluster."""

    cluster: str
    namespace: str
    service: str  # name of the gateway Service
    addresses: tuple[str, ...]
    workspace: Workspace
    setting: Setting
    entry: GatewayEntry
    annotation_error: str = ""  # why its address annotation cannot be used: it is held

    @cached_property
    def stamp(self) -> Stamp:
        """The labels and annotations of every object this gateway's entry produces."""
        return stamp(self.workspace, self.setting, self.entry)

    @cached_property
    def origins(self) -> str:
        """The origins annotation of objects derived from this gateway's cluster alone."""
        return join_origins((self.cluster,))

    @property
    def has_hostname(self) -> bool:
        return any(not is_ip(a) for a in self.addresses)

    @property
    def subject(self) -> str:
        return f"gateway {self.namespace}/{self.service}"


@dataclass
class GatewayState:
    """What G is in one cluster: usable (`gateway` with addresses), pending, missing or not W's."""

    entry: GatewayEntry
    covered: bool = False  # W owns (cluster, G's namespace)
    gateway: Gateway | None = None  # None: no matching Service (or not covered)
    service_keys: set[tuple[str, str]] = field(default_factory=set)  # every matching Service

    @property
    def usable(self) -> bool:
        return self.gateway is not None and bool(self.gateway.addresses)


def resolve_gateways(
    index: ClusterIndex,
    workspace: Workspace,
    setting: Setting,
    coverage: Coverage,
    findings: Findings,
) -> list[GatewayState]:
    """One GatewayState per entry of `setting`, in entry order, for cluster `index`."""
    states = []
    cluster = index.name
    for entry in setting.gateways:
        state = GatewayState(entry=entry)
        states.append(state)
        if not entry.namespace or not entry.labels:
            continue
        matches = [
            (name, svc)
            for name, svc in index.by_namespace.get(entry.namespace, ())
            if contains(service_selector(svc), entry.labels)
        ]
        if not coverage.covers(workspace, cluster, entry.namespace, findings):
            if matches:
                findings.add(
                    F.Code.GATEWAY_OUTSIDE_WORKSPACE,
                    cluster,
                    f"gateway {entry.namespace}/{matches[0][0]}",
                    f"matches defaultEastWestGatewaySettings[{entry.index}] but namespace "
                    f"{entry.namespace} of {cluster} is not in workspace {workspace.fqn}: not used",
                    hint=f"add {cluster}/{entry.namespace} (or */{entry.namespace}) to the "
                    "workspace's namespaceSelector"
                    + (
                        f" ({entry.namespace} is a system namespace: `*` and prefixes leave it out)"
                        if entry.namespace in SYSTEM_NAMESPACES
                        else ""
                    ),
                    source=setting.fqn,
                )
            continue
        state.covered = True
        if not matches:
            continue
        state.service_keys = {(entry.namespace, name) for name, _ in matches}
        name, svc = matches[0]
        if len(matches) > 1:
            findings.add(
                F.Code.GATEWAY_AMBIGUOUS,
                cluster,
                f"gateway {entry.namespace}/{name}",
                f"{len(matches)} Services select labels {dict(entry.labels)}: "
                f"{', '.join(n for n, _ in matches)}; using {name} (first by name)",
                source=setting.fqn,
            )
        addresses, invalid, annotation_error = gateway_addresses(svc)
        state.gateway = Gateway(
            cluster=cluster,
            namespace=entry.namespace,
            service=name,
            addresses=addresses,
            workspace=workspace,
            setting=setting,
            entry=entry,
            annotation_error=annotation_error,
        )
        subject = state.gateway.subject
        if annotation_error:
            value = service_labels_of(svc, "annotations")[EXTERNAL_ADDRESSES_ANNOTATION]
            findings.add(
                F.Code.GATEWAY_ANNOTATION_INVALID,
                cluster,
                subject,
                f"annotation {EXTERNAL_ADDRESSES_ANNOTATION}={value!r} of Service "
                f"{entry.namespace}/{name} cannot be used ({annotation_error}): this gateway "
                f"exposes nothing new, and what was derived from {cluster} is kept as it is "
                "until the annotation is fixed",
                hint='set it to comma-separated IPs ("10.0.0.1,10.0.0.2") or one DNS name '
                '("ew.example.com"), or remove it to use the load balancer\'s addresses',
                source=setting.fqn,
            )
            continue
        if invalid:
            findings.add(
                F.Code.GATEWAY_INVALID_ADDRESS,
                cluster,
                subject,
                f"ignored address(es) that are neither an IP nor a DNS name: {', '.join(invalid)}",
                source=setting.fqn,
            )
        if not addresses:
            findings.add(
                F.Code.GATEWAY_PENDING,
                cluster,
                subject,
                "pending: the gateway has no external address yet, so it exposes nothing",
                hint="wait for the load balancer, or set the annotation "
                f"{EXTERNAL_ADDRESSES_ANNOTATION} on the gateway Service",
                source=setting.fqn,
            )
        elif state.gateway.has_hostname:
            names = ", ".join(a for a in addresses if not is_ip(a))
            findings.add(
                F.Code.GATEWAY_HOSTNAME,
                cluster,
                subject,
                f"address {names} is a DNS name: ServiceEntries for it use resolution DNS, and "
                "shadow WorkloadEntries with a DNS-name address do not fail over (Istio needs IPs)",
                hint=f"set {EXTERNAL_ADDRESSES_ANNOTATION} on the gateway Service to its IPs",
                source=setting.fqn,
            )
    return states
