"""Stored windows are compact binary (migration 0008): a workspace whose windows are JSON is converted
on open with every profile as it was, converts back on downgrade, and new windows are written packed."""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import LargeBinary, create_engine, type_coerce
from sqlmodel import select

from fuseboard.store.db import HEAD, MIGRATIONS_DIR, open_workspace, schema_revision
from fuseboard.store.models import WindowProfile
from fuseboard.store.window_codec import JSON, PACKED, decode
from tests.support import FIXTURES
from tests.support.rows import credit_rows, ingest_rows
from tests.support.windows import exact as _exact
from tests.support.windows import seeded_windows as _windows

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


def _alembic(path: Path | str, action: str, revision: str) -> None:
    engine = create_engine(path if isinstance(path, str) else f"sqlite:///{path}")
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, action)(cfg, revision)
    engine.dispose()


def _stored(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as c:
        return c.execute("SELECT features_packed, predictions_packed, performance_packed FROM windowprofile "
                         "ORDER BY id").fetchall()


def test_json_windows_are_converted_on_open_and_back_on_downgrade(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with gzip.open(FIXTURES / "workspace-0001.db.gz") as src, db.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    _alembic(db, "upgrade", "0007_incidents")
    columns, perfs = _windows(n=25, seed=11)
    odd = {"x": {"kind": "numeric", "count": 3}}  # no shape the codec lays out: kept as JSON
    written = [(c, {"score": c["y"]}, p) for c, p in zip(columns, perfs)] + [(odd, {}, {})]
    with sqlite3.connect(db) as c:
        model, env, version = c.execute("SELECT model_id, environment_id, version_id FROM deployment").fetchone()
        c.executemany("INSERT INTO windowprofile (model_id, environment_id, version_id, window_start, window_seconds, "
                      "rows, features, predictions, performance, updated_at) VALUES (?, ?, ?, ?, 300, 10, ?, ?, ?, ?)",
                      [(model, env, version, (T0 + timedelta(minutes=5 * i)).strftime("%Y-%m-%d %H:%M:%S.%f"),
                        json.dumps(f), json.dumps(p), json.dumps(q), T0.strftime("%Y-%m-%d %H:%M:%S.%f"))
                       for i, (f, p, q) in enumerate(written)])

    ws = open_workspace(f"sqlite:///{db}")  # upgrades to HEAD: 0008 converts the windows
    assert schema_revision(ws.engine) == HEAD
    with ws.session() as s:
        back = s.exec(select(WindowProfile).order_by(WindowProfile.id)).all()
        assert [_exact((w.features, w.predictions, w.performance)) for w in back] == [_exact(w) for w in written]
    ws.close()
    stored = _stored(db)
    assert {blob[:4] for row in stored[:-1] for blob in row[:2]} == {PACKED}
    assert stored[-1][0][:4] == JSON
    with sqlite3.connect(db) as c:
        assert "features" not in [r[1] for r in c.execute("PRAGMA table_info(windowprofile)")]

    _alembic(db, "downgrade", "0007_incidents")
    with sqlite3.connect(db) as c:
        again = c.execute("SELECT features, predictions, performance FROM windowprofile ORDER BY id").fetchall()
    assert [_exact(tuple(json.loads(v) for v in row)) for row in again] == [_exact(w) for w in written]


def test_ingested_windows_are_stored_packed(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    ingest_rows(ws, credit_rows(300))
    names = ("features", "predictions", "performance")
    with ws.session() as s:
        raw = s.execute(select(WindowProfile.id, *(type_coerce(getattr(WindowProfile, c), LargeBinary) for c in names))
                        .order_by(WindowProfile.id)).all()
        read = {w.id: w for w in s.exec(select(WindowProfile)).all()}
    assert raw
    for row in raw:
        assert all(bytes(blob[:4]) == PACKED for blob in row[1:3])  # a window without labels has performance {}: JSON
        assert [decode(blob) for blob in row[1:]] == [getattr(read[row[0]], c) for c in names]


def test_stored_windows_survive_a_downgrade_and_the_upgrade_back(demo_url: str) -> None:
    """On SQLite and PostgreSQL alike: 0008 down turns the blobs into JSON columns, up turns them back,
    every profile as it was."""
    import sqlalchemy as sa

    ws = open_workspace(demo_url)
    ingest_rows(ws, credit_rows(300))
    with ws.session() as s:
        before = {w.id: (w.features, w.predictions, w.performance) for w in s.exec(select(WindowProfile)).all()}
    ws.close()
    assert before

    _alembic(demo_url, "downgrade", "0007_incidents")
    old = sa.table("windowprofile", sa.column("id", sa.Integer()), *(sa.column(c, sa.JSON()) for c in
                                                                       ("features", "predictions", "performance")))
    engine = create_engine(demo_url)
    with engine.connect() as conn:
        as_json = {row[0]: tuple(row[1:]) for row in conn.execute(sa.select(old))}
    engine.dispose()
    assert {k: _exact(v) for k, v in as_json.items()} == {k: _exact(v) for k, v in before.items()}

    _alembic(demo_url, "upgrade", "head")
    ws = open_workspace(demo_url)
    with ws.session() as s:
        after = {w.id: (w.features, w.predictions, w.performance) for w in s.exec(select(WindowProfile)).all()}
    ws.close()
    assert {k: _exact(v) for k, v in after.items()} == {k: _exact(v) for k, v in before.items()}
