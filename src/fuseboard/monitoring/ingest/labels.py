"""Labels: the pending records of predictions still waiting for theirs, and labels arriving later.

One job: rows with a ``request_id`` and no label leave a small pending record (prediction and
score) when their batch is written (``_pending``, in write.py's transaction); a labels file or
batch (``request_id``, ``label``) is joined to those records and folded into the performance of
the windows the predictions fell in, and the joined records are deleted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from sqlmodel import select

from fuseboard.errors import FuseboardError
from fuseboard.monitoring import performance
from fuseboard.monitoring.ingest.encode import Encoded, _encode, _numbers, _where
from fuseboard.monitoring.ingest.fold import WINDOW_SECONDS, _utc, _window_starts, classes_of
from fuseboard.monitoring.ingest.read import read_file
from fuseboard.monitoring.ingest.validation import Batch, _refuse_nested
from fuseboard.monitoring.result import span
from fuseboard.monitoring.settings import policy_for
from fuseboard.store import lookup
from fuseboard.store.db import Workspace
from fuseboard.store.models import ModelVersion, PendingLabel, WindowProfile, utcnow

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa


@dataclass(frozen=True)
class Awaiting:
    """A row with a request id and no label yet: what its pending record keeps."""

    request_id: str
    window_start: int  # epoch seconds
    prediction: str
    score: list[float] | None


def named_rows(batch: Batch, source: str) -> dict[str, int]:
    """The batch's request ids, each with its row; an id twice in the batch is an error."""
    if batch.request_id is None:
        return {}
    import numpy as np

    ids = batch.request_id
    seen: dict[str, int] = {}
    for i in np.nonzero(batch.named)[0]:
        rid = ids[i]
        if rid in seen:
            raise FuseboardError(f"request_id {rid!r} appears twice ({_where(source, seen[rid])} and "
                                 f"{_where(source, int(i))}) ({source})")
        seen[rid] = int(i)
    return seen


def awaiting(batch: Batch) -> list[Awaiting]:
    """The batch's rows with a request id and no label."""
    if batch.request_id is None:
        return []
    import numpy as np

    present = batch.named if batch.labelled is None else batch.named & ~batch.labelled
    starts = _window_starts(batch.seconds)
    out = []
    for i in np.nonzero(present)[0]:
        prediction = batch.prediction.value(int(i)) if isinstance(batch.prediction, Encoded) \
            else str(batch.prediction[i])
        score = None if batch.scores is None else [float(x) for x in np.atleast_1d(batch.scores[i])]
        out.append(Awaiting(str(batch.request_id[i]), int(starts[i]), str(prediction), score))
    return out


def refuse_known(s: Any, model_id: int, env_id: int, ids: list[str],
                 where: Callable[[str], tuple[str, str]]) -> None:
    """Refuse request ids that already wait for their labels (``where``: the id's row and its source, for
    the error line)."""
    known: set[str] = set()
    for chunk in range(0, len(ids), 500):  # keep each IN (...) list small
        known |= set(s.exec(select(PendingLabel.request_id).where(
            PendingLabel.model_id == model_id, PendingLabel.environment_id == env_id,
            PendingLabel.request_id.in_(ids[chunk:chunk + 500]))).all())
    if known:
        rid = sorted(known)[0]
        row, source = where(rid)
        raise FuseboardError(f"request_id {rid!r} ({row}) was already ingested; nothing was written ({source})")


def pending_inserts(model_id: int, env_id: int, version_id: int, rows: list[Awaiting]) -> list[dict[str, Any]]:
    """The PendingLabel rows to insert for these rows."""
    now = utcnow()
    return [{"model_id": model_id, "environment_id": env_id, "version_id": version_id, "request_id": r.request_id,
             "window_start": _utc(r.window_start), "prediction": r.prediction, "score": r.score, "created_at": now}
            for r in rows]


def _pending(s: Any, model_id: int, env_id: int, version_id: int, batch: Batch,
             source: str) -> list[dict[str, Any]]:
    """Pending-label rows for rows with a request id and no label; a repeated id is an error."""
    seen = named_rows(batch, source)
    if seen:
        refuse_known(s, model_id, env_id, list(seen), lambda rid: (_where(source, seen[rid]), source))
    return pending_inserts(model_id, env_id, version_id, awaiting(batch))


@dataclass
class LabelResult:
    model: str
    environment: str
    rows: int
    joined: int
    unmatched: int
    windows: int
    # labels joined to predictions older than the performance window the check reads now
    outside_check_windows: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ingest_labels_table(ws: Workspace, model: str, env: str, table: "pa.Table", *, source: str = "rows",
                        now: datetime | None = None) -> LabelResult:
    """Join labels to pending predictions by request id and fold them into those predictions' windows."""
    import numpy as np

    now = now or utcnow()
    columns = set(table.column_names)
    missing = [c for c in ("request_id", "label") if c not in columns]
    if missing:
        raise FuseboardError(f"missing column(s): {', '.join(map(repr, missing))} ({source})")
    if table.num_rows == 0:
        raise FuseboardError(f"no rows to ingest ({source})")
    _refuse_nested(table.select(["request_id", "label"]), {}, source)
    with ws.transaction() as s:
        m = lookup.model(s, model)
        e = lookup.environment(s, env)
        window = policy_for(m.monitoring).performance_window
        ids = _encode(table, "request_id").values()
        labels = _numbers(table, "label", source) if m.task == "regression" else _encode(table, "label").values()
        wanted = {str(r): i for i, r in enumerate(ids) if r is not None}
        pending = list(s.exec(select(PendingLabel).where(
            PendingLabel.model_id == m.id, PendingLabel.environment_id == e.id,
            PendingLabel.request_id.in_(list(wanted)))).all()) if wanted else []
        groups: dict[tuple[int, datetime], list[PendingLabel]] = {}
        for p in pending:
            groups.setdefault((p.version_id, p.window_start), []).append(p)
        for (version_id, start), items in groups.items():
            mv = s.get(ModelVersion, version_id)
            y = np.array([labels[wanted[p.request_id]] for p in items], dtype=object)
            pred = np.array([p.prediction for p in items], dtype=object)
            if m.task == "regression":
                perf = performance.fold_regression(y.astype(float), pred.astype(float))
            else:
                classes = classes_of(mv)
                scores = None
                if all(p.score is not None for p in items):
                    scores = np.array([p.score for p in items], dtype="float64")
                    scores = scores.reshape(-1) if scores.shape[1] == 1 else scores
                perf = performance.fold_classification(y, pred, classes, scores)
            row = s.exec(select(WindowProfile).where(
                WindowProfile.version_id == version_id, WindowProfile.environment_id == e.id,
                WindowProfile.window_start == start, WindowProfile.window_seconds == WINDOW_SECONDS)).first()
            if row is None:  # compacted into an hourly or daily window since: the label joins that one
                from fuseboard.monitoring.retention import containing_window

                row = containing_window(s, version_id, e.id, start)
            if row is None:  # the window was removed by retention: nothing to attach the label to
                continue
            row.performance = performance.merge(row.performance, perf) if row.performance else perf
            row.updated_at = now
            s.add(row)
            for p in items:
                s.delete(p)
    old = [(start, len(items)) for (_, start), items in groups.items() if start < now - window]
    return LabelResult(m.name, e.name, table.num_rows, len(pending), table.num_rows - len(pending), len(groups),
                       {"performance_window": span(window), "older_than_performance_window": sum(n for _, n in old),
                        "oldest_window": min(start for start, _ in old).isoformat() if old else None})


def ingest_labels_file(ws: Workspace, model: str, env: str, path: Path, now: datetime | None = None) -> LabelResult:
    """``ingest_labels_table`` for a CSV, Parquet or JSON Lines file."""
    return ingest_labels_table(ws, model, env, read_file(path), source=str(path), now=now)
