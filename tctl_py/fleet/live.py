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

import contextlib
import copy
import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from tctl_py.errors import ClusterError, UsageError
from tctl_py.fleet.keyfiles import KEY_FILES
from tctl_py.fleet.kubeconfig import ClusterRef, Kubeconfig, load_kubeconfig
from tctl_py.fleet.objects import DESTINATION_RULES, NAMESPACES, SERVICES, Resource, normalize, sort_objects
from tctl_py.fleet.parallel import run_per_cluster
from tctl_py.fleet.redaction import REDACTOR, display_server
from tctl_py.fleet.retry import RetryPolicy, with_retries
from tctl_py.fleet.timeouts import (
    DEFAULT_REQUEST_TIMEOUT,
    MIN_TIMEOUT,
    Budget,
    ClusterBudgets,
    connect_timeout,
    seconds,
)
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


# ---------------------------------------------------------------------------------------------
# Clients


def _context_config(merged: Mapping, context: str) -> dict:
    """A kubeconfig holding only `context`, its cluster and its user (deep copies)."""
    contexts = {e.get("name"): e for e in merged.get("contexts") or ()}
    if context not in contexts:
        known = ", ".join(sorted(str(name) for name in contexts)) or "none"
        raise ClusterError(f'context "{context}" is not in the kubeconfig', hint=f"known contexts: {known}")
    entry = contexts[context]
    body = entry.get("context") or {}
    cluster_name = body.get("cluster")
    clusters = [e for e in merged.get("clusters") or () if e.get("name") == cluster_name]
    if not clusters:
        raise ClusterError(
            f'context "{context}" names cluster "{cluster_name or ""}", which the kubeconfig does not define'
        )
    if not (clusters[0].get("cluster") or {}).get("server"):
        raise ClusterError(f'cluster "{cluster_name}" of context "{context}" has no server')
    users = [e for e in merged.get("users") or () if e.get("name") == body.get("user")]
    return copy.deepcopy(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "preferences": {},
            "current-context": context,
            "contexts": [entry],
            "clusters": clusters[:1],
            "users": users[:1],
        }
    )


def api_client_for(merged: Kubeconfig | Mapping, context: str, *, retries: int = 1) -> ApiClient:
    """A new `ApiClient` with its own `Configuration` for one context (close it when done).

    `merged` is a `Kubeconfig` or a merged kubeconfig dict. Refused connections are retried
    `retries` times (at once) by urllib3; tctl's own readers and writers pass 0 and retry with
    backoff themselves (`with_retries`). Key material is read from tctl's in-memory files
    (`fleet/keyfiles.py`), never from files the client would leave in the temporary folder;
    every credential the client ends up with (an exec plugin's token, a tokenFile's content) is
    added to the redactor.
    Raises ClusterError if the context cannot be turned into a client configuration.
    """
    from kubernetes import client, config
    from urllib3.util.retry import Retry

    from tctl_py import __version__

    config_dict = merged.config if isinstance(merged, Kubeconfig) else merged
    minimal = _context_config(config_dict, context)
    REDACTOR.add_kubeconfig(minimal)
    user = (minimal["users"] or [{}])[0].get("user") or {}
    _key_data_to_files(minimal, context)
    configuration = client.Configuration()
    try:
        with _plugin_failures() as failures:
            config.load_kube_config_from_dict(
                minimal,
                context=context,
                client_configuration=configuration,
                persist_config=False,
                # where the client writes key material an exec plugin returns (adopted below)
                temp_file_path=KEY_FILES.private_folder() if "exec" in user else None,
            )
    except Exception as exc:  # noqa: BLE001 - ConfigException, unreadable cert files...
        raise ClusterError(
            f'cannot configure a client for context "{context}": {REDACTOR.scrub(_first_line(str(exc)))}'
        ) from None
    if failures:  # the client logs a failed exec plugin and goes on without credentials
        raise ClusterError(
            f'cannot configure a client for context "{context}": the exec '
            f"credential plugin failed: {REDACTOR.scrub(_first_line(failures[0]))}"
        )
    configuration.cert_file = configuration.cert_file and KEY_FILES.adopt(configuration.cert_file)
    configuration.key_file = configuration.key_file and KEY_FILES.adopt(configuration.key_file)
    REDACTOR.add(_credentials_of(configuration))
    configuration.retries = Retry(
        total=retries, connect=retries, read=0, status=0, redirect=0, other=0, raise_on_status=False
    )
    api = client.ApiClient(configuration)
    api.user_agent = f"tctl/{__version__}"
    return api


# kubeconfig field with base64 data -> the field naming a file with the same content, by section
_KEY_DATA = {
    "clusters": ("cluster", {"certificate-authority-data": "certificate-authority"}),
    "users": ("user", {"client-certificate-data": "client-certificate", "client-key-data": "client-key"}),
}


def _key_data_to_files(minimal: dict, context: str) -> None:
    """Replace the `*-data` fields of a one-context kubeconfig by tctl's files of their content
    (data wins over a file, as in kubectl), so the client writes none of its own."""
    import base64
    import binascii

    if not str(minimal["clusters"][0]["cluster"].get("server", "")).startswith("https"):
        return  # the client reads TLS material for https servers only
    for section, (body_key, fields) in _KEY_DATA.items():
        for entry in minimal[section]:
            body = entry.get(body_key) or {}
            for data_field, file_field in fields.items():
                data = body.pop(data_field, None)
                if not data:
                    continue
                try:
                    content = base64.b64decode(str(data), validate=True)
                except (binascii.Error, ValueError):
                    raise ClusterError(
                        f'cannot configure a client for context "{context}": '
                        f'{data_field} of {section[:-1]} "{entry.get("name")}" is not '
                        "base64",
                        hint="kubeconfig data fields hold base64 of PEM",
                    ) from None
                body[file_field] = KEY_FILES.path_for(content)


def _credentials_of(configuration: Any) -> list[str]:
    """What a configured client sends: its token (from the kubeconfig, a tokenFile or an exec
    plugin) or basic-auth header."""
    found = [str(value) for value in (configuration.api_key or {}).values() if value]
    found += [value.split(" ", 1)[1] for value in found if " " in value]  # "Bearer <token>"
    if configuration.password:
        found.append(str(configuration.password))
    return found


class _PluginFailures(logging.Handler):
    """The client's loader logs a failed exec plugin (its stderr included) with `logging.error`
    instead of raising. While a thread configures a client, its records are kept for the error
    message, not printed. A handler of the root logger, since `logging.error` on a root logger
    without one installs a stderr handler that would then print every library's warnings;
    records of other threads go where they would go without it (`logging.lastResort`)."""

    local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        kept = getattr(self.local, "kept", None)
        if kept is not None:
            kept.append(record.getMessage())
        elif (
            not _handled_below_root(record.name)
            and logging.lastResort is not None
            and record.levelno >= logging.lastResort.level
        ):
            logging.lastResort.handle(record)


def _handled_below_root(name: str) -> bool:
    """Whether a logger on the way from `name` to the root has a handler (urllib3's NullHandler)."""
    logger: logging.Logger | None = logging.getLogger(name)
    while logger is not None and logger is not logging.root:
        if logger.handlers:
            return True
        logger = logger.parent if logger.propagate else None
    return False


_PLUGIN_FAILURES = _PluginFailures()


@contextlib.contextmanager
def _plugin_failures() -> Iterator[list[str]]:
    root = logging.getLogger()
    if _PLUGIN_FAILURES not in root.handlers:
        root.addHandler(_PLUGIN_FAILURES)
    _PLUGIN_FAILURES.local.kept = kept = []
    try:
        yield kept
    finally:
        _PLUGIN_FAILURES.local.kept = None


# ---------------------------------------------------------------------------------------------
# Reading


def _get(api: ApiClient, path: str, query: list[tuple[str, str]], timeouts: tuple[float, float]) -> bytes:
    """GET `path` on the low-level `ApiClient`; the body of a 2xx answer, else ApiException.

    Not through the client's typed list calls: `CoreV1Api` alone costs ~0.4 s to import (its
    models), every time tctl reads a live fleet, for calls that only send a GET.
    """
    from kubernetes.client.exceptions import ApiException

    method, url, headers, _, _ = api.param_serialize(
        method="GET",
        resource_path=path,
        query_params=query,
        header_params={"Accept": "application/json"},
        auth_settings=["BearerToken"],
    )
    response = api.call_api(method, url, header_params=headers, _request_timeout=timeouts)
    response.read()
    if not 200 <= response.status <= 299:
        raise ApiException(http_resp=response)
    return response.data


def list_objects(
    api: ApiClient,
    resource: Resource,
    *,
    namespace: str | None = None,
    label_selector: str | None = None,
    field_selector: str | None = None,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    budget: Budget | None = None,
    page_size: int = PAGE_SIZE,
    managed_fields: bool = False,
) -> list[dict]:
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
        except Exception as exc:  # noqa: BLE001 - urllib3's connection errors and timeouts, TLS
            raise _request_error(exc, server, doing, timeouts) from None
        try:
            body = json.loads(data)
        except ValueError:  # a proxy's HTML page, say
            raise ClusterRequestError(f"{server} answered {doing} with something that is not JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("items", []), list):
            raise ClusterRequestError(f"{server} answered {doing} with something that is not a list")
        api_version = body.get("apiVersion") or resource.api_version
        items += [
            normalize(item, api_version, resource.kind, managed_fields=managed_fields)
            for item in body.get("items") or ()
            if isinstance(item, dict)
        ]
        token = (body.get("metadata") or {}).get("continue")
        if not token:
            return items


def _list_destination_rules(api: ApiClient, request_timeout: float, budget: Budget | None) -> list[dict]:
    """DestinationRules of every namespace; none when Istio's CRD is not installed (404)."""
    for version in _DESTINATION_RULE_VERSIONS:
        resource = Resource(
            DESTINATION_RULES.group, version, DESTINATION_RULES.plural, DESTINATION_RULES.kind
        )
        try:
            return list_objects(api, resource, request_timeout=request_timeout, budget=budget)
        except ClusterRequestError as error:
            if error.status != 404:
                raise
    return []


def read_cluster(
    kubeconfig: Kubeconfig | Mapping,
    ref: ClusterRef | str,
    *,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    budget: Budget | None = None,
    retry: RetryPolicy = RetryPolicy(),
) -> ClusterState:
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
        name=ref.name,
        server=ref.server,
        namespaces=sort_objects(namespaces),
        services=sort_objects(services),
        destination_rules=sort_objects(destination_rules),
    )


def _refs_of(kubeconfig: Kubeconfig | Mapping) -> list[ClusterRef]:
    if isinstance(kubeconfig, Kubeconfig):
        return list(kubeconfig.clusters)
    from tctl_py.fleet.kubeconfig import cluster_refs

    return cluster_refs(kubeconfig)


def read_live(
    kubeconfig: Kubeconfig,
    contexts: Sequence[str] | None = None,
    *,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    budgets: ClusterBudgets | None = None,
    retry: RetryPolicy = RetryPolicy(),
    max_workers: int = DEFAULT_WORKERS,
    on_done: Callable[[ClusterState], None] | None = None,
) -> list[ClusterState]:
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
            raise UsageError(
                f"the kubeconfig defines no context ({kubeconfig.describe_files()})",
                hint="set --kubeconfig or KUBECONFIG, or read a snapshot with --fleet DIR",
            )
    else:
        refs = [by_name.get(name) or ClusterRef(name, "", "", "") for name in dict.fromkeys(contexts)]
    states: list[ClusterState] = []
    todo = []
    for ref in refs:
        if ref.name not in by_name:
            state = ClusterState(
                name=ref.name,
                reachable=False,
                error=f'context "{ref.name}" is not in the kubeconfig ({kubeconfig.describe_files()})',
            )
            states.append(state)
            if on_done:
                on_done(state)
        else:
            todo.append(ref.name)

    def done(_name: str, result: ClusterState | BaseException) -> None:
        if on_done and isinstance(result, ClusterState):
            on_done(result)

    def read(name: str) -> ClusterState:
        return read_cluster(
            kubeconfig,
            by_name[name],
            request_timeout=request_timeout,
            budget=budgets.get(name) if budgets else None,
            retry=retry,
        )

    results = run_per_cluster(todo, read, max_workers=max_workers, on_done=done)
    for result in results.values():
        if isinstance(result, BaseException):  # a bug, not a cluster problem: raised after the rest
            raise result
        states.append(result)
    return sorted(states, key=lambda s: s.name)


class LiveFleet:
    """The clusters of a kubeconfig: read them all, or get a client for one (for writers)."""

    def __init__(
        self,
        kubeconfig: Kubeconfig,
        contexts: Sequence[str] | None = None,
        *,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        budgets: ClusterBudgets | None = None,
        max_workers: int = DEFAULT_WORKERS,
    ) -> None:
        self.kubeconfig = kubeconfig
        self.contexts = list(contexts) if contexts is not None else None
        self.request_timeout = request_timeout
        self.budgets = budgets
        self.max_workers = max_workers

    @classmethod
    def load(
        cls,
        kubeconfig_path: str | None = None,
        contexts: Sequence[str] | None = None,
        *,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        budgets: ClusterBudgets | None = None,
        max_workers: int = DEFAULT_WORKERS,
        env: Mapping[str, str] | None = None,
    ) -> LiveFleet:
        return cls(
            load_kubeconfig(kubeconfig_path, env=env),
            contexts,
            request_timeout=request_timeout,
            budgets=budgets,
            max_workers=max_workers,
        )

    @property
    def refs(self) -> list[ClusterRef]:
        if self.contexts is None:
            return list(self.kubeconfig.clusters)
        by_name = {ref.name: ref for ref in self.kubeconfig.clusters}
        return [by_name.get(name) or ClusterRef(name, "", "", "") for name in self.contexts]

    def read(self, on_done: Callable[[ClusterState], None] | None = None) -> list[ClusterState]:
        return read_live(
            self.kubeconfig,
            self.contexts,
            request_timeout=self.request_timeout,
            budgets=self.budgets,
            max_workers=self.max_workers,
            on_done=on_done,
        )

    def api_client(self, context: str) -> ApiClient:
        return api_client_for(self.kubeconfig, context)

    def __repr__(self) -> str:  # never the kubeconfig itself: it holds credentials
        return (
            f"LiveFleet(contexts={[ref.name for ref in self.refs]!r}, "
            f"request_timeout={self.request_timeout!r})"
        )


def load_live(
    kubeconfig_path: str | None = None,
    contexts: Sequence[str] | None = None,
    *,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    budgets: ClusterBudgets | None = None,
    max_workers: int = DEFAULT_WORKERS,
    env: Mapping[str, str] | None = None,
) -> list[ClusterState]:
    """Merge the kubeconfig kubectl would use and read its clusters (see `read_live`)."""
    return LiveFleet.load(
        kubeconfig_path,
        contexts,
        request_timeout=request_timeout,
        budgets=budgets,
        max_workers=max_workers,
        env=env,
    ).read()


# ---------------------------------------------------------------------------------------------
# Errors as short human messages: what failed, on which server. Never credentials.


def request_timeouts(
    request_timeout: float, budget: Budget | None, server: str, doing: str
) -> tuple[float, float]:
    """(connect, read) timeouts of the next request: the request timeout (the connection's at
    most 5 s), or what is left of the cluster's budget when that is less; an error when none is."""
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


def _request_error(
    exc: BaseException, server: str, doing: str, timeouts: tuple[float, float]
) -> ClusterRequestError:
    """The short message for a failed request (`timeouts`: the (connect, read) seconds it had);
    `retryable` says whether sending it again may help."""
    from kubernetes.client.exceptions import ApiException
    from urllib3 import exceptions as u3

    if isinstance(exc, ApiException) and exc.status:
        error = _status_error(exc, server, doing)
        error.retryable = error.status in RETRYABLE_STATUSES
        error.retry_after = _retry_after(exc.headers)
        return error
    if isinstance(exc, ApiException):  # status 0: no HTTP answer; the client wraps TLS failures so
        text = str(exc.reason or "")
        if text.startswith("SSLError"):
            text = text.split("\n", 1)[-1]
            return ClusterRequestError(
                f"TLS with {server} failed ({doing}): {_foreign(text)}",
                hint="check the cluster's certificate-authority in the kubeconfig",
            )
        return ClusterRequestError(
            f"request to {server} failed ({doing}): {_foreign(text)}",
            hint="this looks like a bug in tctl or the kubernetes client",
        )
    reason: BaseException = exc
    if isinstance(exc, u3.MaxRetryError) and exc.reason is not None:
        reason = exc.reason
    connect, read = timeouts
    if isinstance(reason, (u3.ReadTimeoutError, TimeoutError)):
        return ClusterRequestError(
            f"no answer from {server} within {seconds(read)} ({doing})", retryable=True
        )
    if isinstance(reason, u3.ConnectTimeoutError) and (
        not isinstance(reason, u3.NewConnectionError) or "timed out" in str(reason).lower()
    ):
        # Not retried: the kernel already resent the SYN within the connect timeout, and trying
        # again would only make a dead address cost every command twice as long.
        return ClusterRequestError(
            f"cannot connect to {server}: no connection within {seconds(connect)} ({doing})"
        )
    if isinstance(reason, u3.NameResolutionError):
        return ClusterRequestError(f"cannot connect to {server}: unknown host ({doing})", retryable=True)
    if isinstance(reason, u3.NewConnectionError):
        why = "connection refused" if "refused" in str(reason).lower() else "no connection"
        return ClusterRequestError(f"cannot connect to {server}: {why} ({doing})", retryable=True)
    if isinstance(reason, u3.SSLError):
        return ClusterRequestError(
            f"TLS with {server} failed ({doing}): {_foreign(str(reason.args[0] if reason.args else reason))}",
            hint="check the cluster's certificate-authority in the kubeconfig",
        )
    if isinstance(reason, (u3.ProtocolError, ConnectionError)):
        return ClusterRequestError(f"connection to {server} broke ({doing})", retryable=True)
    return ClusterRequestError(
        f"{type(reason).__name__} from {server} ({doing}): {_foreign(str(reason))}", retryable=True
    )


def _status_error(exc: Any, server: str, doing: str) -> ClusterRequestError:
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
