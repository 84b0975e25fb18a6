"""Opening a workspace: the engine, its connection settings, and the ``Workspace`` handle.

A workspace is a database (any SQLAlchemy URL) plus an artifact folder that
holds model files by their sha256. Opening one brings its schema up to date
with the migrations shipped in this package; a workspace written by a newer
fuseboard is refused before anything is touched.

The other jobs live beside it (``schema``, ``failures``, ``urls``, ``permissions``,
``backup``); their public names are importable from here as before.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError
from sqlmodel import Session, create_engine

from fuseboard.errors import WorkspaceError, WorkspaceUnwritable
from fuseboard.store.failures import (DAMAGED, UNREACHABLE, UNWRITABLE, _disk_reason, damaged, is_unreachable,
                                      unwritable_reason)
from fuseboard.store.models import AuditEvent, utcnow
from fuseboard.store.permissions import (ARTIFACT_MODES, DATABASE_MODES, FOLDER_MODES, group_id, join_group,
                                         share)
from fuseboard.store.schema import (DEFAULT_ENVIRONMENTS, HEAD, KNOWN_REVISIONS, MIGRATIONS_DIR, _alembic_upgrade,
                                    _seed_environments, schema_revision)
from fuseboard.store.urls import _parse, _sqlite_path, anchor_path, default_artifact_dir

__all__ = [  # (the names callers import from here; several now live in the modules beside this one)
    "ARTIFACT_MODES", "DAMAGED", "DATABASE_MODES", "DEFAULT_ENVIRONMENTS", "FOLDER_MODES", "HEAD", "JSON_CODEC",
    "KNOWN_REVISIONS", "MIGRATIONS_DIR", "UNREACHABLE", "UNWRITABLE", "WRITER_LOCK", "Workspace", "anchor_path",
    "backup", "damaged", "database_now", "default_artifact_dir", "group_id", "is_unreachable", "join_group",
    "make_engine", "open_workspace", "schema_revision", "share", "unwritable_reason",
]

WRITER_LOCK = 0x66757365  # "fuse": the PostgreSQL advisory lock writers take turns on


def database_now(conn: Any) -> datetime:
    """The time by the database server's clock on a server database (hosts' clocks differ; the
    lease expiry must not depend on them), else this machine's."""
    if conn.dialect.name == "postgresql":
        return conn.execute(text("SELECT now()")).scalar_one().astimezone(timezone.utc)
    return utcnow()


@dataclass
class Workspace:
    url: str
    engine: Engine
    artifact_dir: Path
    read_only: bool = False
    degraded: str | None = None  # why the workspace opened read-only though nobody asked for it
    saved_copy: bool = False  # read as last saved (SQLite could not set up live reading): no updates
    group: str | None = None  # shared with this group (files 0660/0640, folders 2770); else owner-only
    audit_anchor: Path | None = None  # the audit chain's checkpoints outside the database (store/anchor.py)
    anchor_problem: str | None = None  # why the last commit's checkpoint could not be written
    identity_override: bool = False  # the workspace lets FUSEBOARD_USER name the user (else the OS login)
    created: bool = False  # this opening made a new workspace (an empty database got the schema)

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: committed whole, or rolled back whole."""
        if self.degraded:
            raise WorkspaceUnwritable(self.degraded, self.where)
        if self.read_only:
            raise WorkspaceError("workspace is open read-only", field="read_only")
        with self.session() as session:
            try:
                if self.engine.dialect.name == "sqlite":
                    # take the write lock now: a deferred transaction that read first and writes later
                    # fails at once ("database is locked") when another writer got in between,
                    # whereas this one waits its turn (busy_timeout)
                    session.connection().exec_driver_sql("BEGIN IMMEDIATE")
                elif self.engine.dialect.name == "postgresql":
                    # writers take turns, as on SQLite: a transaction that reads a window, a lease or the
                    # audit chain's head and writes it back cannot lose another host's write (readers
                    # never wait); the lock goes with the transaction
                    conn = session.connection()
                    conn.exec_driver_sql("SET LOCAL lock_timeout = '30s'")
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITER_LOCK})")
                yield session
                session.commit()
                pending = session.info.pop("fuseboard.anchor_pending", None)
                if pending:  # checkpointed only once committed: the anchor never runs ahead of the database
                    from fuseboard.store.anchor import append

                    self.anchor_problem = append(self, pending)
            except OperationalError as exc:
                session.rollback()
                reason = unwritable_reason(exc)
                if reason is not None:
                    raise WorkspaceUnwritable(reason, self.where) from None
                text_ = str(exc.orig).lower()
                if "database is locked" in text_ or "lock timeout" in text_:
                    raise WorkspaceError(f"the workspace is busy: another change held it for 30 s; nothing was "
                                         f"changed, try again ({self.where})") from None
                raise
            except BaseException:
                session.rollback()
                raise

    @property
    def where(self) -> str:
        """The database, as a user names it: the file for SQLite, the URL without a password otherwise."""
        path = _sqlite_path(self.url)
        return str(path) if path is not None else _parse(self.url).render_as_string(hide_password=True)

    def same_database(self, other: "Workspace") -> bool:
        """Whether ``other`` is this very database, however its URL is spelled (``./``, ``..``, a symlink;
        host, port and database name on a server)."""
        mine, theirs = _sqlite_path(self.url), _sqlite_path(other.url)
        if mine is not None or theirs is not None:
            if mine is None or theirs is None:
                return False
            try:
                return os.path.samefile(mine, theirs)
            except OSError:  # one of them does not exist yet
                return mine.resolve() == theirs.resolve()
        a, b = _parse(self.url), _parse(other.url)
        return (a.get_backend_name(), (a.host or "").lower(), a.port, a.database) == (
            b.get_backend_name(), (b.host or "").lower(), b.port, b.database)

    def close(self) -> None:
        self.engine.dispose()


def _on_sqlite_connect(dbapi_connection, _record) -> None:  # noqa: ANN001
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")  # writers queue (BEGIN IMMEDIATE); 30 s before a user sees it
    cursor.close()


def _refuse_audit_changes(session, _context, _instances) -> None:  # noqa: ANN001
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent):
            raise WorkspaceError("audit events are append-only and cannot be changed")


event.listen(Session, "before_flush", _refuse_audit_changes)


def _json_dumps(value: object) -> str:
    import orjson

    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def _json_loads(text: str | bytes) -> object:
    import orjson

    return orjson.loads(text)


# Profiles are large JSON documents read on every check: orjson decodes them several times faster.
JSON_CODEC = {"json_serializer": _json_dumps, "json_deserializer": _json_loads}


def make_engine(url: str) -> Engine:
    parsed = _parse(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(url, connect_args={"timeout": 5, "check_same_thread": False}, **JSON_CODEC)
            event.listen(engine, "connect", _on_sqlite_connect)
        else:
            connect_args = {"connect_timeout": 10} if parsed.get_backend_name() == "postgresql" else {}
            engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args, **JSON_CODEC)
    except ImportError as exc:
        raise WorkspaceError(f"database driver missing for {parsed.drivername}: {exc}") from None
    except ArgumentError as exc:  # NoSuchModuleError: a kind of database SQLAlchemy does not know
        raise WorkspaceError(f"unknown kind of database {parsed.drivername!r}: {exc}", field="db") from None
    return engine


def open_workspace(
    url: str,
    *,
    artifact_dir: str | Path | None = None,
    create: bool = True,
    read_only: bool = False,
    group: str | None = None,
    named_by: str = "--db",
    audit_anchor: str | Path | None = None,
) -> Workspace:
    """Open (and, when allowed, create or upgrade) the workspace at ``url``.

    A new SQLite file (and a folder made for it) is owner-only, or shared with ``group``. Without
    ``create`` a missing workspace is an error naming where the URL came from (``named_by``) and
    nothing is created. ``audit_anchor``: where the audit chain's checkpoints live (default: ``anchor_path``).
    """
    sqlite_path = _sqlite_path(url)
    if not read_only and sqlite_path is not None:
        group_id(group)  # a misspelt group fails before anything is created
    from fuseboard.inputs import not_a_file

    kind = not_a_file(sqlite_path) if sqlite_path is not None else None
    if kind is not None:
        raise WorkspaceError(f"the workspace database must be a file; {sqlite_path} is {kind} ({named_by})")
    try:
        if sqlite_path is not None:
            sqlite_path.exists()
    except OSError as exc:  # a name too long for the filesystem, a loop of links
        from fuseboard.inputs import shown

        raise WorkspaceError(f"cannot open the workspace database: {exc.strerror} ({shown(str(sqlite_path), 200)}, "
                             f"{named_by})") from None
    if sqlite_path is not None and not sqlite_path.exists():
        if not create or read_only:
            raise WorkspaceError(f"no workspace at {sqlite_path.absolute()} ({named_by}); create one with "
                                 "fuseboard register ... or fuseboard demo")
        try:
            if not sqlite_path.parent.exists():
                sqlite_path.parent.mkdir(parents=True, mode=0o700)
                share(sqlite_path.parent, group, FOLDER_MODES)
            sqlite_path.touch(mode=0o600)
        except OSError as exc:
            raise WorkspaceError(f"cannot create the workspace database: {exc.strerror or exc} ({sqlite_path}, "
                                 f"{named_by})") from None
        share(sqlite_path, group)
    elif sqlite_path is not None and group and not read_only:
        join_group(sqlite_path, group)  # a workspace shared later: its members can use it from now on
    degraded, created = None, False
    if sqlite_path is not None and not read_only:
        if not os.access(sqlite_path, os.W_OK):
            degraded = "the database file is not writable"
        elif not os.access(sqlite_path.parent, os.W_OK | os.X_OK):
            degraded = "the database's folder is not writable (SQLite keeps its journal there)"
    engine = make_engine(url)
    try:
        revision = schema_revision(engine)
        if revision is not None and revision not in KNOWN_REVISIONS:
            raise WorkspaceError(
                f"workspace schema {revision!r} was written by a newer fuseboard; "
                f"upgrade fuseboard to open it ({_parse(url).render_as_string(hide_password=True)})"
            )
        if revision is None and not create:  # a database server's empty database: nothing to read
            raise WorkspaceError(f"no workspace at {_parse(url).render_as_string(hide_password=True)} "
                                 "(run `fuseboard demo`, `fuseboard register` or `fuseboard workspace copy`)")
        if revision != HEAD:
            if degraded:
                raise WorkspaceError(f"workspace schema {revision!r} needs an upgrade, but {degraded}")
            if read_only:
                raise WorkspaceError(f"workspace schema {revision!r} needs an upgrade; open it once without --read-only")
            _alembic_upgrade(engine, MIGRATIONS_DIR)
            if revision is None:
                _seed_environments(engine)
                created = True
    except DatabaseError as exc:
        engine.dispose()
        reason = unwritable_reason(exc)
        if sqlite_path is not None and damaged(exc, str(sqlite_path)) is not None:
            raise damaged(exc, str(sqlite_path)) from None
        if sqlite_path is None or reason is None:
            first = (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]
            raise WorkspaceError(f"cannot open workspace: {first} "
                                 f"({_parse(url).render_as_string(hide_password=True)})") from None
        # SQLite could not even set up reading (its shared-memory file sits beside the database and
        # must grow): read the file as saved, without live updates, rather than not at all
        degraded = degraded or _disk_reason(sqlite_path, reason)
        engine = _saved_copy_engine(sqlite_path, degraded)
    except BaseException:
        engine.dispose()
        raise
    art = Path(artifact_dir) if artifact_dir else default_artifact_dir(url)
    override = _identity_override(engine)
    from fuseboard.store.audit import allow_override

    allow_override(override)  # current_actor() follows the workspace this process opened
    return Workspace(url=url, engine=engine, artifact_dir=art, read_only=read_only or degraded is not None,
                     degraded=degraded, saved_copy=engine.url.query.get("immutable") == "1", group=group,
                     audit_anchor=Path(audit_anchor).expanduser() if audit_anchor else anchor_path(url, art),
                     identity_override=override, created=created)


def _identity_override(engine: Engine) -> bool:
    """The workspace's ``identity_override`` setting (off unless `fuseboard workspace identity` turned it on)."""
    from fuseboard.store.models import WorkspaceSetting

    try:
        with Session(engine) as session:
            row = session.get(WorkspaceSetting, "identity_override")
    except DatabaseError:  # the server went away since the schema check: the safe answer
        return False
    return bool(row is not None and row.value)


def _saved_copy_engine(path: Path, reason: str) -> Engine:
    """An engine reading the database file as it was saved (SQLite's immutable mode: no locks, no
    journal files), for a workspace that cannot be opened normally."""
    from urllib.parse import quote

    engine = create_engine(f"sqlite:///file:{quote(str(path))}?mode=ro&immutable=1&uri=true",
                           connect_args={"check_same_thread": False}, **JSON_CODEC)
    try:
        revision = schema_revision(engine)
    except DatabaseError as exc:
        engine.dispose()
        raise WorkspaceError(f"cannot open workspace: {reason}, and reading it failed too: {exc.orig} ({path})") \
            from None
    if revision != HEAD:
        engine.dispose()
        raise WorkspaceError(f"cannot open workspace: {reason}, and its schema {revision!r} needs an upgrade ({path})")
    return engine


from fuseboard.store.backup import backup  # noqa: E402  (backup.py names Workspace, defined above)
