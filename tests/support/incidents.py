"""What the console's incident tests share (tests/integration/test_incident_view.py and
test_console_defects.py): recording check results as alerts, the demo with the alerts of the 3 a.m.
loop, what serves where, and the keys to the monitoring screen at an alert.
"""

from __future__ import annotations

import time
from datetime import datetime

from fuseboard.monitoring import alerts
from fuseboard.monitoring.checks import CheckResult, DeploymentChecks
from fuseboard.ops.views import environment_matrix
from fuseboard.store.db import open_workspace
from fuseboard.tui.app import FuseboardApp
from fuseboard.tui.screens.monitoring import MonitoringScreen
from fuseboard.tui.widgets.table import VirtualTable
from tests.support.console import settle


DRIFT = CheckResult("drift", "crit", "3 of 8 features drifted: income, employment, age",
                    details={"features": [{"feature": "income", "method": "psi", "score": 0.41, "threshold": 0.1,
                                           "drifted": True, "severity": "crit"}]})


def record(url: str, *results: DeploymentChecks, now: datetime | None = None) -> None:
    ws = open_workspace(url)
    with ws.transaction() as s:
        alerts.record_results(s, list(results), now=now)
    ws.close()


def incident_alerts(demo_url: str) -> str:
    """The demo with a critical drift alert on credit-risk/prod and staleness warnings on churn (dev, prod)."""
    record(demo_url,
           DeploymentChecks("credit-risk", "prod", 2, "mission-critical", "crit", [DRIFT]),
           DeploymentChecks("churn-propensity", "prod", 2, "internal", "warn",
                            [CheckResult("staleness", "warn", "past its retrain-by date")]),
           DeploymentChecks("churn-propensity", "dev", 2, "internal", "warn",
                            [CheckResult("staleness", "warn", "past its retrain-by date")]))
    return demo_url


def serving(url: str, model: str, env: str) -> int:
    ws = open_workspace(url)
    try:
        _, rows = environment_matrix(ws)
        return next(r for r in rows if r.model == model).cells[env].version
    finally:
        ws.close()


async def monitoring(app: FuseboardApp, pilot, model: str | None = None,  # noqa: ANN001
                     env: str = "prod") -> MonitoringScreen:
    await settle(app, pilot)
    await pilot.press("3")
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, MonitoringScreen)
    if model is not None:
        table = screen.query_one(VirtualTable)
        key = next(a.id for a in screen.alerts if (a.model, a.environment) == (model, env))
        assert table.move_to_key(key)
        await pilot.pause()
    return screen


async def until(app: FuseboardApp, pilot, test, seconds: float = 30.0) -> bool:  # noqa: ANN001
    """Let the console run until ``test()`` holds (the live demo and the monitor run in threads)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if test():
            return True
        await pilot.pause(0.2)
    return test()
