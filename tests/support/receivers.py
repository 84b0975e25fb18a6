"""Recording receivers: local HTTP servers that keep what fuseboard posts, and answer as told.

``Recorder`` keeps each request (path, headers, JSON body) in ``server.hits``. ``server.answers`` is a
list of planned answers, used up one per request (``(503, {})``, ``(429, {"Retry-After": "2"})``,
``(302, {"Location": ...})``, ``("drip", {})`` for a body dripped past any deadline); once it is empty
every request gets ``server.status`` (202 by default). ``server.dedupe`` makes it drop a message whose
``webhook-id`` (or body ``id``) it already has, as a careful receiver does: ``server.kept`` then holds
each message once.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

from fuseboard.config import ReceiverSpec


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionResetError, BrokenPipeError):  # the client let its kept-alive connection go
            pass

    def do_POST(self) -> None:  # noqa: N802
        server: Any = self.server
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        if getattr(server, "delay", 0):
            time.sleep(server.delay)
        with server.lock:
            server.hits.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                "body": body, "raw": raw})
            answer = server.answers.pop(0) if server.answers else (server.status, {})
        status, headers = answer
        if status == "drip":  # a body that never ends in time
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(40):
                try:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.25)
            return
        if 200 <= status < 300:
            key = self.headers.get("webhook-id") or (body.get("id") if isinstance(body, dict) else None)
            with server.lock:
                if not (server.dedupe and key is not None and key in server.seen):
                    server.kept.append(body)
                if key is not None:
                    server.seen.add(key)
        reply = b"" if status in (204, 304) else \
            json.dumps({"status": "success"} if status < 300 else {"status": "error"}).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if reply:
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: object) -> None:
        pass


def recorder_attrs(**extra: Any) -> dict[str, Any]:
    """The attributes a ``Recorder``'s server needs (``http_server(Recorder, **recorder_attrs())``)."""
    return {"lock": threading.Lock(), "answers": [], "status": 202, "dedupe": False, "kept": [], "seen": set(),
            "delay": 0.0, **extra}


def record_alert(ws: Any, status: str, *, summary: str = "", check: str = "drift", model: str = "credit-risk",
                 env: str = "prod", now: Any = None) -> None:
    """One check result through the alert machinery and the outbox, as a monitor cycle records it."""
    from fuseboard.monitoring import alerts, outbox
    from fuseboard.monitoring.checks import CheckResult, DeploymentChecks
    from fuseboard.store.models import utcnow

    now = now or utcnow()
    with ws.transaction() as s:
        alerts.record_results(s, [DeploymentChecks(model, env, 2, "mission-critical", status, [
            CheckResult(check, status, summary or f"{check} is {status}")])], now=now)
        outbox.sync_alerts(s, now)


def spec(kind: str, url: str = "", *, name: str | None = None, max_tries: int = 24, timeout: float = 5.0,
         **env: str) -> ReceiverSpec:
    """A receiver as the config file would give it (``env``: token_env=..., url_env=...)."""
    defaults = {"pagerduty": {"routing_key_env": "FUSEBOARD_PAGERDUTY_KEY"},
                "slack": {"url_env": "FUSEBOARD_SLACK_WEBHOOK"},
                "webhook": {"secret_env": "FUSEBOARD_WEBHOOK_SECRET", "token_env": "FUSEBOARD_WEBHOOK_TOKEN"}}
    return ReceiverSpec(name or kind, kind, url, {**defaults.get(kind, {}), **env}, max_tries=max_tries,
                        timeout=timeout)


def outbox_events(ws: Any, after: int = 0) -> list[tuple[int, str, dict]]:
    """The outbox after event ``after``: (id, kind, body), in order."""
    from sqlmodel import select

    from fuseboard.store.models import OutboxEvent

    with ws.session() as s:
        return [(e.id, e.kind, e.body) for e in s.exec(select(OutboxEvent).where(OutboxEvent.id > after)
                                                       .order_by(OutboxEvent.id))]
