"""Alerts: one per deployment and check, acknowledged, silenced, resolved; the monitor lease."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlmodel import func, select

from fuseboard.cli import cli
from fuseboard.errors import FuseboardError
from fuseboard.monitoring import alerts, scheduler
from fuseboard.store.db import open_workspace
from fuseboard.store.models import Alert, AuditEvent, CheckRun, CheckState, utcnow
from tests.support.alerts import result


def record(ws, *results, now=None):  # noqa: ANN001, ANN202
    with ws.transaction() as s:
        return alerts.record_results(s, list(results), now=now)


def test_a_breach_opens_one_alert_and_repeats_do_not_duplicate(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    assert len(record(ws, result("crit"))) == 1
    assert record(ws, result("crit")) == []
    record(ws, result("warn"))
    (view,) = alerts.list_alerts(ws)
    assert (view.model, view.environment, view.check, view.severity, view.state) == \
        ("credit-risk", "prod", "drift", "warn", "firing")
    with ws.session() as s:  # the history keeps status changes: crit, then warn
        assert [r.status for r in s.exec(select(CheckRun).where(CheckRun.model_id == 1, CheckRun.environment_id == 3)
                                         .order_by(CheckRun.id))] == ["crit", "warn"]
        state = s.get(CheckState, (1, 3, "drift"))
        assert state is not None and state.status == "warn"


def test_recovery_resolves_and_a_new_breach_opens_a_new_alert(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    now = utcnow()
    record(ws, result("crit"), now=now - timedelta(hours=2))
    (resolved,) = record(ws, result("ok"), now=now - timedelta(hours=1))
    assert resolved.state == "resolved" and resolved.resolved_by == "monitor"
    assert alerts.list_alerts(ws) == []
    record(ws, result("crit"), now=now)  # an hour later: past the flap period (tests/integration/test_alert_hygiene.py)
    assert len(alerts.list_alerts(ws)) == 1
    assert len(alerts.list_alerts(ws, include_resolved=True)) == 2


def test_no_data_leaves_an_alert_as_it_is_and_errors_open_warnings(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    record(ws, result("crit"))
    record(ws, result("none"))
    assert alerts.list_alerts(ws)[0].state == "firing"
    record(ws, result("error", check="health"))
    health = [v for v in alerts.list_alerts(ws) if v.check == "health"][0]
    assert health.severity == "warn" and health.summary.startswith("check error")


def test_acknowledge_and_resolve_by_hand_are_audited(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    (alert,) = record(ws, result("crit"))
    acked = alerts.acknowledge(ws, alert.id, actor="chloe", origin="tui")
    assert acked.state == "acknowledged" and acked.acknowledged_by == "chloe"
    assert alerts.acknowledge(ws, alert.id, actor="dev", origin="cli").acknowledged_by == "chloe"  # no-op
    with pytest.raises(FuseboardError, match="needs a note"):
        alerts.resolve(ws, alert.id, actor="chloe", origin="cli", note=" ")
    done = alerts.resolve(ws, alert.id, actor="chloe", origin="cli", note="rolled back to v1")
    assert done.state == "resolved" and done.note == "rolled back to v1"
    with pytest.raises(FuseboardError, match="already resolved"):
        alerts.acknowledge(ws, alert.id, actor="chloe", origin="cli")
    with ws.session() as s:
        actions = [e.action for e in s.exec(select(AuditEvent).where(AuditEvent.action.like("alert.%")))]
    assert actions == ["alert.ack", "alert.resolve"]


def test_silence_mutes_until_it_expires(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    record(ws, result("crit"), result("crit", check="health"))
    now = utcnow()
    alerts.silence(ws, "credit-risk", "prod", timedelta(hours=2), comment="known upstream outage", actor="chloe",
                   origin="cli", check="health", now=now)
    views = {v.check: v for v in alerts.list_alerts(ws, now=now + timedelta(minutes=1))}
    assert views["health"].silenced and not views["drift"].silenced
    assert list(alerts.list_alerts(ws, now=now + timedelta(minutes=1)))[-1].check == "health"  # muted sort last
    assert not {v.check: v for v in alerts.list_alerts(ws, now=now + timedelta(hours=3))}["health"].silenced


def test_durations() -> None:
    assert alerts.parse_duration("2h") == timedelta(hours=2)
    assert alerts.parse_duration("1h30m") == timedelta(minutes=90)
    for bad in ("", "2 hours", "0m", "31d"):
        with pytest.raises(FuseboardError):
            alerts.parse_duration(bad)


def test_cli_alerts_ack_resolve_and_silence(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    (alert,) = record(ws, result("crit"))
    listed = json.loads(CliRunner().invoke(cli, ["--db", demo_url, "alerts", "--json"]).output)
    assert [(a["id"], a["severity"], a["state"]) for a in listed] == [(alert.id, "crit", "firing")]
    ack = CliRunner().invoke(cli, ["--db", demo_url, "alerts", "ack", str(alert.id)])
    assert ack.exit_code == 0 and "acknowledged by tester" in ack.output
    silenced = CliRunner().invoke(cli, ["--db", demo_url, "silence", "credit-risk", "--env", "prod", "--for", "2h",
                                        "--comment", "maintenance", "--yes"])
    assert silenced.exit_code == 0 and "silenced all checks of credit-risk in prod until" in silenced.output
    bad = CliRunner().invoke(cli, ["--db", demo_url, "silence", "credit-risk", "--env", "prod", "--for", "forever",
                                   "--comment", "x"])
    assert bad.exit_code == 1 and "is not a duration like 30m" in bad.output
    done = CliRunner().invoke(cli, ["--db", demo_url, "alerts", "resolve", str(alert.id), "--note", "fixed", "--yes"])
    assert done.exit_code == 0
    assert CliRunner().invoke(cli, ["--db", demo_url, "alerts"]).output.strip() == "no open alerts"


def test_lease_is_held_by_one_process_and_taken_over_after_expiry(demo_url: str) -> None:
    ws_a, ws_b = open_workspace(demo_url), open_workspace(demo_url)
    now = utcnow()
    ttl = timedelta(seconds=60)
    assert scheduler.acquire_lease(ws_a, "host-a", ttl, now=now)
    assert not scheduler.acquire_lease(ws_b, "host-b", ttl, now=now + timedelta(seconds=10))
    assert scheduler.acquire_lease(ws_a, "host-a", ttl, now=now + timedelta(seconds=20))  # renewal
    assert scheduler.lease_holder(ws_b, now=now + timedelta(seconds=30)) == "host-a"
    # host-a stops renewing: after expiry host-b takes over
    assert scheduler.acquire_lease(ws_b, "host-b", ttl, now=now + timedelta(seconds=81))
    assert not scheduler.acquire_lease(ws_a, "host-a", ttl, now=now + timedelta(seconds=82))
    scheduler.release_lease(ws_b, "host-b")
    assert scheduler.lease_holder(ws_a) is None


def test_a_monitor_cycle_records_checks_and_alerts(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    began = utcnow()  # (the demo's week of history has check runs of its own)
    summary = scheduler.run_cycle(ws, "drift")
    assert summary.deployments == 15 and summary.alerts_changed == 3  # churn is past its retrain-by date
    stale = [v for v in alerts.list_alerts(ws) if v.check == "staleness"]
    assert {v.environment for v in stale} == {"dev", "staging", "prod"} and stale[0].severity == "warn"
    assert scheduler.run_cycle(ws, "drift").alerts_changed == 0
    with ws.session() as s:
        kinds = set(s.exec(select(CheckRun.check).where(CheckRun.at >= began)).all())
    assert kinds == {"drift", "multivariate_drift", "prediction_drift", "estimated_performance", "quality", "staleness"}
    assert ws.session().exec(select(func.count()).select_from(Alert)).one() == 3


def test_a_standby_runs_checks_only_while_it_leads(demo_url: str) -> None:
    """A console's monitor (sharing=False) leaves the checks alone while another process leads."""
    import time

    ws = open_workspace(demo_url)
    assert scheduler.acquire_lease(ws, "someone-else", timedelta(minutes=5))
    seen: list[scheduler.CycleSummary] = []
    standby = scheduler.Monitor(open_workspace(demo_url), scheduler.Intervals(health=5, drift=10, performance=10),
                                on_cycle=seen.append, holder="standby", sharing=False)
    standby.start()
    time.sleep(0.5)
    standby.stop()
    assert not standby.leading and seen == [] and standby.shards == frozenset()
    scheduler.release_lease(ws, "someone-else")
    leader = scheduler.Monitor(open_workspace(demo_url), scheduler.Intervals(health=5, drift=10, performance=10),
                               on_cycle=seen.append, holder="leader")
    leader.start()
    deadline = time.time() + 10
    while len(seen) < 3 and time.time() < deadline:
        time.sleep(0.05)
    leader.stop()
    assert {s.kind for s in seen} == {"health", "drift", "performance"}
    assert scheduler.lease_holder(ws) is None  # released on stop



def test_alert_events_reach_the_webhook_with_the_token_only_in_the_header(demo_url: str, http_server) -> None:  # noqa: ANN001
    from fuseboard.monitoring import delivery
    from fuseboard.monitoring.receivers import build

    from tests.support.receivers import Recorder, recorder_attrs, spec

    with http_server(Recorder, **recorder_attrs(status=204)) as server:
        (hook,) = build([spec("webhook", f"{server.url}/hook")], {"FUSEBOARD_WEBHOOK_TOKEN": "s3cret"})
        ws = open_workspace(demo_url)
        scheduler.run_cycle(ws, "drift")  # churn's staleness fires in three environments
        assert delivery.deliver_to(ws, hook) == 3
    received = [(h["body"], h["headers"].get("authorization")) for h in server.hits]
    assert [(b["event"], b["alert"]["check"]) for b, _ in received] == [("fired", "staleness")] * 3
    assert all(auth == "Bearer s3cret" for _, auth in received)
    assert all("s3cret" not in json.dumps(b) for b, _ in received)


def test_a_dead_webhook_never_disturbs_the_cycle(demo_url: str) -> None:
    from fuseboard.monitoring import delivery
    from fuseboard.monitoring.receivers import build

    from tests.support.receivers import spec

    ws = open_workspace(demo_url)
    summary = scheduler.run_cycle(ws, "drift")
    assert summary.alerts_changed == 3
    (hook,) = build([spec("webhook", "http://127.0.0.1:9/hook", timeout=0.5)], {})
    assert delivery.deliver_to(ws, hook) == 0  # refused: it waits for its next try, the events kept
    (state,) = delivery.states(ws, [hook])
    assert state.pending == 3 and state.tries == 1 and "connection refused" in state.last_error

