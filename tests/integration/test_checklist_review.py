"""Reviewing a handover checklist in the console at 80x24 (issue 20): enter shows an item whole, s says
what signing means (or exactly why not) before signing, x rejects with a reason the other side reads
first."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from fuseboard.ops import handover
from fuseboard.store.db import open_workspace
from fuseboard.tui.screens.checklist import ChecklistScreen
from fuseboard.tui.screens.handover_dialogs import ItemScreen, SignDialog
from tests.support.console import SIZE, goto_item, make_app, open_checklist, screen_text, settle
from tests.support.ownership import ready_tumour_handover

WHEN = datetime(2026, 11, 30, 9, 15, tzinfo=timezone.utc)


def view(url: str, model: str) -> handover.HandoverView:
    ws = open_workspace(url)
    try:
        return handover.show(ws, model)
    finally:
        ws.close()


def modal_text(app) -> str:  # noqa: ANN001
    """The words of the dialog on top, unwrapped (its Static widgets, rendered wide), spaces collapsed."""
    import io

    from rich.console import Console
    from textual.widgets import Static

    console = Console(width=300, file=io.StringIO(), record=True, color_system=None)
    for widget in app.screen.query(Static):
        console.print(widget.content)
    return " ".join(console.export_text().split())


def give(url: str, text: str, who: str, minutes: int) -> None:
    ws = open_workspace(url)
    try:
        handover.set_evidence(ws, "churn-propensity", "ops.runbook", text, actor=who, origin="cli",
                              now=WHEN.replace(minute=minutes))
    finally:
        ws.close()


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def test_enter_shows_the_item_whole_with_every_piece_of_evidence(demo_url: str, tmp_path: Path,
                                                                        utc: None) -> None:
    give(demo_url, "https://wiki/rb1", "ben", 10)
    give(demo_url, "https://wiki/rb2", "ana", 20)
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_checklist(app, pilot)
        await goto_item(app, pilot, "ops.runbook")
        text = screen_text(app)
        assert "✎ evidence" in text and "✔ by ana" in text and "✖ failing" in text and "● verified" in text
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ItemScreen)
        text = modal_text(app)
        assert "Runbook is written and shared with operations" in text and "operational readiness" in text
        assert "○ open · required · evidence given, not ticked yet" in text
        assert "https://wiki/rb2 (given by ana on 2026-11-30 09:20 UTC)" in text
        assert "earlier https://wiki/rb1 (given by ben on 2026-11-30 09:10 UTC)" in text
        await pilot.press("escape")
        await goto_item(app, pilot, "monitoring.checks_running")
        text = screen_text(app)  # the failing item's explanation whole, under the list
        assert "✖ health and drift never ran in prod · to pass: run the monitor (fuseboard monitor) for 7" \
               " days" in " ".join(text.split())
        await pilot.press("enter")
        await settle(app, pilot)
        text = modal_text(app)
        assert "found health and drift never ran in prod" in text
        assert "to pass run the monitor (fuseboard monitor) for 7 days" in text


async def test_s_explains_why_it_cannot_sign(demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUSEBOARD_USER", "eve")  # ml-platform: neither side
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_checklist(app, pilot)
        await pilot.press("s")
        await settle(app, pilot)
        assert isinstance(app.screen, SignDialog)
        text = modal_text(app)
        assert ("You cannot sign: eve is in neither the giving team (ds-core) nor the receiving team (it-ops); eve "
                "is in ml-platform") in text
        assert "Sign (y)" not in screen_text(app)
        await pilot.press("y")  # nothing to confirm
        await settle(app, pilot)
        assert isinstance(app.screen, SignDialog)
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, ChecklistScreen)
    assert view(demo_url, "churn-propensity").signatures == {}


@pytest.mark.slow
async def test_s_says_what_signing_means_then_signs_and_ownership_moves(demo_url: str, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    ready_tumour_handover(demo_url)
    ws = open_workspace(demo_url)
    handover.sign(ws, "tumour-screening", actor="ana", origin="cli")
    ws.close()
    monkeypatch.setenv("FUSEBOARD_USER", "dev")
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_checklist(app, pilot, "tumour-screening")
        await pilot.press("s")
        await settle(app, pilot)
        assert isinstance(app.screen, SignDialog)
        text = modal_text(app)
        assert "You (dev, it-ops) sign for the receiving side." in text
        assert "Then ownership of tumour-screening moves from ds-core to it-ops." in text
        assert app.screen.focused is not None and app.screen.focused.id == "cancel"
        await pilot.press("y")
        await settle(app, pilot)
        await settle(app, pilot)
        assert isinstance(app.screen, ChecklistScreen)
    after = view(demo_url, "tumour-screening")
    assert after.state == "transferred" and after.signatures == {"giving": "ana", "receiving": "dev"}


async def test_x_rejects_and_the_other_side_reads_the_reason_first(demo_url: str, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUSEBOARD_USER", "ana")  # giving side: x is not theirs, and says why
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_checklist(app, pilot)
        await pilot.press("x")
        await settle(app, pilot)
        assert isinstance(app.screen, ChecklistScreen)
        assert "only it-ops (receiving) rejects; you are in ds-core" in " ".join(screen_text(app).split())
    monkeypatch.setenv("FUSEBOARD_USER", "dev")
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_checklist(app, pilot)
        await pilot.press("x", *"no retrain-by date", "enter")
        await settle(app, pilot)
        await settle(app, pilot)
    after = view(demo_url, "churn-propensity")
    assert after.state == "rejected" and after.rejected_by == "dev" and after.reason == "no retrain-by date"
    monkeypatch.setenv("FUSEBOARD_USER", "ana")
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_checklist(app, pilot)
        lines = screen_text(app).splitlines()
        title = next(n for n, line in enumerate(lines) if "Ownership" in line)
        assert lines[title + 1].strip().startswith("✖ rejected by dev on ") and "no retrain-by date" in lines[title + 1]
        assert screen.unavailable_reason("reject").startswith("already rejected")


def test_item_view_snapshot(snap_compare, demo_url: str, tmp_path: Path,  # noqa: ANN001
                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUSEBOARD_USER", "dev")

    async def ready(pilot) -> None:  # noqa: ANN001
        await open_checklist(pilot.app, pilot)
        await goto_item(pilot.app, pilot, "monitoring.checks_running")
        await pilot.press("enter")
        await settle(pilot.app, pilot)

    assert snap_compare(make_app(demo_url, tmp_path), terminal_size=SIZE, run_before=ready)


@pytest.mark.slow
def test_sign_dialog_snapshot(snap_compare, demo_url: str, tmp_path: Path,  # noqa: ANN001
                              monkeypatch: pytest.MonkeyPatch) -> None:
    ready_tumour_handover(demo_url)
    monkeypatch.setenv("FUSEBOARD_USER", "dev")

    async def ready(pilot) -> None:  # noqa: ANN001
        await open_checklist(pilot.app, pilot, "tumour-screening")
        await pilot.press("s")
        await settle(pilot.app, pilot)

    assert snap_compare(make_app(demo_url, tmp_path), terminal_size=SIZE, run_before=ready)
