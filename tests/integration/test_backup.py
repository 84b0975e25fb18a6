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


def test_backup_refuses_to_write_over_the_workspace_itself(demo_path: Path, tmp_path: Path) -> None:
    """--force over the live database would swap the file under its writers and beside its WAL."""
    db = demo_path / "demo.db"
    link = tmp_path / "same.db"
    link.symlink_to(db)
    inode = db.stat().st_ino
    for target in (db, link):
        result = CliRunner().invoke(cli, ["--db", f"sqlite:///{db}", "backup", str(target), "--force"])
        assert result.exit_code == 1
        assert result.output.strip() == (f"error: {db} is the workspace itself; back it up to another file "
                                          f"({target})")
    assert db.stat().st_ino == inode and not list(demo_path.glob("*.partial"))


def _artifacts(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_backup_after_a_killed_one_replaces_the_truncated_artifact(demo_url: str, tmp_path: Path) -> None:
    """What a backup killed mid-artifact left under the old code (a truncated file under its final
    name, no database yet) is found by its sha256 and copied again; the copy then opens every version."""
    import hashlib

    target = tmp_path / "copy.db"
    first = CliRunner().invoke(cli, ["--db", demo_url, "backup", str(target), "--json"])
    assert first.exit_code == 0, first.output
    folder = tmp_path / "copy-artifacts"
    victim = sorted(p for p in folder.rglob("*.joblib"))[0]
    whole = victim.read_bytes()
    victim.write_bytes(whole[: len(whole) // 3])  # cut short
    (victim.parent / ".incoming-abc123").write_bytes(b"half")  # a temporary file a kill left
    target.unlink()
    (tmp_path / "copy.db.partial").write_bytes(b"half a database")

    again = CliRunner().invoke(cli, ["--db", demo_url, "backup", str(target)])
    assert again.exit_code == 0, again.output
    assert "1 artifact file(s)" in again.output and "replaced 1 that did not match their sha256" in again.output
    assert victim.read_bytes() == whole and hashlib.sha256(whole).hexdigest() == victim.stem
    assert not list(folder.rglob(".incoming-*")) and not (tmp_path / "copy.db.partial").exists()

    victim.write_bytes(b"damaged since")  # and with --force over a finished backup
    forced = CliRunner().invoke(cli, ["--db", demo_url, "backup", str(target), "--force", "--json"])
    assert forced.exit_code == 0, forced.output
    out = json.loads(forced.output)
    assert (out["artifact_files_copied"], out["artifact_files_replaced"]) == (1, 1)
    assert victim.read_bytes() == whole
    from fuseboard.ops.registry import artifact_file
    from fuseboard.store.models import ModelVersion
    from sqlmodel import select

    copy = open_workspace(f"sqlite:///{target}")
    with copy.session() as s:
        for mv in s.exec(select(ModelVersion)):
            assert artifact_file(copy, mv).is_file()  # every version's artifact matches its sha256


def test_a_backup_killed_mid_artifact_leaves_no_file_under_a_final_name(demo_url: str, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib
    import os

    import fuseboard.store.files as files

    class Killed(BaseException):
        pass

    def killed(_fd: int) -> None:  # the third artifact's bytes are written, then the process dies
        raise Killed

    real_copy, calls = files.copy_verified, []

    def copy(src: Path, dest: Path, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(dest)
        if len(calls) == 3:
            monkeypatch.setattr(os, "fsync", killed)
        return real_copy(src, dest, *args, **kwargs)

    monkeypatch.setattr(files, "copy_verified", copy)
    with pytest.raises(Killed):
        CliRunner().invoke(cli, ["--db", demo_url, "backup", str(tmp_path / "copy.db")], catch_exceptions=False)
    monkeypatch.undo()
    done = [p for p in (tmp_path / "copy-artifacts").rglob("*") if p.is_file()]
    assert len(calls) == 3 and sorted(p.name for p in done) == sorted(p.name for p in calls[:2])
    for path in done:  # only whole, checked files under their final names
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.stem
    assert not (tmp_path / "copy.db").exists()  # the database goes in last
