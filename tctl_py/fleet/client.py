"""One HTTP client per cluster, for every read and write tctl sends to it.

`ClusterClient` is built like lightkube's generic client: one path for every request
(`request`: serialize, send through the cluster's `Transport` (`fleet/transport.py`), map the
answer or the failure to a `ClusterRequestError`, retry), and typed operations on top of it:
`list` (page by page), `get`, `apply`, `delete`, `watch` (a stream), and `read_state` (what the
engine reads of a cluster). The context's `Endpoint` (`fleet/connection.py`, read as kubectl
reads a kubeconfig) gives each request its credentials; when the server refuses an exec
plugin's (401), they are asked for again and the request sent once more. Requests are built by
hand so the wire is exactly what the API server expects:

- list: `GET <collection>?limit=500[&continue=...][&labelSelector=...]`, the raw JSON decoded as
  `kubectl get -o yaml` shows it (camelCase keys, no `None`-filled fields; faster than models).
- apply: `PATCH <object path>?fieldManager=tctl[&force=true][&dryRun=All]` with
  `Content-Type: application/apply-patch+yaml` and a JSON body (JSON is YAML). Creates and
  updates alike; an apply that changes nothing writes nothing on the server.
- delete: `DELETE <object path>[?dryRun=All]` with `DeleteOptions{propagationPolicy: Background}`
  (and an optional uid precondition, so an object replaced since it was read is not deleted).
- `--dry-run=server` is `dryRun=All` on every write: the API server validates and admits the
  request, then persists nothing. The `xcp-multicluster` namespace is created when an object
  first needs it; in a dry run it cannot exist yet, so objects in it are not sent (the server
  would only answer 404) and are listed in `ClusterClient.unvalidated`.

Every request is idempotent (apply, delete, get, list), so it is retried by one policy
(`fleet/retry.py`): a bounded number of times with exponential backoff and jitter, on 429
(honouring `Retry-After`, capped), 500, 502, 503, 504, no connection, a broken connection and no
answer in time; the pause is an injectable `sleep`, so tests never wait through real backoff. A
field-manager conflict (409 with `FieldManagerConflict` causes) is never retried: it is an
`ApplyConflict` naming the other manager (exit 5). `--request-timeout` bounds each request; a
cluster may have an overall budget (`--cluster-timeout`, see `tctl_py.fleet.timeouts`). Once the
`cancel` event a client was given is set (Ctrl-C), no request is tried again.

A client may be used from several threads at once (writes go out concurrently within a
cluster): its transport keeps `connections` connections open for reuse, and its counters are
locked. `kubernetes` is imported only for a user with an exec plugin or an auth provider
(`fleet/connection.py`).
"""

from __future__ import annotations

import builtins
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from tctl_py.errors import ClusterError, ConflictError, ExitCode, TctlError
from tctl_py.fleet import wirejson
from tctl_py.fleet.connection import Endpoint, _first_line, endpoint_for
from tctl_py.fleet.kubeconfig import Kubeconfig
from tctl_py.fleet.objects import (
    DESTINATION_RULES,
    GATEWAYS,
    INGRESS_GATEWAYS,
    NAMESPACES,
    SERVICE_ENTRIES,
    SERVICES,
    STATE_RESOURCES,
    WORKLOAD_ENTRIES,
    Resource,
    normalize,
    sort_objects,
)
from tctl_py.fleet.redaction import REDACTOR, display_server
from tctl_py.fleet.retry import RetryPolicy, with_retries
from tctl_py.fleet.timeouts import DEFAULT_REQUEST_TIMEOUT, MIN_TIMEOUT, Budget, connect_timeout, seconds
from tctl_py.fleet.transport import (
    BadHeader,
    ConnectFailed,
    ProxyRefused,
    ReadTimedOut,
    Response,
    Stream,
    TLSFailed,
    Transport,
    TransportError,
)
from tctl_py.kube import (
    DELETION_METADATA,
    FIELD_MANAGER,
    MANAGED_SELECTOR,
    MULTICLUSTER_NAMESPACE,
    SERVER_METADATA,
)
from tctl_py.mesh.model import ClusterState

APPLY_PATCH = "application/apply-patch+yaml"
PAGE_SIZE = 500  # items per list request, as kubectl's --chunk-size
DEFAULT_CONNECTIONS = 8  # connections kept open per cluster (requests sent at once, at most)

# DestinationRule versions to try, newest first: Istio < 1.22 serves no v1.
_DESTINATION_RULE_VERSIONS = ("v1", "v1beta1")

# What tctl writes, by (apiVersion, kind).
WRITABLE: dict[tuple[str, str], Resource] = {
    (r.api_version, r.kind): r
    for r in (NAMESPACES, SERVICE_ENTRIES, WORKLOAD_ENTRIES, DESTINATION_RULES, GATEWAYS, INGRESS_GATEWAYS)
}

# What a fleet cluster must let the kubeconfig's identity do, as RBAC verbs by resource, following
# the requests this module sends: `get` and `list` read, `watch` follows changes (`sync --watch`),
# server-side apply needs `patch` and, for an object that does not exist yet, `create`. A
# Namespace is created when needed but never deleted (reconcile/plan.py never prunes one).
# deploy/fleet/clusterrole.yaml grants exactly this (tests/unit/test_deploy.py checks it).
READ_VERBS = frozenset({"get", "list", "watch"})
WRITE_VERBS = frozenset({"create", "patch", "delete"})


def fleet_permissions() -> dict[Resource, frozenset[str]]:
    """The RBAC verbs tctl uses in a fleet cluster, by resource."""
    permissions = {resource: READ_VERBS for resource in STATE_RESOURCES.values()}
    for resource in WRITABLE.values():
        writes = WRITE_VERBS - {"delete"} if resource is NAMESPACES else WRITE_VERBS
        permissions[resource] = READ_VERBS | writes
    return permissions


_CONFLICT_MANAGER = re.compile(r'conflict with "([^"]*)"')
_CONFLICTS_DOC = "https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts"


_Answer = TypeVar("_Answer", Response, Stream)


class ClusterRequestError(ClusterError):
    """A request to one cluster failed; `status` is the HTTP status (0 if there was no answer).

    `retryable`: sending the same (idempotent) request again may succeed: 429, 500/502/503/504,
    no connection, a broken connection or no answer in time. `retry_after`: the seconds the
    server asked to wait (`Retry-After`), if it said.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        hint: str = "",
        retryable: bool = False,
        retry_after: float | None = None,
        body: dict | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
        self.body = body or {}  # the server's Status object, when it sent one


class UnsupportedResource(TctlError):
    """An object tctl does not write (an unknown apiVersion/kind, or no name/namespace)."""

    exit_code = ExitCode.INVALID


class ApplyConflict(ConflictError):
    """Server-side apply refused: fields tctl applies are owned by other field managers (409)."""

    def __init__(
        self,
        message: str,
        *,
        hint: str = "",
        managers: Sequence[str] = (),
        fields: Sequence[str] = (),
        cluster: str = "",
        server: str = "",
        kind: str = "",
        namespace: str = "",
        name: str = "",
    ) -> None:
        super().__init__(message, hint=hint)
        self.managers = tuple(managers)
        self.fields = tuple(fields)
        self.cluster = cluster
        self.server = server
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.status = 409


def resource_for(api_version: str, kind: str) -> Resource:
    """The resource tctl writes objects of `apiVersion`/`kind` to; UnsupportedResource otherwise."""
    resource = WRITABLE.get((str(api_version or ""), str(kind or "")))
    if resource is None:
        known = ", ".join(f"{k} ({v})" for v, k in WRITABLE)
        raise UnsupportedResource(
            f"tctl does not write {kind or '(no kind)'} "
            f"({api_version or 'no apiVersion'}) objects to clusters",
            hint=f"it writes {known}",
        )
    return resource


def _describe(kind: str, namespace: str | None, name: str) -> str:
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def _apply_body(body: Mapping) -> dict:
    """The object as applied: no status, none of the metadata the server sets. A new top level
    and metadata; deeper values are shared with `body` (the request only serializes them)."""
    clean = {key: value for key, value in body.items() if key != "status"}
    clean["metadata"] = {
        key: value
        for key, value in (clean.get("metadata") or {}).items()
        if key not in SERVER_METADATA and key not in DELETION_METADATA
    }
    return clean


class ClusterClient:
    """Reads and writes one cluster (kubeconfig context) for tctl. Use it as a context manager.

    `request_timeout` bounds each request; `budget`, if given, everything done with this cluster:
    past it, requests are not sent and fail at once. Once `cancel` is set, failed requests are
    not tried again and backoff pauses end (requests in flight still finish or time out).
    `retry` says how failed requests are sent again and `sleep` replaces its pauses (tests).
    `connections`: connections kept open to the server, at least the requests sent at once.
    For a summary: `created` names the objects an apply created (201; in a dry run: would
    create), `namespaces_created` the namespaces created (or would be); `unvalidated` the
    dry-run objects not sent because their namespace does not exist yet.
    Raises ClusterError if the context cannot be turned into a client configuration.
    """

    def __init__(
        self,
        kubeconfig: Kubeconfig | Mapping,
        context: str,
        *,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        budget: Budget | None = None,
        cancel: threading.Event | None = None,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] | None = None,
        connections: int = DEFAULT_CONNECTIONS,
        field_manager: str = FIELD_MANAGER,
        auto_namespaces: Iterable[str] = (MULTICLUSTER_NAMESPACE,),
    ) -> None:
        from tctl_py import __version__

        self.name = context
        self.endpoint = endpoint_for(kubeconfig, context)
        self.server = display_server(self.endpoint.server)
        self.transport = Transport(
            self.endpoint.server,
            tls=self.endpoint.tls,
            proxy=self.endpoint.proxy,
            idle=connections,
            user_agent=f"tctl/{__version__}",
        )
        self._credential: str | None = None
        self._renewing = threading.Lock()
        self.request_timeout = request_timeout
        self.budget = budget
        self.cancel = cancel
        self.retry = retry
        self.field_manager = field_manager
        self.auto_namespaces = frozenset(auto_namespaces)
        self.created: list[str] = []
        self.namespaces_created: list[str] = []
        self.unvalidated: list[str] = []
        self._sleep = sleep
        self._lock = threading.Lock()  # the counters and namespaces above, across writer threads
        self._namespace_lock = threading.Lock()  # one ensure_namespace at a time
        self._namespaces_known: set[str] = set()
        self._namespaces_pending: set[str] = set()  # created in a dry run: they do not exist

    def __repr__(self) -> str:  # never the configuration: it holds credentials
        return f"ClusterClient({self.name!r}, server={self.server!r})"

    def __enter__(self) -> ClusterClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()

    # -- reads ----------------------------------------------------------------------------------

    def list(
        self,
        resource: Resource,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        page_size: int = PAGE_SIZE,
        managed_fields: bool = False,
    ) -> list[dict]:
        """Every object of `resource` (in one namespace, or all), as `kubectl get -o yaml` shows
        them (`managed_fields=True` keeps `metadata.managedFields`, which kubectl hides).

        Follows `continue` tokens page by page; each page is one request (retried on its own).
        """
        doing = f"listing {resource.display}"
        items: list[dict] = []
        token: str | None = None
        while True:
            query = [("limit", str(page_size))]
            if token:
                query.append(("continue", token))
            if label_selector:
                query.append(("labelSelector", label_selector))
            if field_selector:
                query.append(("fieldSelector", field_selector))
            _, body = self.request("GET", resource.path(namespace), query=query, doing=doing)
            if not isinstance(body.get("items", []), list):
                raise ClusterRequestError(f"{self.server} answered {doing} with something that is not a list")
            api_version = body.get("apiVersion") or resource.api_version
            items += [
                normalize(item, api_version, resource.kind, managed_fields=managed_fields)
                for item in body.get("items") or ()
                if isinstance(item, dict)
            ]
            token = (body.get("metadata") or {}).get("continue")
            if not token:
                return items

    def list_managed(
        self, resources: Iterable[Resource], *, selector: str = MANAGED_SELECTOR, namespace: str | None = None
    ) -> builtins.list[dict]:
        """Objects of `resources` labelled managed-by tctl (every namespace, or one).

        apiVersion/kind filled in, `managedFields` kept (the plan decides what to ignore).
        A resource the cluster does not serve (its CRD is not installed: 404) has none.
        """
        found: list[dict] = []
        for resource in resources:
            try:
                found += self.list(
                    resource, namespace=namespace, label_selector=selector, managed_fields=True
                )
            except ClusterRequestError as error:
                if error.status != 404:
                    raise
        return found

    def read_state(self, server: str = "") -> ClusterState:
        """The cluster's Namespaces, Services and DestinationRules: what the engine reads.

        Never raises for a cluster problem: the state says `reachable=False` and why.
        """
        try:
            namespaces = self.list(NAMESPACES)
            services = self.list(SERVICES)
            destination_rules = self._destination_rules()
        except ClusterRequestError as error:
            return ClusterState(name=self.name, server=server, reachable=False, error=error.message)
        return ClusterState(
            name=self.name,
            server=server,
            namespaces=sort_objects(namespaces),
            services=sort_objects(services),
            destination_rules=sort_objects(destination_rules),
        )

    def _destination_rules(self) -> builtins.list[dict]:
        """DestinationRules of every namespace; none when Istio's CRD is not installed (404)."""
        for version in _DESTINATION_RULE_VERSIONS:
            resource = Resource(
                DESTINATION_RULES.group, version, DESTINATION_RULES.plural, DESTINATION_RULES.kind
            )
            try:
                return self.list(resource)
            except ClusterRequestError as error:
                if error.status != 404:
                    raise
        return []

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> dict | None:
        """One object as the server has it (managedFields kept), or None if there is none."""
        resource = resource_for(api_version, kind)
        namespace = namespace if resource.namespaced else None
        try:
            _, obj = self.request(
                "GET", resource.path(namespace, name), doing=f"reading {_describe(kind, namespace, name)}"
            )
        except ClusterRequestError as error:
            if error.status == 404:
                return None
            raise
        return normalize(obj, resource.api_version, resource.kind, managed_fields=True)

    # -- writes ---------------------------------------------------------------------------------

    def apply(
        self, body: Mapping, *, force: bool = False, dry_run: bool = False, answer: bool = True
    ) -> dict | None:
        """Server-side apply `body` (create or update) as field manager `tctl`; the server's answer.

        `force` takes over fields other managers own; `dry_run` sends `dryRun=All` (nothing is
        persisted; the answer is the would-be object). Without `answer` the server's answer is
        not read into an object and None is returned: the executor, which sends one apply per
        object, has no use for it. Raises ApplyConflict (exit 5) on a field-manager conflict,
        ClusterRequestError (exit 4) on other failures.
        """
        resource, namespace, name = self._identify(body)
        what = _describe(resource.kind, namespace, name)
        if namespace and namespace in self.auto_namespaces:
            self.ensure_namespace(namespace, dry_run=dry_run)
        if dry_run and namespace in self._namespaces_pending:
            with self._lock:
                self.unvalidated.append(what)
                self.created.append(what)
            result = _apply_body(body)
            result["metadata"]["namespace"] = namespace
            return result
        query = [("fieldManager", self.field_manager)]
        if force:
            query.append(("force", "true"))
        if dry_run:
            query.append(("dryRun", "All"))

        def check(error: ClusterRequestError) -> None:
            if error.status == 409:
                conflict = self._conflict(error, resource, namespace, name)
                if conflict is not None:
                    raise conflict from None
                error.retryable = True  # "the object has been modified": apply again, it is idempotent
            elif error.status == 404:
                details = (error.body.get("details") or {}) if isinstance(error.body, dict) else {}
                if details.get("kind") == "namespaces":
                    error.hint = f'namespace "{namespace}" does not exist in this cluster'
                else:
                    error.hint = (
                        f"does the cluster serve {resource.display} "
                        f"({resource.api_version})? Is its CRD installed?"
                    )

        status, obj = self.request(
            "PATCH",
            resource.path(namespace, name),
            query=query,
            body=_apply_body(body),
            content_type=APPLY_PATCH,
            doing=f"applying {what}",
            check=check,
            parse=answer,
        )
        with self._lock:
            if status == 201:
                self.created.append(what)
            if resource is NAMESPACES:  # remembered, so objects in it need not ask again
                (self._namespaces_pending if dry_run and status == 201 else self._namespaces_known).add(name)
        return normalize(obj, resource.api_version, resource.kind, managed_fields=True) if answer else None

    def delete(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        name: str,
        *,
        dry_run: bool = False,
        uid: str | None = None,
    ) -> bool:
        """Delete one object (background propagation); False if it was already gone (404).

        With `uid`, the server deletes only that very object (a precondition: 409 otherwise).
        """
        resource = resource_for(api_version, kind)
        namespace = namespace if resource.namespaced else None
        options: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "propagationPolicy": "Background",
        }
        query: list[tuple[str, str]] = []
        if dry_run:
            options["dryRun"] = ["All"]
            query.append(("dryRun", "All"))
        if uid:
            options["preconditions"] = {"uid": uid}
        try:
            self.request(
                "DELETE",
                resource.path(namespace, name),
                query=query,
                body=options,
                content_type="application/json",
                doing=f"deleting {_describe(kind, namespace, name)}",
            )
        except ClusterRequestError as error:
            if error.status == 404:
                return False
            raise
        return True

    def ensure_namespace(self, name: str, *, dry_run: bool = False) -> bool:
        """Create namespace `name` if it does not exist; True if it was created (or would be).

        Asked once per client: writers that need it at the same time wait for the first one.
        In a dry run the creation is validated by the server (`dryRun=All`) and the namespace
        remembered as not existing.
        """
        with self._namespace_lock:
            if name in self._namespaces_known or name in self._namespaces_pending:
                return False
            if self.get("v1", "Namespace", None, name) is not None:
                with self._lock:
                    self._namespaces_known.add(name)
                return False
            self.apply(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
                dry_run=dry_run,
                answer=False,
            )
            with self._lock:
                self.namespaces_created.append(name)
            return True

    # -- requests -------------------------------------------------------------------------------

    def _identify(self, body: Mapping) -> tuple[Resource, str | None, str]:
        if not isinstance(body, Mapping):
            raise UnsupportedResource(f"cannot apply {type(body).__name__}: an object is a mapping")
        resource = resource_for(body.get("apiVersion", ""), body.get("kind", ""))
        metadata = body.get("metadata") or {}
        name = str(metadata.get("name") or "")
        if not name:
            raise UnsupportedResource(f"{resource.kind} without metadata.name cannot be applied")
        namespace = (str(metadata.get("namespace") or "") or None) if resource.namespaced else None
        if resource.namespaced and not namespace:
            raise UnsupportedResource(f"{resource.kind} {name} has no metadata.namespace")
        return resource, namespace, name

    def _conflict(
        self, error: ClusterRequestError, resource: Resource, namespace: str | None, name: str
    ) -> ApplyConflict | None:
        """The ApplyConflict a 409 stands for, or None if it is not a field-manager conflict."""
        body = error.body if isinstance(error.body, dict) else {}
        causes = [
            c
            for c in ((body.get("details") or {}).get("causes") or ())
            if isinstance(c, dict) and c.get("type") == "FieldManagerConflict"
        ]
        if not causes:
            return None
        by_manager: dict[str, list[str]] = {}
        for cause in causes:
            found = _CONFLICT_MANAGER.search(str(cause.get("message") or ""))
            manager = found.group(1) if found else "another field manager"
            by_manager.setdefault(manager, []).append(str(cause.get("field") or "?"))
        what = _describe(resource.kind, namespace, name)
        parts = "; ".join(
            f'conflict with "{manager}": {", ".join(fields)}' for manager, fields in by_manager.items()
        )
        message = f"applying {what} to {self.server} failed with {len(causes)} conflict(s): {parts}"
        hint = (
            "re-run with --force-conflicts to take these fields over, stop setting them, "
            f"or set the values the other manager has (ownership is then shared); {_CONFLICTS_DOC}"
        )
        return ApplyConflict(
            message,
            hint=hint,
            managers=list(by_manager),
            fields=[f for fields in by_manager.values() for f in fields],
            cluster=self.name,
            server=self.server,
            kind=resource.kind,
            namespace=namespace or "",
            name=name,
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        body: Any = None,
        content_type: str | None = None,
        doing: str,
        check: Callable[[ClusterRequestError], None] | None = None,
        parse: bool = True,
    ) -> tuple[int, dict]:
        """Send one request, again as the retry policy says; (status, JSON body) of a 2xx answer.

        `doing` names the request in messages ("applying ServiceEntry ns/name"); `check` may turn
        a failed answer into another error, or mark it retryable, before it is raised. Without
        `parse` a 2xx answer's body is not decoded (the body returned is empty).
        Raises ClusterRequestError.
        """
        payload = None if body is None else wirejson.dumps(body)

        def once() -> tuple[int, dict]:
            timeouts = request_timeouts(self.request_timeout, self.budget, self.server, doing)
            try:
                response = self._sent(
                    lambda headers: self.transport.request(
                        method, path, query=query, headers=headers, body=payload, timeout=timeouts
                    ),
                    content_type,
                    doing,
                )
            except TransportError as exc:
                raise _transport_error(exc, self.server, doing, timeouts) from None
            if not 200 <= response.status <= 299:
                error = status_error(response.status, response.reason, response.data, self.server, doing)
                error.retryable = error.status in RETRYABLE_STATUSES
                error.retry_after = _retry_after(response.headers)
                if check is not None:
                    check(error)
                raise error
            if not parse:
                return response.status, {}
            try:
                data = wirejson.loads(response.data or b"{}")
            except ValueError:
                raise ClusterRequestError(
                    f"{self.server} answered {doing} with something that is not JSON", status=response.status
                ) from None
            if not isinstance(data, dict):
                raise ClusterRequestError(
                    f"{self.server} answered {doing} with something that is not an object",
                    status=response.status,
                )
            return response.status, data

        return with_retries(
            once, policy=self.retry, budget=self.budget, cancel=self.cancel, sleep=self._sleep
        )

    def watch(
        self, path: str, query: Sequence[tuple[str, str]], *, read_timeout: float, doing: str
    ) -> Stream:
        """Open a watch (or any streamed GET) once, not retried: the caller decides what a broken
        or refused stream means. The stream's status may be any; ClusterRequestError without one."""
        timeouts = (connect_timeout(self.request_timeout), read_timeout)
        try:
            return self._sent(
                lambda headers: self.transport.stream(
                    "GET", path, query=query, headers=headers, timeout=timeouts
                ),
                None,
                doing,
            )
        except TransportError as exc:
            raise _transport_error(exc, self.server, doing, timeouts) from None

    def _sent(
        self, send: Callable[[dict[str, str]], _Answer], content_type: str | None, doing: str
    ) -> _Answer:
        """`send(headers)` with the credentials of the moment; when the server refuses those an
        exec plugin or auth provider gave (401), once more with new ones (`_renewed`)."""
        endpoint, renewed = self.endpoint, False
        while True:
            answer = send(self._headers(content_type, endpoint))
            if answer.status != 401 or renewed or endpoint.renew is None:
                return answer
            if isinstance(answer, Stream):
                answer.close()
            endpoint, renewed = self._renewed(endpoint, doing), True

    def _renewed(self, refused: Endpoint, doing: str) -> Endpoint:
        """The endpoint with credentials asked for again (its exec plugin run again), after the
        server refused `refused`'s (401), as client-go does: the official client renews an exec
        plugin's token only once it has expired, and its client certificate never. Requests
        refused together renew once: the others find the endpoint renewed already."""
        assert refused.renew is not None
        with self._renewing:
            if self.endpoint is refused:
                try:
                    fresh = refused.renew()
                except TctlError as failure:
                    raise ClusterRequestError(
                        f"HTTP 401 Unauthorized from {self.server} ({doing}), and asking for new "
                        f"credentials failed: {failure.message}",
                        status=401,
                    ) from None
                self.transport.use_tls(fresh.tls)  # a new client certificate: new connections
                self.endpoint = fresh
            return self.endpoint

    def _headers(self, content_type: str | None, endpoint: Endpoint) -> dict[str, str]:
        """A request's headers: `endpoint`'s credentials as they are now (an exec plugin's token
        is renewed when it expires, a token file read again when it changes), each new one
        redacted."""
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        credential = endpoint.authorization()
        if credential:
            headers["Authorization"] = credential
            if credential != self._credential:  # an exec plugin's new token, or the first one
                self._credential = credential
                REDACTOR.add([credential, *credential.split(" ", 1)[1:]])
        return headers


# ---------------------------------------------------------------------------------------------
# Errors as short human messages: what failed, on which server. Never credentials.


def request_timeouts(
    request_timeout: float, budget: Budget | None, server: str, doing: str
) -> tuple[float, float]:
    """(connect, read) timeouts of the next request: the request timeout (the connection's at
    most 3 s), or what is left of the cluster's budget when that is less; an error when none is."""
    read = request_timeout
    if budget is not None:
        left = budget.left()
        if left <= 0:
            raise ClusterRequestError(
                f"gave up on {server} ({doing}): {budget.describe()} are spent",
                hint="a slow or overloaded API server; try again later, or raise --cluster-timeout",
            )
        read = min(read, left)
    read = max(read, MIN_TIMEOUT)
    return (min(connect_timeout(request_timeout), read), read)


RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
_MAX_RETRY_AFTER = 3600.0


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """`Retry-After` in seconds (the delta-seconds form; an HTTP date is ignored)."""
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        delay = float(value.strip())
    except ValueError:
        return None
    return min(max(delay, 0.0), _MAX_RETRY_AFTER) if delay == delay else None  # NaN


def _transport_error(
    exc: TransportError, server: str, doing: str, timeouts: tuple[float, float]
) -> ClusterRequestError:
    """The short message for a request that got no HTTP answer (`timeouts`: the (connect, read)
    seconds it had); `retryable` says whether sending it again may help."""
    connect, read = timeouts
    if isinstance(exc, ReadTimedOut):
        return ClusterRequestError(
            f"no answer from {server} within {seconds(read)} ({doing})", retryable=True
        )
    if isinstance(exc, ConnectFailed):
        if exc.reason == "timeout":
            # Not retried: the kernel already resent the SYN within the connect timeout, and trying
            # again would only make a dead address cost every command twice as long.
            return ClusterRequestError(
                f"cannot connect to {server}: no connection within {seconds(connect)} ({doing})"
            )
        why = {"refused": "connection refused", "unknown host": "unknown host"}.get(
            exc.reason, "no connection"
        )
        return ClusterRequestError(f"cannot connect to {server}: {why} ({doing})", retryable=True)
    if isinstance(exc, TLSFailed):
        return ClusterRequestError(
            f"TLS with {server} failed ({doing}): {_foreign(exc.detail)}",
            hint="check the cluster's certificate-authority in the kubeconfig",
        )
    if isinstance(exc, BadHeader):
        return ClusterRequestError(
            f"cannot send a request to {server} ({doing}): {exc.detail}",
            hint="a credential in the kubeconfig (a token?) holds a line break",
        )
    if isinstance(exc, ProxyRefused):
        return ClusterRequestError(
            f"the proxy would not reach {server} ({doing}): {_foreign(exc.detail)}",
            hint="check HTTPS_PROXY and NO_PROXY, or the kubeconfig's proxy-url",
            retryable=exc.status in RETRYABLE_STATUSES,
        )
    return ClusterRequestError(f"connection to {server} broke ({doing})", retryable=True)


def status_error(status: int, reason: str, data: bytes, server: str, doing: str) -> ClusterRequestError:
    """The error for an HTTP answer that is not 2xx, with the server's own message."""
    detail = ""
    status_body: dict = {}
    try:
        body = wirejson.loads(data or b"{}")
        if isinstance(body, dict):
            detail = str(body.get("message") or "")
            status_body = body
    except (ValueError, TypeError):
        detail = ""
    message = f"HTTP {status} {reason}".rstrip() + f" from {server} ({doing})"
    if detail:  # the server's words may echo what it was sent
        message += f": {_foreign(detail)}"
    hint = ""
    if status == 401:
        hint = "the cluster refused the kubeconfig's credentials; are they expired?"
    elif status == 403:
        hint = "the kubeconfig's user may not do this; check its RBAC"
    return ClusterRequestError(message, status=status, hint=hint, body=status_body)


def _foreign(text: str) -> str:
    """The first line of a library's or server's words, which may quote URLs and headers."""
    return REDACTOR.scrub(_first_line(text))
