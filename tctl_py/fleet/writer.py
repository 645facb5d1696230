"""Writing to live clusters: server-side apply, deletes for prunes, and what the plan must read.

One `ClusterClient` per cluster (kubeconfig context), with its own `ApiClient`, never the
client's global default. Requests are built by hand on the low-level `ApiClient` so the wire is
exactly what the API server expects:

- apply: `PATCH <object path>?fieldManager=tctl[&force=true][&dryRun=All]` with
  `Content-Type: application/apply-patch+yaml` and a JSON body (JSON is YAML). Creates and
  updates alike; an apply that changes nothing writes nothing on the server.
- delete: `DELETE <object path>[?dryRun=All]` with `DeleteOptions{propagationPolicy: Background}`
  (and an optional uid precondition, so an object replaced since it was read is not deleted).
- `--dry-run=server` is `dryRun=All` on every write: the API server validates and admits the
  request, then persists nothing. The `xcp-multicluster` namespace is created when an object
  first needs it; in a dry run it cannot exist yet, so objects in it are not sent (the server
  would only answer 404) and are listed in `ClusterClient.unvalidated`.

Every request is idempotent (apply, delete, get, list), so it is retried, a bounded number of
times with exponential backoff and jitter, on 429 (honouring `Retry-After`, capped), 500, 502,
503, 504, no connection, a broken connection and no answer in time. A field-manager conflict
(409 with `FieldManagerConflict` causes) is never retried: it is an `ApplyConflict` naming the
other manager (exit 5). Each request has its own timeout; a cluster may have an overall budget
(`--cluster-timeout`, see `tctl_py.fleet.timeouts`). Once the `cancel` event a client was given
is set (Ctrl-C), no request is tried again.

`kubernetes` is imported inside functions only: importing this module costs nothing.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from tctl_py.errors import ConflictError, ExitCode, TctlError
from tctl_py.fleet.kubeconfig import Kubeconfig
from tctl_py.fleet.live import (
    ClusterRequestError,
    _request_error,
    api_client_for,
    list_objects,
    request_timeouts,
)
from tctl_py.fleet.objects import (
    DESTINATION_RULES,
    GATEWAYS,
    INGRESS_GATEWAYS,
    NAMESPACES,
    SERVICE_ENTRIES,
    WORKLOAD_ENTRIES,
    Resource,
    normalize,
)
from tctl_py.fleet.parallel import run_per_cluster
from tctl_py.fleet.redaction import display_server
from tctl_py.fleet.retry import NO_RETRY, RetryPolicy, with_retries
from tctl_py.fleet.timeouts import DEFAULT_REQUEST_TIMEOUT, Budget

if TYPE_CHECKING:  # only for type checkers: importing kubernetes is what this module avoids
    from kubernetes.client import ApiClient

__all__ = [
    "APPLY_PATCH",
    "DEFAULT_REQUEST_TIMEOUT",
    "FIELD_MANAGER",
    "MANAGED_BY_LABEL",
    "MANAGED_SELECTOR",
    "MULTICLUSTER_NAMESPACE",
    "NO_RETRY",
    "WRITABLE",
    "ApplyConflict",
    "ClusterClient",
    "RetryPolicy",
    "UnsupportedResource",
    "resource_for",
    "run_per_cluster",
]

T = TypeVar("T")

FIELD_MANAGER = "tctl"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_SELECTOR = f"{MANAGED_BY_LABEL}={FIELD_MANAGER}"
MULTICLUSTER_NAMESPACE = "xcp-multicluster"
APPLY_PATCH = "application/apply-patch+yaml"

# What tctl writes, by (apiVersion, kind).
WRITABLE: dict[tuple[str, str], Resource] = {
    (r.api_version, r.kind): r
    for r in (NAMESPACES, SERVICE_ENTRIES, WORKLOAD_ENTRIES, DESTINATION_RULES, GATEWAYS, INGRESS_GATEWAYS)
}

# Set by the API server; sending them back would be a precondition (resourceVersion) or refused.
_SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
)
_CONFLICT_MANAGER = re.compile(r'conflict with "([^"]*)"')
_CONFLICTS_DOC = "https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts"


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


_import_lock = threading.Lock()


def _load_client() -> None:
    """Import the client once, under a lock, rather than racing imports in worker threads."""
    with _import_lock:
        import kubernetes.client  # noqa: F401


def _describe(kind: str, namespace: str | None, name: str) -> str:
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def _apply_body(body: Mapping) -> dict:
    """The object as applied: no status, none of the metadata the server sets."""
    clean = {key: copy.deepcopy(value) for key, value in body.items() if key != "status"}
    metadata = dict(clean.get("metadata") or {})
    for key in _SERVER_METADATA:
        metadata.pop(key, None)
    clean["metadata"] = metadata
    return clean


class ClusterClient:
    """Reads and writes one cluster (kubeconfig context) for tctl. Use it as a context manager.

    `request_timeout` bounds each request; `budget`, if given, everything done with this cluster:
    past it, requests are not sent and fail at once. Once `cancel` is set, failed requests are
    not tried again and backoff pauses end (requests in flight still finish or time out).
    For a summary:
    `writes_sent` counts the writes the server accepted (dry runs excluded); `created` names the
    objects an apply created (201; in a dry run: would create), `namespaces_created` the
    namespaces created (or would be); `unvalidated` the dry-run objects not sent because their
    namespace does not exist yet.
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
        field_manager: str = FIELD_MANAGER,
        auto_namespaces: Iterable[str] = (MULTICLUSTER_NAMESPACE,),
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        _load_client()
        self.name = context
        self.api: ApiClient = api_client_for(kubeconfig, context, retries=0)  # retries are ours
        self.server = display_server(self.api.configuration.host)
        self.request_timeout = request_timeout
        self.budget = budget
        self.cancel = cancel
        self.retry = retry
        self.field_manager = field_manager
        self.auto_namespaces = frozenset(auto_namespaces)
        self.writes_sent = 0
        self.created: list[str] = []
        self.namespaces_created: list[str] = []
        self.unvalidated: list[str] = []
        self._sleep = sleep
        self._namespaces_known: set[str] = set()
        self._namespaces_pending: set[str] = set()  # created in a dry run: they do not exist

    def __repr__(self) -> str:  # never the configuration: it holds credentials
        return f"ClusterClient({self.name!r}, server={self.server!r})"

    def __enter__(self) -> ClusterClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.api.close()

    # -- reads ----------------------------------------------------------------------------------

    def list_managed(
        self, resources: Iterable[Resource], *, selector: str = MANAGED_SELECTOR, namespace: str | None = None
    ) -> list[dict]:
        """Objects of `resources` labelled managed-by tctl (every namespace, or one).

        apiVersion/kind filled in, `managedFields` kept (the plan decides what to ignore).
        A resource the cluster does not serve (its CRD is not installed: 404) has none.
        """
        found: list[dict] = []
        for resource in resources:

            def call(resource: Resource = resource) -> list[dict]:
                return list_objects(
                    self.api,
                    resource,
                    namespace=namespace,
                    label_selector=selector,
                    request_timeout=self.request_timeout,
                    budget=self.budget,
                    managed_fields=True,
                )

            try:
                found += self._with_retries(call)
            except ClusterRequestError as error:
                if error.status != 404:
                    raise
        return found

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> dict | None:
        """One object as the server has it (managedFields kept), or None if there is none."""
        resource = resource_for(api_version, kind)
        namespace = namespace if resource.namespaced else None
        try:
            _, obj = self._request(
                "GET", resource.path(namespace, name), doing=f"reading {_describe(kind, namespace, name)}"
            )
        except ClusterRequestError as error:
            if error.status == 404:
                return None
            raise
        return normalize(obj, resource.api_version, resource.kind, managed_fields=True)

    # -- writes ---------------------------------------------------------------------------------

    def apply(self, body: Mapping, *, force: bool = False, dry_run: bool = False) -> dict:
        """Server-side apply `body` (create or update) as field manager `tctl`; the server's answer.

        `force` takes over fields other managers own; `dry_run` sends `dryRun=All` (nothing is
        persisted; the answer is the would-be object). Raises ApplyConflict (exit 5) on a
        field-manager conflict, ClusterRequestError (exit 4) on other failures.
        """
        resource, namespace, name = self._identify(body)
        what = _describe(resource.kind, namespace, name)
        if namespace and namespace in self.auto_namespaces:
            self.ensure_namespace(namespace, dry_run=dry_run)
        if dry_run and namespace in self._namespaces_pending:
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

        status, obj = self._request(
            "PATCH",
            resource.path(namespace, name),
            query=query,
            body=_apply_body(body),
            content_type=APPLY_PATCH,
            doing=f"applying {what}",
            check=check,
        )
        if status == 201:
            self.created.append(what)
        if resource is NAMESPACES:  # remembered, so objects in it need not ask again
            (self._namespaces_pending if dry_run and status == 201 else self._namespaces_known).add(name)
        if not dry_run:
            self.writes_sent += 1
        return normalize(obj, resource.api_version, resource.kind, managed_fields=True)

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
            self._request(
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
        if not dry_run:
            self.writes_sent += 1
        return True

    def ensure_namespace(self, name: str, *, dry_run: bool = False) -> bool:
        """Create namespace `name` if it does not exist; True if it was created (or would be).

        Asked once per client. In a dry run the creation is validated by the server
        (`dryRun=All`) and the namespace remembered as not existing.
        """
        if name in self._namespaces_known or name in self._namespaces_pending:
            return False
        if self.get("v1", "Namespace", None, name) is not None:
            self._namespaces_known.add(name)
            return False
        self.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, dry_run=dry_run)
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

    def _request(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        body: Any = None,
        content_type: str | None = None,
        doing: str,
        check: Callable[[ClusterRequestError], None] | None = None,
    ) -> tuple[int, dict]:
        """Send one request (retried as the policy says); (status, JSON body) of a 2xx answer."""
        import json

        from kubernetes.client.exceptions import ApiException

        def once() -> tuple[int, dict]:
            timeouts = request_timeouts(self.request_timeout, self.budget, self.server, doing)
            headers = {"Accept": "application/json"}
            if content_type:
                headers["Content-Type"] = content_type
            try:
                method_, url, header_params, _, _ = self.api.param_serialize(
                    method=method,
                    resource_path=path,
                    query_params=list(query),
                    header_params=headers,
                    auth_settings=["BearerToken"],
                )
                response = self.api.call_api(
                    method_, url, header_params=header_params, body=body, _request_timeout=timeouts
                )
                response.read()
            except Exception as exc:  # noqa: BLE001 - urllib3's connection errors and timeouts, TLS
                raise _request_error(exc, self.server, doing, timeouts) from None
            if not 200 <= response.status <= 299:
                error = _request_error(ApiException(http_resp=response), self.server, doing, timeouts)
                if check is not None:
                    check(error)
                raise error
            try:
                data = json.loads(response.data or b"{}")
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

        return self._with_retries(once)

    def _with_retries(self, call: Callable[[], T]) -> T:
        return with_retries(
            call, policy=self.retry, budget=self.budget, cancel=self.cancel, sleep=self._sleep
        )
