"""`fuseboard workspace copy`: every table and artifact into another database, verified; SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from fuseboard.ops.workspace import _counts
from fuseboard.store.audit import verify
from fuseboard.store.db import open_workspace
from fuseboard.ops.views import environment_matrix

PG_SERVER = os.environ.get("FUSEBOARD_TEST_POSTGRES")  # e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fuseboard", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A new, empty PostgreSQL database (FUSEBOARD_TEST_POSTGRES names the server), dropped afterwards."""
    if not PG_SERVER:
        pytest.skip("set FUSEBOARD_TEST_POSTGRES to a PostgreSQL server URL to run this")
    name = f"fbt_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = PG_SERVER.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _matrix(url: str) -> list[tuple]:
    _, rows = environment_matrix(open_workspace(url, create=False))
    return [(r.model, {env: (cell.version if cell else None) for env, cell in r.cells.items()}) for r in rows]


@pytest.mark.slow
def test_copy_to_another_sqlite_file_keeps_every_row_and_artifact(demo_url: str, tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'copy' / 'ws.db'}"
    done = cli("workspace", "copy", "--from", demo_url, "--to", target, "--json")
    assert done.returncode == 0, done.stderr
    source, copy = open_workspace(demo_url), open_workspace(target)
    assert _counts(copy) == _counts(source) and sum(_counts(copy).values()) > 150
    assert verify(copy).ok and verify(copy).events == verify(source).events
    assert _matrix(target) == _matrix(demo_url)
    assert sorted(p.name for p in copy.artifact_dir.rglob("*.joblib")) == \
        sorted(p.name for p in source.artifact_dir.rglob("*.joblib"))
    again = cli("workspace", "copy", "--from", demo_url, "--to", target)  # not into a workspace with data
    assert again.returncode != 0
    assert again.stderr.strip().splitlines() == [
        again.stderr.strip()] and "already holds" in again.stderr and "--force" in again.stderr
    forced = cli("workspace", "copy", "--from", demo_url, "--to", target, "--force")  # replaces data: asks
    assert forced.returncode == 1 and forced.stderr.startswith("error: replace everything in ")
    assert forced.stderr.strip().endswith("needs confirmation: pass --yes")
    assert cli("workspace", "copy", "--from", demo_url, "--to", target, "--force", "--yes").returncode == 0
    assert _counts(open_workspace(target)) == _counts(source)


def test_a_copy_onto_itself_is_refused_however_the_path_is_spelled(tmp_path: Path, demo_path: Path) -> None:
    (tmp_path / "link").symlink_to(demo_path)
    before = _counts(open_workspace(f"sqlite:///{demo_path / 'demo.db'}"))
    for spelled in (f"sqlite:///{demo_path / '..' / demo_path.name / 'demo.db'}",
                    f"sqlite:///{tmp_path / 'link' / 'demo.db'}"):
        result = cli("workspace", "copy", "--from", f"sqlite:///{demo_path / 'demo.db'}", "--to", spelled,
                     "--force", "--yes")
        assert result.returncode == 1 and "the copy's source and target are the same database" in result.stderr, result.stderr
    assert _counts(open_workspace(f"sqlite:///{demo_path / 'demo.db'}")) == before


def test_a_copy_that_fails_writes_nothing(demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fuseboard.errors import FuseboardError
    from fuseboard.ops import workspace

    target = open_workspace(f"sqlite:///{tmp_path / 'ws.db'}")
    before = _counts(target)
    real_insert = workspace.insert
    calls = {"n": 0}

    def failing_insert(table):  # noqa: ANN001, ANN202
        calls["n"] += 1
        if calls["n"] == 6:
            raise FuseboardError("disk went away")
        return real_insert(table)

    monkeypatch.setattr(workspace, "insert", failing_insert)
    with pytest.raises(FuseboardError, match="disk went away"):
        workspace.copy_workspace(open_workspace(demo_url), target)
    assert _counts(target) == before  # the seeded environments only


def test_sqlite_to_postgresql_and_back(demo_url: str, pg_url: str, tmp_path: Path) -> None:
    done = cli("workspace", "copy", "--from", demo_url, "--to", pg_url)
    assert done.returncode == 0, done.stderr
    assert "row counts match, audit chain intact" in done.stdout
    assert _counts(open_workspace(pg_url)) == _counts(open_workspace(demo_url))
    assert _matrix(pg_url) == _matrix(demo_url)
    # the copy is a working workspace: a change appends to the chain, with new keys after the copied ones
    changed = cli("--db", pg_url, "silence", "credit-risk", "--env", "prod", "--for", "1h", "--comment", "copied", "--yes")
    assert changed.returncode == 0, changed.stderr
    assert verify(open_workspace(pg_url)).ok
    back = f"sqlite:///{tmp_path / 'back.db'}"
    assert cli("workspace", "copy", "--from", pg_url, "--to", back).returncode == 0
    assert _counts(open_workspace(back)) == _counts(open_workspace(pg_url))
    assert verify(open_workspace(back)).ok
