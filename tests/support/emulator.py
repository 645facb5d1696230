"""A Kubernetes API server emulator for one cluster: kmock's `KubernetesEmulator`, made stricter.

kmock 0.8 gives the HTTP plumbing, the request log, the reaction DSL (`emu['get /x'] << 500`)
and API discovery. Where it falls short of a real API server, this subclass takes over the
object-handling requests (list, get, create, replace, patch, delete) and keeps the objects in
kmock's own `emu.objects` array, so kmock-style assertions keep working:

- paths of the `namespaces` resource itself (`/api/v1/namespaces[/NAME]`) — kmock 0.8 takes
  `namespaces` there for the namespace prefix and fails (`ValueError`) on `/api/v1/namespaces`;
- `labelSelector` and `fieldSelector` (metadata.name/namespace) on lists, `limit`/`continue`;
- typed lists (`ServiceList`, items of built-in kinds without apiVersion/kind, as the real
  server sends them), `resourceVersion` on lists and objects;
- `uid`, `resourceVersion`, `generation` (bumped on spec changes), `creationTimestamp`, and the
  server-side defaults a real server adds to Namespaces and Services (clusterIP, ...);
- 201 for creates (kmock answers 200), 409 AlreadyExists/Conflict, 404 NotFound with a
  `Status` body, 404 when the namespace does not exist, `resourceVersion` preconditions on PUT;
- PUT (replace), JSON merge patch, strategic merge patch (as a merge patch), JSON patch;
- server-side apply (PATCH `application/apply-patch+yaml`): create-or-merge, `fieldManager`
  required, `managedFields` kept per manager, conflicts (409) with other managers unless
  `force=true`, fields a manager stops applying are removed, a no-op apply writes nothing;
- `dryRun=All` on every write; the `status` subresource; deleting a namespace deletes its objects;
- bearer-token checking (401, quoting the credentials received if `echo_credentials`), client
  certificates refused by CN (`refused_clients`: 401, as for a revoked or expired one), injected
  latency (on every request, or on matching ones: a hung write), injected failures, request
  counts by method;
- `coordination.k8s.io/v1` Leases (namespaced, built-in: get, list, create, PUT with the
  `metadata.resourceVersion` precondition, so a stale one gets 409 Conflict, delete, watch),
  in discovery so `kubectl get leases -A` works;
- `apiextensions.k8s.io/v1` CustomResourceDefinitions: creating (or applying) one serves the
  resource of each served version at once (requests, watches, discovery: `kubectl get` knows it,
  with its short names and categories) and marks it Established; changing it re-serves them;
  deleting it deletes its objects and stops serving it. Custom objects are checked against the
  version's openAPIV3Schema (type, enum, pattern, required: 422 Invalid) and pruned of the fields
  it does not declare, unless `x-kubernetes-preserve-unknown-fields`;
- more resources on request: `serve(*PLATFORM)` adds ServiceAccounts, Deployments and RBAC
  (plain stored objects, nothing runs), so `kubectl apply -f deploy/` can be checked;
- an empty OpenAPI v2 document (`/openapi/v2`, protobuf for kubectl), so `kubectl edit` and
  `kubectl apply` validate (nothing) instead of failing to download a schema.

Watches (`GET .../<plural>?watch=1`, cluster-wide, per namespace, or of one object by its
path) are served here, not by kmock:

- one resourceVersion counter for the whole cluster (etcd's revision): every write bumps it,
  objects carry it, and a list's `metadata.resourceVersion` is the counter at the time of the
  list, so a list followed by a watch from its resourceVersion misses and repeats nothing;
- each resource keeps its last `history_size` changes; a watch from `resourceVersion=N` streams
  the kept changes after N, then live ones, in resourceVersion order, each as one line of JSON
  `{"type": ADDED|MODIFIED|DELETED, "object": {...}}` (objects with apiVersion/kind; a DELETED
  object carries the deletion's resourceVersion); `resourceVersion` 0 or absent starts with a
  synthetic ADDED for every object that exists;
- `labelSelector`/`fieldSelector` as on lists, with a real server's transitions: an object
  modified into the selection arrives as ADDED, one modified out of it as DELETED;
- N older than the history (after `compact()`, or when changes fell out of `history_size`):
  one `ERROR` event whose object is a `Status` (code 410, reason Expired, "too old resource
  version: N (compacted)"), then the stream ends, as a real server does;
- `allowWatchBookmarks=true`: a `BOOKMARK` every `bookmark_interval` seconds, whose object has
  only apiVersion/kind and `metadata.resourceVersion` (the counter, when every change so far
  has been sent);
- `timeoutSeconds` ends the stream cleanly (end of the chunked body); the server ends every
  watch after `max_watch_seconds` anyway;
- faults: `fail(..., watch=True)` refuses new watches only (lists still work); `latency`
  delays a watch's start and every event on it (each arrives `latency` after its write);
  `drop_watches()` resets open streams (TCP reset, no final event: the client sees a broken
  connection); stopping the server (the harness's `stop()`) drops them too.

Still simplified: lists are atomic for server-side apply (no merge keys), a strategic merge patch
is a plain merge patch, namespace deletion is immediate (no Terminating phase), finalizers are
ignored, and objects are not validated against schemas (the OpenAPI document is empty). For
watches: a `resourceVersion` newer than the server's is waited on rather than refused (a real
server answers "Too large resource version" after a few seconds), `resourceVersionMatch`, the
`sendInitialEvents` streaming list and its `k8s.io/initial-events-end` bookmark are not served,
lists do not honour `resourceVersion` (they always read the latest state, which is what
`resourceVersion` 0 or unset gives), nothing is served as Table or protobuf, and watch events
are never reordered or coalesced. Leases are stored like any object: the server does not
interpret `holderIdentity` or the times (neither does a real one).
"""

from __future__ import annotations

import asyncio
import base64
import collections
import datetime
import functools
import json
import random
import re
import socket
import string
import struct
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp.web
import attrs
import kmock
import yaml
from kmock._internal import dsl, enums, parsing, rendering
from kmock._internal.k8s import KubernetesError

from tests.support import patches
from tests.support.selectors import SelectorError, field_matcher, label_matcher

# ---------------------------------------------------------------------------------------------
# Resources


@functools.lru_cache(maxsize=256)
def _resource(group: str, version: str | None, plural: str | None) -> kmock.resource:
    """kmock's resource reference, one per name (immutable; constructing one costs ~70 µs)."""
    return kmock.resource(group=group, version=version, plural=plural)


@dataclass(frozen=True)
class ResourceDef:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    builtin: bool = False  # list items of built-in kinds carry no apiVersion/kind
    status_subresource: bool = True
    returns_deleted_object: bool = True  # DELETE answers with the object (else with a Status)
    field_selectors: frozenset[str] = frozenset({"metadata.name", "metadata.namespace"})
    categories: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @functools.cached_property
    def key(self) -> kmock.resource:  # made once: kmock.resource() costs ~70 µs
        return _resource(self.group, self.version, self.plural)

    @property
    def singular(self) -> str:
        return self.kind.lower()


NAMESPACE = ResourceDef(
    "",
    "v1",
    "namespaces",
    "Namespace",
    namespaced=False,
    short_names=("ns",),
    builtin=True,
    returns_deleted_object=False,
    field_selectors=frozenset({"metadata.name", "status.phase"}),
)
CORE = (
    NAMESPACE,
    ResourceDef(
        "",
        "v1",
        "services",
        "Service",
        short_names=("svc",),
        builtin=True,
        field_selectors=frozenset({"metadata.name", "metadata.namespace", "spec.type", "spec.clusterIP"}),
    ),
    ResourceDef(
        "",
        "v1",
        "secrets",
        "Secret",
        builtin=True,
        status_subresource=False,
        returns_deleted_object=False,
        field_selectors=frozenset({"metadata.name", "metadata.namespace", "type"}),
    ),
    ResourceDef(
        "",
        "v1",
        "configmaps",
        "ConfigMap",
        short_names=("cm",),
        builtin=True,
        status_subresource=False,
        returns_deleted_object=False,
    ),
)


def istio_resources(version: str = "v1") -> tuple[ResourceDef, ...]:
    group = "networking.istio.io"
    return (
        ResourceDef(group, version, "destinationrules", "DestinationRule", short_names=("dr",)),
        ResourceDef(group, version, "serviceentries", "ServiceEntry", short_names=("se",)),
        ResourceDef(group, version, "workloadentries", "WorkloadEntry", short_names=("we",)),
        ResourceDef(group, version, "gateways", "Gateway", short_names=("gw",)),
        ResourceDef(group, version, "virtualservices", "VirtualService", short_names=("vs",)),
    )


TETRATE = (ResourceDef("install.tetrate.io", "v1alpha1", "ingressgateways", "IngressGateway"),)

# Leader election's Lease: a built-in kind without a status subresource; DELETE answers a Status.
LEASE = ResourceDef(
    "coordination.k8s.io",
    "v1",
    "leases",
    "Lease",
    builtin=True,
    status_subresource=False,
    returns_deleted_object=False,
)
COORDINATION = (LEASE,)

# CustomResourceDefinitions: creating one serves the resources it defines (see _define).
CRD = ResourceDef(
    "apiextensions.k8s.io",
    "v1",
    "customresourcedefinitions",
    "CustomResourceDefinition",
    namespaced=False,
    short_names=("crd", "crds"),
    builtin=True,
)


# What a controller's deployment is made of (deploy/*.yaml); not served unless asked (`serve`).
PLATFORM = (
    ResourceDef(
        "",
        "v1",
        "serviceaccounts",
        "ServiceAccount",
        short_names=("sa",),
        builtin=True,
        status_subresource=False,
    ),
    ResourceDef("apps", "v1", "deployments", "Deployment", short_names=("deploy",), builtin=True),
    *(
        ResourceDef(
            "rbac.authorization.k8s.io",
            "v1",
            plural,
            kind,
            namespaced=namespaced,
            builtin=True,
            status_subresource=False,
            returns_deleted_object=False,
        )
        for plural, kind, namespaced in (
            ("roles", "Role", True),
            ("rolebindings", "RoleBinding", True),
            ("clusterroles", "ClusterRole", False),
            ("clusterrolebindings", "ClusterRoleBinding", False),
        )
    ),
)


def default_resources(istio: bool = True, istio_version: str = "v1") -> tuple[ResourceDef, ...]:
    return CORE + COORDINATION + (CRD,) + (istio_resources(istio_version) if istio else ()) + TETRATE


# ---------------------------------------------------------------------------------------------
# Errors as the API server words them

_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def api_error(
    status: int, message: str, *, reason: str | None = None, details: dict | None = None
) -> KubernetesError:
    return KubernetesError(
        status=status,
        reason=reason or _REASONS.get(status, "Unknown"),
        message=message,
        details=details if details is not None else {},
    )


@attrs.frozen
class InjectedError(KubernetesError):
    """An injected failure that also sends response headers (such as Retry-After)."""

    headers: dict | None = None


_WATCH_HEADERS = {"Content-Type": "application/json"}
_JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}  # as aiohttp's json_response


@dataclass(frozen=True)
class Listing:
    """A list answer, its items the stored objects (see ClusterEmulator._list_json)."""

    rdef: ResourceDef
    metadata: dict
    items: list[dict]


def _not_found(rdef: ResourceDef, name: str) -> KubernetesError:
    return api_error(
        404,
        f'{rdef.plural}{"." + rdef.group if rdef.group else ""} "{name}" not found',
        details={"name": name, "group": rdef.group, "kind": rdef.plural},
    )


_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_LABEL_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def conform(schema: dict, value: Any, path: str, errors: list[str]) -> Any:
    """`value` checked against a structural schema (type, enum, pattern, required) as a real
    API server does, with undeclared fields pruned; problems are added to `errors`."""
    kind = schema.get("type")
    if value is None and schema.get("nullable"):
        return value
    allowed = _TYPES.get(kind) if isinstance(kind, str) else None
    if allowed is not None and (
        not isinstance(value, allowed) or (kind in ("integer", "number") and isinstance(value, bool))
    ):
        errors.append(f"{path}: Invalid value: {json.dumps(value)}: {path} in body must be of type {kind}")
        return value
    if "enum" in schema and value not in schema["enum"]:
        supported = ", ".join(json.dumps(v) for v in schema["enum"])
        errors.append(f"{path}: Unsupported value: {json.dumps(value)}: supported values: {supported}")
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        errors.append(
            f"{path}: Invalid value: {json.dumps(value)}: {path} in body should match {schema['pattern']!r}"
        )
    if isinstance(value, dict):
        for name in schema.get("required") or ():
            if name not in value:
                errors.append(f"{path}.{name}: Required value")
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        if properties is None and not isinstance(extra, dict):
            return value  # x-kubernetes-preserve-unknown-fields, or a free-form object
        kept = {}
        for name, item in value.items():
            declared = properties.get(name) if properties is not None else extra
            if declared is not None:
                kept[name] = conform(declared, item, f"{path}.{name}", errors)
            elif schema.get("x-kubernetes-preserve-unknown-fields"):
                kept[name] = item
        return kept
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [conform(schema["items"], item, f"{path}[{i}]", errors) for i, item in enumerate(value)]
    return value


# ---------------------------------------------------------------------------------------------
# Request parsing (kmock 0.8's parse_path breaks on the `namespaces` resource itself)


def parse_path(path: str) -> parsing.ParsedPath:
    parts = [part for part in path.strip("/").split("/")]
    if len(parts) >= 2 and parts[0] == "apis":
        group, version, rest = parts[1], (parts[2] if len(parts) > 2 else None), parts[3:]
    elif len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    else:
        return parsing.ParsedPath()
    rest = [part for part in rest if part]
    namespace = plural = name = subresource = None
    if (
        rest
        and rest[0] == "namespaces"
        and (len(rest) <= 2 or (group == "" and rest[2] in ("status", "finalize")))
    ):
        plural = "namespaces"
        name = rest[1] if len(rest) > 1 else None
        subresource = "/".join(rest[2:]) or None
    elif rest and rest[0] == "namespaces":
        namespace, plural = rest[1], rest[2]
        name = rest[3] if len(rest) > 3 else None
        subresource = "/".join(rest[4:]) or None
    elif rest:
        plural = rest[0]
        name = rest[1] if len(rest) > 1 else None
        subresource = "/".join(rest[2:]) or None
    return parsing.ParsedPath(
        group=group, version=version, plural=plural, namespace=namespace, name=name, subresource=subresource
    )


def go_bool(value: str | None) -> bool:
    """A query flag as the API server parses it (Go's strconv.ParseBool; the Python client
    sends `watch=True`, client-go `watch=true`, curl users `watch=1`)."""
    return value in ("1", "t", "T", "true", "TRUE", "True")


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, when PyYAML has it


def load_yaml(text: str) -> Any:
    """A YAML body (an apply patch). Clients mostly send JSON, which is YAML too and which json
    reads 25 times faster than PyYAML's C loader (160 times faster than its Python one)."""
    try:
        return json.loads(text)
    except ValueError:
        return yaml.load(text, Loader=_YAML_LOADER)


_method = functools.lru_cache(maxsize=64)(enums.method)  # kmock's lookup walks the enum: 7 µs


async def parse_request(raw: aiohttp.web.BaseRequest, *, id: int) -> rendering.Request:
    body = await raw.read()
    text = body.decode("utf-8", errors="replace")
    data: Any = None
    if body:
        content_type = raw.content_type or ""
        try:
            data = load_yaml(text) if "yaml" in content_type else json.loads(text)
        except (ValueError, yaml.YAMLError):
            data = None
    k8s = parse_path(raw.path)
    resource = None if k8s.group is None else _resource(k8s.group, k8s.version, k8s.plural)
    method = _method(raw.method)
    params = dict(raw.query)
    action = parsing.guess_k8s(k8s, method, params)
    if method == enums.method.GET and k8s.group is not None and go_bool(params.get("watch")):
        action = enums.action.WATCH  # kmock knows only `watch=true`; clients send `1`, `True`, ...
    return rendering.Request(
        id=id,
        raw_request=raw,
        url=raw.url,
        method=method,
        params=params,
        headers=dict(raw.headers),
        cookies=dict(raw.cookies),
        data=data,
        body=body,
        text=text,
        action=action,
        resource=resource,
        namespace=k8s.namespace,
        name=k8s.name,
        subresource=k8s.subresource,
    )


# ---------------------------------------------------------------------------------------------
# Faults and concurrency tracking


@dataclass
class Fault:
    status: int | None = 500  # None: answer normally (after `delay`)
    times: int | None = None  # None: every matching request
    method: str | None = None  # e.g. "GET"
    path: str | None = None  # a regular expression searched in the request path
    message: str = "injected failure"
    retry_after: str | None = None  # sent as the Retry-After header (e.g. with 429 or 503)
    delay: float = 0.0  # seconds to wait before answering (a slow or hung server)
    watch: bool | None = None  # True: only watch requests; False: all but watches; None: any

    def matches(self, request: rendering.Request) -> bool:
        if self.method and request.method.value.upper() != self.method.upper():
            return False
        if self.watch is not None and self.watch != (request.action == enums.action.WATCH):
            return False
        return not (self.path and not re.search(self.path, request.url.path))


@dataclass
class InFlight:
    """Requests being served right now, and the most ever at once (across servers sharing it)."""

    current: int = 0
    peak: int = 0
    log: list[tuple[str, float, float]] = field(default_factory=list)  # (cluster, start, end)

    def reset(self) -> None:
        self.current = self.peak = 0
        self.log.clear()


# ---------------------------------------------------------------------------------------------
# Watches


@dataclass(frozen=True)
class Change:
    """One write as the watch history keeps it: the object after it (for a deletion, the object
    as it was, carrying the deletion's resourceVersion) and, for a modification, before it."""

    revision: int
    type: str  # ADDED, MODIFIED or DELETED
    object: dict
    before: dict | None
    at: float  # time.monotonic() of the write (watch events are delivered `latency` later)


@dataclass(eq=False)
class Watcher:
    """One open watch stream: what it selects, and the changes waiting to be sent on it."""

    rdef: ResourceDef
    namespace: str | None
    labels: Callable[[dict], bool]
    fields: Callable[[dict], bool]
    raw: aiohttp.web.BaseRequest | None
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    dropped: bool = False

    def selects(self, obj: dict | None) -> bool:
        if obj is None:
            return False
        if self.namespace is not None and (obj.get("metadata") or {}).get("namespace") != self.namespace:
            return False
        return self.labels(obj) and self.fields(obj)

    def event(self, change: Change) -> dict | None:
        """The event this watcher sees for a change, as a real server filters by selectors:
        an object that starts to match is ADDED, one that stops matching is DELETED."""
        now, before = self.selects(change.object), self.selects(change.before)
        if change.type == "MODIFIED":
            kind = "MODIFIED" if now and before else "ADDED" if now else "DELETED" if before else None
        else:
            kind = change.type if now else None
        return None if kind is None else {"type": kind, "object": change.object}

    def drop(self) -> None:
        """Reset the connection (RST, no final chunk): the client sees a broken stream."""
        self.dropped = True
        transport = self.raw.transport if self.raw is not None else None
        if transport is not None:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
            transport.abort()
        self.queue.put_nowait(None)  # wake the stream up so that it ends


# ---------------------------------------------------------------------------------------------
# The emulator


@attrs.define(kw_only=True)
class ClusterEmulator(kmock.KubernetesEmulator):
    cluster_name: str = "cluster"
    token: str | None = None  # required bearer token; None accepts any request
    echo_credentials: bool = False  # a careless server: a 401 quotes the credentials it was sent
    refused_clients: frozenset[str] = frozenset()  # client certificates' CNs answered 401 (revoked)
    served: tuple[ResourceDef, ...] = attrs.field(factory=default_resources)
    latency: float = 0.0  # seconds added to every request
    tracker: InFlight | None = None
    counts: collections.Counter = attrs.field(factory=collections.Counter, init=False)
    writes: int = attrs.field(default=0, init=False)  # persisted changes (not dry runs, not no-ops)
    faults: list[Fault] = attrs.field(factory=list, init=False)
    _defs: dict[tuple[str, str, str], ResourceDef] = attrs.field(factory=dict, init=False)
    _results: dict[int, tuple[int, Any]] = attrs.field(factory=dict, init=False)
    _revision: int = attrs.field(default=0, init=False)
    _ips: int = attrs.field(default=0, init=False)
    _stopping: asyncio.Event | None = attrs.field(default=None, init=False)
    _ordered: tuple[tuple[int, ...], list] = attrs.field(factory=lambda: ((), []), init=False)
    # watches: see the module docstring
    history_size: int = 1000  # changes kept per resource; older ones are compacted away
    bookmark_interval: float = 1.0  # seconds between BOOKMARK events (when the client allows them)
    max_watch_seconds: float = 1800.0  # the server ends any watch after this long
    _history: dict[kmock.resource, collections.deque] = attrs.field(factory=dict, init=False)
    _schemas: dict[kmock.resource, dict] = attrs.field(factory=dict, init=False)  # of custom resources
    _compacted: dict[kmock.resource, int] = attrs.field(factory=dict, init=False)
    # the objects that exist, by resource and (namespace, name): kmock's `objects` (which keeps
    # every version of them) indexed
    _live: dict[kmock.resource, dict[tuple[str | None, str], dict]] = attrs.field(factory=dict, init=False)
    _texts: dict[int, tuple[dict, str]] = attrs.field(factory=dict, init=False)  # id(stored) -> its JSON
    _watchers: dict[kmock.resource, set] = attrs.field(
        factory=lambda: collections.defaultdict(set), init=False
    )

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        for rdef in self.served:
            self._serve(rdef)
        # Requests kmock guesses no action for (PUT; DELETE of a collection) get their answer too.
        # The official client asks for `/apis/` and `/api/` (kmock serves them without the slash).
        self.fallback["get /apis/"] << self._serve_apis
        self.fallback["get /api/"] << self._serve_api
        # kubectl edit (and apply without --validate=false) validates against the OpenAPI
        # schema; an empty one validates nothing, as for a kind the server has no schema of.
        self.fallback["get /openapi/v2"] << self._serve_openapi_v2
        self.fallback[enums.method.PUT] << self._serve_result
        self.fallback[enums.method.DELETE] << self._serve_result
        self.fallback[enums.method.PATCH] << self._serve_result
        self.fallback[enums.method.POST] << self._serve_result

    def _serve(self, rdef: ResourceDef) -> None:
        """Serve a resource (its requests and its discovery entry), replacing one of its name."""
        self.served = (*(r for r in self.served if r.key != rdef.key), rdef)
        self._defs[(rdef.group, rdef.version, rdef.plural)] = rdef
        self.resources[rdef.key] = kmock.ResourceInfo(
            kind=rdef.kind,
            singular=rdef.singular,
            namespaced=rdef.namespaced,
            shortnames=set(rdef.short_names),
            categories=set(rdef.categories),
            verbs={"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"},
            subresources={"status"} if rdef.status_subresource else set(),
        )

    @staticmethod
    def _defined(crd: dict) -> list[ResourceDef]:
        """The resources a CustomResourceDefinition defines, one per served version."""
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        return [
            ResourceDef(
                spec.get("group", ""),
                version.get("name", ""),
                names.get("plural", ""),
                names.get("kind", ""),
                namespaced=spec.get("scope") == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                status_subresource="status" in (version.get("subresources") or {}),
                categories=tuple(names.get("categories") or ()),
            )
            for version in spec.get("versions") or ()
            if version.get("served", True)
        ]

    def _define(self, crd: dict, before: dict | None) -> None:
        """A CRD was created or changed: serve what it defines now, stop serving what it no
        longer does (a real server also keeps the objects of a version no longer served; this
        one drops them, as when the CRD is deleted)."""
        now = self._defined(crd)
        for gone in self._defined(before or {}):
            if gone.key not in {r.key for r in now}:
                self._undefine(gone)
        versions = {v.get("name"): v for v in (crd.get("spec") or {}).get("versions") or ()}
        for rdef in now:
            self._serve(rdef)
            schema = ((versions[rdef.version].get("schema") or {}).get("openAPIV3Schema")) or {}
            self._schemas[rdef.key] = schema

    def _undefine(self, rdef: ResourceDef) -> None:
        for obj in self._all(rdef, None):
            self._remove(rdef, obj, None)
        self.served = tuple(r for r in self.served if r.key != rdef.key)
        self._defs.pop((rdef.group, rdef.version, rdef.plural), None)
        self.resources.pop(rdef.key, None)
        self._schemas.pop(rdef.key, None)

    def serve(self, *rdefs: ResourceDef) -> None:
        """Serve more resources (in discovery too), e.g. PLATFORM for `kubectl apply -f deploy/`."""
        for rdef in rdefs:
            self._serve(rdef)

    @property
    def _namespaces(self) -> ResourceDef:
        return self._defs[("", "v1", "namespaces")]

    # -- public helpers (call them on the server's event loop; the harness does) ---------------

    def fail(
        self,
        status: int | None = 500,
        *,
        times: int | None = None,
        method: str | None = None,
        path: str | None = None,
        message: str = "injected failure",
        retry_after: str | float | None = None,
        delay: float = 0.0,
        watch: bool | None = None,
    ) -> Fault:
        fault = Fault(
            status,
            times,
            method,
            path,
            message,
            None if retry_after is None else str(retry_after),
            delay,
            watch,
        )
        self.faults.append(fault)
        return fault

    def resource_def(self, kind_or_plural: str, api_version: str | None = None) -> ResourceDef:
        for rdef in self.served:
            names = (rdef.kind, rdef.plural, rdef.singular, *rdef.short_names)
            if kind_or_plural in names and (api_version is None or api_version == rdef.api_version):
                return rdef
        raise KeyError(f"{kind_or_plural} ({api_version or 'any version'}) is not served")

    def seed(self, obj: dict, *, manager: str = "kubectl-client-side-apply") -> dict:
        """Store an object as if created long ago, status included (test setup, no request).

        It gets server fields (uid, resourceVersion, ...) and defaults like a created object,
        and `manager` owns its fields (so a later server-side apply can conflict with them).
        """
        rdef = self.resource_def(obj["kind"], obj.get("apiVersion"))
        namespace = (obj.get("metadata") or {}).get("namespace") if rdef.namespaced else None
        if rdef.namespaced and not namespace:
            raise ValueError(f"{obj['kind']} {obj['metadata'].get('name')} needs a namespace")
        stored = self._new_object(rdef, namespace, obj, keep_status=True)
        stored["metadata"]["managedFields"] = [
            self._entry(manager, "Update", rdef, patches.leaf_paths(self._without_status(rdef, obj)))
        ]
        self._store(rdef, stored)
        return patches.copy_tree(stored)

    def get_object(self, kind_or_plural: str, name: str, namespace: str | None = None) -> dict | None:
        rdef = self.resource_def(kind_or_plural)
        return patches.copy_tree(self._load(rdef, namespace, name))

    def list_objects(self, kind_or_plural: str, namespace: str | None = None) -> list[dict]:
        rdef = self.resource_def(kind_or_plural)
        return [patches.copy_tree(o) for o in self._all(rdef, namespace)]

    def reset_counts(self) -> None:
        self.counts.clear()
        self.writes = 0

    @property
    def revision(self) -> int:
        """The latest resourceVersion given out (lists carry it as `metadata.resourceVersion`)."""
        return self._revision

    def compact(self, kind_or_plural: str | None = None) -> int:
        """Forget the watch history (of one resource, or all) up to now, as etcd's compaction
        does: a watch from an older resourceVersion then gets `410 Expired`; one from the
        current revision (a fresh list's) still works. Returns that revision."""
        rdefs = [self.resource_def(kind_or_plural)] if kind_or_plural else list(self.served)
        for rdef in rdefs:
            self._history.pop(rdef.key, None)
            self._compacted[rdef.key] = self._revision
        return self._revision

    def drop_watches(self, kind_or_plural: str | None = None) -> int:
        """Reset every open watch stream (of one resource, or all) mid-way: the connection is
        closed with a TCP reset and no final event. Returns how many were dropped."""
        keys = [self.resource_def(kind_or_plural).key] if kind_or_plural else list(self._watchers)
        dropped = 0
        for key in keys:
            for watcher in list(self._watchers.get(key, ())):
                watcher.drop()
                dropped += 1
            self._watchers.pop(key, None)
        return dropped

    def watch_count(self, kind_or_plural: str | None = None) -> int:
        """Watch streams open right now (of one resource, or all)."""
        keys = [self.resource_def(kind_or_plural).key] if kind_or_plural else list(self._watchers)
        return sum(len(self._watchers.get(key, ())) for key in keys)

    # -- kmock hooks ------------------------------------------------------------------------

    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        """kmock's RawHandler.__call__, with a request parser that understands `namespaces`."""
        await raw_request.read()
        raw_response = None
        try:
            request = await parse_request(raw_request, id=len(self._requests))
            self._requests.append(request)
            try:
                return await self._handle(request)
            except rendering.StreamingError as e:
                raw_response = e.args[0]
                raise e.__cause__ if e.__cause__ is not None else e  # noqa: B904 - the original error
        except Exception as e:
            if self._errors:
                self._errors[-1].append(e)
            if raw_response is None or not raw_response.prepared:
                return await self._render_error(e)
            await self._stream_error(e, raw_response)
            await raw_response.write_eof()
            return raw_response

    async def _handle(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        method = request.method.value.upper()
        self.counts[method] += 1
        tracker = self.tracker
        loop = asyncio.get_running_loop()
        start = loop.time()
        if tracker is not None:
            tracker.current += 1
            tracker.peak = max(tracker.peak, tracker.current)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            self._authenticate(request)
            for fault in list(self.faults):
                if fault.matches(request):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self.faults.remove(fault)
                    if fault.delay:
                        await asyncio.sleep(fault.delay)  # cancelled when the client gives up
                    if fault.status is None:
                        continue
                    if fault.retry_after is not None:
                        raise InjectedError(
                            status=fault.status,
                            reason=_REASONS.get(fault.status, "Unknown"),
                            message=fault.message,
                            details={},
                            headers={"Retry-After": fault.retry_after},
                        )
                    raise api_error(fault.status, fault.message)
            if self._is_object_request(request):
                # watchers are told of the changes by _store/_remove, in resourceVersion order
                result = self._dispatch(request, [])
                if method in ("PUT", "PATCH", "POST", "DELETE"):
                    # Answered here, not through kmock's fallback reaction: that one object keeps
                    # the last answer's status and headers on itself, so writes served
                    # concurrently (tctl sends a cluster's writes in parallel) read each other's,
                    # and a mismatch disables it for good. No test adds reactions for writes.
                    status, payload = result
                    return aiohttp.web.json_response(payload, status=status)
                self._results[id(request)] = result
            return await self._react(request)
        finally:
            self._results.pop(id(request), None)
            if tracker is not None:
                tracker.current -= 1
                tracker.log.append((self.cluster_name, start, loop.time()))

    async def _react(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        """kmock's own dispatch (RawHandler._handle): the reactions by priority, user reactions
        first, then the fallbacks (ours, discovery); the first that takes the request answers."""
        for reaction in self._reactions():
            if reaction._disabled.is_set() or not self._sees(reaction._source, request):
                continue
            try:
                return await reaction(request)
            except rendering.ReactionMismatchError:  # either mismatch or depletion
                reaction._disabled.set()
            except NotImplementedError:  # matched, but nothing to respond with
                pass
        raise NotImplementedError("no reaction matches the request")

    def _reactions(self) -> list[dsl.Reaction]:
        """kmock's reactions in the order RawHandler._handle tries them, sorted again only when
        one is added or replaced (the cache holds them, so their ids stay theirs)."""
        key = tuple(map(id, self._payloads))
        if key != self._ordered[0]:
            priorities = [tuple(-p for p in reaction.priorities) for reaction in self._payloads]
            width = max(map(len, priorities), default=0)
            padded = [priority + (0,) * (width - len(priority)) for priority in priorities]
            order = sorted(range(len(padded)), key=padded.__getitem__)
            self._ordered = (key, [self._payloads[i] for i in order])
        return self._ordered[1]

    def _sees(self, view: dsl.View, request: rendering.Request) -> bool:
        """kmock's `request in view` for the request just logged. kmock answers it by running
        the whole request log through the view's filters, for every reaction tried, so a
        request costs more with every request served before it; a chain of plain filters
        (`emu["list v1/services"]`, the fallbacks) is checked on this request alone, with the
        same answer. Other views (slices, groups, exclusions, streams) ask kmock."""
        while view is not self:
            if isinstance(view, dsl.Priority):
                view = view._source
            elif type(view) is dsl.Filter:
                if not view.criteria(request):
                    return False
                view = view._source
            else:
                return request in view
        return True

    async def _render_error(self, exc: Exception) -> aiohttp.web.StreamResponse:
        if isinstance(exc, KubernetesError):
            return aiohttp.web.json_response(
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Failure",
                    "message": exc.message,
                    "reason": exc.reason,
                    "details": exc.details or {},
                    "code": exc.status,
                },
                status=exc.status,
                headers=getattr(exc, "headers", None),
            )
        return await super()._render_error(exc)

    async def _serve_openapi_v2(self, request: rendering.Request) -> Any:
        """An empty OpenAPI v2 document: kubectl asks for protobuf (an empty message is an
        empty `Document`), others for JSON. No `/openapi/v3`: kubectl then falls back to v2."""
        if "protobuf" in (request.headers.get("Accept") or ""):
            media = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
            return kmock.Response(status=200, headers={"Content-Type": media}, payload=b"")
        document = {"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1"}, "paths": {}}
        # (kmock keeps a reaction's last headers: name the content type on both answers)
        return kmock.Response(
            status=200, headers={"Content-Type": "application/json"}, payload={**document, "definitions": {}}
        )

    async def _serve_version(self, request: rendering.Request) -> Any:
        """kmock's discovery names the core group `/v1` and repeats a resource's short and
        singular names on its subresources (`namespaces/status`); kubectl then refuses
        `kubectl get ns`. A real API server says `v1` and gives subresources neither."""
        listing = await super()._serve_version(request)
        listing["groupVersion"] = listing["groupVersion"].lstrip("/")
        for entry in listing.get("resources", []):
            if "/" in entry["name"]:
                entry["shortNames"], entry["singularName"], entry["categories"] = [], "", []
        return listing

    # kmock registered these as the fallbacks of LIST/FETCH/CREATE/UPDATE/DELETE: answer with
    # what _dispatch computed. WATCH is _serve_watch below (kmock's fallback, overridden).
    async def _serve_result(self, request: rendering.Request) -> Any:
        result = self._results.get(id(request))
        if result is None:
            raise api_error(405, f"{request.method.value} is not supported on {request.url.path}")
        status, payload = result
        if isinstance(payload, Listing):
            body = self._list_json(payload).encode()
            return kmock.Response(status=status, headers=_JSON_HEADERS, payload=body)
        return kmock.Response(status=status, payload=payload)

    _serve_list = _serve_fetch = _serve_create = _serve_update = _serve_delete = _serve_result

    async def _serve_watch(self, request: rendering.Request) -> Any:  # type: ignore[override]
        """`GET ...?watch=1`: newline-delimited JSON events, as the API server streams them.

        Everything is decided before the first await, so no change slips between the snapshot
        (the objects, or the history after `resourceVersion`) and the live events."""
        rdef = self._resource_of(request)
        params = request.params
        try:
            labels = label_matcher(params.get("labelSelector"))
            fields = field_matcher(params.get("fieldSelector"), rdef.field_selectors)
        except SelectorError as error:
            raise api_error(400, str(error)) from None
        if request.name is not None:  # the deprecated watch of one object by its path
            by_name, name = fields, request.name
            fields = lambda obj: by_name(obj) and obj["metadata"].get("name") == name  # noqa: E731
        try:
            timeout = float(params["timeoutSeconds"]) if params.get("timeoutSeconds") else None
        except ValueError:
            raise api_error(400, "timeoutSeconds must be an integer") from None
        duration = min(timeout if timeout is not None else self.max_watch_seconds, self.max_watch_seconds)
        bookmarks = go_bool(params.get("allowWatchBookmarks"))
        version = params.get("resourceVersion") or "0"
        try:
            since = int(version)
        except ValueError:
            raise api_error(400, f'Invalid value: "{version}": resourceVersion must be an integer') from None
        watcher = Watcher(
            rdef, request.namespace if rdef.namespaced else None, labels, fields, request._raw_request
        )
        initial: list[dict] = []
        if since == 0:  # "any"/"latest": what exists now, as synthetic ADDED events
            for obj in self._all(rdef, watcher.namespace):
                if watcher.selects(obj):
                    initial.append({"type": "ADDED", "object": obj})
        elif since < self._compacted.get(rdef.key, 0):
            status = {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": f"too old resource version: {since} ({self._compacted[rdef.key]})",
                "reason": "Expired",
                "code": 410,
            }
            return kmock.Response(status=200, headers=_WATCH_HEADERS, payload=self._expired(status))
        else:
            for change in self._history.get(rdef.key, ()):
                if change.revision > since:
                    event = watcher.event(change)
                    if event is not None:
                        initial.append(event)
        self._watchers[rdef.key].add(watcher)
        stream = self._stream_watch(watcher, initial, duration, bookmarks)
        return kmock.Response(status=200, headers=_WATCH_HEADERS, payload=stream)

    @staticmethod
    async def _expired(status: dict) -> Any:
        yield b""
        yield {"type": "ERROR", "object": status}

    async def _stream_watch(
        self, watcher: Watcher, initial: list[dict], duration: float, bookmarks: bool
    ) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + duration
        rdef = watcher.rdef
        try:
            yield b""  # the headers go out now, even if nothing happens for a while
            for event in initial:
                yield event
            next_bookmark = loop.time() + self.bookmark_interval
            while not watcher.dropped:
                now = loop.time()
                if now >= deadline:
                    return  # timeoutSeconds (or the server's limit): the stream ends cleanly
                if bookmarks and now >= next_bookmark:
                    next_bookmark = now + self.bookmark_interval
                    if watcher.queue.empty():  # everything up to now has been sent
                        yield {
                            "type": "BOOKMARK",
                            "object": {
                                "kind": rdef.kind,
                                "apiVersion": rdef.api_version,
                                "metadata": {"resourceVersion": str(self._revision)},
                            },
                        }
                    continue
                wait = min(deadline, next_bookmark) - now if bookmarks else deadline - now
                try:
                    change = await asyncio.wait_for(watcher.queue.get(), timeout=wait)
                except TimeoutError:
                    continue
                if change is None:
                    return  # dropped: the connection is already reset
                delay = change.at + self.latency - time.monotonic()
                if delay > 0:  # the network's latency, on every event
                    await asyncio.sleep(delay)
                event = watcher.event(change)
                if event is not None and not watcher.dropped:
                    yield event
        finally:
            self._watchers.get(rdef.key, set()).discard(watcher)

    # -- the API ----------------------------------------------------------------------------

    def _authenticate(self, request: rendering.Request) -> None:
        raw = request._raw_request
        if self.refused_clients and raw is not None and raw.transport is not None:
            certificate = raw.transport.get_extra_info("peercert") or {}
            subject = dict(pair for rdn in certificate.get("subject", ()) for pair in rdn)
            if subject.get("commonName") in self.refused_clients:
                raise api_error(401, "Unauthorized")
        if self.token is None:
            return
        header = raw.headers.get("Authorization", "") if raw is not None else ""
        if header != f"Bearer {self.token}":
            if self.echo_credentials and header.startswith("Basic "):
                header = base64.b64decode(header[6:]).decode(errors="replace")
            raise api_error(
                401, f"Unauthorized: {header} rejected" if self.echo_credentials else "Unauthorized"
            )

    def _is_object_request(self, request: rendering.Request) -> bool:
        resource = request.resource
        if resource is None or resource.version is None or resource.plural is None:
            return False
        return request.action != enums.action.WATCH

    def _resource_of(self, request: rendering.Request) -> ResourceDef:
        resource = request.resource
        rdef = self._defs.get((resource.group, resource.version, resource.plural))
        if rdef is None:
            raise api_error(404, "the server could not find the requested resource")
        namespace, name, sub = request.namespace, request.name, request.subresource
        if (not rdef.namespaced and namespace is not None) or (
            sub and not (sub == "status" and rdef.status_subresource and name)
        ):
            raise api_error(404, "the server could not find the requested resource")
        return rdef

    def _dispatch(self, request: rendering.Request, events: list) -> tuple[int, Any]:
        rdef = self._resource_of(request)
        namespace, name, sub = request.namespace, request.name, request.subresource
        params = request.params
        dry_run = params.get("dryRun")
        if dry_run not in (None, "", "All"):
            raise api_error(400, f'unsupported dry run value "{dry_run}" (only "All")')
        dry = dry_run == "All"
        method = request.method.value.upper()
        body = request.data
        if method == "GET":
            if name is None:
                return self._list(rdef, namespace, params)
            current = self._load(rdef, namespace, name)
            if current is None:
                raise _not_found(rdef, name)
            return 200, current
        if method == "POST" and name is None:
            if rdef.namespaced and namespace is None:
                raise api_error(405, f"create {rdef.plural} needs a namespace in the path")
            return self._create(rdef, namespace, body, request, dry, events)
        if method == "PUT" and name is not None:
            return self._replace(rdef, namespace, name, body, request, dry, events, sub)
        if method == "PATCH" and name is not None:
            return self._patch(rdef, namespace, name, body, request, dry, events, sub)
        if method == "DELETE" and name is not None:
            return self._delete(rdef, namespace, name, body, dry, events)
        if method == "DELETE":
            return self._delete_collection(rdef, namespace, params, dry, events)
        raise api_error(405, f"{method} is not supported on {request.url.path}")

    # -- reads --------------------------------------------------------------------------------

    # Stored objects are never changed in place (a write stores a new dict), so they are read,
    # answered and kept in the watch history without copies; whoever reads one must not modify it.

    def _all(self, rdef: ResourceDef, namespace: str | None) -> list[dict]:
        live = self._live.get(rdef.key, {})
        found = [obj for (ns, _name), obj in live.items() if namespace is None or ns == namespace]
        return sorted(found, key=self._sort_key)

    @staticmethod
    def _sort_key(obj: dict) -> tuple[str, str]:
        meta = obj.get("metadata") or {}
        return (meta.get("namespace") or "", meta.get("name") or "")

    def _list(self, rdef: ResourceDef, namespace: str | None, params: dict) -> tuple[int, Listing]:
        try:
            by_labels = label_matcher(params.get("labelSelector"))
            by_fields = field_matcher(params.get("fieldSelector"), rdef.field_selectors)
        except SelectorError as error:
            raise api_error(400, str(error)) from None
        items = [o for o in self._all(rdef, namespace) if by_labels(o) and by_fields(o)]
        token = params.get("continue")
        if token:
            try:
                after = tuple(json.loads(base64.urlsafe_b64decode(token.encode())))
            except (ValueError, TypeError):
                raise api_error(400, "continue key is not valid") from None
            items = [o for o in items if self._sort_key(o) > after]
        metadata: dict[str, Any] = {"resourceVersion": str(self._revision)}
        try:
            limit = int(params.get("limit") or 0)
        except ValueError:
            raise api_error(400, "limit must be an integer") from None
        if limit > 0 and len(items) > limit:
            metadata["remainingItemCount"] = len(items) - limit
            items = items[:limit]
            metadata["continue"] = base64.urlsafe_b64encode(
                json.dumps(list(self._sort_key(items[-1]))).encode()
            ).decode()
        return 200, Listing(rdef, metadata, items)

    def _list_json(self, listing: Listing) -> str:
        """json.dumps of the list answer, joined from its items' JSON, which is made once for
        each stored object (a list answer is mostly objects that have not changed)."""
        rdef = listing.rdef
        head = {"apiVersion": rdef.api_version, "kind": f"{rdef.kind}List", "metadata": listing.metadata}
        items = ", ".join(self._item_json(rdef, obj) for obj in listing.items)
        return json.dumps({**head, "items": []})[: -len("[]}")] + f"[{items}]}}"

    def _item_json(self, rdef: ResourceDef, obj: dict) -> str:
        cached = self._texts.get(id(obj))
        if cached is None or cached[0] is not obj:
            # the real server leaves these out of built-in lists' items
            item = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")} if rdef.builtin else obj
            cached = self._texts[id(obj)] = (obj, json.dumps(item))
        return cached[1]

    def _load(self, rdef: ResourceDef, namespace: str | None, name: str) -> dict | None:
        return self._live.get(rdef.key, {}).get((namespace if rdef.namespaced else None, name))

    # -- writes -------------------------------------------------------------------------------

    def _store(self, rdef: ResourceDef, obj: dict, events: list | None = None, event: str = "ADDED") -> None:
        """Store a new object (or a new version of one): `obj` is the server's from now on."""
        self._revision += 1
        meta = obj["metadata"]
        meta["resourceVersion"] = str(self._revision)
        where = (meta.get("namespace") if rdef.namespaced else None, meta["name"])
        live = self._live.setdefault(rdef.key, {})
        before = live.get(where)
        live[where] = obj
        self._texts.pop(id(before), None)
        key = (rdef.key, *where)
        if key in self._objects:
            self._objects[key].create(obj)
        else:
            self._objects[key] = obj
        self.writes += 1
        self._record(rdef, "ADDED" if before is None else "MODIFIED", obj, before)
        if rdef is CRD:
            self._define(obj, before)

    def _remove(self, rdef: ResourceDef, obj: dict, events: list | None) -> None:
        meta = obj["metadata"]
        where = (meta.get("namespace") if rdef.namespaced else None, meta["name"])
        self._revision += 1
        del self._live[rdef.key][where]
        self._texts.pop(id(obj), None)
        self._objects[(rdef.key, *where)].delete()
        self.writes += 1
        gone = {**obj, "metadata": {**meta, "resourceVersion": str(self._revision)}}
        self._record(rdef, "DELETED", gone, None)
        if rdef is CRD:
            for defined in self._defined(obj):
                self._undefine(defined)

    def _record(self, rdef: ResourceDef, kind: str, obj: dict, before: dict | None) -> None:
        """Keep a change in the resource's bounded history and hand it to the open watches."""
        change = Change(self._revision, kind, obj, before, time.monotonic())
        history = self._history.setdefault(rdef.key, collections.deque())
        history.append(change)
        while len(history) > max(self.history_size, 0):
            self._compacted[rdef.key] = history.popleft().revision
        watchers = self._watchers.get(rdef.key, set())
        for watcher in list(watchers):
            transport = watcher.raw.transport if watcher.raw is not None else None
            if watcher.raw is not None and (transport is None or transport.is_closing()):
                watchers.discard(watcher)  # a client that went away before its stream started
            else:
                watcher.queue.put_nowait(change)

    def _check_body(
        self, rdef: ResourceDef, body: Any, namespace: str | None, name: str | None = None
    ) -> dict:
        if not isinstance(body, dict):
            raise api_error(400, "the body of the request was in an unknown format")
        if body.get("apiVersion") not in (None, "", rdef.api_version) or body.get("kind") not in (
            None,
            "",
            rdef.kind,
        ):
            raise api_error(
                400,
                f"the API version in the data ({body.get('apiVersion')}) "
                f"and kind ({body.get('kind')}) do not match {rdef.api_version} "
                f"{rdef.kind}",
            )
        meta = body.get("metadata") or {}
        if not isinstance(meta, dict):
            raise api_error(400, "metadata must be an object")
        if rdef.namespaced and meta.get("namespace") not in (None, "", namespace):
            raise api_error(
                400, "the namespace of the provided object does not match the namespace sent on the request"
            )
        if name is not None and meta.get("name") not in (None, "", name):
            raise api_error(
                400,
                f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})",
            )
        return body

    def _check_namespace(self, rdef: ResourceDef, namespace: str | None) -> None:
        if rdef.namespaced and self._load(self._namespaces, None, namespace or "") is None:
            raise api_error(
                404, f'namespaces "{namespace}" not found', details={"name": namespace, "kind": "namespaces"}
            )

    def _new_object(
        self,
        rdef: ResourceDef,
        namespace: str | None,
        body: dict,
        *,
        keep_status: bool = False,
        name: str | None = None,
    ) -> dict:
        obj = patches.copy_tree(body)
        meta = dict(obj.get("metadata") or {})
        for server_field in (
            "uid",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "managedFields",
            "deletionTimestamp",
            "selfLink",
        ):
            meta.pop(server_field, None)
        if name is None:
            name = meta.get("name")
            if not name and meta.get("generateName"):
                name = meta["generateName"] + "".join(
                    random.choices(string.ascii_lowercase + string.digits, k=5)
                )
        if not name:
            raise api_error(
                422,
                f"{rdef.kind} is invalid: metadata.name: Required value: name or generateName is required",
            )
        pattern = _LABEL_NAME if rdef.kind in ("Namespace", "Service") else _NAME
        if len(name) > (63 if pattern is _LABEL_NAME else 253) or not pattern.match(name):
            raise api_error(
                422,
                f'{rdef.kind} "{name}" is invalid: metadata.name: Invalid value: '
                f'"{name}": must be a lowercase RFC 1123 '
                f"{'label' if pattern is _LABEL_NAME else 'subdomain'}",
            )
        meta["name"] = name
        if rdef.namespaced:
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        meta["uid"] = str(uuid.uuid4())
        meta["generation"] = 1
        meta["creationTimestamp"] = _now()
        obj = {"apiVersion": rdef.api_version, "kind": rdef.kind, **obj, "metadata": meta}
        obj["apiVersion"], obj["kind"] = rdef.api_version, rdef.kind
        if rdef.status_subresource and not keep_status:
            obj.pop("status", None)
        self._defaults(rdef, obj)
        return obj

    def _defaults(self, rdef: ResourceDef, obj: dict) -> None:
        """What a real API server fills in for the kinds tctl reads; a custom object is
        validated against its CRD's schema and pruned of the fields it does not declare."""
        meta = obj["metadata"]
        schema = self._schemas.get(rdef.key)
        if schema is not None:
            errors: list[str] = []
            for key in [k for k in obj if k not in ("apiVersion", "kind", "metadata")]:
                declared = (schema.get("properties") or {}).get(key)
                if declared is None and not schema.get("x-kubernetes-preserve-unknown-fields"):
                    del obj[key]
                elif declared is not None:
                    obj[key] = conform(declared, obj[key], key, errors)
            if errors:
                raise api_error(
                    422, f'{rdef.kind}.{rdef.group} "{meta.get("name")}" is invalid: ' + ", ".join(errors)
                )
        if rdef.kind == "Namespace":
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
            obj.setdefault("status", {}).setdefault("phase", "Active")
        elif rdef.kind == "Service":
            spec = obj.setdefault("spec", {})
            spec.setdefault("type", "ClusterIP")
            for port in spec.get("ports") or ():
                if isinstance(port, dict):
                    port.setdefault("protocol", "TCP")
                    if spec["type"] != "ExternalName":
                        port.setdefault("targetPort", port.get("port"))
            if spec["type"] != "ExternalName":
                if not spec.get("clusterIP"):
                    self._ips += 1
                    spec["clusterIP"] = f"10.96.{self._ips // 250}.{self._ips % 250 + 1}"
                spec.setdefault("clusterIPs", [spec["clusterIP"]])
                spec.setdefault("ipFamilies", ["IPv4"])
                spec.setdefault("ipFamilyPolicy", "SingleStack")
                spec.setdefault("internalTrafficPolicy", "Cluster")
            spec.setdefault("sessionAffinity", "None")
            obj.setdefault("status", {}).setdefault("loadBalancer", {})
        elif rdef is CRD:  # established at once (a real server takes a moment)
            obj["status"] = {
                "acceptedNames": patches.copy_tree((obj.get("spec") or {}).get("names") or {}),
                "conditions": [
                    {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
                    {"type": "Established", "status": "True", "reason": "InitialNamesAccepted"},
                ],
                "storedVersions": [
                    v.get("name") for v in (obj.get("spec") or {}).get("versions") or () if v.get("storage")
                ],
            }

    @staticmethod
    def _without_status(rdef: ResourceDef, obj: dict) -> dict:
        return {k: v for k, v in obj.items() if not (k == "status" and rdef.status_subresource)}

    @staticmethod
    def _manager(request: rendering.Request) -> str:
        manager = request.params.get("fieldManager")
        if manager:
            return manager
        agent = request.headers.get("User-Agent") or request.headers.get("user-agent") or "unknown"
        return agent.split("/", 1)[0] or "unknown"

    @staticmethod
    def _entry(
        manager: str, operation: str, rdef: ResourceDef, paths: Any, subresource: str | None = None
    ) -> dict:
        entry = {
            "manager": manager,
            "operation": operation,
            "apiVersion": rdef.api_version,
            "time": _now(),
            "fieldsType": "FieldsV1",
            "fieldsV1": patches.fields_v1(paths),
        }
        if subresource:
            entry["subresource"] = subresource
        return entry

    @staticmethod
    def _owners(obj: dict) -> list[dict]:
        """managedFields entries with their field sets decoded into `paths`."""
        owners = []
        for entry in (obj.get("metadata") or {}).get("managedFields") or ():
            owners.append({**entry, "paths": patches.paths_of_fields_v1(entry.get("fieldsV1") or {})})
        return owners

    @staticmethod
    def _encode_owners(owners: list[dict]) -> list[dict]:
        result = []
        for owner in owners:
            if not owner["paths"]:
                continue
            entry = {k: v for k, v in owner.items() if k != "paths"}
            entry["fieldsV1"] = patches.fields_v1(owner["paths"])
            result.append(entry)
        return result

    @staticmethod
    def _overlaps(a: tuple, b: tuple) -> bool:
        shorter = min(len(a), len(b))
        return a[:shorter] == b[:shorter]

    def _create(
        self,
        rdef: ResourceDef,
        namespace: str | None,
        body: Any,
        request: rendering.Request,
        dry: bool,
        events: list,
    ) -> tuple[int, dict]:
        body = self._check_body(rdef, body, namespace)
        obj = self._new_object(rdef, namespace, body)
        self._check_namespace(rdef, namespace)
        if self._load(rdef, namespace, obj["metadata"]["name"]) is not None:
            raise api_error(
                409,
                f"{rdef.plural}{'.' + rdef.group if rdef.group else ''} "
                f'"{obj["metadata"]["name"]}" already exists',
                reason="AlreadyExists",
                details={"name": obj["metadata"]["name"], "kind": rdef.plural},
            )
        owned = patches.leaf_paths(self._without_status(rdef, body))
        obj["metadata"]["managedFields"] = [self._entry(self._manager(request), "Update", rdef, owned)]
        if not dry:
            self._store(rdef, obj, events)
        return 201, obj

    def _commit_update(
        self,
        rdef: ResourceDef,
        current: dict,
        new: dict,
        manager: str,
        operation: str,
        dry: bool,
        events: list,
        sub: str | None,
    ) -> tuple[int, dict]:
        """Finish a replace or patch: server fields, generation, ownership, write unless a no-op."""
        meta = new.setdefault("metadata", {})
        for kept in ("uid", "creationTimestamp", "generation", "resourceVersion"):
            if kept in current["metadata"]:
                meta[kept] = current["metadata"][kept]
        meta["name"] = current["metadata"]["name"]
        if rdef.namespaced:
            meta["namespace"] = current["metadata"]["namespace"]
        new["apiVersion"], new["kind"] = rdef.api_version, rdef.kind
        if rdef.status_subresource:
            if sub == "status":  # only status may change through the status subresource
                new = {**patches.copy_tree(current), "status": new.get("status")}
                if new["status"] is None:
                    new.pop("status")
            elif "status" in current:
                new["status"] = patches.copy_tree(current["status"])
            else:
                new.pop("status", None)
        self._defaults(rdef, new)
        # ownership: the manager takes the fields it changed; others lose them
        before = patches.leaf_paths(current)
        after = patches.leaf_paths(new)
        changed = {p for p, v in after.items() if before.get(p, patches.MISSING) != v}
        changed |= {p for p in before if p not in after}
        owners = self._owners(current)
        for owner in owners:
            owner["paths"] = {p for p in owner["paths"] if not any(self._overlaps(p, c) for c in changed)}
        mine = next(
            (
                o
                for o in owners
                if o["manager"] == manager and o["operation"] == operation and o.get("subresource") == sub
            ),
            None,
        )
        gained = {p for p in changed if p in after}
        if mine is None and gained:
            mine = {**self._entry(manager, operation, rdef, (), sub), "paths": set()}
            owners.append(mine)
        if mine is not None:
            mine["paths"] |= gained
            if gained:
                mine["time"] = _now()
        new["metadata"]["managedFields"] = self._encode_owners(owners)
        return self._finish(rdef, current, new, dry, events)

    def _finish(
        self, rdef: ResourceDef, current: dict, new: dict, dry: bool, events: list
    ) -> tuple[int, dict]:
        def content(obj: dict) -> dict:
            meta = {k: v for k, v in obj["metadata"].items() if k not in ("resourceVersion", "managedFields")}
            owners = [
                (
                    o.get("manager"),
                    o.get("operation"),
                    o.get("subresource"),
                    json.dumps(o.get("fieldsV1"), sort_keys=True),
                )
                for o in obj["metadata"].get("managedFields") or ()
            ]
            return {**obj, "metadata": meta, "_owners": sorted(owners, key=str)}

        if content(new) == content(current):
            return 200, current  # nothing changed: no write, same resourceVersion
        spec_before = {k: v for k, v in current.items() if k not in ("metadata", "status")}
        spec_after = {k: v for k, v in new.items() if k not in ("metadata", "status")}
        if spec_before != spec_after:
            new["metadata"]["generation"] = int(current["metadata"].get("generation") or 1) + 1
        if dry:
            return 200, new
        self._store(rdef, new, events, "MODIFIED")
        return 200, new

    def _replace(
        self,
        rdef: ResourceDef,
        namespace: str | None,
        name: str,
        body: Any,
        request: rendering.Request,
        dry: bool,
        events: list,
        sub: str | None,
    ) -> tuple[int, dict]:
        body = self._check_body(rdef, body, namespace, name)
        current = self._load(rdef, namespace, name)
        if current is None:
            raise _not_found(rdef, name)
        version = (body.get("metadata") or {}).get("resourceVersion")
        if version and version != current["metadata"]["resourceVersion"]:
            raise api_error(
                409,
                f'Operation cannot be fulfilled on {rdef.plural} "{name}": the '
                "object has been modified; please apply your changes to the "
                "latest version and try again",
            )
        return self._commit_update(
            rdef, current, patches.copy_tree(body), self._manager(request), "Update", dry, events, sub
        )

    def _patch(
        self,
        rdef: ResourceDef,
        namespace: str | None,
        name: str,
        body: Any,
        request: rendering.Request,
        dry: bool,
        events: list,
        sub: str | None,
    ) -> tuple[int, dict]:
        raw = request._raw_request
        content_type = (raw.content_type if raw is not None else "") or ""
        if content_type == "application/apply-patch+yaml":
            return self._apply(rdef, namespace, name, body, request, dry, events, sub)
        current = self._load(rdef, namespace, name)
        if current is None:
            raise _not_found(rdef, name)
        try:
            if content_type in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
                if not isinstance(body, dict):
                    raise patches.PatchError("a merge patch is an object")
                # (a merge patch shares with its target what it leaves alone: give it a copy)
                new = patches.merge_patch(patches.copy_tree(current), body)
            elif content_type == "application/json-patch+json":
                new = patches.json_patch(current, body)
            else:
                raise api_error(
                    415,
                    "the body of the request was in an unknown format - "
                    "accepted media types include: application/json-patch+json, "
                    "application/merge-patch+json, application/apply-patch+yaml",
                )
        except patches.PatchError as error:
            raise api_error(422, f"the patch could not be applied: {error}") from None
        if not isinstance(new, dict) or (new.get("metadata") or {}).get("name") != name:
            raise api_error(422, "the patch may not change the object's name")
        return self._commit_update(rdef, current, new, self._manager(request), "Update", dry, events, sub)

    def _apply(
        self,
        rdef: ResourceDef,
        namespace: str | None,
        name: str,
        body: Any,
        request: rendering.Request,
        dry: bool,
        events: list,
        sub: str | None,
    ) -> tuple[int, dict]:
        manager = request.params.get("fieldManager")
        if not manager:
            raise api_error(
                422,
                'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required '
                "value: is required for apply patch",
            )
        force = request.params.get("force") in ("true", "1")
        if not isinstance(body, dict):
            raise api_error(400, "the body of the request was in an unknown format")
        if body.get("apiVersion") != rdef.api_version or body.get("kind") != rdef.kind:
            raise api_error(400, f"apply needs apiVersion {rdef.api_version} and kind {rdef.kind}")
        self._check_body(rdef, body, namespace, name)
        if (body.get("metadata") or {}).get("name") != name:
            raise api_error(400, "the name of the object must be set and match the URL")
        applying = body if sub == "status" else self._without_status(rdef, body)
        applied = patches.leaf_paths(applying)
        if sub == "status":
            applied = {p: v for p, v in applied.items() if p[0] == "status"}
        current = self._load(rdef, namespace, name)
        if current is None:
            if sub:
                raise _not_found(rdef, name)
            self._check_namespace(rdef, namespace)
            obj = self._new_object(rdef, namespace, applying, name=name)
            obj["metadata"]["managedFields"] = [self._entry(manager, "Apply", rdef, applied)]
            if not dry:
                self._store(rdef, obj, events)
            return 201, obj
        version = (body.get("metadata") or {}).get("resourceVersion")
        if version and version != current["metadata"]["resourceVersion"]:
            raise api_error(
                409, f'Operation cannot be fulfilled on {rdef.plural} "{name}": the object has been modified'
            )
        owners = self._owners(current)
        mine = next(
            (
                o
                for o in owners
                if o["manager"] == manager and o["operation"] == "Apply" and o.get("subresource") == sub
            ),
            None,
        )
        conflicts: dict[tuple, set[str]] = {}
        for path, value in applied.items():
            if patches.get_path(current, path) == value:
                continue  # same value: shared ownership, no conflict
            for owner in owners:
                if owner is mine:
                    continue
                if any(self._overlaps(path, owned) for owned in owner["paths"]):
                    conflicts.setdefault(path, set()).add(owner["manager"])
        if conflicts and not force:
            causes = [
                {
                    "type": "FieldManagerConflict",
                    "message": f'conflict with "{m}"',
                    "field": patches.format_path(p),
                }
                for p, managers in sorted(conflicts.items())
                for m in sorted(managers)
            ]
            text = "; ".join(f'conflict with "{c["message"][15:-1]}": {c["field"]}' for c in causes)
            raise api_error(
                409,
                f"Apply failed with {len(causes)} conflict(s): {text}",
                details={"name": name, "kind": rdef.plural, "causes": causes},
            )
        # (its managedFields are made anew below, in the same place: no need to copy them)
        meta = {k: None if k == "managedFields" else v for k, v in current["metadata"].items()}
        new = patches.copy_tree({**current, "metadata": meta})
        previous = mine["paths"] if mine is not None else set()
        others = [o for o in owners if o is not mine]
        for path in previous - set(applied):
            if not any(path in o["paths"] for o in others):
                patches.remove_path(new, path)
        for path, value in applied.items():
            if value == {} and isinstance(patches.get_path(new, path), dict):
                continue  # an empty map merges nothing
            patches.set_path(new, path, value)
        if force:
            for owner in others:
                owner["paths"] = {
                    p for p in owner["paths"] if not any(self._overlaps(p, c) for c in conflicts)
                }
        if mine is None:
            mine = {**self._entry(manager, "Apply", rdef, (), sub), "paths": set()}
            owners.append(mine)
        if mine["paths"] != set(applied):
            mine["time"] = _now()
        mine["paths"] = set(applied)
        new["metadata"]["managedFields"] = self._encode_owners(owners)
        if rdef.status_subresource and sub != "status" and "status" in current:
            new["status"] = patches.copy_tree(current["status"])
        self._defaults(rdef, new)
        return self._finish(rdef, current, new, dry, events)

    def _delete(
        self, rdef: ResourceDef, namespace: str | None, name: str, body: Any, dry: bool, events: list
    ) -> tuple[int, dict]:
        current = self._load(rdef, namespace, name)
        if current is None:
            raise _not_found(rdef, name)
        preconditions = (body or {}).get("preconditions") if isinstance(body, dict) else None
        if isinstance(preconditions, dict):
            for key in ("uid", "resourceVersion"):
                if preconditions.get(key) and preconditions[key] != current["metadata"].get(key):
                    raise api_error(409, f"Precondition failed: {key} does not match")
        if not dry:
            if rdef is self._namespaces:
                for other in self.served:
                    if other.namespaced:
                        for obj in self._all(other, name):
                            self._remove(other, obj, events)
            self._remove(rdef, current, events)
        if rdef.returns_deleted_object:
            return 200, current
        return 200, {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {
                "name": name,
                "group": rdef.group,
                "kind": rdef.plural,
                "uid": current["metadata"]["uid"],
            },
        }

    def _delete_collection(
        self, rdef: ResourceDef, namespace: str | None, params: dict, dry: bool, events: list
    ) -> tuple[int, dict]:
        if not rdef.namespaced:
            raise api_error(405, f"deletecollection is not supported on {rdef.plural}")
        _status, listing = self._list(
            rdef, namespace, {k: v for k, v in params.items() if k in ("labelSelector", "fieldSelector")}
        )
        deleted = []
        for item in listing.items:
            meta = item["metadata"]
            current = self._load(rdef, meta.get("namespace"), meta["name"])
            if current is not None:
                deleted.append(current)
                if not dry:
                    self._remove(rdef, current, events)
        return 200, {
            "apiVersion": rdef.api_version,
            "kind": f"{rdef.kind}List",
            "metadata": listing.metadata,
            "items": deleted,
        }


def make_emulator(
    name: str,
    *,
    token: str | None = None,
    istio: bool = True,
    istio_version: str = "v1",
    tracker: InFlight | None = None,
    extra: Callable[[ClusterEmulator], None] | None = None,
) -> ClusterEmulator:
    emulator = ClusterEmulator(
        cluster_name=name, token=token, tracker=tracker, served=default_resources(istio, istio_version)
    )
    if extra is not None:
        extra(emulator)
    return emulator
