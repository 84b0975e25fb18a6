"""Issue 20 (1, 4, 5): who the console acts as, the demo's week of prod history, review at a glance."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import func, select

from fuseboard.config import Config
from fuseboard.monitoring.checks import checks_at
from fuseboard.ops import demo_history, handover
from fuseboard.ops.audit import os_user
from fuseboard.store.db import open_workspace
from fuseboard.store.models import CheckRun, CheckState, Environment, Handover, Model, WindowProfile, utcnow
from fuseboard.tui.screens.ownership import OwnershipScreen, ShiftScreen
from tests.support.console import SIZE, make_app, screen_text, settle


def lines(app) -> list[str]:  # noqa: ANN001
    text = screen_text(app).splitlines()
    start = next(i for i, line in enumerate(text) if "  [" in line and " 4" in line)  # the title line
    return text[start:]


async def palette(app, pilot, query: str) -> str:  # noqa: ANN001
    """Open the palette, type ``query``; what it offers, as text."""
    await pilot.press("colon")
    await settle(app, pilot)
    await pilot.press(*query)
    await settle(app, pilot)
    await pilot.pause(0.3)
    return screen_text(app)


async def ownership(app, pilot) -> OwnershipScreen:  # noqa: ANN001
    await settle(app, pilot)
    await pilot.press("4")
    await settle(app, pilot)
    assert isinstance(app.screen, OwnershipScreen)
    return app.screen


async def test_the_demo_plays_one_of_its_people_and_act_as_switches_sides(demo_path: Path, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FUSEBOARD_USER")  # the person at the keyboard, as the OS knows them
    demo_url = f"sqlite:///{demo_path / 'demo.db'}"  # the demo itself (always SQLite, marked as the demo)
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ownership(app, pilot)
        assert lines(app)[0].rstrip().endswith("[demo] as ana") and app.title_line("Ownership", 80).cell_len <= 80
        assert app.actor == "ana"
        first = screen.rows[0]  # ana (ds-core) gives churn-propensity: it waits for her signature
        assert (first.section, first.name) == ("✎ to sign", "churn-propensity")
        text = await palette(app, pilot, "act as")
        offered = text.replace(" ", "")  # (the palette's highlight splits the words)
        assert "actas:chloe" in offered and "actas:dev" in offered and "actas:ana" not in offered
        await pilot.press("escape")
        await palette(app, pilot, "act as: chloe")
        await pilot.press("enter")
        await settle(app, pilot)
        await settle(app, pilot)
        assert app.actor == "chloe" and lines(app)[0].rstrip().endswith("as chloe")
        await palette(app, pilot, "act as: eve")  # ml-platform: on neither side
        await pilot.press("enter")
        await settle(app, pilot)
        await settle(app, pilot)
        assert app.actor == "eve" and isinstance(app.screen, OwnershipScreen)
        assert app.screen.rows[0].section == "✖ policy"
        assert [r.section for r in app.screen.rows if r.name == "churn-propensity"][0] == "handover"


async def test_fuseboard_user_naming_a_demo_person_is_kept(demo_url: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUSEBOARD_USER", "dev")
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await ownership(app, pilot)
        assert app.actor == "dev" and lines(app)[0].rstrip().endswith("as dev")


async def test_nobody_known_is_said_with_the_fix_and_act_as_is_demo_only(demo_path: Path, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    plain = tmp_path / "plain"  # the same workspace, not a demo (no marker beside it)
    plain.mkdir()
    shutil.copy(demo_path / "demo.db", plain / "fuseboard.db")
    monkeypatch.delenv("FUSEBOARD_USER")
    me = os_user()
    app = make_app(f"sqlite:///{plain / 'fuseboard.db'}", tmp_path, label="work")
    async with app.run_test(size=SIZE) as pilot:
        await ownership(app, pilot)
        title = lines(app)[0]
        assert f"[work] as {me} (unknown)" in title and app.title_line("Ownership", 80).cell_len <= 80
        assert f"unknown person: fuseboard people add {me} --name NAME --team TEAM" in screen_text(app)
        assert app.demo_people == [] and app.actor == me
        text = await palette(app, pilot, "act as")
        assert "actas:" not in text.replace(" ", "")


async def test_ownership_has_headers_fits_80_columns_and_on_call_is_whole(demo_url: str, tmp_path: Path) -> None:
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ownership(app, pilot)
        shown = lines(app)
        assert shown[1].split() == ["what", "team", "/", "model", "detail"]
        assert all(len(line.strip()) <= 80 for line in shown[:24])
        nexts = [r for r in screen.rows if r.section == "on call next"]
        assert {r.name for r in nexts} == {"ds-core", "it-ops"}
        for r in nexts:  # whole on screen: the person and when their turn starts
            assert any(r.name in line and r.detail in line and "…" not in line for line in shown)


async def test_a_stalled_handover_is_flagged(demo_url: str, tmp_path: Path) -> None:
    ws = open_workspace(demo_url)
    with ws.transaction() as s:
        h = s.exec(select(Handover)).one()
        h.updated_at = utcnow() - timedelta(days=4, hours=1)
        s.add(h)
    ws.close()
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ownership(app, pilot)
        row = next(r for r in screen.rows if r.key == "handover:churn-propensity")
        assert "▲ stalled 4d" in row.detail and "▲ stalled 4d" in screen_text(app)
    config = tmp_path / "stall.toml"
    config.write_text("[ownership]\nstall_days = 5\n")
    app = make_app(demo_url, tmp_path, config=Config.load(config))
    async with app.run_test(size=SIZE) as pilot:
        screen = await ownership(app, pilot)
        row = next(r for r in screen.rows if r.key == "handover:churn-propensity")
        assert "stalled" not in row.detail and "░" in row.detail


async def test_the_shift_summary_lists_handovers_that_changed_state(demo_url: str, tmp_path: Path) -> None:
    ws = open_workspace(demo_url)
    handover.reject(ws, "churn-propensity", "no runbook yet", actor="chloe", origin="cli")
    ws.close()
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await ownership(app, pilot)
        await pilot.press("S")
        await settle(app, pilot)
        assert isinstance(app.screen, ShiftScreen)
        text = screen_text(app)
        assert "Handovers" in text
        assert "churn-propensity → it-ops: rejected (started by ana, rejected by chloe: no" in text
        assert "runbook yet)" in text
    from click.testing import CliRunner

    from fuseboard.cli import cli

    out = CliRunner().invoke(cli, ["--db", demo_url, "shift"]).output  # the same lines in the CLI
    assert "handovers\n  churn-propensity → it-ops: rejected (started by ana, rejected by chloe: no" in out


def test_the_fresh_demo_has_a_week_of_prod_checks_run_over_its_windows(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    now = utcnow()
    try:
        with ws.session() as s:
            m = s.exec(select(Model).where(Model.name == demo_history.MODEL)).one()
            prod = s.exec(select(Environment).where(Environment.name == "prod")).one()
            mine = (CheckRun.model_id == m.id, CheckRun.environment_id == prod.id)
            first = s.exec(select(func.min(CheckRun.at)).where(*mine)).one()
            windows = s.exec(select(WindowProfile.window_start).where(
                WindowProfile.model_id == m.id, WindowProfile.environment_id == prod.id)).all()
            others = s.exec(select(func.count(CheckRun.id)).where(CheckRun.model_id != m.id)).one()
            drift = s.exec(select(CheckState).where(CheckState.model_id == m.id, CheckState.environment_id == prod.id,
                                                    CheckState.check == "drift")).one()
        # a week of check runs in prod, on traffic stored in windows an hour apart across the week
        assert first <= now - timedelta(days=7) and others == 0
        assert len(windows) >= 7 * 24 and min(windows) <= now - timedelta(days=7)
        # computed from those windows: the checks over them now say what was recorded then
        again = next(d for d in checks_at(ws, drift.at) if (d.model, d.environment) == (m.name, "prod"))
        replayed = next(c for c in again.checks if c.check == "drift")
        assert (drift.status, drift.summary, drift.rows) == (replayed.status, replayed.summary, replayed.rows)
        assert drift.status == "ok" and drift.rows == demo_history.ROWS_PER_HOUR
        # and the handover's auto-verified items pass on a fresh demo
        handover.start(ws, m.name, "it-ops", actor="ana", origin="cli")
        view = handover.show(ws, m.name)
        auto = {i.key: i for i in view.items if i.auto and i.required}
        assert auto["monitoring.checks_running"].done, auto["monitoring.checks_running"].evidence
        assert all(i.done for i in auto.values()), [(i.key, i.evidence) for i in auto.values() if not i.done]
        # the rest is people's: evidence and both sides' signatures, then the owning team changes
        for item in view.required_open:
            handover.set_evidence(ws, m.name, item.key, "https://wiki/disease-progression", actor="ana", origin="cli")
            handover.tick(ws, m.name, item.key, actor="ana", origin="cli")
        handover.sign(ws, m.name, actor="ana", origin="cli")
        assert handover.sign(ws, m.name, actor="chloe", origin="cli").state == "transferred"
    finally:
        ws.close()
