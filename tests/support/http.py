"""A local HTTP server in a thread: the ``http_server`` fixture of ``tests/conftest.py`` starts these."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeServer(ThreadingHTTPServer):
    """A ``ThreadingHTTPServer`` on 127.0.0.1 that knows its ``url`` and collects ``hits`` (its
    handlers append to them); tests may set more attributes for their handlers to read."""

    daemon_threads = True
    request_queue_size = 128  # a real server's backlog: the default 5 drops connections when a check
    #                           run probes every endpoint at once
    url: str
    hits: list[Any]

    def __exit__(self, *args: object) -> None:  # ``with http_server(Handler) as server:`` stops it at the end
        stop(self)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a slow handler whose client gave up (a test's timeout) ends in a broken pipe, maybe after
        its test, when socketserver's traceback would land in another test's captured output."""


def serve(handler: type[BaseHTTPRequestHandler], **attrs: Any) -> FakeServer:
    """``handler`` served on a free port of 127.0.0.1, in a daemon thread; ``attrs`` set on the server."""
    server = FakeServer(("127.0.0.1", 0), handler)
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    server.hits = []
    for name, value in attrs.items():
        setattr(server, name, value)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


def stop(server: FakeServer) -> None:
    """Stop serving and close the socket (handler threads still running are daemons); twice is harmless."""
    server.shutdown()
    server.server_close()


class VersionEndpoint(BaseHTTPRequestHandler):
    """A model's endpoint: GET answers ``{"status": "ok", "version": server.version}``, or 500 while
    ``server.fail`` is true (set both on the server: ``http_server(VersionEndpoint, version="2")``)."""

    def do_GET(self) -> None:  # noqa: N802
        if getattr(self.server, "fail", False):
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps({"status": "ok", "version": self.server.version}).encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass
