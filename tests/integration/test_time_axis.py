"""Time as an axis: `check --at` (the verdicts at a past time, read-only), `report` (a deployment's
checks period by period), summaries that name the window they read, and ingest saying which rows
the checks will not read. Several days of credit-risk traffic are backfilled with their timestamps."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from click.testing import CliRunner
from sqlmodel import func, select

from fuseboard.cli import cli
from fuseboard.monitoring import alerts, checks, ingest, settings
from fuseboard.store.db import open_workspace
from fuseboard.store.models import Alert, AuditEvent, CheckRun, CheckState, utcnow
from tests.support.rows import checks_of, credit_rows, served

DAY = timedelta(days=1)
WINDOW_CHECKS = ["drift", "multivariate_drift", "prediction_drift", "estimated_performance", "performance", "quality"]


def _first_day() -> datetime:
    """Midnight UTC five days ago: the backfilled days are all in the past, whatever today is."""
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    return today - 5 * DAY


def _backfill(ws, first: datetime, days: int, shifted: frozenset[int] = frozenset(), rows: int = 600) -> None:  # noqa: ANN001
    """``days`` days of served credit-risk rows with labels, spread over each day; the days in
    ``shifted`` have incomes 2.5 times higher."""
    for d in range(days):
        frame = credit_rows(rows, seed=100 + d)
        if d in shifted:
            frame["income"] = frame["income"] * 2.5
        frame = served(ws, frame)
        start = (first + d * DAY).timestamp()
        frame["timestamp"] = start + np.linspace(0, DAY.total_seconds() - 1, rows)
        ingest.ingest_table(ws, "credit-risk", "prod", ingest.as_table(frame))


def _invoke(*args: str):  # noqa: ANN202
    return CliRunner().invoke(cli, list(args))


def _json(url: str, *args: str):  # noqa: ANN202
    result = _invoke("--db", url, *args, "--json")
    assert result.exit_code in (0, 3), result.output
    return json.loads(result.stdout)


def _counts(url: str) -> dict[str, int]:
    ws = open_workspace(url)
    with ws.session() as s:
        counted = {t.__name__: s.exec(select(func.count()).select_from(t)).one()
                   for t in (Alert, CheckRun, CheckState, AuditEvent)}
        counted["states"] = sorted((c.model_id, c.environment_id, c.check, c.status, c.summary, c.at.isoformat())
                                   for c in s.exec(select(CheckState)))
    ws.close()
    return counted


@pytest.fixture
def backfilled(demo_url: str) -> tuple[str, datetime]:
    """Four days of history, the third one shifted; credit-risk's drift window widened to a day, so
    that a day's report row and `check --at` that day's end read the same windows."""
    ws = open_workspace(demo_url)
    first = _first_day()
    _backfill(ws, first, 4, shifted=frozenset({2}))
    settings.update(ws, "credit-risk", {"drift_window_minutes": 24 * 60}, actor="t", origin="cli")
    ws.close()
    return demo_url, first


def test_report_rows_are_the_checks_at_each_period_end(backfilled: tuple[str, datetime]) -> None:
    url, first = backfilled
    report = _json(url, "report", "credit-risk", "--env", "prod", "--from", first.isoformat(),
                   "--to", (first + 4 * DAY).isoformat(), "--every", "1d")
    assert [p["start"] for p in report["periods"]] == [(first + d * DAY).isoformat() for d in range(4)]
    for period in report["periods"]:
        at = _json(url, "check", "--at", period["end"])
        (deployment,) = [d for d in at if d["model"] == "credit-risk" and d["environment"] == "prod"]
        replayed = [c for c in deployment["checks"] if c["check"] in WINDOW_CHECKS]
        assert [(c["check"], c["status"], c["summary"], c["rows"]) for c in period["checks"]] == \
            [(c["check"], c["status"], c["summary"], c["rows"]) for c in replayed]
        for got, expected in zip(period["checks"], replayed):
            if got["check"] != "drift":
                assert got["details"] == expected["details"]
                continue
            assert [(f["feature"], f["method"], f["drifted"]) for f in got["details"]["features"]] == \
                [(f["feature"], f["method"], f["drifted"]) for f in expected["details"]["features"]]
            assert [f["score"] for f in got["details"]["features"]] == \
                pytest.approx([f["score"] for f in expected["details"]["features"]], rel=1e-9)
        assert period["rows"] == 600 and period["version"] == 2 and deployment["version"] == 2
        assert f"in the 1d to {datetime.fromisoformat(period['end']):%Y-%m-%d %H:%M} UTC" in period["checks"][0][
            "summary"]


def test_a_shifted_day_shows_drift_only_there(backfilled: tuple[str, datetime]) -> None:
    url, first = backfilled
    report = _json(url, "report", "credit-risk", "--env", "prod", "--from", first.isoformat(),
                   "--to", (first + 4 * DAY).isoformat(), "--every", "1d")
    drift = [next(c for c in p["checks"] if c["check"] == "drift") for p in report["periods"]]
    assert [d["status"] for d in drift] == ["ok", "ok", "crit", "ok"]  # mission-critical: income far past its critical level
    assert "income" in [f["feature"] for f in drift[2]["details"]["features"] if f["drifted"]]
    plain = _invoke("--db", url, "report", "credit-risk", "--env", "prod", "--from", first.isoformat(),
                    "--to", (first + 4 * DAY).isoformat())
    assert plain.exit_code == 0, plain.output
    lines = plain.stdout.splitlines()
    (at,) = [i for i, line in enumerate(lines) if line.startswith(f"{first + 2 * DAY:%m-%d} ")]
    assert "✖ crit" in lines[at] and "income ks" in " ".join(lines[at:at + 2])  # auto: KS on a day's 600 rows
    assert all("income psi" not in line for i, line in enumerate(lines) if i not in (at, at + 1))
    assert "1 of 4 periods breached, the first" in plain.stdout


def test_report_by_the_hour_says_which_periods_have_no_rows(backfilled: tuple[str, datetime]) -> None:
    url, first = backfilled
    start = first - 2 * timedelta(hours=1)  # two hours before the first row
    report = _json(url, "report", "credit-risk", "--env", "prod", "--from", start.isoformat(),
                   "--to", (first + timedelta(hours=2)).isoformat(), "--every", "1h")
    assert [p["rows"] for p in report["periods"]] == [0, 0, 25, 25]
    empty = report["periods"][0]
    assert empty["version"] is None and {c["status"] for c in empty["checks"]} == {"none"}
    plain = _invoke("--db", url, "report", "credit-risk", "--env", "prod", "--from", start.isoformat(),
                    "--to", (first + timedelta(hours=2)).isoformat(), "--every", "1h")
    assert len([line for line in plain.stdout.splitlines() if line.endswith("no rows") and "periods" not in line]) == 2
    assert "2 of 4 periods have no rows" in plain.stdout
    assert max(len(line) for line in plain.stdout.splitlines()) <= 80


def test_check_at_writes_nothing_and_exits_3_on_a_critical_verdict(backfilled: tuple[str, datetime]) -> None:
    url, first = backfilled
    before = _counts(url)
    shifted_end = first + 3 * DAY
    result = _invoke("--db", url, "check", "--at", shifted_end.isoformat())
    assert result.exit_code == 3, result.output
    assert f"as at {shifted_end:%Y-%m-%d %H:%M} UTC" in result.stdout
    assert "✖ drift: " in result.stdout and f"in the 1d to {shifted_end:%Y-%m-%d %H:%M} UTC" in result.stdout
    calm = _invoke("--db", url, "check", "--at", (first + 2 * DAY).isoformat(), "--json")
    assert calm.exit_code == 0, calm.output
    assert _counts(url) == before  # no alert, no check run or state, no audit event


def test_check_at_shows_the_health_recorded_then(backfilled: tuple[str, datetime]) -> None:
    url, first = backfilled
    recorded_at = first + DAY
    ws = open_workspace(url)
    with ws.transaction() as s:
        alerts.record_results(s, [checks.DeploymentChecks("credit-risk", "prod", 2, "mission-critical", "crit", [
            checks.CheckResult("health", "crit", "down for 3 probes: connection refused")])], now=recorded_at)
    ws.close()
    before = _json(url, "check", "--at", (recorded_at - timedelta(minutes=1)).isoformat())
    after = _json(url, "check", "--at", (recorded_at + timedelta(hours=2)).isoformat())

    def health(found: list) -> dict:  # noqa: ANN001
        (d,) = [d for d in found if d["model"] == "credit-risk" and d["environment"] == "prod"]
        return next(c for c in d["checks"] if c["check"] == "health")

    assert health(before)["status"] == "none" and "no health result recorded" in health(before)["summary"]
    assert health(after)["status"] == "crit"
    assert health(after)["summary"] == f"recorded {recorded_at:%Y-%m-%d %H:%M} UTC: down for 3 probes: connection refused"


def test_windows_after_the_time_checked_are_not_read(demo_url: str) -> None:
    """A check at a past time reads the windows before it only (it read every later window too)."""
    ws = open_workspace(demo_url)
    first = _first_day()
    _backfill(ws, first, 2, shifted=frozenset({1}))
    result, _ = checks_of(checks.checks_at(ws, first + DAY), "credit-risk", "prod")
    assert result["drift"].status == "none"  # the last hour before midnight: 25 rows
    assert result["drift"].rows == 25 and "in the 1h to" in result["drift"].summary
    assert result["performance"].rows == 600  # the first day, not the shifted second one
    live, _ = checks_of(checks.run_checks(ws, now=first + DAY, probe_endpoints=False), "credit-risk", "prod")
    assert live["performance"].rows == 600 and live["drift"].rows == 25


def test_every_window_summary_names_the_window_it_read(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    first = _first_day()
    _backfill(ws, first, 1, rows=1200)
    at = first + DAY
    result, deployment = checks_of(checks.checks_at(ws, at), "credit-risk", "prod")
    for name in WINDOW_CHECKS:
        window = "1d" if name == "performance" else "1h"
        assert result[name].summary.count(f"in the {window} to {at:%Y-%m-%d %H:%M} UTC") == 1, result[name].summary
    assert deployment.windows["drift"] == {"start": (at - timedelta(hours=1)).isoformat(), "end": at.isoformat(),
                                           "span": "1h"}
    live, _ = checks_of(checks.run_checks(ws, now=at, probe_endpoints=False), "credit-risk", "prod")
    for name in WINDOW_CHECKS:
        assert live[name].summary.count(f"in the last {'1d' if name == 'performance' else '1h'}") == 1


def test_ingest_says_which_rows_the_checks_will_not_read(demo_url: str, tmp_path) -> None:  # noqa: ANN001
    ws = open_workspace(demo_url)
    frame = served(ws, credit_rows(300, seed=7))
    ws.close()
    now = utcnow()
    stamps = [now - timedelta(days=3)] * 200 + [now - timedelta(hours=5)] * 60 + [now - timedelta(minutes=1)] * 40
    frame["timestamp"] = [t.isoformat() for t in stamps]
    unlabelled = frame.drop(columns=["label"])
    path = tmp_path / "old.csv"
    unlabelled.to_csv(path, index=False)
    result = _invoke("--db", demo_url, "ingest", "credit-risk", str(path), "--env", "prod")
    assert result.exit_code == 0, result.output
    assert "260 of 300 rows are older than the drift window (1h), 200 older than the performance window (1d)" \
        in result.stdout
    assert f"`fuseboard report credit-risk --env prod --from {(now - timedelta(days=3)):%Y-%m-%d}` shows them" \
        in result.stdout
    labels = tmp_path / "labels.csv"
    frame[["request_id", "label"]].to_csv(labels, index=False)
    joined = _json(demo_url, "ingest-labels", "credit-risk", str(labels), "--env", "prod")
    assert joined["outside_check_windows"]["older_than_performance_window"] == 200
    again = tmp_path / "recent.csv"
    fresh = unlabelled.tail(40).copy()
    fresh["request_id"] = fresh["request_id"] + "-new"
    fresh.to_csv(again, index=False)
    quiet = _json(demo_url, "ingest", "credit-risk", str(again), "--env", "prod")
    assert quiet["outside_check_windows"] == {"drift_window": "1h", "older_than_drift_window": 0,
                                              "performance_window": "1d", "older_than_performance_window": 0}


@pytest.mark.parametrize(("args", "said", "flag"), [
    (["--from", "yesterday"], "is not a time like", "--from"),
    (["--from", "2026-02-30"], "is not a time like", "--from"),
    (["--from", "2026-03-01", "--to", "soon"], "is not a time like", "--to"),
    (["--from", "2026-03-02", "--to", "2026-03-01"], "is not after the start", "--to"),
    (["--from", "2026-03-01", "--every", "often"], "is not a duration", "--every"),
    (["--from", "2026-03-01", "--every", "7m"], "not a whole number of five-minute windows", "--every"),
    (["--from", "2026-03-01", "--every", "0m"], "is not between 5m and 366d", "--every"),
    (["--from", "1990-01-01", "--to", "2026-03-01", "--every", "1h"], "a report has at most 10,000", "--every"),
])
def test_bad_report_options_are_one_clear_line(demo_url: str, args: list[str], said: str, flag: str) -> None:
    result = _invoke("--db", demo_url, "report", "credit-risk", "--env", "prod", *args)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and said in lines[0], result.stderr
    assert lines[0].endswith(f"({flag})") and result.stdout == ""


def test_bad_check_at_is_one_clear_line(demo_url: str) -> None:
    result = _invoke("--db", demo_url, "check", "--at", "next tuesday")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: 'next tuesday' is not a time like 2026-11-29T03:00 or an age like 2h (--at)"]


def test_a_report_of_a_model_not_deployed_there_says_so(demo_url: str) -> None:
    result = _invoke("--db", demo_url, "report", "nope", "--env", "prod", "--from", "2026-03-01")
    assert result.exit_code == 1 and result.stderr.startswith("error: ") and "nope" in result.stderr


def test_times_without_a_zone_are_utc() -> None:
    from fuseboard.cli.report import utc_moment

    assert utc_moment("2026-03-01", "--from") == datetime(2026, 3, 1, tzinfo=timezone.utc)
    assert utc_moment("2026-03-01T15:00+01:00", "--from") == datetime(2026, 3, 1, 14, tzinfo=timezone.utc)
    assert abs(utc_moment("2h", "--at") - (utcnow() - timedelta(hours=2))) < timedelta(seconds=5)
