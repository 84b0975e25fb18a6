"""Writing a batch: validate and fold it, then merge its windows into the stored ones in one transaction.

One job: the database side of an ingest. The model, environment and serving version are read;
the batch is validated (validation.py) and folded (fold.py) with no lock held; then one short
transaction checks that the same version still serves (or starts again for the one that does),
refuses a batch already ingested, merges the folded windows into the windows stored, inserts the
new ones and the pending-label records (labels.py). Raw rows are never written.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import insert
from sqlmodel import select

from fuseboard.errors import FuseboardError
from fuseboard.monitoring import performance
from fuseboard.monitoring.history import OutsideWindows, outside_windows
from fuseboard.monitoring.ingest.fold import (WINDOW_SECONDS, ColumnQuality, _quality, _utc, _windows, classes_of,
                                              fold_windows, merge_profiles)
from fuseboard.monitoring.ingest.labels import Awaiting, _pending, pending_inserts, refuse_known
from fuseboard.monitoring.ingest.partial import PartialWindow, ProfileSpec, reference_digest
from fuseboard.monitoring.ingest.read import open_file
from fuseboard.monitoring.ingest.validation import Batch, validate
from fuseboard.monitoring.settings import policy_for
from fuseboard.store import lookup
from fuseboard.store.db import Workspace
from fuseboard.store.models import (Deployment, Environment, IngestedBatch, Model, ModelVersion, PendingLabel,
                                    WindowProfile, utcnow)

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from fuseboard.monitoring.ingest.read import ParquetColumns


@dataclass
class IngestResult:
    model: str
    environment: str
    version: int
    rows: int
    windows: int
    labelled: int
    awaiting_labels: int
    first_window: str
    last_window: str
    quality: dict[str, ColumnQuality] = field(default_factory=dict)  # by column, only those with findings
    # rows older than the windows the checks read now (``fuseboard report`` reads them)
    outside_check_windows: OutsideWindows | dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

class _Redeployed(Exception):
    """Another version was deployed while the batch was folded for the one serving before."""


REDEPLOY_ATTEMPTS = 5  # deploys landing one after another while a batch folds: then the ingest gives up


def ingest_table(ws: Workspace, model: str, env: str, table: "pa.Table | ParquetColumns", *, source: str = "rows",
                 now: datetime | None = None) -> IngestResult:
    """Validate a batch whole and fold it, then merge it into the serving version's windows in one
    short transaction (the write lock is not held while the batch is folded).

    When a deploy lands while the batch folds, the transaction is rolled back (nothing of it was
    written) and the batch is validated and folded again for the version now serving, then written
    in a fresh transaction: the write lock is never held while the batch folds.
    """
    now = now or utcnow()
    for _ in range(REDEPLOY_ATTEMPTS):
        try:
            return _ingest_once(ws, model, env, table, source, now)
        except _Redeployed:
            continue
    raise FuseboardError(f"{model} in {env} was deployed {REDEPLOY_ATTEMPTS} times while the batch was being "
                         f"folded; nothing was written, try again ({source})")


def loss_models_of(ws: Workspace, mv: ModelVersion) -> Any:
    """The version's DLE loss models, loaded (None when it keeps none, or their artifact is missing or
    altered: the batch is then ingested without estimates)."""
    found = (mv.reference_profile.get("estimation") or {}).get("dle")
    if not found:
        return None
    from fuseboard.monitoring.estimation import dle
    from fuseboard.store.files import sha256_file

    path = ws.artifact_dir / found["artifact"]
    if not path.exists() or sha256_file(path) != found["sha256"]:
        return None
    return dle.load(path, found["sha256"])


def _deployed(ws: Workspace, model: str, env: str) -> tuple[Model, Environment, ModelVersion]:
    """The model, the environment and the version serving it there (refused when none is deployed)."""
    with ws.session() as s:
        m = lookup.model(s, model)
        e = lookup.environment(s, env)
        dep = s.exec(select(Deployment).where(Deployment.model_id == m.id,
                                              Deployment.environment_id == e.id)).first()
        if dep is None:
            raise FuseboardError(f"no version of {m.name!r} is deployed in {e.name!r}; deploy one first")
        return m, e, s.get(ModelVersion, dep.version_id)


def profile_spec(ws: Workspace, model: str, env: str, *, loss_models: bool = True) -> ProfileSpec:
    """What workers need to fold rows for the version serving ``model`` in ``env`` (partial.py); with
    ``loss_models``, its DLE models loaded (what folding estimates needs)."""
    m, e, mv = _deployed(ws, model, env)
    classes = classes_of(mv) if m.task == "classification" else []
    return ProfileSpec(m.name, e.name, mv.version, mv.id, m.task, classes, mv.feature_schema, mv.reference_profile,
                       reference_digest(mv.reference_profile), loss_models_of(ws, mv) if loss_models else None)


def _ingest_once(ws: Workspace, model: str, env: str, table: "pa.Table | ParquetColumns", source: str,
                 now: datetime) -> IngestResult:
    """One attempt: read, validate and fold for the version serving now, then write; ``_Redeployed``
    (with the transaction rolled back) when another version was deployed in the meantime."""
    m, e, mv = _deployed(ws, model, env)  # what the batch is checked against
    classes = classes_of(mv) if m.task == "classification" else []
    batch = validate(table, mv, m.task, classes, source, now)
    unique, slices, sizes = _windows(batch.seconds)
    whens = [_utc(start) for start in unique]

    def prepare() -> None:  # the write's queries, run once while the batch folds: the transaction then
        with ws.session() as s:  # finds them compiled (a fresh process compiles every statement once)
            _serving(s, m.id, e.id), _stored_windows(s, mv.id, e.id, whens)

    fingerprint = _fingerprint(batch)
    folded = fold_windows(batch, slices, mv, m.task, classes, table=table, source=source, meanwhile=prepare,
                          loss_models=loss_models_of(ws, mv))
    windows = [PartialWindow(int(start), int(size), int(perf.get("labelled", 0)) if perf else 0, features,
                             predictions, perf or {}, estimated or None)
               for start, size, (features, predictions, perf, estimated) in zip(unique.tolist(), sizes, folded)]
    with ws.transaction() as s:
        if _serving(s, m.id, e.id) != mv.id:  # a deploy landed while the batch was folded: roll back (the
            raise _Redeployed  # transaction leaves with the exception) and fold it again outside it
        pending = _pending(s, m.id, e.id, mv.id, batch, source)
        if fingerprint is not None:
            _refuse_repeat(s, m.id, e.id, fingerprint, batch.rows, source)
        _merge_stored(s, m.id, e.id, mv.id, windows, now)
        if pending:
            s.execute(insert(PendingLabel), pending)
    return result_of(m.name, e.name, mv.version, policy_for(m.monitoring), batch.rows, windows, len(pending), now)


def _merge_stored(s: Any, model_id: int, env_id: int, version_id: int, windows: list[PartialWindow],
                  now: datetime) -> None:
    """Merge folded windows (oldest first) into the stored ones, inside the caller's transaction; the
    windows nothing was stored in yet are inserted in one statement."""
    whens = [_utc(w.window_start) for w in windows]
    stored = _stored_windows(s, version_id, env_id, whens)
    fresh = []  # windows nothing was stored in yet: one multi-row insert, no objects to build
    for when, w in zip(whens, windows):
        row = stored.get(when)
        if row is None:
            fresh.append({"model_id": model_id, "environment_id": env_id, "version_id": version_id,
                          "window_start": when, "window_seconds": WINDOW_SECONDS, "rows": w.rows,
                          "features": w.features, "predictions": w.predictions, "performance": w.performance or {},
                          "estimated": w.estimated or None, "updated_at": now})
            continue
        row.rows += w.rows
        row.features = merge_profiles(row.features, w.features)
        row.predictions = merge_profiles(row.predictions, w.predictions)
        if w.performance:
            row.performance = performance.merge(row.performance, w.performance) if row.performance else w.performance
        if w.estimated:
            row.estimated = performance.merge(row.estimated, w.estimated) if row.estimated else w.estimated
        row.updated_at = now
        s.add(row)
    if fresh:
        s.execute(insert(WindowProfile), fresh)


def result_of(model: str, env: str, version: int, policy: Any, rows: int, windows: list[PartialWindow],
              awaiting_labels: int, now: datetime) -> IngestResult:
    """What an ingest says of the windows it wrote (oldest first)."""
    quality = _quality([w.features for w in windows], [w.predictions for w in windows])
    starts = [w.window_start for w in windows]
    outside = outside_windows(starts, [w.rows for w in windows], now, policy.drift_window,
                              policy.performance_window)
    return IngestResult(model, env, version, rows, len(windows), sum(w.labelled for w in windows), awaiting_labels,
                        _utc(starts[0]).isoformat(), _utc(starts[-1]).isoformat(), quality, outside)


def write_partials(ws: Workspace, spec: ProfileSpec, windows: list[PartialWindow], fingerprints: list[tuple[str, int, str]],
                   now: datetime, *, request_ids: list[str] | None = None, awaiting_rows: list[Awaiting] | None = None,
                   where: Callable[[str], tuple[str, str]] | None = None) -> IngestResult:
    """Write windows folded elsewhere (merged, oldest first) in one transaction, as ``ingest_table`` writes
    its own: refused when another version serves now (``_Redeployed``), when one of ``fingerprints``
    ((fingerprint, rows, source) of each part) was written before, or when one of the batch's
    ``request_ids`` already waits for its label (``where`` names its row and source); ``awaiting_rows``
    leave pending records."""
    awaiting_rows = awaiting_rows or []
    if not windows:
        raise FuseboardError(f"no rows to ingest ({fingerprints[0][2] if fingerprints else 'rows'})")
    with ws.transaction() as s:
        m = lookup.model(s, spec.model)
        e = lookup.environment(s, spec.environment)
        if _serving(s, m.id, e.id) != spec.version_id:
            raise _Redeployed
        _refuse_parts(s, m.id, e.id, fingerprints)
        if request_ids:
            refuse_known(s, m.id, e.id, request_ids, where or (lambda rid: ("a row", "rows")))
        _merge_stored(s, m.id, e.id, spec.version_id, windows, now)
        if awaiting_rows:
            s.execute(insert(PendingLabel), pending_inserts(m.id, e.id, spec.version_id, awaiting_rows))
        policy = policy_for(m.monitoring)
    return result_of(spec.model, spec.environment, spec.version, policy, sum(w.rows for w in windows), windows,
                     len(awaiting_rows), now)


def _refuse_parts(s: Any, model_id: int, env_id: int, fingerprints: list[tuple[str, int, str]]) -> None:
    """Refuse a batch one of whose parts was written before (naming it); else remember every part."""
    by_print = {f: (rows, source) for f, rows, source in fingerprints}
    prints = list(by_print)
    seen: dict[str, datetime] = {}
    for chunk in range(0, len(prints), 500):
        seen.update(s.exec(select(IngestedBatch.fingerprint, IngestedBatch.created_at).where(
            IngestedBatch.model_id == model_id, IngestedBatch.environment_id == env_id,
            IngestedBatch.fingerprint.in_(prints[chunk:chunk + 500]))).all())
    if seen:  # the first part in the batch's order
        first = next(f for f in prints if f in seen)
        rows, source = by_print[first]
        raise FuseboardError(f"{source} was already ingested at {seen[first]:%Y-%m-%d %H:%M} UTC ({rows:,} rows); "
                             f"nothing was written ({source})")
    for f, (rows, _) in by_print.items():
        s.add(IngestedBatch(model_id=model_id, environment_id=env_id, fingerprint=f, rows=rows))


def _serving(s: Any, model_id: int, env_id: int) -> int | None:
    """The id of the version deployed to the environment."""
    return s.exec(select(Deployment.version_id).where(Deployment.model_id == model_id,
                                                     Deployment.environment_id == env_id)).first()


def _stored_windows(s: Any, version_id: int, env_id: int, whens: list[datetime]) -> dict[datetime, WindowProfile]:
    """The five-minute windows already stored between the first and the last of ``whens``, by start."""
    return {row.window_start: row for row in s.exec(select(WindowProfile).where(  # one query for all
        WindowProfile.version_id == version_id, WindowProfile.environment_id == env_id,
        WindowProfile.window_seconds == WINDOW_SECONDS,
        WindowProfile.window_start >= whens[0], WindowProfile.window_start <= whens[-1]))}


FINGERPRINT_SET = "fuseboard request-id set v2\x1e"  # what the fingerprints since issue 13 hash first


def _fingerprint(batch: Batch) -> tuple[str, str] | None:
    """A batch's fingerprints when it brings labelled rows that have a request id (rows still waiting
    for their labels are recognised one by one, by their pending records): the sha256 of its SET of
    request ids (sorted, behind ``FINGERPRINT_SET``, so the same rows re-sent in another order are
    the same batch), which is stored, and the sha256 of its ids in order, which is what fingerprints
    stored before were: only looked up, so a retry of a batch sent before the upgrade is still known.
    The two never coincide (the set's hash starts with its own prefix)."""
    if batch.named is None or batch.labelled is None or not (batch.labelled & batch.named).any():
        return None
    ids = ["" if v is None else v for v in batch.request_id.tolist()]
    in_order = "\x1f".join(ids)  # unit separator: not in an id
    ids.sort()
    as_set = FINGERPRINT_SET + "\x1f".join(ids)
    return tuple(hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest() for text in (as_set, in_order))


def _refuse_repeat(s: Any, model_id: int, env_id: int, fingerprints: tuple[str, str], rows: int,
                   source: str) -> None:
    """Refuse a batch whose request ids were all ingested before (in any order); else remember it."""
    seen = s.exec(select(IngestedBatch.created_at).where(
        IngestedBatch.model_id == model_id, IngestedBatch.environment_id == env_id,
        IngestedBatch.fingerprint.in_(fingerprints))).first()
    if seen is not None:
        raise FuseboardError(f"this batch was already ingested at {seen:%Y-%m-%d %H:%M} UTC (the same {rows:,} "
                             f"request ids); nothing was written ({source})")
    s.add(IngestedBatch(model_id=model_id, environment_id=env_id, fingerprint=fingerprints[0], rows=rows))


def ingest_file(ws: Workspace, model: str, env: str, path: Path, now: datetime | None = None) -> IngestResult:
    """``ingest_table`` for a CSV, Parquet or JSON Lines file (Parquet read as it folds)."""
    return ingest_table(ws, model, env, open_file(path), source=str(path), now=now)
