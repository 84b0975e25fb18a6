"""A workspace that cannot be written (a full disk, a read-only file): one clear error line, nothing
half-written, and a console that stays up, read-only, saying why."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fuseboard.errors import WorkspaceUnwritable
from fuseboard.store import db
from fuseboard.store.db import open_workspace
from tests.support.console import SIZE, make_app, open_monitoring, screen_text, settle


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fuseboard", "--db", url, *args], capture_output=True, text=True,
                          timeout=120)


def _counts(path: Path) -> dict[str, int]:
    con = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        tables = [r[0] for r in con.execute("select name from sqlite_master where type='table'")]
        return {t: con.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables}
    finally:
        con.close()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 MB filesystem of its own (tmpfs), so it can be filled and made read-only; root only."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("needs root to mount a small filesystem")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _fill(folder: Path) -> None:
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 4096, 1):  # big pieces, then the last scraps
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)


@pytest.mark.slow
def test_a_full_disk_refuses_changes_in_one_line_and_still_reads(demo_path: Path, small_disk: Path) -> None:
    shutil.copytree(demo_path, small_disk / "demo")
    path = small_disk / "demo" / "demo.db"
    url = f"sqlite:///{path}"
    before = _counts(path)
    _fill(small_disk)
    for args in (["silence", "credit-risk", "--env", "prod", "--for", "2h", "--comment", "disk"],
                 ["deploy", "credit-risk", "1", "--env", "dev", "--yes"]):
        done = _cli(url, *args)
        assert done.returncode != 0
        lines = done.stderr.strip().splitlines()
        assert lines == [f"error: cannot write to the workspace: the disk is full ({path}); nothing was changed"]
    listed = _cli(url, "models", "--json")
    assert listed.returncode == 0 and "credit-risk" in listed.stdout
    assert "warning: read-only: the disk is full" in listed.stderr
    assert _counts(path) == before
    (small_disk / "filler").unlink()  # room again: changes work again, with nothing left over
    assert _cli(url, "silence", "credit-risk", "--env", "prod", "--for", "2h", "--comment", "disk",
                "--yes").returncode == 0
    con = sqlite3.connect(path)
    assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
    con.close()


@pytest.mark.slow
def test_a_read_only_filesystem_opens_read_only(demo_path: Path, small_disk: Path) -> None:
    shutil.copytree(demo_path, small_disk / "demo")
    path = small_disk / "demo" / "demo.db"
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    ws = open_workspace(f"sqlite:///{path}")
    try:
        assert ws.read_only and ws.degraded == "the database file is not writable"
        with pytest.raises(WorkspaceUnwritable, match="the database file is not writable"):
            with ws.transaction():
                pass
    finally:
        ws.close()
    done = _cli(f"sqlite:///{path}", "silence", "credit-risk", "--env", "prod", "--for", "1h", "--comment", "ro")
    assert done.returncode != 0 and done.stderr.startswith("error: cannot write to the workspace: the database file")


@pytest.fixture
def writes_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every new SQLite connection refuses writes as a read-only database file does (SQLITE_READONLY),
    here where tests run as root and file permissions would not stop them."""
    connect = db._on_sqlite_connect

    def read_only_connect(dbapi_connection, record) -> None:  # noqa: ANN001
        connect(dbapi_connection, record)
        dbapi_connection.execute("PRAGMA query_only=ON")

    monkeypatch.setattr(db, "_on_sqlite_connect", read_only_connect)


@pytest.mark.slow
@pytest.mark.sqlite_only  # refuses writes the way a read-only SQLite file does
async def test_the_console_turns_read_only_when_a_write_fails(alerting_url: str, tmp_path: Path,  # noqa: F811
                                                              writes_refused: None) -> None:
    app = make_app(alerting_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_monitoring(app, pilot)
        assert "Ack" in screen_text(app) and not app.read_only
        await pilot.press("a")
        for _ in range(3):
            await settle(app, pilot)
        assert app.degraded == "the database file is read-only" and app.read_only
        notes = [n.message for n in app._notifications]
        assert any(n.startswith("cannot write to the workspace: the database file is read-only") for n in notes)
        assert any("the console is read-only until fuseboard restarts" in n for n in notes)
        shown = screen_text(app)
        assert "READ-ONLY" in shown and "Ack" not in shown  # the changes are gone from the key bar
        assert screen.alerts[0].state == "firing"  # nothing changed
        await pilot.press("1")  # still browsing
        await settle(app, pilot)
        assert "credit-risk" in screen_text(app)
        await pilot.press("a")  # no longer bound to anything that writes
        await settle(app, pilot)
        assert app.is_running


@pytest.mark.slow
async def test_the_console_opens_a_full_disk_read_only(demo_path: Path, small_disk: Path, tmp_path: Path) -> None:
    shutil.copytree(demo_path, small_disk / "demo")
    _fill(small_disk)
    app = make_app(f"sqlite:///{small_disk / 'demo' / 'demo.db'}", tmp_path, run_monitor=True)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(3):
            await settle(app, pilot)
        assert app.degraded == "the disk is full"
        shown = screen_text(app)
        assert "credit-risk" in shown and "READ-ONLY" in shown
        assert any("the disk is full" in n.message and "last saved" in n.message for n in app._notifications)
        assert app.monitor is None  # nothing could be recorded: no checks


@pytest.mark.slow
async def test_monitor_cycles_that_fail_are_said_and_a_full_disk_turns_the_console_read_only(
        demo_url: str, tmp_path: Path) -> None:
    from fuseboard.monitoring.scheduler import CycleSummary, Outcome
    from fuseboard.tui.messages import MonitorCycle, Notice

    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.post_message(MonitorCycle(CycleSummary("drift", Outcome.FAILED, error="ValueError: boom")))
        app.post_message(Notice("the monitor could not start: nope", "error"))
        await settle(app, pilot)
        notes = [n.message for n in app._notifications]
        assert "monitor cycle failed: ValueError: boom" in notes and "the monitor could not start: nope" in notes
        assert not app.read_only
        app.post_message(MonitorCycle(CycleSummary("health", Outcome.UNWRITABLE, error="x", reason="the disk is full")))
        await settle(app, pilot)
        assert app.degraded == "the disk is full" and app.read_only
