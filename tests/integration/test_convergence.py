"""Environments: convergence (a change is confirmed when the model's endpoint reports the new version;
one that keeps the old version is converging, then a version-mismatch alert) and known-good versions
(a rollout that served its soak without a critical alert), as a user of the CLI and the operations
sees them.

The demo workspace (tests/conftest.py): credit-risk (mission-critical) runs v1 in prod from 21 days
ago, v2 from 2 days ago, and v3 waits in staging with the business sign-off only; prod is protected.
tumour-screening and churn-propensity (internal) run v2 in prod after v1, and v2 in staging.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from fuseboard.monitoring import alerts, rollouts, scheduler
from fuseboard.ops import deploy as ops
from fuseboard.ops.environments import configure
from fuseboard.store.db import open_workspace
from fuseboard.store.models import utcnow
from fuseboard.ops.views import deployment_health, environment_matrix
from tests.support.deploys import HOUR, events, history, run


def _on_endpoint(url: str, endpoint: Any, model: str = "tumour-screening", version: int = 2) -> None:
    result = ops.deploy(open_workspace(url), model, version, "prod", actor="t", origin="cli",
                        endpoint_url=endpoint.url)
    assert result.state == "succeeded" and result.message().startswith(f"endpoint of {model} in prod: - -> http")


def test_the_rollback_waits_until_the_endpoint_reports_the_new_version(demo_url: str, endpoint: Any) -> None:
    _on_endpoint(demo_url, endpoint)
    endpoint.version = "1"  # the serving system follows at once
    result = run("--db", demo_url, "rollback", "tumour-screening", "--env", "prod", "--yes", "--wait", "5")
    assert result.exit_code == 0, result.output
    assert "confirmed: endpoint reports v1" in result.output
    latest = history(demo_url, "tumour-screening", "prod")[0]
    assert latest.converged_at is not None and latest.converged_at >= latest.finished_at


def test_an_endpoint_that_keeps_the_old_version_is_converging_then_a_mismatch_alert(demo_url: str,
                                                                                    endpoint: Any) -> None:
    ws = open_workspace(demo_url)
    _on_endpoint(demo_url, endpoint)
    assert ops.change(ws, "tumour-screening", "prod", action="rollback", actor="t", origin="cli").state == "succeeded"
    waited = ops.wait_converged(ws, "tumour-screening", "prod", timeout=0.2, interval=0.1)
    assert not waited.ok and waited.reported == "2" and waited.expected == 1
    assert "the endpoint did not report v1 within 0.2 s; it reports v2" in waited.detail

    cycle = scheduler.run_cycle(ws, "health")  # within prod's 120 s convergence time
    assert cycle.alerts_changed == 0 and not alerts.list_alerts(ws)
    health = {c.check: c for c in deployment_health(ws, "tumour-screening", "prod").states}["health"]
    assert health.status == "ok" and health.summary.startswith("converging: endpoint still serves version 2")

    configure(ws, "prod", actor="t", origin="cli", converge_seconds=0)
    assert scheduler.run_cycle(ws, "health").alerts_changed == 1
    (alert,) = alerts.list_alerts(ws)
    assert (alert.model, alert.environment, alert.check, alert.severity) == ("tumour-screening", "prod", "health",
                                                                             "warn")
    assert alert.summary == "version mismatch: endpoint serves version 2, fuseboard records v1"
    assert history(demo_url, "tumour-screening", "prod")[0].converged_at is None

    endpoint.version = "1"
    assert scheduler.run_cycle(ws, "health").alerts_changed == 1  # resolved
    assert not alerts.list_alerts(ws)
    assert history(demo_url, "tumour-screening", "prod")[0].converged_at is not None


def test_the_convergence_time_is_measured_from_the_rollout(demo_url: str, endpoint: Any) -> None:
    ws = open_workspace(demo_url)
    _on_endpoint(demo_url, endpoint, "credit-risk", 2)
    ops.change(ws, "credit-risk", "prod", action="rollback", actor="t", origin="cli", reason="r")
    assert scheduler.run_cycle(ws, "health", now=utcnow() + timedelta(seconds=60)).alerts_changed == 0
    assert scheduler.run_cycle(ws, "health", now=utcnow() + timedelta(seconds=180)).alerts_changed == 1
    (alert,) = alerts.list_alerts(ws)
    assert alert.severity == "crit" and alert.summary.startswith("version mismatch")


# -- 9. known-good ---------------------------------------------------------------------------------------


T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(("ended", "critical", "now", "expected"), [
    (None, [], T0 + 2 * HOUR, T0 + HOUR),  # served its soak: known-good when the soak ended
    (None, [], T0 + HOUR / 2, None),  # still soaking
    (T0 + HOUR / 2, [], T0 + 2 * HOUR, None),  # replaced before its soak ended
    (None, [(T0 + HOUR / 6, T0 + HOUR / 3)], T0 + 2 * HOUR, None),  # a critical alert during the soak
    (None, [(T0 + HOUR / 6, None)], T0 + 2 * HOUR, None),  # one still open
    (None, [(T0 - HOUR, T0 + HOUR / 60)], T0 + 2 * HOUR, None),  # open when the rollout finished
    (None, [(T0 - 2 * HOUR, T0 - HOUR)], T0 + 2 * HOUR, T0 + HOUR),  # resolved before the rollout
    (None, [(T0 + 90 * HOUR / 60, None)], T0 + 2 * HOUR, T0 + HOUR),  # opened after the soak
])
def test_known_good_at(ended: datetime | None, critical: list[Any], now: datetime, expected: datetime | None) -> None:
    assert rollouts.known_good_at(T0, ended, HOUR, critical, now) == expected


def test_a_health_cycle_marks_a_rollout_known_good_after_its_soak(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    ops.change(ws, "tumour-screening", "prod", action="rollback", actor="t", origin="cli")
    scheduler.run_cycle(ws, "health")
    latest = history(demo_url, "tumour-screening", "prod")[0]
    assert latest.known_good_at is None  # still soaking

    scheduler.run_cycle(ws, "health", now=utcnow() + 2 * HOUR)
    latest = history(demo_url, "tumour-screening", "prod")[0]
    assert latest.known_good_at == latest.finished_at + HOUR
    event = events(demo_url, model="tumour-screening", env="prod")[0]
    assert (event.action, event.actor, event.origin) == ("rollout.known_good", "monitor", "monitor")
    assert event.after == {"version": 1, "rollout": latest.id, "soak_seconds": 3600}
    _, rows = environment_matrix(ws)
    assert {r.model: r for r in rows}["tumour-screening"].cells["prod"].known_good


def test_a_critical_alert_during_the_soak_keeps_a_rollout_from_becoming_known_good(demo_url: str,
                                                                                  endpoint: Any) -> None:
    ws = open_workspace(demo_url)
    _on_endpoint(demo_url, endpoint, "credit-risk", 2)
    configure(ws, "prod", actor="t", origin="cli", converge_seconds=0)
    ops.change(ws, "credit-risk", "prod", action="rollback", actor="t", origin="cli", reason="r")
    t = utcnow()
    assert scheduler.run_cycle(ws, "health", now=t + timedelta(minutes=1)).alerts_changed == 1  # crit mismatch
    endpoint.version = "1"
    assert scheduler.run_cycle(ws, "health", now=t + timedelta(minutes=2)).alerts_changed == 1  # resolved
    scheduler.run_cycle(ws, "health", now=t + 3 * HOUR)
    assert history(demo_url, "credit-risk", "prod")[0].known_good_at is None
    assert not [e for e in events(demo_url, model="credit-risk", env="prod", since=t)
                if e.action == "rollout.known_good"]
