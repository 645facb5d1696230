"""Finding codes: stable identifiers the CLI, docs and tests can rely on.

A finding is never fatal to the engine: it explains why something the user may expect was not
generated (or was generated in a degraded form). Most are warnings; `ERROR_CODES` are errors. The CLI decides exit codes from the codes,
e.g. `CONFLICT_CODES` map to exit code 5.
"""

from __future__ import annotations

from .model import Finding

CLUSTER_UNREACHABLE = "cluster-unreachable"
CONFIG_IGNORED = "config-ignored"  # a setting without workspace, a second setting, a bad pattern
METADATA_SKIPPED = "metadata-skipped"  # a label/annotation to propagate is not valid Kubernetes
NAMESPACE_OVERLAP = "namespace-overlap"  # several workspaces cover one cluster/namespace
GATEWAY_PENDING = "gateway-pending"  # gateway Service found, no address yet
GATEWAY_MISSING = "gateway-missing"  # no Service matches the workloadSelector where W is
GATEWAY_AMBIGUOUS = "gateway-ambiguous"  # several Services match; the first by name is used
GATEWAY_OUTSIDE_WORKSPACE = "gateway-outside-workspace"  # matching Service, namespace not W's
GATEWAY_HOSTNAME = "gateway-hostname-address"  # DNS resolution; shadow WEs cannot fail over
GATEWAY_INVALID_ADDRESS = "gateway-invalid-address"  # a load balancer value, ignored
# The address annotation is malformed: an error; what derives from the cluster is held.
GATEWAY_ANNOTATION_INVALID = "gateway-annotation-invalid"
GATEWAY_EXPOSES_NOTHING = "gateway-exposes-nothing"  # has an address, no Service to expose
SELECTOR_MATCHES_NOTHING = "selector-matches-nothing"  # an exposedServices entry, whole fleet
PORT_CONFLICT = "port-conflict"  # same Service, different ports in different clusters
PORT_UNSUPPORTED = "port-unsupported"  # UDP/SCTP port skipped, unnamed port not failed over
SERVICE_NOT_EXPOSED = "service-not-exposed"  # selected but has no TCP port
SERVICE_MULTIPLE_WORKSPACES = "service-multiple-workspaces"  # exposed by several workspaces
NO_FAILOVER = "no-failover"  # local instance, but the exposing workspace does not cover it
FAILOVER_UNSUPPORTED = "failover-unsupported"  # local Service without selector / named port
SHARED_NETWORK = "shared-network"  # failoverPriority on network cannot keep traffic local
DESTINATION_RULE_CONFLICT = "destinationrule-conflict"

CODES = frozenset(
    {
        CLUSTER_UNREACHABLE,
        CONFIG_IGNORED,
        METADATA_SKIPPED,
        NAMESPACE_OVERLAP,
        GATEWAY_PENDING,
        GATEWAY_MISSING,
        GATEWAY_AMBIGUOUS,
        GATEWAY_OUTSIDE_WORKSPACE,
        GATEWAY_HOSTNAME,
        GATEWAY_INVALID_ADDRESS,
        GATEWAY_ANNOTATION_INVALID,
        GATEWAY_EXPOSES_NOTHING,
        SELECTOR_MATCHES_NOTHING,
        PORT_CONFLICT,
        PORT_UNSUPPORTED,
        SERVICE_NOT_EXPOSED,
        SERVICE_MULTIPLE_WORKSPACES,
        NO_FAILOVER,
        FAILOVER_UNSUPPORTED,
        SHARED_NETWORK,
        DESTINATION_RULE_CONFLICT,
    }
)

# An object tctl does not own is in the way (SPEC §6 exit code 5).
CONFLICT_CODES = frozenset({DESTINATION_RULE_CONFLICT})
# A cluster could not be read (SPEC §6 exit code 4).
CLUSTER_CODES = frozenset({CLUSTER_UNREACHABLE})
# Printed as errors, not warnings: a cluster holds data tctl cannot use, and what derives from
# that cluster is kept as it is (`MeshResult.held_origins`) until it is fixed.
ERROR_CODES = frozenset({GATEWAY_ANNOTATION_INVALID})


class Findings:
    """Collects findings; `sorted()` gives them de-duplicated in a deterministic order."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, ...], Finding] = {}

    def add(
        self,
        code: str,
        cluster: str,
        subject: str,
        message: str,
        *,
        hint: str = "",
        source: str = "",
    ) -> None:
        finding = Finding(
            cluster=cluster, subject=subject, message=message, hint=hint, source=source, code=code
        )
        self._items.setdefault(finding.sort_key, finding)

    def sorted(self) -> list[Finding]:
        return [self._items[key] for key in sorted(self._items)]
