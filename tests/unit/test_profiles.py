"""Reference profiles built from one sort per column are the profiles np.quantile, np.unique,
np.histogram and each value's text give: same keys, same order, same values to the bit (the fine
bins' positions, sums of floats added in another order, to one unit)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from fuseboard.monitoring import profiles
from fuseboard.monitoring.profiles import (
    CATEGORICAL,
    FINE_TAIL_LEVELS,
    MAX_CATEGORIES,
    NUMERIC,
    OTHER,
    QUANTILES,
    categorical_profile,
    numeric_profile,
    sorted_histogram_counts,
    sorted_quantiles,
)
from fuseboard.monitoring.windows import fold_numeric, fold_numeric_windows, sorted_histogram


# -- the straightforward way: what profiles.py computes, with np.quantile, np.unique and np.histogram --

def direct_quantile_histogram(finite: np.ndarray, levels: Any) -> tuple[np.ndarray, np.ndarray]:
    edges = np.unique(np.quantile(finite, levels))
    if edges.size == 1:
        return np.array([edges[0], edges[0]]), np.array([finite.size])
    counts, _ = np.histogram(finite, bins=edges)
    return edges, counts


def direct_point_mass_histogram(finite: np.ndarray, levels: Any) -> tuple[np.ndarray, np.ndarray]:
    """Values holding 5% of the data get a bin [v, nextafter(v)) of their own, the rest quantile bins;
    bins left empty are merged into a neighbour (the one above a point's bin, never the point's)."""
    values, tally = np.unique(finite, return_counts=True)
    points = values[tally >= max(2.0, 0.05 * finite.size)]
    if points.size == 0 or values.size == 1:
        return direct_quantile_histogram(finite, levels)
    rest = finite[~np.isin(finite, points)]
    above = np.nextafter(points, np.inf)
    edges = np.unique(np.concatenate([points, above, np.quantile(rest, levels) if rest.size else []]))
    while True:
        counts, _ = np.histogram(finite, bins=edges)
        empty = np.flatnonzero(counts == 0)
        if empty.size == 0:
            return edges, counts
        drop = {i + 1 if edges[i] in above and edges[i + 1] not in points else i for i in empty.tolist()}
        edges = np.delete(edges, sorted(drop))


def direct_fine_histogram(finite: np.ndarray, levels: Any) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """The point-mass bins, then 24 times the bin with the largest width * sqrt((count + 1) / n) halved;
    and where the halving edges are."""
    edges, counts = direct_point_mass_histogram(finite, levels)
    if edges[0] == edges[-1]:
        return edges, counts, []
    before = set(edges.tolist())
    narrow: set[float] = set()  # left edges of bins too narrow to halve
    for _ in range(24):
        scores = np.diff(edges) * np.sqrt((np.histogram(finite, bins=edges)[0] + 1.0) / finite.size)
        scores[np.isin(edges[:-1], list(narrow))] = 0.0
        i = int(np.argmax(scores))
        if scores[i] <= 0:
            break
        middle = edges[i] / 2 + edges[i + 1] / 2
        if not edges[i] < middle < edges[i + 1]:
            narrow.add(float(edges[i]))
            continue
        edges = np.insert(edges, i + 1, middle)
    return edges, np.histogram(finite, bins=edges)[0], [i for i, e in enumerate(edges.tolist()) if e not in before]


def direct_positions(finite: np.ndarray, edges: np.ndarray) -> list[int]:
    """Per bin, the sum of its values' distances from its left edge, in tenths of its width."""
    inside = finite[(finite >= edges[0]) & (finite <= edges[-1])]
    where = np.minimum(np.searchsorted(edges, inside, side="right") - 1, edges.size - 2)
    offsets = np.bincount(where, weights=inside - edges[where], minlength=edges.size - 1)
    widths = np.diff(edges)
    return [int(round(o / w * 10)) if w > 0 else 0 for o, w in zip(offsets.tolist(), widths.tolist())]


def direct_numeric_profile(values: pd.Series, bins: int = 10) -> dict[str, Any]:
    arr = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    finite = arr[np.isfinite(arr)]
    out: dict[str, Any] = {"kind": NUMERIC, "count": int(finite.size), "nulls": int(arr.size - finite.size)}
    if finite.size == 0:
        out.update(mean=None, std=None, min=None, max=None, quantiles={}, edges=[], counts=[])
        return out
    edges, counts = direct_point_mass_histogram(finite, np.linspace(0.0, 1.0, bins + 1))
    levels = np.unique(np.concatenate([np.linspace(0.0, 1.0, 101), FINE_TAIL_LEVELS,
                                       1.0 - np.asarray(FINE_TAIL_LEVELS)]))
    fine_edges, fine_counts, halved = direct_fine_histogram(finite, levels)
    out.update(
        mean=float(finite.mean()),
        std=float(finite.std(ddof=1)) if finite.size > 1 else 0.0,
        min=float(finite.min()),
        max=float(finite.max()),
        quantiles={f"p{round(q * 100)}": float(np.quantile(finite, q)) for q in QUANTILES},
        edges=[float(e) for e in edges],
        counts=[int(c) for c in counts],
        fine={"edges": [float(e) for e in fine_edges], "counts": [int(c) for c in fine_counts],
              "positions": direct_positions(finite, fine_edges), "halved": halved},
    )
    return out


def same_numeric(a: dict[str, Any], b: dict[str, Any]) -> None:
    """``same``, except that positions (sums of floats, added in another order) may differ by one unit."""
    a, b = {**a}, {**b}
    if "fine" in a and "fine" in b:
        a["fine"], b["fine"] = dict(a["fine"]), dict(b["fine"])
        assert list(a["fine"]) == list(b["fine"])
        pa_, pb_ = a["fine"].pop("positions"), b["fine"].pop("positions")
        assert len(pa_) == len(pb_) and all(type(p) is int for p in pa_)
        assert max((abs(x - y) for x, y in zip(pa_, pb_)), default=0) <= 1
    same(a, b)


def direct_text(values: pd.Series) -> pd.Series:
    """Each present value's text: integral floats as integers ("1", not "1.0"), other floats as Python
    prints them, anything else as astype(str) (object columns: str of each value)."""
    present = values.dropna()
    def text(v: Any) -> str:
        if isinstance(v, (float, np.floating)) and float(v).is_integer() and abs(float(v)) < 2.0 ** 63:
            return str(int(v))
        return str(v)
    floats = pd.api.types.is_float_dtype(present.dtype) or (
        isinstance(present.dtype, pd.CategoricalDtype) and pd.api.types.is_float_dtype(present.dtype.categories.dtype))
    if floats or present.dtype == object:
        return pd.Series([text(v) for v in present.astype(object)], dtype=object)
    return present.astype(str)


def direct_categorical_profile(values: pd.Series) -> dict[str, Any]:
    nulls = int(values.isna().sum())
    counts = direct_text(values).value_counts()
    value_counts = {str(k): int(v) for k, v in counts.iloc[:MAX_CATEGORIES].items()}
    rest = int(counts.iloc[MAX_CATEGORIES:].sum())
    if rest:
        value_counts[OTHER] = rest
    out = {"kind": CATEGORICAL, "count": int(counts.sum()), "nulls": nulls, "distinct": int(counts.size),
           "value_counts": value_counts}
    if rest:  # the rest's values: sorted 64-bit blake2b hashes, little-endian, base64
        import base64
        import hashlib

        hashes = sorted(int.from_bytes(hashlib.blake2b(str(k).encode(), digest_size=8).digest(), "little")
                        for k in counts.index[MAX_CATEGORIES:])
        out["other_hashes"] = base64.b64encode(b"".join(h.to_bytes(8, "little") for h in hashes)).decode()
    return out


def same(a: Any, b: Any, where: str = "profile") -> None:
    """Equal as stored: the same keys in the same order, the same types, every number exactly equal.

    The one freedom: 0.0 and -0.0 compare equal, so which of the two a sort or a partition leaves at
    a given position among tied values is arbitrary (np.quantile partitions, the profile sorts).
    """
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} != {list(b)}"
        for key in a:
            same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), f"{where}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


# -- numbers -------------------------------------------------------------------------------------

def _numeric_cases() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20240611)
    with_gaps = rng.lognormal(0.0, 1.0, 40_000)
    with_gaps[rng.random(with_gaps.size) < 0.1] = np.nan
    with_gaps[rng.random(with_gaps.size) < 0.01] = np.inf
    with_gaps[rng.random(with_gaps.size) < 0.01] = -np.inf
    return {
        "normal": rng.normal(50.0, 10.0, 100_001),
        "normal, odd size": rng.normal(-3.0, 0.1, 12_345),
        "nan and inf": with_gaps,
        "ties: dice": rng.integers(1, 7, 30_000).astype("float64"),
        "ties: mostly zero": rng.poisson(0.2, 20_000).astype("float64"),
        "ties: two values": rng.choice([0.0, 1.0], 5_000, p=[0.97, 0.03]),
        "ties: rounded": np.round(rng.normal(0.0, 1.0, 50_000), 1),
        "constant": np.full(1_000, 2.5),
        "constant with nan": np.array([7.0, np.nan, 7.0, 7.0]),
        "one value": np.array([4.2]),
        "two values": np.array([3.0, -1.0]),
        "three values": np.array([5.0, -1.0, 2.0]),
        "signed zeros": np.array([-0.0, 0.0, -0.0]),
        "all negative zero": np.full(7, -0.0),
        "integers": np.arange(-500, 501),
        "heavy tails": rng.standard_cauchy(20_000),
        "only nan": np.array([np.nan, np.inf]),
        "empty": np.array([], dtype="float64"),
    }


NUMERIC_CASES = _numeric_cases()


@pytest.mark.parametrize("case", NUMERIC_CASES)
@pytest.mark.parametrize("bins", [10, 4, 1])
def test_numeric_profile_is_the_np_quantile_np_histogram_profile(case: str, bins: int) -> None:
    values = pd.Series(NUMERIC_CASES[case])
    same_numeric(numeric_profile(values, bins), direct_numeric_profile(values, bins))


def test_numeric_profile_of_text_and_none_is_unchanged() -> None:
    values = pd.Series(["1.5", None, "x", "2", "", "1e3", "-inf", "2"], dtype=object)
    same_numeric(numeric_profile(values), direct_numeric_profile(values))


def test_numeric_profile_leaves_the_callers_data_alone() -> None:
    data = np.random.default_rng(3).normal(size=10_000)
    series = pd.Series(data)
    before = data.copy()
    numeric_profile(series)
    assert np.array_equal(series.to_numpy(), before) and np.array_equal(data, before)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 10, 11, 99, 100, 101, 1_000, 65_537])
def test_sorted_quantiles_are_np_quantile_to_the_bit(n: int) -> None:
    rng = np.random.default_rng(n)
    xs = np.sort(rng.normal(0.0, 1e3, n))
    levels = np.unique(np.concatenate([np.linspace(0.0, 1.0, 101), FINE_TAIL_LEVELS, 1.0 - np.asarray(FINE_TAIL_LEVELS),
                                       rng.random(50), [0.0, 1.0, 0.5, 1 - 1e-15, 1e-15]]))
    got = sorted_quantiles(xs, levels)
    assert np.array_equal(got.view("int64"), np.quantile(xs, levels).view("int64"))
    for q in QUANTILES:  # the scalar calls the old profile made, one level at a time
        assert np.float64(sorted_quantiles(xs, [q])[0]).view("int64") == np.float64(np.quantile(xs, q)).view("int64")


@pytest.mark.parametrize("edges", [
    [0.0, 1.0, 2.0, 3.0],      # the data's own range, values on the edges
    [0.5, 1.5, 2.5],           # narrower than the data: values outside are not counted
    [-10.0, 10.0],             # one bin holding everything
    [1.0, 2.0],                # the top edge holds its value (the last bin is closed)
    [5.0, 6.0, 7.0],           # beyond the data
])
def test_sorted_histogram_counts_are_np_histogram(edges: list[float]) -> None:
    xs = np.sort(np.array([0.0, 0.0, 1.0, 1.0, 1.0, 1.5, 2.0, 2.0, 3.0, 3.0]))
    e = np.asarray(edges)
    assert sorted_histogram_counts(xs, e).tolist() == np.histogram(xs, bins=e)[0].tolist()


@pytest.mark.parametrize("case", ["normal", "ties: dice", "ties: mostly zero", "ties: rounded", "integers", "constant"])
def test_windows_fold_the_reference_into_the_reference_counts(case: str) -> None:
    """Current data folded on the reference's edges (windows.sorted_histogram) bins like the profile."""
    values = NUMERIC_CASES[case]
    reference = numeric_profile(pd.Series(values))
    window = fold_numeric(values, reference)
    assert window["counts"] == [0, *reference["counts"], 0]
    assert window["fine"] == [0, *reference["fine"]["counts"], 0]
    xs = np.sort(values[np.isfinite(values)])
    assert sorted_histogram(xs, reference["edges"])[1:-1] == reference["counts"]


def test_profile_json_keys_are_unchanged() -> None:
    profile = numeric_profile(pd.Series(NUMERIC_CASES["normal"]))
    assert list(profile) == ["kind", "count", "nulls", "mean", "std", "min", "max", "quantiles", "edges", "counts",
                             "fine"]
    assert list(profile["quantiles"]) == ["p5", "p25", "p50", "p75", "p95"]
    assert list(profile["fine"]) == ["edges", "counts", "positions", "halved"]
    assert all(type(e) is float for e in profile["edges"] + profile["fine"]["edges"])
    assert all(type(c) is int for c in profile["counts"] + profile["fine"]["counts"] + profile["fine"]["positions"])
    assert len(profile["edges"]) == 11 and sum(profile["counts"]) == profile["count"]


# -- categories ----------------------------------------------------------------------------------

def _categorical_cases() -> dict[str, pd.Series]:
    rng = np.random.default_rng(7)
    letters = rng.choice(list("abcdefg"), 20_000, p=[0.3, 0.2, 0.15, 0.15, 0.1, 0.05, 0.05])
    with_nulls = letters.astype(object)
    with_nulls[rng.random(letters.size) < 0.1] = None
    with_nulls[rng.random(letters.size) < 0.02] = np.nan
    with_nulls[rng.random(letters.size) < 0.01] = pd.NA
    codes = rng.integers(-1, 5, 20_000)  # -1: null
    many = np.array([f"v{i}" for i in range(260)], dtype=object)
    tied = np.concatenate([np.repeat(many, 3), many[rng.permutation(many.size)[:40]]])
    return {
        "object strings": pd.Series(letters.astype(object)),
        "object strings with nulls": pd.Series(with_nulls),
        "object ties, first appearance decides": pd.Series(list("dcbaabcdxx"), dtype=object),
        "str dtype": pd.Series(list(letters[:1000]) + [None]),
        "categorical": pd.Series(pd.Categorical(letters)),
        "categorical, unused categories in another order": pd.Series(
            pd.Categorical(letters, categories=list("zgfedcbay"))),
        "categorical with nulls": pd.Series(pd.Categorical.from_codes(codes, categories=list("qrstuvw"))),
        "categorical ties": pd.Series(pd.Categorical(list("dcbaabcd"), categories=list("abcd"))),
        "categorical ordered": pd.Series(pd.Categorical(list("hmlmmh"), categories=list("lmh"), ordered=True)),
        "categorical, all null": pd.Series(pd.Categorical([None, None], categories=["a", "b"])),
        "categorical, empty": pd.Series(pd.Categorical([], categories=["a"])),
        "categorical, more than MAX_CATEGORIES with ties at the cut": pd.Series(
            pd.Categorical(tied[rng.permutation(tied.size)])),
        "object, more than MAX_CATEGORIES with ties at the cut": pd.Series(tied[::-1].copy()),
        "categorical of integers": pd.Series(pd.Categorical([3, 1, 2, 2, 3, 3])),
        "categorical of floats": pd.Series(pd.Categorical([0.1, 2.0, 2.0, np.nan, 1e20])),
        "categorical of dates": pd.Series(pd.Categorical(pd.to_datetime(["2024-01-02", "2024-01-01", "2024-01-02"]))),
        "categorical whose categories print alike": pd.Series(
            pd.Categorical([1, "1", 1, "x"], categories=[1, "1", "x"])),
        "object, mixed types": pd.Series([1, 1.0, True, "1", "True", None, 2], dtype=object),
        "object, empty": pd.Series([], dtype=object),
        "object, all null": pd.Series([None, np.nan], dtype=object),
        "booleans": pd.Series([True, False, True]),
        "integers as categories": pd.Series([10, 20, 10, 30]),
    }


CATEGORICAL_CASES = _categorical_cases()


@pytest.mark.parametrize("case", CATEGORICAL_CASES)
def test_categorical_profile_is_the_astype_str_profile(case: str) -> None:
    values = CATEGORICAL_CASES[case]
    same(categorical_profile(values), direct_categorical_profile(values))


def test_dictionary_encoded_read_profiles_like_its_text() -> None:
    """A Parquet read with read_dictionary (ingest.read_file) comes to pandas as a Categorical."""
    rng = np.random.default_rng(11)
    text = [None if rng.random() < 0.05 else f"c_{rng.integers(0, 9)}" for _ in range(5_000)]
    frame = pa.table({"c": pa.array(text, type=pa.string()).dictionary_encode()}).to_pandas()
    assert isinstance(frame["c"].dtype, pd.CategoricalDtype)
    profile = categorical_profile(frame["c"])
    same(profile, direct_categorical_profile(frame["c"]))
    same(profile, direct_categorical_profile(pd.Series(text, dtype=object)))


def test_categorical_counts_only_the_categories_that_occur() -> None:
    values = pd.Series(pd.Categorical(["b", "b", None, "a"], categories=["a", "b", "never"]))
    profile = categorical_profile(values)
    assert profile["value_counts"] == {"b": 2, "a": 1}
    assert (profile["count"], profile["nulls"], profile["distinct"]) == (3, 1, 2)


def test_build_profile_of_a_mixed_frame_is_unchanged() -> None:
    rng = np.random.default_rng(5)
    n = 5_000
    frame = pd.DataFrame({
        "x": rng.normal(size=n),
        "k": rng.integers(0, 4, n),
        "c": pd.Categorical(rng.choice(["u", "v", "w"], n)),
        "s": rng.choice(["p", "q"], n).astype(object),
    })
    schema = profiles.feature_schema(frame)
    target = pd.Series(rng.integers(0, 2, n))
    profile = profiles.build_profile(frame, schema, target=target, target_kind=CATEGORICAL)
    assert [f["kind"] for f in schema] == [NUMERIC, CATEGORICAL, CATEGORICAL, CATEGORICAL]  # k: 4 integer codes
    for f in schema:
        if f["kind"] == NUMERIC:
            same_numeric(profile["features"][f["name"]], direct_numeric_profile(frame[f["name"]]))
        else:
            same(profile["features"][f["name"]], direct_categorical_profile(frame[f["name"]]))
    same(profile["target"], direct_categorical_profile(target))


def _window_cases() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, reference values, current values) where single-precision sorting could miscount."""
    rng = np.random.default_rng(7)
    ref = rng.normal(0.0, 1.0, 5_000)
    edges = np.array([*numeric_profile(pd.Series(ref))["edges"], *numeric_profile(pd.Series(ref))["fine"]["edges"]])
    pick = rng.choice(edges, 6)
    near_edges = np.concatenate([rng.normal(0.0, 1.0, 20_000), pick, np.nextafter(pick, np.inf),
                                 np.nextafter(pick, -np.inf)])  # ties with edges in float32, not in float64
    rng.shuffle(near_edges)
    cases = [("near edges", ref, near_edges),
             ("on every edge", ref, np.concatenate([rng.normal(0.0, 1.0, 20_000), edges])),
             ("shifted", ref, rng.normal(3.0, 2.0, 20_000)),
             ("beyond float32", ref, np.concatenate([rng.normal(0.0, 1.0, 1_000), [1e39, -1e39, 3e38]]))]
    for name in ("normal", "nan and inf", "ties: dice", "ties: rounded", "integers", "heavy tails", "constant"):
        values = NUMERIC_CASES[name]
        cases.append((name, values, rng.permutation(values)))
    big = rng.normal(1e9, 1e-3, 5_000)  # edges closer than float32 can tell apart
    cases.append(("close edges", big, rng.normal(1e9, 1e-3, 20_000)))
    return cases


@pytest.mark.parametrize("piece", [1 << 17, 1_000], ids=["whole windows", "in pieces"])
@pytest.mark.parametrize("case", _window_cases(), ids=lambda c: c[0])
def test_windowed_fold_counts_exactly_what_sorting_in_double_counts(case: tuple[str, np.ndarray, np.ndarray],
                                                                    piece: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """fold_numeric_windows (float32 sort, ties settled in double; big windows a piece at a time) bins
    every window as fold_numeric."""
    monkeypatch.setattr("fuseboard.monitoring.windows.PIECE", piece)
    _, reference_values, current = case
    reference = numeric_profile(pd.Series(reference_values))
    cut = current.size // 3
    windows_idx = [slice(0, cut), slice(cut, current.size), np.arange(0, current.size, 2)]
    for idx, got in zip(windows_idx, fold_numeric_windows(current, windows_idx, reference)):
        want = fold_numeric(current[idx], reference)
        for key in ("count", "nulls", "counts", "fine", "min", "max"):
            assert got[key] == want[key], key
        big = np.isfinite(current[idx]).any() and np.abs(current[idx][np.isfinite(current[idx])]).max() > 1e30
        if not big:  # sums of values ~1e39 with small ones depend on the order they are added in
            for key in ("mean", "m2"):
                assert got[key] == pytest.approx(want[key], rel=1e-9, abs=1e-9), key
            assert got["tails"] == pytest.approx(want["tails"], rel=1e-9, abs=1e-9)


def test_windowed_fold_with_histograms_of_different_tops() -> None:
    """Coarse and fine edges normally share their ends; hand-made ones that do not are binned apart."""
    rng = np.random.default_rng(8)
    reference = numeric_profile(pd.Series(rng.normal(0.0, 1.0, 5_000)))
    reference["fine"] = {**reference["fine"], "edges": reference["fine"]["edges"][:-3]}  # a lower top
    current = rng.normal(0.5, 1.0, 6_000)
    windows_idx = [slice(0, 2_000), slice(2_000, 6_000)]
    for idx, got in zip(windows_idx, fold_numeric_windows(current, windows_idx, reference)):
        want = fold_numeric(current[idx], reference)
        assert (got["counts"], got["fine"]) == (want["counts"], want["fine"])


def test_a_window_in_pieces_whose_squares_overflow_together_saturates(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each piece's sum of squares is finite, the window's is not: saturated at float max as fold_numeric
    does (an infinity would be stored as JSON null and break the variance)."""
    monkeypatch.setattr("fuseboard.monitoring.windows.PIECE", 1_000)
    big = 2.76e151
    x = np.tile([big, -big], 150_000)  # 300,000 squares of 7.6e302: past float max only all together
    reference = {"edges": [-1.0, 0.0, 1.0]}
    got = fold_numeric_windows(x, [slice(0, x.size)], reference)[0]
    assert got == fold_numeric(x, reference) and np.isfinite(got["m2"])
