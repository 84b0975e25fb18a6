"""The command line's fast reads (ops/quick.py over store/lite.py) return what the ORM views return.

``models``, ``alerts`` and ``history`` read a SQLite workspace through the standard ``sqlite3``
module; whenever they cannot answer exactly as the normal opening would, they return None and
the command opens the workspace the normal way.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from fuseboard.monitoring import alerts
from fuseboard.monitoring.checks import CheckResult, DeploymentChecks
from fuseboard.ops import deploy
from fuseboard.ops.incident import alert_views
from fuseboard.ops.quick import quick_alerts, quick_environment_names, quick_history, quick_models
from fuseboard.ops.views import environments, model_rows, rollout_history
from fuseboard.store import lite
from fuseboard.store.db import open_workspace
from fuseboard.store.models import Model, Rota, RotaShift, Team, utcnow
from fuseboard.store.revisions import KNOWN_REVISIONS

pytestmark = pytest.mark.sqlite_only  # the fast path reads SQLite files; a server always takes the normal one

MODELS = ("credit-risk", "demand-forecast", "churn-propensity", "tumour-screening", "disease-progression", "nope")
ENVS = ("dev", "staging", "prod", "nowhere")


def _checks(model: str, env: str, version: int, **statuses: str) -> DeploymentChecks:
    worst = max(statuses.values(), key=lambda s: ("none", "ok", "warn", "error", "crit").index(s))
    return DeploymentChecks(model, env, version, "internal", worst,
                            [CheckResult(check, status, f"{check} is {status}") for check, status in statuses.items()])


def _serving(ws, model: str, env: str) -> int:  # noqa: ANN001
    return next(m for m in model_rows(ws) if m.name == model).deployed[env]


def _busy_workspace(url: str) -> None:
    """Alerts firing, acknowledged, silenced, resolved by hand and by the monitor, one that flapped,
    several opened in the same cycle; a rollback (revoked known-good); on call from a rotation, an
    override, a team without a rota, a rota in an unknown zone and a model without an owning team."""
    ws = open_workspace(url)
    now = utcnow()
    v = {(m, e): _serving(ws, m, e) for m in MODELS[:5] for e in ENVS[:3]}

    def record(at, *results):  # noqa: ANN001, ANN202
        with ws.transaction() as s:
            return alerts.record_results(s, list(results), now=at)

    cycle = now - timedelta(hours=3)  # one cycle: five alerts open at the same instant
    record(cycle,
           _checks("credit-risk", "prod", v["credit-risk", "prod"], drift="crit", health="warn", performance="ok"),
           _checks("demand-forecast", "prod", v["demand-forecast", "prod"], health="error", drift="ok"),
           _checks("churn-propensity", "staging", v["churn-propensity", "staging"], performance="crit"),
           _checks("tumour-screening", "prod", v["tumour-screening", "prod"], drift="warn", health="ok"),
           _checks("disease-progression", "dev", v["disease-progression", "dev"], quality="warn", health="none"))
    # demand-forecast recovers, then fires again ten minutes later: its alert reopens (a flap)
    record(now - timedelta(hours=2), _checks("demand-forecast", "prod", v["demand-forecast", "prod"], health="ok"))
    record(now - timedelta(hours=2) + timedelta(minutes=10),
           _checks("demand-forecast", "prod", v["demand-forecast", "prod"], health="crit"))
    # tumour-screening recovers for good; a later breach opens a new alert
    record(now - timedelta(minutes=90), _checks("tumour-screening", "prod", v["tumour-screening", "prod"], drift="ok"))
    record(now - timedelta(minutes=30),
           _checks("tumour-screening", "prod", v["tumour-screening", "prod"], drift="warn", health="crit"))
    by_key = {a.model + "/" + a.check: a for a in alerts.list_alerts(ws)}
    alerts.acknowledge(ws, by_key["credit-risk/drift"].id, actor="chloe", origin="cli", now=now - timedelta(hours=2))
    alerts.resolve(ws, by_key["churn-propensity/performance"].id, actor="ana", origin="cli", note="retrained",
                   now=now - timedelta(hours=1))
    # silences: one on the whole deployment, a longer one on one check, an expired one, one on another check
    alerts.silence(ws, "credit-risk", "prod", timedelta(hours=2), comment="maintenance", actor="chloe", origin="cli",
                   now=now - timedelta(minutes=5))
    alerts.silence(ws, "credit-risk", "prod", timedelta(hours=4), comment="known drift", actor="dev", origin="cli",
                   check="drift", now=now - timedelta(minutes=4))
    alerts.silence(ws, "demand-forecast", "prod", timedelta(hours=1), comment="over", actor="eve", origin="cli",
                   now=now - timedelta(hours=2, minutes=30))
    alerts.silence(ws, "tumour-screening", "prod", timedelta(hours=1), comment="probe", actor="ana", origin="cli",
                   check="health", now=now - timedelta(minutes=1))
    deploy.change(ws, "credit-risk", "prod", action="rollback", actor="chloe", origin="cli", reason="drift")
    with ws.transaction() as s:  # on call from an override (it-ops); a team without a rota; a rota in no known zone
        it_ops = s.exec(select(Team).where(Team.name == "it-ops")).one()
        s.add(RotaShift(team_id=it_ops.id, person="dev", starts_at=now - timedelta(hours=1),
                        ends_at=now + timedelta(hours=5), kind="override"))
        for m in s.exec(select(Model)):
            if m.name == "tumour-screening":
                m.owner_team_id = 2  # ml-platform: no rota
            elif m.name == "disease-progression":
                m.owner_team_id = None
            else:
                continue
            s.add(m)
        for rota in s.exec(select(Rota)):
            if rota.team_id == 1:  # ds-core (churn-propensity)
                rota.tz = "Nowhere/Atlantis"
                s.add(rota)
    ws.close()


def _same_as_the_orm(url: str) -> None:
    ws = open_workspace(url, read_only=True)
    try:
        assert quick_models(url) == model_rows(ws)
        assert quick_environment_names(url) == [e.name for e in environments(ws)]
        for model in MODELS:
            for env in ENVS:
                for limit in (100, 1):
                    quick = quick_history(url, model, env, limit)
                    assert quick is not None and quick.rollouts == rollout_history(ws, model, env, limit), (model, env)
        now = utcnow()
        for at in (now, now + timedelta(hours=3), now - timedelta(days=1)):
            for include_resolved in (False, True):
                expected = alert_views(ws, include_resolved=include_resolved, now=at)
                got = quick_alerts(url, include_resolved=include_resolved, now=at)
                assert got == expected
                assert json.dumps([v.as_dict() for v in got]) == json.dumps([v.as_dict() for v in expected])
    finally:
        ws.close()


def test_the_demo_reads_the_same(demo_url: str) -> None:
    _same_as_the_orm(demo_url)
    rows = quick_models(demo_url)
    assert len(rows) == 5 and rows[0].deployed
    history = quick_history(demo_url, "credit-risk", "prod")
    assert history is not None and history.rollouts and history.rollouts[0].to_version == 2


def test_a_busy_workspace_reads_the_same(demo_url: str) -> None:
    _busy_workspace(demo_url)
    views = quick_alerts(demo_url, include_resolved=True)
    assert {v.state for v in views} == {"firing", "acknowledged", "resolved"}
    assert any(v.silenced for v in views) and any(v.flaps for v in views)
    assert {v.silenced_by for v in views if v.model == "credit-risk" and v.check == "drift"} == {"dev"}
    assert len({v.opened_at for v in views}) < len(views)  # ties on opened_at: the order must still match
    calls = {v.model: v.on_call for v in views}
    assert calls["credit-risk"].startswith("it-ops: dev Dev Patel")
    assert calls["tumour-screening"].startswith("ml-platform (no rota)")
    assert "who is on call is unknown" in calls["churn-propensity"]
    assert calls["disease-progression"] == "no owning team"
    assert any(r.revoked_at for r in quick_history(demo_url, "credit-risk", "prod").rollouts)
    assert {r.health for r in quick_models(demo_url)} >= {"crit", "warn"}
    _same_as_the_orm(demo_url)


def test_reads_leave_the_folder_as_they_found_it(demo_url: str) -> None:
    path = lite.sqlite_file(demo_url)
    before = sorted(os.listdir(path.parent))
    assert quick_models(demo_url) and quick_alerts(demo_url) == [] and quick_history(demo_url, "x", "prod")
    assert sorted(os.listdir(path.parent)) == before  # no -wal / -shm left behind
    conn = lite.connect(demo_url)
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute("DELETE FROM model")
    finally:
        conn.close()


def test_a_relative_url_is_read_from_the_working_folder(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = lite.sqlite_file(demo_url)
    monkeypatch.chdir(path.parent)
    assert quick_models(f"sqlite:///{path.name}") == quick_models(demo_url) != []


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://fuseboard@127.0.0.1:1/fuseboard", "sqlite://", "sqlite:///:memory:",
    "sqlite:///~/fuseboard.db", "sqlite:///file:x.db?mode=ro&uri=true", "sqlite:///x.db?timeout=3",
    "mysql:///x.db", "not a url",
])
def test_anything_but_a_plain_sqlite_file_takes_the_normal_path(url: str) -> None:
    assert lite.sqlite_file(url) is None
    assert quick_models(url) is None and quick_alerts(url) is None and quick_history(url, "m", "e") is None


def test_a_missing_file_or_a_folder_takes_the_normal_path(tmp_path: Path) -> None:
    for url in (f"sqlite:///{tmp_path / 'missing.db'}", f"sqlite:///{tmp_path}"):
        assert quick_models(url) is None and quick_alerts(url) is None and quick_history(url, "m", "e") is None
    assert not (tmp_path / "missing.db").exists()  # nothing created


@pytest.mark.parametrize("revision", [KNOWN_REVISIONS[-2], "9999_from_the_future", None])
def test_another_schema_revision_takes_the_normal_path(demo_url: str, revision: str | None) -> None:
    path = lite.sqlite_file(demo_url)
    con = sqlite3.connect(path)
    with con:
        if revision is None:
            con.execute("DROP TABLE alembic_version")
        else:
            con.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    con.close()
    assert quick_models(demo_url) is None and quick_alerts(demo_url) is None
    assert quick_history(demo_url, "credit-risk", "prod") is None


def test_a_damaged_file_takes_the_normal_path(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"SQLite format 3\0" + os.urandom(4096))
    url = f"sqlite:///{path}"
    assert quick_models(url) is None and quick_alerts(url) is None and quick_history(url, "m", "e") is None


def test_a_shared_or_unwritable_workspace_takes_the_normal_path(demo_url: str,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    assert quick_models(demo_url, group="ml") is None  # the normal opening shares the file with the group
    assert quick_models(demo_url, group="ml", read_only=True) is not None  # ...unless read-only
    path = lite.sqlite_file(demo_url)
    real_access = os.access
    for unwritable in (path, path.parent):  # as a file or folder without write permission reads (tests run as root)
        monkeypatch.setattr(os, "access", lambda p, mode, u=unwritable: False if Path(p) == u else real_access(p, mode))
        assert quick_models(demo_url) is None  # the normal opening reads it degraded, and the command warns
        assert quick_models(demo_url, read_only=True) is not None  # --read-only: no warning, same rows
    monkeypatch.setattr(os, "access", real_access)
    monkeypatch.setattr(lite, "FULL_BELOW", 1 << 62)  # a full disk: the normal opening may read it as saved
    assert quick_models(demo_url) is None and quick_models(demo_url, read_only=True) is None


def test_the_fast_reads_import_no_sqlalchemy(demo_url: str) -> None:
    """What `fuseboard models/alerts/history` will import on this path: no SQLAlchemy, SQLModel,
    pydantic, numpy or pandas (they cost several times the answer)."""
    code = (
        "import json, sys\n"
        "from fuseboard.ops.quick import quick_alerts, quick_history, quick_models\n"
        f"url = {demo_url!r}\n"
        "out = [len(quick_models(url)), len(quick_alerts(url, include_resolved=True)),\n"
        "       len(quick_history(url, 'credit-risk', 'prod').rollouts)]\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'sqlmodel', 'pydantic', 'numpy', "
        "'pandas', 'alembic'})\n"
        "print(json.dumps({'out': out, 'heavy': heavy}))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["heavy"] == [] and result["out"][0] == 5 and result["out"][2] >= 1


def _run_cli(args: list[str], *, fast: bool) -> tuple[str, list[str]]:
    """The command's output and the heavy modules it imported, in a child process (``fast=False``
    turns the light path off, as for a server URL)."""
    code = (
        "import sys\n"
        "from fuseboard.cli import main\n"
        "from fuseboard.cli.base import Context\n"
        + ("" if fast else "Context.quick_read = lambda self, *a, **k: None\n") +
        f"sys.argv = ['fuseboard', *{args!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'sqlmodel', 'pydantic', 'numpy', "
        "'pandas', 'alembic'})\n"
        "print('HEAVY', ','.join(heavy))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    out, _, heavy = done.stdout.rpartition("HEAVY ")
    return out, [h for h in heavy.strip().split(",") if h]


@pytest.mark.parametrize("args", [["models", "--json"], ["models"], ["alerts", "--json", "--all"], ["alerts"],
                                  ["history", "credit-risk", "--env", "prod", "--json"],
                                  ["history", "credit-risk", "--env", "prod"]])
def test_the_commands_take_the_fast_path(demo_url: str, args: list[str]) -> None:
    """The commands themselves answer without SQLAlchemy on a SQLite workspace, with the same output
    as the normal path."""
    fast, heavy = _run_cli(["--db", demo_url, *args], fast=True)
    assert heavy == []
    slow, heavy = _run_cli(["--db", demo_url, *args], fast=False)
    assert "sqlalchemy" in heavy  # (the control: the normal path was taken)
    assert fast == slow and fast.strip()
