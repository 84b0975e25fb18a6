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


def _histogram(values: Any, edges: list[float]) -> list[int]:
    """Counts in ``[below, bins..., above]``; bins are [a, b) except the last, which holds b."""
    import numpy as np

    k = len(edges) - 1
    if k < 1:
        return [0, int(values.size), 0] if values.size else [0, 0, 0]
    idx = np.searchsorted(np.asarray(edges, dtype="float64"), values, side="right")  # 0 = below
    idx = np.where(values == edges[-1], k, idx)  # the top edge belongs to the last bin
    # idx: 0 below, 1..k inside, k+1 above
    return [int(c) for c in np.bincount(idx, minlength=k + 2)]


def fold_numeric(values: Any, reference: dict[str, Any]) -> dict[str, Any]:
    """Profile one numeric column (a float array; NaN counts as null) on the reference's bins."""
    import numpy as np

    arr = np.asarray(values, dtype="float64")
    finite = arr[np.isfinite(arr)]
    n = int(finite.size)
    out: dict[str, Any] = {"kind": "numeric", "count": n, "nulls": int(arr.size - n)}
    edges = reference.get("edges") or []
    fine_edges = (reference.get("fine") or {}).get("edges") or edges
    if n:
        mean = float(finite.mean())
        out.update(mean=mean, m2=float(((finite - mean) ** 2).sum()), min=float(finite.min()),
                   max=float(finite.max()))
    else:
        out.update(mean=0.0, m2=0.0, min=None, max=None)
    out["counts"] = _histogram(finite, edges) if edges else [0, n, 0]
    out["fine"] = _histogram(finite, fine_edges) if fine_edges else [0, n, 0]
    low, high = (edges[0], edges[-1]) if edges else (np.inf, -np.inf)
    out["tails"] = [float(finite[finite < low].sum()), float(finite[finite > high].sum())]
    return out


def fold_categorical(values: Any, reference: dict[str, Any]) -> dict[str, Any]:
    """Profile one categorical column (any array; None/NaN count as null) against the reference's categories."""
    import pandas as pd

    series = pd.Series(values, dtype="object")
    present = series[series.notna()].astype(str)
    counts = present.value_counts()
    known = set(reference.get("value_counts", {}))
    value_counts = {c: 0 for c in reference.get("value_counts", {})}
    unseen: dict[str, int] = {}
    unseen_total = 0
    for value, count in counts.items():
        if value in known:
            value_counts[value] = int(count)
        else:
            unseen_total += int(count)
            if len(unseen) < MAX_UNSEEN:
                unseen[str(value)] = int(count)
    value_counts[UNSEEN] = unseen_total
    return {"kind": "categorical", "count": int(present.size), "nulls": int(series.size - present.size),
            "value_counts": value_counts, "unseen": unseen}


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
    return [x + y for x, y in zip(a, b)]


def variance(profile: dict[str, Any]) -> float | None:
    """Sample variance of a numeric window profile (None below two values)."""
    n = profile["count"]
    return profile["m2"] / (n - 1) if n > 1 else None
