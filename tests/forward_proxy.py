"""A small HTTP forward proxy on 127.0.0.1, for tests and benchmarks that go through a proxy.

Plain-http targets: the client sends absolute-form requests (``POST http://127.0.0.1:PORT/v1/chat/
completions HTTP/1.1``); the proxy opens a new connection to the target for each, forwards the
request (hop-by-hop headers dropped, a Content-Length or chunked body passed on) and relays the
response: status, headers and body (by its Content-Length, or chunk by chunk as it arrives when it
has none). Connections between the client and the proxy are kept alive. https targets: CONNECT
opens a tunnel that relays bytes both ways. A target that cannot be reached, or that drops the
connection before its response's headers, is answered 502, as real proxies do; one that drops it
in the middle of a body drops the client's connection too. Nothing is logged.
"""

from __future__ import annotations

import http.client
import select
import socket
import sys
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from tests.loopback import Loopback

HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te",
    "trailer", "trailers", "transfer-encoding", "upgrade",
})
"""Headers that concern one connection, not the message, and are not passed on (RFC 9110, 7.6.1)."""

CHUNK = 64 * 1024


class ForwardProxy(Loopback):
    """Start with :meth:`start` (returns the proxy's URL), stop with :meth:`stop` or a ``with`` block."""

    def __init__(self, *, timeout_s: float | None = None) -> None:
        super().__init__()
        self.timeout_s = timeout_s
        """How long to wait for a target (connect and each read); None: as long as it takes."""
        self.counts: Counter[str] = Counter()
        """Requests forwarded and tunnels opened, by target host (``"127.0.0.1"``)."""
        self.targets: Counter[str] = Counter()
        """The same by target ``host:port``, which tells apart servers on one host."""
        self.forwarded = 0
        """Plain-http requests forwarded (whatever the target answered)."""
        self.tunnels = 0
        """CONNECT tunnels opened."""
        self.failed = 0
        """Requests answered 502, or dropped, because the target failed."""
        self.errors: list[str] = []
        """Errors the proxy's own code raised (kept here rather than printed)."""

    @property
    def url(self) -> str:
        return self.address

    def start(self) -> str:
        self._serve(_QuietServer, type("Handler", (_ProxyHandler,), {"proxy": self}), "forward-proxy")
        self._server.proxy = self  # type: ignore[union-attr]
        return self.url

    def stop(self) -> None:
        """Stop listening and close every open connection (tunnels included)."""
        super().stop()
        self.drop_connections()

    def _count(self, host: str, port: int, tunnel: bool) -> None:
        with self._lock:
            self.counts[host] += 1
            self.targets[f"{host}:{port}"] += 1
            if tunnel:
                self.tunnels += 1
            else:
                self.forwarded += 1

    def _track(self, connection: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)


class _QuietServer(ThreadingHTTPServer):
    request_queue_size = 1024
    proxy: ForwardProxy

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A dropped connection is expected; anything else is kept in ``errors``, not printed."""
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            with self.proxy._lock:
                self.proxy.errors.append(repr(error))


class _ProxyHandler(BaseHTTPRequestHandler):
    proxy: ForwardProxy
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.proxy._track(self.connection, True)

    def finish(self) -> None:
        self.proxy._track(self.connection, False)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def log_error(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _reply(self, status: int, text: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        """The request's body: by its Content-Length, or its chunks put together."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _forward(self) -> None:
        target = urlsplit(self.path)
        if target.scheme != "http" or not target.hostname:
            self._body()
            self._reply(400, "This is a forward proxy: send an absolute http:// URL or CONNECT.\n")
            return
        host, port = target.hostname, target.port or 80
        body = self._body()
        path = target.path or "/"
        if target.query:
            path += "?" + target.query
        self.proxy._count(host, port, tunnel=False)
        upstream = http.client.HTTPConnection(host, port, timeout=self.proxy.timeout_s)
        try:
            try:
                upstream.putrequest(self.command, path, skip_host=True, skip_accept_encoding=True)
                has_host = False
                for name, value in self.headers.items():
                    lower = name.lower()
                    if lower in HOP_BY_HOP or lower == "content-length":
                        continue
                    has_host = has_host or lower == "host"
                    upstream.putheader(name, value)
                if not has_host:
                    upstream.putheader("Host", target.netloc)
                if body or self.command in ("POST", "PUT", "PATCH"):
                    upstream.putheader("Content-Length", str(len(body)))
                upstream.putheader("Connection", "close")
                upstream.endheaders(body or None)
                response = upstream.getresponse()
            except (OSError, http.client.HTTPException) as error:
                with self.proxy._lock:
                    self.proxy.failed += 1
                self._reply(502, f"Bad gateway: {error!r}\n")
                return
            self._relay(response)
        finally:
            upstream.close()

    def _relay(self, response: http.client.HTTPResponse) -> None:
        """Send the target's response on: its status and headers, then its body."""
        self.send_response_only(response.status, response.reason)
        length = response.getheader("Content-Length")
        no_body = self.command == "HEAD" or response.status in (204, 304) or 100 <= response.status < 200
        chunked = not no_body and length is None
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if no_body:
            return
        try:
            while True:
                data = response.read1(CHUNK) if chunked else response.read(CHUNK)
                if not data:
                    break
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
                self.wfile.flush()
            if length is not None and response.length:  # the target closed before the whole body
                raise http.client.IncompleteRead(b"")
        except (OSError, http.client.HTTPException):
            with self.proxy._lock:
                self.proxy.failed += 1
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _forward

    def do_CONNECT(self) -> None:
        host, _, port_text = self.path.rpartition(":")
        host = host.strip("[]")
        if not host or not port_text.isdigit():
            self._reply(400, "CONNECT takes host:port\n")
            return
        port = int(port_text)
        try:
            upstream = socket.create_connection((host, port), timeout=self.proxy.timeout_s)
        except OSError as error:
            with self.proxy._lock:
                self.proxy.failed += 1
            self._reply(502, f"Bad gateway: {error!r}\n")
            return
        self.proxy._count(host, port, tunnel=True)
        self.proxy._track(upstream, True)
        self.close_connection = True
        try:
            upstream.settimeout(None)
            self.send_response_only(200, "Connection established")
            self.end_headers()
            self.wfile.flush()
            self._tunnel(self.connection, upstream)
        finally:
            self.proxy._track(upstream, False)
            upstream.close()

    def _tunnel(self, client: socket.socket, upstream: socket.socket) -> None:
        """Relay bytes both ways until either side closes."""
        client.setblocking(False)
        try:  # bytes the client sent right after CONNECT, which the request reader may hold already
            pending = self.rfile.peek(CHUNK) or b""
        except (BlockingIOError, OSError):
            pending = b""
        finally:
            client.setblocking(True)
        if pending:
            upstream.sendall(self.rfile.read(len(pending)))
        sockets = [client, upstream]
        while True:
            try:
                readable, _, broken = select.select(sockets, [], sockets, 1.0)
            except (OSError, ValueError):
                return
            if broken:
                return
            for source in readable:
                try:
                    data = source.recv(CHUNK)
                except OSError:
                    return
                if not data:
                    return
                sink = upstream if source is client else client
                try:
                    sink.sendall(data)
                except OSError:
                    return
