"""The Kubernetes resources the fleet reads and writes, and the one normal form of their objects.

Live reads and snapshot folders both go through `normalize` and `sort_objects`, so the same
cluster gives equal `ClusterState`s whichever way it was read. Pure: no I/O, no `kubernetes`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def display(self) -> str:
        """`services`, `destinationrules.networking.istio.io`: how kubectl names a resource."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        """The API path of the collection (all namespaces if `namespace` is None) or an object."""
        prefix = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace is not None:
            prefix += f"/namespaces/{namespace}"
        prefix += f"/{self.plural}"
        return f"{prefix}/{name}" if name is not None else prefix


NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)
SERVICES = Resource("", "v1", "services", "Service")
DESTINATION_RULES = Resource("networking.istio.io", "v1", "destinationrules", "DestinationRule")
SERVICE_ENTRIES = Resource("networking.istio.io", "v1", "serviceentries", "ServiceEntry")
WORKLOAD_ENTRIES = Resource("networking.istio.io", "v1", "workloadentries", "WorkloadEntry")
GATEWAYS = Resource("networking.istio.io", "v1", "gateways", "Gateway")
INGRESS_GATEWAYS = Resource("install.tetrate.io", "v1alpha1", "ingressgateways", "IngressGateway")
# What tctl generates besides Namespaces and DestinationRules (read whole with the state): listed
# by its managed-by label to see what tctl already wrote.
MANAGED_RESOURCES = (SERVICE_ENTRIES, WORKLOAD_ENTRIES, GATEWAYS)

# What a ClusterState holds, by field: the resource read live and the kind kept from snapshots.
STATE_RESOURCES: dict[str, Resource] = {
    "namespaces": NAMESPACES,
    "services": SERVICES,
    "destination_rules": DESTINATION_RULES,
}

# Never written to a snapshot, whatever a caller passes.
SECRET_KINDS = frozenset({"Secret", "ServiceAccountToken", "TokenRequest"})


def normalize(obj: Mapping, api_version: str = "", kind: str = "", *, managed_fields: bool = False) -> dict:
    """The object as `kubectl get -o yaml` shows it: apiVersion and kind set, no managedFields
    (unless `managed_fields`, for callers that need to know which field manager owns what).

    The API server leaves `apiVersion`/`kind` out of the items of built-in lists; kubectl puts
    them back, and so does this. The input is not changed.
    """
    result = dict(obj)
    if api_version and not result.get("apiVersion"):
        result["apiVersion"] = api_version
    if kind and not result.get("kind"):
        result["kind"] = kind
    metadata = result.get("metadata")
    if not managed_fields and isinstance(metadata, Mapping) and "managedFields" in metadata:
        result["metadata"] = {key: value for key, value in metadata.items() if key != "managedFields"}
    return result


def object_key(obj: Mapping) -> tuple[str, str]:
    metadata = obj.get("metadata") or {}
    return (str(metadata.get("namespace") or ""), str(metadata.get("name") or ""))


def sort_objects(objects: Iterable[Mapping]) -> tuple[dict, ...]:
    """Objects in the API server's order: by namespace, then name."""
    return tuple(sorted(objects, key=object_key))  # type: ignore[arg-type]
