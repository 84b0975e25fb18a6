"""A light read path over a SQLite workspace file, without SQLAlchemy.

The command line's busiest reads (``models``, ``alerts``, ``history``) are asked from scripts
and cron many times a minute; importing SQLAlchemy and the tables costs more than the answer.
This module opens the workspace file with the standard library's ``sqlite3`` instead, for
reading only, and only when nothing the normal opening (``store.db.open_workspace``) does would
change what a read shows. Otherwise ``connect`` returns None and the caller opens the workspace
the normal way, which upgrades, refuses or warns exactly as before:

- a URL that is not a plain SQLite file (a server, memory, a query string, a ``~`` path);
- a file that is missing or not a regular file (the normal opening says so);
- a workspace shared with a group and opened writable (the normal opening shares the file);
- a file or folder that cannot be written, or a full disk (the normal opening reads it read-only,
  degraded, and the command warns);
- a schema revision other than this release's head (upgraded, or refused, the normal way);
- any SQLite error (a damaged file, a busy one): the normal path reports it in its words.

The connection is opened read-write but with ``PRAGMA query_only``: it cannot change the
database, and when it closes SQLite removes the ``-wal`` and ``-shm`` files as the normal
opening's connection does (a ``mode=ro`` connection would leave them behind).
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote, unquote

from fuseboard.store.failures import FULL_BELOW  # one threshold with the normal opening
from fuseboard.store.revisions import HEAD

SCHEMES = ("sqlite:///", "sqlite+pysqlite:///")  # what SQLAlchemy reads with the standard sqlite3 module
BUSY_SECONDS = 30.0  # as the normal opening's busy_timeout: wait for a writer's commit, do not fail


def sqlite_file(url: str) -> Path | None:
    """The database file a plain SQLite URL names; None for anything else (see the module's docstring)."""
    scheme = next((s for s in SCHEMES if url.startswith(s)), None)
    if scheme is None:
        return None
    rest = url[len(scheme):]
    if not rest or "?" in rest or "#" in rest:
        return None
    name = unquote(rest)
    if name == ":memory:" or name.startswith(("file:", "~")) or "\x00" in name:
        return None
    return Path(os.path.abspath(name))  # as SQLAlchemy's driver opens it: relative to the working folder


def connect(url: str, *, read_only: bool = False, group: str | None = None) -> sqlite3.Connection | None:
    """A query-only connection to the workspace at ``url``, at the current schema; None when the
    normal opening must run instead. ``read_only`` and ``group`` as given to ``open_workspace``."""
    path = sqlite_file(url)
    if path is None:
        return None
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
    except (OSError, ValueError):
        return None
    if not read_only:
        if group:
            return None
        if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK | os.X_OK):
            return None
    if _disk_nearly_full(path.parent):  # SQLite may not set up reading (its -shm file grows): the normal
        return None                     # opening then reads the file as saved, and says so
    conn = None
    try:
        conn = sqlite3.connect(f"file:{quote(str(path))}?mode=rw", uri=True, timeout=BUSY_SECONDS)
        conn.execute("PRAGMA query_only=ON")
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        if conn is not None:
            conn.close()
        return None
    if row is None or row[0] != HEAD:
        conn.close()
        return None
    return conn


def _disk_nearly_full(folder: Path) -> bool:
    try:
        vfs = os.statvfs(folder)
    except OSError:
        return True
    return vfs.f_bavail * vfs.f_frsize < FULL_BELOW


@contextmanager
def reading(url: str, *, read_only: bool = False, group: str | None = None) -> Iterator[sqlite3.Connection | None]:
    """``connect`` as a context: the connection (or None), closed afterwards."""
    conn = connect(url, read_only=read_only, group=group)
    try:
        yield conn
    finally:
        if conn is not None:
            conn.close()


def when(text: str | None) -> datetime | None:
    """A stored time (naive UTC text, as the tables' UTCDateTime writes it) as an aware datetime."""
    if text is None:
        return None
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def stamp(at: datetime) -> str:
    """A time as the tables store it, for comparing with stored times in SQL."""
    at = at.astimezone(timezone.utc)
    return (f"{at.year:04d}-{at.month:02d}-{at.day:02d} {at.hour:02d}:{at.minute:02d}:{at.second:02d}."
            f"{at.microsecond:06d}")


def json_value(text: str | bytes | None) -> object:
    """A stored JSON column's value (None for SQL NULL)."""
    return None if text is None else json.loads(text)
