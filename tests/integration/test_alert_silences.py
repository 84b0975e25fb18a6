"""Silences hold alert notifications back (issue 13): a silenced deployment's alerts are not posted
to the webhook; an alert still open when its silence ends is posted then."""

from __future__ import annotations

from datetime import timedelta

from fuseboard.monitoring import alerts, delivery, outbox, scheduler
from fuseboard.monitoring.receivers import build
from fuseboard.store.db import open_workspace
from fuseboard.store.models import utcnow

from tests.support.alerts import result
from tests.support.receivers import Recorder, recorder_attrs, spec


def _key(event: dict) -> tuple[str, str, str, str]:
    return event["event"], event["alert"]["model"], event["alert"]["environment"], event["alert"]["check"]


def test_a_silenced_deployments_alert_is_posted_only_once_the_silence_ends(demo_url: str, http_server) -> None:  # noqa: ANN001
    with http_server(Recorder, **recorder_attrs(status=204)) as server:
        (hook,) = build([spec("webhook", f"{server.url}/hook")], {})
        ws = open_workspace(demo_url)
        t0 = utcnow()
        alerts.silence(ws, "churn-propensity", "prod", timedelta(hours=1), comment="known: retraining", actor="tester",
                       origin="cli", now=t0)
        scheduler.run_cycle(ws, "drift", now=t0 + timedelta(minutes=1))  # staleness: 3 environments
        opened = {(a.environment, a.check, a.silenced) for a in alerts.list_alerts(ws, now=t0 + timedelta(minutes=1))}
        assert ("prod", "staleness", True) in opened  # the alert opened, shown as silenced
        assert delivery.deliver_to(ws, hook, now=t0 + timedelta(minutes=1)) == 2
        assert sorted(_key(h["body"]) for h in server.hits) == [
            ("fired", "churn-propensity", env, "staleness") for env in ("dev", "staging")]
        scheduler.run_cycle(ws, "drift", now=t0 + timedelta(minutes=30))  # still silenced: nothing to send
        assert delivery.deliver_to(ws, hook, now=t0 + timedelta(minutes=30)) == 0
        scheduler.run_cycle(ws, "drift", now=t0 + timedelta(minutes=61))  # the silence is over
        assert delivery.deliver_to(ws, hook, now=t0 + timedelta(minutes=61)) == 1
        assert _key(server.hits[-1]["body"]) == ("fired", "churn-propensity", "prod", "staleness")
        assert server.hits[-1]["body"]["alert"]["state"] == "firing"
        scheduler.run_cycle(ws, "drift", now=t0 + timedelta(minutes=62))  # sent once, not again
        assert delivery.deliver_to(ws, hook, now=t0 + timedelta(minutes=62)) == 0
    assert [_key(h["body"]) for h in server.hits].count(("fired", "churn-propensity", "prod", "staleness")) == 1


def _outbox(ws, status: str, now, check: str = "drift") -> list[tuple[str, str]]:  # noqa: ANN001
    with ws.transaction() as s:
        alerts.record_results(s, [result(status, check=check)], now=now)
        return [(e.body["event"], e.body["alert"]["check"]) for e in outbox.sync_alerts(s, now)]


def test_silences_hold_back_fired_not_the_all_clear_of_an_alert_already_announced(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    t0 = utcnow()
    minute = timedelta(minutes=1)
    assert _outbox(ws, "crit", t0) == [("fired", "drift")]  # announced before any silence
    alerts.silence(ws, "credit-risk", "prod", timedelta(hours=1), comment="deploying a fix", actor="tester",
                   origin="cli", now=t0 + minute)
    assert _outbox(ws, "crit", t0 + 2 * minute) == []
    assert _outbox(ws, "ok", t0 + 3 * minute) == [("resolved", "drift")]  # its receiver can close the incident
    assert _outbox(ws, "crit", t0 + 4 * minute) == []  # opens again inside the silence: held back
    assert _outbox(ws, "ok", t0 + 5 * minute) == []  # and resolves unannounced: nothing to close
    assert _outbox(ws, "warn", t0 + 6 * minute, check="performance") == []  # every check of the deployment
    assert _outbox(ws, "warn", t0 + 61 * minute, check="performance") == [("fired", "performance")]
    assert _outbox(ws, "warn", t0 + 62 * minute, check="performance") == []
    assert _outbox(ws, "ok", t0 + 63 * minute, check="performance") == [("resolved", "performance")]


def test_a_silence_of_one_check_leaves_the_others_announced(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    t0 = utcnow()
    alerts.silence(ws, "credit-risk", "prod", timedelta(hours=1), comment="noisy", actor="tester", origin="cli",
                   check="drift", now=t0)
    assert _outbox(ws, "crit", t0 + timedelta(minutes=1)) == []
    assert _outbox(ws, "crit", t0 + timedelta(minutes=1), check="performance") == [("fired", "performance")]
