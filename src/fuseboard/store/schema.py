"""The workspace's schema: the revisions this release knows, reading a database's revision, and
bringing it up to date with the shipped migrations (a new workspace also gets its environments)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from fuseboard.errors import WorkspaceError
from fuseboard.store.revisions import HEAD, KNOWN_REVISIONS  # noqa: F401  (re-exported by store.db)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def schema_revision(engine: Engine) -> str | None:
    """The workspace's schema revision, or None for an empty database."""
    insp = inspect(engine)
    tables = set(insp.get_table_names())
    if "alembic_version" not in tables:
        if tables:
            raise WorkspaceError(
                f"database holds tables but is not a fuseboard workspace ({engine.url.render_as_string()})"
            )
        return None
    with engine.connect() as conn:
        row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    return row[0] if row else None


DEFAULT_ENVIRONMENTS = (("dev", 0, False), ("staging", 1, False), ("prod", 2, True))


def _seed_environments(engine: Engine) -> None:
    from fuseboard.store.models import Environment

    with Session(engine) as session:
        for name, order, protected in DEFAULT_ENVIRONMENTS:
            session.add(Environment(name=name, order=order, protected=protected))
        session.commit()


def _alembic_upgrade(engine: Engine, migrations: Path = MIGRATIONS_DIR) -> None:
    """Run the migrations in ``migrations`` (the shipped ones) up to their head."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(migrations))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
