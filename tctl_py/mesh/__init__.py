"""The pure exposure engine: (configuration, fleet state) -> desired Istio objects + findings.

Standard library only, no I/O, no printing (SPEC §2). Entry points: `compute` (optionally
scoped to some clusters and kinds), `Exposed` (the fleet read once, then scoped results) and
`Engine` (incremental: the result kept up to date from watch-like `Change`s). Modules: `parsed`
(reads Workspace / WorkspaceSetting / Cluster bodies), `coverage` (rule 1, ownership), `index`
(per-cluster lookups), `gateways` (rule 2), `ports`, `exposure` (rule 3, per cluster),
`objects` (object bodies), `engine` (rules 4-8, determinism, scoping), `incremental` (`Engine`
and the changes it takes), `names` (every name, label and annotation), `findings` (finding
codes).
"""

from typing import TYPE_CHECKING, Any

from . import findings
from .engine import KINDS, Exposed, compute
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
    "KINDS",
    "LABEL_ORGANIZATION",
    "LABEL_TENANT",
    "LABEL_WORKSPACE",
    "MANAGED_BY",
    "MANAGED_BY_VALUE",
    "MULTICLUSTER_NAMESPACE",
    "WATCHED_KINDS",
    "Change",
    "ClusterRead",
    "ClusterRemoved",
    "ClusterState",
    "ClusterUnreadable",
    "ConfigChanged",
    "Engine",
    "Exposed",
    "Finding",
    "GeneratedObject",
    "MeshConfig",
    "MeshResult",
    "ObjectEvent",
    "compute",
    "findings",
]

if TYPE_CHECKING:
    from .incremental import (
        WATCHED_KINDS,
        Change,
        ClusterRead,
        ClusterRemoved,
        ClusterUnreadable,
        ConfigChanged,
        Engine,
        ObjectEvent,
    )

# The incremental engine is the watch loop's: a one-shot command does not pay for its import.
_INCREMENTAL = frozenset(
    {
        "WATCHED_KINDS",
        "Change",
        "ClusterRead",
        "ClusterRemoved",
        "ClusterUnreadable",
        "ConfigChanged",
        "Engine",
        "ObjectEvent",
    }
)


def __getattr__(name: str) -> Any:
    if name in _INCREMENTAL:
        from . import incremental

        return getattr(incremental, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
