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

import operator
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
    return [int(left[0]), *(int(c) for c in inner), n - top]


def fold_sorted(xs: Any, nulls: int, reference: dict[str, Any]) -> dict[str, Any]:
    """Profile sorted finite values (plus ``nulls`` missing ones) on the reference's bins."""
    n = int(xs.size)
    out: dict[str, Any] = {"kind": "numeric", "count": n, "nulls": int(nulls)}
    edges = reference.get("edges") or []
    fine_edges = (reference.get("fine") or {}).get("edges") or edges
    if n:
        mean = float(xs.mean())
        out.update(mean=mean, m2=float(((xs - mean) ** 2).sum()), min=float(xs[0]), max=float(xs[-1]))
    else:
        out.update(mean=0.0, m2=0.0, min=None, max=None)
    out["counts"] = sorted_histogram(xs, edges) if edges else [0, n, 0]
    out["fine"] = sorted_histogram(xs, fine_edges) if fine_edges else [0, n, 0]
    below, above = (out["counts"][0], out["counts"][-1]) if edges else (0, 0)
    out["tails"] = [float(xs[:below].sum()), float(xs[n - above:].sum()) if above else 0.0]
    return out


def fold_numeric(values: Any, reference: dict[str, Any]) -> dict[str, Any]:
    """Profile one numeric column (a float array; NaN and infinities count as null) on the reference's bins."""
    import numpy as np

    arr = np.asarray(values, dtype="float64")
    finite = np.sort(arr[np.isfinite(arr)])
    return fold_sorted(finite, arr.size - finite.size, reference)


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
    if a["kind"] != b["kind"]:
        raise ValueError("cannot merge a numeric and a categorical profile")
    out: dict[str, Any] = {"kind": a["kind"], "count": a["count"] + b["count"], "nulls": a["nulls"] + b["nulls"]}
    if a["kind"] == "numeric":
        na, nb = a["count"], b["count"]
        n = na + nb
        if n:
            delta = b["mean"] - a["mean"]
            out["mean"] = a["mean"] + delta * nb / n
            out["m2"] = a["m2"] + b["m2"] + delta * delta * na * nb / n
        else:
            out["mean"], out["m2"] = 0.0, 0.0
        mins = [x for x in (a.get("min"), b.get("min")) if x is not None]
        maxs = [x for x in (a.get("max"), b.get("max")) if x is not None]
        out["min"] = min(mins) if mins else None
        out["max"] = max(maxs) if maxs else None
        out["counts"] = _add(a["counts"], b["counts"])
        out["fine"] = _add(a["fine"], b["fine"])
        out["tails"] = _add(a["tails"], b["tails"])
        return out
    out["value_counts"] = {k: a["value_counts"].get(k, 0) + b["value_counts"].get(k, 0)
                           for k in {**a["value_counts"], **b["value_counts"]}}
    unseen = {k: a["unseen"].get(k, 0) + b["unseen"].get(k, 0) for k in {**a["unseen"], **b["unseen"]}}
    out["unseen"] = dict(sorted(unseen.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_UNSEEN])
    return out


def _add(a: list[float], b: list[float]) -> list[float]:
    if len(a) != len(b):
        raise ValueError("cannot merge histograms over different bins")
    return list(map(operator.add, a, b))


def merge_all(profiles: list[dict[str, Any]]) -> dict[str, Any]:
    """``merge_feature`` over many windows at once: one pass per histogram instead of one per window."""
    if len(profiles) == 1:
        return profiles[0]
    if profiles[0]["kind"] != "numeric" or any(p["kind"] != "numeric" for p in profiles):
        out = profiles[0]
        for p in profiles[1:]:
            out = merge_feature(out, p)
        return out
    out = {"kind": "numeric", "count": 0, "nulls": 0, "mean": 0.0, "m2": 0.0, "min": None, "max": None}
    for p in profiles:  # the scalars, pairwise (Chan's formula)
        na, nb = out["count"], p["count"]
        n = na + nb
        if nb:
            delta = p["mean"] - out["mean"]
            out["mean"] += delta * nb / n
            out["m2"] += p["m2"] + delta * delta * na * nb / n
        out["count"] = n
        out["nulls"] += p["nulls"]
    mins = [p["min"] for p in profiles if p.get("min") is not None]
    maxs = [p["max"] for p in profiles if p.get("max") is not None]
    out["min"], out["max"] = (min(mins) if mins else None), (max(maxs) if maxs else None)
    for key in ("counts", "fine", "tails"):
        columns = [p[key] for p in profiles]
        if len({len(c) for c in columns}) != 1:
            raise ValueError("cannot merge histograms over different bins")
        out[key] = [sum(values) for values in zip(*columns)]
    return out


def variance(profile: dict[str, Any]) -> float | None:
    """Sample variance of a numeric window profile (None below two values)."""
    n = profile["count"]
    return profile["m2"] / (n - 1) if n > 1 else None
