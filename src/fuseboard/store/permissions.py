"""Who may use a workspace's files: owner-only, or shared with a configured group (chgrp and chmod,
as the owner only)."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Callable

from fuseboard.errors import WorkspaceError


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


def _set_mode(path: Path, group: str | None, mode_for: Callable[[int, bool], int]) -> None:
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
