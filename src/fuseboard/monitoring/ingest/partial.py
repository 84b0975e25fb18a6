"""Partial window profiles: a part of a batch folded where its rows are, merged where they are written.

One job: what a worker (a Dask task, a Spark ``mapInArrow`` function, a Ray task) needs to fold its
rows without the workspace, and what it hands back. A ``ProfileSpec`` is what folding reads of the
serving version (its schema, reference bins and estimators); ``fold_partition`` validates a part of
a batch with the checks of single-machine ingest (validation.py) and folds it with the same fold
functions (fold.py) into ``PartialWindow`` records; ``merge_partials`` adds the records of one
window together (window_merge.py, performance.merge), which is what write.py does with a window
already stored. Nothing here touches the database.

What merges exactly (window_merge.py): row and null counts, histograms, category counts, confusion
matrices and score histograms, minima and maxima. Means and sums of squared deviations combine with
Chan's formula (the same value to rounding, not always to the last bit), tail sums and regression
sums add in another order, and a window split between parts keeps the most frequent unseen
categories of each part. Windows sampled for the estimators (over ``sampling.SAMPLE`` rows) sample
each part's rows apart.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable

import orjson

from fuseboard.errors import FuseboardError
from fuseboard.monitoring import performance
from fuseboard.monitoring.ingest.fold import _windows, fold_windows, merge_profiles
from fuseboard.monitoring.ingest.labels import Awaiting, awaiting, named_rows
from fuseboard.monitoring.ingest.read import as_table
from fuseboard.monitoring.ingest.validation import validate

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from fuseboard.monitoring.ingest.read import ParquetColumns

__all__ = ["Partial", "PartialWindow", "ProfileSpec", "fold_partition", "merge_partials", "profile_batch",
           "reference_digest"]


def reference_digest(reference_profile: dict[str, Any]) -> str:
    """The sha256 of a reference profile (keys sorted): partial windows name the bins they were folded on."""
    return hashlib.sha256(orjson.dumps(reference_profile, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True)
class ProfileSpec:
    """What folding reads of the version serving a model in an environment, for workers that cannot
    reach the workspace (it pickles; ``fuseboard.profile_spec`` makes one).

    Attributes
    ----------
    model, environment : str
    version : int
        The version's number; ``version_id`` its id in the workspace.
    version_id : int
    task : {"classification", "regression"}
    classes : list of str
        The classifier's classes in its order (empty for a regressor).
    feature_schema : list of dict
        ``{"name", "kind"}`` per feature, as registered.
    reference_profile : dict
        The reference's bins, categories and estimators.
    reference : str
        ``reference_digest(reference_profile)``.
    loss_models : object, optional
        The version's DLE loss models, loaded (None without them: no DLE estimates).
    """

    model: str
    environment: str
    version: int
    version_id: int
    task: str
    classes: list[str]
    feature_schema: list[dict[str, Any]]
    reference_profile: dict[str, Any]
    reference: str
    loss_models: Any = None


@dataclass
class PartialWindow:
    """The profiles of some rows of one five-minute window; records of one window merge exactly
    (``merge_partials``) into what folding all their rows at once gives (see the module's notes).

    Attributes
    ----------
    window_start : int
        Epoch seconds, a multiple of 300.
    rows, labelled : int
        Rows, and rows that came with their label.
    features, predictions : dict
        By column: ``shapes.NumericWindow`` or ``shapes.CategoricalWindow``.
    performance : dict
        ``shapes.PerformanceProfile`` of the labelled rows, ``{}`` without labels.
    estimated : dict or None
        The estimated performance (versions with estimators), else None.
    """

    window_start: int
    rows: int
    labelled: int
    features: dict[str, Any]
    predictions: dict[str, Any]
    performance: dict[str, Any] = field(default_factory=dict)
    estimated: dict[str, Any] | None = None


@dataclass
class Partial:
    """One part of a batch (a file, a partition) folded: its windows, and the rows waiting for labels.

    ``named`` maps each request id to its row (as users count them), so ids repeated across parts are
    refused as ids repeated within one are.
    """

    source: str
    rows: int
    windows: list[PartialWindow]
    awaiting: list[Awaiting] = field(default_factory=list)
    named: dict[str, int] = field(default_factory=dict)
    fingerprint: str | None = None  # the part's share of the batch's fingerprint (a file's)


def fold_partition(spec: ProfileSpec, table: "pa.Table | ParquetColumns", source: str, now: datetime) -> Partial:
    """Validate a part of a batch against the version's schema and fold it into partial windows.

    Parameters
    ----------
    spec : ProfileSpec
    table : pyarrow.Table or ParquetColumns
        The part's rows.
    source : str
        Named in error lines (a file's path).
    now : datetime
        Aware; the time of rows without a ``timestamp``.

    Returns
    -------
    partial : Partial

    Raises
    ------
    FuseboardError
        What single-machine ingest refuses (missing or unknown columns, text in numeric columns,
        bad times, no rows, a request id twice), one line naming ``source``.
    """
    batch = validate(table, spec, spec.task, spec.classes, source, now)  # type: ignore[arg-type]
    named = named_rows(batch, source)
    starts, slices, sizes = _windows(batch.seconds)
    folded = fold_windows(batch, slices, spec, spec.task, spec.classes, table=table, source=source,  # type: ignore[arg-type]
                          loss_models=spec.loss_models)
    windows = [PartialWindow(int(start), int(size), int(perf.get("labelled", 0)) if perf else 0, features,
                             predictions, perf or {}, estimated or None)
               for start, size, (features, predictions, perf, estimated) in zip(starts.tolist(), sizes, folded)]
    return Partial(source, batch.rows, windows, awaiting(batch), named)


def merge_partials(parts: Iterable[list[PartialWindow]]) -> list[PartialWindow]:
    """The windows of several parts, the records of each window merged, oldest window first.

    Parameters
    ----------
    parts : iterable of list of PartialWindow
        Folded against the same reference; merged in the order given (Chan's formula is not
        associative to the last bit: the same order gives the same result).

    Returns
    -------
    windows : list of PartialWindow
        One per window start.

    Raises
    ------
    ValueError
        Records folded on different bins or classes.
    """
    out: dict[int, PartialWindow] = {}
    for part in parts:
        for w in part:
            have = out.get(w.window_start)
            if have is None:
                out[w.window_start] = PartialWindow(w.window_start, w.rows, w.labelled, w.features, w.predictions,
                                                    w.performance, w.estimated)
                continue
            have.rows += w.rows
            have.labelled += w.labelled
            have.features = merge_profiles(have.features, w.features)
            have.predictions = merge_profiles(have.predictions, w.predictions)
            if w.performance:
                have.performance = performance.merge(have.performance, w.performance) if have.performance \
                    else w.performance
            if w.estimated:
                have.estimated = performance.merge(have.estimated, w.estimated) if have.estimated else w.estimated
    return [out[start] for start in sorted(out)]


def profile_batch(spec: ProfileSpec, rows: Any, *, source: str = "rows", now: datetime | None = None
                  ) -> list[PartialWindow]:
    """Fold rows into mergeable window profiles, anywhere: no workspace, no database.

    Parameters
    ----------
    spec : ProfileSpec
        From ``fuseboard.profile_spec(model, env)`` on a machine that reaches the workspace; it
        pickles, so it can be broadcast to Spark executors or Ray tasks.
    rows : pyarrow.Table, pyarrow.RecordBatch, iterable of RecordBatch, pandas.DataFrame or list of dict
        The model's features, ``prediction`` and optionally ``timestamp``, ``score`` or
        ``score_<class>``, ``request_id`` and ``label``, as ``fuseboard ingest`` reads them.
    source : str, default "rows"
        Named in error lines.
    now : datetime, optional
        The time of rows without a ``timestamp`` (default: now, UTC).

    Returns
    -------
    windows : list of PartialWindow
        One per five-minute window the rows fall in. ``fuseboard.profiles_table`` turns them into an
        Arrow table (``PROFILE_SCHEMA``) that ``fuseboard ingest-profiles`` writes; records of the
        same window from other partitions merge there.

    Raises
    ------
    fuseboard.errors.FuseboardError
        One line naming ``source``: what ``fuseboard ingest`` refuses.

    Notes
    -----
    Rows waiting for their labels (a ``request_id``, no ``label``) are counted in the windows but
    leave no pending record: their labels cannot be joined later (``ingest-labels``). Ingest such
    rows with ``fuseboard ingest`` (or ``--dask``).

    Examples
    --------
    >>> spec = fuseboard.profile_spec("credit-risk", "prod")        # doctest: +SKIP
    >>> windows = fuseboard.profile_batch(spec, frame)              # doctest: +SKIP
    >>> fuseboard.profiles_table(spec, windows).num_rows            # doctest: +SKIP
    3
    """
    from fuseboard.store.models import utcnow

    return fold_partition(spec, _as_rows(rows), source, now or utcnow()).windows


def _as_rows(rows: Any) -> "pa.Table":
    import pyarrow as pa

    if isinstance(rows, pa.RecordBatch):
        return pa.Table.from_batches([rows])
    if isinstance(rows, (pa.Table, list)) or type(rows).__name__ == "DataFrame":
        return as_table(rows)
    try:
        batches = list(rows)
    except TypeError:
        raise FuseboardError(f"rows must be a pyarrow Table or RecordBatches, a pandas DataFrame or a list of "
                             f"dicts, not {type(rows).__name__}") from None
    if not batches:
        raise FuseboardError("no rows to ingest (rows)")
    return pa.Table.from_batches(batches)
