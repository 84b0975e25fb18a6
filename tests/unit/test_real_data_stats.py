"""fuseboard's drift statistics on real data agree with scipy on the raw rows.

The data ship inside installed packages (``vega_datasets``' Seattle weather and cars, scikit-learn's
breast cancer and diabetes sets; tests/support/real_data.py): reference profiles are built as
registration builds them, windows folded on their bins, and each statistic compared with scipy on
the rows themselves, in every real window and in no-shift controls of 500 and 2,000 rows. What is
asserted holds however the bins are laid out: chi-square and Jensen-Shannon exact on categories,
KS and Wasserstein within what the bins can resolve (a rigorous bound, computed from the rows),
PSI zero on identical data and past its critical level on a real feature moved by two standard
deviations.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon as scipy_js

from fuseboard.monitoring import drift, ingest, profiles, windows
from tests.support import real_data

FEW = 5  # numbers with at most this many distinct values: compared as categories by scipy's test


def _prepared(real: real_data.RealSet) -> tuple[dict[str, str], dict]:
    frame = real.reference[list(real.features)]
    schema = profiles.feature_schema(frame)
    return {f["name"]: f["kind"] for f in schema}, profiles.build_profile(frame, schema)


def _fold(values: pd.Series, reference: dict) -> dict:
    """The window profile ingest folds from these rows: each column converted as ingest converts it
    (``_feature``: floats, or text as codes) and folded by the same functions ``fold_windows`` uses."""
    import pyarrow as pa

    table = pa.table({"x": pa.array(values.to_numpy(), from_pandas=True)})
    column = ingest._feature(table, "x", reference["kind"], "rows")
    whole = [slice(0, len(values))]
    if reference["kind"] == "numeric":
        return windows.fold_numeric_windows(column, whole, reference)[0]
    return ingest._fold_encoded_windows(column, whole, reference)[0]


def _all_windows(real: real_data.RealSet) -> list[tuple[str, pd.DataFrame]]:
    return [*real.windows, *((f"control {n}", w) for n, w in real_data.controls(real.reference, seed=1).items())]


def _cases(kind: str) -> list[tuple[str, str, str, pd.Series, pd.Series, dict, dict]]:
    """(set, window, feature, reference rows, window rows, reference profile, window profile) of every
    feature of ``kind`` as registration infers it, in every window of every set."""
    out = []
    for make in real_data.SETS:
        real = make()
        kinds, profile = _prepared(real)
        for label, frame in _all_windows(real):
            for name in real.features:
                if kinds[name] == kind:
                    ref = profile["features"][name]
                    out.append((real.name, label, name, real.reference[name], frame[name], ref,
                                _fold(frame[name], ref)))
    return out


def _closed_bin_shares(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The share of ``x`` in each closed bin [e_i, e_i+1] (a value on an edge counts in both neighbours)."""
    xs = np.sort(x)
    inside = np.searchsorted(xs, edges[1:], side="right") - np.searchsorted(xs, edges[:-1], side="left")
    return inside / xs.size


def _fine_edges(reference: dict) -> np.ndarray:
    return np.asarray((reference.get("fine") or {}).get("edges") or reference["edges"], dtype="float64")


def test_chisquare_is_scipys_chi2_contingency_on_the_raw_counts() -> None:
    checked, wrong = 0, []
    for set_name, label, name, ref_rows, cur_rows, ref, cur in _cases("categorical"):
        result = drift.feature_drift(name, ref, cur, "chisquare")
        keys = sorted(set(ref_rows.dropna().astype(str)) | set(cur_rows.dropna().astype(str)))
        table = np.array([[(ref_rows.astype(str) == k).sum() for k in keys],
                          [(cur_rows.astype(str) == k).sum() for k in keys]])
        chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
        if not (result.statistic == pytest.approx(chi2, rel=1e-9) and result.score == pytest.approx(p, rel=1e-9,
                                                                                                    abs=1e-300)):
            wrong.append((set_name, label, name, result.statistic, chi2, result.score, p))
        checked += 1
    assert checked >= 10  # Seattle's weather in its 8 quarters and 2 controls, at least
    assert wrong == []


def test_jensen_shannon_is_scipys_on_the_raw_counts() -> None:
    checked, wrong = 0, []
    for set_name, label, name, ref_rows, cur_rows, ref, cur in _cases("categorical"):
        keys = sorted(set(ref_rows.dropna().astype(str)) | set(cur_rows.dropna().astype(str)))
        p = [(ref_rows.astype(str) == k).sum() for k in keys]
        q = [(cur_rows.astype(str) == k).sum() for k in keys]
        result = drift.feature_drift(name, ref, cur, "jensenshannon")
        if result.score != pytest.approx(float(scipy_js(p, q)), abs=1e-9):
            wrong.append((set_name, label, name, result.score, float(scipy_js(p, q))))
        checked += 1
    assert checked >= 10
    assert wrong == []


def test_ks_statistic_is_within_the_bins_resolution_of_ks_2samp() -> None:
    """Read at the bin edges, the gap between the two distributions can miss the exact one only by
    the mass of one bin: |D - D_exact| <= max over bins of the larger share of the two samples."""
    checked, wrong = 0, []
    for set_name, label, name, ref_rows, cur_rows, ref, cur in _cases("numeric"):
        x, y = ref_rows.dropna().to_numpy(float), cur_rows.dropna().to_numpy(float)
        result = drift.feature_drift(name, ref, cur, "ks")
        exact = stats.ks_2samp(x, y).statistic
        edges = _fine_edges(ref)
        resolution = float(np.max(np.maximum(_closed_bin_shares(x, edges), _closed_bin_shares(y, edges))))
        if abs(result.statistic - exact) > resolution + 1e-9:
            wrong.append((set_name, label, name, result.statistic, exact, resolution))
        checked += 1
    assert checked >= 100
    assert wrong == []


def test_ks_verdicts_match_scipy_where_the_exact_p_value_is_clear() -> None:
    """On continuous features (more than five values), wherever scipy's exact p-value is below 0.01 or
    above 0.2, fuseboard's KS says the same: drifted, or not."""
    checked, wrong = 0, []
    for set_name, label, name, ref_rows, cur_rows, ref, cur in _cases("numeric"):
        x, y = ref_rows.dropna().to_numpy(float), cur_rows.dropna().to_numpy(float)
        if np.unique(np.concatenate([x, y])).size <= FEW:
            continue
        p = stats.ks_2samp(x, y).pvalue
        if 0.01 <= p <= 0.2:
            continue
        result = drift.feature_drift(name, ref, cur, "ks")
        if result.drifted != (p < 0.05):
            wrong.append((set_name, label, name, result.score, p))
        checked += 1
    assert checked >= 100
    assert wrong == []


def test_wasserstein_is_within_the_bins_resolution_of_scipys_exact_distance() -> None:
    """Within a bin each distribution's share can sit anywhere, so the area between them can differ
    from the exact one by at most sum over bins of width x the larger share; beyond the reference's
    range the area is exact. Finer bins or an exact computation only come closer (5% of the exact
    distance is allowed too: the issue's bound for a sketch)."""
    checked, wrong = 0, []
    for set_name, label, name, ref_rows, cur_rows, ref, cur in _cases("numeric"):
        x, y = ref_rows.dropna().to_numpy(float), cur_rows.dropna().to_numpy(float)
        if not ref["std"]:
            continue
        result = drift.feature_drift(name, ref, cur, "wasserstein")
        distance = result.score * ref["std"]
        exact = stats.wasserstein_distance(x, y)
        edges = _fine_edges(ref)
        bound = float(np.sum(np.diff(edges) * np.maximum(_closed_bin_shares(x, edges), _closed_bin_shares(y, edges))))
        if abs(distance - exact) > max(bound, 0.05 * exact) + 1e-9:
            wrong.append((set_name, label, name, distance, exact, bound))
        checked += 1
    assert checked >= 100
    assert wrong == []


def test_psi_is_zero_on_identical_data_and_never_negative() -> None:
    for make in real_data.SETS:
        real = make()
        _, profile = _prepared(real)
        for name in real.features:
            ref = profile["features"][name]
            same = drift.feature_drift(name, ref, _fold(real.reference[name], ref), "psi")
            assert same.score == pytest.approx(0.0, abs=1e-9), (real.name, name)
            for label, frame in _all_windows(real):
                assert drift.feature_drift(name, ref, _fold(frame[name], ref), "psi").score >= 0, (real.name, label)


def test_psi_is_critical_when_a_real_feature_moves_by_two_standard_deviations() -> None:
    checked = 0
    for make in real_data.SETS:
        real = make()
        kinds, profile = _prepared(real)
        for name in real.features:
            ref = profile["features"][name]
            if kinds[name] != "numeric" or real.reference[name].nunique() <= FEW:
                continue
            moved = real.reference[name] + 2 * ref["std"]
            result = drift.feature_drift(name, ref, _fold(moved, ref), "psi")
            assert result.drifted and result.severity == "crit", (real.name, name, result.score)
            checked += 1
    assert checked >= 40


def test_wasserstein_is_within_5_percent_of_exact_on_real_data() -> None:
    """The issue's bound, on every numeric feature of the real windows, the controls, and the references
    moved by 0.1 and 0.5 standard deviations (exactly 0.1 and 0.5 apart). Today's histograms miss it:
    Seattle's 0/1 ``rained`` flag reads half its distance in every window, ``temp_min`` moved by 0.1
    std reads 0.049 (a verdict at the 0.1 threshold flips), cars' ``Acceleration`` in 1977-78 0.762
    against 0.803."""
    wrong = []
    for set_name, label, name, ref_rows, cur_rows, ref, cur in _cases("numeric"):
        if not ref["std"]:
            continue
        x, y = ref_rows.dropna().to_numpy(float), cur_rows.dropna().to_numpy(float)
        pairs = [(label, y)] + [(f"reference + {k} std", x + k * ref["std"]) for k in (0.1, 0.5)
                                if label.startswith("control 500")]
        for what, values in pairs:
            window = _fold(pd.Series(values), ref)
            distance = drift.feature_drift(name, ref, window, "wasserstein").score * ref["std"]
            exact = stats.wasserstein_distance(x, values)
            if abs(distance - exact) > 0.05 * exact + 1e-12:
                wrong.append((set_name, what, name, round(distance, 4), round(exact, 4)))
    assert wrong == []
