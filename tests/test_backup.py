"""`fuseboard backup`: a consistent copy of a live workspace that opens and restores."""

from __future__ import annotations

import pytest

import json
import threading
from pathlib import Path

from click.testing import CliRunner

from fuseboard.cli import cli
from fuseboard.store.audit import record, verify
from fuseboard.store.db import open_workspace
from fuseboard.store.models import AuditEvent



pytestmark = pytest.mark.sqlite_only  # `fuseboard backup` copies SQLite files

def test_backup_of_a_live_workspace_is_consistent_and_restores(demo_url: str, tmp_path: Path) -> None:
    ws = open_workspace(demo_url)
    stop = threading.Event()

    def writer() -> None:  # another process's worth of writes while the backup runs
        other = open_workspace(demo_url)
        n = 0
        while not stop.is_set():
            with other.transaction() as s:
                record(s, action="test.write", target=f"w{n}", actor="t", origin="cli")
            n += 1
        other.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        result = CliRunner().invoke(cli, ["--db", demo_url, "backup", str(tmp_path / "copy.db"), "--json"])
    finally:
        stop.set()
        thread.join()
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["artifact_files_copied"] > 0 and (tmp_path / "copy.db").stat().st_mode & 0o777 == 0o600
    copy = open_workspace(f"sqlite:///{tmp_path / 'copy.db'}")
    assert verify(copy).ok  # a snapshot: the chain is whole, no half-written event
    models = json.loads(CliRunner().invoke(cli, ["--db", f"sqlite:///{tmp_path / 'copy.db'}", "models", "--json"])
                        .output)
    assert [m["name"] for m in models] == ["churn-propensity", "credit-risk", "demand-forecast",
                                           "disease-progression", "tumour-screening"]
    from fuseboard.ops.registry import artifact_file
    from fuseboard.store.models import ModelVersion
    from sqlmodel import select

    with copy.session() as s:  # every artifact the copy names is there and matches its sha256
        for mv in s.exec(select(ModelVersion)):
            assert artifact_file(copy, mv).is_file()
        copied_events = len(s.exec(select(AuditEvent.id)).all())
    with ws.session() as s:
        assert len(s.exec(select(AuditEvent.id)).all()) >= copied_events


def test_backup_refuses_to_overwrite_without_force(demo_url: str, tmp_path: Path) -> None:
    target = tmp_path / "copy.db"
    target.write_text("precious")
    result = CliRunner().invoke(cli, ["--db", demo_url, "backup", str(target)])
    assert result.exit_code == 1 and "exists; pass --force" in result.output
    assert target.read_text() == "precious"
    forced = CliRunner().invoke(cli, ["--db", demo_url, "backup", str(target), "--force"])
    assert forced.exit_code == 0, forced.output
