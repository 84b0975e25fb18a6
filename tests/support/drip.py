"""Local servers that misbehave the way real ones do, for the HTTP client's tests
(tests/integration/test_http_client.py): they keep connections alive, drip an answer a byte at a
time, never finish the headers, send an endless body, redirect, or speak TLS with a certificate
nobody trusts. Start them with ``serve`` (tests/support/http.py) or the ``http_server`` fixture.

Every handler speaks HTTP/1.1 (so connections are kept alive) and appends to ``server.hits`` one
``Hit`` per request: the client's port tells which connection a request came on.
"""

from __future__ import annotations

import select
import shutil
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, NamedTuple

LONG = 60.0  # how long a misbehaving answer would go on if the client let it (it hangs up long before)


class Hit(NamedTuple):
    port: int  # the client's port: one per connection
    method: str
    path: str
    authorization: str | None


def connections(server: Any) -> int:
    """How many connections the requests so far came on."""
    return len({hit.port for hit in server.hits})


class Misbehaving(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive. The path picks the answer:

    - ``/`` (or anything else): 200 ``ok <path>``, with a Content-Length;
    - ``/drip-body``: 200 with a Content-Length of 1000, then one byte every 0.1 s;
    - ``/drip-headers``: a status line, then one header line every 0.1 s, never the blank line;
    - ``/silent``: nothing at all, until the client hangs up;
    - ``/endless``: 200 without a length (chunked), 64 KiB chunks for as long as the client reads;
    - ``/big``: 200 with a Content-Length of 4 MiB, all of it written;
    - ``/redirect``: ``server.status`` (302 unless set) to ``server.target``;
    - ``/busy``: 503 with ``Retry-After: server.retry_after``.
    """

    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        self.server.hits.append(Hit(self.client_address[1], self.command, self.path,  # type: ignore[attr-defined]
                                    self.headers.get("Authorization")))
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        route = getattr(self, "_" + self.path.strip("/").replace("-", "_"), None)
        try:
            (route or self._ok)()
        except OSError:  # the client hung up (as it should, at its deadline or its cap)
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_HEAD = _answer  # noqa: N815

    def _send(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _ok(self) -> None:
        self._send(200, f"ok {self.path}".encode())

    def _drip_body(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self._drip(b"x" for _ in range(1000))

    def _drip_headers(self) -> None:
        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
        self._drip(f"X-Drip-{i}: x\r\n".encode() for i in range(int(LONG / 0.1)))

    def _drip(self, pieces: Any) -> None:
        self.wfile.flush()
        for piece in pieces:
            if hung_up(self.connection, 0.1):
                break
            self.wfile.write(piece)
            self.wfile.flush()
        self.close_connection = True

    def _silent(self) -> None:
        began = time.monotonic()
        while not hung_up(self.connection, 0.1) and time.monotonic() - began < LONG:
            pass
        self.close_connection = True

    def _endless(self) -> None:
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"y" * 65_536
        began = time.monotonic()
        while time.monotonic() - began < LONG:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.close_connection = True

    def _big(self) -> None:
        self._send(200, b"z" * (4 << 20))

    def _redirect(self) -> None:
        self._send(getattr(self.server, "status", 302), Location=self.server.target)  # type: ignore[attr-defined]

    def _busy(self) -> None:
        self._send(503, b"busy", Retry_After=str(self.server.retry_after))  # type: ignore[attr-defined]

    def log_message(self, *args: object) -> None:
        pass


class ClosesIdle(Misbehaving):
    """Like ``Misbehaving``, but closes a kept-alive connection after 0.2 s without a request (as
    servers do after their keep-alive timeout)."""

    timeout = 0.2


class HangsUpOnSecond(Misbehaving):
    """Like ``Misbehaving``, but the second request on a connection is read and then not answered: the
    connection is closed (as when a server's keep-alive timeout strikes just as a request comes)."""

    def _answer(self) -> None:
        self.served = getattr(self, "served", 0) + 1  # one handler per connection
        if self.served < 2:
            super()._answer()
            return
        self.server.hits.append(Hit(self.client_address[1], self.command, self.path,  # type: ignore[attr-defined]
                                    self.headers.get("Authorization")))
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.close_connection = True

    do_GET = do_POST = do_PUT = do_HEAD = _answer  # noqa: N815


def hung_up(sock: socket.socket, wait: float) -> bool:
    """Whether the client closed its end (waiting at most ``wait`` seconds to find out)."""
    try:
        readable, _, _ = select.select([sock], [], [], wait)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):  # (ValueError: a TLS socket, which cannot peek; taken as gone)
        return True


class TLSServer:
    """A TLS server on 127.0.0.1 with a self-signed certificate (made with the ``openssl`` command) that
    counts the requests that got through the handshake (``requests``); ``url`` is its https:// URL."""

    def __init__(self, directory: Path) -> None:
        openssl = shutil.which("openssl")
        if openssl is None:
            raise FileNotFoundError("openssl")
        cert, key = directory / "cert.pem", directory / "key.pem"
        subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                        "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
                        "-out", str(cert)], check=True, capture_output=True)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"https://127.0.0.1:{self.listener.getsockname()[1]}"
        self.handshakes_failed = 0
        self.requests = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    with self.context.wrap_socket(conn, server_side=True) as tls:
                        if tls.recv(65_536):
                            self.requests += 1
                            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                except (OSError, ssl.SSLError):
                    self.handshakes_failed += 1

    def close(self) -> None:
        self.listener.close()
