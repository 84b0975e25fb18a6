"""What the database's errors mean to a user: unwritable, unreachable or damaged, in one line each."""

from __future__ import annotations

from pathlib import Path

from fuseboard.errors import WorkspaceError

FULL_BELOW = 1 << 20  # free bytes below which a disk counts as full (here and on the light read path)

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


def _disk_reason(path: Path, reason: str) -> str:
    """SQLite reports a full disk as an I/O error when its shared memory cannot grow: say which."""
    import shutil

    try:
        full = shutil.disk_usage(path.parent).free < FULL_BELOW
    except OSError:
        full = False
    return "the disk is full" if full else reason
