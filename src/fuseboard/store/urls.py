"""Where a workspace lives, from its database URL: the SQLite file (if any), the artifact folder and
the audit anchor's default places, and the URL as a user should see it."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from fuseboard.errors import WorkspaceError


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a host such as [::1 or a port that is not a number
        from fuseboard.redact import hide_url_password

        raise WorkspaceError(f"not a database URL: {hide_url_password(url)!r}", field="db") from None


def _sqlite_path(url: str) -> Path | None:
    parsed = _parse(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def default_artifact_dir(url: str) -> Path:
    from fuseboard.config import data_dir

    path = _sqlite_path(url)
    if path is not None:
        return path.parent / f"{path.stem}-artifacts"
    return data_dir() / "artifacts"


def anchor_path(url: str, artifact_dir: Path) -> Path | None:
    """Where the audit anchor lives unless the config says (``audit_anchor``): beside a SQLite file,
    else in the artifact folder, named after the database; None for an in-memory database."""
    path = _sqlite_path(url)
    if path is not None:
        return path.with_name(f"{path.stem}-audit.jsonl")
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite" or not parsed.database:
        return None
    # the server too: two servers' databases of one name (staging-db/fuseboard, prod-db/fuseboard) used
    # from one account share the artifact folder, and one anchor for two chains would fail both
    port = parsed.port or (5432 if parsed.get_backend_name() == "postgresql" else "default")
    server = re.sub(r"[^A-Za-z0-9._-]", "_", f"{parsed.host or 'local'}-{port}")
    return artifact_dir / f"audit-{server}-{Path(parsed.database).name}.jsonl"
