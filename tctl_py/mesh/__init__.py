"""The pure exposure engine: (configuration, fleet state) -> desired Istio objects + findings.

Standard library only, no I/O, no printing (SPEC §2). Entry point: `compute`. Modules:
`config` (reads Workspace / WorkspaceSetting / Cluster bodies), `coverage` (rule 1, ownership),
`index` (per-cluster lookups), `gateways` (rule 2), `ports`, `exposure` (rule 3), `objects`
(object bodies), `engine` (rules 4-8, determinism), `names` (every name, label and annotation),
`findings` (finding codes).
"""

from . import findings
from .engine import compute
from .model import ClusterState, Finding, GeneratedObject, MeshConfig, MeshResult
from .names import (
    ANNOTATION_SOURCE,
    LABEL_ORGANIZATION,
    LABEL_TENANT,
    LABEL_WORKSPACE,
    MANAGED_BY,
    MANAGED_BY_VALUE,
    MULTICLUSTER_NAMESPACE,
)

__all__ = [
    "ANNOTATION_SOURCE",
    "LABEL_ORGANIZATION",
    "LABEL_TENANT",
    "LABEL_WORKSPACE",
    "MANAGED_BY",
    "MANAGED_BY_VALUE",
    "MULTICLUSTER_NAMESPACE",
    "ClusterState",
    "Finding",
    "GeneratedObject",
    "MeshConfig",
    "MeshResult",
    "compute",
    "findings",
]
