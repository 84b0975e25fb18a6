"""A whole handover in the demo at 80x24, in the console alone (issue 20's proof): act as the data
scientist, record evidence, tick, sign; act as the engineer, read an item, reject with a reason; fix;
both sign; the owning team changes. Then the audit trail holds every step, by whom."""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlmodel import select

from fuseboard.ops import handover
from fuseboard.store.db import open_workspace
from fuseboard.store.models import AuditEvent
from fuseboard.tui.screens.checklist import ChecklistScreen
from fuseboard.tui.screens.handover_dialogs import ItemScreen, SignDialog
from fuseboard.tui.screens.ownership import OwnershipScreen
from tests.support.console import SIZE, goto_item, make_app, screen_text, settle

MODEL = "disease-progression"


async def act_as(app, pilot, handle: str) -> None:  # noqa: ANN001
    await pilot.press("colon")
    await settle(app, pilot)
    await pilot.press(*f"act as: {handle}")
    await settle(app, pilot)
    await pilot.pause(0.3)
    await pilot.press("enter")
    await settle(app, pilot)
    assert app.actor == handle


async def to_ownership(app, pilot) -> OwnershipScreen:  # noqa: ANN001
    while not isinstance(app.screen, OwnershipScreen):
        await pilot.press("escape" if isinstance(app.screen, ChecklistScreen) else "4")
        await settle(app, pilot)
    return app.screen


async def select_row(app, pilot, key: str) -> None:  # noqa: ANN001
    screen = app.screen
    await pilot.press("g")
    for _ in range(60):
        if screen.selected is not None and screen.selected.key == key:
            return
        await pilot.press("j")
    raise AssertionError(f"no row {key}: {[r.key for r in screen.rows]}")


async def open_checklist(app, pilot) -> ChecklistScreen:  # noqa: ANN001
    await to_ownership(app, pilot)
    await select_row(app, pilot, f"handover:{MODEL}")
    await pilot.press("enter")
    await settle(app, pilot)
    assert isinstance(app.screen, ChecklistScreen)
    return app.screen


async def type_into_dialog(app, pilot, text: str) -> None:  # noqa: ANN001
    await settle(app, pilot)
    await pilot.press(*text)
    await pilot.press("enter")
    await settle(app, pilot)


async def sign(app, pilot) -> None:  # noqa: ANN001
    await pilot.press("s")
    await settle(app, pilot)
    assert isinstance(app.screen, SignDialog)
    await pilot.press("y")
    await settle(app, pilot)


def state(url: str) -> handover.HandoverView:
    ws = open_workspace(url)
    try:
        return handover.show(ws, MODEL)
    finally:
        ws.close()


async def test_a_newcomer_takes_a_model_from_draft_to_transferred_in_the_demo(demo_path: Path, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FUSEBOARD_USER", raising=False)  # a newcomer: nobody the demo knows
    demo_url = f"sqlite:///{demo_path / 'demo.db'}"  # the demo itself (always SQLite, marked as the demo)
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.actor == "ana"  # the demo plays its data scientist (ds-core) first
        await to_ownership(app, pilot)
        await select_row(app, pilot, f"model:{MODEL}")
        await pilot.press("n")
        await type_into_dialog(app, pilot, "it-ops")
        view = state(demo_url)
        assert (view.state, view.from_team, view.to_team) == ("draft", "ds-core", "it-ops")

        checklist = await open_checklist(app, pilot)
        open_manual = [i.key for i in checklist.view.items if not i.auto and not i.done and i.required]
        assert open_manual, "the demo leaves some items for people to satisfy"
        for key in open_manual:  # evidence, then tick
            await goto_item(app, pilot, key)
            await pilot.press("e")
            await type_into_dialog(app, pilot, f"https://wiki/{MODEL}/{key}")
            await pilot.press("space")
            await settle(app, pilot)
        await sign(app, pilot)  # the giving side signs: the handover goes to review
        view = state(demo_url)
        assert view.state == "in_review" and all(i.done for i in view.items if i.required), view.state

        await act_as(app, pilot, "chloe")  # the engineer of the receiving team (it-ops)
        await open_checklist(app, pilot)
        await goto_item(app, pilot, open_manual[0])
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ItemScreen)
        assert f"https://wiki/{MODEL}/{open_manual[0]}" in screen_text(app) and "ana" in screen_text(app)
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("x")
        await type_into_dialog(app, pilot, "runbook link is a draft")
        assert state(demo_url).state == "rejected"

        await act_as(app, pilot, "ana")
        await open_checklist(app, pilot)
        shown = screen_text(app).splitlines()
        shown = shown[next(i for i, line in enumerate(shown) if "[demo]" in line):]  # from the title line
        reason = next(i for i, line in enumerate(shown) if "runbook link is a draft" in line)
        assert reason < next(i for i, line in enumerate(shown) if "item" in line.split())  # first, above the items
        await goto_item(app, pilot, open_manual[-1])
        await pilot.press("e")
        await pilot.press("ctrl+u")  # (clear the field: the evidence so far is filled in)
        await type_into_dialog(app, pilot, f"https://wiki/{MODEL}/runbook-final")
        await sign(app, pilot)  # fixed: signs again (a resubmission)

        await act_as(app, pilot, "chloe")
        await open_checklist(app, pilot)
        await sign(app, pilot)
        view = state(demo_url)
        assert view.state == "transferred"
        await to_ownership(app, pilot)
        await settle(app, pilot)
        assert any(MODEL in line and "owner it-ops" in line for line in screen_text(app).splitlines())

    ws = open_workspace(demo_url)
    with ws.session() as s:
        trail = [(e.action, e.actor) for e in s.exec(select(AuditEvent).where(AuditEvent.target.like(f"{MODEL}%"))
                                                    .order_by(AuditEvent.id)) if e.action.startswith("handover")]
    ws.close()
    ticked = [("handover.evidence", "ana"), ("handover.tick", "ana")] * len(open_manual)
    assert trail == [("handover.start", "ana"), *ticked, ("handover.sign", "ana"), ("handover.reject", "chloe"),
                     ("handover.evidence", "ana"), ("handover.submit", "ana"), ("handover.sign", "ana"),
                     ("handover.sign", "chloe"), ("handover.accept", "chloe")]
