"""The 3 a.m. loop in the console at 80x24 (issue 14): from an alert to the incident view (owner, on
call, what changed, the verdict) and a verified rollback in a few keys, and the whole loop on the
live demo."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import events
from textual.widgets import Input

from fuseboard.monitoring import alerts
from fuseboard.monitoring.checks import CheckResult, DeploymentChecks
from fuseboard.store.db import open_workspace
from fuseboard.tui.screens.deployment import DeploymentScreen
from fuseboard.tui.screens.dialogs import ChangeDialog
from fuseboard.tui.screens.environments import EnvironmentsScreen
from fuseboard.tui.widgets.table import VirtualTable
from tests.support.console import SIZE, make_app, screen_text, settle
from tests.support.incidents import DRIFT, incident_alerts, monitoring, record, serving, until


@pytest.fixture
def alerting_url(demo_url: str) -> str:
    """The demo with a critical drift alert on credit-risk/prod and staleness warnings on churn (dev, prod):
    this module's own, one warning more than the ``alerting_url`` of tests/integration/conftest.py."""
    return incident_alerts(demo_url)


# -- item 1: the incident view ---------------------------------------------------------------------------

async def test_enter_opens_the_incident_with_owner_on_call_changes_and_the_verdict(alerting_url: str,
                                                                                   tmp_path: Path) -> None:
    app = make_app(alerting_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await monitoring(app, pilot, "credit-risk")
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, DeploymentScreen)
        text = screen_text(app)
        assert "✖ crit drift alert" in text and "firing, since" in text
        assert "Rollback to v1: " in text  # the verdict line, with its reasons
        assert "Owner it-ops · on call Chloe Martin (chloe) +44 20 7946 0201" in text
        assert "· next Dev Patel (dev) +44 20 7946 0202" in text
        assert "Runbook none (fuseboard monitoring set credit-risk --runbook URL)" in text
        assert "What is wrong, worst first" in text and "3 of 8 features drifted" in text
        await pilot.press("G")
        await settle(app, pilot)
        text = screen_text(app)
        assert "Drift, worst first" in text and "History (status changes)" in text  # the detail, below
        await pilot.press("g")
        assert "a Ack" in screen_text(app) and "r Rollback" in screen_text(app)


async def test_the_runbook_and_what_changed_are_shown_as_written(alerting_url: str, tmp_path: Path) -> None:
    from fuseboard.monitoring.settings import update

    ws = open_workspace(alerting_url)
    update(ws, "credit-risk", {"runbook": "https://wiki/credit [@click=app.quit] \x1b[2J"}, actor="ana",
                    origin="cli", reason="INC runbook")
    ws.close()
    app = make_app(alerting_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await monitoring(app, pilot, "credit-risk")
        await pilot.press("enter")
        await settle(app, pilot)
        text = screen_text(app)
        assert "Runbook https://wiki/credit [@click=app.quit] \\x1b[2J" in text
        assert "monitoring settings changed by ana" in text and "What changed" in text


async def test_the_view_is_about_the_alert_opened_and_its_keys_act_on_it(alerting_url: str, tmp_path: Path) -> None:
    """Two alerts on one deployment: Enter on the lesser one shows that one first, says which alert the
    verdict is about, and ``a`` acknowledges the one opened."""
    record(alerting_url, DeploymentChecks("credit-risk", "prod", 2, "mission-critical", "crit", [
        DRIFT, CheckResult("prediction_drift", "warn", "score PSI 0.170 (drifted)")]))
    app = make_app(alerting_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await monitoring(app, pilot)
        warn = next(a for a in screen.alerts if a.check == "prediction_drift")
        screen.query_one(VirtualTable).move_to_key(warn.id)
        await pilot.press("enter")
        await settle(app, pilot)
        text = " ".join(screen_text(app).split())
        assert f"▲ warn prediction_drift alert {warn.id}, firing" in text
        assert "the deployment's worst open alert, which the verdict is about: ✖ crit drift alert" in text
        await pilot.press("a")
        await settle(app, pilot)
        await settle(app, pilot)
    ws = open_workspace(alerting_url)
    states = {a.check: a.state for a in alerts.list_alerts(ws) if a.model == "credit-risk"}
    ws.close()
    assert states == {"drift": "firing", "prediction_drift": "acknowledged"}


@pytest.mark.slow
async def test_2_lands_on_the_alerting_deployments_row_and_column(alerting_url: str, tmp_path: Path) -> None:
    app = make_app(alerting_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await monitoring(app, pilot, "churn-propensity", "dev")
        await pilot.press("2")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, EnvironmentsScreen)
        assert (screen.selected_row.model, screen.selected_env) == ("churn-propensity", "dev")
        await pilot.press("3", "enter")  # from the incident view too (the alert list kept its cursor)
        await settle(app, pilot)
        await pilot.press("up", "2")  # credit-risk, worst first at the top
        await settle(app, pilot)
        assert (screen.selected_row.model, screen.selected_env) == ("churn-propensity", "dev")
        await pilot.press("3", "g", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, DeploymentScreen) and app.screen.model == "credit-risk"
        await pilot.press("2")
        await settle(app, pilot)
        assert (screen.selected_row.model, screen.selected_env) == ("credit-risk", "prod")


async def test_history_from_the_alert_list(alerting_url: str, tmp_path: Path) -> None:
    from fuseboard.tui.screens.history import HistoryScreen

    app = make_app(alerting_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await monitoring(app, pilot, "credit-risk")
        await pilot.press("h")
        await settle(app, pilot)
        assert isinstance(app.screen, HistoryScreen) and "Rollouts of credit-risk in prod" in screen_text(app)


# -- item 2: four keys -------------------------------------------------------------------------------------

async def test_internal_rollback_from_the_alert_list_is_r_y_then_the_view_shows_the_outcome(
        alerting_url: str, tmp_path: Path) -> None:
    app = make_app(alerting_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await monitoring(app, pilot, "churn-propensity")
        keys = ["r", "y"]
        await pilot.press(keys[0])
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, ChangeDialog) and dialog.focused is dialog.query_one("#cancel")
        assert "v2 → v1" in screen_text(app) and "Rollback to v1: " in screen_text(app)
        await pilot.press(keys[1])
        await settle(app, pilot)
        assert await until(app, pilot, lambda: app.rollouts_running == {})
        await settle(app, pilot)
        assert isinstance(app.screen, DeploymentScreen) and app.screen.model == "churn-propensity"
        text = screen_text(app)
        assert "Rollback, as it happens" in text and "hook: no hook" in text
        assert "note: no endpoint recorded" in text  # said as a note, not an alarm
        assert "churn-propensity in prod  v1" in text
    assert len(keys) <= 4 and serving(alerting_url, "churn-propensity", "prod") == 1


async def test_y_before_the_plan_is_shown_confirms_nothing(alerting_url: str, tmp_path: Path) -> None:
    app = make_app(alerting_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await monitoring(app, pilot, "churn-propensity")
        for key in "ry":  # both in the queue before the plan can have been made
            app.post_message(events.Key(key, key))
        await settle(app, pilot)  # the keys may not have been handled yet on a loaded machine: wait for the dialog
        assert await until(app, pilot, lambda: isinstance(app.screen, ChangeDialog)), screen_text(app)
        await settle(app, pilot)
        assert "still planning the change" in screen_text(app) or "read it, then confirm again" in screen_text(app)
        await pilot.press("escape")
    assert serving(alerting_url, "churn-propensity", "prod") == 2


async def test_keys_typed_right_after_r_land_in_the_name_field(alerting_url: str, tmp_path: Path) -> None:
    """Mission-critical in prod: the keys arrive before the dialog has mounted (as a terminal delivers
    them); none is lost, none reaches the screen underneath (where a, s, x, r and n are keys)."""
    app = make_app(alerting_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await monitoring(app, pilot, "credit-risk")
        await pilot.press("enter")
        await settle(app, pilot)
        for key in "rcredit-risk":
            app.post_message(events.Key(key, key))
        await settle(app, pilot)  # on a loaded machine the keys may still be on their way: wait for the dialog
        assert await until(app, pilot, lambda: isinstance(app.screen, ChangeDialog)), screen_text(app)
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, ChangeDialog)
        name = dialog.query_one("#field-name", Input)
        assert await until(app, pilot, lambda: len(name.value) >= len("credit-risk")), name.value
        assert name.value == "credit-risk" and dialog.focused is name
        assert name.placeholder != "credit-risk" and "credit-risk" not in name.placeholder
        keys = ["r", *"credit-risk", "enter", *"INC-7 drift", "enter"]
        await pilot.press("enter", *"INC-7 drift", "enter")
        assert await until(app, pilot, lambda: app.rollouts_running == {})
        await settle(app, pilot)
        assert isinstance(app.screen, DeploymentScreen)
        assert "hook: no hook" in screen_text(app)
        # beyond r and the two enters, only the name and the reason were typed
        assert len(keys) - 3 == len("credit-risk") + len("INC-7 drift")
    assert serving(alerting_url, "credit-risk", "prod") == 1
    ws = open_workspace(alerting_url)
    assert [a.state for a in alerts.list_alerts(ws) if a.model == "credit-risk"] == ["firing"]  # no stray ack
    ws.close()


async def test_a_failing_hook_is_shown_as_a_failure_in_the_view(alerting_url: str, tmp_path: Path) -> None:
    from fuseboard.ops.environments import configure

    ws = open_workspace(alerting_url)
    configure(ws, "prod", actor="t", origin="cli", reason="t", hook={"command": ["false"], "timeout": 5})
    ws.close()
    app = make_app(alerting_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await monitoring(app, pilot, "churn-propensity")
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.press("r")
        await settle(app, pilot)
        await pilot.press("y")
        assert await until(app, pilot, lambda: app.rollouts_running == {})
        await settle(app, pilot)
        text = screen_text(app)
        assert "✖ crit rollback FAILED: the hook said exit 1" in text
    assert serving(alerting_url, "churn-propensity", "prod") == 2


@pytest.mark.slow
async def test_the_palette_rolls_back_the_selected_alerts_deployment(alerting_url: str, tmp_path: Path) -> None:
    app = make_app(alerting_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await monitoring(app, pilot, "churn-propensity")
        await pilot.press("colon", *"rollback")
        await settle(app, pilot)
        await pilot.pause(0.3)
        assert "rollback churn-propensity in prod" in screen_text(app)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ChangeDialog) and "Rollback churn-propensity in prod" in screen_text(app)


# -- proof: the whole script on the live demo ------------------------------------------------------------

@pytest.mark.slow
async def test_the_3am_loop_on_the_live_demo(demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A critical alert appears and takes the cursor; Enter opens the incident (owner, on call, what
    changed, the verdict); r and the typed confirmation roll credit-risk back and the view shows the
    endpoint reporting v1. Then the internal churn model's alert: r, y (two keys) to the same result."""
    from fuseboard.monitoring.scheduler import Intervals
    from fuseboard.ops import demo_live

    monkeypatch.setattr(demo_live, "EVERY", 0.3)
    monkeypatch.setattr(demo_live, "LABEL_DELAY", 0.6)
    monkeypatch.setattr(demo_live.DemoLive, "flaky_down", lambda self: False)  # every endpoint answers

    def live(ws):  # noqa: ANN001, ANN202
        service = demo_live.DemoLive(ws, port=0)
        start = service.start

        def started() -> None:
            start()
            service.started_at -= 60  # the credit-risk inputs at their full drift from the first batch

        service.start = started  # type: ignore[method-assign]
        return service

    app = make_app(demo_url, tmp_path, run_monitor=True, services=[live],
                   monitor_intervals=Intervals(health=1, drift=2, performance=2))
    async with app.run_test(size=SIZE) as pilot:
        screen = await monitoring(app, pilot)

        def crit() -> object:  # credit-risk's inputs (or scores) drift; churn's performance may be crit first
            return next((a for a in screen.alerts if a.severity == "crit"
                         and (a.model, a.environment) == ("credit-risk", "prod")), None)

        assert await until(app, pilot, lambda: crit() is not None, 120), screen_text(app)
        await settle(app, pilot)
        alert = screen.selected  # a critical alert took the cursor (drift and prediction drift may fire in
        # one cycle: either may be the one on it)
        assert alert is not None and alert.severity == "crit", screen_text(app)
        if (alert.model, alert.environment) != ("credit-risk", "prod"):  # churn's took it: move to credit-risk's
            screen.query_one(VirtualTable).move_to_key(crit().id)
            await pilot.pause()
            alert = screen.selected
        assert alert is not None and (alert.model, alert.environment) == ("credit-risk", "prod")

        keys = ["enter"]
        await pilot.press("enter")
        await settle(app, pilot)
        view = app.screen
        assert isinstance(view, DeploymentScreen)
        text = screen_text(app)
        assert f"✖ crit {alert.check} alert" in text and "Rollback to v1: " in text
        assert "Owner it-ops · on call Chloe Martin (chloe) +44 20 7946 0201" in text and "· next Dev Patel" in text
        # first, whether the drift hurts: the model leans on the drifted features for 40% (watch, not harmful)
        assert "Triage harmful — drift in income, employment" in text and "What is wrong, worst first" in text

        keys.append("r")
        await pilot.press("r")
        dialog = app.screen
        assert isinstance(dialog, ChangeDialog)
        assert await until(app, pilot, lambda: dialog.plan is not None, 30)
        typed = [*"credit-risk", "enter", *"INC-7 inputs drifted", "enter"]
        keys += typed
        await pilot.press(*typed)
        assert app.screen is view

        def reported(model: str) -> str:
            steps = app.outcomes.get((model, "prod"), [])
            return steps[-1].text if steps and steps[-1].final else ""

        assert await until(app, pilot, lambda: reported("credit-risk"), 60)
        assert reported("credit-risk").startswith("endpoint reports v1"), reported("credit-risk")
        await settle(app, pilot)
        await pilot.pause(0.2)
        text = screen_text(app)
        assert "hook: HTTP 200" in text and "endpoint reports v1" in text and "credit-risk in prod  v1" in text
        # beyond enter, r and the two enters of the form: the name and the reason, nothing else
        assert len(keys) - 4 == len("credit-risk") + len("INC-7 inputs drifted")

        # the internal model: from its selected alert, two keys to a confirmed rollback
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.screen is screen

        def churn() -> object:
            return next((a for a in screen.alerts if (a.model, a.environment, a.check)
                         == ("churn-propensity", "prod", "performance")), None)

        assert await until(app, pilot, lambda: churn() is not None, 120), screen_text(app)
        screen.query_one(VirtualTable).move_to_key(churn().id)
        await pilot.pause()
        keys = ["r"]
        await pilot.press("r")
        dialog = app.screen
        assert isinstance(dialog, ChangeDialog) and await until(app, pilot, lambda: dialog.plan is not None, 30)
        keys.append("y")
        await pilot.press("y")
        assert await until(app, pilot, lambda: reported("churn-propensity"), 60)
        assert reported("churn-propensity").startswith("endpoint reports v1"), reported("churn-propensity")
        await settle(app, pilot)
        assert isinstance(app.screen, DeploymentScreen) and app.screen.model == "churn-propensity"
        assert "endpoint reports v1" in screen_text(app)
        assert len(keys) <= 4
    assert serving(demo_url, "credit-risk", "prod") == 1 and serving(demo_url, "churn-propensity", "prod") == 1
