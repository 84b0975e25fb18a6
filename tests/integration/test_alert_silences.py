"""Silences hold alert notifications back (issue 13): a silenced deployment's alerts are not posted
to the webhook; an alert still open when its silence ends is posted then."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler

from fuseboard.monitoring import alerts, scheduler
from fuseboard.store.db import open_workspace
from fuseboard.store.models import utcnow

from tests.support.alerts import result


def _recorder() -> tuple[list[dict], type[BaseHTTPRequestHandler]]:
    posted: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            posted.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    return posted, Hook


def _wait_for(posted: list[dict], n: int) -> None:
    deadline = time.monotonic() + 30  # a generous wait for the posts that are due, not a speed bound
    while len(posted) < n and time.monotonic() < deadline:
        time.sleep(0.02)


def _key(event: dict) -> tuple[str, str, str, str]:
    return event["event"], event["alert"]["model"], event["alert"]["environment"], event["alert"]["check"]


def test_a_silenced_deployments_alert_is_posted_only_once_the_silence_ends(demo_url: str, http_server) -> None:  # noqa: ANN001
    posted, hook = _recorder()
    server = http_server(hook)
    try:
        webhook = scheduler.webhook_notifier(f"{server.url}/hook")
        handed: list[list[dict]] = []

        def notify(events: list[dict]) -> None:
            handed.append(events)
            webhook(events)

        ws = open_workspace(demo_url)
        t0 = utcnow()
        alerts.silence(ws, "churn-propensity", "prod", timedelta(hours=1), comment="known: retraining", actor="tester",
                       origin="cli", now=t0)
        scheduler.run_cycle(ws, "drift", now=t0 + timedelta(minutes=1), notify=notify)  # staleness: 3 environments
        opened = {(a.environment, a.check, a.silenced) for a in alerts.list_alerts(ws, now=t0 + timedelta(minutes=1))}
        assert ("prod", "staleness", True) in opened  # the alert opened, shown as silenced
        first = sorted(_key(e) for events in handed for e in events)
        assert first == [("fired", "churn-propensity", env, "staleness") for env in sorted({"dev", "staging"})]
        _wait_for(posted, 2)
        scheduler.run_cycle(ws, "drift", now=t0 + timedelta(minutes=30), notify=notify)  # still silenced
        assert len(handed) == 1  # nothing to send: notify not even called
        scheduler.run_cycle(ws, "drift", now=t0 + timedelta(minutes=61), notify=notify)  # the silence is over
        assert [_key(e) for e in handed[-1]] == [("fired", "churn-propensity", "prod", "staleness")]
        assert handed[-1][0]["alert"]["state"] == "firing"
        scheduler.run_cycle(ws, "drift", now=t0 + timedelta(minutes=62), notify=notify)  # sent once, not again
        assert len(handed) == 2
        _wait_for(posted, 3)
    finally:
        server.shutdown()  # before the assertions: no post arrives while they read
    assert sorted(_key(e) for e in posted) == sorted(_key(e) for events in handed for e in events)
    assert [_key(e) for e in posted].count(("fired", "churn-propensity", "prod", "staleness")) == 1


def _outbox(ws, status: str, now, check: str = "drift") -> list[tuple[str, str]]:  # noqa: ANN001
    outbox: list = []
    with ws.transaction() as s:
        alerts.record_results(s, [result(status, check=check)], now=now, outbox=outbox)
        return [(alerts.event(s, a)["event"], a.check) for a in outbox]


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
