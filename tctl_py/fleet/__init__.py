"""The fleet: which clusters there are and what they hold, live or from a snapshot folder.

- `kubeconfig`: kubeconfig files merged by kubectl's rules (pure).
- `snapshot`: `--fleet DIR` folders, read and written (pure file I/O).
- `live`: live clusters read through the official `kubernetes` client, and `writer`: applies
  and deletes through it — the only modules of tctl that import `kubernetes`, and only inside
  functions.
- `parallel`: work on every cluster at once, one failure never stopping the others.

Importing this package imports none of them: names are resolved on first use (PEP 562), so
`import tctl_py.fleet` costs nothing and never loads `kubernetes` (or even `yaml`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "ClusterRef": "kubeconfig",
    "Kubeconfig": "kubeconfig",
    "KubeconfigError": "kubeconfig",
    "load_kubeconfig": "kubeconfig",
    "merge_kubeconfigs": "kubeconfig",
    "read_snapshot": "snapshot",
    "write_snapshot": "snapshot",
    "ClusterRequestError": "live",
    "LiveFleet": "live",
    "api_client_for": "live",
    "list_objects": "live",
    "load_live": "live",
    "read_cluster": "live",
    "read_live": "live",
    "run_per_cluster": "parallel",
    "ApplyConflict": "writer",
    "ClusterClient": "writer",
    "RetryPolicy": "retry",
    "UnsupportedResource": "writer",
    "resource_for": "writer",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from tctl_py.fleet.kubeconfig import (
        ClusterRef,
        Kubeconfig,
        KubeconfigError,
        load_kubeconfig,
        merge_kubeconfigs,
    )
    from tctl_py.fleet.live import (
        ClusterRequestError,
        LiveFleet,
        api_client_for,
        list_objects,
        load_live,
        read_cluster,
        read_live,
    )
    from tctl_py.fleet.parallel import run_per_cluster
    from tctl_py.fleet.retry import RetryPolicy
    from tctl_py.fleet.snapshot import read_snapshot, write_snapshot
    from tctl_py.fleet.writer import ApplyConflict, ClusterClient, UnsupportedResource, resource_for


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
