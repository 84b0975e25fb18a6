"""The Ownership screen and the checklist review at 80x24."""

from __future__ import annotations

from pathlib import Path

import pytest

from fuseboard.ops import handover
from fuseboard.store.db import open_workspace
from fuseboard.tui.screens.checklist import ChecklistScreen
from fuseboard.tui.screens.dialogs import FormDialog
from fuseboard.tui.screens.ownership import OwnershipScreen, ShiftScreen
from tests.support.console import SIZE, goto_item, make_app, open_checklist, screen_text, settle


def view(url: str, model: str = "churn-propensity") -> handover.HandoverView:
    ws = open_workspace(url)
    try:
        return handover.show(ws, model)
    finally:
        ws.close()


async def test_ownership_lists_violations_first_then_on_call_and_handovers(demo_url: str, tmp_path: Path) -> None:
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("4")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, OwnershipScreen)
        sections = [r.section for r in screen.rows]
        assert sections[:2] == ["✖ policy", "✖ policy"] and sections[2] == "on call now"
        text = screen_text(app)
        assert "credit-risk" in text and "no completed handover" in text
        assert "it-ops" in text and ("chloe until" in text or "dev until" in text)
        assert "churn-propensity" in text and "→ it-ops · in review" in text and "░" in text


@pytest.mark.slow
async def test_checklist_tick_needs_evidence_then_ticks(demo_url: str, tmp_path: Path) -> None:
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_checklist(app, pilot)
        await goto_item(app, pilot, "ops.runbook")
        assert screen.unavailable_reason("tick") == "give evidence first (e)"
        await pilot.press("space")  # dimmed: nothing happens
        await settle(app, pilot)
        await pilot.press("e")
        await settle(app, pilot)
        assert isinstance(app.screen, FormDialog)
        await pilot.press(*"https://wiki/runbook", "enter")
        await settle(app, pilot)
        await settle(app, pilot)
        await pilot.press("space")
        await settle(app, pilot)
        await settle(app, pilot)
        item = next(i for i in screen.view.items if i.key == "ops.runbook")
        assert item.done and item.evidence == "https://wiki/runbook"


async def test_auto_items_cannot_be_ticked_and_show_their_evidence(demo_url: str, tmp_path: Path) -> None:
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_checklist(app, pilot)
        await goto_item(app, pilot, "data.schema")
        assert "fuseboard verifies data.schema" in screen.unavailable_reason("tick")
        assert "fuseboard checks this" in screen_text(app) and "features in the schema" in screen_text(app)
        before = view(demo_url).state
        await pilot.press("space")
        await settle(app, pilot)
        assert view(demo_url).state == before


async def test_sign_is_refused_until_required_items_are_done_and_reject_needs_a_reason(
        demo_url: str, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("FUSEBOARD_USER", "dev")  # receiving team (it-ops)
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_checklist(app, pilot)
        assert "required item(s) not satisfied yet" in screen.plan.refusal  # (s opens the dialog that says so)
        await pilot.press("x")
        await settle(app, pilot)
        assert isinstance(app.screen, FormDialog)
        await pilot.press("enter")  # empty reason: the form says so and stays
        await settle(app, pilot)
        assert isinstance(app.screen, FormDialog)
        await pilot.press(*"no runbook yet", "enter")
        await settle(app, pilot)
        await settle(app, pilot)
        assert isinstance(app.screen, ChecklistScreen)
    after = view(demo_url)
    assert after.state == "rejected" and after.reason == "no runbook yet"


async def test_read_only_hides_the_review_keys(demo_url: str, tmp_path: Path) -> None:
    app = make_app(demo_url, tmp_path, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_checklist(app, pilot)
        text = screen_text(app)
        assert "Tick" not in text and "Sign" not in text and "Reject" not in text


async def test_shift_summary_view(demo_url: str, tmp_path: Path) -> None:
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("4")
        await settle(app, pilot)
        await pilot.press("S")
        await settle(app, pilot)
        assert isinstance(app.screen, ShiftScreen)
        text = screen_text(app)
        assert "on call, since" in text and "alerts opened" in text


def test_ownership_snapshot(snap_compare, demo_url: str, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from fuseboard.tui.screens import ownership

    monkeypatch.setattr(ownership, "_turn", lambda turn: f"{turn.person} until Mon 09:00" if turn else "nobody")

    async def ready(pilot) -> None:  # noqa: ANN001
        await settle(pilot.app, pilot)
        await pilot.press("4")
        await settle(pilot.app, pilot)
        await pilot.press("j", "j")

    assert snap_compare(make_app(demo_url, tmp_path), terminal_size=SIZE, run_before=ready)
