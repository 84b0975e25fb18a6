"""A rollback never goes forward (issue 14, item 3).

The demo (tests/conftest.py): credit-risk runs v2 in prod after v1 (both known-good there), v3 in staging;
tumour-screening runs v2 in prod after v1. Rolling back revokes the known-good mark of the version left.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlmodel import select

from fuseboard.cli import cli
from fuseboard.errors import Refused
from fuseboard.monitoring import rollouts
from fuseboard.ops import deploy as ops
from fuseboard.store.db import open_workspace
from fuseboard.store.models import Rollout, utcnow
from fuseboard.ops.views import audit_events, environment_matrix, model_detail, rollout_history


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def serving(url: str, model: str, env: str = "prod") -> int:
    return {d.environment: d.version for d in model_detail(open_workspace(url), model).deployments}[env]


def star(url: str, model: str, env: str = "prod") -> bool:
    _, rows = environment_matrix(open_workspace(url))
    return next(r for r in rows if r.model == model).cells[env].known_good


def soak_all(url: str, hours: float = 2) -> None:
    """The monitor's known-good pass, some hours from now (every soak is over)."""
    ws = open_workspace(url)
    with ws.transaction() as s:
        rollouts.mark_known_good(s, utcnow() + timedelta(hours=hours))


def test_two_rollbacks_in_a_row_never_go_forward_cli(demo_url: str) -> None:
    assert serving(demo_url, "credit-risk") == 2 and star(demo_url, "credit-risk")
    first = run("--db", demo_url, "rollback", "credit-risk", "--env", "prod", "--reason", "x", "--yes", "--wait", "0")
    assert first.exit_code == 0, first.output
    assert "rollback credit-risk in prod: v2 -> v1" in first.output
    assert serving(demo_url, "credit-risk") == 1
    second = run("--db", demo_url, "rollback", "credit-risk", "--env", "prod", "--reason", "x", "--yes", "--wait", "0")
    assert second.exit_code == 1
    at = rollout_history(open_workspace(demo_url), "credit-risk", "prod")[1].revoked_at.astimezone()
    assert second.output.strip().splitlines()[-1] == (
        f"error: credit-risk in prod has no known-good version older than v1 to roll back to (v2 was rolled back "
        f"from at {at:%H:%M}); deploy a chosen version with fuseboard deploy credit-risk VERSION --env prod")
    assert serving(demo_url, "credit-risk") == 1  # not v1 -> v2
    # the monitor, however long after, never marks v2 known-good again here
    soak_all(demo_url, hours=48)
    third = run("--db", demo_url, "rollback", "credit-risk", "--env", "prod", "--reason", "x", "--yes", "--wait", "0")
    assert third.exit_code == 1 and serving(demo_url, "credit-risk") == 1


def test_a_rollback_to_a_chosen_newer_version_is_refused_too(demo_url: str) -> None:
    run("--db", demo_url, "rollback", "tumour-screening", "--env", "prod", "--yes", "--wait", "0")
    assert serving(demo_url, "tumour-screening") == 1
    forward = run("--db", demo_url, "rollback", "tumour-screening", "--env", "prod", "--to", "2", "--yes",
                  "--wait", "0")
    assert forward.exit_code == 1 and serving(demo_url, "tumour-screening") == 1
    assert forward.output.strip().splitlines()[-1] == (
        "error: v2 is newer than v1, which serves tumour-screening in prod: a rollback never goes forward; "
        "deploy it with fuseboard deploy tumour-screening 2 --env prod")
    with pytest.raises(Refused, match="never goes forward"):  # the console plans the same way
        ops.plan_change(open_workspace(demo_url), "tumour-screening", "prod", action="rollback", version=2)


def test_v3_to_v2_to_v1_then_refuse(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    ops.deploy(ws, "credit-risk", 3, "prod", actor="t", origin="cli", check_gates=False,
               now=utcnow() - timedelta(hours=3))
    soak_all(demo_url)
    assert serving(demo_url, "credit-risk") == 3 and star(demo_url, "credit-risk")
    seen = []
    for _ in range(3):
        try:
            result = ops.change(ws, "credit-risk", "prod", action="rollback", actor="t", origin="cli", reason="r")
            seen.append((result.plan.from_version, result.plan.to_version))
        except Refused as exc:
            seen.append(str(exc))
    assert seen[:2] == [(3, 2), (2, 1)]
    assert seen[2].startswith("credit-risk in prod has no known-good version older than v1 to roll back to (v3 was "
                              "rolled back from at ")
    assert "; v2 was rolled back from at " in seen[2]
    assert serving(demo_url, "credit-risk") == 1 and star(demo_url, "credit-risk")  # v1 keeps its star


def test_the_star_goes_and_history_says_when_and_why(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    ops.change(ws, "tumour-screening", "prod", action="rollback", version=1, actor="chloe", origin="cli",
               reason="screens too many")
    rows = json.loads(run("--db", demo_url, "history", "tumour-screening", "--env", "prod", "--json").output)
    left = [r for r in rows if r["to_version"] == 2]
    assert left and all(r["revoked_at"] and not r["known_good"] for r in left)
    assert left[0]["revoked_reason"] == "rolled back from v2 to v1 by chloe: screens too many"
    (event,) = [e for e in audit_events(ws, "tumour-screening") if e.action == "rollout.known_good_revoked"]
    assert (event.target, event.actor, event.after["version"], event.after["known_good"]) == (
        "tumour-screening/prod", "chloe", 2, False)
    table = run("--db", demo_url, "history", "tumour-screening", "--env", "prod")
    assert "revoked " in table.output
    assert "v2 stopped being known-good in prod at " in table.output and "screens too many" in table.output


def test_deploying_the_version_again_lets_it_soak_and_be_known_good_again(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    ops.change(ws, "credit-risk", "prod", action="rollback", actor="t", origin="cli", reason="r")
    assert star(demo_url, "credit-risk")  # v1, known-good here before, keeps its star
    ops.deploy(ws, "credit-risk", 2, "prod", actor="t", origin="cli", check_gates=False)  # explicitly, again
    assert serving(demo_url, "credit-risk") == 2 and not star(demo_url, "credit-risk")  # soaking
    soak_all(demo_url)
    assert star(demo_url, "credit-risk")
    plan = ops.plan_change(ws, "credit-risk", "prod", action="rollback")
    assert (plan.from_version, plan.to_version) == (2, 1)


def test_a_rollback_during_the_soak_keeps_the_version_from_becoming_known_good(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    ops.deploy(ws, "credit-risk", 3, "prod", actor="t", origin="cli", check_gates=False)  # soaking
    ops.change(ws, "credit-risk", "prod", action="rollback", actor="t", origin="cli", reason="r")
    with ws.session() as s:  # even if the pass had not run while it served
        v3 = s.exec(select(Rollout).where(Rollout.action == "deploy").order_by(Rollout.id.desc())).first()
        assert v3.revoked_at is not None and v3.known_good_at is None
    soak_all(demo_url, hours=48)
    with ws.session() as s:
        assert s.get(Rollout, v3.id).known_good_at is None


def test_the_handover_rollback_target_check_follows_the_rule(demo_url: str) -> None:
    from fuseboard.ops.handover import v_rollback_target
    from fuseboard.store import lookup

    ws = open_workspace(demo_url)
    ops.change(ws, "credit-risk", "prod", action="rollback", actor="t", origin="cli", reason="r")
    with ws.session() as s:
        verdict = v_rollback_target(s, lookup.model(s, "credit-risk"), utcnow())
    assert not verdict.ok


def test_the_rollback_plan_refuses_for_the_console_too(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    ops.change(ws, "credit-risk", "prod", action="rollback", actor="t", origin="tui", reason="r")
    with pytest.raises(Refused, match="no known-good version older than v1"):
        ops.plan_change(ws, "credit-risk", "prod", action="rollback")


def test_a_version_rolled_back_from_in_staging_fails_the_soak_gate_into_prod(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    gate = {g.name: g for g in ops.plan_change(ws, "credit-risk", "prod", version=3).gates}["soak"]
    assert gate.ok  # v3 soaked in staging
    ops.change(ws, "credit-risk", "staging", action="rollback", version=2, actor="t", origin="cli", reason="r")
    gate = {g.name: g for g in ops.plan_change(ws, "credit-risk", "prod", version=3).gates}["soak"]
    assert not gate.ok and gate.detail.startswith("v3 was rolled back from in staging at ")


def test_the_alert_webhook_event_carries_the_runbook_and_flaps(demo_url: str) -> None:
    from fuseboard.monitoring import alerts, outbox
    from fuseboard.monitoring.checks import CheckResult, DeploymentChecks

    run("--db", demo_url, "monitoring", "set", "credit-risk", "--runbook", "https://wiki/cr", "--yes")
    ws = open_workspace(demo_url)
    with ws.transaction() as s:
        (alert,) = alerts.record_results(s, [DeploymentChecks("credit-risk", "prod", 2, "mission-critical", "crit", [
            CheckResult("drift", "crit", "drifted")])])
        (row,) = outbox.sync_alerts(s, alert.opened_at)
        event = row.body
    assert event["alert"]["runbook"] == "https://wiki/cr" and event["alert"]["flaps"] == 0


@pytest.mark.sqlite_only
def test_the_upgrade_revokes_what_was_rolled_back_from_before_it(demo_path: Any) -> None:
    """A workspace from before this rule (0005) that had rolled credit-risk prod back v2 -> v1: upgrading
    takes v2's known-good mark in prod away, so its next rollback cannot go forward."""
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from sqlalchemy import create_engine

    from fuseboard.store.db import MIGRATIONS_DIR

    url = f"sqlite:///{demo_path / 'demo.db'}"
    ops.change(open_workspace(url), "credit-risk", "prod", action="rollback", actor="t", origin="cli", reason="r")
    engine = create_engine(url)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:  # back to the old schema (the rule's columns gone)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006_access_and_zones")
    engine.dispose()
    ws = open_workspace(url)  # upgrades
    rows = rollout_history(ws, "credit-risk", "prod")
    assert [(r.to_version, r.revoked_at is not None) for r in rows] == [(1, False), (2, True), (1, False)]
    with pytest.raises(Refused, match="no known-good version older than v1"):
        ops.plan_change(ws, "credit-risk", "prod", action="rollback")
