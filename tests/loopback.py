"""What the test servers share: a threaded HTTP (or https) server on 127.0.0.1, started and
stopped by the test (or a ``with`` block), whose open connections can be dropped on demand."""

from __future__ import annotations

import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class Loopback:
    """A server on 127.0.0.1 at a free port; subclasses say how to handle requests (:meth:`_serve`)."""

    def __init__(self, tls: tuple[str, str] | None = None) -> None:
        self.tls = tls
        """(certificate file, key file) to serve https with; None: plain http."""
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        """Connections open now (handlers add and discard theirs), for :meth:`drop_connections`."""
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        self.start()  # type: ignore[attr-defined]
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def address(self) -> str:
        """``http://127.0.0.1:PORT``."""
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    def _serve(self, server_class: type[ThreadingHTTPServer], handler: type[BaseHTTPRequestHandler], name: str) -> None:
        self._server = server_class(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        # A short poll: stop() waits for it, and the default half second adds up over many tests.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name=name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening (idempotent)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def drop_connections(self) -> None:
        """Close every open connection at once, requests in progress included."""
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
