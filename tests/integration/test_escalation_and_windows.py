"""Escalation of unacknowledged critical alerts, maintenance windows that start later and recur, a
deploy's own silence while it converges, and the receivers' section of the config file."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from fuseboard.config import Config
from fuseboard.errors import FuseboardError
from fuseboard.monitoring import alerts
from fuseboard.monitoring.occurrence import occurrence
from fuseboard.monitoring.silences import listed
from fuseboard.ops.escalation import escalate
from fuseboard.ops.oncall import on_call
from fuseboard.store.db import open_workspace
from fuseboard.store.models import utcnow

from tests.support.deploys import run
from tests.support.receivers import outbox_events, record_alert

M = timedelta(minutes=1)


def _kinds(ws, after: int = 0) -> list[tuple[str, str]]:  # noqa: ANN001
    return [(kind, body.get("alert", {}).get("fingerprint", "")) for _, kind, body in outbox_events(ws, after)]


def _last_id(ws) -> int:  # noqa: ANN001
    events = outbox_events(ws)
    return events[-1][0] if events else 0


def test_a_critical_alert_nobody_acknowledges_escalates_once_to_the_next_person_on_call(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    t0 = utcnow()
    record_alert(ws, "crit", now=t0)  # credit-risk: mission-critical, owned by it-ops (chloe, dev)
    record_alert(ws, "crit", check="quality", model="churn-propensity", now=t0)  # internal: never by default
    mark = _last_id(ws)
    assert escalate(ws, now=t0 + 14 * M) == []
    (done,) = escalate(ws, now=t0 + 16 * M)
    team = {t.team: t for t in on_call(ws, t0 + 16 * M)}["it-ops"]
    assert done.to == team.next.person and done.to != team.now.person and done.after_minutes == 15
    assert _kinds(ws, mark) == [("alert.escalated", "credit-risk/prod/drift")]
    (_, _, body), = outbox_events(ws, mark)
    assert body["alert"]["escalated_to"] == done.to and "not acknowledged within 15 min" in body["alert"]["note"]
    assert escalate(ws, now=t0 + 60 * M) == []  # once a spell
    (view,) = [v for v in alerts.list_alerts(ws) if v.model == "credit-risk"]
    assert view.escalated_to == done.to
    trail = json.loads(run("--db", demo_url, "audit", "--json").output)
    assert any(e["action"] == "alert.escalate" and e["actor"] == "monitor" for e in trail)
    listing = run("--db", demo_url, "alerts").output
    assert f"escalated to {done.to}" in listing


def test_an_acknowledged_alert_does_not_escalate_and_a_model_can_set_its_own_wait(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    t0 = utcnow()
    record_alert(ws, "crit", now=t0)
    (view,) = [v for v in alerts.list_alerts(ws) if v.model == "credit-risk"]
    alerts.acknowledge(ws, view.id, actor="chloe", origin="cli", now=t0 + M)
    assert escalate(ws, now=t0 + 30 * M) == []
    assert run("--db", demo_url, "monitoring", "set", "churn-propensity", "--escalate-after", "5m", "--yes",
               "--reason", "pages").exit_code == 0
    record_alert(ws, "crit", check="quality", model="churn-propensity", now=t0)
    (done,) = escalate(ws, now=t0 + 6 * M)
    assert (done.model, done.after_minutes) == ("churn-propensity", 5)
    shown = run("--db", demo_url, "monitoring", "show", "churn-propensity").output
    assert "escalation: a crit alert unacknowledged for 5 min goes to the next person on call" in shown


def test_a_maintenance_window_starts_later_recurs_and_mutes_only_inside_it(demo_url: str) -> None:
    start = utcnow() + 2 * 60 * M
    assert occurrence(start, start + 60 * M, 7 * 24 * 3600, None, start - M) is None
    assert occurrence(start, start + 60 * M, 7 * 24 * 3600, None, start + 30 * M) == (start, start + 60 * M)
    week = timedelta(days=7)
    assert occurrence(start, start + 60 * M, 7 * 24 * 3600, None, start + week + 59 * M) == (
        start + week, start + week + 60 * M)
    assert occurrence(start, start + 60 * M, 7 * 24 * 3600, None, start + week + 61 * M) is None
    assert occurrence(start, start + 60 * M, 7 * 24 * 3600, start + week, start + week + M) is None  # ended

    out = run("--db", demo_url, "alerts", "silence", "credit-risk", "--env", "prod", "--from",
              start.astimezone().strftime("%Y-%m-%dT%H:%M:%S%z"), "--for", "1h", "--every", "1w", "--comment",
              "weekly database maintenance", "--yes")
    assert out.exit_code == 0, out.output
    assert "every 1w" in out.output and "`fuseboard alerts unsilence" in out.output
    ws = open_workspace(demo_url)
    (window,) = [w for w in listed(ws) if w.model == "credit-risk"]
    assert not window.active and window.every == "7d"
    record_alert(ws, "crit", now=start - 10 * M)  # before the window: announced
    mark = _last_id(ws)
    record_alert(ws, "crit", now=start + M)  # inside it: receivers are told it is silenced
    assert _kinds(ws, mark) == [("alert.silenced", "credit-risk/prod/drift")]
    assert [v.silenced for v in alerts.list_alerts(ws, now=start + M) if v.model == "credit-risk"] == [True]
    record_alert(ws, "crit", now=start + 61 * M)  # after it: unsilenced
    assert _kinds(ws, mark)[-1] == ("alert.unsilenced", "credit-risk/prod/drift")
    record_alert(ws, "crit", now=start + week + M)  # a week later: silenced again
    assert _kinds(ws, mark)[-1] == ("alert.silenced", "credit-risk/prod/drift")
    shown = json.loads(run("--db", demo_url, "alerts", "silences", "--json").output)
    assert [(s["model"], s["every"], s["comment"]) for s in shown] == [("credit-risk", "7d",
                                                                         "weekly database maintenance")]
    ended = run("--db", demo_url, "alerts", "unsilence", str(window.id), "--yes", "--reason", "moved to Sunday")
    assert ended.exit_code == 0 and json.loads(run("--db", demo_url, "alerts", "silences", "--json").output) == []


@pytest.mark.parametrize("args, message", [
    (["--from", "2h"], "is ambiguous: give a time like"),
    (["--every", "30m"], "--every"),
    (["--for", "2h", "--every", "1h"], "--every must be at least as long as --for"),
])
def test_bad_maintenance_windows_are_refused_in_one_line(demo_url: str, args: list[str], message: str) -> None:
    base = ["--db", demo_url, "alerts", "silence", "credit-risk", "--env", "dev", "--comment", "w", "--yes"]
    if "--for" not in args:
        base += ["--for", "1h"]
    out = run(*base, *args)
    assert out.exit_code != 0 and message in out.output and "Traceback" not in out.output


def test_a_deploy_can_silence_its_deployment_while_it_converges(demo_url: str) -> None:
    out = run("--db", demo_url, "deploy", "credit-risk", "2", "--env", "dev", "--silence", "--wait", "0",
              "--reason", "back to v2", "--yes")
    assert out.exit_code == 0, out.output
    ws = open_workspace(demo_url)
    (mine,) = [w for w in listed(ws) if w.source == "deploy"]
    assert (mine.model, mine.environment, mine.check, mine.active) == ("credit-risk", "dev", None, True)
    assert timedelta(seconds=59) <= mine.ends_at - mine.starts_at <= timedelta(hours=1)
    assert [k for k, _ in _kinds(ws)][-1] == "change.deploy"
    trail = json.loads(run("--db", demo_url, "audit", "--json").output)
    assert any(e["action"] == "alert.silence" and e["after"].get("source") == "deploy" for e in trail)


@pytest.mark.parametrize("text, message", [
    ('[[notify.receiver]]\nkind = "opsgenie"\n', "kind must be one of alertmanager, pagerduty, slack, webhook"),
    ('[[notify.receiver]]\nkind = "alertmanager"\n', "a alertmanager receiver needs url"),
    ('[[notify.receiver]]\nkind = "webhook"\nurl = "https://x.example/h?token=abc"\n', "must not carry credentials"),
    ('[[notify.receiver]]\nkind = "slack"\nurl = "https://hooks.slack.com/services/T/B/X"\n', "unknown key 'url'"),
    ('[[notify.receiver]]\nkind = "pagerduty"\nmax_tries = 0\n', "max_tries is a whole number from 1 to 1000"),
    ('[[notify.receiver]]\nkind = "webhook"\nurl = "http://a/"\n[[notify.receiver]]\nkind = "webhook"\n'
     'url = "http://b/"\n', "two receivers are named 'webhook'"),
])
def test_a_bad_receiver_in_the_config_file_is_named_in_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(FuseboardError) as caught:
        Config.load(path)
    assert message in str(caught.value) and str(path) in str(caught.value)


def test_receivers_from_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[notify]\nwebhook = "https://hooks.example/old"\n\n[[notify.receiver]]\nname = "am"\n'
                    'kind = "alertmanager"\nurl = "http://127.0.0.1:9093"\n\n[[notify.receiver]]\nkind = "pagerduty"\n'
                    'min_severity = "crit"\n\n[[notify.receiver]]\nkind = "slack"\nurl_env = "TEAM_SLACK_URL"\n')
    config = Config.load(path)
    assert [(r.name, r.kind) for r in config.receivers] == [("webhook", "webhook"), ("am", "alertmanager"),
                                                            ("pagerduty", "pagerduty"), ("slack", "slack")]
    assert config.receivers[2].env == {"routing_key_env": "FUSEBOARD_PAGERDUTY_KEY"}
    assert config.receivers[2].min_severity == "crit" and config.receivers[3].env == {"url_env": "TEAM_SLACK_URL"}
