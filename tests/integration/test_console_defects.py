"""The console at 80x24, on the way through the 3 a.m. loop (issue 14): alert hygiene in the monitoring
list (a new critical alert takes the cursor, who acknowledged or silenced it and when, typed
durations) and the console defects found (dimmed keys say why, unknown signers, Enter opens a
checklist item or an audit event whole, screens read again on return, key bars and tables at 80
columns, deploy notes)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from textual import events
from textual.widgets import Input

from fuseboard.monitoring.checks import CheckResult, DeploymentChecks
from fuseboard.store.db import open_workspace
from fuseboard.tui.screens.dialogs import ChangeDialog, EntryScreen, FormDialog
from fuseboard.tui.screens.handover_dialogs import ItemScreen, SignDialog
from fuseboard.tui.screens.models import ModelsScreen
from fuseboard.tui.widgets.table import VirtualTable
from tests.support.console import SIZE, make_app, screen_text, settle
from tests.support.incidents import DRIFT, incident_alerts, monitoring, record, serving, until


@pytest.fixture
def alerting_url(demo_url: str) -> str:
    """The demo with a critical drift alert on credit-risk/prod and staleness warnings on churn (dev, prod):
    this module's own, one warning more than the ``alerting_url`` of tests/integration/conftest.py."""
    return incident_alerts(demo_url)


# -- item 3: alert hygiene in the list ---------------------------------------------------------------------

async def test_a_new_critical_alert_takes_the_cursor_unless_the_user_moved_it(demo_url: str, tmp_path: Path) -> None:
    record(demo_url, DeploymentChecks("churn-propensity", "prod", 2, "internal", "warn",
                                      [CheckResult("staleness", "warn", "past its retrain-by date")]),
           DeploymentChecks("tumour-screening", "prod", 2, "internal", "warn",
                            [CheckResult("staleness", "warn", "past its retrain-by date")]))
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await monitoring(app, pilot)
        table = screen.query_one(VirtualTable)
        record(demo_url, DeploymentChecks("credit-risk", "prod", 2, "mission-critical", "crit", [DRIFT]))
        screen.reload()
        await settle(app, pilot)
        assert screen.selected.model == "credit-risk"  # the new critical alert took the cursor
        await pilot.press("g")
        record(demo_url, DeploymentChecks("tumour-screening", "prod", 2, "mission-critical", "crit",
                                          [CheckResult("staleness", "crit", "escalated")]))
        screen.reload()
        await settle(app, pilot)
        assert screen.selected.model == "tumour-screening"  # a warning that turned critical takes it too
        await pilot.press("j")  # the user moves: the next critical alert leaves the cursor where it is
        moved_to = table.cursor_key
        record(demo_url, DeploymentChecks("demand-forecast", "prod", 2, "mission-critical", "crit",
                                          [CheckResult("health", "crit", "down for 3 probes: HTTP 503")]))
        screen.reload()
        await settle(app, pilot)
        assert table.cursor_key == moved_to and {a.model for a in screen.alerts} >= {"demand-forecast"}


async def test_who_acknowledged_or_silenced_and_when_shows_in_the_list(alerting_url: str, tmp_path: Path) -> None:
    app = make_app(alerting_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await monitoring(app, pilot, "credit-risk")
        await pilot.press("a")
        await settle(app, pilot)
        await settle(app, pilot)
        at = screen.selected.acknowledged_at.astimezone()
        assert f"acked by tester {at:%H:%M} · credit-risk/prod drift" in screen_text(app)
        await pilot.press("s")
        await settle(app, pilot)
        await pilot.press("enter", *"known cause", "enter")  # the 2h already in the field is the default
        await settle(app, pilot)
        await settle(app, pilot)
        until_ = (datetime.now(timezone.utc) + timedelta(hours=2)).astimezone()
        text = screen_text(app)
        assert "silenced by tester until" in text
        assert f"until {until_:%H:%M}" in text or f"until {until_ - timedelta(minutes=1):%H:%M}" in text


async def test_a_typed_duration_replaces_the_default(alerting_url: str, tmp_path: Path) -> None:
    app = make_app(alerting_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await monitoring(app, pilot, "credit-risk")
        await pilot.press("s")
        await settle(app, pilot)
        assert isinstance(app.screen, FormDialog)
        assert app.screen.query_one("#field-duration", Input).value == "2h"  # a value, not a placeholder
        await pilot.press("escape")
        for key in "s30m":  # typed straight behind s, before the form has mounted: over the default too
            app.post_message(events.Key(key, key))
        await settle(app, pilot)  # on a loaded machine the keys may still be on their way: wait for them
        assert await until(app, pilot, lambda: isinstance(app.screen, FormDialog) and len(
            app.screen.query_one("#field-duration", Input).value) >= 3), screen_text(app)
        assert app.screen.query_one("#field-duration", Input).value == "30m"
        await pilot.press("enter", *"ticket", "enter")
        await settle(app, pilot)
        await settle(app, pilot)
        ends = screen.selected.silenced_until
        assert timedelta(minutes=28) < ends - datetime.now(timezone.utc) <= timedelta(minutes=30)


# -- item 6: console defects -------------------------------------------------------------------------------

async def test_a_dimmed_key_says_why_in_the_status_line(alerting_url: str, tmp_path: Path) -> None:
    app = make_app(alerting_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await monitoring(app, pilot, "credit-risk")
        await pilot.press("a")
        await settle(app, pilot)
        await settle(app, pilot)
        await pilot.press("a")
        assert "a (Ack) is unavailable: already acknowledged by tester" in screen_text(app)


async def test_signing_as_a_person_the_workspace_does_not_know_says_so(demo_url: str, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.console import open_checklist

    monkeypatch.setenv("FUSEBOARD_USER", "mallory")
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_checklist(app, pilot)
        await pilot.press("s")
        await settle(app, pilot)
        assert isinstance(app.screen, SignDialog)  # it says what signing needs, and why mallory cannot
        assert "You cannot sign: mallory is not a known person" in screen_text(app)


async def test_enter_opens_a_checklist_item_with_its_evidence(demo_url: str, tmp_path: Path) -> None:
    from tests.support.console import open_checklist

    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_checklist(app, pilot)
        item = screen.selected
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ItemScreen)
        text = screen_text(app)
        assert f"churn-propensity › {item.key}" in text and "found" in text and "required" in text
        await pilot.press("escape")
        assert app.screen is screen


async def test_enter_opens_an_audit_event_whole(alerting_url: str, tmp_path: Path) -> None:
    app = make_app(alerting_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.open_audit()
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, EntryScreen)
        text = screen_text(app)
        assert "when" in text and "who" in text and "via" in text and "reason" in text


@pytest.mark.slow
async def test_the_models_screen_is_read_again_on_return(demo_url: str, tmp_path: Path) -> None:
    from fuseboard.ops.deploy import deploy

    app = make_app(demo_url, tmp_path)
    app.REFRESH_SECONDS = 0  # no timer: only the return may read it again
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ModelsScreen)
        await pilot.press("2")
        await settle(app, pilot)
        ws = open_workspace(demo_url)
        deploy(ws, "tumour-screening", 1, "dev", actor="t", origin="cli")
        ws.close()
        await pilot.press("1")
        await settle(app, pilot)
        row = next(r for r in screen.all_rows if r.name == "tumour-screening")
        assert row.deployed["dev"] == 1


async def test_key_bars_fit_80_columns_with_the_conventional_keys(alerting_url: str, tmp_path: Path) -> None:
    app = make_app(alerting_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        for screen_key, wanted in (("2", ["r Rollback", "p Promote", "d Deploy", "h History", "u Audit"]),
                                   ("3", ["r Rollback", "a Ack", "s Silence", "x Resolve", "h History"])):
            await pilot.press(screen_key)
            await settle(app, pilot)
            bar = screen_text(app).rstrip().splitlines()[-1]
            assert all(w in bar for w in wanted + ["? Help", ": palette"]), bar
        await pilot.press("enter")
        await settle(app, pilot)
        bar = screen_text(app).rstrip().splitlines()[-1]
        assert all(w in bar for w in ["r Rollback", "a Ack", "s Silence", "x Resolve", "h History", "? Help",
                                      ": palette"]), bar


async def test_environments_help_lists_the_column_keys(demo_url: str, tmp_path: Path) -> None:
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("2")
        await settle(app, pilot)
        await pilot.press("question_mark")
        await settle(app, pilot)
        text = screen_text(app)
        assert "select the environment to the left" in text and "select the environment to the right" in text
        import io

        from rich.console import Console

        from fuseboard.tui.screens.help import help_table

        wide = Console(width=300, record=True, file=io.StringIO())
        wide.print(help_table(app.screen_stack[-2]))
        assert "unavailable, prod is the last environment; nothing comes after it" in wide.export_text()


async def test_model_detail_deployments_read_at_80_columns(demo_url: str, tmp_path: Path) -> None:
    from fuseboard.ops.deploy import deploy

    ws = open_workspace(demo_url)
    deploy(ws, "credit-risk", 2, "dev", actor="t", origin="cli",
           endpoint_url="http://serving.internal.example:8080/models/credit-risk/dev")
    ws.close()
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.open_model("credit-risk")
        await settle(app, pilot)
        await pilot.press(*"jjjjjjjjjj")
        await settle(app, pilot)
        text = screen_text(app)
        assert "Deployments" in text
        dev = [line for line in text.splitlines() if "dev" in line and "ago" in line]
        assert dev and "v2" in dev[0], dev
        assert "serving.internal.example" in text and "2d ago" in text  # no column squeezed to "…"


@pytest.mark.slow
async def test_a_dev_deploy_without_an_endpoint_says_so_as_a_note(demo_url: str, tmp_path: Path) -> None:
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("2")
        await settle(app, pilot)
        screen = app.screen
        while screen.selected_row.model != "tumour-screening":
            await pilot.press("j")
        await pilot.press("left", "left", "d")
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        await settle(app, pilot)
        messages = [n.message for n in app._notifications]
        assert any("Note: no endpoint recorded" in m for m in messages), messages
        assert not any("NOT CONFIRMED" in m for m in messages)


async def test_y_typed_before_the_plan_was_shown_never_confirms_it(alerting_url: str, tmp_path: Path) -> None:
    """Deterministic, whatever the machine's speed: a `y` typed in the same burst as `r` (its event
    older than the plan on screen) confirms nothing even when it is handled after the plan arrived;
    a `y` typed after the plan was shown does."""
    app = make_app(alerting_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await monitoring(app, pilot, "churn-propensity")
        early = events.Key("y", "y")  # typed now, before `r` is even handled
        await pilot.press("r")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, ChangeDialog) and dialog.plan is not None  # the plan is on screen
        app.post_message(early)
        await settle(app, pilot)
        assert app.screen is dialog and "read it, then confirm again" in screen_text(app)
        await pilot.press("y")
        await settle(app, pilot)
        assert app.screen is not dialog
        assert await until(app, pilot, lambda: app.rollouts_running == {})
    assert serving(alerting_url, "churn-propensity", "prod") == 1
