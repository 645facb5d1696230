"""tctl's HTTP/1.1 transport against scripted servers on loopback: framing, keep-alive, stale
connections, timeouts, streams, proxies. (Against the emulated API servers it is tested by
every integration test that reads or writes a cluster.)"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import yaml

from tctl_py.fleet.client import ClusterClient, ClusterRequestError
from tctl_py.fleet.kubeconfig import load_kubeconfig
from tctl_py.fleet.objects import NAMESPACES
from tctl_py.fleet.transport import (
    BadHeader,
    ConnectFailed,
    ConnectionBroken,
    Proxy,
    ProxyRefused,
    ReadTimedOut,
    TLSSettings,
    Transport,
)
from tests.support import namespace

Handler = Callable[[socket.socket, "Server"], None]


class Server:
    """Accepts connections on 127.0.0.1 and runs `handler(connection, server)` for each, in a
    thread of its own; counts connections and keeps the requests' heads it read."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.heads: list[bytes] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._run, args=(connection,), daemon=True).start()

    def _run(self, connection: socket.socket) -> None:
        with connection:
            try:
                self.handler(connection, self)
            except OSError:
                pass

    def read_request(self, connection: socket.socket) -> bytes:
        """One request's head and body (by Content-Length); b"" once the client is gone."""
        data = b""
        while b"\r\n\r\n" not in data:
            piece = connection.recv(65536)
            if not piece:
                return b""
            data += piece
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            body += connection.recv(65536)
        self.heads.append(head)
        return head + b"\r\n\r\n" + body

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], Server]]:
    servers: list[Server] = []

    def start(handler: Handler) -> Server:
        servers.append(Server(handler))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def answer(body: bytes, *headers: str, status: str = "200 OK") -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def keep_answering(*answers: bytes) -> Handler:
    """Answer each request on a connection with the next of `answers` (the last one repeated)."""

    def handler(connection: socket.socket, server: Server) -> None:
        for i in range(1000):
            if not server.read_request(connection):
                return
            connection.sendall(answers[min(i, len(answers) - 1)])

    return handler


def test_a_connection_is_kept_alive_and_reused(serve):
    server = serve(keep_answering(answer(b'{"n": 1}')))
    transport = Transport(server.url)
    for _ in range(5):
        response = transport.request("GET", "/api/v1/namespaces")
        assert (response.status, response.data) == (200, b'{"n": 1}')
    assert server.connections == 1
    assert server.heads[0].startswith(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: 127.0.0.1:")


def test_chunked_answers_and_1xx_answers_are_read(serve):
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n3;ext=1\r\nefg\r\n0\r\nX-Trailer: 1\r\n\r\n"
    informational = b"HTTP/1.1 100 Continue\r\n\r\n" + answer(b"after")
    server = serve(keep_answering(chunked, informational, answer(b"last")))
    transport = Transport(server.url)
    assert transport.request("GET", "/").data == b"abcdefg"
    assert transport.request("GET", "/").data == b"after"
    assert transport.request("GET", "/").data == b"last"
    assert server.connections == 1  # every framing above leaves the connection usable


def test_an_answer_framed_by_the_connections_end_is_read_whole_and_the_connection_not_reused(serve):
    def handler(connection: socket.socket, server: Server) -> None:
        server.read_request(connection)
        connection.sendall(b"HTTP/1.0 200 OK\r\n\r\nuntil the end")

    server = serve(handler)
    transport = Transport(server.url)
    assert transport.request("GET", "/").data == b"until the end"
    assert transport.request("GET", "/").data == b"until the end"
    assert server.connections == 2


@pytest.mark.parametrize(
    ("status_line", "headers", "connections"),
    [
        ("HTTP/1.1 200 OK", ("Connection: close",), 2),
        ("HTTP/1.0 200 OK", (), 2),  # HTTP/1.0 closes unless it says keep-alive
        ("HTTP/1.0 200 OK", ("Connection: keep-alive",), 1),
    ],
    ids=["1.1 close", "1.0", "1.0 keep-alive"],
)
def test_an_answer_saying_the_connection_ends_is_not_reused(serve, status_line, headers, connections):
    sent = "\r\n".join([status_line, "Content-Length: 1", *headers]).encode() + b"\r\n\r\nx"
    server = serve(keep_answering(sent))
    transport = Transport(server.url)
    transport.request("GET", "/")
    transport.request("GET", "/")
    assert server.connections == connections


def test_a_pooled_connection_the_server_closed_is_replaced_without_a_failure(serve):
    def handler(connection: socket.socket, server: Server) -> None:
        server.read_request(connection)
        connection.sendall(answer(b"once"))  # says keep-alive, then hangs up: an idle timeout

    server = serve(handler)
    transport = Transport(server.url)
    assert transport.request("GET", "/").data == b"once"
    time.sleep(0.05)  # the server's close reaches the client
    assert transport.request("PATCH", "/x", body=b"{}").data == b"once"
    assert server.connections == 2


def test_a_new_connection_closed_without_an_answer_is_a_broken_connection(serve):
    def handler(connection: socket.socket, server: Server) -> None:
        server.read_request(connection)  # and closes: no answer at all

    server = serve(handler)
    with pytest.raises(ConnectionBroken):
        Transport(server.url).request("GET", "/")
    assert server.connections == 1  # not tried again by the transport: retries are the client's


@pytest.mark.parametrize(
    ("sent", "why"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", "95 bytes short"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nshort", "within a chunk"),
        (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n", "within the answer's headers"),
        (b"SSH-2.0-OpenSSH_9.6\r\n", "not an HTTP answer"),
    ],
    ids=["short body", "short chunk", "cut headers", "not HTTP"],
)
def test_a_cut_or_foreign_answer_is_a_broken_connection(serve, sent, why):
    def handler(connection: socket.socket, server: Server) -> None:
        server.read_request(connection)
        connection.sendall(sent)  # and hangs up

    with pytest.raises(ConnectionBroken, match=why):
        Transport(serve(handler).url).request("GET", "/")


def test_a_silent_server_is_a_read_timeout(serve):
    def handler(connection: socket.socket, server: Server) -> None:
        server.read_request(connection)
        time.sleep(2)

    started = time.monotonic()
    with pytest.raises(ReadTimedOut):
        Transport(serve(handler).url).request("GET", "/", timeout=(1.0, 0.2))
    assert time.monotonic() - started < 1.5


def test_a_closed_port_is_a_refused_connection():
    with socket.socket() as reserved:
        reserved.bind(("127.0.0.1", 0))
        port = reserved.getsockname()[1]
    with pytest.raises(ConnectFailed) as failed:
        Transport(f"http://127.0.0.1:{port}").request("GET", "/")
    assert failed.value.reason == "refused"


def test_the_servers_base_path_query_and_headers_are_sent(serve):
    server = serve(keep_answering(answer(b"{}")))
    transport = Transport(server.url + "/k8s/clusters/c-1/", user_agent="tctl/test")
    transport.request(
        "PATCH",
        "/apis/g/v1/namespaces/ns/things/a",
        query=[("fieldManager", "tctl"), ("labelSelector", "app.kubernetes.io/managed-by=tctl")],
        headers={"Content-Type": "application/apply-patch+yaml"},
        body=b'{"a": 1}',
    )
    lines = server.heads[0].decode().split("\r\n")
    assert lines[0] == (
        "PATCH /k8s/clusters/c-1/apis/g/v1/namespaces/ns/things/a?fieldManager=tctl"
        "&labelSelector=app.kubernetes.io%2Fmanaged-by%3Dtctl HTTP/1.1"
    )
    assert {
        "User-Agent: tctl/test",
        "Content-Type: application/apply-patch+yaml",
        "Content-Length: 8",
    } <= set(lines)


def test_a_header_with_a_line_break_is_refused_before_anything_is_sent(serve):
    server = serve(keep_answering(answer(b"{}")))
    with pytest.raises(BadHeader, match=r"^the Authorization header holds a line break$"):
        Transport(server.url).request("GET", "/", headers={"Authorization": "Bearer x\r\nX-Evil: 1"})
    assert server.heads == []


def test_a_stream_gives_lines_as_they_arrive_and_shutdown_ends_a_blocked_read(serve):
    sent_second = threading.Event()

    def handler(connection: socket.socket, server: Server) -> None:
        server.read_request(connection)
        connection.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        connection.sendall(b'8\r\n{"a": 1}\r\n')
        connection.sendall(b'9\r\n\n{"b": 2}\r\n')  # a line may span chunks
        connection.sendall(b"1\r\n\n\r\n")
        sent_second.set()
        time.sleep(5)  # then nothing: the reader blocks until shutdown

    stream = Transport(serve(handler).url).stream("GET", "/watch", timeout=(1.0, 30.0))
    lines = stream.lines()
    assert next(lines) == b'{"a": 1}'
    assert next(lines) == b'{"b": 2}'
    ended = threading.Event()

    def read_on() -> None:
        try:
            for _ in lines:
                pass
        except ConnectionBroken:
            pass
        ended.set()

    threading.Thread(target=read_on, daemon=True).start()
    assert not ended.wait(0.2)
    stream.shutdown()
    assert ended.wait(2), "shutdown() did not end the blocked read"


def test_an_http_proxy_gets_absolute_urls_and_its_credentials(serve):
    server = serve(keep_answering(answer(b"{}")))  # plays the proxy
    proxy = Proxy.parse(f"http://user:p%40ss@127.0.0.1:{server.port}")
    transport = Transport("http://cluster.example:8080", proxy=proxy)
    transport.request("GET", "/api")
    lines = server.heads[0].decode().split("\r\n")
    assert lines[0] == "GET http://cluster.example:8080/api HTTP/1.1"
    assert "Host: cluster.example:8080" in lines
    assert "Proxy-Authorization: Basic dXNlcjpwQHNz" in lines  # user:p@ss


def test_a_proxy_refusing_the_tunnel_says_so(serve):
    def handler(connection: socket.socket, server: Server) -> None:
        server.read_request(connection)
        connection.sendall(answer(b"", status="407 Proxy Authentication Required"))

    server = serve(handler)
    transport = Transport("https://cluster.example:6443", proxy=Proxy.parse(f"127.0.0.1:{server.port}"))
    with pytest.raises(ProxyRefused) as refused:
        transport.request("GET", "/api")
    assert refused.value.status == 407
    assert server.heads[0].decode().startswith("CONNECT cluster.example:6443 HTTP/1.1\r\n")


@pytest.mark.parametrize("url", ["socks5://127.0.0.1:1080", "https://proxy:3128"])
def test_proxies_other_than_http_are_refused(url):
    with pytest.raises(ValueError, match="only http:// proxies"):
        Proxy.parse(url)


def tunnel(connection: socket.socket, server: Server) -> None:
    """A CONNECT proxy: opens the tunnel it is asked for, then copies bytes both ways."""
    head = server.read_request(connection)
    host, _, port = head.split(b" ")[1].decode().rpartition(":")
    with socket.create_connection((host, int(port))) as upstream:
        connection.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")

        def copy(source: socket.socket, target: socket.socket) -> None:
            try:
                while data := source.recv(65536):
                    target.sendall(data)
            except OSError:
                pass
            finally:
                with contextlib.suppress(OSError):
                    target.shutdown(socket.SHUT_WR)

        back = threading.Thread(target=copy, args=(upstream, connection), daemon=True)
        back.start()
        copy(connection, upstream)
        back.join(5)


def test_a_tls_cluster_is_reached_through_an_https_proxy_tunnel(serve, emulated, monkeypatch):
    """kubectl's way with HTTPS_PROXY: TLS with the API server, end to end, inside CONNECT."""
    proxy = serve(tunnel)
    emulated.add_cluster("c1", tls=True, objects=[namespace("shop")])
    config = load_kubeconfig(str(emulated.write_kubeconfig()))
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.port}")
    with ClusterClient(config, "c1") as client:
        names = [ns["metadata"]["name"] for ns in client.list(NAMESPACES)]
    assert "shop" in names
    assert proxy.heads and proxy.heads[0].decode().startswith(
        f"CONNECT {emulated.clusters['c1'].server.split('//')[1]} HTTP/1.1\r\n"
    )


def _tls_kubeconfig(emulated, **cluster_fields) -> dict:
    """The emulated TLS cluster c1's kubeconfig, its cluster entry changed by `cluster_fields`
    (a value None removes the field)."""
    config = yaml.safe_load(emulated.write_kubeconfig().read_text())
    entry = config["clusters"][0]["cluster"]
    for key, value in cluster_fields.items():
        if value is None:
            entry.pop(key, None)
        else:
            entry[key] = value
    return config


@pytest.mark.parametrize(
    ("fields", "failure"),
    [
        ({}, None),
        ({"certificate-authority-data": None}, "self-signed certificate in certificate chain"),
        ({"certificate-authority-data": None, "insecure-skip-tls-verify": True}, None),
        ({"tls-server-name": "kubernetes.default"}, "mismatch"),
    ],
    ids=["the kubeconfig's CA", "no CA", "insecure-skip-tls-verify", "another tls-server-name"],
)
def test_the_servers_certificate_is_checked_as_the_kubeconfig_says(emulated, fields, failure):
    emulated.add_cluster("c1", tls=True, objects=[namespace("shop")])
    with ClusterClient(_tls_kubeconfig(emulated, **fields), "c1") as client:
        if failure is None:
            assert "shop" in [ns["metadata"]["name"] for ns in client.list(NAMESPACES)]
            return
        with pytest.raises(ClusterRequestError) as refused:
            client.list(NAMESPACES)
    assert refused.value.message.startswith(f"TLS with {client.server} failed (listing namespaces): ")
    assert failure in refused.value.message.lower()
    assert "certificate-authority" in refused.value.hint


def test_later_tls_connections_resume_the_first_ones_session(emulated):
    cluster = emulated.add_cluster("c1", tls=True)
    with ClusterClient(_tls_kubeconfig(emulated), "c1") as client:
        client.list(NAMESPACES)  # the first connection: a full handshake, a session ticket
        path = NAMESPACES.path()
        stream = client.transport.stream(
            "GET", path, headers={"Authorization": client.endpoint.authorization()}
        )
        try:
            assert stream.status == 200
            assert stream._connection.sock.session_reused  # a second connection, resumed
        finally:
            stream.close()
    assert cluster.counts["GET"] == 2


def test_a_connection_made_with_replaced_tls_settings_is_not_used_again(emulated):
    """New TLS settings (an exec plugin's new client certificate) while a request is in flight:
    the connection it went out on, made with the old certificate, is closed after its answer
    rather than pooled, and its TLS session is not resumed (it would carry the old identity);
    the next request shows the new certificate."""
    cluster = emulated.add_cluster("c1", objects=[namespace("shop")], tls=True)
    cluster.emulator.token = None  # the client certificate is the credential
    folder = emulated.tls.folder
    emulated.tls.issue("client-renewed")
    old = TLSSettings(
        ca_file=str(folder / "ca.crt"),
        cert_file=str(folder / "client.crt"),
        key_file=str(folder / "client.key"),
    )
    new = dataclasses.replace(
        old, cert_file=str(folder / "client-renewed.crt"), key_file=str(folder / "client-renewed.key")
    )
    transport = Transport(cluster.server, tls=old)
    try:
        assert transport.request("GET", "/api/v1/namespaces").status == 200  # pooled, a session ticket
        cluster.delay(1.0, times=1, path="/namespaces/shop$")
        answers: list[int] = []
        slow = threading.Thread(
            target=lambda: answers.append(transport.request("GET", "/api/v1/namespaces/shop").status)
        )
        slow.start()
        deadline = time.monotonic() + 10
        while emulated.tracker.current < 1:  # the slow request is being served
            assert time.monotonic() < deadline, "the slow request never arrived"
            time.sleep(0.01)
        transport.use_tls(new)
        slow.join(10)
        assert answers == [200]
        cluster.emulator.refused_clients = frozenset({"tctl-test-client"})  # the old one, revoked
        assert transport.request("GET", "/api/v1/namespaces").status == 200
    finally:
        transport.close()
