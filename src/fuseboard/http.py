"""The one HTTP client of fuseboard: deploy webhooks, the alert webhook and health probes.

Three promises, whatever the other end does:

- **No redirects.** A 3xx is an answer like any other (``ok`` is false for it) and names its
  ``Location``; nothing is sent anywhere but the URL given, so an ``Authorization`` header
  never reaches another host.
- **A total deadline.** Connecting, the headers and the body together take at most
  ``deadline`` seconds: a watchdog shuts the socket down when it passes, so a server that
  drips a byte now and then cannot hold the caller past it (a per-read timeout would).
  Name resolution is the one step outside it (the system resolver cannot be interrupted).
- **A capped body.** At most ``max_body`` bytes are read; the rest is left unread.

Layer-neutral (stdlib only), so ops and monitoring both use it.
"""

from __future__ import annotations

import http.client
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

MAX_BODY = 65_536


@dataclass
class Response:
    status: int | None  # None: no answer (``error`` says why)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    location: str | None = None  # a 3xx answer's Location (never followed)
    error: str = ""  # "timeout after 5s", "connection refused", ... ("" when an answer arrived in full)
    seconds: float = 0.0
    truncated: bool = False  # the body was longer than max_body

    @property
    def ok(self) -> bool:
        """A 2xx answer within the deadline."""
        return not self.error and self.status is not None and 200 <= self.status < 300

    @property
    def timed_out(self) -> bool:
        return self.error.startswith("timeout")

    def describe(self) -> str:
        """``HTTP 200``, ``HTTP 302 -> https://elsewhere/``, ``timeout after 5s``, ``failed: ...``."""
        if self.status is None:
            return self.error if self.timed_out else f"failed: {self.error}"
        text = f"HTTP {self.status}"
        if 300 <= self.status < 400:
            text += f" -> {self.location}" if self.location else " (no Location)"
            text += " (redirects are not followed)"
        if self.error:
            text += f"; {self.error}"
        return text

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def request(method: str, url: str, *, body: bytes | None = None, headers: dict[str, str] | None = None,
            deadline: float = 5.0, max_body: int = MAX_BODY) -> Response:
    """One request to exactly ``url``; never raises for the network or the other end (see the module)."""
    start = time.monotonic()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return Response(None, error=f"not an http(s) URL: {url!r}")
    try:
        port = parts.port
    except ValueError:
        return Response(None, error=f"bad port in {url!r}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if parts.scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname, port, timeout=deadline, context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(parts.hostname, port, timeout=deadline)
    expired = threading.Event()

    def cut() -> None:  # the deadline passed: wake whatever read is blocked
        expired.set()
        sock = conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    watchdog = threading.Timer(deadline, cut)
    watchdog.daemon = True
    watchdog.start()
    answer = Response(None)
    try:
        conn.connect()
        left = deadline - (time.monotonic() - start)
        if left <= 0 or expired.is_set():
            raise TimeoutError
        if conn.sock is not None:
            conn.sock.settimeout(left)
        conn.request(method, path, body=body, headers={"Connection": "close", **(headers or {})})
        reply = conn.getresponse()
        if expired.is_set():  # the headers were cut short by the deadline: no answer
            raise TimeoutError
        answer.status = reply.status
        answer.headers = {k.lower(): v for k, v in reply.getheaders()}
        if 300 <= reply.status < 400:
            answer.location = reply.getheader("Location")
        chunks, size = [], 0
        while size <= max_body:
            chunk = reply.read1(min(65_536, max_body + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
        answer.truncated = len(data) > max_body
        answer.body = data[:max_body]
        if expired.is_set():
            raise TimeoutError
    except (TimeoutError, socket.timeout):
        answer.error = f"timeout after {deadline:g}s"
    except (OSError, http.client.HTTPException, ValueError) as exc:
        answer.error = f"timeout after {deadline:g}s" if expired.is_set() else _reason(exc)
    finally:
        watchdog.cancel()
        conn.close()
        answer.seconds = time.monotonic() - start
    return answer


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host: {exc.strerror or exc}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS: {exc.reason or exc}"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if isinstance(exc, http.client.HTTPException):
        return f"bad HTTP answer: {type(exc).__name__}"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text[:200]


# -- secrets in URLs --------------------------------------------------------------------------

SECRET_WORDS = {"token", "secret", "password", "passwd", "pwd", "pass", "key", "apikey", "sig", "signature",
                "auth", "authorization", "credential", "credentials", "session", "sid", "jwt", "bearer", "hmac",
                "code", "otp"}


def secret_name(name: str) -> bool:
    """Whether a query parameter (or variable) name looks like it holds a secret."""
    lowered = name.lower()
    if any(word in lowered for word in ("token", "secret", "passw", "apikey", "credential", "signature")):
        return True
    words = re.split(r"[^a-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower())
    return any(word in SECRET_WORDS for word in words)


def masked_url(url: str) -> str:
    """``url`` with any credential in it (a password, a secret-looking query parameter's value) as ``****``."""
    parts = urlsplit(url)
    if not secret_in_url(url):
        return url
    netloc = parts.netloc.rsplit("@", 1)[-1]
    if parts.username or parts.password:
        netloc = f"{parts.username or ''}:****@{netloc}"
    query = "&".join(f"{name}=****" if secret_name(name) else f"{name}={value}"
                     for name, value in parse_qsl(parts.query, keep_blank_values=True))
    return parts._replace(netloc=netloc, query=query).geturl()


def secret_in_url(url: str) -> str | None:
    """What in ``url`` carries a credential (``userinfo``, ``query parameter 'token'``), or None."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        return "userinfo"
    for name, _ in parse_qsl(parts.query, keep_blank_values=True):
        if secret_name(name):
            return f"query parameter {name!r}"
    return None
