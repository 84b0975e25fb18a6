"""Opening a workspace: engine, connection settings, schema version.

A workspace is a database (any SQLAlchemy URL) plus an artifact folder that
holds model files by their sha256. Opening one brings its schema up to date
with the migrations shipped in this package; a workspace written by a newer
fuseboard is refused before anything is touched.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError
from sqlmodel import Session, create_engine

from fuseboard.errors import WorkspaceError, WorkspaceUnwritable
from fuseboard.store.models import AuditEvent, utcnow
from fuseboard.store.revisions import HEAD, KNOWN_REVISIONS

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


WRITER_LOCK = 0x66757365  # "fuse": the PostgreSQL advisory lock writers take turns on


def database_now(conn: Any) -> datetime:
    """The time by the database server's clock on a server database (hosts' clocks differ; the
    lease expiry must not depend on them), else this machine's."""
    if conn.dialect.name == "postgresql":
        return conn.execute(text("SELECT now()")).scalar_one().astimezone(timezone.utc)
    return utcnow()


# What SQLite says when it cannot write, as a user should read it (sqlite3.OperationalError text)
UNWRITABLE = (
    ("readonly database", "the database file is read-only"),
    ("database or disk is full", "the disk is full"),
    ("disk i/o error", "the disk failed to write (disk I/O error)"),
    ("unable to open database file", "cannot create files beside the database (is its folder writable?)"),
)


# What a driver says when the database server cannot be reached (or went away mid-statement)
UNREACHABLE = ("connection refused", "could not connect", "server closed the connection", "connection is closed",
               "terminating connection", "connection timed out", "no route to host", "connection reset",
               "could not receive data", "could not send data", "the connection is lost", "server conn crashed",
               "name or service not known", "network is unreachable", "consuming input failed")


def is_unreachable(exc: BaseException) -> bool:
    """True when ``exc`` means the database server cannot be reached right now (worth retrying later)."""
    if getattr(exc, "connection_invalidated", False):
        return True
    text_ = str(getattr(exc, "orig", None) or exc).lower()
    return any(needle in text_ for needle in UNREACHABLE)


# What SQLite says when the file's pages do not hold together (flipped bytes, a file cut short)
DAMAGED = ("database disk image is malformed", "database corruption")


def damaged(exc: BaseException, where: str) -> WorkspaceError | None:
    """The error to show when ``exc`` says the database file is damaged (otherwise None)."""
    text_ = str(getattr(exc, "orig", None) or exc)
    if not any(needle in text_.lower() for needle in DAMAGED):
        return None
    first = (text_.strip().splitlines() or [""])[0].removeprefix("(sqlite3.DatabaseError) ")
    return WorkspaceError(f"the workspace database is damaged ({where}): {first}; restore it from a backup "
                          f"(fuseboard backup), or salvage what is left with: sqlite3 {where} .recover")


def unwritable_reason(exc: BaseException) -> str | None:
    """Why the database refused a write, when ``exc`` says it did (otherwise None)."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    return next((reason for needle, reason in UNWRITABLE if needle in text), None)


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
            raise WorkspaceError("workspace is open read-only (--read-only)")
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


def _parse(url: str):  # noqa: ANN202
    try:
        return make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a host such as [::1 or a port that is not a number
        from fuseboard.redact import hide_url_password

        raise WorkspaceError(f"not a database URL: {hide_url_password(url)!r} (--db / FUSEBOARD_DB / config db)"
                             ) from None


def _sqlite_path(url: str) -> Path | None:
    parsed = _parse(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


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
        raise WorkspaceError(f"unknown kind of database {parsed.drivername!r}: {exc} (--db)") from None
    return engine


def default_artifact_dir(url: str) -> Path:
    from fuseboard.config import data_dir

    path = _sqlite_path(url)
    if path is not None:
        return path.parent / f"{path.stem}-artifacts"
    return data_dir() / "artifacts"


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


def _alembic_upgrade(engine: Engine) -> None:
    from alembic import command
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def group_id(group: str | None) -> int | None:
    """The id of a configured shared group; one clear line when there is no such group."""
    if not group:
        return None
    import grp

    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise WorkspaceError(f"config field 'group': no group {group!r} on this machine") from None


FOLDER_MODES = (0o700, 0o2770)  # (owner-only, shared): setgid, so new files join the group
DATABASE_MODES = (0o600, 0o660)  # members read and write the database
ARTIFACT_MODES = (0o600, 0o640)  # members read artifacts; nobody changes them


def share(path: Path, group: str | None, modes: tuple[int, int] = DATABASE_MODES) -> None:
    """Set a workspace file's or folder's permissions: owner-only, or shared with ``group``.
    Only the owner may change them; someone else's file is left as it is."""
    _set_mode(path, group, lambda _mode, shared: modes[shared])


def join_group(path: Path, group: str) -> None:
    """An existing workspace file shared later: the group gets what the owner has (read, and write
    only if the owner can write), so a file made read-only stays read-only."""
    _set_mode(path, group, lambda mode, _shared: mode & 0o7777 | (mode & 0o600) >> 3)


def _set_mode(path: Path, group: str | None, mode_for: Any) -> None:
    """chgrp to ``group`` (if any) and chmod to ``mode_for(current mode, shared)``, as the owner only;
    a read-only filesystem is left as it is (the workspace then opens read-only)."""
    gid = group_id(group)
    try:
        stat = path.stat()
        if stat.st_uid != os.geteuid():
            return
        if gid is not None:
            os.chown(path, -1, gid)
        os.chmod(path, mode_for(stat.st_mode, gid is not None))
    except OSError as exc:
        if exc.errno == errno.EROFS:
            return
        raise WorkspaceError(f"cannot share {path} with group {group!r}: {exc.strerror}") from None


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
            _alembic_upgrade(engine)
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


def anchor_path(url: str, artifact_dir: Path) -> Path | None:
    """Where the audit anchor lives unless the config says (``audit_anchor``): beside a SQLite file,
    else in the artifact folder, named after the database; None for an in-memory database."""
    path = _sqlite_path(url)
    if path is not None:
        return path.with_name(f"{path.stem}-audit.jsonl")
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite" or not parsed.database:
        return None
    # the server too: two servers' databases of one name (staging-db/fuseboard, prod-db/fuseboard) used
    # from one account share the artifact folder, and one anchor for two chains would fail both
    port = parsed.port or (5432 if parsed.get_backend_name() == "postgresql" else "default")
    server = re.sub(r"[^A-Za-z0-9._-]", "_", f"{parsed.host or 'local'}-{port}")
    return artifact_dir / f"audit-{server}-{Path(parsed.database).name}.jsonl"


def _identity_override(engine: Engine) -> bool:
    """The workspace's ``identity_override`` setting (off unless `fuseboard workspace identity` turned it on)."""
    from fuseboard.store.models import WorkspaceSetting

    try:
        with Session(engine) as session:
            row = session.get(WorkspaceSetting, "identity_override")
    except DatabaseError:  # the server went away since the schema check: the safe answer
        return False
    return bool(row is not None and row.value)


def _disk_reason(path: Path, reason: str) -> str:
    """SQLite reports a full disk as an I/O error when its shared memory cannot grow: say which."""
    import shutil

    try:
        full = shutil.disk_usage(path.parent).free < 1 << 20
    except OSError:
        full = False
    return "the disk is full" if full else reason


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


def backup(ws: Workspace, target: Path, *, force: bool = False) -> dict[str, object]:
    """A consistent copy of a live SQLite workspace: the database through SQLite's online backup
    (other processes keep reading and writing meanwhile), then the artifact files beside it in
    ``<target stem>-artifacts`` (content-addressed and never changed, so the copy holds every file the
    copied database names). Open the copy with ``--db sqlite:///TARGET``.

    Every file is written under a temporary name, checked by sha256 and renamed into place, the
    database last: a backup killed at any moment leaves no truncated file under a final name, and the
    next one re-checks the artifacts already there and replaces any that do not match.
    """
    import sqlite3

    from fuseboard.store.files import copy_verified, fsync_file, named_sha256, remove_temporaries, sha256_file

    if ws.engine.dialect.name != "sqlite":
        raise WorkspaceError("fuseboard backup copies SQLite workspaces; back a server database up with its own "
                             "tools (pg_dump)")
    given, target = target, target.expanduser().resolve()
    source = _sqlite_path(ws.url)
    if source is not None and source.resolve() == target:  # swapped under its writers, beside its WAL
        raise WorkspaceError(f"{source} is the workspace itself; back it up to another file ({given})")
    artifacts = target.parent / f"{target.stem}-artifacts"
    if target.exists() and not force:
        raise WorkspaceError(f"{target} exists; pass --force to replace it")
    if not target.parent.is_dir():
        raise WorkspaceError(f"no folder {target.parent} to write the backup into")
    tmp = target.with_name(target.name + ".partial")
    tmp.unlink(missing_ok=True)
    from fuseboard.store.anchor import copy_file

    # the anchor first: everything it checkpoints is committed, so in the database copied after it;
    # renamed into place with the database (a killed backup leaves neither)
    anchor = target.with_name(f"{target.stem}-audit.jsonl")
    anchor_tmp = copy_file(ws, anchor.with_name(anchor.name + ".partial"))
    raw = ws.engine.raw_connection()
    try:
        dst = sqlite3.connect(tmp)
        try:
            raw.driver_connection.backup(dst)  # pages copied in steps; writers are not blocked for long
        finally:
            dst.close()
        fsync_file(tmp)
    except (sqlite3.Error, OSError) as exc:
        tmp.unlink(missing_ok=True)
        raise WorkspaceError(f"backup failed: {exc} ({target})") from None
    finally:
        raw.close()
    tmp.chmod(0o600)
    copied, replaced, damaged = 0, 0, []
    artifacts.mkdir(mode=0o700, exist_ok=True)
    remove_temporaries(artifacts)  # what a killed backup left
    try:
        for src in sorted(ws.artifact_dir.rglob("*")) if ws.artifact_dir.is_dir() else []:
            if not src.is_file() or src.name.startswith("."):  # (a register's file still being written)
                continue
            dest = artifacts / src.relative_to(ws.artifact_dir)
            expected = named_sha256(src)
            if dest.exists():
                if sha256_file(dest) == (expected or sha256_file(src)):
                    continue
                replaced += 1  # cut short by a killed backup, or damaged since: copied again
            dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            written = copy_verified(src, dest)  # checked against the bytes read, then renamed into place
            if expected and written != expected:
                damaged.append(str(src))  # the workspace's own file no longer matches its name
            copied += 1
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise WorkspaceError(f"backup failed copying artifacts: {exc.strerror} ({exc.filename}); the database "
                             f"copy was not written ({target})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(target)
    if anchor_tmp is not None:
        anchor_tmp.replace(anchor)
    return {"database": str(target), "artifacts": str(artifacts), "artifact_files_copied": copied,
            "artifact_files_replaced": replaced, "artifacts_not_matching_their_sha256": damaged,
            "bytes": target.stat().st_size, "audit_anchor": str(anchor) if anchor_tmp else None}
