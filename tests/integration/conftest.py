"""Fixtures of the integration tests (the shared ones are in ``tests/conftest.py``)."""

from __future__ import annotations

import pytest

from fuseboard.monitoring import alerts
from fuseboard.monitoring.checks import CheckResult, DeploymentChecks
from fuseboard.store.db import open_workspace


@pytest.fixture
def alerting_url(demo_url: str) -> str:
    """The demo with a critical drift alert on credit-risk/prod and a warning on churn/prod
    (the console's incident tests, test_incident_view.py and test_console_defects.py, use their own, with
    one more warning)."""
    ws = open_workspace(demo_url)
    with ws.transaction() as s:
        alerts.record_results(s, [
            DeploymentChecks("credit-risk", "prod", 2, "mission-critical", "crit",
                             [CheckResult("drift", "crit", "3 of 8 features drifted: income, employment, age",
                                          details={"features": [
                                              {"feature": "income", "method": "psi", "score": 0.41, "threshold": 0.1,
                                               "drifted": True, "severity": "crit"},
                                              {"feature": "age", "method": "psi", "score": 0.02, "threshold": 0.1,
                                               "drifted": False, "severity": "ok"}]})]),
            DeploymentChecks("churn-propensity", "prod", 2, "internal", "warn",
                             [CheckResult("staleness", "warn", "past its retrain-by date")]),
        ])
    ws.close()
    return demo_url
