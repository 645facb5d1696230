"""The fleet: which clusters there are and what they hold, live or from a snapshot folder.

- `kubeconfig`: kubeconfig files merged by kubectl's rules (pure).
- `snapshot`: `--fleet DIR` folders, read and written (pure file I/O).
- `connection`: the `Endpoint` of one context: server, TLS, proxy and credentials, read as
  kubectl reads them; a user with an exec plugin or an auth provider is configured by the
  official `kubernetes` client (the only module of tctl importing it, inside a function, for
  those users only). `client`: `ClusterClient`, the one HTTP client of a cluster for every read
  and write (one request path, one retry policy).
- `transport`: HTTP/1.1 over pooled keep-alive connections to one API server, the wire under
  `ClusterClient`.
- `live`: the states of live clusters, read concurrently through their clients.
- `loader`: the `Fleet` a command works on, from `FleetOptions` (snapshot or live, timeouts,
  concurrency, interrupt), with one client per cluster.
- `parallel`: work on every cluster at once, one failure never stopping the others, and a
  bounded number of writes at once within one.

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
    "LiveFleet": "live",
    "load_live": "live",
    "read_cluster": "live",
    "read_live": "live",
    "Fleet": "loader",
    "FleetOptions": "loader",
    "load_fleet": "loader",
    "run_per_cluster": "parallel",
    "endpoint_for": "connection",
    "ApplyConflict": "client",
    "ClusterClient": "client",
    "ClusterRequestError": "client",
    "UnsupportedResource": "client",
    "resource_for": "client",
    "RetryPolicy": "retry",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from tctl_py.fleet.client import (
        ApplyConflict,
        ClusterClient,
        ClusterRequestError,
        UnsupportedResource,
        resource_for,
    )
    from tctl_py.fleet.connection import endpoint_for
    from tctl_py.fleet.kubeconfig import (
        ClusterRef,
        Kubeconfig,
        KubeconfigError,
        load_kubeconfig,
        merge_kubeconfigs,
    )
    from tctl_py.fleet.live import LiveFleet, load_live, read_cluster, read_live
    from tctl_py.fleet.loader import Fleet, FleetOptions, load_fleet
    from tctl_py.fleet.parallel import run_per_cluster
    from tctl_py.fleet.retry import RetryPolicy
    from tctl_py.fleet.snapshot import read_snapshot, write_snapshot


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
