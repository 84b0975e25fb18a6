"""The console's log file: where it is, what goes in it, how big it gets."""

from __future__ import annotations

from pathlib import Path

import pytest

from fuseboard.errors import FuseboardError
from fuseboard.tui import log


def test_it_lives_under_the_xdg_state_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert log.log_path() == tmp_path / "state" / "fuseboard" / "console.log"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/state")  # not absolute: ignored, as the XDG spec says
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert log.log_path() == tmp_path / "home" / ".local" / "state" / "fuseboard" / "console.log"


def test_an_answer_is_shown_not_logged_and_a_failure_is_masked(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert log.record_failure("load x", FuseboardError("no handover of m")) == "no handover of m"
    assert not (tmp_path / "fuseboard" / "console.log").exists()  # nothing to report: no file
    try:
        raise ConnectionError("refused by postgresql://ana:pa55word-xyz@db/fb\nmore")
    except ConnectionError as exc:
        line = log.record_failure("load y", exc, url="postgresql://ana:pa55word-xyz@db/fb")
    assert line == "refused by postgresql://ana:****@db/fb"
    text = (tmp_path / "fuseboard" / "console.log").read_text()
    assert "load y failed" in text and "ConnectionError" in text and "pa55word" not in text


def test_it_is_capped_with_one_older_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.setattr(log, "MAX_BYTES", 2000)
    monkeypatch.setattr(log.logger, "handlers", [])  # a handler made with the smaller cap
    for i in range(40):
        log.record_failure(f"load {i}", RuntimeError("x" * 200))
    folder = tmp_path / "fuseboard"
    assert sorted(p.name for p in folder.iterdir()) == ["console.log", "console.log.1"]
    assert all(p.stat().st_size <= 2000 + 1000 for p in folder.iterdir())
