"""Live clusters through the official `kubernetes` client: the one module that imports it.

`kubernetes` costs ~0.5 s to import, so it is imported inside functions only; importing this
module is cheap. Each cluster (kubeconfig context) gets its own `Configuration` and `ApiClient`,
never the client's global default, so clusters with different servers and credentials can be
read side by side. Clusters are read concurrently (a bounded thread pool); each request has its own
timeout (see `tctl_py.fleet.timeouts`); a cluster that cannot be read becomes
`ClusterState(reachable=False, error=...)` and the others are unaffected.

Objects are decoded from the raw JSON of plain GETs on the low-level `ApiClient`, not through the
client's typed calls and models: that is exactly what the API server sent and what
`kubectl get -o yaml` shows (camelCase keys, no `None`-filled fields), and it is faster.
`managedFields` are dropped, as kubectl does.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from tctl_py.errors import ClusterError, UsageError
from tctl_py.fleet.kubeconfig import (ClusterRef, Kubeconfig, display_server, load_kubeconfig, redact,
                                      secrets_of)
from tctl_py.fleet.objects import DESTINATION_RULES, NAMESPACES, SERVICES, Resource, normalize, sort_objects
from tctl_py.fleet.parallel import run_per_cluster
from tctl_py.fleet.retry import RetryPolicy, with_retries
from tctl_py.fleet.timeouts import (DEFAULT_REQUEST_TIMEOUT, MIN_TIMEOUT, Budget, ClusterBudgets,
                                    connect_timeout, seconds)
from tctl_py.mesh.model import ClusterState

if TYPE_CHECKING:  # only for type checkers: importing kubernetes is what this module avoids
    from kubernetes.client import ApiClient

DEFAULT_WORKERS = 32  # clusters read at the same time (as fleet.parallel.DEFAULT_WORKERS)
PAGE_SIZE = 500  # items per list request, as kubectl's --chunk-size

T = TypeVar("T")

# DestinationRule versions to try, newest first: Istio < 1.22 serves no v1.
_DESTINATION_RULE_VERSIONS = ("v1", "v1beta1")


class ClusterRequestError(ClusterError):
    """A request to one cluster failed; `status` is the HTTP status (0 if there was no answer).

    `retryable`: sending the same (idempotent) request again may succeed: 429, 500/502/503/504,
    no connection, a broken connection or no answer in time. `retry_after`: the seconds the
    server asked to wait (`Retry-After`), if it said.
    """

    def __init__(self, message: str, *, status: int = 0, hint: str = "", retryable: bool = False,
                 retry_after: float | None = None, body: dict | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
        self.body = body or {}  # the server's Status object, when it sent one


# ---------------------------------------------------------------------------------------------
# Clients

def _context_config(merged: Mapping, context: str) -> dict:
    """A kubeconfig holding only `context`, its cluster and its user (deep copies)."""
    contexts = {e.get("name"): e for e in merged.get("contexts") or ()}
    if context not in contexts:
        known = ", ".join(sorted(str(name) for name in contexts)) or "none"
        raise ClusterError(f'context "{context}" is not in the kubeconfig',
                           hint=f"known contexts: {known}")
    entry = contexts[context]
    body = entry.get("context") or {}
    cluster_name = body.get("cluster")
    clusters = [e for e in merged.get("clusters") or () if e.get("name") == cluster_name]
    if not clusters:
        raise ClusterError(f'context "{context}" names cluster "{cluster_name or ""}", '
                           "which the kubeconfig does not define")
    if not (clusters[0].get("cluster") or {}).get("server"):
        raise ClusterError(f'cluster "{cluster_name}" of context "{context}" has no server')
    users = [e for e in merged.get("users") or () if e.get("name") == body.get("user")]
    return copy.deepcopy({
        "apiVersion": "v1", "kind": "Config", "preferences": {}, "current-context": context,
        "contexts": [entry], "clusters": clusters[:1], "users": users[:1],
    })


def api_client_for(merged: Kubeconfig | Mapping, context: str, *, retries: int = 1) -> ApiClient:
    """A new `ApiClient` with its own `Configuration` for one context (close it when done).

    `merged` is a `Kubeconfig` or a merged kubeconfig dict. Refused connections are retried
    `retries` times (at once) by urllib3; tctl's own readers and writers pass 0 and retry with
    backoff themselves (`with_retries`).
    Raises ClusterError if the context cannot be turned into a client configuration.
    """
    from kubernetes import client, config
    from urllib3.util.retry import Retry

    from tctl_py import __version__

    config_dict = merged.config if isinstance(merged, Kubeconfig) else merged
    minimal = _context_config(config_dict, context)
    configuration = client.Configuration()
    try:
        config.load_kube_config_from_dict(minimal, context=context,
                                          client_configuration=configuration,
                                          persist_config=False)
    except Exception as exc:  # ConfigException, exec plugin failures, unreadable cert files...
        user = (minimal["contexts"][0].get("context") or {}).get("user", "")
        message = redact(_first_line(str(exc)), secrets_of(minimal, user))
        raise ClusterError(f'cannot configure a client for context "{context}": {message}') from None
    configuration.retries = Retry(total=retries, connect=retries, read=0, status=0,
                                  redirect=0, other=0, raise_on_status=False)
    api = client.ApiClient(configuration)
    api.user_agent = f"tctl/{__version__}"
    return api


# ---------------------------------------------------------------------------------------------
# Reading

def _get(api: ApiClient, path: str, query: list[tuple[str, str]],
         timeouts: tuple[float, float]) -> bytes:
    """GET `path` on the low-level `ApiClient`; the body of a 2xx answer, else ApiException.

    Not through the client's typed list calls: `CoreV1Api` alone costs ~0.4 s to import (its
    models), every time tctl reads a live fleet, for calls that only send a GET.
    """
    from kubernetes.client.exceptions import ApiException

    method, url, headers, _, _ = api.param_serialize(
        method="GET", resource_path=path, query_params=query,
        header_params={"Accept": "application/json"}, auth_settings=["BearerToken"])
    response = api.call_api(method, url, header_params=headers, _request_timeout=timeouts)
    response.read()
    if not 200 <= response.status <= 299:
        raise ApiException(http_resp=response)
    return response.data


def list_objects(api: ApiClient, resource: Resource, *, namespace: str | None = None,
                 label_selector: str | None = None, field_selector: str | None = None,
                 request_timeout: float = DEFAULT_REQUEST_TIMEOUT, budget: Budget | None = None,
                 page_size: int = PAGE_SIZE, managed_fields: bool = False) -> list[dict]:
    """Every object of `resource` (in one namespace, or all), as `kubectl get -o yaml` shows them.

    (`managed_fields=True` keeps `metadata.managedFields`, which kubectl hides.)
    Follows `continue` tokens page by page. Each request (page) gets `request_timeout` seconds,
    or what is left of the cluster's `budget` when that is less. Raises ClusterRequestError.
    """
    path = resource.path(namespace)
    server = display_server(api.configuration.host)
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
        timeouts = request_timeouts(request_timeout, budget, server, doing)
        try:
            data = _get(api, path, query, timeouts)
        except Exception as exc:
            raise _request_error(exc, server, doing, timeouts, api) from None
        try:
            body = json.loads(data)
        except ValueError:  # a proxy's HTML page, say
            raise ClusterRequestError(f"{server} answered {doing} with something that is not JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("items", []), list):
            raise ClusterRequestError(f"{server} answered {doing} with something that is not a list")
        api_version = body.get("apiVersion") or resource.api_version
        items += [normalize(item, api_version, resource.kind, managed_fields=managed_fields)
                  for item in body.get("items") or () if isinstance(item, dict)]
        token = (body.get("metadata") or {}).get("continue")
        if not token:
            return items


def _list_destination_rules(api: ApiClient, request_timeout: float, budget: Budget | None) -> list[dict]:
    """DestinationRules of every namespace; none when Istio's CRD is not installed (404)."""
    for version in _DESTINATION_RULE_VERSIONS:
        resource = Resource(DESTINATION_RULES.group, version, DESTINATION_RULES.plural,
                            DESTINATION_RULES.kind)
        try:
            return list_objects(api, resource, request_timeout=request_timeout, budget=budget)
        except ClusterRequestError as error:
            if error.status != 404:
                raise
    return []


def read_cluster(kubeconfig: Kubeconfig | Mapping, ref: ClusterRef | str, *,
                 request_timeout: float = DEFAULT_REQUEST_TIMEOUT, budget: Budget | None = None,
                 retry: RetryPolicy = RetryPolicy()) -> ClusterState:
    """Namespaces, Services and DestinationRules of one cluster, each request within
    `request_timeout` seconds, all of them within the cluster's `budget` if it has one.

    Never raises for a cluster problem: the state says `reachable=False` and why.
    """
    if isinstance(ref, str):
        found = [r for r in _refs_of(kubeconfig) if r.name == ref]
        ref = found[0] if found else ClusterRef(ref, "", "", "")
    try:
        api = api_client_for(kubeconfig, ref.name, retries=0)  # with_retries below is the retry
    except ClusterError as error:
        return ClusterState(name=ref.name, server=ref.server, reachable=False, error=error.message)
    def retried(call: Callable[[], T]) -> T:  # a 5xx or a dropped connection is tried again
        return with_retries(call, policy=retry, budget=budget)

    def listed(resource: Resource) -> list[dict]:
        return list_objects(api, resource, request_timeout=request_timeout, budget=budget)

    with api:
        try:
            namespaces = retried(lambda: listed(NAMESPACES))
            services = retried(lambda: listed(SERVICES))
            destination_rules = retried(lambda: _list_destination_rules(api, request_timeout, budget))
        except ClusterRequestError as error:
            return ClusterState(name=ref.name, server=ref.server, reachable=False, error=error.message)
    return ClusterState(
        name=ref.name, server=ref.server,
        namespaces=sort_objects(namespaces),
        services=sort_objects(services),
        destination_rules=sort_objects(destination_rules),
    )


def _refs_of(kubeconfig: Kubeconfig | Mapping) -> list[ClusterRef]:
    if isinstance(kubeconfig, Kubeconfig):
        return list(kubeconfig.clusters)
    from tctl_py.fleet.kubeconfig import cluster_refs

    return cluster_refs(kubeconfig)


def read_live(kubeconfig: Kubeconfig, contexts: Sequence[str] | None = None, *,
              request_timeout: float = DEFAULT_REQUEST_TIMEOUT, budgets: ClusterBudgets | None = None,
              retry: RetryPolicy = RetryPolicy(), max_workers: int = DEFAULT_WORKERS,
              on_done: Callable[[ClusterState], None] | None = None) -> list[ClusterState]:
    """Read the clusters (every context, or those named) concurrently; states sorted by name.

    Each request waits at most `request_timeout` seconds; `budgets` may limit each cluster's
    time in all (`--cluster-timeout`).

    A named context the kubeconfig lacks gives an unreachable state saying so (validate a
    user-typed `--context` first with `Kubeconfig.get`, which raises a UsageError).
    `on_done` is called in the calling thread as each cluster finishes (for progress displays).
    """
    import kubernetes.client  # noqa: F401 - import once here rather than racing in the workers

    by_name = {ref.name: ref for ref in kubeconfig.clusters}
    if contexts is None:
        refs = list(kubeconfig.clusters)
        if not refs:
            raise UsageError(f"the kubeconfig defines no context ({kubeconfig.describe_files()})",
                             hint="set --kubeconfig or KUBECONFIG, or read a snapshot with --fleet DIR")
    else:
        refs = [by_name.get(name) or ClusterRef(name, "", "", "") for name in dict.fromkeys(contexts)]
    states: list[ClusterState] = []
    todo = []
    for ref in refs:
        if ref.name not in by_name:
            state = ClusterState(name=ref.name, reachable=False,
                                 error=f'context "{ref.name}" is not in the kubeconfig '
                                       f"({kubeconfig.describe_files()})")
            states.append(state)
            if on_done:
                on_done(state)
        else:
            todo.append(ref.name)

    def done(_name: str, result: ClusterState | BaseException) -> None:
        if on_done and isinstance(result, ClusterState):
            on_done(result)

    def read(name: str) -> ClusterState:
        return read_cluster(kubeconfig, by_name[name], request_timeout=request_timeout,
                            budget=budgets.get(name) if budgets else None, retry=retry)

    results = run_per_cluster(todo, read, max_workers=max_workers, on_done=done)
    for result in results.values():
        if isinstance(result, BaseException):  # a bug, not a cluster problem: raised after the rest
            raise result
        states.append(result)
    return sorted(states, key=lambda s: s.name)


class LiveFleet:
    """The clusters of a kubeconfig: read them all, or get a client for one (for writers)."""

    def __init__(self, kubeconfig: Kubeconfig, contexts: Sequence[str] | None = None, *,
                 request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
                 budgets: ClusterBudgets | None = None, max_workers: int = DEFAULT_WORKERS) -> None:
        self.kubeconfig = kubeconfig
        self.contexts = list(contexts) if contexts is not None else None
        self.request_timeout = request_timeout
        self.budgets = budgets
        self.max_workers = max_workers

    @classmethod
    def load(cls, kubeconfig_path: str | None = None, contexts: Sequence[str] | None = None, *,
             request_timeout: float = DEFAULT_REQUEST_TIMEOUT, budgets: ClusterBudgets | None = None,
             max_workers: int = DEFAULT_WORKERS, env: Mapping[str, str] | None = None) -> LiveFleet:
        return cls(load_kubeconfig(kubeconfig_path, env=env), contexts,
                   request_timeout=request_timeout, budgets=budgets, max_workers=max_workers)

    @property
    def refs(self) -> list[ClusterRef]:
        if self.contexts is None:
            return list(self.kubeconfig.clusters)
        by_name = {ref.name: ref for ref in self.kubeconfig.clusters}
        return [by_name.get(name) or ClusterRef(name, "", "", "") for name in self.contexts]

    def read(self, on_done: Callable[[ClusterState], None] | None = None) -> list[ClusterState]:
        return read_live(self.kubeconfig, self.contexts, request_timeout=self.request_timeout,
                         budgets=self.budgets, max_workers=self.max_workers, on_done=on_done)

    def api_client(self, context: str) -> ApiClient:
        return api_client_for(self.kubeconfig, context)

    def __repr__(self) -> str:  # never the kubeconfig itself: it holds credentials
        return (f"LiveFleet(contexts={[ref.name for ref in self.refs]!r}, "
                f"request_timeout={self.request_timeout!r})")


def load_live(kubeconfig_path: str | None = None, contexts: Sequence[str] | None = None, *,
              request_timeout: float = DEFAULT_REQUEST_TIMEOUT, budgets: ClusterBudgets | None = None,
              max_workers: int = DEFAULT_WORKERS,
              env: Mapping[str, str] | None = None) -> list[ClusterState]:
    """Merge the kubeconfig kubectl would use and read its clusters (see `read_live`)."""
    return LiveFleet.load(kubeconfig_path, contexts, request_timeout=request_timeout, budgets=budgets,
                          max_workers=max_workers, env=env).read()


# ---------------------------------------------------------------------------------------------
# Errors as short human messages: what failed, on which server. Never credentials.

def request_timeouts(request_timeout: float, budget: Budget | None, server: str,
                     doing: str) -> tuple[float, float]:
    """(connect, read) timeouts of the next request: the request timeout (the connection's at
    most 5 s), or what is left of the cluster's budget when that is less; an error when none is."""
    read = request_timeout
    if budget is not None:
        left = budget.left()
        if left <= 0:
            raise ClusterRequestError(f"gave up on {server} ({doing}): {budget.describe()} are spent",
                                      hint="a slow or overloaded API server; try again later, or "
                                           "raise --cluster-timeout")
        read = min(read, left)
    read = max(read, MIN_TIMEOUT)
    return (min(connect_timeout(request_timeout), read), read)


def _first_line(text: str, limit: int = 200) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
_MAX_RETRY_AFTER = 3600.0


def _retry_after(headers: Any) -> float | None:
    """`Retry-After` in seconds (the delta-seconds form; an HTTP date is ignored)."""
    try:
        value = headers.get("Retry-After") if headers is not None else None
    except AttributeError:
        return None
    if value is None:
        return None
    try:
        delay = float(str(value).strip())
    except ValueError:
        return None
    return min(max(delay, 0.0), _MAX_RETRY_AFTER) if delay == delay else None  # NaN


def _request_error(exc: BaseException, server: str, doing: str, timeouts: tuple[float, float],
                   api: ApiClient) -> ClusterRequestError:
    """The short message for a failed request (`timeouts`: the (connect, read) seconds it had);
    `retryable` says whether sending it again may help."""
    from kubernetes.client.exceptions import ApiException
    from urllib3 import exceptions as u3

    if isinstance(exc, ApiException) and exc.status:
        error = _status_error(exc, server, doing, api)
        error.retryable = error.status in RETRYABLE_STATUSES
        error.retry_after = _retry_after(exc.headers)
        return error
    if isinstance(exc, ApiException):  # status 0: no HTTP answer; the client wraps TLS failures so
        text = str(exc.reason or "")
        if text.startswith("SSLError"):
            text = text.split("\n", 1)[-1]
            return ClusterRequestError(_scrub(f"TLS with {server} failed ({doing}): {_first_line(text)}", api),
                                       hint="check the cluster's certificate-authority in the kubeconfig")
        return ClusterRequestError(_scrub(f"request to {server} failed ({doing}): {_first_line(text)}", api),
                                   hint="this looks like a bug in tctl or the kubernetes client")
    reason: BaseException = exc
    if isinstance(exc, u3.MaxRetryError) and exc.reason is not None:
        reason = exc.reason
    connect, read = timeouts
    if isinstance(reason, u3.ReadTimeoutError) or isinstance(reason, TimeoutError):
        return ClusterRequestError(f"no answer from {server} within {seconds(read)} ({doing})",
                                   retryable=True)
    if isinstance(reason, u3.ConnectTimeoutError) and (
            not isinstance(reason, u3.NewConnectionError) or "timed out" in str(reason).lower()):
        # Not retried: the kernel already resent the SYN within the connect timeout, and trying
        # again would only make a dead address cost every command twice as long.
        return ClusterRequestError(f"cannot connect to {server}: no connection within "
                                   f"{seconds(connect)} ({doing})")
    if isinstance(reason, u3.NameResolutionError):
        return ClusterRequestError(f"cannot connect to {server}: unknown host ({doing})", retryable=True)
    if isinstance(reason, u3.NewConnectionError):
        why = "connection refused" if "refused" in str(reason).lower() else "no connection"
        return ClusterRequestError(f"cannot connect to {server}: {why} ({doing})", retryable=True)
    if isinstance(reason, u3.SSLError):
        return ClusterRequestError(_scrub(f"TLS with {server} failed ({doing}): "
                                          f"{_first_line(str(reason.args[0] if reason.args else reason))}", api),
                                   hint="check the cluster's certificate-authority in the kubeconfig")
    if isinstance(reason, (u3.ProtocolError, ConnectionError)):
        return ClusterRequestError(f"connection to {server} broke ({doing})", retryable=True)
    return ClusterRequestError(_scrub(f"{type(reason).__name__} from {server} ({doing}): "
                                      f"{_first_line(str(reason))}", api), retryable=True)


def _status_error(exc: Any, server: str, doing: str, api: ApiClient) -> ClusterRequestError:
    """The error for an HTTP answer that is not 2xx, with the server's own message."""
    status = int(exc.status or 0)
    detail = ""
    status_body: dict = {}
    try:
        body = json.loads(exc.body or b"{}")
        if isinstance(body, dict):
            detail = str(body.get("message") or "")
            status_body = body
    except (ValueError, TypeError):
        detail = ""
    reason = exc.reason or ""
    message = f"HTTP {status} {reason}".rstrip() + f" from {server} ({doing})"
    if detail:
        message += f": {_first_line(detail)}"
    hint = ""
    if status == 401:
        hint = "the cluster refused the kubeconfig's credentials; are they expired?"
    elif status == 403:
        hint = "the kubeconfig's user may not do this; check its RBAC"
    return ClusterRequestError(_scrub(message, api), status=status, hint=hint, body=status_body)


def _scrub(message: str, api: ApiClient) -> str:
    """Remove whatever credentials the client holds from a message (belt and braces)."""
    configuration = api.configuration
    secrets = [str(v) for v in (configuration.api_key or {}).values() if v]
    secrets += [s.split(" ", 1)[1] for s in secrets if " " in s]  # "Bearer <token>"
    if configuration.password:
        secrets.append(str(configuration.password))
    return redact(message, sorted(set(secrets), key=len, reverse=True))
