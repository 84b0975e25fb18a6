"""Categories beyond the reference's kept ones (issue 13): compared as "other", never taken as unseen."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from fuseboard.monitoring import checks, drift, ingest, profiles, windows

CATEGORIES = np.array([f"c{i:04d}" for i in range(5000)], dtype=object)


def _reference(n: int = 100_000) -> pd.Series:
    rng = np.random.default_rng(0)
    weights = 1.0 / np.arange(1, CATEGORIES.size + 1) ** 0.7  # a long tail: the kept 200 hold about a third
    return pd.Series(rng.choice(CATEGORIES, n, p=weights / weights.sum()), name="cat")


def _fold(values: pd.Series, reference: dict) -> dict:
    """Fold a batch's column as ingest does (dictionary-encoded, one window)."""
    column = ingest._encode(pa.table({"cat": pa.array(values.tolist())}), "cat")
    return ingest._fold_encoded_windows(column, [slice(None)], reference)[0]


def _verdicts(current: dict, reference: dict) -> tuple[checks.CheckResult, checks.CheckResult]:
    ref = {"features": {"cat": reference}}
    policy = checks.Policy()
    return (checks.evaluate_quality({"cat": current}, ref, "mission-critical", policy),
            checks.evaluate_drift({"cat": current}, ref, "mission-critical", policy))


@pytest.fixture(scope="module")
def reference_data() -> tuple[pd.Series, dict]:
    data = _reference()
    return data, profiles.categorical_profile(data)


def test_the_profile_keeps_200_categories_other_and_the_rest_as_hashes(reference_data) -> None:  # noqa: ANN001
    data, profile = reference_data
    kept = {k: v for k, v in profile["value_counts"].items() if k != profiles.OTHER}
    assert len(kept) == profiles.MAX_CATEGORIES and profile["distinct"] == data.nunique()
    assert profile["value_counts"][profiles.OTHER] == len(data) - sum(kept.values())
    hashes = profiles.unpack_hashes(profile["other_hashes"])
    assert hashes.size == profile["distinct"] - profiles.MAX_CATEGORIES and (np.diff(hashes) > 0).all()


def test_a_sample_of_the_reference_itself_is_no_unseen_and_no_drift(reference_data) -> None:  # noqa: ANN001
    data, profile = reference_data
    sample = data.sample(20_000, random_state=1)
    current = _fold(sample, profile)
    assert current["value_counts"][windows.UNSEEN] == 0 and current["unseen"] == {}
    assert current["value_counts"][profiles.OTHER] == int((~sample.isin(profile["value_counts"])).sum()) > 5_000
    quality, drifted = _verdicts(current, profile)
    assert (quality.status, drifted.status) == ("ok", "ok"), (quality.summary, drifted.summary)
    assert drift.feature_drift("cat", profile, current, "jensenshannon").drifted is False
    assert windows.fold_categorical(sample.to_numpy(), profile) == current  # the other way in agrees


def test_values_the_reference_never_had_are_unseen(reference_data) -> None:  # noqa: ANN001
    data, profile = reference_data
    sample = data.sample(20_000, random_state=2).reset_index(drop=True)
    sample.iloc[:2_000] = [f"new{i % 50}" for i in range(2_000)]
    current = _fold(sample, profile)
    assert current["value_counts"][windows.UNSEEN] == 2_000
    assert set(current["unseen"]) <= {f"new{i}" for i in range(50)}
    quality, _ = _verdicts(current, profile)
    assert quality.status == "warn" and quality.summary == "cat unseen 10.0%"


def test_a_shift_towards_the_rarer_values_is_drift(reference_data) -> None:  # noqa: ANN001
    data, profile = reference_data
    rare = data[~data.isin(profile["value_counts"])]
    common = data[data.isin(profile["value_counts"])]
    sample = pd.concat([rare.sample(16_000, random_state=3), common.sample(4_000, random_state=3)])
    current = _fold(sample, profile)
    quality, drifted = _verdicts(current, profile)
    assert quality.status == "ok" and current["value_counts"][windows.UNSEEN] == 0
    assert drifted.status == "crit" and drifted.details["features"][0]["drifted"]


def test_a_profile_stored_before_the_hashes_reads_as_it_did(reference_data) -> None:  # noqa: ANN001
    data, profile = reference_data
    old = {k: v for k, v in profile.items() if k != "other_hashes"}
    sample = data.sample(20_000, random_state=4)
    current = _fold(sample, old)
    outside = int((~sample.isin(profile["value_counts"])).sum())
    assert current["value_counts"][windows.UNSEEN] == outside and current["value_counts"][profiles.OTHER] == 0


def test_a_reference_with_too_many_values_to_hash_counts_all_the_rest_as_other(reference_data) -> None:  # noqa: ANN001
    data, profile = reference_data
    unlisted = {**profile, "other_hashes": None}
    current = _fold(pd.Series(["never-seen", *data.iloc[:999]]), unlisted)
    assert current["value_counts"][windows.UNSEEN] == 0 and current["count"] == 1_000
