"""Alertmanager: fuseboard's alerts as Alertmanager's own (``POST /api/v2/alerts``).

Each open, announced alert is sent again every ``RESEND`` seconds with ``endsAt`` a few re-sends
ahead, as Prometheus does, so that Alertmanager keeps it firing while fuseboard does and lets it go
if fuseboard stops; a resolved (or silenced) alert is sent once with ``endsAt`` at that moment,
which ends it there. Routing, grouping, inhibition, silences of its own and every Alertmanager
receiver then apply. Labels: alertname, model, environment, check, severity (critical/warning),
team; annotations: summary, description, runbook_url, on_call.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from fuseboard.monitoring.outbox import AlertBody, Event
from fuseboard.monitoring.receivers.base import Attempt, Receiver

RESEND = 60  # seconds between re-sends of what is firing
HORIZON = 4 * RESEND  # endsAt of a firing alert: this far ahead (Prometheus: 4x its resend delay)
SEVERITY = {"crit": "critical", "warn": "warning"}


def _stamp(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


class Alertmanager(Receiver):
    kind = "alertmanager"

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        token = self.secret("token_env")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.endpoint = self.spec.url.rstrip("/") + "/api/v2/alerts"

    def alert(self, body: AlertBody, *, ends: datetime) -> dict[str, Any]:
        """One alert in Alertmanager's PostableAlert shape."""
        labels = {"alertname": f"fuseboard_{body['check']}", "model": body["model"],
                  "environment": body["environment"], "check": body["check"],
                  "severity": SEVERITY.get(body["severity"], body["severity"]), "team": body["team"] or "",
                  "source": "fuseboard"}
        description = (f"{body['check']} of {body['model']} in {body['environment']} ({body['criticality']}"
                       + (f", version {body['version']}" if body["version"] is not None else "") + f"): {body['summary']}")
        annotations = {"summary": body["summary"], "description": description, "runbook_url": body["runbook"],
                       "on_call": body["on_call"] or ""}
        if body.get("escalated_to"):
            annotations["escalated_to"] = body["escalated_to"]
        base = self.spec.console_url.rstrip("/") if self.spec.console_url else "fuseboard://alerts"
        return {"labels": {k: v for k, v in labels.items() if v},
                "annotations": {k: v for k, v in annotations.items() if v},
                "startsAt": body["opened_at"].replace("+00:00", "Z"), "endsAt": _stamp(ends),
                "generatorURL": f"{base}/{body['id']}?model={quote(body['model'])}&environment="
                                f"{quote(body['environment'])}&check={quote(body['check'])}"}

    def send(self, event: Event) -> Attempt:
        body = event.get("alert")
        if body is None or not self.wants_alert(body) or event["event"] == "acknowledged":
            return Attempt.skip()
        at = datetime.fromisoformat(event["at"])
        if event["event"] in ("resolved", "silenced"):
            ends = datetime.fromisoformat(body["resolved_at"]) if event["event"] == "resolved" and body["resolved_at"] \
                else at
        else:  # fired, refired, unsilenced, escalated: firing until the next re-sends say otherwise
            ends = max(at, datetime.now(timezone.utc)) + timedelta(seconds=HORIZON)
        return self.post(self.endpoint, [self.alert(body, ends=ends)], self.headers)

    def resend(self, firing: list[AlertBody], now: float) -> Attempt:
        wanted = [a for a in firing if self.wants_alert(a)]
        if not wanted:
            return Attempt.skip()
        ends = datetime.fromtimestamp(now, timezone.utc) + timedelta(seconds=HORIZON)
        return self.post(self.endpoint, [self.alert(a, ends=ends) for a in wanted], self.headers)
