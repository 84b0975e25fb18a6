"""Merging window profiles: five-minute windows into hours and days, and the windows a check reads.

Window profiles (windows.py) hold only counts, sums and moments, so two of them merge exactly:
counts, histograms and the fine bins' positions add, and means and sums of squared deviations
combine with Chan's formula. A window without positions (folded before they were kept, or
against a reference without them) makes the merged window go without them too.
Statistics near float max saturate there instead of becoming infinite (JSON has no infinity).
"""

from __future__ import annotations

import math
from typing import Any

from fuseboard.monitoring.shapes import NumericWindow, WindowFeature

MAX_UNSEEN = 20  # unseen categories a categorical window keeps by name (the most frequent)

BIGGEST = 1.7976931348623157e308  # float max: sums of huge values saturate here instead of becoming inf


def saturate(value: Any) -> float:
    """A stored statistic, kept finite (JSON has no infinity; an overflowed sum saturates at float max).

    Parameters
    ----------
    value : float, numpy scalar or None
        None (an overflow stored by older versions) and NaN (inf - inf) count as float max.

    Returns
    -------
    value : float
        In [-BIGGEST, BIGGEST].
    """
    if value is None:  # an overflowed value stored before saturation existed
        return BIGGEST
    value = float(value)
    if value != value:  # NaN: inf - inf after an overflow
        return BIGGEST
    return max(-BIGGEST, min(BIGGEST, value))


def merge_feature(a: WindowFeature, b: WindowFeature) -> WindowFeature:
    """The profile of both windows' rows together.

    Parameters
    ----------
    a, b : NumericWindow or CategoricalWindow
        Of the same kind, folded on the same reference's bins.

    Returns
    -------
    window : NumericWindow or CategoricalWindow
    """
    return merge_all([a, b])


def merge_all(profiles: list[WindowFeature]) -> WindowFeature:
    """The profile of all these windows' rows together: one pass per histogram.

    Parameters
    ----------
    profiles : list of NumericWindow or CategoricalWindow, at least one
        All of one kind, folded on the same reference's bins.

    Returns
    -------
    window : NumericWindow or CategoricalWindow
        ``profiles[0]`` itself when it is alone. Counts add; mean and ``m2`` combine exactly (Chan),
        saturating at float max; a categorical window keeps the ``MAX_UNSEEN`` most frequent unseen
        values.

    Raises
    ------
    ValueError
        Profiles of different kinds, or histograms over different bins.

    Notes
    -----
    ``fine_positions`` add when every window has them (over the same bins); else the merged window
    has none (the Wasserstein check then spreads each bin's mass evenly, as before they existed).
    """
    if len(profiles) == 1:
        return profiles[0]
    kinds = {p["kind"] for p in profiles}
    if len(kinds) != 1:
        raise ValueError("cannot merge a numeric and a categorical profile")
    out: dict[str, Any] = {"kind": kinds.pop(), "count": sum(p["count"] for p in profiles),
                           "nulls": sum(p["nulls"] for p in profiles)}
    if out["kind"] == "categorical":
        out["value_counts"] = _sum_dicts([p["value_counts"] for p in profiles])
        unseen = _sum_dicts([p["unseen"] for p in profiles])
        out["unseen"] = dict(sorted(unseen.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_UNSEEN])
        return out
    mean, m2 = _chan(profiles)
    if not (math.isfinite(mean) and math.isfinite(m2)):  # sums near float max: every step kept finite
        mean, m2 = _chan_saturating(profiles)
    mins = [p["min"] for p in profiles if p.get("min") is not None]
    maxs = [p["max"] for p in profiles if p.get("max") is not None]
    out.update(mean=float(mean), m2=float(m2), min=min(mins) if mins else None, max=max(maxs) if maxs else None)
    for key in ("counts", "fine", "tails"):
        columns = [p[key] for p in profiles]
        if len({len(c) for c in columns}) != 1:
            raise ValueError("cannot merge histograms over different bins")
        if key != "tails":
            out[key] = list(map(sum, zip(*columns)))
            continue
        tails = [sum(values) if None not in values else math.inf for values in zip(*columns)]
        if not all(map(math.isfinite, tails)):  # saturated or overflowed sums: added up saturating
            tails = [saturate(sum(saturate(v) for v in values)) for values in zip(*columns)]
        out[key] = tails
    positions = [p.get("fine_positions") for p in profiles]
    if all(positions) and len({len(p) for p in positions}) == 1:  # integers: added exactly
        out["fine_positions"] = list(map(sum, zip(*positions)))
    return out


def _chan(profiles: list[NumericWindow]) -> tuple[float, float]:
    """Mean and sum of squared deviations of the profiles' values together, pairwise (Chan's formula);
    infinity or NaN if a sum overflowed (or a statistic is null: an overflow stored by older versions)."""
    n = mean = m2 = 0.0
    for p in profiles:
        nb, mb, sb = p["count"], p["mean"], p["m2"]
        if nb:
            if mb is None or sb is None:
                return math.inf, math.inf
            delta = mb - mean
            mean += delta * (nb / (n + nb))
            m2 = m2 + sb + delta * delta * (n * nb / (n + nb))  # as _chan_saturating adds, to the last bit
            n += nb
    return mean, m2


def _chan_saturating(profiles: list[NumericWindow]) -> tuple[float, float]:
    """``_chan`` with every step kept finite (``_finite``): sums near float max saturate there."""
    n = mean = m2 = 0.0
    for p in profiles:
        nb = p["count"]
        if nb:
            delta = saturate(saturate(p["mean"]) - mean)
            mean = saturate(mean + delta * (nb / (n + nb)))
            m2 = saturate(m2 + saturate(p["m2"]) + saturate(delta * delta) * (n * nb / (n + nb)))
            n += nb
    return mean, m2


def _sum_dicts(dicts: list[dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in dicts:
        for key, value in d.items():
            out[key] = out.get(key, 0) + value
    return out


def variance(profile: NumericWindow) -> float | None:
    """Sample variance of a numeric window profile (None below two values).

    Parameters
    ----------
    profile : NumericWindow

    Returns
    -------
    variance : float or None
        ``m2 / (count - 1)``; None when ``count < 2``.
    """
    n = profile["count"]
    return profile["m2"] / (n - 1) if n > 1 else None
