"""The one HTTP client of fuseboard: deploy webhooks, the alert webhook, receivers and health probes.

Built on urllib3, imported on the first request so that importing this module stays cheap (the
command line reads ``secret_in_url`` from it without making any request). Three promises,
whatever the other end does:

- **No redirects.** A 3xx is an answer like any other (``ok`` is false for it) and names its
  ``Location``; nothing is sent anywhere but the URL given, so an ``Authorization`` header
  never reaches another host. ``Retry-After`` is read (``Response.retry_after``), never obeyed
  here: what to do about it is the caller's.
- **A total deadline.** Connecting, the TLS handshake, the headers and the body together take at
  most ``deadline`` seconds: a watchdog shuts the socket down when it passes, so a server that
  drips a byte now and then cannot hold the caller past it (a per-read timeout would).
  Name resolution is the one step outside it (the system resolver cannot be interrupted).
- **A capped body.** At most ``max_body`` bytes are read; the rest is left unread.

Connections are kept alive and reused: one pool per host, shared by every thread. A connection
the watchdog cut, or whose answer was left unread past ``max_body``, is closed, never reused; one
unused for ``REUSE_IDLE`` seconds is not trusted with a request. A request is sent once, with one
exception: a GET (HEAD, OPTIONS) that went out on a kept-alive connection the server closed before
answering is sent again on a new one, within the same deadline (RFC 9112 §9.3.1; a POST is not).
TLS certificates are checked against the system's trusted authorities (``ssl.create_default_context``).

Layer-neutral, so ops and monitoring both use it.
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

MAX_BODY = 65_536
RETRY_AFTER_MAX = 3600.0  # the longest wait a Retry-After is taken to ask for, in seconds
POOL_HOSTS = 32  # hosts whose idle connections are kept (the least recently used host's are closed first)
POOL_PER_HOST = 8  # idle connections kept per host (more may be open at once: the extra are closed after use)
REUSE_IDLE = 60.0  # a connection unused for longer is not reused (firewalls and NATs forget idle ones, silently)
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})  # sent once more if a kept-alive connection was closed under them
USER_AGENT = "fuseboard"  # sent unless the caller gives its own (urllib3 would say python-urllib3/2.x)


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

    def retry_after(self, now: float | None = None) -> float | None:
        """The seconds to wait that the answer's ``Retry-After`` asks for (RFC 9110 §10.2.3), or None.

        Delta-seconds count from the answer; an HTTP-date counts from ``now`` (a ``time.time()``
        timestamp, the current time when not given). Never negative (a date gone by is 0), at most
        ``RETRY_AFTER_MAX``; None when there is no such header or it is neither form (``-5``, ``soon``).
        """
        value = self.headers.get("retry-after", "").strip()
        if not value:
            return None
        if value.isascii() and value.isdigit():
            seconds = float(value)
        else:
            from email.utils import parsedate_to_datetime  # IMF-fixdate, and the obsolete RFC 850 and asctime forms

            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError, OverflowError):
                return None
            if when is None:
                return None
            if when.tzinfo is None:  # "-0000" or asctime: HTTP dates are in UTC
                from datetime import timezone

                when = when.replace(tzinfo=timezone.utc)
            try:
                seconds = when.timestamp() - (time.time() if now is None else now)
            except (OverflowError, OSError, ValueError):
                return None
        return min(max(seconds, 0.0), RETRY_AFTER_MAX)


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
    if port == 0:
        return Response(None, error=f"bad port in {url!r}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    answer = Response(None)
    guard = _Guard()
    _local.guard = guard  # the connection the pool hands out puts its socket under this watchdog
    reply: Any = None
    try:
        from urllib3 import Timeout

        host = parts.hostname
        if not host.isascii():  # as the standard library did (IDNA 2003); urllib3 would want the idna package
            host = host.encode("idna").decode("ascii")
        pool = _pools().connection_from_host(host, port=port, scheme=parts.scheme)
        sent = {"User-Agent": USER_AGENT, **(headers or {})}
        guard.start(deadline - (time.monotonic() - start))  # (the first request also imported urllib3)
        again = method.upper() in IDEMPOTENT
        while reply is None:
            left = max(deadline - (time.monotonic() - start), 0.001)
            try:
                reply = pool.urlopen(method, path, body=body, headers=sent, retries=False, redirect=False,
                                     assert_same_host=False, timeout=Timeout(connect=left, read=left),
                                     preload_content=False, decode_content=False, release_conn=False)
            except Exception as exc:
                if not (again and guard.reused and not guard.expired and _hung_up(exc)):
                    raise
                # a kept-alive connection the server had just closed (HTTP allows sending an idempotent
                # request again, RFC 9112 §9.3.1): once more, on a new connection, within the same deadline
                again, guard.reused, guard.fresh_only = False, False, True
        if guard.expired:  # the headers were cut short by the deadline (what came reads as complete): no answer
            raise TimeoutError
        answer.status = reply.status
        answer.headers = {k.lower(): v for k, v in reply.headers.items()}
        if 300 <= reply.status < 400:
            answer.location = reply.headers.get("Location")
        chunks, size = [], 0
        while size <= max_body:
            if guard.expired or time.monotonic() - start >= deadline:
                raise TimeoutError
            chunk = reply.read1(min(65_536, max_body + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
        answer.truncated = len(data) > max_body
        answer.body = data[:max_body]
        if guard.expired:
            raise TimeoutError
    except Exception as exc:  # noqa: BLE001 - sorted by _reason, which raises again what is not the network's
        reason = _reason(exc, deadline)
        answer.error = f"timeout after {deadline:g}s" if guard.expired else reason
    finally:
        expired = guard.finish()
        _local.guard = None
        if reply is not None:
            if expired or answer.error or answer.truncated or not reply.closed:
                reply.close()  # cut, broken or left unread: the connection is closed, not reused
            reply.release_conn()  # back to the pool (closed, it reconnects when next handed out)
        answer.seconds = time.monotonic() - start
    return answer


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps: urllib3 wraps what the socket, ssl or http.client raised."""
    seen: list[BaseException] = []
    todo: list[Any] = [exc]
    while todo and len(seen) < 20:
        cause = todo.pop(0)
        if not isinstance(cause, BaseException) or any(cause is s for s in seen):
            continue
        seen.append(cause)
        todo += [cause.__cause__, cause.__context__, getattr(cause, "reason", None), *cause.args]
    return seen


def _hung_up(exc: BaseException) -> bool:
    """Whether the server closed (or reset) the connection before any answer."""
    import http.client

    return any(isinstance(c, (http.client.RemoteDisconnected, ConnectionResetError, ConnectionAbortedError,
                              BrokenPipeError)) for c in _causes(exc))


def _reason(exc: BaseException, deadline: float) -> str:
    """What went wrong, in the words of the module (``connection refused``, ``TLS: ...``); raises ``exc``
    again when it is not the network's or the other end's doing (a bug here should not read as a failure)."""
    import http.client
    import socket
    import ssl

    from urllib3 import exceptions as u3

    if not isinstance(exc, (OSError, http.client.HTTPException, ValueError, u3.HTTPError)):
        raise exc
    seen = _causes(exc)
    for cause in seen:  # (urllib3's NewConnectionError is a ConnectTimeoutError, for old times' sake)
        if isinstance(cause, (u3.ReadTimeoutError, socket.timeout)) or (
                isinstance(cause, u3.ConnectTimeoutError) and not isinstance(cause, u3.NewConnectionError)):
            return f"timeout after {deadline:g}s"
    for cause in seen:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return f"cannot resolve host: {cause.strerror or cause}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS: {cause.reason or cause}"
        if isinstance(cause, ssl.CertificateError):
            return f"TLS: {cause}"[:200]
        if isinstance(cause, http.client.RemoteDisconnected):
            return "the server closed the connection without answering"
        if isinstance(cause, http.client.HTTPException):
            return f"bad HTTP answer: {type(cause).__name__}"
    for cause in reversed(seen):  # the innermost: the socket's own words rather than urllib3's
        if isinstance(cause, OSError) and not isinstance(cause, u3.HTTPError) and cause.strerror:
            return cause.strerror[:200]
    text = str(seen[-1]) or type(seen[-1]).__name__
    return text[:200]


# -- the watchdog and the pool ----------------------------------------------------------------

_local = threading.local()  # .guard: the _Guard of the request this thread is making


class _Guard:
    """One request's deadline: when it passes, the socket of the connection in use is shut down, which
    wakes whatever read or write is blocked on it (also in the TLS handshake). It watches a duplicate
    of the socket's descriptor, so the socket it shuts down is the request's own even if the connection
    closes meanwhile; once ``finish``ed it touches nothing, so it can never cut a connection that went
    back to the pool and on to another request."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.expired = False
        self.done = False
        self._sock: Any = None  # a socket.socket on a dup() of the watched descriptor
        self.reused = False  # the request went out on a kept-alive connection
        self.fresh_only = False  # do not reuse a kept-alive connection (the one tried was closed under us)

    def start(self, seconds: float) -> None:
        """Cut in ``seconds`` (at once if none are left)."""
        _WATCHDOG.add(time.monotonic() + max(seconds, 0.0), self)

    def watch(self, sock: Any) -> None:
        import socket

        try:
            dup = socket.fromfd(sock.fileno(), sock.family, sock.type, sock.proto)
        except (OSError, ValueError):  # already closed: nothing to watch
            return
        with self.lock:
            if self.done:
                old = dup
            else:
                old, self._sock = self._sock, dup
                if self.expired:  # connected just past the deadline: no use going on
                    _shut(dup)
        if old is not None:
            old.close()

    def cut(self) -> None:
        with self.lock:
            if self.done:
                return
            self.expired = True
            if self._sock is not None:
                _shut(self._sock)

    def finish(self) -> bool:
        """Stop watching (twice is harmless); whether the deadline had passed."""
        with self.lock:
            self.done = True
            sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()
        return self.expired


class _Watchdog:
    """One thread for every request's deadline (a timer thread each cost a thread start per request:
    at 30,000 probes a cycle, a third of the health cycle). Deadlines wait in a heap; a finished
    request's entry stays until it comes due and is then dropped (``cut`` does nothing once done)."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, _Guard]] = []
        self._wake = threading.Condition(threading.Lock())
        self._count = 0
        self._thread: threading.Thread | None = None

    def add(self, at: float, guard: _Guard) -> None:
        import heapq

        with self._wake:
            self._count += 1
            heapq.heappush(self._due, (at, self._count, guard))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="fuseboard-http-deadlines", daemon=True)
                self._thread.start()
            elif self._due[0][2] is guard:  # the earliest now: wake the thread to wait for it instead
                self._wake.notify()

    def _run(self) -> None:
        import heapq

        while True:
            with self._wake:
                while not self._due or self._due[0][0] > time.monotonic():
                    self._wake.wait(self._due[0][0] - time.monotonic() if self._due else None)
                _, _, guard = heapq.heappop(self._due)
            if not guard.done:
                guard.cut()


_WATCHDOG = _Watchdog()


def _forget_watchdog() -> None:
    """In a forked child: the parent's thread does not exist there."""
    global _WATCHDOG
    _WATCHDOG = _Watchdog()


def _shut(sock: Any) -> None:
    import socket

    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


_pool_lock = threading.Lock()
_pool_manager: Any = None


def _pools() -> Any:
    """The process's ``urllib3.PoolManager``, made on first use."""
    global _pool_manager
    if _pool_manager is None:
        with _pool_lock:
            if _pool_manager is None:
                _pool_manager = _new_pool_manager()
    return _pool_manager


def _new_pool_manager() -> Any:
    import ssl

    import urllib3
    from urllib3.connection import HTTPConnection, HTTPSConnection

    class Watched:
        """A connection that puts its socket under the watchdog of the request using it."""

        _guard: _Guard | None = None  # the request using it, or that used it last
        _opened_for: _Guard | None = None  # the request its socket was opened for
        _last_used = 0.0

        def _adopt(self) -> _Guard | None:
            guard = getattr(_local, "guard", None)
            previous, self._guard = self._guard, guard
            if previous is not None and previous is not guard and previous.finish() and self.sock is not None:
                self.close()  # cut by the request before, after it went back to the pool: start afresh
            return guard

        def _new_conn(self) -> Any:
            guard = self._adopt()
            sock = super()._new_conn()  # type: ignore[misc]
            self._opened_for = guard
            if guard is not None:
                guard.watch(sock)
            return sock

        def request(self, *args: Any, **kwargs: Any) -> Any:
            guard = self._adopt()
            now = time.monotonic()
            if guard is not None and self.sock is not None and self._opened_for is not guard:  # kept alive
                if guard.fresh_only or now - self._last_used > REUSE_IDLE:
                    self.close()  # (and opened again as the request is sent)
                else:
                    guard.reused = True
                    guard.watch(self.sock)
            # (a socket opened for this request is watched since _new_conn, TLS or not: the same descriptor)
            self._last_used = now
            return super().request(*args, **kwargs)  # type: ignore[misc]

    class WatchedHTTP(Watched, HTTPConnection):
        pass

    class WatchedHTTPS(Watched, HTTPSConnection):
        pass

    class HTTPPool(urllib3.HTTPConnectionPool):
        ConnectionCls = WatchedHTTP

    class HTTPSPool(urllib3.HTTPSConnectionPool):
        ConnectionCls = WatchedHTTPS

    manager = urllib3.PoolManager(num_pools=POOL_HOSTS, maxsize=POOL_PER_HOST, block=False, retries=False,
                                  ssl_context=ssl.create_default_context())
    manager.pool_classes_by_scheme = {"http": HTTPPool, "https": HTTPSPool}
    return manager


def _forget_pools() -> None:
    """In a forked child: the parent's connections are not the child's to use."""
    global _pool_manager, _pool_lock
    _pool_manager, _pool_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools)
    os.register_at_fork(after_in_child=_forget_watchdog)


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
