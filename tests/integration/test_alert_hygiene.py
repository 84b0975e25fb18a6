"""Alert hygiene for a tired human (issue 14, item 5): flapping checks reopen their alert and count the flaps,
who acknowledged or silenced shows in the listing, and the shift summary groups repeats with people first."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from click.testing import CliRunner

from fuseboard.cli import cli
from fuseboard.monitoring import alerts, outbox
from fuseboard.monitoring.checks import CheckResult, DeploymentChecks
from fuseboard.store.db import open_workspace
from fuseboard.store.models import utcnow

M = timedelta(minutes=1)


def run(*args: str, **kw: Any) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, **kw)


def check(ws: Any, status: str, at: datetime, *, model: str = "demand-forecast", env: str = "prod",
          name: str = "health") -> list[Any]:
    with ws.transaction() as s:
        return alerts.record_results(s, [DeploymentChecks(model, env, 2, "mission-critical", status, [
            CheckResult(name, status, f"{name} {status}: HTTP 503" if status != "ok" else "up")])], now=at)


def flap(ws: Any, start: datetime, times: int, every: timedelta = 10 * M) -> None:
    """Down, up, down, up...: ``times`` breaches, each followed by a recovery 5 minutes later."""
    for i in range(times):
        check(ws, "crit", start + i * every)
        check(ws, "ok", start + i * every + 5 * M)


def test_a_check_that_flaps_within_the_period_reopens_one_alert_and_counts(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    t0 = utcnow() - 2 * timedelta(hours=1)
    flap(ws, t0, 6)
    check(ws, "crit", t0 + 60 * M)
    everything = alerts.list_alerts(ws, include_resolved=True)
    assert len(everything) == 1, [(a.id, a.state) for a in everything]
    (alert,) = everything
    assert (alert.state, alert.flaps, alert.opened_at, alert.reopened_at) == ("firing", 6, t0, t0 + 60 * M)
    listing = run("--db", demo_url, "alerts", env={"COLUMNS": "80"})
    assert "×6" in listing.output
    (row,) = json.loads(run("--db", demo_url, "alerts", "--json").output)
    assert row["flaps"] == 6 and row["opened_at"] == t0.isoformat()


def test_past_the_flap_period_a_new_alert_opens_and_the_period_is_settable(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    t0 = utcnow() - timedelta(hours=5)
    check(ws, "crit", t0)
    check(ws, "ok", t0 + 5 * M)
    check(ws, "crit", t0 + 40 * M)  # 35 min after it recovered: a new alert (default 30m)
    assert len(alerts.list_alerts(ws, include_resolved=True)) == 2
    done = run("--db", demo_url, "monitoring", "set", "demand-forecast", "--flap-period", "2h", "--yes")
    assert done.exit_code == 0, done.output
    assert "a check firing again within 120 min of recovering reopens its alert" in run(
        "--db", demo_url, "monitoring", "show", "demand-forecast").output
    check(ws, "ok", t0 + 50 * M)
    check(ws, "crit", t0 + 150 * M)  # 100 min later: within 2h
    assert len(alerts.list_alerts(ws, include_resolved=True)) == 2
    run("--db", demo_url, "monitoring", "set", "demand-forecast", "--flap-period", "0", "--yes")
    check(ws, "ok", t0 + 155 * M)
    check(ws, "crit", t0 + 156 * M)  # 0: never reopen
    assert len(alerts.list_alerts(ws, include_resolved=True)) == 3
    bad = run("--db", demo_url, "monitoring", "set", "demand-forecast", "--flap-period", "2 days", "--yes")
    assert bad.exit_code == 1 and bad.output.strip() == (
        "error: '2 days' is not a duration like 30m or 2h, or 0 (--flap-period)")
    long = run("--db", demo_url, "monitoring", "set", "demand-forecast", "--flap-period", "2d", "--yes")
    assert long.exit_code == 1 and "longer than a day" in long.output


def test_a_flap_keeps_the_acknowledgement_and_a_hand_resolve_is_not_reopened(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    t0 = utcnow() - timedelta(hours=1)
    (alert,) = check(ws, "crit", t0)
    alerts.acknowledge(ws, alert.id, actor="chloe", origin="cli", now=t0 + M)
    check(ws, "ok", t0 + 5 * M)
    check(ws, "crit", t0 + 10 * M)
    (view,) = alerts.list_alerts(ws)
    assert (view.id, view.state, view.acknowledged_by, view.flaps) == (alert.id, "acknowledged", "chloe", 1)
    alerts.resolve(ws, alert.id, actor="dev", origin="cli", note="restarted the pods", now=t0 + 12 * M)
    check(ws, "crit", t0 + 14 * M)  # a person closed it: this is a new alert
    opened = alerts.list_alerts(ws)
    assert [v.id for v in opened] != [alert.id] and len(opened) == 1


def test_a_flapping_alert_notifies_again_after_its_resolved_went_out(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    t0 = utcnow() - timedelta(hours=1)
    sent: list[str] = []
    for status, at in (("crit", t0), ("ok", t0 + 5 * M), ("crit", t0 + 10 * M)):
        with ws.transaction() as s:
            alerts.record_results(s, [DeploymentChecks("demand-forecast", "prod", 2, "mission-critical", status,
                                                       [CheckResult("health", status, status)])], now=at)
            sent += [e.body["event"] for e in outbox.sync_alerts(s, at)]
    assert sent == ["fired", "resolved", "refired"]


def test_who_acknowledged_and_silenced_shows_in_the_listing(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    now = utcnow()
    (acked,) = check(ws, "crit", now - 20 * M)
    check(ws, "crit", now - 20 * M, model="credit-risk", name="drift")
    alerts.acknowledge(ws, acked.id, actor="chloe", origin="cli", now=now - 10 * M)
    alerts.silence(ws, "credit-risk", "prod", timedelta(hours=2), comment="known, fix deploying", actor="dev",
                   origin="cli", now=now - 5 * M)
    rows = {r["model"]: r for r in json.loads(run("--db", demo_url, "alerts", "--json").output)}
    assert rows["demand-forecast"]["acknowledged_by"] == "chloe"
    assert datetime.fromisoformat(rows["demand-forecast"]["acknowledged_at"]) == now - 10 * M
    assert rows["demand-forecast"]["silenced_by"] is None
    assert rows["credit-risk"]["silenced"] is True and rows["credit-risk"]["silenced_by"] == "dev"
    assert datetime.fromisoformat(rows["credit-risk"]["silenced_until"]) == now + 115 * M
    plain = run("--db", demo_url, "alerts", env={"COLUMNS": "80"}).output
    from fuseboard.cli.table import short_time as _short_time  # HH:MM today, MM-DD HH:MM another day

    assert f"acked by chloe at {_short_time(now - 10 * M, utcnow())} · health crit" in plain
    assert f"silenced by dev until {_short_time(now + 115 * M, utcnow())} · drift crit" in plain


def test_the_shift_summary_groups_repeats_and_puts_people_first(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    now = utcnow()
    start = now - timedelta(hours=3)
    # (building the demo left 19 rollout.known_good marks on 15 deployments by the monitor, minutes ago)
    for i in range(6):  # six separate outages, each past the flap period: six alerts
        check(ws, "crit", start + i * 40 * M)
        check(ws, "ok", start + i * 40 * M + 5 * M)
    run("--db", demo_url, "rollback", "tumour-screening", "--env", "prod", "--yes", "--wait", "0")
    for _ in range(2):  # the same thing twice, by the same person
        alerts.silence(ws, "demand-forecast", "prod", timedelta(hours=1), comment="flapping", actor="chloe",
                       origin="cli", now=utcnow())
    summary = json.loads(run("--db", demo_url, "shift", "--since", "4h", "--json").output)
    grouped = [g for g in summary["alerts_opened_grouped"] if g["model"] == "demand-forecast"]
    assert len(grouped) == 1 and grouped[0]["count"] == 6
    assert datetime.fromisoformat(grouped[0]["first"]) == start
    assert datetime.fromisoformat(grouped[0]["last"]) == start + 200 * M
    machine = summary["machine"]
    assert machine and all(e["actor"] == "monitor" for e in machine)
    (marks,) = [e for e in machine if e["action"] == "rollout.known_good"]
    assert marks["count"] == 19 and len(marks["targets"]) == 15
    people = summary["people"]
    assert ("rollback", "tumour-screening/prod", "tester") in [(e["action"], e["target"], e["actor"]) for e in people]
    (silenced,) = [e for e in people if e["action"] == "alert.silence"]
    assert (silenced["actor"], silenced["target"], silenced["count"]) == ("chloe", "demand-forecast/prod", 2)
    kinds = [e["machine"] for e in summary["events"]]
    assert kinds == sorted(kinds)  # people's first, then fuseboard's own
    text = run("--db", demo_url, "shift", "--since", "4h", env={"COLUMNS": "80"}).output
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines)
    opened = [line for line in lines if "opened   crit demand-forecast/prod health" in line]
    assert len(opened) == 1 and "×6, " in opened[0]
    assert lines.index("people") < lines.index("alerts") < lines.index("fuseboard itself")
    assert sum("rollout.known_good ×19" in line for line in lines) == 1
    assert not any("rollout.known_good " in line and "×" not in line for line in lines)
