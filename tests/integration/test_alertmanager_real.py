"""fuseboard's alerts in a real Alertmanager (Debian's prometheus-alertmanager on a loopback port):
they appear with the right labels, a resolve ends them, a fuseboard silence stops them, its end brings
them back, and the monitor's re-sends keep them firing."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from fuseboard.monitoring import alerts, delivery, scheduler
from fuseboard.monitoring.receivers import build
from fuseboard.monitoring.silences import listed
from fuseboard.store.db import open_workspace
from fuseboard.store.models import utcnow

from tests.support.services import alertmanager, am_alerts
from tests.support.receivers import spec

pytestmark = pytest.mark.slow


def _ours(url: str) -> dict[tuple[str, str, str], dict]:
    return {(a["labels"]["model"], a["labels"]["environment"], a["labels"]["check"]): a for a in am_alerts(url)
            if a["labels"].get("source") == "fuseboard"}


def _until(url: str, test, what: str) -> dict:  # noqa: ANN001
    deadline = time.monotonic() + 30  # Alertmanager takes what it is sent at once; a generous bound
    while True:
        found = _ours(url)
        if test(found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: Alertmanager has {sorted(found)}")
        time.sleep(0.1)


def test_alerts_appear_in_alertmanager_end_on_resolve_and_stop_while_silenced(demo_url: str) -> None:
    with alertmanager() as url:
        (am,) = build([spec("alertmanager", url)], {})
        ws = open_workspace(demo_url)
        scheduler.run_cycle(ws, "drift")
        opened = {(v.model, v.environment, v.check): v for v in alerts.list_alerts(ws)}
        assert delivery.deliver_to(ws, am) >= len(opened) > 0
        found = _until(url, lambda f: set(opened) <= set(f), "every open alert")
        churn = found[("churn-propensity", "prod", "staleness")]
        view = opened[("churn-propensity", "prod", "staleness")]
        assert churn["labels"] == {"alertname": "fuseboard_staleness", "model": "churn-propensity",
                                   "environment": "prod", "check": "staleness",
                                   "severity": {"crit": "critical", "warn": "warning"}[view.severity],
                                   "team": view.owner, "source": "fuseboard"}
        assert churn["annotations"]["summary"] == view.summary
        assert churn["status"]["state"] == "active"
        assert churn["generatorURL"].startswith("fuseboard://alerts/")

        alerts.resolve(ws, view.id, actor="tester", origin="cli", note="retrained")  # a resolve ends it
        assert delivery.deliver_to(ws, am) == 1
        _until(url, lambda f: ("churn-propensity", "prod", "staleness") not in f, "the resolved alert gone")

        now = utcnow()
        cr = [k for k in _ours(url) if k[0] == "churn-propensity"]
        alerts.silence(ws, "churn-propensity", "staging", timedelta(hours=1), comment="retraining", actor="tester",
                       origin="cli", now=now)
        delivery.deliver_to(ws, am)
        _until(url, lambda f: not any(k[:2] == ("churn-propensity", "staging") for k in f), "silenced alerts gone")
        assert any(k[:2] == ("churn-propensity", "dev") for k in cr)  # others untouched
        assert any(k[:2] == ("churn-propensity", "dev") for k in _ours(url))

        (silence,) = [s for s in listed(ws) if s.environment == "staging"]
        alerts.unsilence(ws, silence.id, actor="tester", origin="cli", reason="done")
        delivery.deliver_to(ws, am)
        back = _until(url, lambda f: ("churn-propensity", "staging", "staleness") in f, "unsilenced alert back")
        first_end = back[("churn-propensity", "staging", "staleness")]["endsAt"]

        time.sleep(1.1)  # re-sent a second later, it is kept firing further ahead
        assert am.resend(delivery.firing(ws, utcnow()), time.time()).ok
        again = _until(url, lambda f: f[("churn-propensity", "staging", "staleness")]["endsAt"] > first_end,
                       "endsAt moved on by the re-send")
        assert again[("churn-propensity", "staging", "staleness")]["status"]["state"] == "active"
