"""The workspace store: schema versioning, SQLite settings, append-only audit."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from fuseboard.errors import WorkspaceError
from fuseboard.store.db import HEAD, open_workspace, schema_revision
from fuseboard.store.models import AuditEvent, Environment


def test_new_workspace_is_at_head_with_default_environments(ws_url: str) -> None:
    ws = open_workspace(ws_url)
    assert schema_revision(ws.engine) == HEAD
    with ws.session() as s:
        envs = [(e.name, e.order, e.protected) for e in s.exec(select(Environment).order_by(Environment.order))]
    assert envs == [("dev", 0, False), ("staging", 1, False), ("prod", 2, True)]
    ws.close()
    # opening again neither fails nor seeds twice
    ws = open_workspace(ws_url)
    with ws.session() as s:
        assert len(s.exec(select(Environment)).all()) == 3


@pytest.mark.sqlite_only
def test_sqlite_gets_wal_foreign_keys_and_busy_timeout(ws_url: str) -> None:
    ws = open_workspace(ws_url)
    with ws.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000


@pytest.mark.sqlite_only
def test_database_file_is_owner_only(ws_url: str) -> None:
    ws = open_workspace(ws_url)
    path = Path(ws_url.removeprefix("sqlite:///"))
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.sqlite_only
def test_workspace_from_a_newer_fuseboard_is_refused_untouched(ws_url: str) -> None:
    open_workspace(ws_url).close()
    path = Path(ws_url.removeprefix("sqlite:///"))
    con = sqlite3.connect(path)
    con.execute("UPDATE alembic_version SET version_num = '0099_from_the_future'")
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    before = _digest(path)
    with pytest.raises(WorkspaceError, match="newer fuseboard"):
        open_workspace(ws_url)
    assert _digest(path) == before


def test_a_database_that_is_not_a_workspace_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE invoices (id INTEGER)")
    con.commit()
    con.close()
    with pytest.raises(WorkspaceError, match="not a fuseboard workspace"):
        open_workspace(f"sqlite:///{path}")


def test_missing_workspace_is_not_created_read_only(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="no workspace at"):
        open_workspace(f"sqlite:///{tmp_path / 'absent.db'}", read_only=True)
    assert not (tmp_path / "absent.db").exists()


def test_bad_url_is_one_clear_error() -> None:
    with pytest.raises(WorkspaceError, match="not a database URL"):
        open_workspace("definitely not a url")


def test_migrations_describe_exactly_the_tables_in_the_code(ws_url: str) -> None:
    """The frozen migrations and the SQLModel tables must agree, or upgrades would drift."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    ws = open_workspace(ws_url)
    with ws.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_workspace_at_the_first_revision_upgrades_with_its_data(tmp_path: Path) -> None:
    """A workspace written by the first release's schema, with data, is upgraded to the current one."""
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from sqlalchemy import create_engine

    from fuseboard.store.db import KNOWN_REVISIONS, MIGRATIONS_DIR

    path = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{path}")
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, KNOWN_REVISIONS[0])
        conn.execute(text("INSERT INTO team (name, kind, description) VALUES ('old-team', 'data-science', '')"))
    engine.dispose()
    ws = open_workspace(f"sqlite:///{path}")
    assert schema_revision(ws.engine) == HEAD
    with ws.engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM team")).scalars().all() == ["old-team"]


def test_audit_events_are_append_only(ws_url: str) -> None:
    from fuseboard.ops.audit import record

    ws = open_workspace(ws_url)
    with ws.transaction() as s:
        record(s, action="test", target="x", actor="me", origin="cli", after={"a": 1})
    with pytest.raises(WorkspaceError, match="append-only"):
        with ws.transaction() as s:
            event = s.exec(select(AuditEvent)).one()
            event.reason = "rewritten"
            s.add(event)
    with pytest.raises(WorkspaceError, match="append-only"):
        with ws.transaction() as s:
            s.delete(s.exec(select(AuditEvent)).one())
    with ws.session() as s:
        event = s.exec(select(AuditEvent)).one()
        assert event.reason == "" and event.after == {"a": 1}
        assert event.at.tzinfo is not None


def test_read_only_workspace_refuses_transactions(ws_url: str) -> None:
    open_workspace(ws_url).close()
    ws = open_workspace(ws_url, read_only=True)
    with pytest.raises(WorkspaceError, match="read-only"):
        with ws.transaction():
            pass


def test_opening_an_older_workspace_runs_the_newer_migrations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The upgrade path itself: a later revision (here a test-only one) is applied on open, data kept."""
    import shutil

    from fuseboard.store import db

    ws = open_workspace(f"sqlite:///{tmp_path / 'ws.db'}")
    with ws.engine.begin() as conn:
        conn.execute(text("INSERT INTO team (name, kind, description) VALUES ('keep-me', 'data-science', '')"))
    ws.close()

    migrations = tmp_path / "migrations"
    shutil.copytree(db.MIGRATIONS_DIR, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    (migrations / "versions" / "9999_test.py").write_text(
        "from alembic import op\nimport sqlalchemy as sa\n"
        f"revision = '9999_test'\ndown_revision = {db.HEAD!r}\nbranch_labels = None\ndepends_on = None\n"
        "def upgrade():\n"
        "    with op.batch_alter_table('team') as batch:\n"
        "        batch.add_column(sa.Column('pager', sa.String(), nullable=True))\n"
    )
    monkeypatch.setattr(db, "MIGRATIONS_DIR", migrations)
    monkeypatch.setattr(db, "KNOWN_REVISIONS", (*db.KNOWN_REVISIONS, "9999_test"))
    monkeypatch.setattr(db, "HEAD", "9999_test")

    ws = open_workspace(f"sqlite:///{tmp_path / 'ws.db'}")
    assert schema_revision(ws.engine) == "9999_test"
    with ws.engine.connect() as conn:
        assert conn.execute(text("SELECT name, pager FROM team")).all() == [("keep-me", None)]


def _other_group() -> tuple[str, int]:
    import grp

    mine = os.getegid()
    found = next((g for g in grp.getgrall() if g.gr_gid != mine), None)
    if found is None or os.geteuid() != 0 and found.gr_gid not in os.getgroups():
        pytest.skip("needs a group to share with (as root, any group)")
    return found.gr_name, found.gr_gid


def test_a_workspace_shared_with_a_group_is_group_writable(tmp_path: Path, credit_files) -> None:  # noqa: ANN001
    from fuseboard.ops.registry import register
    from tests.support.rows import register_request as _req

    name, gid = _other_group()
    path = tmp_path / "shared" / "fuseboard.db"
    ws = open_workspace(f"sqlite:///{path}", group=name)
    register(ws, _req(credit_files), actor="ana", origin="cli")  # an artifact and a write (the WAL file)
    folder = path.parent
    assert folder.stat().st_mode & 0o7777 == 0o2770 and folder.stat().st_gid == gid  # setgid: files join the group
    assert path.stat().st_mode & 0o777 == 0o660 and path.stat().st_gid == gid
    wal = path.with_name(path.name + "-wal")
    assert wal.stat().st_gid == gid and wal.stat().st_mode & 0o060 == 0o060  # members can write it too
    artifacts = [p for p in ws.artifact_dir.rglob("*.joblib")]
    assert artifacts and all(a.stat().st_mode & 0o777 == 0o640 and a.stat().st_gid == gid for a in artifacts)
    assert ws.artifact_dir.stat().st_mode & 0o7777 == 0o2770


def test_an_unknown_shared_group_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "ws" / "fuseboard.db"
    with pytest.raises(WorkspaceError, match="config field 'group': no group 'no-such-group-xyz'"):
        open_workspace(f"sqlite:///{path}", group="no-such-group-xyz")
    assert not path.parent.exists()  # nothing created


def test_without_a_group_artifacts_are_owner_only(ws_url: str, credit_files) -> None:  # noqa: ANN001
    from fuseboard.ops.registry import register
    from tests.support.rows import register_request as _req

    ws = open_workspace(ws_url)
    register(ws, _req(credit_files), actor="ana", origin="cli")
    assert all(a.stat().st_mode & 0o777 == 0o600 for a in ws.artifact_dir.rglob("*.joblib"))
    assert ws.artifact_dir.stat().st_mode & 0o777 == 0o700


def test_sharing_an_existing_workspace_later_keeps_a_read_only_file_read_only(tmp_path: Path) -> None:
    name, gid = _other_group()
    path = tmp_path / "ws" / "fuseboard.db"
    open_workspace(f"sqlite:///{path}").close()
    path.chmod(0o400)
    open_workspace(f"sqlite:///{path}", group=name).close()
    assert path.stat().st_mode & 0o777 == 0o440 and path.stat().st_gid == gid  # the group reads; nobody writes
    path.chmod(0o600)
    open_workspace(f"sqlite:///{path}", group=name).close()
    assert path.stat().st_mode & 0o777 == 0o660


def test_a_password_never_appears_in_an_error(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError) as caught:
        open_workspace("postgresql+psycopg://fuse:s3cret-pw@127.0.0.1:1/nothing")
    assert "s3cret-pw" not in str(caught.value) and "***" in str(caught.value)
