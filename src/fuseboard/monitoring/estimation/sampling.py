"""The sampling error of a metric on a window of n rows, from chunks of labelled rows.

A metric measured on n rows scatters around its value on all rows by about sigma / sqrt(n). sigma is
measured once, at registration: the labelled rows are split into ``CHUNKS`` disjoint random chunks,
``DRAWS`` times with a fixed seed; the standard deviation of the metric over those chunks, times the
square root of their size, is sigma. A window's estimate then has the interval
``estimate +/- 1.96 sigma / sqrt(n)`` (NannyML's sampling error, read from reference chunks too).
"""

from __future__ import annotations

import math
from typing import Any, Callable

__all__ = ["CHUNKS", "DRAWS", "MIN_ROWS", "SAMPLE", "per_window", "picked", "spread"]

CHUNKS = 10
DRAWS = 20
SEED = 1
MIN_ROWS = 100  # labelled rows to measure a spread from (chunks of 10)
SAMPLE = 5_000  # rows of a window the loss models and the PCA read (a seeded sample beyond)


def spread(n: int, metric_of: Callable[[Any], dict[str, float]]) -> dict[str, float]:
    """Per metric, its standard deviation scaled to one row.

    Parameters
    ----------
    n : int
        Labelled rows.
    metric_of : callable
        Takes an index array of rows (a chunk) and returns its metrics by name.

    Returns
    -------
    sigma : dict of str to float
        Metrics measured on at least half the chunks; {} under ``MIN_ROWS`` rows.
    """
    import numpy as np

    if n < MIN_ROWS:
        return {}
    size = n // CHUNKS
    rng = np.random.default_rng(SEED)
    found: dict[str, list[float]] = {}
    for _ in range(DRAWS):
        order = rng.permutation(n)
        for k in range(CHUNKS):
            for name, value in metric_of(order[k * size:(k + 1) * size]).items():
                if math.isfinite(value):
                    found.setdefault(name, []).append(value)
    return {name: float(np.std(values, ddof=1)) * math.sqrt(size)
            for name, values in found.items() if len(values) >= CHUNKS * DRAWS // 2}


def per_window(valid: Any, windows_idx: Any, build: Callable[[Any, Any, int], dict]) -> list[dict]:
    """``build(idx, ok, rows)`` for each window with rows to estimate from (``ok``: which of the window's
    rows, ``rows``: how many), ``{}`` for the others: the loop CBPE's and DLE's folds share."""
    out: list[dict] = []
    for idx in windows_idx:
        ok = valid[idx]
        rows = int(ok.sum())
        out.append(build(idx, ok, rows) if rows else {})
    return out


def picked(idx: Any, n_rows: int, rng: Any, keep: Any = None) -> Any:
    """A window's rows (of ``keep`` only, when given) as positions in the batch, sorted, at most ``SAMPLE``
    of them: a seeded sample from ``rng`` beyond.

    The multivariate drift's mean error and DLE's mean expected loss come from the sample, unbiased; a
    mean of 5,000 rows is already far tighter than what they are compared with, and the ingest of a
    million rows need not encode and predict every one.

    Parameters
    ----------
    idx : slice or ndarray of int
        The window's rows.
    n_rows : int
        The batch's rows (a slice's open end).
    rng : numpy.random.Generator
    keep : ndarray of shape (n_rows,), bool, optional

    Returns
    -------
    rows : ndarray of int
    total : int
        The window's rows of ``keep`` (what the sample stands for).
    """
    import numpy as np

    rows = np.arange(*idx.indices(n_rows)) if isinstance(idx, slice) else np.asarray(idx)
    if keep is not None:
        rows = rows[keep[rows]]
    total = int(rows.size)
    if total > SAMPLE:
        rows = np.sort(rng.choice(rows, SAMPLE, replace=False))
    return rows, total
