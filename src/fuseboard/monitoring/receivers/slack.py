"""Slack incoming webhook: a ``text`` fallback (notifications, screen readers) and Block Kit blocks.

The webhook's URL is itself a secret, so it comes from the environment (``url_env``,
FUSEBOARD_SLACK_WEBHOOK by default) and is never stored, logged or shown. Text from outside (names,
summaries, reasons) is escaped for Slack's mrkdwn (``&``, ``<``, ``>``), so it can neither mention a
channel nor forge a link.
"""

from __future__ import annotations

from typing import Any

from fuseboard.monitoring.outbox import AlertBody, ChangeBody, Event
from fuseboard.monitoring.receivers.base import Attempt, Receiver, cut

ICON = {"fired": "🔥", "refired": "🔥", "unsilenced": "🔥", "escalated": "📣", "acknowledged": "👀",
        "silenced": "🔕", "resolved": "✅"}


def escape(text: Any) -> str:
    """Slack's three control characters as entities (https://api.slack.com/reference/surfaces/formatting)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Slack(Receiver):
    kind = "slack"

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.url = self.secret("url_env")

    def problem(self) -> str:
        return "" if self.url else f"no webhook URL: set {self.spec.env.get('url_env')}"

    def alert_message(self, event: Event, a: AlertBody) -> dict[str, Any]:
        word = event["event"]
        title = f"{a['model']} in {a['environment']}: {a['check']} {a['severity']} ({word})"
        by = {"acknowledged": f"acknowledged by {a['actor']}", "resolved": f"resolved by {a['actor']}",
              "silenced": f"silenced by {a['actor']}", "escalated": f"escalated to {a.get('escalated_to', '?')}"}
        line = f"{title}: {a['summary']}" + (f" — {by[word]}" if word in by else "")
        fields = [("Model", a["model"]), ("Environment", a["environment"]), ("Check", a["check"]),
                  ("Severity", a["severity"]), ("Tier", a["criticality"]), ("Version", a["version"]),
                  ("Owner", a["team"]), ("On call", a["on_call"])]
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": cut(f"{ICON.get(word, '')} {title}", 150),
                                        "emoji": True}},
            {"type": "section", "text": {"type": "mrkdwn", "text": cut(escape(a["summary"]) or " ", 3000)},
             "fields": [{"type": "mrkdwn", "text": cut(f"*{k}*\n{escape(v)}", 2000)} for k, v in fields
                        if v not in (None, "")][:10]}]
        if word in by or a["note"]:
            context = escape(by.get(word, "")) + (f": {escape(a['note'])}" if a["note"] else "")
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": cut(context, 3000)}]})
        if a["runbook"].startswith(("http://", "https://")) and len(a["runbook"]) <= 3000:
            blocks.append({"type": "actions", "elements": [{"type": "button", "text": {
                "type": "plain_text", "text": "Runbook"}, "url": a["runbook"], "action_id": "runbook"}]})
        return {"text": cut(escape(line), 3000), "blocks": blocks}

    def change_message(self, event: Event, c: ChangeBody) -> dict[str, Any]:
        title = f"{c['action']} {c['model']} {c['from_version'] or '-'} → {c['to_version']} in {c['environment']}: " \
                f"{c['outcome']}"
        fields = [("By", c["actor"]), ("Reason", c["reason"]), ("Owner", c["team"]), ("Hook", c["hook"])]
        return {"text": cut(escape(title), 3000), "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": cut(title, 150)}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": cut(f"*{k}*\n{escape(v)}", 2000)}
                                           for k, v in fields if v]}]}

    def send(self, event: Event) -> Attempt:
        if not self.url:
            return Attempt(False, self.problem())
        alert, change = event.get("alert"), event.get("change")
        if change is not None:
            return self.post(self.url, self.change_message(event, change))
        if alert is None or not self.wants_alert(alert):
            return Attempt.skip()
        return self.post(self.url, self.alert_message(event, alert))
