"""Messages that worker threads post to screens (thread-safe, never call_from_thread)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

from textual.message import Message

if TYPE_CHECKING:  # pragma: no cover
    from textual.worker import Worker

    from fuseboard.monitoring.scheduler import CycleSummary

T = TypeVar("T")


class Loaded(Message, Generic[T], bubble=False):
    """A screen's load finished: ``data`` is what its ``fetch`` returned (plain Python data), ``load``
    the worker that read it (the screen draws it only if no newer load has started since)."""

    def __init__(self, data: T, load: Worker[None]) -> None:
        super().__init__()
        self.data = data
        self.load = load


class LoadFailed(Message, bubble=False):
    """A screen's load failed: ``error`` is the one line to show (the traceback is in the log file)."""

    def __init__(self, error: str, load: Worker[None]) -> None:
        super().__init__()
        self.error = error
        self.load = load


class MonitorCycle(Message):
    """The monitor loop finished a cycle (posted from its thread)."""

    def __init__(self, summary: CycleSummary) -> None:
        super().__init__()
        self.summary = summary


class ChangeDone(Message):
    """A change run in a worker finished: ``result`` on success, ``error`` otherwise."""

    def __init__(self, what: str, result: Any, error: str | None, done: Any) -> None:
        super().__init__()
        self.what = what
        self.result = result
        self.error = error
        self.done = done


class Degraded(Message):
    """The workspace refused a write (a full disk, a read-only file): the console turns read-only."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class DatabaseDown(Message):
    """A read or a change could not reach the database server."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class DatabaseUp(Message):
    """A read reached the database again."""


class Notice(Message):
    """Something a background thread wants the user to read."""

    def __init__(self, text: str, severity: str = "information", timeout: float = 15) -> None:
        super().__init__()
        self.text = text
        self.severity = severity
        self.timeout = timeout


class Progress(Message):
    """A step of a change that the incident view shows as it happens (posted from the change's thread).

    ``status`` is a state word of conventions.md (ok, crit, none) or "run" while it is still going;
    ``final`` marks the last step.
    """

    def __init__(self, model: str, env: str, text: str, status: str = "run", final: bool = False) -> None:
        super().__init__()
        self.model = model
        self.env = env
        self.text = text
        self.status = status
        self.final = final
