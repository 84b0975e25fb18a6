"""What the ownership and handover tests share (tests/integration/test_teams_and_rota.py,
test_handover.py, test_handover_checklists.py): the CLI runner and its result checks, reads of teams,
handovers and audit events, and the store setup that has no command of its own.

Setup that has no command of its own is done in the store, in one transaction: a retrain-by date
(only `register --retrain-by` sets it, which needs a new artifact), a model's owning team, a
performance verdict (labels flowing back), and monitoring that has run for a week (the scheduler's
run_cycle with a ``now`` eight days ago).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from click.testing import CliRunner
from sqlmodel import select

from fuseboard.cli import cli
from fuseboard.monitoring import scheduler
from fuseboard.ops.views import audit_events, model_detail
from fuseboard.store import lookup
from fuseboard.store.db import open_workspace
from fuseboard.store.models import CheckState, Deployment, Environment, utcnow


def run(*args: str, user: str | None = None) -> Any:
    env = {"FUSEBOARD_USER": user} if user else None
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def fb(url: str, *args: str, user: str | None = None) -> Any:
    return run("--db", url, *args, user=user)


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return result


def one_error(result: Any, *fragments: str, code: int = 1) -> str:
    """The command failed with exactly one ``error:`` line containing every fragment."""
    assert result.exit_code == code, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def iso(when: datetime) -> str:
    return when.isoformat(timespec="seconds")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def events(url: str, action: str | None = None, target: str | None = None) -> list[Any]:
    found = audit_events(open_workspace(url), target=target, limit=10_000)
    return [e for e in found if action is None or e.action == action]


def shown(url: str, model: str) -> dict[str, Any]:
    return json.loads(ok(fb(url, "handover", "show", model, "--json")).output)


def item(view: dict[str, Any], key: str) -> dict[str, Any]:
    return next(i for i in view["items"] if i["key"] == key)


def owner(url: str, model: str) -> str | None:
    return model_detail(open_workspace(url), model).owner


def teams(url: str) -> dict[str, dict[str, Any]]:
    rows = json.loads(ok(fb(url, "teams", "--json")).output)
    assert isinstance(rows, list)
    return {r["name"]: r for r in rows}


# -- store setup without a command of its own ------------------------------------------------------

def set_retrain_by(url: str, model: str, when: date) -> None:
    with open_workspace(url).transaction() as s:
        m = lookup.model(s, model)
        m.retrain_by = when
        s.add(m)


def set_owner(url: str, model: str, team: str | None) -> None:
    with open_workspace(url).transaction() as s:
        m = lookup.model(s, model)
        m.owner_team_id = lookup.team(s, team).id if team else None
        s.add(m)


def checks_ran_for_a_week(url: str) -> None:
    """Health and drift cycles eight days ago (the monitor has been running since)."""
    ws = open_workspace(url)
    past = utcnow() - timedelta(days=8)
    for kind in ("health", "drift"):
        scheduler.run_cycle(ws, kind, now=past)
        scheduler.run_cycle(ws, kind)


def performance_verdict(url: str, model: str) -> None:
    """A performance verdict in prod, as if labels flowed back."""
    now = utcnow()
    with open_workspace(url).transaction() as s:
        m = lookup.model(s, model)
        prod = s.exec(select(Environment).where(Environment.name == "prod")).one()
        dep = s.exec(select(Deployment).where(Deployment.model_id == m.id,
                                              Deployment.environment_id == prod.id)).one()
        s.add(CheckState(model_id=m.id, environment_id=prod.id, check="performance", version_id=dep.version_id,
                         status="ok", summary="roc_auc 0.81 within tolerance", rows=250, at=now, since=now))


def tick_manual(url: str, model: str, user: str = "ana") -> None:
    """Tick every manual item that is still open, with evidence."""
    for i in shown(url, model)["items"]:
        if not i["auto"] and not i["done"]:
            ok(fb(url, "handover", "check", model, i["key"], "--evidence", f"https://wiki/{i['key']}", user=user))


def ready_tumour_handover(url: str) -> None:
    """tumour-screening (ds-core) handed to it-ops, every required item satisfied, nobody signed."""
    ok(fb(url, "handover", "start", "tumour-screening", "--to", "it-ops", user="ana"))
    checks_ran_for_a_week(url)
    tick_manual(url, "tumour-screening")
    assert shown(url, "tumour-screening")["required_done"] == shown(url, "tumour-screening")["required_total"]
