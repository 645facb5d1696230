"""The registry of kinds tctl reads: names users type, hierarchy, FQNs and schema files."""

from __future__ import annotations

from dataclasses import dataclass

from tctl_py.errors import UsageError

TSB_API = "api.tsb.tetrate.io/v2"
INSTALL_API = "install.tetrate.io/v1alpha1"
ISTIO_API = "networking.istio.io/v1"


@dataclass(frozen=True)
class Kind:
    kind: str
    api_version: str
    plural: str
    short_names: tuple[str, ...] = ()
    # metadata fields naming the ancestors, outermost first (organization, tenant, workspace)
    scope: tuple[str, ...] = ()
    collection: str = ""  # the FQN path segment of this kind
    parent: str | None = None  # kind of the parent object in the store
    stored: bool = False  # configuration kept in the store (vs. install objects / generated ones)
    schema: str = ""  # file name under schemas/
    namespaced: bool = False  # a Kubernetes object with metadata.namespace

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.plural, self.singular, *self.short_names)

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def generated(self) -> bool:
        """An Istio kind tctl computes for clusters (never read as input, never stored)."""
        return self.api_version == ISTIO_API

    def fqn(self, metadata: dict) -> str:
        """The identity of a stored object, e.g. organizations/tse/tenants/tse/workspaces/ws."""
        segments = []
        for field in self.scope:
            segments += [SCOPE_COLLECTIONS[field], str(metadata.get(field, ""))]
        segments += [self.collection, str(metadata.get("name", ""))]
        return "/".join(segments)

    def parent_fqn(self, metadata: dict) -> str | None:
        if not self.parent:
            return None
        return KINDS[self.parent].fqn({**metadata, "name": metadata.get(self.scope[-1], "")})


SCOPE_COLLECTIONS = {"organization": "organizations", "tenant": "tenants", "workspace": "workspaces"}

_ALL = (
    Kind(
        "Organization",
        TSB_API,
        "organizations",
        ("org",),
        (),
        "organizations",
        None,
        True,
        "organization.schema.json",
    ),
    Kind(
        "Tenant",
        TSB_API,
        "tenants",
        ("tenant",),
        ("organization",),
        "tenants",
        "Organization",
        True,
        "tenant.schema.json",
    ),
    Kind(
        "Workspace",
        TSB_API,
        "workspaces",
        ("ws",),
        ("organization", "tenant"),
        "workspaces",
        "Tenant",
        True,
        "workspace.schema.json",
    ),
    Kind(
        "WorkspaceSetting",
        TSB_API,
        "workspacesettings",
        ("wss",),
        ("organization", "tenant", "workspace"),
        "settings",
        "Workspace",
        True,
        "workspacesetting.schema.json",
    ),
    Kind(
        "Cluster",
        TSB_API,
        "clusters",
        (),
        ("organization",),
        "clusters",
        "Organization",
        True,
        "cluster.schema.json",
    ),
    Kind(
        "IngressGateway",
        INSTALL_API,
        "ingressgateways",
        ("ig",),
        schema="ingressgateway.schema.json",
        namespaced=True,
    ),
    Kind("ServiceEntry", ISTIO_API, "serviceentries", ("se",), namespaced=True),
    Kind("WorkloadEntry", ISTIO_API, "workloadentries", ("we",), namespaced=True),
    Kind("DestinationRule", ISTIO_API, "destinationrules", ("dr",), namespaced=True),
    Kind("Gateway", ISTIO_API, "gateways", ("gw",), namespaced=True),
)

KINDS: dict[str, Kind] = {k.kind: k for k in _ALL}
_BY_API_KIND = {(k.api_version, k.kind): k for k in _ALL}
_BY_NAME = {name: k for k in _ALL for name in k.names}


def stored_kinds() -> list[Kind]:
    """The configuration kinds, parents first (the order a batch is written in)."""
    return [KINDS[k] for k in ("Organization", "Tenant", "Workspace", "Cluster", "WorkspaceSetting")]


def generated_kinds() -> list[Kind]:
    """The Istio kinds tctl generates, as `get all` lists them."""
    return [k for k in _ALL if k.generated]


def lookup(api_version: str, kind: str) -> Kind | None:
    return _BY_API_KIND.get((api_version, kind))


def by_kind(kind: str) -> Kind | None:
    return KINDS.get(kind)


def resolve(name: str) -> Kind:
    """Map what a user typed (plural, singular, short name, any case, optional .group) to a Kind."""
    key = name.lower().split(".", 1)[0]
    found = _BY_NAME.get(key)
    if found is None:
        known = ", ".join(sorted(k.plural for k in _ALL))
        raise UsageError(f'unknown resource type "{name}"', hint=f"one of: {known}")
    return found
