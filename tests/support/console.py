"""The console under test: one app factory, and the helpers that drive it at 80x24."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from fuseboard.config import Config
from fuseboard.tui.app import FuseboardApp
from fuseboard.tui.screens.checklist import ChecklistScreen
from fuseboard.tui.screens.monitoring import MonitoringScreen
from fuseboard.tui.screens.ownership import OwnershipScreen

SIZE = (80, 24)


def make_app(url: str, tmp_path: Path, *, config: Config | None = None, label: str = "demo",
             **kw: Any) -> FuseboardApp:
    """The console on the workspace at ``url``, with a config file of the test's own (or ``config``)."""
    return FuseboardApp(url, config or Config(path=tmp_path / "config.toml"), workspace_label=label, **kw)


async def settle(app: FuseboardApp, pilot) -> None:  # noqa: ANN001
    """Wait for the app's workers, then for the screen to catch up."""
    await app.workers.wait_for_complete()
    await pilot.pause()


def screen_text(app: FuseboardApp) -> str:
    """What the terminal shows, as plain text (from the SVG screenshot)."""
    return html.unescape(re.sub(r"<[^>]+>", "", app.export_screenshot())).replace("\xa0", " ")


async def open_monitoring(app: FuseboardApp, pilot) -> MonitoringScreen:  # noqa: ANN001
    """The Monitoring screen (key 3), loaded."""
    await settle(app, pilot)
    await pilot.press("3")
    await settle(app, pilot)
    assert isinstance(app.screen, MonitoringScreen)
    return app.screen


async def open_checklist(app: FuseboardApp, pilot, model: str = "churn-propensity") -> ChecklistScreen:  # noqa: ANN001
    """The handover checklist of ``model``, from the Ownership screen (key 4)."""
    await settle(app, pilot)
    await pilot.press("4")
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, OwnershipScreen)
    while screen.selected is None or screen.selected.key != f"handover:{model}":
        await pilot.press("j")
    await pilot.press("enter")
    await settle(app, pilot)
    assert isinstance(app.screen, ChecklistScreen)
    return app.screen


async def goto_item(app: FuseboardApp, pilot, key: str) -> None:  # noqa: ANN001
    """Move the checklist's cursor to the item ``key``."""
    screen = app.screen
    await pilot.press("g")
    while screen.selected.key != key:
        await pilot.press("j")


async def palette(pilot, command: str) -> None:  # noqa: ANN001
    """Open the command palette (``:``), type ``command`` and run the first match."""
    await pilot.press("colon")
    await pilot.pause()
    await pilot.press(*command)
    await pilot.pause(0.5)
    await pilot.press("enter")
