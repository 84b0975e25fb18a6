"""Integer codes are profiled as categories: a 0/1 flag whose rate moves is seen (it was PSI 0 forever,
in the single bin its two values shared), and category text is one text per value however the
column was read (1.0 from a column with a gap matches 1)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy.stats import chi2_contingency

from fuseboard.monitoring import drift, ingest, profiles
from fuseboard.monitoring.profiles import CATEGORICAL, NUMERIC, build_profile, categorical_profile, feature_schema
from fuseboard.monitoring.windows import fold_categorical, fold_numeric

# (the names added with integer codes are read from their modules in the tests that use them: the
# other tests run, and fail, on the code from before them)


def encoded_window(values: pa.Array, reference: dict) -> dict:
    """A column as ingest folds it: encoded from a pyarrow table, counted per window."""
    column = ingest._encode(pa.table({"c": values}), "c")
    return ingest._fold_encoded_windows(column, [slice(0, len(values))], reference)[0]


# -- which columns are integer codes -------------------------------------------------------------

def test_small_integer_codes_integral_floats_and_booleans_are_categorical() -> None:
    rng = np.random.default_rng(1)
    n = 1_000
    gappy = rng.integers(0, 3, n).astype("float64")
    gappy[::50] = np.nan  # read from a CSV with blanks: floats
    frame = pd.DataFrame({
        "flag": rng.integers(0, 2, n),
        "code": rng.integers(1, 8, n),
        "gappy": gappy,
        "yes": rng.random(n) < 0.3,
        "amount": rng.normal(100.0, 20.0, n),  # not integers
        "count": rng.integers(0, 400, n),  # integers, too many distinct values
        "halves": rng.integers(0, 4, n) / 2,  # few values, not all integers
    })
    schema = {f["name"]: f for f in feature_schema(frame)}
    assert {k: f["kind"] for k, f in schema.items()} == {
        "flag": CATEGORICAL, "code": CATEGORICAL, "gappy": CATEGORICAL, "yes": CATEGORICAL,
        "amount": NUMERIC, "count": NUMERIC, "halves": NUMERIC}
    assert {k: f.get("inferred") for k, f in schema.items() if "inferred" in f} == {
        "flag": "integer with 2 values", "code": "integer with 7 values", "gappy": "integer with 3 values",
        "yes": "boolean"}


def test_the_limits_of_the_rule() -> None:
    inferred, MAX_INTEGER_CATEGORIES = profiles.inferred, profiles.MAX_INTEGER_CATEGORIES
    at_limit = pd.Series(np.arange(200) % MAX_INTEGER_CATEGORIES)
    past_limit = pd.Series(np.arange(200) % (MAX_INTEGER_CATEGORIES + 1))
    assert inferred(at_limit) == (CATEGORICAL, f"integer with {MAX_INTEGER_CATEGORIES} values")
    assert inferred(past_limit) == (NUMERIC, None)
    # a handful of rows of a continuous integer column is not a set of codes: values must repeat
    assert inferred(pd.Series([31, 45, 52, 28, 60, 33])) == (NUMERIC, None)
    assert inferred(pd.Series([0, 1, 1, 0])) == (CATEGORICAL, "integer with 2 values")
    assert inferred(pd.Series([np.nan, np.nan])) == (NUMERIC, None)
    # past the first rows looked at, one more value or a fraction still counts
    late = np.zeros(30_000)
    late[-1] = 0.5
    assert inferred(pd.Series(late)) == (NUMERIC, None)
    many = np.arange(30_000) % 3
    many[-25:] = np.arange(100, 125)
    assert inferred(pd.Series(many)) == (NUMERIC, None)


def test_an_override_keeps_integer_codes_numeric_and_says_nothing() -> None:
    frame = pd.DataFrame({"flag": [0, 1, 1, 0] * 10, "yes": [True, False] * 20})
    schema = feature_schema(frame, {"flag": "numeric", "yes": "numeric"})
    assert schema == [{"name": "flag", "kind": NUMERIC, "dtype": "int64"},
                      {"name": "yes", "kind": NUMERIC, "dtype": "bool"}]


# -- one text per value --------------------------------------------------------------------------

@pytest.mark.parametrize("value, text", [(1, "1"), (1.0, "1"), (np.float64(-0.0), "0"), (np.int64(7), "7"),
                                         (0.5, "0.5"), (1e20, "1e+20"), (2.0 ** 62, str(2 ** 62)), (True, "True"),
                                         ("1.0", "1.0"), (np.float32(0.1), "0.1")])
def test_canonical_text(value: object, text: str) -> None:
    from fuseboard.monitoring.categories import canonical

    assert canonical(value) == text


def test_a_window_read_as_floats_matches_a_reference_read_as_integers_and_back() -> None:
    """pandas reads an integer column with a blank as floats (1.0); pyarrow reads it as integers with a
    null, JSON Lines with a fraction elsewhere as doubles: every way, "1" is "1"."""
    as_ints = categorical_profile(pd.Series([0, 1, 1, 2, 1]))
    as_floats = categorical_profile(pd.Series([0.0, 1.0, np.nan, 1.0, 2.0, 1.0]))
    assert as_ints["value_counts"] == {"1": 3, "0": 1, "2": 1}
    assert as_floats["value_counts"] == {"1": 3, "0": 1, "2": 1}
    for reference in (as_ints, as_floats):
        for values in (pa.array([1, None, 2, 1], pa.int64()), pa.array([1.0, None, 2.0, 1.0]),
                       pa.array([1, 2, 1])):
            window = encoded_window(values, reference)
            assert window["value_counts"] == {"1": 2, "0": 0, "2": 1, "__unseen__": 0}, values
        mixed = encoded_window(pa.array([1.0, 2.5, 1.0]), reference)  # not all integers: still "1"
        assert mixed["value_counts"] == {"1": 2, "0": 0, "2": 0, "__unseen__": 1}
        assert mixed["unseen"] == {"2.5": 1}
        folded = fold_categorical(np.array([1.0, np.nan, 2.0, 1.0]), reference)
        assert folded["value_counts"] == {"1": 2, "0": 0, "2": 1, "__unseen__": 0} and folded["nulls"] == 1


# -- the proof: a flag whose rate moves ------------------------------------------------------------

def test_a_flag_whose_rate_moves_is_seen_as_drifted() -> None:
    rng = np.random.default_rng(16)
    reference_flag = (rng.random(5_000) < 0.20).astype("int64")
    current_flag = (rng.random(2_000) < 0.26).astype("float64")
    current_flag[rng.random(2_000) < 0.02] = np.nan  # the window read as floats because of a gap
    frame = pd.DataFrame({"flag": reference_flag})
    schema = feature_schema(frame)
    assert schema[0]["kind"] == CATEGORICAL
    reference = build_profile(frame, schema)["features"]["flag"]
    window = encoded_window(pa.array(current_flag, from_pandas=True), reference)

    present = current_flag[~np.isnan(current_flag)]
    table = [[int((reference_flag == v).sum()), int((present == v).sum())] for v in (1, 0)]
    _, p_raw, _, _ = chi2_contingency(table, correction=False)
    assert p_raw < 1e-6  # the rate moved, on the raw rows

    chi = drift.feature_drift("flag", reference, window, "chisquare")
    assert chi.drifted and chi.score == pytest.approx(p_raw, rel=1e-9)
    psi = drift.feature_drift("flag", reference, window, "psi")
    # PSI's documented smoothing: half a count added to each bin of each histogram
    p = (np.array([r for r, _ in table]) + 0.5) / (len(reference_flag) + 1)
    q = (np.array([c for _, c in table]) + 0.5) / (present.size + 1)
    assert psi.score == pytest.approx(float(np.sum((q - p) * np.log(q / p))), rel=1e-9)
    assert psi.score > 0.01  # was 0.0 (one bin holding both values)
    assert drift.feature_drift("flag", reference, window, "jensenshannon").score > 0


def test_a_flag_kept_numeric_gets_a_bin_per_value() -> None:
    """Overridden to numeric, each value of a 0/1 flag is a point mass with a bin of its own: the
    move is still seen (the histogram held both values in one bin before)."""
    rng = np.random.default_rng(17)
    reference_flag = (rng.random(5_000) < 0.20).astype("float64")
    current_flag = (rng.random(2_000) < 0.26).astype("float64")
    frame = pd.DataFrame({"flag": reference_flag})
    reference = build_profile(frame, feature_schema(frame, {"flag": "numeric"}))["features"]["flag"]
    assert reference["kind"] == NUMERIC and reference["counts"] == [int((reference_flag == 0).sum()),
                                                                     int((reference_flag == 1).sum())]
    window = fold_numeric(current_flag, reference)
    table = [[int((reference_flag == v).sum()), int((current_flag == v).sum())] for v in (0, 1)]
    _, p_raw, _, _ = chi2_contingency(table, correction=False)
    chi = drift.feature_drift("flag", reference, window, "chisquare")
    assert chi.drifted and chi.score == pytest.approx(p_raw, rel=1e-9)
    assert drift.feature_drift("flag", reference, window, "psi").score > 0.01
    assert drift.feature_drift("flag", reference, window, "ks").drifted
