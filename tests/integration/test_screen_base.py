"""The screen base: a failed load is one line on screen and a traceback in the log file; a newer load
always wins over an older, slower one."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from fuseboard.config import Config
from fuseboard.tui.app import FuseboardApp
from fuseboard.tui.screens import models
from fuseboard.tui.screens.models import ModelsData, ModelsScreen

SIZE = (80, 24)


def _app(url: str, tmp_path: Path) -> FuseboardApp:
    return FuseboardApp(url, Config(path=tmp_path / "config.toml"), workspace_label="test")


def _screen_text(app: FuseboardApp) -> str:
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", app.export_screenshot())).replace("\xa0", " ")


async def _until(pilot, condition, what: str, within: float = 10) -> None:  # noqa: ANN001
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, what
        await pilot.pause(0.05)


async def test_a_failed_load_is_one_line_on_screen_and_a_traceback_in_the_log(
        demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    monkeypatch.setenv("FUSEBOARD_HOOK_TOKEN", "hunter2-hook-token")

    def broken(ws: object) -> ModelsData:
        raise RuntimeError("disk on fire\x1b[31m near hunter2-hook-token\nsecond line of the story")

    monkeypatch.setattr(models, "fetch_models", broken)
    app = _app(demo_url, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:  # (toasts drawn, as in a terminal)
        await _until(pilot, lambda: any(n.title == "could not load models" for n in app._notifications),
                     "the failure is said")
        await pilot.pause(0.2)  # (the toast is drawn on the next refresh)
        said = [n for n in app._notifications if n.title == "could not load models"]
        assert len(said) == 1
        assert said[0].message == "disk on fire\\x1b[31m near ****"  # one line, controls visible, secret masked
        shown = _screen_text(app)
        assert "could not load models" in shown and "disk on fire\\x1b[31m" in shown
        assert "second line" not in shown and "hunter2" not in shown
        assert isinstance(app.screen, ModelsScreen) and not app.screen.loaded
    log = state / "fuseboard" / "console.log"
    text = log.read_text(encoding="utf-8")
    assert "ERROR" in text and "load models failed" in text
    assert "Traceback (most recent call last)" in text and "in broken" in text
    assert "RuntimeError: disk on fire\x1b[31m near ****\nsecond line of the story" in text  # whole, raw
    assert "hunter2" not in text
    assert oct(log.stat().st_mode & 0o777) == "0o600"


async def test_an_older_slower_load_never_lands_after_a_newer_one(demo_url: str, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ModelsScreen) and screen.loaded
        real = models.fetch_models
        every = real(app.workspace())
        older = ModelsData(every.rows[:1], every.envs)  # what the first, slow load reads
        release, older_read = threading.Event(), threading.Event()
        calls: list[int] = []

        def fetch(ws: object) -> ModelsData:
            calls.append(len(calls))
            if len(calls) == 1:
                release.wait(10)  # the first load is slow: it ends after the second has been drawn
                older_read.set()
                return older
            return real(ws)

        shown: list[ModelsData] = []
        show = ModelsScreen.show

        def recording(self: ModelsScreen, data: ModelsData) -> None:
            shown.append(data)
            show(self, data)

        monkeypatch.setattr(models, "fetch_models", fetch)
        monkeypatch.setattr(ModelsScreen, "show", recording)
        screen.reload()
        await _until(pilot, lambda: len(calls) == 1, "the first load is reading")
        screen.reload()  # while the first is still reading
        await _until(pilot, lambda: len(shown) == 1, "the newer load is drawn")
        release.set()
        await _until(pilot, older_read.is_set, "the older load has finished reading")
        for _ in range(5):
            await pilot.pause(0.05)
        assert calls == [0, 1]
        assert [len(d.rows) for d in shown] == [len(every.rows)]  # only the newer data was ever drawn
        assert [r.name for r in screen.all_rows] == [r.name for r in every.rows]
