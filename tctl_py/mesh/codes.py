"""The finding codes, each with a name and a severity (`findings` collects findings; `model.Finding` carries a code)."""

from __future__ import annotations

from enum import StrEnum

from tctl_py.errors import Severity


class Code(StrEnum):
    """A finding's stable code (`TCTL` + 4 digits, documented in docs/findings.md), with a
    short name people can read and the severity it is reported with. Numbers are never reused:
    01xx clusters and configuration, 02xx gateways, 03xx services and ports, 04xx failover."""

    slug: str
    severity: Severity

    def __new__(cls, code: str, slug: str, severity: Severity) -> Code:
        member = str.__new__(cls, code)
        member._value_ = code
        member.slug = slug
        member.severity = severity
        return member

    CLUSTER_UNREACHABLE = ("TCTL0101", "cluster-unreachable", Severity.ERROR)
    # a setting without workspace, a second setting, a bad pattern
    CONFIG_IGNORED = ("TCTL0102", "config-ignored", Severity.WARNING)
    # a label/annotation to propagate is not valid Kubernetes
    METADATA_SKIPPED = ("TCTL0103", "metadata-skipped", Severity.WARNING)
    # several workspaces cover one cluster/namespace
    NAMESPACE_OVERLAP = ("TCTL0104", "namespace-overlap", Severity.WARNING)
    GATEWAY_PENDING = ("TCTL0201", "gateway-pending", Severity.WARNING)  # no address yet
    # no Service matches the workloadSelector where W is
    GATEWAY_MISSING = ("TCTL0202", "gateway-missing", Severity.WARNING)
    # several Services match; the first by name is used
    GATEWAY_AMBIGUOUS = ("TCTL0203", "gateway-ambiguous", Severity.WARNING)
    # matching Service, namespace not W's
    GATEWAY_OUTSIDE_WORKSPACE = ("TCTL0204", "gateway-outside-workspace", Severity.WARNING)
    # DNS resolution; shadow WEs cannot fail over
    GATEWAY_HOSTNAME = ("TCTL0205", "gateway-hostname-address", Severity.WARNING)
    # a load balancer value, ignored
    GATEWAY_INVALID_ADDRESS = ("TCTL0206", "gateway-invalid-address", Severity.WARNING)
    # The address annotation is malformed: an error; what derives from the cluster is held.
    GATEWAY_ANNOTATION_INVALID = ("TCTL0207", "gateway-annotation-invalid", Severity.ERROR)
    # has an address, no Service to expose
    GATEWAY_EXPOSES_NOTHING = ("TCTL0208", "gateway-exposes-nothing", Severity.INFO)
    # an exposedServices entry, whole fleet
    SELECTOR_MATCHES_NOTHING = ("TCTL0301", "selector-matches-nothing", Severity.WARNING)
    # same Service, different ports in different clusters
    PORT_CONFLICT = ("TCTL0302", "port-conflict", Severity.WARNING)
    # UDP/SCTP port skipped, unnamed port not failed over
    PORT_UNSUPPORTED = ("TCTL0303", "port-unsupported", Severity.WARNING)
    SERVICE_NOT_EXPOSED = ("TCTL0304", "service-not-exposed", Severity.WARNING)  # no TCP port
    # exposed by several workspaces
    SERVICE_MULTIPLE_WORKSPACES = ("TCTL0305", "service-multiple-workspaces", Severity.WARNING)
    # local instance, but the exposing workspace does not cover it
    NO_FAILOVER = ("TCTL0401", "no-failover", Severity.WARNING)
    # local Service without selector / named port
    FAILOVER_UNSUPPORTED = ("TCTL0402", "failover-unsupported", Severity.WARNING)
    # failoverPriority on network cannot keep traffic local
    SHARED_NETWORK = ("TCTL0403", "shared-network", Severity.WARNING)
    # a user's DestinationRule for an exposed host: exit 5
    DESTINATION_RULE_CONFLICT = ("TCTL0404", "destinationrule-conflict", Severity.ERROR)
