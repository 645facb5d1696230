"""Bodies of the generated Kubernetes objects (SPEC §3.3, §4 rules 4, 6, 7, 8).

Pure constructors: every dict is built in a fixed key order with sorted label maps and copies of
the inputs, so equal inputs give byte-identical YAML/JSON whatever printer is used, and no
generated object aliases the caller's data.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from .addresses import is_ip
from .config import ClusterInfo, GatewayEntry, Setting, Workspace
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
    join_origins,
    label_value,
)
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


def metadata(
    name: str,
    namespace: str,
    workspace: Workspace,
    setting: Setting,
    entry: GatewayEntry | None,
    *,
    origins: Iterable[str],
    propagate: bool = True,
) -> dict:
    """Ownership labels, the source and origins annotations, over the labels/annotations the
    user put on the Workspace, the WorkspaceSetting and the gateway entry's
    configGenerationMetadata (in that order of precedence, lowest first; tctl's own keys always
    win). `origins`: the clusters the object derives from (annotation ANNOTATION_ORIGINS)."""
    labels, annotations = _labels_and_annotations(workspace, setting, entry, propagate)
    meta: dict = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta["labels"] = dict(labels)
    merged = dict(annotations)
    merged[ANNOTATION_ORIGINS] = join_origins(origins)
    meta["annotations"] = dict(sorted(merged.items()))
    return meta


@lru_cache(maxsize=1024)
def _labels_and_annotations(
    workspace: Workspace, setting: Setting, entry: GatewayEntry | None, propagate: bool
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
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
    return tuple(sorted(labels.items())), tuple(sorted(annotations.items()))


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


def workload_entry(
    meta: dict, address: str, port_names: tuple[str, ...], selector: dict, origin: ClusterInfo
) -> dict:
    """Rule 6: selected by the local Service through its selector labels."""
    labels = {str(k): str(v) for k, v in selector.items()}
    labels[TLS_MODE_LABEL] = "istio"
    spec = {
        "address": address,
        "ports": {name: GATEWAY_PORT for name in port_names},
        "labels": dict(sorted(labels.items())),
    }
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
