"""Failover readiness (SPEC §11): for each exposed Service and each cluster of the fleet, the
cluster's role, where its traffic for the Service goes first and fails over to, the generated
objects that make it so, and whether failover is ready — with every reason it is not.

Pure: it reads what the engine computed (`Exposed`, and the objects of a full `MeshResult`) and
never recomputes a rule, so status and the generated objects cannot disagree. The same rows feed
`tctl status`, `tctl describe` and `tctl graph`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .addresses import is_ip
from .engine import Exposed
from .exposure import Exposure
from .gateways import GatewayState
from .model import GeneratedObject, MeshResult
from .names import MULTICLUSTER_NAMESPACE, destination_rule_name, service_entry_name, service_fqdn
from .ports import workload_entry_port_names


class Role(StrEnum):
    ORIGIN = "origin"  # runs the Service, exposes it, nothing to fail over to
    CONSUMER = "consumer"  # no local Service: reaches the origins through a ServiceEntry
    LOCAL_FAILOVER = "local+failover"  # runs it, fails over to other origins
    NOT_COVERED = "not-covered"  # runs it in a namespace the exposing workspace does not own
    UNKNOWN = "unknown"  # the cluster could not be read


class Reason(StrEnum):
    """Why failover (or, for a consumer, reaching the Service) is not ready; stable for `-o json`."""

    CLUSTER_UNREADABLE = "cluster-unreadable"
    NO_REMOTE_ORIGIN = "no-remote-origin"
    GATEWAY_PENDING = "gateway-pending"
    GATEWAY_MISSING = "gateway-missing"
    GATEWAY_OUTSIDE_WORKSPACE = "gateway-outside-workspace"
    GATEWAY_ADDRESS_INVALID = "gateway-address-invalid"
    HOSTNAME_ADDRESS = "hostname-address"
    SHARED_NETWORK = "shared-network"
    USER_DESTINATION_RULE = "user-destinationrule"
    UNNAMED_PORTS = "unnamed-ports"
    LOCAL_SERVICE_UNSUPPORTED = "local-service-unsupported"
    WORKSPACE_NOT_SPANNING = "workspace-not-spanning"


@dataclass(frozen=True)
class Blocker:
    reason: Reason
    detail: str  # one line a person can act on
    cluster: str = ""  # the other cluster at fault, when it is another one


@dataclass(frozen=True)
class ObjectRef:
    kind: str
    namespace: str
    name: str


@dataclass(frozen=True)
class ServiceStatus:
    """One exposed Service in one cluster."""

    namespace: str
    name: str
    cluster: str
    role: Role
    first: tuple[str, ...]  # clusters traffic goes to first (the cluster itself: local)
    failover: tuple[str, ...]  # clusters it fails over to when local endpoints are ejected
    addresses: tuple[tuple[str, tuple[str, ...]], ...]  # (cluster, gateway addresses) dialled
    objects: tuple[ObjectRef, ...]  # generated objects that carry this Service in this cluster
    blockers: tuple[Blocker, ...]
    rule: int  # the SPEC §4 rule that decided the role (0: none, the cluster is unknown)

    @property
    def ready(self) -> bool:
        return not self.blockers

    @property
    def service(self) -> str:
        return f"{self.name}.{self.namespace}"


def service_status(exposed: Exposed, result: MeshResult) -> list[ServiceStatus]:
    """Every exposed Service (exposed from some cluster, or selected for exposure but held by
    its gateway) in every cluster of the fleet; sorted by namespace, name, cluster. `result`
    must hold the objects of every cluster (`exposed.result()`)."""
    keys = set(exposed.services)
    for exposure in exposed.exposures.values():
        keys |= set(exposure.waiting)
    by_cluster: dict[str, dict[tuple[str, str, str], GeneratedObject]] = {}
    for obj in result.objects:
        by_cluster.setdefault(obj.cluster, {})[(obj.kind, obj.namespace, obj.name)] = obj
    return [
        _status(exposed, key, cluster, by_cluster.get(cluster, {}))
        for key in sorted(keys)
        for cluster in exposed.states
    ]


def _status(
    exposed: Exposed,
    key: tuple[str, str],
    cluster: str,
    objects: dict[tuple[str, str, str], GeneratedObject],
) -> ServiceStatus:
    namespace, name = key
    state = exposed.states[cluster]

    def row(
        role: Role, rule: int, blockers=(), first=(), failover=(), addresses=(), refs=()
    ) -> ServiceStatus:
        return ServiceStatus(
            namespace,
            name,
            cluster,
            role,
            tuple(first),
            tuple(failover),
            tuple(addresses),
            tuple(refs),
            tuple(blockers),
            rule,
        )

    if not state.reachable:
        detail = f"{cluster} could not be read" + (f": {state.error}" if state.error else "")
        return row(Role.UNKNOWN, 0, [Blocker(Reason.CLUSTER_UNREADABLE, detail)])
    exposed_service = exposed.services.get(key)
    origins = exposed_service.origins if exposed_service else []
    remote = [o for o in origins if o.cluster != cluster]
    held = _held(exposed, key, skip=cluster)
    local = exposed.indexes[cluster].services.get(key)
    if local is None:  # rule 4: a ServiceEntry to the origins
        refs = _present(
            objects, [("ServiceEntry", MULTICLUSTER_NAMESPACE, service_entry_name(namespace, name))]
        )
        if not remote:
            return row(
                Role.CONSUMER,
                4,
                held + _unknown(exposed) or [Blocker(Reason.NO_REMOTE_ORIGIN, "no cluster exposes it")],
            )
        return row(Role.CONSUMER, 4, first=[o.cluster for o in remote], addresses=_dialled(remote), refs=refs)
    owner = exposed.coverage.owner(cluster, namespace)
    exposing = {o.gateway.workspace.fqn for o in origins} | {
        st.gateway.workspace.fqn for st in _waiting(exposed, key) if st.gateway is not None
    }
    gateway_refs = _gateway_objects(objects, service_fqdn(namespace, name))
    if owner is None or owner.fqn not in exposing:  # rule 1: the workspace stops short of here
        where = f"{cluster}/{namespace}"
        detail = f"the exposing workspace does not own {where}: the local Service cannot fail over"
        return row(Role.NOT_COVERED, 1, [Blocker(Reason.WORKSPACE_NOT_SPANNING, detail)], first=[cluster])
    failover = [o for o in remote if o.gateway.workspace is owner]
    if not failover:  # an origin alone
        held = _held(exposed, key) + _unknown(exposed)  # its own gateway, too
        blockers = held or [Blocker(Reason.NO_REMOTE_ORIGIN, "no other cluster exposes it to fail over to")]
        return row(Role.ORIGIN, 3, blockers, first=[cluster], refs=gateway_refs)
    blockers = _failover_blockers(exposed, cluster, key, local, failover, objects)
    refs = _present(
        objects,
        [("WorkloadEntry", namespace, n) for o in failover for n in o.workload_entry_names]
        + [("DestinationRule", namespace, destination_rule_name(namespace, name))],
    )
    return row(
        Role.LOCAL_FAILOVER,
        6,
        blockers + held,
        first=[cluster],
        failover=[o.cluster for o in failover],
        addresses=_dialled(failover),
        refs=gateway_refs + refs,
    )


def _failover_blockers(
    exposed: Exposed,
    cluster: str,
    key: tuple[str, str],
    local: dict,
    failover: list[Exposure],
    objects: dict[tuple[str, str, str], GeneratedObject],
) -> list[Blocker]:
    """Rules 6-7 as generated for `cluster`, read back: what keeps its failover from working."""
    namespace, name = key
    port_names, unnamed = workload_entry_port_names(local)
    shadows = [("WorkloadEntry", namespace, n) for o in failover for n in o.workload_entry_names]
    if not port_names or not any(k in objects for k in shadows):
        detail = "the local Service has no selector or no named TCP port: no shadow WorkloadEntries"
        return [Blocker(Reason.LOCAL_SERVICE_UNSUPPORTED, detail)]
    blockers = []
    if unnamed:
        detail = f"unnamed port(s) {', '.join(unnamed)} of the local Service do not fail over"
        blockers.append(Blocker(Reason.UNNAMED_PORTS, detail))
    if ("DestinationRule", namespace, destination_rule_name(namespace, name)) not in objects:
        detail = (
            f"a DestinationRule tctl does not manage targets {service_fqdn(namespace, name)}: "
            "no failover DestinationRule (outlierDetection, localityLbSetting) is generated"
        )
        blockers.append(Blocker(Reason.USER_DESTINATION_RULE, detail))
    network = exposed.parsed.cluster(cluster).network
    for origin in failover:
        hostnames = [a for a in origin.gateway.addresses if not is_ip(a)]
        if hostnames:
            detail = f"gateway of {origin.cluster} has DNS-name address {', '.join(hostnames)}: shadow WorkloadEntries need IPs"
            blockers.append(Blocker(Reason.HOSTNAME_ADDRESS, detail, origin.cluster))
        if origin.info.network == network:
            detail = f"{cluster} and {origin.cluster} share network {network!r}: traffic does not stay local"
            blockers.append(Blocker(Reason.SHARED_NETWORK, detail, origin.cluster))
    return blockers


def _waiting(exposed: Exposed, key: tuple[str, str]) -> list[GatewayState]:
    return [e.waiting[key] for e in exposed.exposures.values() if key in e.waiting]


def _held(exposed: Exposed, key: tuple[str, str], skip: str = "") -> list[Blocker]:
    """The clusters (but `skip`) that run the Service and select it for exposure, but whose
    gateway cannot expose it: they are no origin."""
    blockers = []
    for other, exposure in exposed.exposures.items():
        state = exposure.waiting.get(key)
        if other == skip or state is None:
            continue
        gateway = state.gateway
        where = f"{other} (namespace {state.entry.namespace})"
        if not state.covered:
            reason, detail = Reason.GATEWAY_OUTSIDE_WORKSPACE, f"gateway of {where} is outside the workspace"
        elif gateway is None:
            reason, detail = Reason.GATEWAY_MISSING, f"no East-West gateway in {where}"
        elif gateway.annotation_error:
            reason, detail = (
                Reason.GATEWAY_ADDRESS_INVALID,
                f"{gateway.subject} of {other}: address annotation cannot be used",
            )
        else:
            reason, detail = Reason.GATEWAY_PENDING, f"{gateway.subject} of {other} has no address yet"
        blockers.append(Blocker(reason, detail, other))
    return blockers


def _unknown(exposed: Exposed) -> list[Blocker]:
    """The clusters that could not be read: any of them may be the origin failover needs."""
    return [
        Blocker(Reason.CLUSTER_UNREADABLE, f"{name} could not be read: it may run the service", name)
        for name, state in exposed.states.items()
        if not state.reachable
    ]


def _dialled(origins: list[Exposure]) -> list[tuple[str, tuple[str, ...]]]:
    return [(o.cluster, o.gateway.addresses) for o in origins]


def _present(
    objects: dict[tuple[str, str, str], GeneratedObject], keys: list[tuple[str, str, str]]
) -> list[ObjectRef]:
    return [ObjectRef(*k) for k in keys if k in objects]


def _gateway_objects(objects: dict[tuple[str, str, str], GeneratedObject], host: str) -> list[ObjectRef]:
    """The cluster's Istio Gateway objects that let other clusters in to `host` (rule 8)."""
    found = []
    for (kind, namespace, name), obj in objects.items():
        servers = obj.body.get("spec", {}).get("servers", []) if kind == "Gateway" else []
        if any(host in server.get("hosts", []) for server in servers):
            found.append(ObjectRef(kind, namespace, name))
    return found
