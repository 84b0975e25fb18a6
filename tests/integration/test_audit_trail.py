"""Environments: the hash-chained audit trail (verify names an altered or deleted event, changes keep
the chain intact, events say where a change came from), history and audit at a point in time, and
the audit listing's filters, as a user of the CLI and the operations sees them.

The demo workspace (tests/conftest.py): credit-risk (mission-critical) runs v1 in prod from 21 days
ago, v2 from 2 days ago, and v3 waits in staging with the business sign-off only; prod is protected.
tumour-screening and churn-propensity (internal) run v2 in prod after v1, and v2 in staging.
"""

from __future__ import annotations

import json
import socket
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from fuseboard.errors import WorkspaceError
from fuseboard.ops import deploy as ops
from fuseboard.store import audit
from fuseboard.store.db import open_workspace
from fuseboard.store.models import AuditEvent, utcnow
from fuseboard.ops.views import serving_at
from tests.support.deploys import FAIL_SCRIPT, HOUR, audit_count, command_hook, events, history, run, set_hook


# -- 10. the audit trail ---------------------------------------------------------------------------------


def _sql(url: str, statement: str) -> None:
    """Change the database behind fuseboard's back, as someone with database access could."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(statement))
    engine.dispose()


def test_audit_verify_passes_on_the_demo_and_names_an_altered_event(demo_url: str, demo_path: Path) -> None:
    ok = run("--db", demo_url, "audit", "verify")
    total = audit_count(demo_url)
    assert ok.exit_code == 0 and ok.output.strip().startswith(f"audit chain intact: {total} events")
    middle = total // 2
    _sql(demo_url, f"UPDATE auditevent SET reason = 'nothing to see' WHERE id = {middle}")
    broken = run("--db", demo_url, "audit", "verify")
    assert broken.exit_code == 1
    assert broken.stderr.startswith(f"error: audit chain broken at event {middle} (")
    assert "was altered after it was written" in broken.stderr
    report = json.loads(run("--db", demo_url, "audit", "verify", "--json").stdout)
    assert report["ok"] is False and report["event_id"] == middle


def test_deleting_an_audit_event_breaks_the_chain(demo_url: str, demo_path: Path) -> None:
    middle = audit_count(demo_url) // 2
    _sql(demo_url, f"DELETE FROM auditevent WHERE id = {middle}")
    broken = run("--db", demo_url, "audit", "verify", "--json")
    assert broken.exit_code == 1
    report = json.loads(broken.stdout)
    # named by the anchor (a SQLite demo has one), else found at the broken link (tests/integration/test_audit_anchor.py)
    assert report["event_id"] in (middle, middle + 1) and "was removed" in report["problem"]


def test_changes_keep_the_chain_intact_and_the_orm_refuses_to_alter_events(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    ops.change(ws, "tumour-screening", "prod", action="rollback", actor="t", origin="cli")
    run("--db", demo_url, "signoff", "credit-risk", "3", "--as", "it")
    assert audit.verify(ws).ok
    with ws.session() as s:
        event = s.get(AuditEvent, 1)
        event.reason = "rewritten"
        s.add(event)
        with pytest.raises(WorkspaceError, match="append-only"):
            s.commit()
    with ws.session() as s:
        s.delete(s.get(AuditEvent, 2))
        with pytest.raises(WorkspaceError, match="append-only"):
            s.flush()
    assert audit.verify(ws).ok and events(demo_url)[-1].reason != "rewritten"


def test_audit_events_say_where_a_change_came_from(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "300")  # the table unwrapped
    monkeypatch.setenv("SSH_CONNECTION", "10.1.2.3 52144 10.0.0.5 22")
    assert run("--db", demo_url, "signoff", "credit-risk", "3", "--as", "it").exit_code == 0
    over_ssh = json.loads(run("--db", demo_url, "audit", "--target", "credit-risk", "--json", "--limit", "1").stdout)
    assert over_ssh[0]["action"] == "signoff" and over_ssh[0]["client"] == "ssh 10.1.2.3"
    monkeypatch.delenv("SSH_CONNECTION")
    assert run("--db", demo_url, "rollback", "tumour-screening", "--env", "prod", "--yes", "--wait", "0").exit_code == 0
    local = json.loads(run("--db", demo_url, "audit", "--target", "tumour-screening", "--json", "--limit", "1").stdout)
    assert local[0]["client"] == f"host {socket.gethostname()}" and local[0]["origin"] == "cli"
    assert "cli ssh 10.1.2.3" in run("--db", demo_url, "audit", "--target", "credit-risk@v3", "--wide").output
    assert audit.verify(open_workspace(demo_url)).ok


# -- 11. point in time -----------------------------------------------------------------------------------


def _prod_rollouts(url: str) -> tuple[Any, Any]:
    v2, v1 = history(url, "credit-risk", "prod")
    assert (v1.to_version, v2.to_version) == (1, 2)
    return v1, v2


def test_history_at_a_point_in_time(demo_url: str) -> None:
    v1, v2 = _prod_rollouts(demo_url)
    between = v1.finished_at + (v2.finished_at - v1.finished_at) / 2
    result = run("--db", demo_url, "history", "credit-risk", "--env", "prod", "--at", between.isoformat())
    assert result.exit_code == 0, result.output
    assert ": v1 (deploy by chloe, since" in result.output
    as_json = json.loads(run("--db", demo_url, "history", "credit-risk", "--env", "prod", "--at", between.isoformat(),
                             "--json").stdout)
    assert as_json["version"] == 1 and as_json["rollout"]["id"] == v1.id
    ten_days_ago = json.loads(run("--db", demo_url, "history", "credit-risk", "--env", "prod", "--at", "10d",
                                  "--json").stdout)
    assert ten_days_ago["version"] == 1
    now = json.loads(run("--db", demo_url, "history", "credit-risk", "--env", "prod", "--at",
                         datetime.now(timezone.utc).isoformat(), "--json").stdout)
    assert now["version"] == 2
    before = v1.finished_at - timedelta(days=1)
    nothing = run("--db", demo_url, "history", "credit-risk", "--env", "prod", "--at", before.isoformat())
    assert nothing.exit_code == 0 and nothing.output.startswith("nothing of credit-risk was serving in prod at")
    assert json.loads(run("--db", demo_url, "history", "credit-risk", "--env", "prod", "--at", before.isoformat(),
                          "--json").stdout)["version"] is None
    assert serving_at(open_workspace(demo_url), "credit-risk", "prod", v2.finished_at).to_version == 2


def test_history_after_a_rollback_and_a_failed_change(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "300")  # the table unwrapped
    ws = open_workspace(demo_url)
    ops.change(ws, "tumour-screening", "prod", action="rollback", actor="t", origin="cli")
    set_hook(demo_url, "prod", command_hook(FAIL_SCRIPT))
    failed = ops.change(ws, "tumour-screening", "prod", action="deploy", version=2, actor="t", origin="cli")
    assert failed.state == "failed"
    rows = json.loads(run("--db", demo_url, "history", "tumour-screening", "--env", "prod", "--json").stdout)
    assert [(r["action"], r["from_version"], r["to_version"], r["state"]) for r in rows] == [
        ("deploy", 1, 2, "failed"), ("rollback", 2, 1, "succeeded"), ("deploy", 1, 2, "succeeded"),
        ("deploy", None, 1, "succeeded")]
    assert rows[2]["ended_at"] is not None and rows[1]["ended_at"] is None  # the failed change ended nothing
    now = json.loads(run("--db", demo_url, "history", "tumour-screening", "--env", "prod", "--at",
                         datetime.now(timezone.utc).isoformat(), "--json").stdout)
    assert now["version"] == 1
    table = run("--db", demo_url, "history", "tumour-screening", "--env", "prod")
    assert table.exit_code == 0 and "v1→v2" in table.output and "exit 3" in table.output


def test_history_and_audit_take_ages_beyond_thirty_days(demo_url: str) -> None:
    result = run("--db", demo_url, "history", "credit-risk", "--env", "prod", "--at", "40d")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("nothing of credit-risk was serving in prod at")
    assert run("--db", demo_url, "audit", "--since", "40d").exit_code == 0


# -- 12. the audit listing's filters ---------------------------------------------------------------------


def test_audit_filters_by_model_environment_and_age(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    ops.change(ws, "credit-risk", "prod", action="rollback", actor="t", origin="cli", reason="incident 42")
    ops.change(ws, "credit-risk", "staging", action="rollback", version=2, actor="t", origin="cli")
    ops.change(ws, "tumour-screening", "prod", action="rollback", actor="t", origin="cli")
    result = run("--db", demo_url, "audit", "--model", "credit-risk", "--env", "prod", "--since", "1h", "--json",
                 "--limit", "500")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows and {r["target"] for r in rows} == {"credit-risk/prod"}
    hour_ago = utcnow() - HOUR
    assert all(datetime.fromisoformat(r["at"]) >= hour_ago for r in rows)
    assert [r["action"] for r in rows][:3] == ["rollout.known_good_revoked", "rollback", "rollback.start"]
    assert rows[1]["reason"] == "incident 42" and rows[1]["before"]["version"] == 2
    every = json.loads(run("--db", demo_url, "audit", "--model", "credit-risk", "--env", "prod", "--json",
                           "--limit", "500").stdout)
    older = [r for r in every if datetime.fromisoformat(r["at"]) < hour_ago]
    assert older and {r["action"] for r in older} >= {"deploy"}  # the demo's deploys, days ago
    assert len(every) == len(rows) + len(older)
    by_model = json.loads(run("--db", demo_url, "audit", "--model", "credit-risk", "--since", "1h", "--json",
                              "--limit", "500").stdout)
    assert {"credit-risk/prod", "credit-risk/staging"} <= {r["target"] for r in by_model}
    assert all(r["target"].startswith(("credit-risk/", "credit-risk@")) or r["target"] == "credit-risk"
               for r in by_model)
