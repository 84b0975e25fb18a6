"""Periods (monitoring/history.py) and the merge of each period's stored windows (packed_merge.py): the
same profiles as the generic merge, window by window, and as the raw rows, on seeded windows."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from fuseboard.monitoring import history, performance, profiles, windows
from fuseboard.monitoring.result import CheckResult
from fuseboard.monitoring.packed_merge import merge_blobs
from fuseboard.store.window_codec import encode
from tests.support.windows import close
from tests.support.windows import seeded_windows as _windows

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


def _groups(n: int) -> list[np.ndarray]:
    """Uneven groups: an empty one, single windows, long runs."""
    cuts = [0, 0, 1, 2, 9, 10, 31, n - 3, n]
    return [np.arange(a, b) for a, b in zip(cuts, cuts[1:])]


def _merged(profiles: list, groups: list[np.ndarray], generic) -> list:  # noqa: ANN001
    """Each group's windows merged as the checks and ``report`` merge them: from their stored blobs."""
    return [merge_blobs([encode(profiles[i]) for i in g], generic) for g in groups]


def test_merging_each_period_gives_the_generic_merge() -> None:
    columns, _ = _windows()
    groups = _groups(len(columns))
    merged = _merged(columns, groups, history.generic_columns)
    assert all(close(m, history.generic_columns([columns[i] for i in g])) for m, g in zip(merged, groups))
    assert merged[0] == {}  # an empty period
    assert merged[1]["x"] == columns[0]["x"]  # a single window is its own merge


def test_the_merged_moments_are_those_of_the_raw_rows() -> None:
    rng = np.random.default_rng(3)
    reference = profiles.profile_column(pd.Series(rng.normal(0, 1, 1000)), "numeric")
    parts = [rng.normal(5, 2, int(k)) for k in rng.integers(1, 50, 30)]
    columns = [{"x": windows.fold_numeric(p, reference)} for p in parts]
    (merged,) = _merged(columns, [np.arange(30)], history.generic_columns)
    raw = np.concatenate(parts)
    assert merged["x"]["count"] == raw.size
    assert merged["x"]["mean"] == pytest.approx(raw.mean(), rel=1e-12)
    assert merged["x"]["m2"] / (raw.size - 1) == pytest.approx(raw.var(ddof=1), rel=1e-10)
    assert (merged["x"]["min"], merged["x"]["max"]) == (raw.min(), raw.max())
    assert merged["x"]["counts"] == windows.fold_numeric(raw, reference)["counts"]


def test_performance_of_each_period_at_once_is_the_generic_merge() -> None:
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    raw: list = []
    _, perfs = _windows(raw=raw)
    groups = _groups(len(perfs))
    merged = _merged(perfs, groups, history.generic_performance)
    assert merged == [history.generic_performance([perfs[i] for i in g]) for g in groups]  # counts: exact
    rows = [raw[i] for i in groups[-2] if raw[i] is not None]  # a long period's raw rows
    y, p, s = (np.concatenate(part) for part in zip(*rows))
    found = performance.metrics(merged[-2])
    assert merged[-2]["labelled"] == y.size
    assert found["accuracy"] == pytest.approx(accuracy_score(y, p)) and found["f1"] == pytest.approx(f1_score(y, p))
    assert found["roc_auc"] == pytest.approx(roc_auc_score(y, s), abs=0.01)  # scores binned in 200 bins


def test_regression_unscored_and_mixed_performance_are_merged_alike() -> None:
    rng = np.random.default_rng(5)
    regression = [performance.fold_regression(rng.normal(0, 1, 30), rng.normal(0, 1, 30)) for _ in range(12)]
    groups = [np.arange(0, 5), np.arange(5, 12)]
    assert all(close(m, history.generic_performance([regression[i] for i in g]))  # sums: to rounding
               for m, g in zip(_merged(regression, groups, history.generic_performance), groups))
    unscored = [performance.fold_classification(rng.integers(0, 3, 20), rng.integers(0, 3, 20), [0, 1, 2])
                for _ in range(8)]
    assert _merged(unscored, [np.arange(8)], history.generic_performance) == [history.generic_performance(unscored)]
    scored = performance.fold_classification([0, 1, 2], [0, 1, 1], [0, 1, 2], np.full((3, 3), 1 / 3))
    some = [*unscored, scored]  # scores in one window only: the merge keeps none, as performance.merge does
    (merged,) = _merged(some, [np.arange(9)], history.generic_performance)
    assert merged == history.generic_performance(some) and "scores" not in merged
    other = [*unscored, performance.fold_classification([0, 1], [0, 1], [0, 1], [0.2, 0.9])]  # other classes
    with pytest.raises(ValueError, match="different classes"):  # the generic merge's own refusal
        _merged(other, [np.arange(9)], history.generic_performance)


def test_periods_cover_the_range_and_the_last_one_stops_at_the_end() -> None:
    cut = history.periods(T0, T0 + timedelta(days=2, hours=6), timedelta(days=1))
    assert [(p.start, p.end) for p in cut] == [(T0, T0 + timedelta(days=1)),
                                               (T0 + timedelta(days=1), T0 + timedelta(days=2)),
                                               (T0 + timedelta(days=2), T0 + timedelta(days=2, hours=6))]
    with pytest.raises(ValueError):
        history.periods(T0, T0, timedelta(hours=1))
    with pytest.raises(ValueError, match="periods"):
        history.periods(T0, T0 + timedelta(days=3650), timedelta(minutes=5))


def test_windows_fall_in_the_period_they_start_in() -> None:
    cut = history.periods(T0, T0 + timedelta(hours=3), timedelta(hours=1))
    stamp = int(T0.timestamp())
    starts = np.array([stamp - 300, stamp, stamp + 3300, stamp + 3600, stamp + 3 * 3600], dtype=np.int64)
    assert [g.tolist() for g in history.group_by_period(starts, cut)] == [[1, 2], [3], []]


def test_every_summary_names_the_window_it_read() -> None:
    end = datetime(2026, 3, 1, 14, 0, tzinfo=timezone.utc)
    past = history.window_phrase(timedelta(hours=1), end, live=False)
    assert past == "in the 1h to 2026-03-01 14:00 UTC"
    said = history.name_window(CheckResult("drift", "none", "12 rows in the last 1h; a verdict needs 100"), past)
    assert said.summary == "12 rows in the 1h to 2026-03-01 14:00 UTC; a verdict needs 100"
    said = history.name_window(CheckResult("drift", "warn", "1 of 8 features drifted: income"),
                               history.window_phrase(timedelta(days=1), end, live=True))
    assert said.summary == "1 of 8 features drifted: income; in the last 1d"


def test_rows_before_the_check_windows_are_counted() -> None:
    now = T0 + timedelta(days=10)
    starts = [int((now - timedelta(days=3)).timestamp()), int((now - timedelta(hours=3)).timestamp()),
              int((now - timedelta(minutes=30)).timestamp())]
    outside = history.outside_windows(starts, [100, 20, 5], now, timedelta(hours=1), timedelta(days=1))
    assert outside == {"drift_window": "1h", "older_than_drift_window": 120, "performance_window": "1d",
                       "older_than_performance_window": 100}
