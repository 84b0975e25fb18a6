"""Snapshots of the Models screen at 80x24: default theme, NO_COLOR, high contrast, and help on top.

Update after an intended change with: pytest tests/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fuseboard.config import Config
from fuseboard.tui.app import FuseboardApp


async def _loaded(pilot) -> None:  # noqa: ANN001
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def _app(url: str, tmp_path: Path, theme: str | None = None) -> FuseboardApp:
    return FuseboardApp(url, Config(path=tmp_path / "config.toml"), workspace_label="demo", theme=theme)


def test_models_screen_default_theme(snap_compare, demo_url: str, tmp_path: Path) -> None:
    assert snap_compare(_app(demo_url, tmp_path), terminal_size=(80, 24), run_before=_loaded, press=["j"])


def test_models_screen_no_color(snap_compare, demo_url: str, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(_app(demo_url, tmp_path), terminal_size=(80, 24), run_before=_loaded, press=["j"])


def test_models_screen_high_contrast_filtered(snap_compare, demo_url: str, tmp_path: Path) -> None:
    assert snap_compare(_app(demo_url, tmp_path, theme="fuseboard-high-contrast"), terminal_size=(80, 24),
                        run_before=_loaded, press=["slash", "m", "i", "s", "s", "i", "o", "n", "enter"])


def test_help_over_models_screen(snap_compare, demo_url: str, tmp_path: Path) -> None:
    assert snap_compare(_app(demo_url, tmp_path), terminal_size=(80, 24), run_before=_loaded,
                        press=["j", "question_mark"])
