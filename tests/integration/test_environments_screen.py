"""The Environments screen at 80x24: the matrix, rollback for both tiers, promotion gates, read-only."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Button, Input

from fuseboard.store.db import open_workspace
from fuseboard.ops.views import audit_events, rollout_history
from fuseboard.tui.app import FuseboardApp
from fuseboard.tui.screens.dialogs import ChangeDialog
from fuseboard.tui.screens.environments import EnvironmentsScreen
from fuseboard.tui.screens.history import HistoryScreen
from fuseboard.tui.screens.versions import VersionDialog
from fuseboard.tui.widgets.table import VirtualTable
from tests.support.console import SIZE, make_app, screen_text, settle
from tests.support.incidents import serving


async def open_environments(app: FuseboardApp, pilot, model: str) -> EnvironmentsScreen:  # noqa: ANN001
    await settle(app, pilot)
    await pilot.press("2")
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, EnvironmentsScreen)
    while screen.selected_row.model != model:
        await pilot.press("j")
    return screen


async def test_matrix_shows_version_health_and_known_good(demo_url: str, tmp_path: Path) -> None:
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_environments(app, pilot, "credit-risk")
        text = screen_text(app)
        assert "▸prod" in text and "v3" in text and "★" in text
        assert screen.selected_env == "prod"
        await pilot.press("left")
        assert screen.selected_env == "staging" and "▸staging" in screen_text(app)
        assert "credit-risk in staging: v3" in screen_text(app)


async def test_internal_rollback_is_r_then_y(demo_url: str, tmp_path: Path) -> None:
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_environments(app, pilot, "churn-propensity")
        await pilot.press("r")
        await settle(app, pilot)
        assert isinstance(app.screen, ChangeDialog)
        text = screen_text(app)
        assert "Rollback churn-propensity in prod" in text and "v2 → v1" in text and "on call:" in text
        assert app.screen.focused is app.screen.query_one("#cancel", Button)  # Cancel has the focus
        await pilot.press("y")
        await settle(app, pilot)
        await settle(app, pilot)
        assert isinstance(app.screen, EnvironmentsScreen)
    assert serving(demo_url, "churn-propensity", "prod") == 1
    ws = open_workspace(demo_url)
    assert [e.action for e in audit_events(ws, model="churn-propensity", env="prod", limit=3)] == [
        "rollout.known_good_revoked", "rollback", "rollback.start"]
    ws.close()


async def test_enter_on_cancel_changes_nothing(demo_url: str, tmp_path: Path) -> None:
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_environments(app, pilot, "churn-propensity")
        await pilot.press("r")
        await settle(app, pilot)
        await pilot.press("enter")  # the focused button is Cancel
        await settle(app, pilot)
        assert isinstance(app.screen, EnvironmentsScreen)
    assert serving(demo_url, "churn-propensity", "prod") == 2


@pytest.mark.slow
async def test_mission_critical_rollback_needs_the_name_and_a_reason(demo_url: str, tmp_path: Path) -> None:
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_environments(app, pilot, "credit-risk")
        await pilot.press("r")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, ChangeDialog) and "type credit-risk to confirm" in screen_text(app)
        assert dialog.focused is dialog.query_one("#field-name", Input)  # the name field has the focus
        await pilot.press("y")  # not a confirmation for a mission-critical model in prod: typed into the name
        await pilot.press("enter", "enter")
        await settle(app, pilot)
        assert app.screen is dialog and "type credit-risk exactly" in screen_text(app)
        await pilot.press("backspace", *"credit-risk", "enter")  # the name field has the focus again
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen is dialog and "a reason is required" in screen_text(app)
        await pilot.press(*"INC-7 drift", "enter")
        await settle(app, pilot)
        await settle(app, pilot)
        assert isinstance(app.screen, EnvironmentsScreen)
    assert serving(demo_url, "credit-risk", "prod") == 1
    ws = open_workspace(demo_url)
    latest = rollout_history(ws, "credit-risk", "prod")[0]
    assert (latest.action, latest.state, latest.reason) == ("rollback", "succeeded", "INC-7 drift")
    ws.close()


async def test_promotion_dialog_lists_failing_gates_and_override_needs_a_reason(demo_url: str, tmp_path: Path) -> None:
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_environments(app, pilot, "credit-risk")
        await pilot.press("left")  # staging: promote into prod
        assert screen.selected_env == "staging"
        await pilot.press("p")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, ChangeDialog)
        text = screen_text(app)
        assert "Promote credit-risk in prod" in text and "✖ FAIL IT sign-off" in text
        assert "✔ pass validation metrics" in text and "Override" in text
        dialog.query_one("#field-name", Input).value = "credit-risk"
        dialog.query_one("#field-reason", Input).focus()
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen is dialog and "a reason is required to override failing gates" in screen_text(app)
        await pilot.press("escape")
        await settle(app, pilot)
    assert serving(demo_url, "credit-risk", "prod") == 2


@pytest.mark.slow
async def test_deploy_asks_for_the_version_then_confirms(demo_url: str, tmp_path: Path) -> None:
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_environments(app, pilot, "tumour-screening")
        await pilot.press("left", "left")
        assert screen.selected_env == "dev"
        await pilot.press("d")
        await settle(app, pilot)
        assert isinstance(app.screen, VersionDialog)  # the versions to choose from, with metrics and marks
        text = screen_text(app)
        assert "roc_auc" in text and "v2" in text and "v1" in text and "▶★" in text
        assert app.screen.query_one(VirtualTable).cursor_key == 1  # the newest one not serving
        await pilot.press("up", "down", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ChangeDialog) and "v2 → v1" in screen_text(app)
        await pilot.press("y")
        await settle(app, pilot)
        await settle(app, pilot)
    assert serving(demo_url, "tumour-screening", "dev") == 1


async def test_history_shows_rollouts_and_the_audit_trail(demo_url: str, tmp_path: Path) -> None:
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_environments(app, pilot, "credit-risk")
        await pilot.press("h")
        await settle(app, pilot)
        assert isinstance(app.screen, HistoryScreen)
        text = screen_text(app)
        assert "Rollouts of credit-risk in prod" in text and "deploy v1→v2" in text and "★" in text
        await pilot.press("escape")
        assert isinstance(app.screen, EnvironmentsScreen)


async def test_read_only_hides_rollback_promote_and_deploy(demo_url: str, tmp_path: Path) -> None:
    app = make_app(demo_url, tmp_path, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_environments(app, pilot, "churn-propensity")
        text = screen_text(app)
        assert "Rollback" not in text and "Promote" not in text and "Deploy" not in text and "History" in text
        await pilot.press("r")
        await settle(app, pilot)
        assert isinstance(app.screen, EnvironmentsScreen)
    assert serving(demo_url, "churn-propensity", "prod") == 2


def test_rollback_dialog_snapshot(snap_compare, demo_url: str, tmp_path: Path) -> None:
    async def ready(pilot) -> None:  # noqa: ANN001
        await open_environments(pilot.app, pilot, "credit-risk")
        await pilot.press("r")
        await settle(pilot.app, pilot)

    assert snap_compare(make_app(demo_url, tmp_path), terminal_size=SIZE, run_before=ready)


async def test_audit_trail_filters_to_the_deployment_and_verifies_the_chain(demo_url: str, tmp_path: Path) -> None:
    from fuseboard.tui.screens.audit import AuditScreen

    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_environments(app, pilot, "credit-risk")
        await pilot.press("u")
        await settle(app, pilot)
        await settle(app, pilot)
        assert isinstance(app.screen, AuditScreen)
        text = screen_text(app)
        assert "chain intact" in text and "credit-risk/prod" in text and "churn-propensity" not in text
        await pilot.press("escape")  # clears the filter first
        await settle(app, pilot)
        assert isinstance(app.screen, AuditScreen) and "churn-propensity" in screen_text(app)
        await pilot.press("escape")
        assert isinstance(app.screen, EnvironmentsScreen)
