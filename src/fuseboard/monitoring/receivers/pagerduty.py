"""PagerDuty Events API v2: trigger, acknowledge and resolve incidents, and change events.

Every spell of an alert shares one ``dedup_key`` (model/environment/check), so PagerDuty keeps one
incident per fuseboard alert: fired, refired, unsilenced and escalated trigger it (again),
acknowledging in fuseboard acknowledges it, resolving resolves it. A silence sends nothing (PagerDuty
has none; the incident stays as it was). Deploys, promotions and rollbacks go to the Change Events API.
The routing key comes from the environment (``routing_key_env``, FUSEBOARD_PAGERDUTY_KEY by default).
"""

from __future__ import annotations

from typing import Any

from fuseboard.monitoring.outbox import AlertBody, ChangeBody, Event
from fuseboard.monitoring.receivers.base import Attempt, Receiver, cut

URL = "https://events.pagerduty.com"
SEVERITY = {"crit": "critical", "warn": "warning"}
ACTION = {"fired": "trigger", "refired": "trigger", "unsilenced": "trigger", "escalated": "trigger",
          "acknowledged": "acknowledge", "resolved": "resolve"}


class PagerDuty(Receiver):
    kind = "pagerduty"

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.routing_key = self.secret("routing_key_env")
        self.base = (self.spec.url or URL).rstrip("/")

    def problem(self) -> str:
        return "" if self.routing_key else f"no routing key: set {self.spec.env.get('routing_key_env')}"

    def links(self, runbook: str) -> list[dict[str, str]]:
        return [{"href": runbook, "text": "Runbook"}] if runbook.startswith(("http://", "https://")) else []

    def trigger(self, event: Event, a: AlertBody) -> dict[str, Any]:
        details = {"version": a["version"], "tier": a["criticality"], "owner": a["team"], "on_call": a["on_call"],
                   "value": a["value"], "threshold": a["threshold"], "summary": a["summary"], "flaps": a["flaps"],
                   "fuseboard_alert": a["id"], "fuseboard_event": event["event"]}
        if a.get("escalated_to"):
            details["escalated_to"] = a["escalated_to"]
        body: dict[str, Any] = {
            "routing_key": self.routing_key, "event_action": "trigger", "dedup_key": a["fingerprint"],
            "payload": {"summary": cut(f"{a['model']} in {a['environment']}: {a['check']} {a['severity']} — "
                                        f"{a['summary']}", 1024),
                        "source": f"{a['environment']}/{a['model']}", "severity": SEVERITY.get(a["severity"], "error"),
                        "timestamp": event["at"], "component": a["model"], "group": a["environment"],
                        "class": a["check"], "custom_details": details},
            "client": "fuseboard", "links": self.links(a["runbook"])}
        if self.spec.console_url:
            body["client_url"] = self.spec.console_url
        return body

    def change(self, event: Event, c: ChangeBody) -> dict[str, Any]:
        verb = {"deploy": "deployed", "promote": "promoted", "rollback": "rolled back"}[c["action"]]
        what = f"{c['model']} {verb} to version {c['to_version']} in {c['environment']}"
        if c["outcome"] != "succeeded":
            what = f"{c['action']} of {c['model']} to version {c['to_version']} in {c['environment']} failed"
        return {"routing_key": self.routing_key,
                "payload": {"summary": cut(f"{what} by {c['actor']}", 1024), "timestamp": event["at"],
                            "source": f"{c['environment']}/{c['model']}",
                            "custom_details": {"from_version": c["from_version"], "to_version": c["to_version"],
                                              "outcome": c["outcome"], "reason": c["reason"], "actor": c["actor"],
                                              "hook": c["hook"], "owner": c["team"], "tier": c["criticality"],
                                              "rollout": c["rollout"]}},
                "links": []}

    def send(self, event: Event) -> Attempt:
        if not self.routing_key:
            return Attempt(False, self.problem())
        alert, change = event.get("alert"), event.get("change")
        if change is not None:
            return self.post(f"{self.base}/v2/change/enqueue", self.change(event, change))
        if alert is None or event["event"] not in ACTION or not self.wants_alert(alert):
            return Attempt.skip()
        action = ACTION[event["event"]]
        if action == "trigger":
            return self.post(f"{self.base}/v2/enqueue", self.trigger(event, alert))
        return self.post(f"{self.base}/v2/enqueue", {"routing_key": self.routing_key, "event_action": action,
                                                      "dedup_key": alert["fingerprint"]})
