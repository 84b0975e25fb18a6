"""Compact window profiles (store/window_codec.py): every profile reads back exactly, merges give the
same bits as on the JSON path, and many windows merged from their blobs (monitoring/packed_merge.py)
equal the checks' merge of the decoded windows."""

from __future__ import annotations

import numpy as np
import orjson
import pandas as pd
import pytest

from fuseboard.monitoring import history, performance, profiles, windows
from fuseboard.monitoring.packed_merge import merge_blobs
from fuseboard.monitoring.window_merge import BIGGEST, merge_all
from fuseboard.store.window_codec import JSON, PACKED, decode, encode

from tests.support.windows import close
from tests.support.windows import exact as _exact
from tests.support.windows import seeded_windows as _windows


def _wide(rows: int, seed: int = 1) -> dict:
    """A 25-feature window (20 numeric, 5 categorical) folded from ``rows`` raw rows."""
    rng = np.random.default_rng(seed)
    ref = {f"n{i}": profiles.profile_column(pd.Series(rng.normal(i, 1 + i / 10, 5000)), "numeric") for i in range(20)}
    ref |= {f"c{i}": profiles.profile_column(pd.Series(rng.choice([f"v{j}" for j in range(6 + i)], 5000)), "categorical")
            for i in range(5)}
    out = {f"n{i}": windows.fold_numeric(rng.normal(i + 0.1, 1 + i / 10, rows), ref[f"n{i}"]) for i in range(20)}
    out |= {f"c{i}": windows.fold_categorical(rng.choice([f"v{j}" for j in range(8 + i)], rows), ref[f"c{i}"])
            for i in range(5)}
    return out


def test_folded_windows_read_back_bit_for_bit() -> None:
    columns, perfs = _windows(n=40)
    for profile in [*columns, *(p for p in perfs if p), _wide(2000), _wide(7)]:
        blob = encode(profile)
        assert blob[:4] == PACKED
        assert _exact(decode(blob)) == _exact(profile)


def test_every_shape_reads_back_and_the_odd_ones_are_kept_as_json() -> None:
    regression = performance.fold_regression(np.array([1.0, 2.0, 4.0]), np.array([1.5, 2.0, 3.0]))
    older = {k: v for k, v in regression.items() if k != "sum_err4"}  # folded before err**4 was kept
    huge = {"x": {**windows.fold_numeric(np.array([1.0, 2.0]), profiles.profile_column(pd.Series([1.0, 2.0, 3.0]),
                                                                                          "numeric")),
                  "count": 2 ** 40}}  # integers past 32 bits
    overflowed = {"x": {**huge["x"], "count": 2, "mean": None, "m2": None, "tails": [None, 0.0]}}  # older versions
    negative = {"x": {**huge["x"], "nulls": -3}}  # not a count a fold gives, but an integer: kept as one
    for profile in (regression, older, huge, overflowed, negative):
        assert encode(profile)[:4] == PACKED
        assert _exact(decode(encode(profile))) == _exact(profile)
    for odd in ({}, {"x": {"kind": "numeric"}}, {"task": "classification", "classes": ["a"]},
                {"x": {**huge["x"], "count": 2.0}}, {"x": {**huge["x"], "mean": 1}},
                {"x": {**huge["x"], "count": 2 ** 63}}):
        blob = encode(odd)
        assert blob[:4] == JSON and decode(blob) == odd
        assert _exact(decode(blob)) == _exact(odd)
    with pytest.raises(ValueError, match="not a stored window profile"):
        decode(b'{"x": 1}')


def test_merges_of_decoded_windows_are_the_merges_of_the_folds_bit_for_bit() -> None:
    columns, perfs = _windows(n=30, seed=3)
    back = [decode(encode(c)) for c in columns]
    for name in ("x", "y", "c"):
        assert _exact(merge_all([c[name] for c in back])) == _exact(merge_all([c[name] for c in columns]))
    labelled = [p for p in perfs if p]
    assert _exact(history.generic_performance([decode(encode(p)) for p in labelled])) == \
        _exact(history.generic_performance(labelled))


def test_the_wide_window_is_several_times_smaller_than_its_json() -> None:
    for rows in (40, 2000, 5000):
        window = _wide(rows)
        assert len(encode(window)) * 3.5 < len(orjson.dumps(window)), rows


def test_windows_merged_from_their_blobs_equal_the_checks_merge() -> None:
    columns, perfs = _windows(n=80, seed=5)
    for cut in ([0, 80], [0, 1], [3, 4], [10, 37], [40, 80]):
        part = slice(*cut)
        got = merge_blobs([encode(c) for c in columns[part]], history.generic_columns)
        assert close(got, history.generic_columns(columns[part]))
        got = merge_blobs([encode(p) for p in perfs[part]], history.generic_performance)
        assert close(got, history.generic_performance(perfs[part]))
    assert merge_blobs([], history.generic_columns) == {}
    assert merge_blobs([None, encode({})], history.generic_performance) == {}


def test_unlike_windows_merge_group_by_group() -> None:
    """Windows with and without positions, labels of two kinds of window, a profile kept as JSON, and
    many unseen categories: the blobs' merge is still the checks' merge."""
    columns, _ = _windows(n=30, seed=7)
    mixed = [dict(c) for c in columns]
    for c in mixed[::4]:
        c["x"] = {k: v for k, v in c["x"].items() if k != "fine_positions"}
    for i, c in enumerate(mixed):
        c["c"] = {**c["c"], "unseen": {f"new{(i * 7 + j) % 31}": j + 1 for j in range(12)}}
    mixed[5] = {**mixed[5], "z": {"kind": "numeric"}}  # an odd shape: kept as JSON, merged as the checks do
    blobs = [encode(c) for c in mixed]
    assert blobs[5][:4] == JSON
    expected = history.generic_columns(mixed[:5] + mixed[6:])
    got = merge_blobs(blobs[:5] + blobs[6:], history.generic_columns)
    assert "fine_positions" not in got["x"] and len(got["c"]["unseen"]) == 20
    assert close(got, expected)


def test_saturated_sums_merge_as_the_checks_do() -> None:
    """Values near float max: the closed form would overflow, so those windows merge step by step."""
    ref = profiles.profile_column(pd.Series(np.linspace(0, 1, 100)), "numeric")
    big = [{"x": windows.fold_numeric(np.array([BIGGEST / 2, BIGGEST / 3, 1.0]), ref)} for _ in range(4)]
    assert merge_blobs([encode(w) for w in big], history.generic_columns) == history.generic_columns(big)
