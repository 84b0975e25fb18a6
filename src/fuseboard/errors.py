"""Errors every layer raises for the user to read.

A ``FuseboardError`` carries one line of text that names the file, row or field
at fault; the command line prints it as ``error: ...`` and exits non-zero.
"""


class FuseboardError(Exception):
    """A problem the user can fix; its message is shown as one line."""

    exit_code = 1


class NotFound(FuseboardError):
    """A named model, version, environment or team does not exist."""


class WorkspaceError(FuseboardError):
    """The workspace cannot be opened or written."""
