"""History: stored windows grouped into periods, and the windows of many periods merged at once.

Pure: window profiles (plain dicts, as stored) and period bounds in, merged profiles out; no
database. ``replay.py`` reads the windows and runs the checks over each period.

Merging is the same as ``window_merge.merge_all`` and ``performance.merge`` (counts and histograms
add, moments combine exactly), but column by column over every period together: a profile's
histograms are gathered into one array per feature and summed per period with
``numpy.add.reduceat``, where the generic merge adds Python lists window by window. Profiles the
fast path does not know (other keys, other bin counts, sums near float max, a version's windows of
mixed tasks) are merged by the generic functions instead, so the result is always theirs: counts
are identical, means and sums of squares agree to rounding.

It also says which window a check read, in words every summary ends with (``window_phrase``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import chain
from typing import TYPE_CHECKING, Any, TypedDict

from fuseboard.monitoring import performance
from fuseboard.monitoring.result import CheckResult, span
from fuseboard.monitoring.shapes import NoLabels, PerformanceProfile, WindowColumns, WindowFeature
from fuseboard.monitoring.window_merge import merge_all

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = ["MAX_PERIODS", "NUMERIC_KEYS", "OutsideWindows", "Period", "generic_columns", "generic_performance",
           "group_by_period", "merge_columns", "merge_performance", "name_window", "outside_windows", "periods", "window_phrase"]

MAX_PERIODS = 10_000  # rows a report may have (a year of hours is 8,760)
NUMERIC_KEYS = frozenset({"kind", "count", "nulls", "mean", "m2", "min", "max", "counts", "fine", "tails"})
_HUGE = 1e150  # moments beyond this may overflow when combined: the generic merge saturates them


# -- periods ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """One row of a report: the windows that start in ``[start, end)``."""

    start: datetime
    end: datetime

    @property
    def length(self) -> timedelta:
        return self.end - self.start


def periods(start: datetime, end: datetime, every: timedelta) -> list[Period]:
    """``[start, end)`` cut into periods of ``every`` from ``start`` on; the last one ends at ``end``.

    Parameters
    ----------
    start, end : datetime
        Aware; ``start < end``.
    every : timedelta
        Positive.

    Returns
    -------
    periods : list of Period, ``ceil((end - start) / every)`` entries

    Raises
    ------
    ValueError
        ``end`` not after ``start``, ``every`` not positive, or more than ``MAX_PERIODS`` periods.
    """
    if every <= timedelta(0):
        raise ValueError("the period must be positive")
    if end <= start:
        raise ValueError("the end must be after the start")
    count = -(-(end - start) // every)
    if count > MAX_PERIODS:
        raise ValueError(f"{count:,} periods; at most {MAX_PERIODS:,}")
    return [Period(start + i * every, min(end, start + (i + 1) * every)) for i in range(count)]


def group_by_period(starts: np.ndarray, bounds: Sequence[Period]) -> list[np.ndarray]:
    """The windows of each period: positions of the ``starts`` within ``[period.start, period.end)``.

    Parameters
    ----------
    starts : ndarray of shape (n_windows,), int64
        Window starts in epoch seconds, ascending.
    bounds : sequence of Period, n_periods entries
        Consecutive, ascending.

    Returns
    -------
    groups : list of ndarray of intp, n_periods entries
        Ascending positions into ``starts`` (possibly empty).
    """
    import numpy as np

    if not bounds:
        return []
    edges = np.array([int(p.start.timestamp()) for p in bounds] + [int(bounds[-1].end.timestamp())], dtype=np.int64)
    cut = np.searchsorted(starts, edges, side="left")
    return [np.arange(cut[i], cut[i + 1]) for i in range(len(bounds))]


# -- naming the window read ------------------------------------------------------------------------

_LAST = re.compile(r"in the last [0-9]+[smhdw]")


def window_phrase(length: timedelta, end: datetime, *, live: bool) -> str:
    """Which window a check read: ``in the last 1h`` (up to now) or ``in the 1h to 2026-03-01 14:00 UTC``."""
    if live:
        return f"in the last {span(length)}"
    return f"in the {span(length)} to {end.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC"


def name_window(result: CheckResult, phrase: str) -> CheckResult:
    """``result`` whose summary names the window read: its own "in the last ..." becomes ``phrase``, or
    ``phrase`` is added at the end."""
    summary, found = _LAST.subn(phrase, result.summary, count=1)
    result.summary = summary if found else f"{result.summary}; {phrase}"
    return result


# -- merging window columns ------------------------------------------------------------------------

def generic_columns(columns: Sequence[WindowColumns]) -> WindowColumns:
    """The windows' columns merged one by one (``window_merge.merge_all``), as the checks always did.

    Parameters
    ----------
    columns : sequence of WindowColumns
        The windows' ``features`` (or ``predictions``), oldest first.

    Returns
    -------
    merged : WindowColumns
        One profile per name, in the order names first appear.
    """
    by_name: dict[str, list[WindowFeature]] = {}
    for window in columns:
        for name, profile in window.items():
            by_name.setdefault(name, []).append(profile)
    return {name: merge_all(profiles) for name, profiles in by_name.items()}


def merge_columns(columns: Sequence[WindowColumns], groups: Sequence[np.ndarray]) -> list[WindowColumns]:
    """``generic_columns`` of each group of windows, numeric features summed for all groups at once.

    Parameters
    ----------
    columns : sequence of WindowColumns, n_windows entries
        Each window's ``features`` or ``predictions``.
    groups : sequence of ndarray of intp, n_groups entries
        Positions into ``columns``, ascending within a group; a group may be empty.

    Returns
    -------
    merged : list of WindowColumns, n_groups entries
        ``{}`` for an empty group. Counts equal ``generic_columns``'s; means and ``m2`` agree to
        rounding.
    """
    import numpy as np

    out: list[dict[str, WindowFeature]] = [{} for _ in groups]
    names: dict[str, None] = {}
    for g in groups:  # the names in the order the generic merge meets them, group by group
        for i in g.tolist():
            names.update(dict.fromkeys(columns[i]))
    for name in names:
        members: list[WindowFeature] = []
        offsets: list[int] = []
        owners: list[int] = []
        for k, g in enumerate(groups):
            found = [columns[i][name] for i in g.tolist() if name in columns[i]]
            if found:
                owners.append(k)
                offsets.append(len(members))
                members.extend(found)
        merged = _numeric(members, np.asarray(offsets, dtype=np.intp)) if members else None
        for j, k in enumerate(owners):
            if merged is not None:
                out[k][name] = merged[j]
            else:
                stop = offsets[j + 1] if j + 1 < len(offsets) else len(members)
                out[k][name] = merge_all(members[offsets[j]:stop])
    # each group's names in its own first-seen order, as generic_columns gives them
    ordered = []
    for k, g in enumerate(groups):
        seen: dict[str, None] = {}
        for i in g.tolist():
            seen.update(dict.fromkeys(columns[i]))
        ordered.append({name: out[k][name] for name in seen})
    return ordered


def _stack(lists: Sequence[list[Any]], width: int, dtype: Any) -> np.ndarray:
    """Lists of ``width`` numbers each as one (n, width) array, built without a Python list of lists;
    ValueError when one is not ``width`` long."""
    import numpy as np

    if set(map(len, lists)) - {width}:
        raise ValueError("lists of different lengths")
    return np.fromiter(chain.from_iterable(lists), dtype=dtype, count=len(lists) * width).reshape(len(lists), width)


def _numeric(profiles: list[WindowFeature], offsets: np.ndarray) -> list[WindowFeature] | None:
    """Each run of ``profiles`` (from each offset to the next) merged, or None when the fast path does not
    apply (another kind, other keys or bins, nulls among the moments, values near float max)."""
    import numpy as np

    first = profiles[0]
    if first.get("kind") != "numeric" or not all(p.keys() == NUMERIC_KEYS for p in profiles) \
            or any(p["kind"] != "numeric" for p in profiles):
        return None
    n = len(profiles)
    sizes = np.diff(np.append(offsets, n))
    try:
        count = np.array([p["count"] for p in profiles], dtype=np.int64)
        nulls = np.array([p["nulls"] for p in profiles], dtype=np.int64)
        moments = np.array([(p["mean"], p["m2"]) for p in profiles], dtype=np.float64)  # TypeError on None
        extremes = np.array([(p["min"], p["max"]) for p in profiles], dtype=np.float64)  # None: NaN
        tails = _stack([p["tails"] for p in profiles], 2, np.float64)
        hists = {key: _stack([p[key] for p in profiles], len(first[key]), np.int64) for key in ("counts", "fine")}
    except (TypeError, ValueError, OverflowError):  # other bins, a null moment, counts that are not numbers
        return None
    mean, m2 = moments[:, 0], moments[:, 1]
    if not (np.abs(moments).max() < _HUGE and np.abs(tails).max() < _HUGE):
        return None  # near float max (or NaN): the generic merge saturates, step by step
    total = np.add.reduceat(count, offsets)
    weights = count.astype(np.float64)
    centre = np.add.reduceat(weights * mean, offsets) / np.maximum(total, 1)  # 0.0 for no values, as _chan
    spread = mean - np.repeat(centre, sizes)
    squares = np.add.reduceat(m2 + weights * spread * spread, offsets)
    with np.errstate(invalid="ignore"):  # a run of windows without values: NaN, then None
        low, high = np.fmin.reduceat(extremes[:, 0], offsets), np.fmax.reduceat(extremes[:, 1], offsets)
    summed_tails = np.add.reduceat(tails, offsets, axis=0).tolist()
    summed = {key: np.add.reduceat(h, offsets, axis=0).tolist() for key, h in hists.items()}
    counts, null_counts = total.tolist(), np.add.reduceat(nulls, offsets).tolist()
    lows = [None if x != x else x for x in low.tolist()]
    highs = [None if x != x else x for x in high.tolist()]
    out: list[WindowFeature] = []
    for j, (start, size) in enumerate(zip(offsets.tolist(), sizes.tolist())):
        if size == 1:  # alone, the profile is its own merge (merge_all returns it)
            out.append(profiles[start])
            continue
        out.append({"kind": "numeric", "count": counts[j], "nulls": null_counts[j], "mean": float(centre[j]),
                    "m2": float(squares[j]), "min": lows[j], "max": highs[j], "counts": summed["counts"][j],
                    "fine": summed["fine"][j], "tails": summed_tails[j]})
    return out


# -- merging performance ---------------------------------------------------------------------------

def generic_performance(profiles: Sequence[PerformanceProfile | NoLabels]) -> PerformanceProfile | NoLabels:
    """The windows' performance merged one by one (``performance.merge``), as the checks always did;
    ``{}`` without labels."""
    out: PerformanceProfile | NoLabels = {}
    for profile in profiles:
        if profile:
            out = performance.merge(out, profile) if out else profile
    return out


_REGRESSION = ("sum_err", "sum_sq_err", "sum_abs_err", "sum_y", "sum_y2")


def merge_performance(profiles: Sequence[PerformanceProfile | NoLabels],
                      groups: Sequence[np.ndarray]) -> list[PerformanceProfile | NoLabels]:
    """``generic_performance`` of each group of windows, summed for all groups at once where the windows
    are alike (one task, the same classes and score bins); window by window otherwise.

    Parameters
    ----------
    profiles : sequence of PerformanceProfile or ``{}``, n_windows entries
    groups : sequence of ndarray of intp, n_groups entries
        Positions into ``profiles``, ascending within a group.

    Returns
    -------
    merged : list of PerformanceProfile or ``{}``, n_groups entries
        Counts equal ``generic_performance``'s; regression sums agree to rounding.
    """
    import numpy as np

    labelled = [[i for i in g.tolist() if profiles[i]] for g in groups]
    members = [profiles[i] for i in chain.from_iterable(labelled)]
    shape = _performance_shape(members)
    if shape is None:
        return [generic_performance([profiles[i] for i in g]) for g in labelled]
    offsets_list, position = [], 0
    for g in labelled:
        if g:
            offsets_list.append(position)
            position += len(g)
    try:
        labels, unknown, sums = _summed_performance(members, np.asarray(offsets_list, dtype=np.intp), shape)
    except (KeyError, TypeError, ValueError, OverflowError):  # uneven histograms: the generic merge decides
        return [generic_performance([profiles[i] for i in g]) for g in labelled]
    first = members[0]
    out: list[PerformanceProfile | NoLabels] = []
    j = 0
    for g in labelled:
        if not g:
            out.append({})
            continue
        if len(g) == 1:
            out.append(profiles[g[0]])
            j += 1
            continue
        merged: dict[str, Any] = {"task": first["task"], "labelled": labels[j], "unknown_labels": unknown[j]}
        if first["task"] == "regression":
            merged.update({key: sums[key][j] for key in _REGRESSION})
        else:
            merged["classes"] = first["classes"]
            merged["confusion"] = sums["confusion"][j]
            if "scores" in sums:
                merged["scores"] = {c: {side: sums["scores"][c][side][j] for side in ("pos", "neg")}
                                    for c in sums["scores"]}
        out.append(merged)
        j += 1
    return out


def _summed_performance(members: list[Any], offsets: np.ndarray, shape: list[tuple[str, int]]
                        ) -> tuple[list[int], list[int], dict[str, Any]]:
    """Labelled rows, unknown labels and the task's sums (confusion and score histograms, or the
    regression sums) of each run of ``members``, from each offset to the next."""
    import numpy as np

    n = len(members)
    labels = np.add.reduceat(np.array([p["labelled"] for p in members], dtype=np.int64), offsets).tolist()
    unknown = np.add.reduceat(np.array([p["unknown_labels"] for p in members], dtype=np.int64), offsets).tolist()
    first = members[0]
    if first["task"] == "regression":
        return labels, unknown, {key: np.add.reduceat(np.fromiter((p[key] for p in members), np.float64, n),
                                                      offsets).tolist() for key in _REGRESSION}
    k = len(first["classes"])
    confusion = np.add.reduceat(_stack([list(chain.from_iterable(p["confusion"])) for p in members], k * k,
                                       np.int64), offsets, axis=0)
    sums: dict[str, Any] = {"confusion": [row.reshape(k, k).tolist() for row in confusion]}
    if shape:  # score histograms: class -> side -> summed rows
        sums["scores"] = {c: {side: np.add.reduceat(_stack([p["scores"][c][side] for p in members], width,
                                                           np.int64), offsets, axis=0).tolist()
                              for side in ("pos", "neg")} for c, width in shape}
    return labels, unknown, sums


def _performance_shape(members: list[Any]) -> list[tuple[str, int]] | None:
    """How the fast path sums these profiles: ``[]`` (no score histograms) or ``[(class, bins), ...]``;
    None when they differ in task, classes, keys or bins (the generic merge says what is wrong)."""
    if not members:
        return None
    first = members[0]
    task = first.get("task")
    if task == "regression":
        keys = {"task", "labelled", "unknown_labels", *_REGRESSION}
        return [] if all(p.keys() == keys for p in members) and all(p["task"] == task for p in members) else None
    if task != "classification":
        return None
    classes, k = first.get("classes"), len(first.get("classes") or ())
    scores = first.get("scores")
    shape = [(c, len(h["pos"])) for c, h in scores.items()] if scores else []
    keys = {"task", "classes", "labelled", "unknown_labels", "confusion"} | ({"scores"} if scores else set())
    if not all(p.keys() == keys for p in members) or any(p["task"] != task or p["classes"] != classes
                                                          for p in members):
        return None
    if set(map(len, (p["confusion"] for p in members))) != {k}:
        return None
    if scores and not all(p["scores"].keys() == scores.keys() for p in members):
        return None
    return shape


# -- rows the checks will not read -----------------------------------------------------------------

class OutsideWindows(TypedDict):
    """How many of a batch's rows fall before the windows the checks read now (ingest says so)."""

    drift_window: str  # the model's drift window, e.g. "1h"
    older_than_drift_window: int  # rows whose window starts before now - drift window
    performance_window: str  # e.g. "1d"
    older_than_performance_window: int


def outside_windows(starts: Sequence[int], sizes: Sequence[int], now: datetime, drift_window: timedelta,
                    performance_window: timedelta) -> OutsideWindows:
    """The rows of a batch's windows that the checks at ``now`` do not read: a window is read while it
    starts within the check's window before now (``checks.run_checks``).

    Parameters
    ----------
    starts : sequence of int, n_windows entries
        Window starts, epoch seconds.
    sizes : sequence of int, n_windows entries
        Rows in each window.
    now : datetime
        Aware.
    drift_window, performance_window : timedelta
        The model's.

    Returns
    -------
    outside : OutsideWindows
    """
    stamp = now.timestamp()
    drift_from, performance_from = stamp - drift_window.total_seconds(), stamp - performance_window.total_seconds()
    return {"drift_window": span(drift_window),
            "older_than_drift_window": int(sum(n for s, n in zip(starts, sizes) if s < drift_from)),
            "performance_window": span(performance_window),
            "older_than_performance_window": int(sum(n for s, n in zip(starts, sizes) if s < performance_from))}
