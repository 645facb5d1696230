"""HTTP/1.1 to one Kubernetes API server: the wire under every request tctl sends.

A `Transport` keeps a pool of keep-alive connections (TLS as the kubeconfig says) to one
server and sends whole requests on them: `request` reads the whole answer, `stream` hands it
over as it arrives (watches). It speaks the part of HTTP/1.1 an API server uses: a body sized
by `Content-Length` or sent chunked (or, from an old proxy, up to the connection's end), 1xx
answers skipped, `Connection: close` honoured. Requests are never pipelined; nothing asks for
compression.

Why not the official client's request path (`ApiClient.call_api` over urllib3 and
http.client): measured against a TLS emulator on loopback, one apply request cost the client
822 µs of CPU that way and 137 µs written straight to the socket (benchmarks: docs/performance.md).
A first apply sends one request per object, so that difference is most of tctl's CPU, and on
a machine whose cores are shared, of its time. What to connect to and with which credentials
comes from the context's `Endpoint` (`fleet/connection.py`).

Failures are `TransportError`s saying what went wrong (`ConnectFailed` with a `reason`,
`TLSFailed`, `ProxyRefused`, `ReadTimedOut`, `ConnectionBroken`, `BadHeader`); `fleet/client.py` turns them into
messages and decides what is retried. A pooled connection the server has closed in the
meantime is replaced once, at once, without counting as a failure. A transport may be used
from several threads: each request has a connection to itself.
"""

from __future__ import annotations

import base64
import io
import socket
import ssl
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

MAX_LINE = 65536  # longest status or header line accepted
MAX_HEADERS = 200
_NO_BODY_STATUSES = frozenset({204, 304})


class TransportError(Exception):
    """No HTTP answer was had. `detail`: what the socket, TLS or the peer said."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail)
        self.detail = detail


class ConnectFailed(TransportError):
    """No connection. `reason`: "refused", "timeout", "unknown host" or "unreachable"."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail)
        self.reason = reason


class TLSFailed(TransportError):
    """The TLS handshake failed (an unknown certificate authority, a wrong host name...)."""


class ProxyRefused(TransportError):
    """The proxy would not open a tunnel to the server (`status`: its answer)."""

    def __init__(self, status: int, detail: str = "") -> None:
        super().__init__(detail)
        self.status = status


class BadHeader(TransportError):
    """A header cannot be sent: its value holds a line break. Nothing was sent."""


class ReadTimedOut(TransportError):
    """The server said nothing for the read timeout."""


class ConnectionBroken(TransportError):
    """The connection ended or broke before the whole answer was read."""


@dataclass(frozen=True)
class Target:
    """Where requests go: scheme, host and port of the server, and its base path (a server URL
    may have one: `https://rancher.example.com/k8s/clusters/c-1`)."""

    scheme: str
    host: str
    port: int
    base_path: str

    @classmethod
    def parse(cls, url: str) -> Target:
        parts = urlsplit(url)
        scheme = (parts.scheme or "https").lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) server URL: {url}")
        port = parts.port or (443 if scheme == "https" else 80)
        return cls(scheme, parts.hostname, port, parts.path.rstrip("/"))

    @property
    def authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class TLSSettings:
    """What a TLS connection to the server needs, as the kubeconfig gives it."""

    verify: bool = True
    ca_file: str | None = None
    ca_data: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    server_name: str | None = None  # tls-server-name: the name to send and check
    check_hostname: bool = True

    def context(self) -> ssl.SSLContext:
        """An SSL context for these settings (loading files: an error names them)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if self.verify:
            if self.ca_file or self.ca_data:
                context.load_verify_locations(cafile=self.ca_file, cadata=self.ca_data)
            else:
                context.load_default_certs()
            context.check_hostname = self.check_hostname
        else:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if self.cert_file:
            context.load_cert_chain(self.cert_file, self.key_file)
        return context


@dataclass(frozen=True)
class Proxy:
    """An HTTP proxy: a tunnel (CONNECT) to an https server, absolute URLs to an http one."""

    host: str
    port: int
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, url: str, headers: Mapping[str, str] | None = None) -> Proxy:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        if (parts.scheme or "").lower() != "http" or not parts.hostname:
            raise ValueError(f"only http:// proxies are supported, not {parts.scheme or url}://")
        extra = dict(headers or {})
        if parts.username is not None:
            user = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            extra.setdefault("Proxy-Authorization", "Basic " + base64.b64encode(user.encode()).decode())
        return cls(parts.hostname, parts.port or 80, tuple(extra.items()))


@dataclass
class Response:
    """A whole answer. `headers`: names lower-cased, repeated ones joined by ", "."""

    status: int
    reason: str
    headers: dict[str, str]
    data: bytes


class Stream:
    """An answer read as it arrives (a watch): `lines()` gives its newline-delimited documents.

    `shutdown()` may be called from another thread: a read blocked on the stream ends at once
    and the server sees the connection closed. A stream's connection is never reused.
    """

    def __init__(self, connection: _Connection, status: int, reason: str, headers: dict[str, str]) -> None:
        self._connection = connection
        self.status = status
        self.reason = reason
        self.headers = headers
        self._body = _body(connection.reader, headers, status)

    def read(self) -> bytes:
        """The rest of the body, whole (an error answer's Status)."""
        try:
            return b"".join(self._body)
        finally:
            self.close()

    def lines(self) -> Iterator[bytes]:
        pending = b""
        for chunk in self._body:
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                if line.strip():
                    yield line
        if pending.strip():
            yield pending

    def shutdown(self) -> None:
        self._connection.shutdown()

    def close(self) -> None:
        self._connection.close()


class _Connection:
    """One socket to the server, with a buffered reader; `reused` once it carried an answer,
    `last` when the answer being read is the last the server sends on it; `tls`: the settings
    (client certificate) it was made with."""

    def __init__(self, sock: socket.socket, tls: TLSSettings) -> None:
        self.sock = sock
        self.tls = tls
        self.reader = sock.makefile("rb")
        self.reused = False
        self.last = False  # the server will close it after this answer

    def shutdown(self) -> None:
        try:  # the plain socket's shutdown: SSLSocket's would drop its TLS state under a reader
            socket.socket.shutdown(self.sock, socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self) -> None:
        try:
            self.reader.close()
        finally:
            self.sock.close()


class Transport:
    """Requests to one server over pooled keep-alive connections (see the module's docstring).

    `tls`: the kubeconfig's TLS settings, loaded into one SSL context on first use (`use_tls`
    replaces them). `idle` connections at most are kept for reuse; more may be open at once, one
    per request in flight.
    """

    def __init__(
        self,
        server: str,
        *,
        tls: TLSSettings | None = None,
        proxy: Proxy | None = None,
        idle: int = 8,
        user_agent: str = "",
    ) -> None:
        self.target = Target.parse(server)
        self.proxy = proxy
        self.idle = max(1, idle)
        self.user_agent = user_agent
        self._tls = tls or TLSSettings()
        self._context: ssl.SSLContext | None = None
        self._session: ssl.SSLSession | None = None  # resumed by later connections
        self._pool: list[_Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    # -- settings -------------------------------------------------------------------------------

    def use_tls(self, tls: TLSSettings) -> None:
        """New TLS settings (an exec plugin's new client certificate): later connections use
        them. Connections made with the old ones are closed, pooled or once their answer is
        read, and their TLS session is not resumed (it would carry the old certificate)."""
        with self._lock:
            if tls == self._tls:
                return
            self._tls, self._context, self._session = tls, None, None
            stale, self._pool = self._pool, []
        for connection in stale:
            connection.close()

    def _ssl_context(self) -> tuple[ssl.SSLContext, TLSSettings, ssl.SSLSession | None]:
        """The SSL context of the settings in use, those settings, and the session to resume."""
        with self._lock:
            if self._context is None:
                try:
                    self._context = self._tls.context()
                except (OSError, ssl.SSLError, ValueError) as error:
                    raise TLSFailed(f"cannot load the TLS settings: {error}") from None
            return self._context, self._tls, self._session

    # -- requests -------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        timeout: tuple[float, float] = (3.0, 10.0),
    ) -> Response:
        """Send one request and read its whole answer; raises TransportError without one."""
        head = self._head(method, path, query, headers, body)
        while True:
            connection = self._connection(timeout)
            try:
                status, reason, answer_headers = self._exchange(connection, head, body, timeout[1])
                data = b"".join(_body(connection.reader, answer_headers, status, method))
            except _StaleConnection:
                connection.close()
                continue  # a pooled connection the server had closed: once more, on a new one
            except BaseException:
                connection.close()
                raise
            self._release(connection, answer_headers, status)
            return Response(status, reason, answer_headers, data)

    def stream(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        timeout: tuple[float, float] = (3.0, 10.0),
    ) -> Stream:
        """Send one request and hand its answer over as it arrives, on a connection of its own."""
        head = self._head(method, path, query, headers, None)
        connection = self._connection(timeout, pooled=False)
        try:
            status, reason, answer_headers = self._exchange(connection, head, None, timeout[1])
        except BaseException:
            connection.close()
            raise
        return Stream(connection, status, reason, answer_headers)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, []
        for connection in pool:
            connection.close()

    # -- the wire -------------------------------------------------------------------------------

    def _head(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]],
        headers: Mapping[str, str] | None,
        body: bytes | None,
    ) -> bytes:
        target = self.target
        url = quote(target.base_path + path, safe="/:@!$&'()*+,;=-._~")
        if query:
            url += "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query)
        if self.proxy is not None and target.scheme == "http":
            url = f"http://{target.authority}{url}"  # absolute form, for the proxy
        lines = [f"{method} {url} HTTP/1.1", f"Host: {target.authority}"]
        if self.user_agent:
            lines.append(f"User-Agent: {self.user_agent}")
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if self.proxy is not None and target.scheme == "http":
            lines += [f"{name}: {value}" for name, value in self.proxy.headers]
        if body is not None or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body or b'')}")
        for line in lines:
            if "\r" in line or "\n" in line:  # the name only: the value may be a credential
                raise BadHeader(f"the {line.partition(':')[0]} header holds a line break")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _exchange(
        self, connection: _Connection, head: bytes, body: bytes | None, read_timeout: float
    ) -> tuple[int, str, dict[str, str]]:
        """Send a request, read its answer's head. _StaleConnection: a reused connection gave
        no byte of an answer (the server had closed it)."""
        sock = connection.sock
        try:
            sock.settimeout(read_timeout)
            sock.sendall(head + body if body else head)
            first = connection.reader.readline(MAX_LINE + 1)
        except TimeoutError:
            raise ReadTimedOut() from None
        except (ConnectionError, ssl.SSLEOFError, ssl.SSLZeroReturnError) as error:
            if connection.reused:
                raise _StaleConnection() from None
            raise ConnectionBroken(str(error)) from None
        except OSError as error:
            raise ConnectionBroken(str(error)) from None
        if not first:
            if connection.reused:
                raise _StaleConnection()
            raise ConnectionBroken("the server closed the connection without an answer")
        try:
            while True:
                status, reason = _status_line(first)
                headers = _headers(connection.reader)
                if not (100 <= status < 200):
                    # HTTP/1.0 closes after each answer unless it says otherwise
                    connection.last = first.startswith(b"HTTP/1.0") and (
                        "keep-alive" not in headers.get("connection", "").lower()
                    )
                    return status, reason, headers
                first = connection.reader.readline(MAX_LINE + 1)  # 1xx: the real answer follows
                if not first:
                    raise ConnectionBroken("the connection ended after an informational answer")
        except TimeoutError:
            raise ReadTimedOut() from None
        except OSError as error:
            raise ConnectionBroken(str(error)) from None

    def _connection(self, timeout: tuple[float, float], pooled: bool = True) -> _Connection:
        """A pooled connection, or a new one."""
        if pooled:
            with self._lock:
                if self._pool:
                    return self._pool.pop()
        return _Connection(*self._connect(timeout[0]))

    def _release(self, connection: _Connection, headers: Mapping[str, str], status: int) -> None:
        current = connection.tls is self._tls  # else made before use_tls, with old credentials
        if current and self._session is None and isinstance(connection.sock, ssl.SSLSocket):
            # a TLS 1.3 session ticket arrives after the handshake: there is one once an answer is read
            session = connection.sock.session
            if session is not None and session.has_ticket:
                with self._lock:
                    if connection.tls is self._tls:
                        self._session = session
        if not current or connection.last or _closes(headers, status):
            connection.close()
            return
        connection.reused = True
        with self._lock:
            if not self._closed and len(self._pool) < self.idle:
                self._pool.append(connection)
                return
        connection.close()

    def _connect(self, connect_timeout: float) -> tuple[socket.socket, TLSSettings]:
        """A new connection (TLS when the server is https), and the TLS settings it was made with."""
        target = self.target
        host, port = (self.proxy.host, self.proxy.port) if self.proxy else (target.host, target.port)
        context, tls, session = self._ssl_context() if target.scheme == "https" else (None, self._tls, None)
        try:
            sock = socket.create_connection((host, port), timeout=connect_timeout)
        except socket.gaierror as error:
            raise ConnectFailed("unknown host", str(error)) from None
        except TimeoutError as error:
            raise ConnectFailed("timeout", str(error)) from None
        except ConnectionRefusedError as error:
            raise ConnectFailed("refused", str(error)) from None
        except OSError as error:
            raise ConnectFailed("unreachable", str(error)) from None
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.proxy is not None and context is not None:
                self._tunnel(sock)
            if context is None:
                return sock, tls
            server_name = tls.server_name or target.host
            # Resuming the first connection's TLS session spares both ends the certificate
            # checks and key exchange of a full handshake (1.4 ms of CPU instead of 2.4 ms here);
            # a server that no longer knows it gets a full handshake.
            return context.wrap_socket(sock, server_hostname=server_name, session=session), tls
        except ssl.SSLError as error:
            sock.close()
            raise TLSFailed(_ssl_reason(error)) from None
        except TimeoutError as error:
            sock.close()
            raise ConnectFailed("timeout", str(error) or "TLS handshake timed out") from None
        except TransportError:
            sock.close()
            raise
        except OSError as error:
            sock.close()
            raise ConnectionBroken(str(error)) from None

    def _tunnel(self, sock: socket.socket) -> None:
        """Ask the proxy for a tunnel to the server (CONNECT)."""
        assert self.proxy is not None
        authority = self.target.authority
        lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
        lines += [f"{name}: {value}" for name, value in self.proxy.headers]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        reader = sock.makefile("rb", buffering=0)  # unbuffered: TLS reads the socket next
        first = _read_line_unbuffered(reader)
        if not first:
            raise ConnectionBroken("the proxy closed the connection")
        status, reason = _status_line(first)
        while _read_line_unbuffered(reader) not in (b"\r\n", b"\n", b""):
            pass
        if status != 200:
            raise ProxyRefused(status, f"{status} {reason}".strip())


class _StaleConnection(Exception):
    """A reused connection the server had closed: try a new one."""


def _status_line(line: bytes) -> tuple[int, str]:
    if len(line) > MAX_LINE:
        raise ConnectionBroken("a status line too long: not an HTTP server")
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise ConnectionBroken(f"not an HTTP answer: {line[:60]!r}")
    reason = parts[2].strip().decode("latin-1") if len(parts) > 2 else ""
    return int(parts[1]), reason


def _headers(reader: io.BufferedReader) -> dict[str, str]:
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS):
        line = reader.readline(MAX_LINE + 1)
        if line in (b"\r\n", b"\n"):
            return headers
        if not line:
            raise ConnectionBroken("the connection ended within the answer's headers")
        if len(line) > MAX_LINE:
            raise ConnectionBroken("a header line too long")
        name, _, value = line.decode("latin-1").partition(":")
        key, text = name.strip().lower(), value.strip()
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    raise ConnectionBroken(f"more than {MAX_HEADERS} header lines")


def _body(
    reader: io.BufferedReader, headers: Mapping[str, str], status: int, method: str = "GET"
) -> Iterator[bytes]:
    """The body's bytes as they arrive, by the answer's framing."""
    if method == "HEAD" or status in _NO_BODY_STATUSES:
        return
    try:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            yield from _chunks(reader)
            return
        length = headers.get("content-length")
        if length is not None:
            left = int(length.split(",")[0])
            while left > 0:
                piece = reader.read1(min(left, 1 << 20))
                if not piece:
                    raise ConnectionBroken(f"the answer ended {left} bytes short")
                left -= len(piece)
                yield piece
            return
        while piece := reader.read1(1 << 16):  # framed by the connection's end
            yield piece
    except TimeoutError:
        raise ReadTimedOut() from None
    except ValueError:
        raise ConnectionBroken("a malformed answer body") from None
    except OSError as error:
        raise ConnectionBroken(str(error)) from None


def _chunks(reader: io.BufferedReader) -> Iterator[bytes]:
    while True:
        line = reader.readline(MAX_LINE + 1)
        if not line:
            raise ConnectionBroken("the answer ended within its chunks")
        size = int(line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while reader.readline(MAX_LINE + 1) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return
        data = reader.read(size)
        if len(data) < size:
            raise ConnectionBroken("the answer ended within a chunk")
        reader.readline(MAX_LINE + 1)  # the chunk's CRLF
        yield data


def _closes(headers: Mapping[str, str], status: int) -> bool:
    """Whether the connection cannot carry another request after this answer."""
    if "close" in headers.get("connection", "").lower():
        return True
    if status in _NO_BODY_STATUSES:
        return False
    return "content-length" not in headers and "chunked" not in headers.get("transfer-encoding", "").lower()


def _read_line_unbuffered(reader: Any) -> bytes:
    line = bytearray()
    while len(line) <= MAX_LINE:
        byte = reader.read(1)
        if not byte:
            break
        line += byte
        if byte == b"\n":
            break
    return bytes(line)


def _ssl_reason(error: ssl.SSLError) -> str:
    if isinstance(error, ssl.SSLCertVerificationError):
        return str(error.verify_message or error.reason or error)
    return str(error.reason or error)
