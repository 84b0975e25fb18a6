"""`fuseboard report`'s plain output: 80 columns, and names from outside shown with their control
characters made visible (the JSON keeps them exact)."""

from __future__ import annotations

import json

import pytest

from fuseboard.cli.report import _print
from fuseboard.monitoring.replay import DeploymentHistory, PeriodChecks
from fuseboard.monitoring.result import CheckResult


def _history() -> DeploymentHistory:
    drift = CheckResult("drift", "crit", "1 of 2 features drifted: in\x1b[2Jcome; in the 1d to 2026-03-02 00:00 UTC",
                        600, {"dataset_drift": False, "drift_share": 0.5, "key_features_drifted": [], "features": [
                            {"feature": "in\x1b[2Jcome", "method": "psi", "score": 0.41, "threshold": 0.1,
                             "drifted": True, "severity": "crit"},
                            {"feature": "age", "method": "psi", "score": 0.01, "threshold": 0.1, "drifted": False,
                             "severity": "ok"}]})
    perf = CheckResult("performance", "ok", "roc_auc 0.800 vs 0.782; in the 1d to 2026-03-02 00:00 UTC", 600,
                       {"metrics": {"roc_auc": 0.8}, "checks": [{"metric": "roc_auc", "baseline": 0.782,
                                                                 "current": 0.8, "tolerance": "-0.05 abs",
                                                                 "degraded": False, "rows": 600}]})
    periods = [PeriodChecks("2026-03-01T00:00:00+00:00", "2026-03-02T00:00:00+00:00", "1d", 2, 600, 288, 0, "crit",
                            [drift, CheckResult("prediction_drift", "ok", "score PSI 0.01 (stable)", 600), perf,
                             CheckResult("quality", "ok", "fine", 600)]),
               PeriodChecks("2026-03-02T00:00:00+00:00", "2026-03-03T00:00:00+00:00", "1d", None, 0, 0, 0, "none",
                            [CheckResult(c, "none", "0 rows") for c in ("drift", "prediction_drift", "performance",
                                                                        "quality")])]
    return DeploymentHistory("risk\x07model", "prod", 2, "mission-critical", "2026-03-01T00:00:00+00:00",
                             "2026-03-03T00:00:00+00:00", "1d", periods)


def test_the_plain_report_fits_80_columns_and_shows_control_characters(capsys: pytest.CaptureFixture[str],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    _print(_history(), wide=False)
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "risk\\x07model v2 in prod" in out and "in\\x1b[2Jcome psi 0.41; roc_auc 0.800 (n=600)" in out
    assert "no rows" in out and "1 of 2 periods have no rows" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_the_json_keeps_names_exact() -> None:
    data = json.loads(json.dumps(_history().as_dict()))
    assert data["model"] == "risk\x07model"
    assert data["periods"][0]["checks"][0]["details"]["features"][0]["feature"] == "in\x1b[2Jcome"
