"""Copying files so that a copy is whole or absent: written under a temporary name, checked by
sha256, then renamed into place. A process killed mid-copy leaves only a temporary file, which
the next copy removes; never a truncated file under the final name."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from fuseboard.errors import WorkspaceError

TEMP_PREFIX = ".incoming-"
SHA256 = re.compile(r"[0-9a-f]{64}")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def named_sha256(path: Path) -> str | None:
    """The sha256 a content-addressed artifact's name promises (``<sha256>.joblib``), if it has one."""
    return path.stem if SHA256.fullmatch(path.stem) else None


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_verified(src: Path, dest: Path, expected: str | None = None, *, mode: int = 0o600) -> str:
    """Copy ``src`` to ``dest`` through a temporary file in ``dest``'s folder; the temporary copy's
    sha256 must equal ``expected`` (or the source's own, read while copying) before it is renamed
    into place. Returns the sha256 of what now sits at ``dest``."""
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=TEMP_PREFIX)
    tmp = Path(name)
    try:
        read = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, src.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                read.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        want = expected or read.hexdigest()
        written = sha256_file(tmp)
        if written != want:
            source = "the source file does not match its sha256" if read.hexdigest() != want else \
                "the copy does not match what was read"
            raise WorkspaceError(f"copy of {src} failed its sha256 check: {source} ({dest})")
        os.chmod(tmp, mode)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return written


def remove_temporaries(folder: Path) -> int:
    """Delete the temporary files an interrupted copy left in ``folder`` (recursively)."""
    removed = 0
    if folder.is_dir():
        for leftover in folder.rglob(f"{TEMP_PREFIX}*"):
            if leftover.is_file():
                leftover.unlink(missing_ok=True)
                removed += 1
    return removed
