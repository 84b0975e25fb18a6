"""The console's log file: what failed in a worker, with its traceback, secrets masked.

A failure shows as one line on screen; the whole story goes to
``$XDG_STATE_HOME/fuseboard/console.log`` (default ``~/.local/state/fuseboard/console.log``),
at most ``MAX_BYTES`` plus one older file (``console.log.1``). The file is opened on the first
failure, never before: a console with nothing to report writes nothing. A ``FuseboardError``
is an answer, not a failure (its message says it all): it is shown, not logged. Control
characters are kept in the file (it is read with a pager or an editor); the line on screen goes
through ``visible``.

Standard library only at module level: it is imported on the path to the first frame.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import IO

MAX_BYTES = 1_000_000  # then console.log becomes console.log.1 (the older one is dropped)
BACKUPS = 1
FORMAT = "%(asctime)s %(levelname)s [%(threadName)s] %(message)s"

logger = logging.getLogger("fuseboard.console")
logger.propagate = False  # never to a handler writing on the terminal the console draws on
logger.setLevel(logging.INFO)
_lock = threading.Lock()


def log_path() -> Path:
    """Where the console logs: ``$XDG_STATE_HOME/fuseboard/console.log`` (an absolute variable only)."""
    state = os.environ.get("XDG_STATE_HOME")
    base = Path(state) if state and os.path.isabs(state) else Path.home() / ".local" / "state"
    return base / "fuseboard" / "console.log"


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none)."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


class _Masked(logging.Formatter):
    """The whole record, traceback included, with every known secret shown as ``****``."""

    def __init__(self) -> None:
        super().__init__(FORMAT)
        self.secrets: set[str] = set()  # the workspace URL's password, given by the caller

    def format(self, record: logging.LogRecord) -> str:
        from fuseboard.redact import mask

        return mask(super().format(record), self.secrets)


def _private_file(path: str) -> logging.FileHandler:
    """A rotating log at ``path``, readable by its owner only (it can quote data from the workspace).
    (``logging.handlers`` is imported here, on the first failure, not on the way to the first frame.)"""
    from logging.handlers import RotatingFileHandler

    class PrivateFile(RotatingFileHandler):
        def _open(self) -> IO[str]:
            fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)

        def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802  (logging's name)
            """A log that cannot be written says nothing on the terminal: the line on screen was shown."""

    return PrivateFile(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8",
                       errors="backslashreplace", delay=True)


def _handler(secrets: Iterable[str | None]) -> logging.Handler | None:
    """The file handler for the current ``log_path()`` (a new one when the path changed), or None when
    its folder cannot be made (a read-only home)."""
    path = os.path.abspath(log_path())
    current = next((h for h in logger.handlers if isinstance(h, logging.FileHandler)), None)
    if current is None or current.baseFilename != path:
        if current is not None:
            logger.removeHandler(current)
            current.close()
        try:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        except OSError:
            return None
        current = _private_file(path)
        current.setFormatter(_Masked())
        logger.addHandler(current)
    formatter = current.formatter
    if isinstance(formatter, _Masked):
        formatter.secrets.update(s for s in secrets if s)
    return current


def record_failure(what: str, exc: BaseException, *, url: str | None = None) -> str:
    """Log ``exc`` with its traceback as the failure of ``what`` (any thread), unless it is a
    ``FuseboardError``; return the one line the screen shows, secrets masked. ``url``: the
    workspace's, whose password is masked too."""
    from fuseboard.errors import FuseboardError
    from fuseboard.redact import mask, url_password

    password = url_password(url)
    if not isinstance(exc, FuseboardError):
        with _lock:
            logger.disabled = False  # (a logging.config call elsewhere in the process turns existing loggers off)
            if _handler([password]) is not None:
                logger.error("%s failed", what, exc_info=(type(exc), exc, exc.__traceback__))
    return mask(one_line(exc), [password])
