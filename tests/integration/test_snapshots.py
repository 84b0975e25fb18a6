"""Snapshots of the Models screen at 80x24: default theme, NO_COLOR, high contrast, and help on top.

Update after an intended change with: pytest tests/integration/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fuseboard.tui.app import FuseboardApp
from tests.support.console import make_app


async def _loaded(pilot) -> None:  # noqa: ANN001
    for _ in range(2):  # the loads, then the loads they start (the incident view's over-time section)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def _app(url: str, tmp_path: Path, theme: str | None = None) -> FuseboardApp:
    return make_app(url, tmp_path, theme=theme)


def test_models_screen_default_theme(snap_compare, demo_url: str, tmp_path: Path) -> None:
    assert snap_compare(_app(demo_url, tmp_path), terminal_size=(80, 24), run_before=_loaded, press=["j"])


def test_models_screen_no_color(snap_compare, demo_url: str, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(_app(demo_url, tmp_path), terminal_size=(80, 24), run_before=_loaded, press=["j"])


def test_models_screen_high_contrast_filtered(snap_compare, demo_url: str, tmp_path: Path) -> None:
    assert snap_compare(_app(demo_url, tmp_path, theme="fuseboard-high-contrast"), terminal_size=(80, 24),
                        run_before=_loaded, press=["slash", "m", "i", "s", "s", "i", "o", "n", "enter"])


def test_help_over_models_screen(snap_compare, demo_url: str, tmp_path: Path) -> None:
    assert snap_compare(_app(demo_url, tmp_path), terminal_size=(80, 24), run_before=_loaded,
                        press=["j", "question_mark"])


# -- the incident view and the rollback dialog, on fixed data and a fixed clock (issue 14) -----------------

@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """Local time is UTC during the test (and the process's zone is restored after it)."""
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _fixed_incident(monkeypatch: pytest.MonkeyPatch) -> None:
    """The incident view's data made up and frozen: no time passes (use with the ``utc`` fixture)."""
    from datetime import datetime, timedelta, timezone

    from fuseboard.ops.incident import CheckLine, Contact, Happening, Incident, RollbackAdvice, Verdict
    from fuseboard.ops.views import CheckInfo, DeploymentHealth
    from fuseboard.tui.screens import deployment

    t0 = datetime(2026, 12, 2, 3, 0, tzinfo=timezone.utc)
    drift = {"features": [{"feature": "income", "method": "psi", "score": 0.41, "threshold": 0.1, "drifted": True,
                           "severity": "crit"},
                          {"feature": "age", "method": "psi", "score": 0.02, "threshold": 0.1, "drifted": False}]}
    states = [CheckInfo("drift", "crit", "2 of 8 features drifted: income, employment", 480, drift, t0, t0, 2),
              CheckInfo("health", "ok", "up, serves v2", 0, {}, t0, t0 - timedelta(days=2), 2)]
    health = DeploymentHealth("credit-risk", "prod", "mission-critical", 2, "http://127.0.0.1:18650/credit-risk/prod",
                              states, [states[0]])
    incident = Incident(
        "credit-risk", "prod", "mission-critical", 2, 7, t0,
        (CheckLine("drift", "crit", "2 of 8 features drifted: income, employment", t0),
         CheckLine("health", "ok", "up, serves v2", t0 - timedelta(days=2)),
         CheckLine("performance", "ok", "roc_auc 0.779 vs 0.782", t0 - timedelta(days=2))),
        (Happening(t0 - timedelta(hours=3, minutes=10), "deploy",
                   "v2 went live (deploy from v1 by chloe: quarterly retrain)", "3h 10m before drift fired"),
         Happening(t0, "alert", "crit drift alert opened: 2 of 8 features drifted", "as drift fired")),
        "it-ops",
        Contact("chloe", "Chloe Martin", "+44 20 7946 0201", datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)),
        Contact("dev", "Dev Patel", "+44 20 7946 0202", None), "https://wiki.example/runbooks/credit-risk",
        RollbackAdvice(Verdict.UNLIKELY, 1, ("the inputs drifted: the last hour's rows drift against v1's "
                                             "reference too (2 of 8 features drifted)",), "drift"),
        "drift", "crit", "firing")
    monkeypatch.setattr(deployment, "_fetch", lambda ws, model, env, alert_id=None: (
        health, ({}, {}), None, incident, True, None))


def test_incident_view(snap_compare, demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, utc: None) -> None:
    from fuseboard.tui.messages import Progress
    from fuseboard.tui.screens.deployment import DeploymentScreen

    _fixed_incident(monkeypatch)

    async def ready(pilot) -> None:  # noqa: ANN001
        await _loaded(pilot)
        pilot.app.outcomes[("credit-risk", "prod")] = [
            Progress("credit-risk", "prod", "rollback v2 → v1 confirmed by chloe: running the hook…"),
            Progress("credit-risk", "prod", "hook: HTTP 200", "ok"),
            Progress("credit-risk", "prod", "endpoint reports v1 (1.4 s after the confirm)", "ok", final=True)]
        await pilot.app.push_screen(DeploymentScreen("credit-risk", "prod"))
        await _loaded(pilot)

    assert snap_compare(_app(demo_url, tmp_path), terminal_size=(80, 24), run_before=ready)


def test_incident_view_no_color(snap_compare, demo_url: str, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch, utc: None) -> None:
    from fuseboard.tui.screens.deployment import DeploymentScreen

    _fixed_incident(monkeypatch)
    monkeypatch.setenv("NO_COLOR", "1")

    async def ready(pilot) -> None:  # noqa: ANN001
        await _loaded(pilot)
        await pilot.app.push_screen(DeploymentScreen("credit-risk", "prod"))
        await _loaded(pilot)

    assert snap_compare(_app(demo_url, tmp_path), terminal_size=(80, 24), run_before=ready)


def test_rollback_dialog_mission_critical(snap_compare, demo_url: str, tmp_path: Path) -> None:
    from fuseboard.ops.deploy import ChangePlan
    from fuseboard.tui.screens.dialogs import ChangeDialog

    plan = ChangePlan(
        action="rollback", model="credit-risk", environment="prod", protected=True, criticality="mission-critical",
        from_version=2, to_version=1, revision=4, hook="webhook http://127.0.0.1:18650/_hooks/deploy (timeout 10s)",
        open_alerts=["crit drift: 2 of 8 features drifted: income, employment"],
        on_call="it-ops: chloe Chloe Martin +44 20 7946 0201 (until Mon 09:00)",
        runbook="https://wiki.example/runbooks/credit-risk",
        advice="rollback to v1: unlikely to help (the inputs drifted: the last hour's rows drift against v1's "
               "reference too)")

    async def ready(pilot) -> None:  # noqa: ANN001
        await _loaded(pilot)
        await pilot.app.push_screen(ChangeDialog(plan))
        await pilot.press(*"credit")  # the name field has the focus

    assert snap_compare(_app(demo_url, tmp_path), terminal_size=(80, 24), run_before=ready)
