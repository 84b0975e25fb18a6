"""The generic webhook: each event's JSON body as it is, signed the Standard Webhooks way.

Headers (https://www.standardwebhooks.com/): ``webhook-id`` (the event's id: the same on every
retry), ``webhook-timestamp`` (Unix seconds of this try) and ``webhook-signature``:
``v1,`` + base64 of HMAC-SHA256 over ``{id}.{timestamp}.{body}`` with the secret from the environment
(``secret_env``, FUSEBOARD_WEBHOOK_SECRET by default; a ``whsec_`` secret is base64 after the prefix).
A bearer token (``token_env``, FUSEBOARD_WEBHOOK_TOKEN by default) goes in ``Authorization`` if set.
An audit checkpoint goes as the checkpoint's own body, the line ``audit verify --anchor`` reads.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

import orjson

from fuseboard.monitoring.outbox import Event
from fuseboard.monitoring.receivers.base import Attempt, Receiver


def signing_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret (``whsec_`` + base64), or the text's bytes."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret[len("whsec_"):], validate=True)
        except ValueError:
            pass
    return secret.encode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header's value for one message."""
    mac = hmac.new(signing_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


class Webhook(Receiver):
    kind = "webhook"

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.signing = self.secret("secret_env")
        self.token = self.secret("token_env") or self.spec.token or None
        if self.token:
            from fuseboard import redact

            redact.register(self.token)
            self.secrets.append(self.token)

    def send(self, event: Event) -> Attempt:
        alert = event.get("alert")
        if alert is not None and not self.wants_alert(alert):
            return Attempt.skip()
        payload = event.get("checkpoint", event)
        body = orjson.dumps(payload)
        stamp = int(time.time())
        headers = {"webhook-id": event["id"], "webhook-timestamp": str(stamp)}
        if self.signing:
            headers["webhook-signature"] = sign(self.signing, event["id"], stamp, body)
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return self.post(self.spec.url, body, headers)
