"""Test support: emulated Kubernetes API servers (kmock, extended) and a multi-cluster harness."""

from tests.support.emulator import ClusterEmulator, Fault, InFlight, ResourceDef
from tests.support.harness import (
    EmulatedCluster,
    EmulatedFleet,
    destination_rule,
    exec_plugin_user,
    lease,
    namespace,
    service,
)

__all__ = [
    "ClusterEmulator",
    "EmulatedCluster",
    "EmulatedFleet",
    "Fault",
    "InFlight",
    "ResourceDef",
    "destination_rule",
    "exec_plugin_user",
    "lease",
    "namespace",
    "service",
]
