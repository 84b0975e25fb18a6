"""Names users give to models and teams: safe in paths, commands and URLs."""

from __future__ import annotations

import re

from fuseboard.errors import FuseboardError

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def check_name(value: str, what: str) -> str:
    """Lower-case letters, digits, ``.``, ``_`` and ``-``; 1 to 64 characters."""
    if not _NAME.match(value) or ".." in value:
        raise FuseboardError(
            f"{what} name {value!r} is not allowed: use 1-64 lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value
