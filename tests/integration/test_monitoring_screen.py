"""The Monitoring screen at 80x24: alerts worst first, acknowledge, silence, resolve, open a deployment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from textual.widgets import Input

from fuseboard.tui.screens.deployment import DeploymentScreen
from fuseboard.tui.screens.dialogs import FormDialog
from fuseboard.tui.screens.monitoring import MonitoringScreen
from tests.support.console import SIZE, make_app, open_monitoring, screen_text, settle


async def test_alerts_are_listed_worst_first(alerting_url: str, tmp_path: Path) -> None:
    app = make_app(alerting_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_monitoring(app, pilot)
        assert [(a.model, a.severity) for a in screen.alerts] == [("credit-risk", "crit"),
                                                                  ("churn-propensity", "warn")]
        text = screen_text(app)
        assert "✖ crit" in text and "firing" in text and "1 crit · 1 warn" in text
        assert "credit-risk/prod drift: 3 of 8 features drifted" in text


async def test_filter_the_alerts_as_you_type(alerting_url: str, tmp_path: Path) -> None:
    app = make_app(alerting_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_monitoring(app, pilot)
        await pilot.press("slash", *"stale")
        table = screen.query_one("#alerts")
        assert len(table.keys) == 1 and "1 of 2 open" in screen_text(app)
        await pilot.press("escape")
        assert len(table.keys) == 2


async def test_acknowledge_with_a(alerting_url: str, tmp_path: Path) -> None:
    app = make_app(alerting_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_monitoring(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        await settle(app, pilot)
        assert screen.alerts[0].state == "acknowledged" and screen.alerts[0].acknowledged_by == "tester"
        assert screen.unavailable_reason("ack") == "already acknowledged by tester"


async def test_silence_asks_duration_and_comment(alerting_url: str, tmp_path: Path) -> None:
    app = make_app(alerting_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_monitoring(app, pilot)
        await pilot.press("s")
        assert isinstance(app.screen, FormDialog)
        assert app.screen.query_one("#field-duration", Input).value == "2h"
        await pilot.press("enter", "enter")  # keep 2h; an empty comment is refused
        assert isinstance(app.screen, FormDialog)
        await pilot.press(*"ticket OPS-12", "enter")
        await settle(app, pilot)
        await settle(app, pilot)
        assert isinstance(app.screen, MonitoringScreen)
        silenced = {a.model: a.silenced for a in screen.alerts}
        assert silenced == {"credit-risk": True, "churn-propensity": False}


async def test_escape_cancels_a_dialog_without_change(alerting_url: str, tmp_path: Path) -> None:
    app = make_app(alerting_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_monitoring(app, pilot)
        await pilot.press("x")
        assert isinstance(app.screen, FormDialog)
        await pilot.press(*"nope", "escape")
        await settle(app, pilot)
        assert isinstance(app.screen, MonitoringScreen) and len(screen.alerts) == 2


async def test_resolve_with_a_note(alerting_url: str, tmp_path: Path) -> None:
    app = make_app(alerting_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_monitoring(app, pilot)
        await pilot.press("x", *"rolled back to v1", "enter")
        await settle(app, pilot)
        await settle(app, pilot)
        assert [a.model for a in screen.alerts] == ["churn-propensity"]


async def test_enter_opens_the_deployment_with_its_drift_table(alerting_url: str, tmp_path: Path) -> None:
    app = make_app(alerting_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_monitoring(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, DeploymentScreen)
        assert "credit-risk in prod" in screen_text(app)
        await pilot.press("t")  # the over-time section to the top: the drift table is right below it
        await settle(app, pilot)
        text = screen_text(app)
        assert "Drift, worst first" in text and "income" in text
        await pilot.press("escape")
        assert isinstance(app.screen, MonitoringScreen)


async def test_read_only_hides_the_changing_keys(alerting_url: str, tmp_path: Path) -> None:
    app = make_app(alerting_url, tmp_path, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_monitoring(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        assert app.screen.alerts[0].state == "firing"
        assert "Ack" not in screen_text(app)


@pytest.mark.slow
async def test_the_console_runs_the_monitor_when_nobody_else_does(alerting_url: str, tmp_path: Path) -> None:
    app = make_app(alerting_url, tmp_path, run_monitor=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        for _ in range(100):
            await pilot.pause(0.05)
            if app.monitor is not None and app.monitor.leading:
                break
        assert app.monitor_status() == "monitor: running here"
    assert app.monitor is not None and app.monitor._scheduler is None  # stopped with the app


def test_monitoring_screen_snapshot(snap_compare, alerting_url: str, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from fuseboard.tui.screens import monitoring

    monkeypatch.setattr(monitoring, "ago", lambda when, now=None: "5m")  # ages follow the clock

    async def ready(pilot) -> None:  # noqa: ANN001
        await settle(pilot.app, pilot)
        await pilot.press("3")
        await settle(pilot.app, pilot)
        await settle(pilot.app, pilot)

    assert snap_compare(make_app(alerting_url, tmp_path), terminal_size=SIZE, run_before=ready)


def test_histogram_bins_and_sparkline() -> None:
    import numpy as np
    import pandas as pd

    from fuseboard.monitoring.profiles import categorical_profile, numeric_profile
    from fuseboard.monitoring.windows import fold_categorical, fold_numeric
    from fuseboard.tui.screens.deployment import _bins, sparkline

    ref = numeric_profile(pd.Series(np.arange(1000, dtype=float)))
    bins = _bins(ref, fold_numeric(np.array([-5.0, 10.0, 20.0, 5000.0]), ref))
    assert bins[0] == ("< 0", 0.0, 0.25) and bins[-1] == ("> 999", 0.0, 0.25)
    assert sum(r for _, r, _ in bins) == pytest.approx(1.0)
    cats = categorical_profile(pd.Series(["a", "a", "b"]))
    assert _bins(cats, fold_categorical(np.array(["b", "z"], dtype=object), cats)) == [
        ("a", 2 / 3, 0.0), ("b", 1 / 3, 0.5), ("(unseen)", 0.0, 0.5)]
    assert sparkline([10.0, None, 20.0]).plain.startswith("▁ █")
    assert sparkline([None]).plain == "no successful probe yet"


def test_performance_chart_draws_the_metric_against_the_baseline() -> None:
    from datetime import datetime, timedelta, timezone

    from fuseboard.monitoring import performance
    from fuseboard.tui.screens.deployment import bucket_for, performance_chart, trend

    assert bucket_for(3600) == 300 and bucket_for(24 * 3600) == 1800
    lines = [line.plain for line in trend([0.9, 0.5], baseline=0.8, height=4)]
    assert lines[0].split("│")[1][0] in "▁▂▃▄▅▆▇█" and lines[0].endswith(" ")  # 0.9 reaches the top row
    assert "┄" in "".join(lines)  # the baseline shows where a bar stops below it
    now = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)
    y = np.array([0, 1] * 300)
    good = performance.fold_classification(y, y, [0, 1], y * 0.8 + 0.1)
    bad = performance.fold_classification(y, 1 - y, [0, 1], 0.9 - y * 0.8)
    chart = performance_chart("classification", {"roc_auc": 0.85},
                              [(now - timedelta(hours=2), good), (now - timedelta(hours=1), bad)], now)
    text = "\n".join(line.plain for line in chart)
    assert "roc_auc per 5 min" in text and "baseline 0.850" in text and ": 0.000 on 600 labelled rows" in text
    assert performance_chart("classification", {}, [], now) == []



async def test_failing_receivers_windows_to_come_and_escalations_show_at_80x24(alerting_url: str,
                                                                               tmp_path: Path) -> None:
    from datetime import timedelta

    from fuseboard.config import Config, ReceiverSpec
    from fuseboard.monitoring import alerts, delivery, outbox
    from fuseboard.monitoring.receivers import build
    from fuseboard.ops.escalation import escalate
    from fuseboard.store.db import open_workspace
    from fuseboard.store.models import utcnow

    ws = open_workspace(alerting_url)
    now = utcnow()
    with ws.transaction() as s:
        outbox.sync_alerts(s, now)  # announced to the receivers
    (done,) = escalate(ws, now=now + timedelta(minutes=20))  # credit-risk's crit, nobody acknowledged it
    dead = ReceiverSpec("ops-bot", "webhook", "http://127.0.0.1:9/hook", max_tries=1, timeout=1)
    delivery.deliver_to(ws, build([dead], {})[0])
    alerts.silence(ws, "credit-risk", "prod", timedelta(hours=2), comment="weekly DB maintenance", actor="tester",
                   origin="cli", starts_at=now + timedelta(hours=3), every=timedelta(days=7))
    app = make_app(alerting_url, tmp_path, config=Config(path=tmp_path / "config.toml", receivers=[dead]))
    async with app.run_test(size=SIZE) as pilot:
        await open_monitoring(app, pilot)
        text = screen_text(app)
        assert "outbox: ✖ ops-bot: 3 dead letters" in text  # two fired, one escalated
        assert "window credit-risk/prod " in text and "every 7d: weekly DB maintenance" in text
        assert f"escalated to {done.to} · credit-risk/prod drift" in text
