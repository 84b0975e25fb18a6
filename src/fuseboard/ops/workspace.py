"""Moving a workspace to another database: every table, row for row, then verified.

``copy_workspace`` reads the source (any SQLAlchemy URL at the current schema), writes every
row of every table into the target in one transaction (keys kept, so every reference between
rows still holds), copies the artifact files the rows name, and then checks the target: the
same number of rows in each table and an audit chain that verifies, against an anchor that carries
the source's checkpoints (store/anchor.py). A target that already holds data is refused unless
``force``, which replaces it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from fuseboard.errors import FuseboardError
from fuseboard.store.anchor import carry
from fuseboard.store.anchor import read as read_anchor
from fuseboard.store.audit import verify
from fuseboard.store.db import DEFAULT_ENVIRONMENTS, Workspace
from fuseboard.store.models import Environment, ModelVersion

BATCH_ROWS = 2_000  # rows read and written at a time: memory stays flat for big window tables


@dataclass
class CopyResult:
    source: str
    target: str
    rows: dict[str, int] = field(default_factory=dict)
    artifacts_copied: int = 0
    audit_events: int = 0
    audit_anchor: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _tables() -> list[Any]:
    return list(SQLModel.metadata.sorted_tables)  # parents before children


def _count_rows(conn: Any) -> dict[str, int]:
    return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in _tables()}


def _counts(ws: Workspace) -> dict[str, int]:
    with ws.engine.connect() as conn:
        return _count_rows(conn)


def _only_seeded(ws: Workspace, counts: dict[str, int]) -> bool:
    """True when the target holds nothing but the environments a new workspace starts with."""
    if any(n for name, n in counts.items() if name != Environment.__tablename__):
        return False
    with ws.engine.connect() as conn:
        names = {row[0] for row in conn.execute(select(Environment.name))}
    return names <= {name for name, _, _ in DEFAULT_ENVIRONMENTS}


def copy_workspace(source: Workspace, target: Workspace, *, force: bool = False) -> CopyResult:
    """Copy every row of ``source`` into ``target`` (one transaction) and its artifact files, then verify."""
    if source.same_database(target):
        raise FuseboardError(f"the copy's source and target are the same database ({target.where})")
    before = _counts(target)
    if not _only_seeded(target, before) and not force:
        raise FuseboardError(f"the target already holds {sum(before.values()):,} rows in "
                             f"{sum(1 for n in before.values() if n)} tables; pass --force to replace them "
                             f"({target.where})")
    damaged = read_anchor(source.audit_anchor).problem if source.audit_anchor is not None else ""
    if damaged:  # its checkpoints could not go along, and the copy would start clean
        raise FuseboardError(f"{damaged}, so the copy could not carry its checkpoints; nothing was copied")
    tables = _tables()
    try:
        counts = _copy_rows(source, target, tables)
    except IntegrityError:
        raise FuseboardError(f"the source changed in a way the copy could not follow; nothing was written, try "
                             f"again ({source.where})") from None
    result = CopyResult(source.where, target.where, rows=counts)
    result.artifacts_copied = _copy_artifacts(source, target)
    result.audit_anchor = str(carry(source, target) or "") or None  # the source's checkpoints go along
    report = verify(target)
    if not report.ok:
        raise FuseboardError(f"the copied audit chain does not verify: {report.problem} ({target.where})")
    result.audit_events = report.events
    return result


def _copy_rows(source: Workspace, target: Workspace, tables: list[Any]) -> dict[str, int]:
    """Every row, read from one snapshot of the source (others may write meanwhile), written in one
    transaction of the target; returns the rows per table."""
    with target.transaction() as s, source.engine.connect() as reader:
        if reader.dialect.name == "postgresql":
            reader = reader.execution_options(isolation_level="REPEATABLE READ")
        elif reader.dialect.name == "sqlite":  # the driver would read each statement from its own snapshot
            reader.exec_driver_sql("BEGIN")
        counts = _count_rows(reader)
        conn = s.connection()
        for table in reversed(tables):  # children first, so no reference is left dangling
            conn.execute(delete(table))
        for table in tables:  # parents first
            rows = reader.execution_options(yield_per=BATCH_ROWS).execute(select(table))
            for part in rows.partitions(BATCH_ROWS):
                conn.execute(insert(table), [dict(row._mapping) for row in part])
        if conn.dialect.name == "postgresql":  # the next key after the copied ones
            for table in tables:
                if [c.name for c in table.primary_key.columns] == ["id"]:
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                                      f"COALESCE((SELECT MAX(id) FROM \"{table.name}\"), 0) + 1, false)"))
        after = _count_rows(conn)
        if after != counts:  # before the commit: a short copy is rolled back, not left behind
            wrong = [f"{name}: {counts[name]} -> {after[name]}" for name in counts if after[name] != counts[name]]
            raise FuseboardError(f"copy incomplete, row counts differ ({'; '.join(wrong)}); nothing was written "
                                 f"({target.where})")
    return counts


def _copy_artifacts(source: Workspace, target: Workspace) -> int:
    """The artifact files the copied versions name (their models' and their loss models'), into the target's
    artifact folder (content-addressed)."""
    from fuseboard.store.db import ARTIFACT_MODES, FOLDER_MODES, share
    from fuseboard.store.files import copy_verified

    if source.artifact_dir.resolve() == target.artifact_dir.resolve():
        return 0
    from fuseboard.store.files import sha256_file

    copied = 0
    with source.session() as s:
        wanted = set(s.execute(select(ModelVersion.artifact_path, ModelVersion.artifact_sha256)).all())
        for (profile,) in s.execute(select(ModelVersion.reference_profile)):  # DLE's loss models, by their own sha
            loss = ((profile or {}).get("estimation") or {}).get("dle")
            if loss and loss.get("artifact"):
                wanted.add((loss["artifact"], loss["sha256"]))
        wanted = sorted(wanted)
    for rel, sha in wanted:
        src, dest = source.artifact_dir / rel, target.artifact_dir / rel
        if not rel or not src.is_file() or (dest.exists() and sha256_file(dest) == sha):
            continue
        for folder in (target.artifact_dir, dest.parent):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            share(folder, target.group, FOLDER_MODES)
        copy_verified(src, dest)  # a temporary file, checked by sha256, renamed into place whole
        share(dest, target.group, ARTIFACT_MODES)
        copied += 1
    return copied
