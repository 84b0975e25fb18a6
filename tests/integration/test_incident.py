"""Incidents (issue 14): whether a rollback will help, the incident's facts, runbooks, `fuseboard incident`.

The demo (tests/conftest.py): credit-risk (mission-critical, it-ops) runs v2 in prod since two days ago after
v1 for 19 days (known-good); demand-forecast likewise v1 -> v2. The check history is seeded through
``alerts.record_results`` at chosen times, as the monitor would have written it.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from click.testing import CliRunner

from fuseboard.cli import cli
from fuseboard.monitoring import alerts, scheduler
from fuseboard.monitoring.checks import CheckResult, DeploymentChecks
from fuseboard.ops import deploy as ops
from fuseboard.ops.incident import Verdict, incident, rollback_advice
from fuseboard.store.db import open_workspace
from fuseboard.store.models import utcnow
from tests.support.rows import credit_rows, served
from tests.support.rows import ingest_rows as _ingest

H = timedelta(hours=1)
D = timedelta(days=1)


def run(*args: str, **kw: Any) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, **kw)


def seen(ws: Any, status: str, *, check: str = "drift", version: int = 2, at: datetime, model: str = "credit-risk",
         env: str = "prod", summary: str = "") -> None:
    """The monitor saw ``check`` at ``status`` on ``version`` at ``at``."""
    with ws.transaction() as s:
        alerts.record_results(s, [DeploymentChecks(model, env, version, "mission-critical", status, [
            CheckResult(check, status, summary or f"{check} {status}")])], now=at)


def drifted_traffic(ws: Any) -> None:
    """An hour of prod traffic whose inputs moved (incomes 2.5x, everyone unemployed); the drift check fires."""
    rows = credit_rows(1500, seed=2)
    rows["income"] = rows["income"] * 2.5
    rows["employment"] = "unemployed"
    _ingest(ws, served(ws, rows))
    scheduler.run_cycle(ws, "drift")


def steady_traffic(ws: Any) -> None:
    _ingest(ws, served(ws, credit_rows(1500, seed=1)))


# -- B. will a rollback help? -----------------------------------------------------------------------------

def test_unlikely_when_the_inputs_drift_against_the_target_reference_too(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    now = utcnow()
    seen(ws, "ok", version=1, at=now - 10 * D)  # v1 was fine on its traffic
    drifted_traffic(ws)
    advice = rollback_advice(ws, "credit-risk", "prod")
    assert (advice.verdict, advice.target_version, advice.check) == (Verdict.UNLIKELY, 1, "drift")
    (why,) = [r for r in advice.reasons if r.startswith("the inputs drifted")]
    assert "drift against v1's reference too" in why and "income" in why
    assert advice.line().startswith("rollback to v1: unlikely to help (the inputs drifted")
    # the rollback's plan carries the same line (the console's dialog shows it)
    plan = ops.plan_change(ws, "credit-risk", "prod", action="rollback")
    assert plan.advice.startswith("rollback to v1: unlikely to help") and plan.as_dict()["rollback_advice"]


def test_likely_when_it_started_with_the_serving_version_and_the_target_was_healthy(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    now = utcnow()
    seen(ws, "ok", check="health", version=1, at=now - 10 * D)
    seen(ws, "crit", check="health", version=2, at=now - 2 * H, summary="down for 3 probes: HTTP 503")
    advice = rollback_advice(ws, "credit-risk", "prod")
    assert (advice.verdict, advice.target_version) == (Verdict.LIKELY, 1), advice.reasons
    assert advice.reasons == ("the health alert started 1d 22h after v2 went live",
                              "health was ok on v1 while it served in prod")


def test_the_verdict_is_about_an_alert_a_rollback_could_clear_before_an_older_staleness_one(
        demo_url: str) -> None:
    ws = open_workspace(demo_url)
    now = utcnow()
    seen(ws, "warn", check="staleness", version=2, at=now - 3 * H, summary="past its retrain-by date")
    seen(ws, "ok", check="health", version=1, at=now - 10 * D)
    seen(ws, "warn", check="health", version=2, at=now - 2 * H, summary="slow: p95 900 ms")
    advice = rollback_advice(ws, "credit-risk", "prod")
    assert (advice.verdict, advice.target_version) == (Verdict.LIKELY, 1), advice.reasons
    assert incident(ws, "credit-risk", "prod").alert_check == "health"


def test_likely_for_drift_when_the_inputs_match_the_target_reference(demo_url: str) -> None:
    """A drift alert on v2 (as the monitor recorded it) while the last hour's traffic matches v1's reference,
    and the check on v1 was ok while it served."""
    ws = open_workspace(demo_url)
    now = utcnow()
    seen(ws, "ok", version=1, at=now - 10 * D)
    seen(ws, "crit", version=2, at=now - 30 * 60 * timedelta(seconds=1))
    steady_traffic(ws)
    advice = rollback_advice(ws, "credit-risk", "prod")
    assert advice.verdict == Verdict.LIKELY, advice.reasons
    assert "the last hour's inputs match v1's reference" in advice.reasons


def test_unlikely_for_a_quality_alert_the_rows_coming_in_are_the_same(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    now = utcnow()
    seen(ws, "ok", check="quality", version=1, at=now - 10 * D)
    seen(ws, "crit", check="quality", version=2, at=now - 2 * H, summary="income nulls 40%")
    advice = rollback_advice(ws, "credit-risk", "prod")
    assert (advice.verdict, advice.check) == (Verdict.UNLIKELY, "quality"), advice.reasons
    assert advice.reasons == ("data quality is about the rows coming in (nulls, unseen values, ranges), which a "
                              "rollback does not change",)


def test_a_prediction_drift_alert_is_likely_helped_when_the_inputs_did_not_move(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    now = utcnow()
    seen(ws, "ok", check="prediction_drift", version=1, at=now - 10 * D)
    seen(ws, "crit", check="prediction_drift", version=2, at=now - 2 * H, summary="score PSI 0.7")
    steady_traffic(ws)  # the inputs match v1's reference: the model's scores moved, not the traffic
    advice = rollback_advice(ws, "credit-risk", "prod")
    assert (advice.verdict, advice.check) == (Verdict.LIKELY, "prediction_drift"), advice.reasons
    assert "the last hour's inputs match v1's reference" in advice.reasons


def test_a_prediction_drift_alert_is_unlikely_helped_when_the_inputs_moved_too(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    now = utcnow()
    drifted_traffic(ws)  # the inputs moved: v1 would see them as well
    seen(ws, "ok", check="prediction_drift", version=1, at=now - 10 * D)
    seen(ws, "crit", check="prediction_drift", version=2, at=now - 2 * H, summary="score PSI 0.7")
    advice = rollback_advice(ws, "credit-risk", "prod")
    assert (advice.verdict, advice.check) == (Verdict.UNLIKELY, "prediction_drift"), advice.reasons
    assert any(r.startswith("the inputs drifted") and r.endswith("which v1 would see as well")
               for r in advice.reasons)


def test_unlikely_when_the_endpoint_failed_on_the_target_as_well(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    now = utcnow()
    seen(ws, "ok", check="health", version=1, at=now - 12 * D)
    seen(ws, "crit", check="health", version=1, at=now - 10 * D, summary="down for 3 probes: HTTP 503")
    seen(ws, "ok", check="health", version=1, at=now - 9 * D)
    seen(ws, "crit", check="health", version=2, at=now - H, summary="down for 3 probes: HTTP 503")
    advice = rollback_advice(ws, "credit-risk", "prod")
    assert advice.verdict == Verdict.UNLIKELY
    (why,) = [r for r in advice.reasons if "failed on v1" in r]
    assert why.startswith("the endpoint failed on v1 as well (crit at ") and "HTTP 503" in why


def test_unlikely_when_the_check_was_failing_before_the_serving_version_went_live(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    now = utcnow()
    seen(ws, "warn", check="performance", version=1, at=now - 3 * D)  # before v2 (two days ago)
    seen(ws, "crit", check="performance", version=2, at=now - H)
    advice = rollback_advice(ws, "credit-risk", "prod")  # the alert has been open since then
    assert advice.verdict == Verdict.UNLIKELY
    assert any(r.startswith("the performance alert opened at ") and ", before v2 went live at " in r
               for r in advice.reasons), advice.reasons
    # someone resolved that alert by hand; the check (warn on v1) still said so before v2 went live
    (alert,) = alerts.list_alerts(ws)
    alerts.resolve(ws, alert.id, actor="chloe", origin="cli", note="looked fine", now=now - 2.5 * D)
    seen(ws, "ok", check="performance", version=2, at=now - 2 * H)
    seen(ws, "crit", check="performance", version=2, at=now - H)
    advice = rollback_advice(ws, "credit-risk", "prod")
    assert advice.verdict == Verdict.UNLIKELY
    assert any(r.startswith("performance was already warn on v1 before v2 went live") for r in advice.reasons), \
        advice.reasons


def test_unknown_says_what_is_missing(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    now = utcnow()
    assert rollback_advice(ws, "credit-risk", "prod").reasons == (
        "nothing is alerting on credit-risk in prod, so there is nothing for a rollback to fix",)
    seen(ws, "crit", version=2, at=now - H)  # a drift alert, no windows stored, no history of v1
    advice = rollback_advice(ws, "credit-risk", "prod")
    assert advice.verdict == Verdict.UNKNOWN and advice.target_version == 1
    assert "no windows in the last hour" in advice.reasons
    assert "no drift check history for v1 in prod" in advice.reasons
    # after rolling back there is nothing older to go to: said so
    ops.change(ws, "credit-risk", "prod", action="rollback", actor="t", origin="cli", reason="x")
    seen(ws, "crit", version=1, at=utcnow())
    after = rollback_advice(ws, "credit-risk", "prod")
    assert (after.verdict, after.target_version) == (Verdict.UNKNOWN, None)
    assert after.reasons == ("no known-good version older than v1 to roll back to in prod",)


# -- C. the incident ------------------------------------------------------------------------------------

def test_the_incident_has_the_checks_worst_first_what_changed_who_to_call_and_the_verdict(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    now = utcnow()
    seen(ws, "ok", version=1, at=now - 10 * D)
    run("--db", demo_url, "monitoring", "set", "credit-risk", "--runbook", "https://wiki/credit-risk\nstep 2",
        "--yes", "--reason", "runbook")
    drifted_traffic(ws)
    inc = incident(ws, "credit-risk", "prod")
    assert (inc.model, inc.environment, inc.criticality, inc.serving_version) == (
        "credit-risk", "prod", "mission-critical", 2)
    assert inc.alert_check == "drift" and inc.alert_severity == "crit" and inc.alert_id is not None
    assert inc.checks[0].status == "crit" and inc.checks[0].check in ("drift", "prediction_drift", "quality")
    statuses = [c.status for c in inc.checks]
    assert statuses == sorted(statuses, key=lambda x: -{"none": -1, "ok": 0, "warn": 2, "error": 3, "crit": 4}[x])
    went_live = [h for h in inc.changes if h.text.startswith("v2 went live")]
    assert went_live and went_live[0].relative.endswith("before drift fired") and went_live[0].kind == "deploy"
    assert any(h.kind == "settings" and "runbook" in h.text for h in inc.changes)
    assert inc.owner_team == "it-ops"
    assert {inc.on_call_now.handle, inc.on_call_next.handle} == {"chloe", "dev"}
    assert inc.on_call_now.phone.startswith("+44") and inc.on_call_now.until is not None
    assert inc.runbook == "https://wiki/credit-risk\nstep 2"
    assert inc.rollback.verdict == Verdict.UNLIKELY
    as_json = inc.as_dict()
    assert as_json["rollback"]["verdict"] == "unlikely to help" and as_json["on_call_now"]["handle"]
    datetime.fromisoformat(as_json["started_at"])


def test_fuseboard_incident_at_80_columns_and_json(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    seen(ws, "ok", version=1, at=utcnow() - 10 * D)
    run("--db", demo_url, "monitoring", "set", "credit-risk", "--runbook", "page \x1b[31mit-ops\x1b[0m first",
        "--yes")
    drifted_traffic(ws)
    result = run("--db", demo_url, "incident", "credit-risk", "--env", "prod", env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    text = result.output
    assert lines[0] == "credit-risk in prod · mission-critical · v2"
    assert "✖ crit drift since" in lines[1]
    assert "checks, worst first" in text and "what changed" in text and "went live" in text
    assert "on call now: " in text and "+44 20 7946" in text and "owner: it-ops" in text
    assert "runbook: page \\x1b[31mit-ops\\x1b[0m first" in text and "\x1b" not in text  # made visible
    assert "rollback to v1: unlikely to help" in text and "  - the inputs drifted" in text
    data = json.loads(run("--db", demo_url, "incident", "credit-risk", "--env", "prod", "--json").output)
    assert data["runbook"] == "page \x1b[31mit-ops\x1b[0m first"  # exact in --json
    assert data["rollback"]["target_version"] == 1 and data["checks"][0]["status"] == "crit"
    quiet = run("--db", demo_url, "incident", "tumour-screening", "--env", "prod")
    assert quiet.exit_code == 0 and "no open alert" in quiet.output and "rollback to v1: unknown" in quiet.output
    bad = run("--db", demo_url, "incident", "nope", "--env", "prod")
    assert bad.exit_code == 1 and bad.output.strip() == "error: no model named 'nope' (see `fuseboard models`)"


# -- D. runbooks ------------------------------------------------------------------------------------

def test_the_runbook_is_set_shown_and_carried_by_plans_and_alerts(demo_url: str, credit_files: dict) -> None:
    done = run("--db", demo_url, "monitoring", "set", "demand-forecast", "--runbook", "https://wiki/demand",
               "--reason", "on-call asked", "--yes")
    assert done.exit_code == 0, done.output
    shown = run("--db", demo_url, "monitoring", "show", "demand-forecast")
    assert "  runbook: https://wiki/demand" in shown.output
    assert json.loads(run("--db", demo_url, "monitoring", "show", "demand-forecast", "--json").output)[
        "effective"]["runbook"] == "https://wiki/demand"
    ws = open_workspace(demo_url)
    plan = ops.plan_change(ws, "demand-forecast", "prod", action="rollback")
    assert plan.runbook == "https://wiki/demand" and plan.as_dict()["runbook"] == "https://wiki/demand"
    rolled = run("--db", demo_url, "rollback", "demand-forecast", "--env", "prod", "--reason", "x", "--yes",
                 "--wait", "0")
    assert "  runbook: https://wiki/demand" in rolled.output
    seen(ws, "crit", check="health", model="demand-forecast", version=1, at=utcnow())
    (alert,) = json.loads(run("--db", demo_url, "alerts", "--json").output)
    assert alert["runbook"] == "https://wiki/demand" and alert["owner"] == "it-ops"
    assert alert["on_call"].startswith("it-ops: ") and "+44" in alert["on_call"]
    # too long: one line, nothing changed
    long = run("--db", demo_url, "monitoring", "set", "demand-forecast", "--runbook", "x" * 2001, "--yes")
    assert long.exit_code == 1 and long.output.strip() == (
        "error: the runbook is 2,001 characters; at most 2,000 (link to a longer one) (--runbook)")
    # "" removes it
    run("--db", demo_url, "monitoring", "set", "demand-forecast", "--runbook", "", "--yes")
    assert "runbook: none (fuseboard monitoring set demand-forecast --runbook URL)" in run(
        "--db", demo_url, "monitoring", "show", "demand-forecast").output
    # at register
    reg = run("--db", demo_url, "register", "loans", "--artifact", str(credit_files["artifact"]), "--reference",
              str(credit_files["reference"]), "--target", "default", "--runbook", "https://wiki/loans")
    assert reg.exit_code == 0, reg.output
    assert "  runbook: https://wiki/loans" in run("--db", demo_url, "monitoring", "show", "loans").output
    refused = run("--db", demo_url, "register", "loans2", "--artifact", str(credit_files["artifact"]),
                  "--reference", str(credit_files["reference"]), "--target", "default", "--runbook", "y" * 3000)
    assert refused.exit_code == 1 and "the runbook is 3,000 characters" in refused.output and "(--runbook)" in refused.output
    assert run("--db", demo_url, "models", "show", "loans2").exit_code == 1  # nothing registered
