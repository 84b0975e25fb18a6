"""Window profiles: what a batch of inference rows looked like, folded into counts.

A window profile summarises the rows of one model version in one environment
over one time window, feature by feature, on the reference profile's bins.
Raw rows are never kept: profiles are small, and ``merge`` adds two of them
exactly (counts add; means and variances combine with Chan's formula), so
five-minute windows can be rolled up into hours and days without loss.

Numeric feature::

    {"kind": "numeric", "count", "nulls", "mean", "m2", "min", "max",
     "counts": [below, deciles..., above], "fine": [below, percentiles..., above],
     "tails": [sum of the values below the reference's range, sum of those above]}

The tail sums place the mass outside the reference's range exactly, which the
Wasserstein distance needs (the reference has no bins there to spread it over).

Categorical feature::

    {"kind": "categorical", "count", "nulls",
     "value_counts": {reference categories..., "__unseen__": n}, "unseen": {value: n, ...}}

``unseen`` keeps the most frequent categories the reference never had (at most
``MAX_UNSEEN``) so data-quality findings can name them.
"""

from __future__ import annotations

from typing import Any

UNSEEN = "__unseen__"
MAX_UNSEEN = 20


def sorted_histogram(xs: Any, edges: list[float]) -> list[int]:
    """Counts of sorted finite values in ``[below, bins..., above]``.

    Bins are [a, b) except the last, which also holds b, as numpy.histogram counts.
    Sorting first and locating the edges in the sorted values is several times faster
    than locating each value among the edges.
    """
    import numpy as np

    n = int(xs.size)
    k = len(edges) - 1
    if k < 1:
        return [0, n, 0]
    e = np.asarray(edges, dtype="float64")
    left = np.searchsorted(xs, e, side="left")
    top = int(np.searchsorted(xs, e[-1], side="right"))
    inner = np.diff(left)
    inner[-1] = top - left[-2]
    return [int(left[0]), *inner.tolist(), n - top]


BIGGEST = 1.7976931348623157e308  # float max: sums of huge values saturate here instead of becoming inf


def _finite(value: Any) -> float:
    """A stored statistic, kept finite (JSON has no infinity; an overflowed sum saturates at float max)."""
    if value is None:  # an overflowed value stored before saturation existed
        return BIGGEST
    value = float(value)
    if value != value:  # NaN: inf - inf after an overflow
        return BIGGEST
    return max(-BIGGEST, min(BIGGEST, value))


def fold_sorted(xs: Any, nulls: int, reference: dict[str, Any]) -> dict[str, Any]:
    """Profile sorted finite values (plus ``nulls`` missing ones) on the reference's bins."""
    import numpy as np

    n = int(xs.size)
    out: dict[str, Any] = {"kind": "numeric", "count": n, "nulls": int(nulls)}
    edges = reference.get("edges") or []
    fine_edges = (reference.get("fine") or {}).get("edges") or edges
    if n:
        with np.errstate(over="ignore", invalid="ignore"):
            mean = float(xs.mean())
            if not np.isfinite(mean):  # values near float max overflow the sum: average them scaled down
                scale = max(abs(float(xs[0])), abs(float(xs[-1])))
                mean = float((xs / scale).mean()) * scale
            deviations = xs - mean
            deviations *= deviations  # not a BLAS dot: OpenBLAS's own threads fight the fold threads
            m2 = _finite(deviations.sum())
        out.update(mean=_finite(mean), m2=m2, min=float(xs[0]), max=float(xs[-1]))
    else:
        out.update(mean=0.0, m2=0.0, min=None, max=None)
    out["counts"] = sorted_histogram(xs, edges) if edges else [0, n, 0]
    out["fine"] = sorted_histogram(xs, fine_edges) if fine_edges else [0, n, 0]
    below, above = (out["counts"][0], out["counts"][-1]) if edges else (0, 0)
    with np.errstate(over="ignore", invalid="ignore"):
        out["tails"] = [_finite(xs[:below].sum()), _finite(xs[n - above:].sum()) if above else 0.0]
    return out


def fold_numeric(values: Any, reference: dict[str, Any]) -> dict[str, Any]:
    """Profile one numeric column (a float array; NaN and infinities count as null) on the reference's bins."""
    import numpy as np

    ordered = np.sort(np.asarray(values, dtype="float64"))  # -inf first, then +inf, then NaN last
    lo = int(np.searchsorted(ordered, -np.inf, side="right"))
    hi = int(np.searchsorted(ordered, np.inf, side="left"))
    return fold_sorted(ordered[lo:hi], ordered.size - (hi - lo), reference)


def fold_counts(counts: Any, dictionary: list[str], nulls: int, reference: dict[str, Any]) -> dict[str, Any]:
    """Profile a categorical column from the count of each distinct value (``dictionary`` order)."""
    value_counts = {c: 0 for c in reference.get("value_counts", {})}
    unseen: list[tuple[int, str]] = []
    unseen_total = 0
    for value, count in zip(dictionary, counts):
        count = int(count)
        if not count:
            continue
        if value in value_counts:
            value_counts[value] += count
        else:
            unseen_total += count
            unseen.append((count, value))
    value_counts[UNSEEN] = unseen_total
    top = sorted(unseen, key=lambda cv: (-cv[0], cv[1]))[:MAX_UNSEEN]
    return {"kind": "categorical", "count": int(sum(int(c) for c in counts)), "nulls": int(nulls),
            "value_counts": value_counts, "unseen": {v: c for c, v in top}}


def fold_categorical(values: Any, reference: dict[str, Any]) -> dict[str, Any]:
    """Profile one categorical column (any array; None/NaN count as null) against the reference's categories."""
    import pandas as pd

    series = pd.Series(values, dtype="object")
    present = series[series.notna()].astype(str)
    counts = present.value_counts()
    return fold_counts(counts.to_numpy(), [str(v) for v in counts.index], int(series.size - present.size),
                       reference)


def merge_feature(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The profile of both windows' rows together."""
    return merge_all([a, b])


def merge_all(profiles: list[dict[str, Any]]) -> dict[str, Any]:
    """The profile of all these windows' rows together: one pass per histogram."""
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
    n = mean = m2 = 0.0
    for p in profiles:  # the scalars, pairwise (Chan's formula), kept finite
        nb = p["count"]
        if nb:
            delta = _finite(_finite(p["mean"]) - mean)
            mean = _finite(mean + delta * (nb / (n + nb)))
            m2 = _finite(m2 + _finite(p["m2"]) + _finite(delta * delta) * (n * nb / (n + nb)))
            n += nb
    mins = [p["min"] for p in profiles if p.get("min") is not None]
    maxs = [p["max"] for p in profiles if p.get("max") is not None]
    out.update(mean=float(mean), m2=float(m2), min=min(mins) if mins else None, max=max(maxs) if maxs else None)
    for key in ("counts", "fine", "tails"):
        columns = [p[key] for p in profiles]
        if len({len(c) for c in columns}) != 1:
            raise ValueError("cannot merge histograms over different bins")
        out[key] = list(map(sum, zip(*columns))) if key != "tails" else \
            [_finite(sum(_finite(v) for v in values)) for values in zip(*columns)]
    return out


def _sum_dicts(dicts: list[dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in dicts:
        for key, value in d.items():
            out[key] = out.get(key, 0) + value
    return out


def variance(profile: dict[str, Any]) -> float | None:
    """Sample variance of a numeric window profile (None below two values)."""
    n = profile["count"]
    return profile["m2"] / (n - 1) if n > 1 else None
