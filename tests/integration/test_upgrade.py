"""A workspace created by the first released schema opens with the current fuseboard, upgraded, nothing lost."""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from fuseboard.cli import cli
from fuseboard.store.audit import verify
from fuseboard.store.db import HEAD, open_workspace, schema_revision
from tests.support import FIXTURES

FIXTURE = FIXTURES / "workspace-0001.db.gz"
TABLES = {  # every table of 0001 with the columns it had
    "team": ["id", "name", "kind", "description"],
    "person": ["id", "handle", "name", "email", "phone", "team_id"],
    "environment": ["id", "name", "order", "protected"],
    "model": ["id", "name", "task", "criticality", "description", "owner_team_id", "builder_team_id", "retrain_by",
              "created_at"],
    "modelversion": ["id", "model_id", "version", "artifact_sha256", "artifact_path", "estimator_class", "target",
                     "feature_schema", "validation_metrics", "reference_profile", "registered_by", "registered_at",
                     "note"],
    "deployment": ["id", "model_id", "environment_id", "version_id", "endpoint_url", "deployed_by", "deployed_at"],
    "auditevent": ["id", "at", "actor", "origin", "action", "target", "before", "after", "reason"],
}


def rows(path: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(path) as c:
        return {t: c.execute(f'SELECT {", ".join(chr(34) + col + chr(34) for col in cols)} FROM {t} ORDER BY id')
                .fetchall() for t, cols in TABLES.items()}


def test_first_schema_workspace_upgrades_with_no_data_lost(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with gzip.open(FIXTURE) as src, db.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    before = rows(db)
    assert sum(len(v) for v in before.values()) > 80  # five models, their versions, deployments, audit trail

    ws = open_workspace(f"sqlite:///{db}")
    assert schema_revision(ws.engine) == HEAD
    assert rows(db) == before  # every row and value of the old tables, as it was

    report = verify(ws)  # the events written before the chain existed were chained by the upgrade
    assert report.ok and report.events == len(before["auditevent"])
    url = f"sqlite:///{db}"
    models = json.loads(CliRunner().invoke(cli, ["--db", url, "models", "--json"]).output)
    assert len(models) == 5
    history = json.loads(CliRunner().invoke(cli, ["--db", url, "history", "credit-risk", "--env", "prod",
                                                  "--json"]).output)
    assert [r["state"] for r in history] == ["succeeded"]  # what served became its first rollout
    # and the upgraded workspace takes new changes that chain onto the old trail
    result = CliRunner().invoke(cli, ["--db", url, "signoff", "credit-risk", "2", "--as", "it"])
    assert result.exit_code == 0, result.output
    assert verify(ws).ok


def test_a_first_schema_postgresql_workspace_upgrades_too(tmp_path: Path, ws_url: str) -> None:
    """The migrations with their backfills (rollouts from deployments, the audit chain) on PostgreSQL:
    the 0001 fixture's rows put into a PostgreSQL database at schema 0001, then opened."""
    import pytest
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from sqlalchemy import MetaData, create_engine, insert, select

    from fuseboard.store.db import MIGRATIONS_DIR

    if not ws_url.startswith("postgresql"):
        pytest.skip("the SQLite upgrade is the test above; this one needs FUSEBOARD_TEST_POSTGRES")
    db = tmp_path / "old.db"
    with gzip.open(FIXTURE) as src, db.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    engine = create_engine(ws_url)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001_initial")
    old, new = MetaData(), MetaData()
    sqlite_engine = create_engine(f"sqlite:///{db}")
    old.reflect(sqlite_engine)
    new.reflect(engine)
    with sqlite_engine.connect() as src_conn, engine.begin() as dst_conn:
        for table in new.sorted_tables:
            if table.name in old.tables and table.name != "alembic_version":
                found = [dict(r._mapping) for r in src_conn.execute(select(old.tables[table.name]))]
                if table.name == "environment":  # the 0001 migration seeded nothing; the fixture has them
                    dst_conn.execute(table.delete())
                if found:
                    dst_conn.execute(insert(table), found)
    engine.dispose()
    before = rows(db)

    ws = open_workspace(ws_url)  # 0001 -> current, on PostgreSQL
    assert schema_revision(ws.engine) == HEAD
    report = verify(ws)
    assert report.ok and report.events == len(before["auditevent"])
    models = json.loads(CliRunner().invoke(cli, ["--db", ws_url, "models", "--json"]).output)
    assert len(models) == 5
    history = json.loads(CliRunner().invoke(cli, ["--db", ws_url, "history", "credit-risk", "--env", "prod",
                                                  "--json"]).output)
    assert [r["state"] for r in history] == ["succeeded"]
