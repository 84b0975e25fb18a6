"""Folding a validated batch into five-minute window profiles (see windows.py).

One job: cut the batch into windows by time (``_windows``), fold each column over every window on
the worker threads (features, predictions, scores and, with labels, performance), merge profiles,
and sum up what the folded windows say about data quality. Raw rows are not kept: only the
profiles, which merge exactly with the windows already stored (write.py). Nothing here touches
the database.
"""

from __future__ import annotations

from concurrent.futures import Future
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, TypedDict

from fuseboard.monitoring import performance, windows
from fuseboard.monitoring.estimation.fold import cbpe_job, fold_batch
from fuseboard.monitoring.ingest.encode import _POOL, Encoded, _feature
from fuseboard.monitoring.ingest.validation import Batch

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from fuseboard.monitoring.ingest.read import ParquetColumns
    from fuseboard.store.models import ModelVersion

WINDOW_SECONDS = 300


class ColumnQuality(TypedDict, total=False):
    """What a batch's rows held that the reference did not expect, for one column (only what was found)."""

    out_of_range: int  # numeric: rows outside the reference's range
    unseen: dict[str, int]  # categorical: up to five categories the reference never saw, with their rows
    unseen_rows: int  # categorical: rows of such categories
    nulls: int
    unknown_classes: int  # the "prediction" entry: predictions of classes the model does not have

def classes_of(mv: ModelVersion) -> list[str]:
    profile = mv.reference_profile
    if profile.get("classes"):
        return [str(c) for c in profile["classes"]]
    return sorted((profile.get("target") or {}).get("value_counts", {}))


Folded = tuple[dict, dict, dict, dict]  # a window's features, predictions, performance and estimated performance


def fold_window(batch: Batch, idx: Any, mv: ModelVersion, task: str, classes: list[str]) -> Folded:
    """Feature, prediction, performance and estimated performance profiles of the rows ``idx`` of a batch."""
    return fold_windows(batch, [idx], mv, task, classes)[0]


def fold_windows(batch: Batch, windows_idx: list[Any], mv: ModelVersion, task: str, classes: list[str],
                 table: "pa.Table | ParquetColumns | None" = None, source: str = "rows",
                 meanwhile: Callable[[], None] | None = None, loss_models: Any = None) -> list[Folded]:
    """``fold_window`` for several windows of a batch at once, one column at a time.

    Each task folds one column over every window, so the two worker threads get coarse work:
    numpy sorts without the GIL, and the columns fold side by side. Features the batch does not
    hold yet are converted from ``table`` by their task (the first bad one in schema order is the
    one reported). ``meanwhile`` runs on the calling thread while the columns fold. Where the version
    keeps estimators (``reference_profile["estimation"]``), the rows' reconstruction errors join the
    predictions (``reconstruction``) and the estimated performance is the fourth profile
    (monitoring/estimation/fold.py; ``loss_models``: the loaded DLE models).
    """
    ref = mv.reference_profile
    schema = mv.feature_schema
    n = len(windows_idx)
    converted: dict[str, Any] = {}  # the features as converted, for the estimators

    def fold_numeric(column: Any, reference: dict[str, Any]) -> list[dict[str, Any]]:
        return windows.fold_numeric_windows(column, windows_idx, reference)

    def fold_feature(f: dict[str, Any]) -> list[dict[str, Any]]:
        column = batch.features.get(f["name"])
        if column is None:
            column = _feature(table, f["name"], f["kind"], source)
        converted[f["name"]] = column
        reference = ref["features"][f["name"]]
        if f["kind"] == "numeric":
            return fold_numeric(column, reference)
        return _fold_encoded_windows(column, windows_idx, reference)

    def fold_performance() -> list[dict[str, Any]]:
        return performance.fold_classification_windows(
            batch.label.codes_for(classes), batch.prediction.codes_for(classes), classes, batch.scores, windows_idx)

    # (what, task): the prediction columns first (they are at hand), then the features as they are read
    tasks: list[tuple[tuple[str, str], Any]] = []
    if task == "regression":
        tasks.append((("out", "prediction"), lambda: fold_numeric(batch.prediction, ref.get("predictions") or {})))
        if batch.label is not None:
            tasks.append((("out", "performance"), lambda: [_fold_regression(batch, idx) for idx in windows_idx]))
    else:
        tasks.append((("out", "prediction"), lambda: _fold_encoded_windows(
            batch.prediction, windows_idx, {"value_counts": {c: 0 for c in classes}})))
        if batch.scores is not None and batch.scores.ndim == 1:
            tasks.append((("out", "score"), lambda: fold_numeric(batch.scores, ref.get("scores") or {})))
        if batch.label is not None:
            tasks.append((("out", "performance"), fold_performance))
        early = cbpe_job(batch.prediction, batch.scores, ref, task, classes, windows_idx)
        if early is not None:  # needs no feature: folds beside them
            tasks.append((("out", "estimated"), early))
    tasks += [(("feature", f["name"]), lambda f=f: fold_feature(f)) for f in schema]
    futures = [_POOL.submit(job) for _, job in tasks]
    if meanwhile is not None:
        try:
            meanwhile()
        except BaseException:
            for future in futures:  # what has not started yet is dropped; what runs finishes unheeded
                future.cancel()
            raise
    results = dict(zip([name for name, _ in tasks], _in_order(futures)))
    perf = results.get(("out", "performance")) or [{}] * n
    predictions = {key: results[("out", key)] for key in ("prediction", "score") if ("out", key) in results}
    estimated: list[dict] = [{}] * n
    if ref.get("estimation"):
        reconstruction, estimated = fold_batch(converted, batch.prediction, batch.scores, ref, task, classes,
                                               windows_idx, loss_models, run=_run_all,
                                               estimated=results.get(("out", "estimated")))
        if reconstruction is not None:
            predictions["reconstruction"] = reconstruction
    return [({f["name"]: results[("feature", f["name"])][i] for f in schema},
             {key: value[i] for key, value in predictions.items()}, perf[i], estimated[i]) for i in range(n)]


def _run_all(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Independent jobs on the fold threads, their results in order."""
    return list(_in_order([_POOL.submit(job) for job in jobs]))


def _in_order(futures: list[Future]) -> Any:
    """Each future's result in turn; the first failure is raised and the tasks not started are dropped."""
    try:
        for future in futures:
            yield future.result()
    finally:
        for future in futures:
            future.cancel()


def _fold_regression(batch: Batch, idx: Any) -> dict[str, Any]:
    import numpy as np

    label, pred = batch.label[idx], batch.prediction[idx]
    has = np.isfinite(label)
    return performance.fold_regression(label[has], pred[has]) if has.any() else {}


def _fold_encoded_windows(column: Encoded, windows_idx: list[Any], reference: dict[str, Any]) -> list[dict[str, Any]]:
    """The category counts (nulls apart) of each window of an encoded column."""
    import numpy as np

    k = len(column.dictionary)
    nulls = bool((column.indices < 0).any())
    other = windows.in_other(column.dictionary, reference)  # the batch's values the reference had, not kept
    out = []
    for idx in windows_idx:  # window by window: each pass stays in the processor's cache
        if nulls:  # slot 0: null, then the dictionary's values
            counts = np.bincount(column.indices[idx] + 1, minlength=k + 1)
            out.append(windows.fold_counts(counts[1:], column.dictionary, int(counts[0]), reference, other))
        else:
            out.append(windows.fold_counts(np.bincount(column.indices[idx], minlength=k), column.dictionary, 0,
                                           reference, other))
    return out


def merge_profiles(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    out = dict(old)
    for key, value in new.items():
        out[key] = windows.merge_feature(old[key], value) if key in old else value
    return out


def _window_starts(seconds: Any) -> Any:
    import numpy as np

    return (np.floor(seconds / WINDOW_SECONDS) * WINDOW_SECONDS).astype("int64")


def _windows(seconds: Any) -> tuple[Any, list[Any], list[int]]:
    """The batch's windows: the start of each (epoch seconds, ascending), its rows (a slice when the
    rows come in time order, the usual case: no copies) and how many.

    A row's window is ``_window_starts``; rows in time order are cut where the boundaries fall
    instead of working out every row's window. Both agree to the last bit: a time s below a boundary
    B = L*m (L the window length) is at least ulp(B) >= 2**j ulp(m) below it, 2**j the largest power
    of two not above L, so s / L is more than half an ulp below m and never rounds up to it.
    """
    import numpy as np

    n = int(seconds.size)
    in_order = n < 2 or bool(np.all(seconds[1:] >= seconds[:-1]))
    first_start, last_start = (int(v) for v in _window_starts(seconds[[0, -1]]))
    if in_order and (last_start - first_start) // WINDOW_SECONDS <= n:  # not more boundaries than rows
        boundaries = np.arange(first_start + WINDOW_SECONDS, last_start + 1, WINDOW_SECONDS, dtype="int64")
        cuts = np.searchsorted(seconds, boundaries.astype("float64"), side="left")  # first row at or past each
        edges = np.concatenate([[0], cuts, [n]])
        sizes = np.diff(edges)
        kept = np.flatnonzero(sizes)  # windows no row falls in are not windows
        starts = np.concatenate([[first_start], boundaries])[kept]
        return starts, [slice(int(edges[k]), int(edges[k + 1])) for k in kept.tolist()], sizes[kept].tolist()
    starts = _window_starts(seconds)  # rows out of order, or years apart: each row's window worked out
    order = None if in_order else np.argsort(starts, kind="stable")
    ordered = starts if in_order else starts[order]
    first = np.concatenate([[0], np.flatnonzero(ordered[1:] != ordered[:-1]) + 1]).tolist()  # no np.unique
    bounds = [*first[1:], n]
    return ordered[first], [slice(lo, hi) if in_order else order[lo:hi] for lo, hi in zip(first, bounds)], \
        [hi - lo for lo, hi in zip(first, bounds)]


def _utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(int(epoch), tz=timezone.utc)



def _quality(features: list[dict[str, Any]], predictions: list[dict[str, Any]]) -> dict[str, ColumnQuality]:
    """Per feature, over the batch's windows: nulls, values outside the reference's range, categories
    it never saw."""
    found: dict[str, ColumnQuality] = {}
    for name, first in features[0].items():
        profiles_ = [window[name] for window in features]
        item: ColumnQuality = {}
        if first["kind"] == "numeric":
            outside = sum(p["counts"][0] + p["counts"][-1] for p in profiles_ if len(p["counts"]) > 2)
            if outside:
                item["out_of_range"] = outside
        else:
            unseen_rows = sum(p["value_counts"].get(windows.UNSEEN, 0) for p in profiles_)
            if unseen_rows:
                unseen = windows.merge_all(profiles_)["unseen"]
                item["unseen"] = dict(list(unseen.items())[:5])
                item["unseen_rows"] = unseen_rows
        nulls = sum(p["nulls"] for p in profiles_)
        if nulls:
            item["nulls"] = nulls
        if item:
            found[name] = item
    unknown = sum(p.get("prediction", {}).get("value_counts", {}).get(windows.UNSEEN, 0) for p in predictions
                  if p.get("prediction", {}).get("kind") == "categorical")
    if unknown:
        found["prediction"] = {"unknown_classes": unknown}
    return found

