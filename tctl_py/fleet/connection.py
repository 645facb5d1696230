"""How to reach one kubeconfig context: the `Endpoint` (server, TLS, proxy, credentials) that
tctl's transport (`fleet/transport.py`) sends requests with.

Contexts are read as kubectl reads them. A user with an exec plugin or an auth provider is
configured by the official client instead (`configuration_for`: a `Configuration` of its own,
never the client's global default), which runs the plugin and renews its token; `kubernetes` is
imported for those users only, inside a function; after a 401 their credentials are asked for
again (`Endpoint.renew`, used by `ClusterClient`). A `tokenFile` is read again when it changes
(`TokenFile`). Key material is kept in tctl's in-memory files (`fleet/keyfiles.py`) and every
credential is added to the redactor.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import ipaddress
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tctl_py.errors import ClusterError
from tctl_py.fleet.keyfiles import KEY_FILES
from tctl_py.fleet.kubeconfig import Kubeconfig
from tctl_py.fleet.redaction import REDACTOR, display_server

if TYPE_CHECKING:  # only for type checkers: importing kubernetes is what this module avoids
    from kubernetes.client import Configuration

    from tctl_py.fleet.transport import Proxy, TLSSettings

_import_lock = threading.Lock()


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


@dataclass(frozen=True)
class Endpoint:
    """How to reach one context's API server, and who to be there: its URL (no trailing slash),
    TLS settings, proxy (or None) and `authorization()`, the `Authorization` header of the next
    request (None: anonymous). `renew()`, for a user with an exec plugin or an auth provider:
    the endpoint with credentials asked for again (the plugin run again), after the server
    refused these."""

    server: str
    tls: TLSSettings
    proxy: Proxy | None
    authorization: Callable[[], str | None]
    renew: Callable[[], Endpoint] | None = None


def endpoint_for(merged: Kubeconfig | Mapping, context: str) -> Endpoint:
    """The `Endpoint` of one context of a kubeconfig (a `Kubeconfig` or a merged dict).

    Tokens, token files, basic auth, client certificates, CAs, `tls-server-name` and
    `insecure-skip-tls-verify` are read here, as kubectl reads them. A user with an `exec`
    plugin or an `auth-provider` is configured by the official client (`configuration_for`),
    which runs the plugin and renews its token: `kubernetes` is imported for those only.
    Key material is kept in tctl's in-memory files (`fleet/keyfiles.py`) and every credential
    is added to the redactor.
    Raises ClusterError if the context cannot be turned into an endpoint.
    """
    config_dict = merged.config if isinstance(merged, Kubeconfig) else merged
    minimal = _context_config(config_dict, context)
    cluster = minimal["clusters"][0]["cluster"]
    user = (minimal["users"] or [{}])[0].get("user") or {}
    if "exec" in user or "auth-provider" in user:
        configuration = configuration_for(config_dict, context)
        server = configuration.host
        tls = _client_tls(configuration)

        def authorization() -> str | None:
            # what the client's auth_settings() sends; its refresh hook renews an expired token
            return configuration.get_api_key_with_prefix("BearerToken", alias="authorization")

        def renew() -> Endpoint:
            # the client renews a token only once it expired, and a client certificate never
            return endpoint_for(config_dict, context)

        proxy = _proxy_for(server, cluster.get("proxy-url"))
        return Endpoint(server, tls, proxy, authorization, renew)
    REDACTOR.add_kubeconfig(minimal)
    _key_data_to_files(minimal, context)
    server = str(cluster["server"]).rstrip("/")
    tls = _tls_of(cluster, user, https=server.startswith("https"))
    return Endpoint(
        server, tls, _proxy_for(server, cluster.get("proxy-url")), _authorization_of(user, context)
    )


def _tls_of(cluster: Mapping, user: Mapping, *, https: bool) -> TLSSettings:
    """TLS as the kubeconfig says (its `*-data` fields already turned into tctl's files); the
    CA and client certificate count for https servers only, as in the official client."""
    from tctl_py.fleet.transport import TLSSettings

    return TLSSettings(
        verify=not cluster.get("insecure-skip-tls-verify", False),
        ca_file=(cluster.get("certificate-authority") or None) if https else None,
        cert_file=(user.get("client-certificate") or None) if https else None,
        key_file=(user.get("client-key") or None) if https else None,
        server_name=cluster.get("tls-server-name") or None,
    )


def _authorization_of(user: Mapping, context: str) -> Callable[[], str | None]:
    """A user's `Authorization` header, as a function of the moment: its token (the `token`
    field, else the content of `tokenFile`, trimmed as kubectl trims it), else basic auth of
    `username` and `password`, else none."""
    token = user.get("token")
    if not token and user.get("tokenFile"):
        return TokenFile(str(user["tokenFile"]), context)
    header = None
    if token:
        header = f"Bearer {token}"
    elif "username" in user and "password" in user:
        pair = f"{user['username']}:{user['password']}".encode()
        header = "Basic " + base64.b64encode(pair).decode()
    return lambda: header


class TokenFile:
    """The `Authorization` header of a `tokenFile`, read again whenever the file changes, as
    client-go does: the kubelet replaces a Pod's projected ServiceAccount token well before it
    expires (an hour, by default), and the controller runs for days. The file's identity, size
    and modification time are looked at before each request (a `stat`); a file that cannot be
    read later, or is empty, leaves the last token in use (the server then says if it is not
    valid any more). Unreadable at the start, it is the context's error."""

    def __init__(self, path: str, context: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            self._seen, token = self._read()
        except OSError as error:
            raise ClusterError(
                f'cannot configure a client for context "{context}": cannot read the tokenFile '
                f"{path}: {error.strerror or error}"
            ) from None
        self._header = f"Bearer {token}" if token else None

    def __call__(self) -> str | None:
        try:
            seen = _identity(os.stat(self.path))
        except OSError:
            return self._header
        if seen != self._seen:
            with self._lock:
                try:
                    self._seen, token = self._read()
                except OSError:
                    return self._header
                if token:
                    self._header = f"Bearer {token}"
        return self._header

    def _read(self) -> tuple[tuple, str]:
        with open(self.path, encoding="utf-8") as file:
            return _identity(os.fstat(file.fileno())), file.read().strip()


def _identity(stat: os.stat_result) -> tuple:
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _proxy_for(server: str, proxy_url: str | None) -> Proxy | None:
    """The proxy to the server as kubectl picks it: the cluster's `proxy-url`, else the
    environment's HTTPS_PROXY (HTTP_PROXY for an http server) unless NO_PROXY names the server;
    each variable upper case first, then lower case, as Go reads them.
    Raises ClusterError for a proxy tctl cannot use (socks, https)."""
    from tctl_py.fleet.transport import Proxy

    parts = urlsplit(server)
    if not proxy_url:
        proxy_url = _environment(f"{parts.scheme}_proxy")
        if not proxy_url or bypasses_proxy(parts.hostname or "", parts.port, _environment("no_proxy")):
            return None
    try:
        return Proxy.parse(proxy_url)
    except ValueError as error:
        raise ClusterError(
            f"cannot use the proxy for {display_server(server)}: {error}",
            hint="set NO_PROXY for this server, or use an http:// proxy",
        ) from None


def _environment(name: str) -> str:
    # read directly: urllib.request.getproxies would cost every live command its import
    return os.environ.get(name.upper()) or os.environ.get(name) or ""


def bypasses_proxy(host: str, port: int | None, no_proxy: str) -> bool:
    """Whether NO_PROXY (comma-separated) names this host: `*`, the host, a domain it is in
    (`.example.com` or `example.com`), `host:port`, or an IP network (`10.0.0.0/8`)."""
    host = host.lower().strip("[]")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        if address is not None and "/" in entry:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        name, _, entry_port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        if entry_port and entry_port != str(port):
            continue
        name = name.lstrip(".")
        if host == name or host.endswith("." + name):
            return True
    return False


def configuration_for(merged: Kubeconfig | Mapping, context: str) -> Configuration:
    """A new `Configuration` of the official client for one context (tctl's for users with an
    exec plugin or an auth provider, see `endpoint_for`).

    Key material is read from tctl's in-memory files (`fleet/keyfiles.py`), never from files
    the client would leave in the temporary folder; every credential the client ends up with
    (an exec plugin's token, a tokenFile's content) is added to the redactor.
    Raises ClusterError if the context cannot be turned into a client configuration.
    """
    with _import_lock:  # once, rather than racing imports in worker threads
        from kubernetes import client, config

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
    # Fixed now: the client's token-refresh hook sets `host` again before every request, and the
    # host setter would re-read every environment variable to pick a proxy (tctl picks its own).
    configuration.proxy = configuration.proxy
    return configuration


def _client_tls(configuration: Configuration) -> TLSSettings:
    """What a TLS connection needs, from the client's configuration."""
    from tctl_py.fleet.transport import TLSSettings

    ca_data = configuration.ca_cert_data
    return TLSSettings(
        verify=bool(configuration.verify_ssl),
        ca_file=configuration.ssl_ca_cert or None,
        ca_data=ca_data.decode() if isinstance(ca_data, bytes) else ca_data or None,
        cert_file=configuration.cert_file or None,
        key_file=configuration.key_file or None,
        server_name=configuration.tls_server_name or None,
        check_hostname=configuration.assert_hostname is not False,
    )


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
    kept: list[str] = []
    _PLUGIN_FAILURES.local.kept = kept
    try:
        yield kept
    finally:
        _PLUGIN_FAILURES.local.kept = None


def _first_line(text: str, limit: int = 200) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"
