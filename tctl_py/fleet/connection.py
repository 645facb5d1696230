"""The official client's `Configuration` for one kubeconfig context: server, credentials, key
files, proxy; and what tctl's transport (`fleet/transport.py`) takes from it.

Each cluster (context) gets its own `Configuration`, never the client's global default, so
clusters with different servers and credentials can be used side by side. The official client
reads the kubeconfig (exec plugins, token files, auth providers included); key material is
read from tctl's in-memory files (`fleet/keyfiles.py`) and every credential the client ends up
with is added to the redactor. `kubernetes` is imported inside functions only.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from tctl_py.errors import ClusterError
from tctl_py.fleet.keyfiles import KEY_FILES
from tctl_py.fleet.kubeconfig import Kubeconfig
from tctl_py.fleet.redaction import REDACTOR

if TYPE_CHECKING:  # only for type checkers: importing kubernetes is what this module avoids
    from kubernetes.client import Configuration

    from tctl_py.fleet.transport import Proxy, TLSSettings


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


def configuration_for(merged: Kubeconfig | Mapping, context: str) -> Configuration:
    """A new `Configuration` of the official client for one context.

    `merged` is a `Kubeconfig` or a merged kubeconfig dict. Key material is read from tctl's
    in-memory files (`fleet/keyfiles.py`), never from files the client would leave in the
    temporary folder; every credential the client ends up with (an exec plugin's token, a
    tokenFile's content) is added to the redactor.
    Raises ClusterError if the context cannot be turned into a client configuration.
    """
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
    # The proxy the environment gives this server, fixed now: the client's token-refresh hook
    # sets `host` again before every request, which otherwise re-reads every environment
    # variable for the proxy.
    configuration.proxy = configuration.proxy
    return configuration


def tls_settings(configuration: Configuration) -> TLSSettings:
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


def proxy_for(configuration: Configuration) -> Proxy | None:
    """The proxy to reach the server through, as the client would pick it (HTTPS_PROXY and
    NO_PROXY, or the kubeconfig's proxy-url), or None.
    Raises ClusterError for a proxy tctl cannot use (socks, https)."""
    from kubernetes.client.rest import should_bypass_proxies

    from tctl_py.fleet.transport import Proxy

    url = configuration.proxy
    if not url or should_bypass_proxies(configuration.host, configuration.no_proxy or ""):
        return None
    try:
        return Proxy.parse(url, configuration.proxy_headers)
    except ValueError as error:
        raise ClusterError(
            f"cannot use the proxy for {REDACTOR.scrub(configuration.host)}: {error}",
            hint="set NO_PROXY for this server, or use an http:// proxy",
        ) from None


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
