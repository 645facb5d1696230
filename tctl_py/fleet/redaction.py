"""Credentials never reach the screen: the one redaction facility of tctl. Pure standard library.

Every kubeconfig tctl reads adds its credentials to `REDACTOR` (`load_kubeconfig` does it), and so
does every client configured from it (a token an exec plugin returned, a `tokenFile`'s content).
`cli/app.py:main` wraps stdout and stderr in `RedactingStream`s for the whole run, so whatever
any code path writes there — tables, messages, warnings, `--debug` tracebacks, log records of
the `kubernetes` client — has every known credential replaced by `REDACTED`.

What is a credential: `token` and the content of `tokenFile`; basic-auth `password` (and the
`Basic` header made of it); `client-key-data`; the auth-provider's `access-token`,
`refresh-token`, `client-secret` and `id-token`; the values of an exec plugin's `env`; the query
values and the userinfo password of a server URL. Certificates (`client-certificate-data`,
`certificate-authority-data`) are public and are not redacted.

Short values: a value of fewer than `MIN_LENGTH` characters is not redacted at all (it cannot
be told apart from ordinary text, and redacting "ab" would mangle every word holding it; no
token or key is that short). One of `MIN_LENGTH` to `ANYWHERE_FROM - 1` characters (a short
password, say) is replaced only where it stands as a word of its own, never inside a longer
word. Longer values are replaced wherever they appear.

Text tctl did not write itself — an API server's error message, an exec plugin's stderr — may
hold credentials tctl never knew (a token the plugin fetched); `scrub` also replaces what looks
like one there (`Bearer …`, `token=…`, `password: …`, JWTs) before it goes into a message.

`display_server` is how a server URL is shown: without userinfo, query values `REDACTED`.
"""

from __future__ import annotations

import base64
import io
import re
import threading
from collections.abc import Iterable, Mapping
from typing import TextIO
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "REDACTED"
MIN_LENGTH = 4
ANYWHERE_FROM = 8

# Fields of a user (or of its auth-provider config) whose values are credentials.
SECRET_FIELDS = frozenset(
    {"token", "password", "client-key-data", "access-token", "refresh-token", "client-secret", "id-token"}
)

# Credential-shaped text in messages tctl did not write: "Bearer x", "token=x", "password: x", JWTs.
_CREDENTIAL_SHAPES = re.compile(
    r"(?i)(?P<scheme>\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]+"
    r"|(?P<key>[\w-]*(?:token|password|passwd|secret|api[_-]?key|credential|authorization)[\w-]*"
    r"[\"']?\s*[=:]\s*[\"']?)(?:bearer\s+|basic\s+)?[^\s\"',;&]+"
    r"|\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"
)


class Redactor:
    """The credentials known so far, and text with each of them replaced by `REDACTED`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._anywhere: tuple[str, ...] = ()  # longest first, so a secret holding another goes whole
        self._words: tuple[tuple[str, re.Pattern[str]], ...] = ()

    def add(self, values: Iterable[str]) -> None:
        with self._lock:
            anywhere, words = set(self._anywhere), {value for value, _ in self._words}
            for value in values:
                if not isinstance(value, str) or len(value.strip()) < MIN_LENGTH:
                    continue
                value = value.strip()
                (anywhere if len(value) >= ANYWHERE_FROM else words).add(value)
            self._anywhere = tuple(sorted(anywhere, key=len, reverse=True))
            self._words = tuple(
                (value, re.compile(rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])"))
                for value in sorted(words, key=len, reverse=True)
            )

    def add_kubeconfig(self, config: Mapping) -> None:
        self.add(kubeconfig_secrets(config))

    def __bool__(self) -> bool:
        return bool(self._anywhere or self._words)

    def __call__(self, text: str) -> str:
        """`text` with every known credential replaced."""
        for value in self._anywhere:
            if value in text:
                text = text.replace(value, REDACTED)
        for value, pattern in self._words:
            if value in text:
                text = pattern.sub(REDACTED, text)
        return text

    def scrub(self, text: str) -> str:
        """Text from outside tctl: known credentials and credential-shaped values replaced."""
        return _CREDENTIAL_SHAPES.sub(_keep_the_name, self(text))


def _keep_the_name(match: re.Match[str]) -> str:
    return (match.group("scheme") or match.group("key") or "") + REDACTED


REDACTOR = Redactor()  # process-wide: what tctl prints goes through it (see cli/app.py:main)


def kubeconfig_secrets(config: Mapping) -> set[str]:
    """Every credential a (merged) kubeconfig holds, including the content of `tokenFile`s."""
    found: set[str] = set()

    def walk(value: object, key: str = "") -> None:
        if isinstance(value, Mapping):
            for child_key, child in value.items():
                walk(child, str(child_key))
        elif isinstance(value, list):
            for child in value:
                walk(child, key)
        elif key in SECRET_FIELDS and isinstance(value, str):
            found.add(value)

    for entry in _entries(config, "users"):
        user = entry.get("user")
        if not isinstance(user, Mapping):
            continue
        walk(user)
        username, password = user.get("username"), user.get("password")
        if isinstance(username, str) and isinstance(password, str):
            found.add(base64.b64encode(f"{username}:{password}".encode()).decode())  # the header
        token_file = user.get("tokenFile")
        if isinstance(token_file, str) and token_file:
            found.add(_read_small(token_file))
        exec_ = user.get("exec")
        if isinstance(exec_, Mapping):
            found.update(
                str(item.get("value") or "") for item in exec_.get("env") or () if isinstance(item, Mapping)
            )
    for entry in _entries(config, "clusters"):
        cluster = entry.get("cluster")
        if isinstance(cluster, Mapping):
            found.update(server_secrets(str(cluster.get("server") or "")))
    found.discard("")
    return found


def _entries(config: Mapping, section: str) -> list[Mapping]:
    entries = config.get(section)
    return [e for e in entries if isinstance(e, Mapping)] if isinstance(entries, list) else []


def _read_small(path: str, limit: int = 64 * 1024) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            return file.read(limit).strip()
    except OSError:  # the client reports an unreadable tokenFile; nothing to redact then
        return ""


def server_secrets(server: str) -> list[str]:
    """The credentials in a server URL: the userinfo password and every query value."""
    try:
        parts = urlsplit(server)
        found = [value for _, value in parse_qsl(parts.query, keep_blank_values=True)]
        if parts.password:
            found.append(parts.password)
    except ValueError:
        return []
    return found


def display_server(server: str) -> str:
    """A server URL as tctl shows it: no `user:password@`, every query value `REDACTED`."""
    try:
        parts = urlsplit(server)
    except ValueError:  # not a URL tctl can take apart: show nothing of it that could be secret
        return REDACTOR.scrub(server)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = parts.query
    if query:
        query = urlencode([(name, REDACTED) for name, _ in parse_qsl(query, keep_blank_values=True)], safe="")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class RedactingStream(io.TextIOBase):
    """A text stream that writes through `redactor` to `target`.

    A credential split over two `write` calls must still be found, so the text after the last
    newline is held back until the next newline or `flush()`.
    """

    def __init__(self, target: TextIO, redactor: Redactor = REDACTOR) -> None:
        super().__init__()
        self.target = target
        self.redactor = redactor
        self._pending = ""
        # Reentrant: a signal handler (Ctrl-C) runs in the main thread, possibly in the middle of
        # the main thread's own write, and must be able to say why it quits and flush.
        self._lock = threading.RLock()

    def write(self, text: str) -> int:
        with self._lock:
            ready = self._pending + text
            if self.redactor:
                cut = ready.rfind("\n") + 1
                ready, self._pending = ready[:cut], ready[cut:]
            if ready:
                self.target.write(self.redactor(ready))
        return len(text)

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, ""
            if pending:
                self.target.write(self.redactor(pending))
        self.target.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.target.isatty()

    def fileno(self) -> int:
        return self.target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.target, "encoding", "utf-8")

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.target, "errors", None)
