"""CLI tables at 80 columns (issue 14, item 7): short columns whole, the long text last and cut or on its own
line, the whole of it with --wide and --json."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from click.testing import CliRunner

from fuseboard.cli import cli
from fuseboard.cli.table import Column, render
from fuseboard.monitoring import alerts
from fuseboard.monitoring.checks import CheckResult, DeploymentChecks
from fuseboard.store.db import open_workspace
from fuseboard.store.models import utcnow

LONG = ("5 of 8 features drifted (dataset drift); key feature(s) income: income, loan_amount, employment, "
        "purpose, age")


def run(*args: str, columns: int = 80) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, env={"COLUMNS": str(columns)})


def seven_alerts(url: str) -> None:
    """Seven open alerts across the demo, with long summaries, one with a terminal escape in it."""
    ws = open_workspace(url)
    now = utcnow()
    found = [("credit-risk", "prod", "drift", "crit", LONG),
             ("credit-risk", "prod", "prediction_drift", "crit", "score PSI 0.722 (drifted) " * 3),
             ("demand-forecast", "prod", "health", "crit", "down for 3 probes: HTTP 503 \x1b[31mService Unavailable"),
             ("churn-propensity", "dev", "staleness", "warn", "past its retrain-by date 2026-11-27 (5 days ago)"),
             ("churn-propensity", "staging", "staleness", "warn", "past its retrain-by date 2026-11-27"),
             ("churn-propensity", "prod", "performance", "warn", "degraded: roc_auc 0.612 vs 0.801; f1 0.41 vs 0.62"),
             ("disease-progression", "staging", "quality", "warn", "bmi out of range 7.3%; bp 12 nulls")]
    with ws.transaction() as s:
        for i, (model, env, check, status, summary) in enumerate(found):
            alerts.record_results(s, [DeploymentChecks(model, env, 2, "internal", status, [
                CheckResult(check, status, summary)])], now=now - timedelta(minutes=10 * i))


def test_alerts_fit_80_columns_each_on_at_most_two_lines(demo_url: str) -> None:
    seven_alerts(demo_url)
    out = run("--db", demo_url, "alerts")
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    assert lines[0] == "7 alert(s)" and lines[1].split() == ["id", "sev", "deployment", "check", "since", "state"]
    body = lines[2:]
    assert len(body) <= 14  # 7 alerts, at most 2 lines each (it took 50)
    rows = [line for line in body if not line.startswith("     ")]
    assert len(rows) == 7
    for line in rows:  # the short columns whole
        assert "…" not in line
    assert any("credit-risk/prod" in line and "prediction_drift" in line for line in rows)
    assert any("disease-progression/staging" in line for line in rows)
    assert "\\x1b[31mService Unavailable" in out.output and "\x1b" not in out.output  # made visible
    cut = [line for line in body if line.startswith("     5 of 8 features")]
    assert cut and cut[0].endswith("…")
    wide = run("--db", demo_url, "alerts", "--wide")
    assert LONG in wide.output and len(wide.output.splitlines()) == 2 + 7
    data = json.loads(run("--db", demo_url, "alerts", "--json").output)
    assert LONG in [a["summary"] for a in data]
    assert "down for 3 probes: HTTP 503 \x1b[31mService Unavailable" in [a["summary"] for a in data]  # exact


def test_models_fit_80_columns_with_short_words(demo_url: str) -> None:
    out = run("--db", demo_url, "models")
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    assert lines[1].split() == ["health", "model", "task", "tier", "owner", "latest", "dev", "staging", "prod"]
    rows = {line.split()[2]: line for line in lines[2:] if not line.startswith("     ")}
    assert set(rows) == {"churn-propensity", "credit-risk", "demand-forecast", "disease-progression",
                         "tumour-screening"}
    for line in rows.values():
        assert "…" not in line
    assert rows["credit-risk"].split()[3:] == ["class", "mission", "it-ops", "v3", "v3", "v3", "v2"]
    assert rows["demand-forecast"].split()[3:5] == ["regr", "mission"]
    assert "Probability that a consumer loan defaults; gates every loan decision." in out.output
    wide = run("--db", demo_url, "models", "--wide")
    assert "classification" in wide.output and "mission-critical" in wide.output
    assert "One-year disease progression from baseline measurements (scikit-learn diabetes data)." in wide.output
    assert json.loads(run("--db", demo_url, "models", "--json").output)[0]["criticality"] in (
        "internal", "mission-critical")


def test_a_wide_terminal_keeps_the_long_column_on_the_row(demo_url: str) -> None:
    seven_alerts(demo_url)
    lines = run("--db", demo_url, "alerts", columns=160).output.splitlines()
    assert lines[1].split()[-1] == "summary" and len(lines) == 2 + 7
    assert all(len(line) <= 160 for line in lines)


def test_the_table_printer() -> None:
    cols = [Column("id", right=True), Column("name"), Column("text")]
    rows = [["7", "a", "x" * 100], ["12", "bb\x07", "short"]]
    narrow = render(cols, rows, columns_wide=40)
    assert narrow[0] == "id  name" and narrow[1] == " 7  a" and narrow[2] == "     " + "x" * 34 + "…"
    assert narrow[3] == "12  bb\\x07" and narrow[4] == "     short"
    roomy = render(cols, rows, columns_wide=60)
    assert roomy[0] == "id  name    text" and roomy[1] == " 7  a       " + "x" * 47 + "…"
    assert all(len(line) <= 60 for line in roomy)
    assert render(cols, rows, wide=True, columns_wide=40)[1].endswith("x" * 100)


def test_the_audit_trail_fits_80_columns_and_wide_keeps_it_whole(demo_url: str) -> None:
    reason = "INC-42: v2 rejects good loans from self-employed applicants since the 03:00 batch " * 2
    assert run("--db", demo_url, "rollback", "credit-risk", "--env", "prod", "--reason", reason, "--yes",
               "--wait", "0").exit_code == 0
    lines = run("--db", demo_url, "audit", "--limit", "20").output.splitlines()
    assert lines and max(len(line) for line in lines) <= 80
    assert lines[1].split() == ["at", "actor", "action", "target"]  # the long column goes under each row
    assert any(line.split()[2:4] == ["rollback", "credit-risk/prod"] for line in lines[2:] if line[:1] != " ")
    assert any(line.lstrip().startswith("version 2 -> 1 · INC-42: v2 rejects") and line.endswith("…")
               for line in lines)
    wide = run("--db", demo_url, "audit", "--limit", "20", "--wide").output
    assert reason.strip() in wide and "from" in wide.splitlines()[1]
