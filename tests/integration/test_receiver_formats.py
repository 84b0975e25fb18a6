"""What PagerDuty, Slack and a generic webhook receive, checked field by field against the published
formats (PagerDuty Events API v2 and Change Events, Slack Block Kit for incoming webhooks, Standard
Webhooks signatures), on local recording servers."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any

from fuseboard.monitoring import alerts, delivery
from fuseboard.monitoring.receivers import build
from fuseboard.store.db import open_workspace
from fuseboard.store.models import utcnow

from tests.support.deploys import run
from tests.support.receivers import Recorder, record_alert, recorder_attrs, spec

KEY = "R0UT1NGKEY0123456789abcdefabcdef"  # 32 characters, as PagerDuty's integration keys


def _iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_pagerduty_gets_trigger_acknowledge_and_resolve_with_one_dedup_key_and_deploys_as_change_events(
        demo_url: str, http_server: Any) -> None:
    run("--db", demo_url, "monitoring", "set", "credit-risk", "--runbook", "https://wiki.example/credit-risk", "--yes")
    server = http_server(Recorder, **recorder_attrs())
    (pd,) = build([spec("pagerduty", server.url)], {"FUSEBOARD_PAGERDUTY_KEY": KEY})
    ws = open_workspace(demo_url)
    record_alert(ws, "crit", summary="income drifted (PSI 0.41)")
    (view,) = [v for v in alerts.list_alerts(ws) if v.check == "drift" and v.model == "credit-risk"]
    alerts.acknowledge(ws, view.id, actor="chloe", origin="cli")
    alerts.resolve(ws, view.id, actor="chloe", origin="cli", note="rolled back")
    from fuseboard.ops import deploy as ops

    ops.change(ws, "credit-risk", "staging", action="rollback", version=2, actor="chloe", origin="cli",
               reason="drift", check_gates=False)
    delivery.deliver_to(ws, pd)
    events = [h for h in server.hits if h["path"] == "/v2/enqueue"]
    trigger, ack, resolve = [h["body"] for h in events][-3:]
    assert [b["event_action"] for b in (trigger, ack, resolve)] == ["trigger", "acknowledge", "resolve"]
    assert {b["dedup_key"] for b in (trigger, ack, resolve)} == {"credit-risk/prod/drift"}
    assert all(b["routing_key"] == KEY for b in (trigger, ack, resolve))
    assert set(ack) == set(resolve) == {"routing_key", "event_action", "dedup_key"}
    payload = trigger["payload"]
    assert set(payload) == {"summary", "source", "severity", "timestamp", "component", "group", "class",
                            "custom_details"}
    assert payload["severity"] == "critical" and len(payload["summary"]) <= 1024
    assert "income drifted (PSI 0.41)" in payload["summary"] and payload["source"] == "prod/credit-risk"
    assert (payload["component"], payload["group"], payload["class"]) == ("credit-risk", "prod", "drift")
    _iso(payload["timestamp"])
    details = payload["custom_details"]
    assert details["version"] == 2 and details["tier"] == "mission-critical" and details["owner"]
    assert {"on_call", "value", "threshold"} <= set(details)
    assert trigger["links"] == [{"href": "https://wiki.example/credit-risk", "text": "Runbook"}]
    assert trigger["client"] == "fuseboard"
    (change,) = [h["body"] for h in server.hits if h["path"] == "/v2/change/enqueue"]
    assert set(change) == {"routing_key", "payload", "links"} and change["routing_key"] == KEY
    assert change["payload"]["summary"].startswith("credit-risk rolled back to version 2 in staging by ")
    assert change["payload"]["source"] == "staging/credit-risk"
    assert change["payload"]["custom_details"]["outcome"] == "succeeded"
    _iso(change["payload"]["timestamp"])
    assert all(KEY not in str(h["headers"]) for h in server.hits)  # the key in the body only


def test_pagerduty_without_its_routing_key_keeps_the_events_waiting(demo_url: str, http_server: Any) -> None:
    server = http_server(Recorder, **recorder_attrs())
    (pd,) = build([spec("pagerduty", server.url)], {})
    ws = open_workspace(demo_url)
    record_alert(ws, "crit")
    assert delivery.deliver_to(ws, pd) == 0 and server.hits == []
    (state,) = delivery.states(ws, [pd])
    assert state.problem == "no routing key: set FUSEBOARD_PAGERDUTY_KEY" and state.pending >= 1 and state.tries == 0


def test_slack_gets_a_text_fallback_and_blocks_with_the_runbook_as_a_button_and_outside_text_escaped(
        demo_url: str, http_server: Any) -> None:
    run("--db", demo_url, "monitoring", "set", "credit-risk", "--runbook", "https://wiki.example/cr", "--yes")
    server = http_server(Recorder, **recorder_attrs(status=200))
    (slack,) = build([spec("slack")], {"FUSEBOARD_SLACK_WEBHOOK": f"{server.url}/services/T0/B0/secretpart"})
    ws = open_workspace(demo_url)
    record_alert(ws, "crit", summary="<!channel> income drifted & <https://evil.example|click>")
    assert delivery.deliver_to(ws, slack) == 1
    (hit,) = server.hits
    assert hit["path"] == "/services/T0/B0/secretpart"
    body = hit["body"]
    assert "<!channel>" not in body["text"] and "&lt;!channel&gt; income drifted &amp; &lt;https" in body["text"]
    header, section, actions = body["blocks"]
    assert header["type"] == "header" and header["text"]["type"] == "plain_text"
    assert len(header["text"]["text"]) <= 150 and "credit-risk in prod: drift crit" in header["text"]["text"]
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    assert "<!channel>" not in section["text"]["text"]
    assert 1 <= len(section["fields"]) <= 10
    assert all(f["type"] == "mrkdwn" and len(f["text"]) <= 2000 for f in section["fields"])
    assert "*Model*\ncredit-risk" in [f["text"] for f in section["fields"]]
    (button,) = actions["elements"]
    assert actions["type"] == "actions" and button["type"] == "button"
    assert button["url"] == "https://wiki.example/cr" and button["text"] == {"type": "plain_text", "text": "Runbook"}


def test_the_generic_webhook_is_signed_the_standard_webhooks_way_with_one_id_across_retries(
        demo_url: str, http_server: Any) -> None:
    secret = "whsec_" + base64.b64encode(b"a signing secret of 32 bytes!!!!").decode()
    server = http_server(Recorder, **recorder_attrs(answers=[(503, {})], status=200))
    (hook,) = build([spec("webhook", f"{server.url}/in")], {"FUSEBOARD_WEBHOOK_SECRET": secret})
    ws = open_workspace(demo_url)
    record_alert(ws, "crit")
    assert delivery.deliver_to(ws, hook) == 0  # 503: tried again later
    assert delivery.deliver_to(ws, hook, now=utcnow() + timedelta(minutes=1)) == 1
    first, second = server.hits
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"] == second["body"]["id"]
    assert first["raw"] == second["raw"]
    for hit in server.hits:
        h = hit["headers"]
        signed = f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode() + hit["raw"]
        key = base64.b64decode(secret.removeprefix("whsec_"))
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        assert h["webhook-signature"] == f"v1,{expected}"
        assert abs(int(h["webhook-timestamp"]) - datetime.now().timestamp()) < 300
    body = second["body"]
    assert body["event"] == "fired" and body["alert"]["fingerprint"] == "credit-risk/prod/drift"
    assert secret not in str(server.hits)
