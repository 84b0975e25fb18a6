"""A value holding a large share of the reference (the zeros of a zero-inflated amount) gets a bin of
its own, in the deciles and in the fine bins: when 90% of the reference is 0 and the non-zero share
nearly doubles, PSI, KS and Wasserstein see it (PSI was 0.0000: every decile edge was 0), and a
window drawn from the reference's own distribution stays quiet. Old references still work."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency, ks_2samp, wasserstein_distance

from fuseboard.monitoring import drift
from fuseboard.monitoring.profiles import numeric_profile
from fuseboard.monitoring.window_merge import merge_all
from fuseboard.monitoring.windows import fold_numeric, fold_numeric_windows

METHODS = ("psi", "ks", "wasserstein", "chisquare", "jensenshannon")


def zero_inflated(rng: np.random.Generator, n: int, nonzero: float) -> np.ndarray:
    values = rng.lognormal(3.0, 1.0, n).round(2)  # amounts: cents
    values[rng.random(n) >= nonzero] = 0.0
    return values


@pytest.fixture(scope="module")
def reference_values() -> np.ndarray:
    return zero_inflated(np.random.default_rng(2016), 20_000, 0.10)


def raw_psi(reference: np.ndarray, current: np.ndarray, edges: list[float]) -> float:
    """PSI on the raw rows over the same bins, open at both ends, half a count added to every bin that
    either sample fills (numpy)."""
    inner = np.asarray(edges[1:-1])
    p = np.bincount(np.searchsorted(inner, reference, side="right"), minlength=inner.size + 1).astype(float)
    q = np.bincount(np.searchsorted(inner, current, side="right"), minlength=inner.size + 1).astype(float)
    kept = (p + q) > 0
    p, q = p[kept] + 0.5, q[kept] + 0.5
    p, q = p / p.sum(), q / q.sum()
    return float(np.sum((q - p) * np.log(q / p)))


def test_a_point_mass_has_a_bin_holding_exactly_it() -> None:
    rng = np.random.default_rng(3)
    values = np.concatenate([np.zeros(900), rng.normal(5.0, 1.0, 1_000), np.full(300, 9.75), np.full(200, 12.0)])
    profile = numeric_profile(pd.Series(values))
    for edges, counts in ((profile["edges"], profile["counts"]), (profile["fine"]["edges"], profile["fine"]["counts"])):
        assert counts == np.histogram(values, bins=edges)[0].tolist()  # numpy's conventions: [a, b), last closed
        for point, held in ((0.0, 900), (9.75, 300), (12.0, 200)):
            i = edges.index(point)
            assert counts[i] == held  # the bin starting at the point holds exactly its values
            inside = values[(values >= edges[i]) & ((values < edges[i + 1]) if i + 2 < len(edges) else True)]
            assert np.all(inside == point)
        assert min(counts) > 0 or edges is profile["fine"]["edges"]  # deciles: no bin the reference left empty
    assert profile["edges"][-1] == np.nextafter(12.0, np.inf)  # the top point's bin is [12, 12+), closed


def test_the_nonzero_share_nearly_doubling_is_seen(reference_values: np.ndarray) -> None:
    reference = numeric_profile(pd.Series(reference_values))
    current = zero_inflated(np.random.default_rng(7), 2_000, 0.19)
    window = fold_numeric(current, reference)
    scores = {m: drift.feature_drift("amount", reference, window, m) for m in METHODS}

    ks_raw = ks_2samp(reference_values, current)
    assert ks_raw.pvalue < 1e-4  # the shift, on the raw rows
    assert scores["ks"].drifted and scores["ks"].statistic == pytest.approx(ks_raw.statistic, abs=1e-3)
    assert scores["ks"].score < 1e-4
    exact = wasserstein_distance(reference_values, current) / reference["std"]
    assert scores["wasserstein"].drifted and scores["wasserstein"].score == pytest.approx(exact, rel=0.05)
    # PSI: was 0.0 (one bin); now the zeros' bin and the rest's deciles, as numpy bins the raw rows
    assert scores["psi"].score > 0.05
    assert scores["psi"].score == pytest.approx(raw_psi(reference_values, current, reference["edges"]), rel=1e-9)
    assert reference["edges"][:2] == [0.0, 5e-324]  # the zeros' own bin
    zeros = [[int((reference_values == 0).sum()), int((current == 0).sum())],
             [int((reference_values != 0).sum()), int((current != 0).sum())]]
    assert chi2_contingency(zeros, correction=False)[1] < 1e-6
    assert scores["chisquare"].drifted


@pytest.mark.parametrize("rows", [500, 2_000])
def test_a_window_from_the_same_distribution_stays_quiet(reference_values: np.ndarray, rows: int) -> None:
    """PSI, KS and Wasserstein (chi-square, a p-value, alarms on 5% of such windows by design;
    Jensen-Shannon over a hundred percentile bins is as noisy on 500 rows as for any continuous column)."""
    reference = numeric_profile(pd.Series(reference_values))
    current = zero_inflated(np.random.default_rng(rows), rows, 0.10)
    window = fold_numeric(current, reference)
    for method in ("psi", "ks", "wasserstein"):
        verdict = drift.feature_drift("amount", reference, window, method)
        assert not verdict.drifted, verdict
    assert ks_2samp(reference_values, current).pvalue > 0.05  # the raw rows agree
    assert drift.feature_drift("amount", reference, window, "psi").score < 0.05


def test_no_shift_windows_rarely_alarm(reference_values: np.ndarray) -> None:
    """Over 100 seeded no-shift windows of 2,000 rows, PSI and KS never drift and Wasserstein at most twice."""
    reference = numeric_profile(pd.Series(reference_values))
    alarms = {"psi": 0, "ks": 0, "wasserstein": 0}
    for seed in range(100):
        window = fold_numeric(zero_inflated(np.random.default_rng(1_000 + seed), 2_000, 0.10), reference)
        for method in alarms:
            alarms[method] += drift.feature_drift("amount", reference, window, method).drifted
    assert alarms["psi"] == alarms["ks"] == 0 and alarms["wasserstein"] <= 2, alarms


def test_windows_folded_in_single_precision_bin_and_place_values_as_in_double(reference_values: np.ndarray) -> None:
    reference = numeric_profile(pd.Series(reference_values))
    current = zero_inflated(np.random.default_rng(8), 30_000, 0.15)
    idx = [slice(0, 10_000), slice(10_000, 30_000), np.arange(0, 30_000, 3)]
    for i, got in zip(idx, fold_numeric_windows(current, idx, reference)):
        want = fold_numeric(current[i], reference)
        assert (got["counts"], got["fine"]) == (want["counts"], want["fine"])
        assert max(abs(a - b) for a, b in zip(got["fine_positions"], want["fine_positions"])) <= 1


def test_old_references_and_windows_still_work(reference_values: np.ndarray) -> None:
    """A reference stored before point masses and positions (plain quantile edges, no positions) folds and
    scores as before; a window without positions merged with one with them drops them."""
    edges = np.unique(np.quantile(reference_values, np.linspace(0, 1, 11)))
    fine = np.unique(np.quantile(reference_values, np.linspace(0, 1, 101)))
    old = {**numeric_profile(pd.Series(reference_values)), "edges": edges.tolist(),
           "counts": np.histogram(reference_values, bins=edges)[0].tolist(),
           "fine": {"edges": fine.tolist(), "counts": np.histogram(reference_values, bins=fine)[0].tolist()}}
    current = zero_inflated(np.random.default_rng(9), 2_000, 0.19)
    window = fold_numeric(current, old)
    assert "fine_positions" not in window and len(window["counts"]) == len(edges) + 1
    for method in METHODS:
        drift.feature_drift("amount", old, window, method)  # no error
    assert drift.feature_drift("amount", old, window, "psi").score == pytest.approx(0.0, abs=1e-12)

    new = numeric_profile(pd.Series(reference_values))
    with_positions = fold_numeric(current, new)
    without = {k: v for k, v in fold_numeric(current[:500], new).items() if k != "fine_positions"}
    merged = merge_all([with_positions, without])
    assert "fine_positions" not in merged
    assert drift.feature_drift("amount", new, merged, "wasserstein").score > 0


def test_the_console_labels_a_point_mass_bin_by_its_value() -> None:
    """The histogram's rows: a point's bin reads ``= 0``, not ``0 to 4.94e-324``."""
    import numpy as np
    import pandas as pd

    from fuseboard.monitoring import profiles, windows
    from fuseboard.tui.screens.deployment import _bins

    rng = np.random.default_rng(3)
    values = np.where(rng.random(5000) < 0.9, 0.0, rng.exponential(5.0, 5000))
    reference = profiles.numeric_profile(pd.Series(values))
    labels = [label for label, _, _ in _bins(reference, windows.fold_numeric(values[:500], reference))]
    assert "= 0" in labels and not any("e-324" in label for label in labels)
