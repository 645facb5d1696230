"""Bodies of the generated Kubernetes objects (SPEC §3.3, §4 rules 4, 6, 7, 8).

Pure constructors: every dict is built in a fixed key order with sorted label maps and copies of
the inputs, so equal inputs give byte-identical YAML/JSON whatever printer is used, and no
generated object aliases the caller's data.
"""

from __future__ import annotations

from dataclasses import dataclass

from .addresses import is_ip
from .names import (
    ANNOTATION_ORIGINS,
    ANNOTATION_SOURCE,
    CLUSTER_LABEL,
    GATEWAY_PORT,
    ISTIO_API_VERSION,
    LABEL_ORGANIZATION,
    LABEL_SETTING,
    LABEL_TENANT,
    LABEL_WORKSPACE,
    MANAGED_BY,
    MANAGED_BY_VALUE,
    MULTICLUSTER_NAMESPACE,
    NETWORK_LABEL,
    TLS_MODE_LABEL,
    label_value,
)
from .parsed import ClusterInfo, GatewayEntry, Setting, Workspace
from .ports import Port

# Failover policy of the DestinationRule (rule 7). Envoy counts connect failures and timeouts
# of TCP services as 5xx too, so one counter covers HTTP and TCP. maxEjectionPercent 100 lets
# every local endpoint be ejected, which is what sends traffic to the other cluster.
OUTLIER_DETECTION = {
    "consecutive5xxErrors": 5,
    "interval": "10s",
    "baseEjectionTime": "30s",
    "maxEjectionPercent": 100,
}
FAILOVER_PRIORITY = [NETWORK_LABEL]


@dataclass(frozen=True)
class Stamp:
    """The labels and annotations that every object one gateway entry (or, for a Namespace,
    one setting) produces carries, sorted, split around the origins annotation so that each
    object's metadata is built without sorting again."""

    labels: tuple[tuple[str, str], ...]
    annotations_before: tuple[tuple[str, str], ...]  # keys sorted before ANNOTATION_ORIGINS
    annotations_after: tuple[tuple[str, str], ...]


def stamp(
    workspace: Workspace, setting: Setting, entry: GatewayEntry | None, *, propagate: bool = True
) -> Stamp:
    """Ownership labels and the source annotation, over the labels/annotations the user put on
    the Workspace, the WorkspaceSetting and the gateway entry's configGenerationMetadata (in that
    order of precedence, lowest first; tctl's own keys always win)."""
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    if propagate:
        for key, value in workspace.labels + setting.labels + (entry.meta_labels if entry else ()):
            labels[key] = value
        for key, value in (
            workspace.annotations + setting.annotations + (entry.meta_annotations if entry else ())
        ):
            annotations[key] = value
    labels.update(
        {
            MANAGED_BY: MANAGED_BY_VALUE,
            LABEL_ORGANIZATION: label_value(workspace.organization),
            LABEL_TENANT: label_value(workspace.tenant),
            LABEL_WORKSPACE: label_value(workspace.name),
            LABEL_SETTING: label_value(setting.name),
        }
    )
    annotations[ANNOTATION_SOURCE] = setting.fqn
    ordered = sorted(annotations.items())
    return Stamp(
        labels=tuple(sorted(labels.items())),
        annotations_before=tuple(kv for kv in ordered if kv[0] < ANNOTATION_ORIGINS),
        annotations_after=tuple(kv for kv in ordered if kv[0] > ANNOTATION_ORIGINS),
    )


def metadata(name: str, namespace: str, stamp: Stamp, origins: str) -> dict:
    """`stamp`'s labels and annotations plus `origins`, the clusters the object derives from
    (the ANNOTATION_ORIGINS value, from `names.join_origins`)."""
    meta: dict = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta["labels"] = dict(stamp.labels)
    annotations = dict(stamp.annotations_before)
    annotations[ANNOTATION_ORIGINS] = origins
    annotations.update(stamp.annotations_after)
    meta["annotations"] = annotations
    return meta


def _topology(spec: dict, info: ClusterInfo) -> dict:
    spec["network"] = info.network
    if info.locality:
        spec["locality"] = info.locality
    return spec


def service_entry(
    meta: dict, host: str, ports: tuple[Port, ...], endpoints: list[tuple[ClusterInfo, str]]
) -> dict:
    """Rule 4: `endpoints` are (origin cluster, gateway address) in output order."""
    port_map = {p.name: GATEWAY_PORT for p in ports}
    eps = []
    for info, address in endpoints:
        labels = {TLS_MODE_LABEL: "istio", CLUSTER_LABEL: label_value(info.name)}
        ep = {"address": address, "ports": dict(port_map), "labels": dict(sorted(labels.items()))}
        eps.append(_topology(ep, info))
    resolution = "STATIC" if all(is_ip(address) for _, address in endpoints) else "DNS"
    return {
        "apiVersion": ISTIO_API_VERSION,
        "kind": "ServiceEntry",
        "metadata": meta,
        "spec": {
            "hosts": [host],
            "location": "MESH_INTERNAL",
            "resolution": resolution,
            "ports": [p.as_dict() for p in ports],
            "endpoints": eps,
        },
    }


def workload_entry_labels(selector: dict) -> dict:
    """Rule 6: the local Service's selector, so that it selects the shadow WorkloadEntry."""
    labels = {str(k): str(v) for k, v in selector.items()}
    labels[TLS_MODE_LABEL] = "istio"
    return dict(sorted(labels.items()))


def workload_entry(meta: dict, address: str, ports: dict, labels: dict, origin: ClusterInfo) -> dict:
    """Rule 6: `ports` maps the local Service's port names to the gateway port; `labels` from
    `workload_entry_labels` (both copied)."""
    spec = {"address": address, "ports": dict(ports), "labels": dict(labels)}
    return {
        "apiVersion": ISTIO_API_VERSION,
        "kind": "WorkloadEntry",
        "metadata": meta,
        "spec": _topology(spec, origin),
    }


def destination_rule(meta: dict, host: str) -> dict:
    """Rule 7: outlier detection plus failover priority on the network label."""
    return {
        "apiVersion": ISTIO_API_VERSION,
        "kind": "DestinationRule",
        "metadata": meta,
        "spec": {
            "host": host,
            "trafficPolicy": {
                "loadBalancer": {
                    "localityLbSetting": {
                        "enabled": True,
                        "failoverPriority": list(FAILOVER_PRIORITY),
                    }
                },
                "outlierDetection": dict(OUTLIER_DETECTION),
            },
        },
    }


def gateway(meta: dict, selector: dict, hosts: list[str]) -> dict:
    """Rule 8: AUTO_PASSTHROUGH on 15443 for exactly the exposed hosts (not `*.local`)."""
    return {
        "apiVersion": ISTIO_API_VERSION,
        "kind": "Gateway",
        "metadata": meta,
        "spec": {
            "selector": dict(sorted(selector.items())),
            "servers": [
                {
                    "port": {"number": GATEWAY_PORT, "name": "tls", "protocol": "TLS"},
                    "hosts": sorted(hosts),
                    "tls": {"mode": "AUTO_PASSTHROUGH"},
                }
            ],
        },
    }


def namespace(meta: dict) -> dict:
    """The `xcp-multicluster` Namespace that holds the ServiceEntries of a consumer cluster."""
    assert meta["name"] == MULTICLUSTER_NAMESPACE
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}
