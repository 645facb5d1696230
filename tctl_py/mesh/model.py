"""Plain data passed into and out of the exposure engine. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field

from .codes import Code


@dataclass(frozen=True)
class ClusterState:
    """What the engine needs to know about one cluster of the fleet, as Kubernetes dicts.

    `namespaces`, `services` and `destination_rules` are objects as the API server (or
    `kubectl get -o yaml`) returns them. A cluster that could not be read has `reachable=False`
    and empty lists: it is no evidence that its services are gone.
    """

    name: str
    server: str = ""
    reachable: bool = True
    error: str = ""
    namespaces: tuple[dict, ...] = ()
    services: tuple[dict, ...] = ()
    destination_rules: tuple[dict, ...] = ()


@dataclass(frozen=True)
class MeshConfig:
    """The stored configuration the engine works from (bodies as applied by the user)."""

    workspaces: tuple[dict, ...] = ()
    settings: tuple[dict, ...] = ()
    clusters: tuple[dict, ...] = ()


@dataclass(frozen=True)
class GeneratedObject:
    """One desired Kubernetes object for one cluster."""

    cluster: str
    body: dict = field(hash=False, compare=True)

    @property
    def kind(self) -> str:
        return self.body["kind"]

    @property
    def namespace(self) -> str:
        return self.body["metadata"].get("namespace", "")

    @property
    def name(self) -> str:
        return self.body["metadata"]["name"]

    @property
    def sort_key(self) -> tuple[str, str, str, str]:
        return (self.cluster, self.kind, self.namespace, self.name)


@dataclass(frozen=True)
class Finding:
    """Something the user should know about the exposure; its code says how grave."""

    code: Code  # stable, documented in docs/findings.md
    cluster: str  # "" for a finding about no cluster in particular
    subject: str  # e.g. "service bookinfo/details" or "gateway bookinfo/eastwest-gateway"
    message: str
    hint: str = ""
    source: str = ""  # FQN of the WorkspaceSetting concerned

    @property
    def sort_key(self) -> tuple[str, str, str, str, str, str]:
        return (self.cluster, self.code, self.subject, self.message, self.source, self.hint)


@dataclass(frozen=True)
class GatewaySummary:
    """An East-West gateway Service found in a cluster, and the addresses it advertises."""

    cluster: str
    namespace: str
    service: str
    addresses: tuple[str, ...]


@dataclass
class MeshResult:
    objects: list[GeneratedObject] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    gateways: list[GatewaySummary] = field(default_factory=list)  # sorted, one per Service
    # Clusters whose gateway address annotation cannot be parsed: like an unreadable cluster,
    # what derives from them must be kept as it is (neither changed nor pruned) until it is fixed.
    held_origins: frozenset[str] = frozenset()
