"""Errors every layer raises for the user to read.

A ``FuseboardError`` carries one line of text that names the file, row or field
at fault; the command line prints it as ``error: ...`` and exits non-zero.
"""


class FuseboardError(Exception):
    """A problem the user can fix; its message is shown as one line.

    ``field`` names the input at fault in the core's words (``"env"``, ``"artifact"``,
    ``"flap_period"``), never a command-line flag: the CLI maps it to the flag of the command
    that ran (``(--env)``), the console to the field of its dialog. Messages from the core
    therefore never spell ``--flags`` themselves.
    """

    exit_code = 1

    def __init__(self, *args: object, field: str | None = None) -> None:
        super().__init__(*args)
        self.field = field


class NotFound(FuseboardError):
    """A named model, version, environment or team does not exist."""


class WorkspaceError(FuseboardError):
    """The workspace cannot be opened or written."""


class WorkspaceUnwritable(WorkspaceError):
    """The database refuses writes (a full disk, a read-only file): reading still works."""

    def __init__(self, reason: str, where: str) -> None:
        super().__init__(f"cannot write to the workspace: {reason} ({where}); nothing was changed")
        self.reason = reason


class Conflict(FuseboardError):
    """Someone else changed the thing between reading it and changing it (optimistic concurrency)."""


class Refused(FuseboardError):
    """The change is not allowed: a failing gate, an allow-list, a change already in progress."""
