"""A consistent copy of a live SQLite workspace: its database, its artifacts and its audit anchor."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fuseboard.errors import WorkspaceError
from fuseboard.store.urls import _sqlite_path

if TYPE_CHECKING:
    from fuseboard.store.db import Workspace


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
