"""What every receiver shares: one event in, one ``Attempt`` out, over ``fuseboard.http``.

A receiver turns an outbox event into the request its tool expects and says how the try went:
delivered, worth trying again later (the network, a 5xx, a 429 with its ``Retry-After``), or refused
for good (any other 4xx: the same body would be refused again, so it goes to the dead letters at once).
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import orjson

from fuseboard import http, redact
from fuseboard.config import ReceiverSpec
from fuseboard.monitoring.outbox import AlertBody, Event
from fuseboard.status import Status

# the answers after which the same request may well succeed later
RETRYABLE = {408, 425, 429, 500, 502, 503, 504}


def cut(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, an ellipsis ending it when it was longer."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


@dataclass(frozen=True)
class Attempt:
    """How one try to deliver an event went."""

    ok: bool
    error: str = ""  # one line, secrets masked ("" when ok)
    retry_after: float | None = None  # seconds the receiver asked us to wait (Retry-After)
    permanent: bool = False  # refused for good: no point trying again
    skipped: bool = False  # the receiver does not take this kind of event: nothing was sent

    @classmethod
    def skip(cls) -> "Attempt":
        return cls(True, skipped=True)


class Receiver(ABC):
    """A configured receiver. Each kind sets ``kind`` and implements ``send``."""

    kind = ""

    def __init__(self, spec: ReceiverSpec, environ: dict[str, str] | None = None) -> None:
        self.spec = spec
        self.name = spec.name
        self.environ = dict(os.environ if environ is None else environ)
        self.secrets: list[str] = []

    def secret(self, key: str) -> str | None:
        """The value of the environment variable named by ``key`` in the spec (token_env ...), registered as a
        secret so that it is masked wherever text is kept or shown."""
        variable = self.spec.env.get(key)
        value = self.environ.get(variable) if variable else None
        if value:
            redact.register(value)
            self.secrets.append(value)
        return value or None

    def problem(self) -> str:
        """What keeps this receiver from sending anything ("" when nothing does): a missing secret."""
        return ""

    def wants_alert(self, alert: AlertBody) -> bool:
        floor = self.spec.min_severity
        return not floor or Status.of(alert["severity"]) >= Status.of(floor)

    @abstractmethod
    def send(self, event: Event) -> Attempt:
        """Deliver one outbox event in this kind's format (or skip it: ``Attempt.skip()``)."""

    def resend(self, firing: list[AlertBody], now: float) -> Attempt:
        """Re-send what is firing (Alertmanager expects it every cycle); others need nothing."""
        return Attempt.skip()

    def post(self, url: str, payload: Any, headers: dict[str, str] | None = None) -> Attempt:
        """POST ``payload`` as JSON to ``url``; a 2xx is delivered."""
        body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        answer = http.request("POST", url, body=body, deadline=self.spec.timeout, max_body=4096,
                              headers={"Content-Type": "application/json", **(headers or {})})
        return self.attempt(answer)

    def attempt(self, answer: http.Response) -> Attempt:
        if answer.ok:
            return Attempt(True)
        text = answer.describe()
        if answer.status is not None and answer.body:
            text += ": " + " ".join(answer.text().split())[:200]
        text = redact.mask(text, self.secrets)
        if answer.status is None or answer.error:  # no answer, or one cut short: worth another try
            return Attempt(False, text)
        retryable = answer.status in RETRYABLE
        return Attempt(False, text, retry_after=answer.retry_after() if retryable else None, permanent=not retryable)
