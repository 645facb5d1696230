"""tctl: East-West exposure and failover for multi-cluster Istio meshes."""

__version__ = "0.1.0"
