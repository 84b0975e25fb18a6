"""The 3 a.m. loop in the console at 80x24: from an alert to the incident view and a verified rollback
in a few keys; the console defects found on the way (issue 14)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from textual import events
from textual.widgets import Input

from fuseboard.monitoring import alerts
from fuseboard.monitoring.checks import CheckResult, DeploymentChecks
from fuseboard.store.db import open_workspace
from fuseboard.ops.views import environment_matrix
from fuseboard.tui.app import FuseboardApp
from fuseboard.tui.screens.deployment import DeploymentScreen
from fuseboard.tui.screens.dialogs import ChangeDialog, EntryScreen, FormDialog
from fuseboard.tui.screens.environments import EnvironmentsScreen
from fuseboard.tui.screens.models import ModelsScreen
from fuseboard.tui.screens.monitoring import MonitoringScreen
from fuseboard.tui.widgets.table import VirtualTable
from tests.support.console import SIZE, make_app, screen_text, settle

DRIFT = CheckResult("drift", "crit", "3 of 8 features drifted: income, employment, age",
                    details={"features": [{"feature": "income", "method": "psi", "score": 0.41, "threshold": 0.1,
                                           "drifted": True, "severity": "crit"}]})


def record(url: str, *results: DeploymentChecks, now: datetime | None = None) -> None:
    ws = open_workspace(url)
    with ws.transaction() as s:
        alerts.record_results(s, list(results), now=now)
    ws.close()


@pytest.fixture
def alerting_url(demo_url: str) -> str:
    """The demo with a critical drift alert on credit-risk/prod and staleness warnings on churn (dev, prod)."""
    record(demo_url,
           DeploymentChecks("credit-risk", "prod", 2, "mission-critical", "crit", [DRIFT]),
           DeploymentChecks("churn-propensity", "prod", 2, "internal", "warn",
                            [CheckResult("staleness", "warn", "past its retrain-by date")]),
           DeploymentChecks("churn-propensity", "dev", 2, "internal", "warn",
                            [CheckResult("staleness", "warn", "past its retrain-by date")]))
    return demo_url


def serving(url: str, model: str, env: str) -> int:
    ws = open_workspace(url)
    try:
        _, rows = environment_matrix(ws)
        return next(r for r in rows if r.model == model).cells[env].version
    finally:
        ws.close()


async def monitoring(app: FuseboardApp, pilot, model: str | None = None,  # noqa: ANN001
                     env: str = "prod") -> MonitoringScreen:
    await settle(app, pilot)
    await pilot.press("3")
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, MonitoringScreen)
    if model is not None:
        table = screen.query_one(VirtualTable)
        key = next(a.id for a in screen.alerts if (a.model, a.environment) == (model, env))
        assert table.move_to_key(key)
        await pilot.pause()
    return screen


async def until(app: FuseboardApp, pilot, test, seconds: float = 30.0) -> bool:  # noqa: ANN001
    """Let the console run until ``test()`` holds (the live demo and the monitor run in threads)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if test():
            return True
        await pilot.pause(0.2)
    return test()


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
        await settle(app, pilot)
        assert isinstance(app.screen, ChangeDialog)
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
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, ChangeDialog)
        name = dialog.query_one("#field-name", Input)
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
        await settle(app, pilot)
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
        assert "s (Sign) is unavailable: you (mallory) are not a person this workspace knows" in screen_text(app)


async def test_enter_opens_a_checklist_item_with_its_evidence(demo_url: str, tmp_path: Path) -> None:
    from tests.support.console import open_checklist

    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_checklist(app, pilot)
        item = screen.selected
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, EntryScreen)
        text = screen_text(app)
        assert f"churn-propensity: {item.key}" in text and "evidence" in text and "required" in text
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

        def crit() -> object:
            return next((a for a in screen.alerts if a.severity == "crit"), None)

        assert await until(app, pilot, lambda: crit() is not None, 120), screen_text(app)
        await settle(app, pilot)
        alert = screen.selected  # a critical alert took the cursor (drift and prediction drift may fire in
        # one cycle: either may be the one on it)
        assert alert is not None and alert.severity == "crit", screen_text(app)
        assert (alert.model, alert.environment) == ("credit-risk", "prod")  # its inputs (or scores) drift

        keys = ["enter"]
        await pilot.press("enter")
        await settle(app, pilot)
        view = app.screen
        assert isinstance(view, DeploymentScreen)
        text = screen_text(app)
        assert f"✖ crit {alert.check} alert" in text and "Rollback to v1: " in text
        assert "Owner it-ops · on call Chloe Martin (chloe) +44 20 7946 0201" in text and "· next Dev Patel" in text
        assert "What changed" in text and "What is wrong, worst first" in text

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
