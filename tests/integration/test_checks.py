"""The checks over a workspace: drift, prediction drift, performance, quality, staleness and health."""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import pytest
from click.testing import CliRunner

from fuseboard.cli import cli
from fuseboard.monitoring import checks, ingest
from fuseboard.store.db import open_workspace
from fuseboard.store.models import utcnow
from tests.support.rows import checks_of as _by
from tests.support.rows import credit_rows, served
from tests.support.rows import ingest_rows as _ingest


def test_stable_traffic_is_ok_and_drifted_features_are_named(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    _ingest(ws, served(ws, credit_rows(1500, seed=1)))
    result, dep = _by(checks.run_checks(ws, probe_endpoints=False), "credit-risk", "prod")
    assert [c.status for c in result.values()] == ["ok"] * 7 + ["none"], \
        [c.summary for c in result.values()]
    assert dep.status == "ok"

    ws2 = open_workspace(demo_url)
    shifted = credit_rows(1500, seed=2)
    shifted["income"] = shifted["income"] * 2.5
    shifted["employment"] = "unemployed"
    shifted["request_id"] = shifted["request_id"] + "-x"
    _ingest(ws2, served(ws2, shifted))
    result, dep = _by(checks.run_checks(ws2, probe_endpoints=False), "credit-risk", "prod")
    drifted = {f["feature"] for f in result["drift"].details["features"] if f["drifted"]}
    assert {"income", "employment"} <= drifted
    assert result["drift"].status == "crit" and dep.status == "crit"  # mission-critical, PSI far past 0.25
    first = result["drift"].details["features"][0]
    assert set(first) >= {"feature", "method", "score", "threshold", "drifted"} and first["drifted"]


def test_internal_model_breach_is_a_warning(demo_url: str) -> None:
    import pandas as pd

    from fuseboard.config import resource_dir

    frame = pd.read_csv(resource_dir("sample_data") / "churn.csv").head(600).copy()
    frame["prediction"] = frame.pop("churned")
    frame["monthly_charges"] = frame["monthly_charges"] + 60
    ws = open_workspace(demo_url)
    ingest.ingest_table(ws, "churn-propensity", "prod", ingest.as_table(frame))
    result, _ = _by(checks.run_checks(ws, probe_endpoints=False), "churn-propensity", "prod")
    assert result["drift"].status == "warn" and "monthly_charges" in result["drift"].summary
    assert result["staleness"].status == "warn"  # the demo's churn model is past its retrain-by date


def test_performance_degradation_against_the_baseline(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    rows = served(ws, credit_rows(800, seed=3))
    rng = np.random.default_rng(0)
    rows["score"] = rng.random(len(rows))  # scores that know nothing: AUC about 0.5
    rows["prediction"] = (rows["score"] >= 0.5).astype(int)
    _ingest(ws, rows)
    result, _ = _by(checks.run_checks(ws, probe_endpoints=False), "credit-risk", "prod")
    perf = result["performance"]
    assert perf.status == "crit" and perf.summary.startswith("degraded: roc_auc")
    (auc,) = [c for c in perf.details["checks"] if c["metric"] == "roc_auc"]
    assert auc["baseline"] == pytest.approx(0.782, abs=0.01) and auc["current"] < 0.6


def test_each_model_reads_only_its_own_performance_window(demo_url: str) -> None:
    """Another model's wider window in the same batch must not pull older labels into this one's
    verdict: credit-risk's bad labels, three days old, are outside its one-day window."""
    from fuseboard.monitoring import settings

    ws = open_workspace(demo_url)
    rows = served(ws, credit_rows(800, seed=3))
    rows["score"] = np.random.default_rng(0).random(len(rows))  # scores that know nothing: AUC about 0.5
    rows["prediction"] = (rows["score"] >= 0.5).astype(int)
    _ingest(ws, rows)
    three_days_on = utcnow() + timedelta(days=3)
    settings.update(ws, "churn-propensity", {"performance_window_hours": 24 * 7}, actor="t", origin="cli")
    settings.update(ws, "demand-forecast", {"drift_window_minutes": 60 * 24 * 7}, actor="t", origin="cli")
    result, _ = _by(checks.run_checks(ws, probe_endpoints=False, now=three_days_on), "credit-risk", "prod")
    assert result["performance"].status == "none", result["performance"].summary
    assert "in the last 1d" in result["performance"].summary
    settings.update(ws, "credit-risk", {"performance_window_hours": 24 * 7}, actor="t", origin="cli")
    result, _ = _by(checks.run_checks(ws, probe_endpoints=False, now=three_days_on), "credit-risk", "prod")
    assert result["performance"].status == "crit"  # (its own wider window does read them)


def test_too_little_data_gives_no_verdict(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    _ingest(ws, credit_rows(30, seed=4))
    result, _ = _by(checks.run_checks(ws, probe_endpoints=False), "credit-risk", "prod")
    assert result["drift"].status == "none" and "a verdict needs 100" in result["drift"].summary
    assert result["performance"].status == "none"


def test_old_windows_fall_out_of_the_drift_window(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    _ingest(ws, credit_rows(500, seed=5))
    later = utcnow() + timedelta(hours=2)
    result, _ = _by(checks.run_checks(ws, probe_endpoints=False, now=later), "credit-risk", "prod")
    assert result["drift"].status == "none"


def test_staleness() -> None:
    today = date(2026, 11, 29)
    assert checks.evaluate_staleness(date(2026, 11, 1), today).status == "warn"
    assert checks.evaluate_staleness(date(2027, 1, 1), today).status == "ok"
    assert checks.evaluate_staleness(None, today).status == "none"


def test_a_check_that_raises_is_an_error_result_and_the_rest_run() -> None:
    result = checks._guard("drift", lambda: 1 / 0)
    assert result.status == "error" and "ZeroDivisionError" in result.summary


def test_probe_up_wrong_version_down_and_error(endpoint) -> None:  # noqa: ANN001
    url = f"http://127.0.0.1:{endpoint.server_address[1]}"
    up = checks.probe(url)
    assert up.up and up.version == "2" and up.latency_ms is not None
    assert checks.evaluate_health(up, 2, "internal").status == "ok"
    assert checks.evaluate_health(up, 3, "mission-critical").summary == \
        "version mismatch: endpoint serves version 2, fuseboard records v3"
    from datetime import timedelta

    from fuseboard.store.models import utcnow

    now = utcnow()  # within a rollout's convergence time, another version is the endpoint catching up
    converging = checks.evaluate_health(up, 3, "mission-critical", now=now, converging_until=now + timedelta(seconds=60))
    assert converging.status == "ok" and converging.summary.startswith("converging: endpoint still serves version 2")
    late = checks.evaluate_health(up, 3, "mission-critical", now=now, converging_until=now - timedelta(seconds=1))
    assert late.status == "crit" and late.summary.startswith("version mismatch")
    endpoint.fail = True
    try:
        failed = checks.probe(url)
    finally:
        endpoint.fail = False
    assert not failed.up and failed.status_code == 500
    refused = checks.probe("http://127.0.0.1:9", timeout=1)
    assert not refused.up


def test_an_outage_alert_waits_for_consecutive_failures() -> None:
    down = checks.ProbeResult(False, None, None, None, "connection refused")
    up = checks.ProbeResult(True, 200, 12.0, "2")
    previous = None
    statuses = []
    for probe in (up, down, down, down, up):
        result = checks.evaluate_health(probe, 2, "mission-critical", previous)
        statuses.append(result.status)
        previous = result.details
    assert statuses == ["ok", "ok", "ok", "crit", "ok"]
    assert previous["uptime"] == pytest.approx(0.4) and previous["consecutive_failures"] == 0
    assert previous["p50_ms"] == 12.0 and len(previous["samples"]) == 5


def test_cli_check_json_and_exit_code(demo_url: str, endpoint) -> None:  # noqa: ANN001
    from fuseboard.ops.deploy import deploy

    ws = open_workspace(demo_url)
    deploy(ws, "credit-risk", 2, "prod", actor="t", origin="cli", check_gates=False,
           endpoint_url=f"http://127.0.0.1:{endpoint.server_address[1]}")
    ok = CliRunner().invoke(cli, ["--db", demo_url, "check", "--json"])
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.output)
    prod = [d for d in data if d["model"] == "credit-risk" and d["environment"] == "prod"][0]
    health = [c for c in prod["checks"] if c["check"] == "health"][0]
    assert health["status"] == "ok" and health["details"]["version"] == "2"
    endpoint.version = "1"
    bad = CliRunner().invoke(cli, ["--db", demo_url, "check"])
    assert bad.exit_code == 3
    assert "✖ health: version mismatch: endpoint serves version 1, fuseboard records v2" in bad.output


def test_monitor_cycles_open_an_outage_alert_after_three_failures(demo_url: str) -> None:
    from fuseboard.monitoring import alerts, scheduler
    from fuseboard.ops.deploy import deploy

    ws = open_workspace(demo_url)
    deploy(ws, "credit-risk", 2, "prod", actor="t", origin="cli", check_gates=False, endpoint_url="http://127.0.0.1:9")
    opened = [scheduler.run_cycle(ws, "health").alerts_changed for _ in range(3)]
    assert opened == [0, 0, 1]
    (alert,) = alerts.list_alerts(ws)
    assert alert.check == "health" and alert.severity == "crit" and "down for 3 probes" in alert.summary


def test_checks_read_in_small_batches_give_the_same_results(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Batching deployments (memory stays flat at any scale) changes no result."""
    ws = open_workspace(demo_url)
    _ingest(ws, served(ws, credit_rows(1500, seed=1)))
    shifted = credit_rows(1500, seed=2)
    shifted["income"] = shifted["income"] * 2.5
    shifted["request_id"] = shifted["request_id"] + "-x"
    _ingest(ws, served(ws, shifted), env="dev")
    now = utcnow()
    whole = checks.run_checks(ws, now=now, probe_endpoints=False)
    monkeypatch.setattr(checks, "CHECK_BATCH", 2)
    batched = checks.run_checks(ws, now=now, probe_endpoints=False)
    assert [(r.model, r.environment, r.status, [(c.check, c.status, c.summary) for c in r.checks]) for r in batched] \
        == [(r.model, r.environment, r.status, [(c.check, c.status, c.summary) for c in r.checks]) for r in whole]
    assert {r.status for r in whole} >= {"ok", "crit"}  # both kinds of deployment are in it
