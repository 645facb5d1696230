"""Where applied configuration lives: the `ConfigStore` interface and its two backends, an
embedded SQLite file and custom resources on Kubernetes (`kube://CONTEXT/NAMESPACE`)."""

from tctl_py.store.base import (
    ApplyRefused,
    Change,
    ConfigStore,
    DeleteRefused,
    KeepsSyncHistory,
    StoredObject,
    SyncRecord,
)
from tctl_py.store.sqlite import SCHEMA_VERSION, Store, default_path

KUBE_SCHEME = "kube://"


def open_store(spec: str, *, kubeconfig: str | None = None, request_timeout: float = 10.0) -> ConfigStore:
    """The store `spec` names: `kube://CONTEXT/NAMESPACE` (custom resources in that namespace
    of that kubeconfig context's cluster), else the path of a SQLite file."""
    if spec.startswith(KUBE_SCHEME):
        from tctl_py.store.kube import KubeStore

        return KubeStore(spec, kubeconfig=kubeconfig, request_timeout=request_timeout)
    return Store(spec)


__all__ = [
    "SCHEMA_VERSION",
    "ApplyRefused",
    "Change",
    "ConfigStore",
    "DeleteRefused",
    "KeepsSyncHistory",
    "Store",
    "StoredObject",
    "SyncRecord",
    "default_path",
    "open_store",
]
