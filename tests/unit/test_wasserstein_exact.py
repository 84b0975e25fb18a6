"""The Wasserstein check is within 5% of scipy.stats.wasserstein_distance on the raw rows, at every
window size, shifted or not, on normal, skewed and zero-inflated data (it spread each bin's mass
evenly across the bin: 17.5% off on a 500-row lognormal window, 28% on a 200,000-row Pareto one);
merged windows keep it, and old profiles and windows still get the even-spread figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import wasserstein_distance

from fuseboard.monitoring import drift
from fuseboard.monitoring.drift.bins import aligned, tail_area
from fuseboard.monitoring.drift.methods.wasserstein import wasserstein
from fuseboard.monitoring.profiles import numeric_profile
from fuseboard.monitoring.window_merge import merge_all
from fuseboard.monitoring.windows import fold_numeric, fold_numeric_windows

SIZES = (30, 100, 500, 2_000, 20_000, 200_000)
KINDS = ("normal", "lognormal", "zero-inflated", "pareto", "rounded")


def sample(rng: np.random.Generator, kind: str, n: int, shifted: bool) -> np.ndarray:
    if kind == "normal":
        return rng.normal(0.3 if shifted else 0.0, 1.0, n)
    if kind == "lognormal":
        return rng.lognormal(0.3 if shifted else 0.0, 1.0, n)
    if kind == "zero-inflated":  # 10% non-zero; shifted: 19%
        values = rng.lognormal(0.0, 1.0, n)
        values[rng.random(n) >= (0.19 if shifted else 0.10)] = 0.0
        return values
    if kind == "pareto":
        return rng.pareto(2.5, n) * (1.3 if shifted else 1.0)
    return np.round(rng.normal(0.3 if shifted else 0.0, 1.0, n) * 2) / 2  # rounded to halves


@pytest.fixture(scope="module")
def references() -> dict[str, tuple[np.ndarray, dict]]:
    out = {}
    for i, kind in enumerate(KINDS):
        values = sample(np.random.default_rng(160 + i), kind, 20_000, False)
        out[kind] = (values, numeric_profile(pd.Series(values)))
    return out


@pytest.mark.parametrize("shifted", [False, True], ids=["no shift", "shifted"])
@pytest.mark.parametrize("kind", KINDS)
def test_within_five_percent_of_exact_at_every_window_size(references: dict, kind: str, shifted: bool) -> None:
    raw, reference = references[kind]
    rng = np.random.default_rng(1_000 + 2 * KINDS.index(kind) + shifted)
    errors = {}
    for n in SIZES:
        current = sample(rng, kind, n, shifted)
        window = fold_numeric_windows(current, [slice(0, n)], reference)[0]
        got = drift.feature_drift(kind, reference, window, "wasserstein").score
        exact = wasserstein_distance(raw, current) / reference["std"]
        errors[n] = got / exact - 1
    assert max(abs(e) for e in errors.values()) < 0.05, errors


def test_merged_windows_keep_the_positions_and_the_accuracy(references: dict) -> None:
    raw, reference = references["lognormal"]
    current = sample(np.random.default_rng(5), "lognormal", 60_000, True)
    merged = merge_all(fold_numeric_windows(current, [slice(i * 5_000, (i + 1) * 5_000) for i in range(12)],
                                            reference))
    whole = fold_numeric(current, reference)
    assert merged["fine"] == whole["fine"]
    # each window's positions are rounded once: the sum is within half a unit per window of the whole's
    assert max(abs(a - b) for a, b in zip(merged["fine_positions"], whole["fine_positions"])) <= 6
    exact = wasserstein_distance(raw, current) / reference["std"]
    assert drift.feature_drift("x", reference, merged, "wasserstein").score == pytest.approx(exact, rel=0.01)


def test_without_positions_the_mass_is_spread_evenly_as_before(references: dict) -> None:
    raw, reference = references["normal"]
    current = sample(np.random.default_rng(6), "normal", 500, True)
    window = fold_numeric(current, reference)
    old_window = {k: v for k, v in window.items() if k != "fine_positions"}
    old_reference = {**reference, "fine": {k: v for k, v in reference["fine"].items() if k != "positions"}}
    for ref, cur in ((reference, old_window), (old_reference, window)):
        counts, current_counts, edges = aligned(ref, cur)
        spread = (wasserstein(edges, counts, current_counts) + tail_area(ref, cur)) / ref["std"]
        assert drift.feature_drift("x", ref, cur, "wasserstein").score == pytest.approx(spread, rel=1e-12)


def test_one_value_per_bin_is_placed_exactly() -> None:
    """With positions, a bin's single value sits where it is: three values against a reference of
    three, each alone in its bin, give the exact distance."""
    from fuseboard.monitoring.drift.methods.wasserstein import wasserstein_positions

    edges = [0.0, 1.0, 2.0, 3.0]
    reference, reference_positions = [1, 1, 1], [5, 5, 5]  # at 0.5, 1.5, 2.5
    current, current_positions = [0, 1, 1, 1, 0], [9, 2, 0]  # at 0.9, 1.2, 2.0
    got = wasserstein_positions(edges, reference, reference_positions, current, current_positions)
    assert got == pytest.approx(wasserstein_distance([0.5, 1.5, 2.5], [0.9, 1.2, 2.0]))
    with pytest.raises(ValueError):
        wasserstein_positions(edges, reference, reference_positions, current[:-1], current_positions)


@pytest.mark.parametrize("piece", [1 << 17, 1_000], ids=["whole windows", "in pieces"])
@pytest.mark.parametrize("kind", KINDS)
def test_single_precision_folds_place_values_as_double_precision_does(references: dict, kind: str, piece: int,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """fold_numeric_windows reads positions from values sorted in float32: within one unit per bin of
    fold_numeric's, which sorts in double."""
    monkeypatch.setattr("fuseboard.monitoring.windows.PIECE", piece)
    _, reference = references[kind]
    current = sample(np.random.default_rng(7), kind, 9_000, True)
    idx = [slice(0, 3_000), slice(3_000, 9_000), np.arange(0, 9_000, 2)]
    for i, got in zip(idx, fold_numeric_windows(current, idx, reference)):
        want = fold_numeric(current[i], reference)
        assert got["fine"] == want["fine"]
        assert max(abs(a - b) for a, b in zip(got["fine_positions"], want["fine_positions"])) <= 1


def _bin_by_bin(edges, reference, reference_positions, current, current_positions) -> float:  # noqa: ANN001
    """The area as it was first written, bin by bin in Python: the oracle for the arrays."""
    m, n = float(sum(reference)), float(sum(current))
    area, gap = 0.0, current[0] / n
    for i in range(len(edges) - 1):
        width = edges[i + 1] - edges[i]
        c, r = current[i + 1], reference[i]
        d0, d1 = gap, gap + c / n - r / m
        gap = d1
        if not width > 0:
            continue
        integral = width * (d0 + (c - current_positions[i] / 10) / n - (r - reference_positions[i] / 10) / m)
        if d0 * d1 >= 0:
            area += abs(integral)
        else:
            t = min(max((integral - d1 * width) / (d0 - d1), 0.0), width)
            area += abs(d0) * t + abs(d1) * (width - t)
    return area


def test_the_arrays_give_the_bin_by_bin_area() -> None:
    """Seeded histograms with empty bins, bins of no width, crossings and tails: the area computed as
    arrays is the bin-by-bin one, bit for bit (the same operations in the same order)."""
    import numpy as np

    from fuseboard.monitoring.drift.methods.wasserstein import wasserstein_positions

    rng = np.random.default_rng(19)
    for case in range(300):
        k = int(rng.integers(1, 160))
        edges = np.sort(rng.normal(size=k + 1)).tolist()
        if case % 3 == 0 and k > 2:
            edges[k // 2] = edges[k // 2 + 1]  # a bin of no width
        reference = rng.poisson(rng.uniform(0, 40), size=k).tolist()
        reference[0] += 1  # some values
        current = rng.poisson(rng.uniform(0, 40), size=k + 2).tolist()
        current[1] += 1
        positions = [int(rng.integers(0, 10 * v + 1)) for v in reference]
        current_positions = [int(rng.integers(0, 10 * v + 1)) for v in current[1:-1]]
        got = wasserstein_positions(edges, reference, positions, current, current_positions)
        assert got == _bin_by_bin(edges, reference, positions, current, current_positions)  # bit for bit
