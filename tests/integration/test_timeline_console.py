"""The incident view's "over time" section at 80x24 (issue 16): from the alert list, `enter` then `t`
shows a strip per check and per feature, the time axis and since when drift is critical; `t` again
cycles the range (24h by hour, 7d by 6 hours, 30d by day). Credit-risk's prod traffic is backfilled
hour by hour with its timestamps, incomes 2.5 times higher in the last five hours; the section's
clock is fixed, so its periods are too."""

from __future__ import annotations

import re
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from fuseboard.monitoring import ingest, settings
from fuseboard.store.db import open_workspace
from fuseboard.tui.screens.deployment import DeploymentScreen
from fuseboard.tui.widgets import timeline
from tests.support.console import SIZE, make_app, screen_text
from tests.support.incidents import incident_alerts, monitoring, until
from tests.support.rows import credit_rows, served

NOW = datetime(2026, 11, 30, 12, 2, tzinfo=timezone.utc)  # the section's clock: its range ends at 12:05
END = datetime(2026, 11, 30, 12, 5, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
HOURS, SHIFTED = 22, 5  # hours of traffic before END, the last SHIFTED of them with incomes x2.5


def _backfill(url: str, hours: int = HOURS, shifted: int = SHIFTED) -> None:
    ws = open_workspace(url)
    for h in range(hours):
        frame = credit_rows(300, seed=700 + h)
        if h >= hours - shifted:
            frame["income"] = frame["income"] * 2.5
        frame = served(ws, frame)
        start = END - (hours - h) * HOUR
        frame["timestamp"] = start.timestamp() + np.linspace(0, HOUR.total_seconds() - 1, len(frame))
        ingest.ingest_table(ws, "credit-risk", "prod", ingest.as_table(frame))
    ws.close()


@pytest.fixture(scope="module")
def drifting_url(shared_demo_url: str) -> str:
    """The demo with 22 hours of credit-risk traffic in prod (drifting for the last 5) and its drift alert."""
    _backfill(shared_demo_url)
    return incident_alerts(shared_demo_url)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """The section's clock is NOW, and local time is UTC (the axis shows local times)."""
    monkeypatch.setattr(timeline, "utcnow", lambda: NOW)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def settle(app, pilot) -> None:  # noqa: ANN001
    """Wait for the loads, and for the section's load that the view's load starts."""
    for _ in range(2):
        await app.workers.wait_for_complete()
        await pilot.pause()


def _lines(app) -> list[str]:  # noqa: ANN001
    """The screen's lines without the scroll bar on the right."""
    return [re.sub(r"[ ▁▂▃▄▅▆▇█]+$", "", line) for line in screen_text(app).splitlines()]


async def _incident_over_time(app, pilot) -> list[str]:  # noqa: ANN001
    """From the alert list: `enter` opens the incident, `t` brings the over-time section into view."""
    await monitoring(app, pilot, "credit-risk")
    await pilot.press("enter")
    await settle(app, pilot)
    assert isinstance(app.screen, DeploymentScreen)
    await pilot.press("t")
    await settle(app, pilot)
    return _lines(app)


async def test_enter_then_t_shows_each_check_over_time_and_since_when_drift_is_critical(
        drifting_url: str, tmp_path: Path) -> None:
    app = make_app(drifting_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        lines = await _incident_over_time(app, pilot)
        title = next(i for i, line in enumerate(lines) if line.startswith("Over time"))
        assert lines[title] == "Over time: the last 24h by hour  (times UTC; t: next range)"
        before, drifted = 24 - 2 - SHIFTED, "✖" * SHIFTED  # the first 2 hours have no rows
        assert lines[title + 1] == "drift            ··" + "●" * before + drifted + " ✖ crit"
        # the joint distribution moved too: raised to crit, the drift being harmful on a mission-critical model
        assert lines[title + 2] == "multivariate     ··" + "●" * before + drifted + " ✖ crit"
        assert lines[title + 3] == "prediction drift ··" + "●" * before + drifted + " ✖ crit"
        assert lines[title + 4] == "estimated perf   ··" + "●" * (before + SHIFTED) + " ● ok"
        assert lines[title + 5].startswith("performance      ··")
        assert lines[title + 6].startswith("quality          ··")
        assert lines[title + 7] == "features drifted most recently (no key features set)"
        assert lines[title + 8].startswith("  income         ··" + "●" * before + drifted + " ")
        axis = next(line for line in lines[title:] if "11-29 12:05" in line)
        assert axis == " " * 17 + "11-29 12:05" + " " * 2 + "11-30 12:05"
        assert "drift crit since 11-30 07:05, 5 periods; also multivariate crit" in lines
        assert " t Time " in next(line for line in lines if line.startswith(" esc Back"))  # the key bar


async def test_t_again_cycles_the_range_and_its_axis(drifting_url: str, tmp_path: Path) -> None:
    app = make_app(drifting_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await _incident_over_time(app, pilot)
        seen = []
        for _ in range(3):
            await pilot.press("t")
            await settle(app, pilot)
            text = screen_text(app)
            title = next(line for line in text.splitlines() if line.startswith("Over time"))
            axis = next(line.strip() for line in text.splitlines() if line.strip().endswith("11-30 12:05"))
            since = next(line.strip() for line in text.splitlines() if line.startswith("drift crit since"))
            seen.append((title.split("  (")[0], axis, since))
        assert seen == [
            ("Over time: the last 7d by 6 hours", "11-23 12:05" + " " * 6 + "11-30 12:05",
             "drift crit since 11-30 06:05, 1 period; also multivariate crit"),
            ("Over time: the last 30d by day", "10-31 12:05" + " " * 8 + "11-30 12:05",
             "drift crit since 11-29 12:05, 1 period; also multivariate crit"),
            ("Over time: the last 24h by hour", "11-29 12:05" + " " * 2 + "11-30 12:05",
             "drift crit since 11-30 07:05, 5 periods; also multivariate crit")]


async def test_key_features_get_a_strip_each(demo_url: str, tmp_path: Path) -> None:
    _backfill(demo_url, hours=4, shifted=2)
    incident_alerts(demo_url)
    ws = open_workspace(demo_url)
    settings.update(ws, "credit-risk", {"key_features": ["age", "income"]}, actor="t", origin="cli")
    ws.close()
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        lines = await _incident_over_time(app, pilot)
        heading = lines.index("key features")
        assert lines[heading + 1].startswith("  age            " + "·" * 20 + "●●●● ")
        assert lines[heading + 2].startswith("  income         " + "·" * 20 + "●●✖✖ ")
        assert "drift crit since 11-30 10:05, 2 periods; also multivariate crit" in lines


async def test_the_incident_is_shown_before_the_report_is_read(drifting_url: str, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    fetch = timeline.fetch_timeline

    def slow(*args):  # noqa: ANN002, ANN202
        release.wait(30)
        return fetch(*args)

    monkeypatch.setattr(timeline, "fetch_timeline", slow)
    app = make_app(drifting_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await monitoring(app, pilot, "credit-risk")
        await pilot.press("enter")
        try:  # the incident drawn while the report is still being read
            assert await until(app, pilot, lambda: "Owner it-ops" in screen_text(app)
                               and "reading the last 24h by hour…" in screen_text(app), 10)
        finally:
            release.set()
        assert await until(app, pilot, lambda: "reading" not in screen_text(app), 20)
        await pilot.press("t")
        await settle(app, pilot)
        assert "drift crit since 11-30 07:05, 5 periods; also multivariate crit" in _lines(app)


async def test_a_report_that_fails_says_why_in_the_section(drifting_url: str, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from fuseboard.errors import FuseboardError

    def failing(ws, model, env, span, now):  # noqa: ANN001, ANN202
        raise FuseboardError(f"no version of {model!r} is deployed in 'prod\x1b[2J'", field="environment")

    monkeypatch.setattr(timeline, "fetch_timeline", failing)
    app = make_app(drifting_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await _incident_over_time(app, pilot)
        text = screen_text(app)
        assert "could not read the report: no version of 'credit-risk' is deployed in" in text
        assert "'prod\\x1b[2J'" in text and "\x1b" not in text  # the name as written, its escape shown
        assert "Drift, worst first" in text  # the rest of the view is there


async def test_help_says_what_t_does(drifting_url: str, tmp_path: Path) -> None:
    app = make_app(drifting_url, tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await monitoring(app, pilot, "credit-risk")
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        text = screen_text(app)
        assert "t    drift and performance over time (a strip per check and per key" in text
        assert "feature, since when it is bad); pressed again, the next range:" in text
        assert "24h by hour, 7d by 6 hours, 30d by day" in text


# -- a snapshot: the section without colour, on the fixed incident ---------------------------------------

def _fixed_incident(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rest of the view made up and frozen (the section reads the backfilled windows)."""
    from fuseboard.ops.incident import CheckLine, Contact, Incident, RollbackAdvice, Verdict
    from fuseboard.ops.views import CheckInfo, DeploymentHealth
    from fuseboard.tui.screens import deployment

    drift = {"features": [{"feature": "income", "method": "ks", "score": 1e-40, "threshold": 0.05, "drifted": True,
                           "severity": "crit"}]}
    states = [CheckInfo("drift", "crit", "1 of 8 features drifted: income", 300, drift, NOW, NOW, 2)]
    health = DeploymentHealth("credit-risk", "prod", "mission-critical", 2, "", states, [])
    incident = Incident("credit-risk", "prod", "mission-critical", 2, 1, NOW - 5 * HOUR,
                        (CheckLine("drift", "crit", "1 of 8 features drifted: income", NOW - 5 * HOUR),), (),
                        "it-ops", Contact("chloe", "Chloe Martin", "+44 20 7946 0201", None), None, "",
                        RollbackAdvice(Verdict.UNKNOWN, 1, ("no windows of v1 in the last hour",), "drift"), "drift",
                        "crit", "firing")
    monkeypatch.setattr(deployment, "_fetch", lambda ws, model, env, alert_id=None: (
        health, ({}, {}), None, incident, True, None))


def test_over_time_no_color(snap_compare, drifting_url: str, tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The incident is short: the section shows on the first page."""
    _fixed_incident(monkeypatch)
    monkeypatch.setenv("NO_COLOR", "1")

    async def ready(pilot) -> None:  # noqa: ANN001
        await settle(pilot.app, pilot)
        await pilot.app.push_screen(DeploymentScreen("credit-risk", "prod"))
        await settle(pilot.app, pilot)

    assert snap_compare(make_app(drifting_url, tmp_path), terminal_size=SIZE, run_before=ready)
