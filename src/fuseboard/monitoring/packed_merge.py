"""Many stored windows merged straight from their compact blobs (store/window_codec.py).

Windows of one deployment's version share a layout, so their integers (counts, histograms,
positions, confusion matrices, score histograms) are added as one matrix, and their floats merge
column by column: sums add, minima and maxima reduce, and means and sums of squared deviations
combine in closed form (the same quantity ``window_merge.merge_all`` builds two at a time with
Chan's formula, equal to rounding). No dict is built per window: a period of 288 five-minute
windows is a handful of numpy calls, which is what makes ``fuseboard report`` over 90 days fast.

Windows that are not alike (another layout: a version's windows with and without positions, with
and without labels) are merged group by group, then the groups with the checks' own merges; a
window kept as JSON, or whose statistics saturated (sums near float max), goes through them too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fuseboard.monitoring.window_merge import MAX_UNSEEN
from fuseboard.store.window_codec import M2, MAX, MEAN, MIN, SUM, Stack, body_of, key_of, stack

__all__ = ["merge_blobs"]

Merge = Callable[[Sequence[Any]], Any]


def merge_blobs(blobs: Sequence[bytes | memoryview | None], generic: Merge) -> Any:
    """The profile of all these windows' rows together.

    Parameters
    ----------
    blobs : sequence of bytes or None
        Stored ``features``, ``predictions`` or ``performance`` of the windows, oldest first (None: ``{}``).
    generic : callable
        The checks' merge of decoded profiles (``history.generic_columns`` or
        ``history.generic_performance``), for what cannot be added as arrays.

    Returns
    -------
    merged : dict
        As ``generic`` gives it for the decoded windows (floats to rounding).
    """
    groups: dict[bytes, list[bytes]] = {}
    order: list[Any] = []  # group keys and loose profiles, in the order they first appear
    for blob in blobs:
        if blob is None:
            continue
        body = body_of(blob)
        if isinstance(body, dict):
            if body:
                order.append(body)
            continue
        key = key_of(body)
        found = groups.get(key)
        if found is None:
            found = groups[key] = []
            order.append(key)
        found.append(body)
    stacks = {key: stack(bodies) for key, bodies in groups.items()}
    pieces = [_group(stacks[item], generic) if isinstance(item, bytes) else item for item in order]
    if len(pieces) <= 1:
        return pieces[0] if pieces else {}
    out = generic(pieces)
    # the unseen categories kept are the most frequent over all the windows, as one merge of them all
    # keeps them, not the most frequent of each group's most frequent
    unseen = [{k: v["unseen"] for k, v in item.items() if isinstance(v, dict) and isinstance(v.get("unseen"), dict)}
              if isinstance(item, dict) else None for item in order]
    everyone: list[dict[str, Any]] = []
    for item, found in zip(order, unseen):
        everyone += [e.get("unseen", {}) for e in stacks[item].extras] if found is None else [found]
    for column, values in _unseen(everyone).items():
        if isinstance(out.get(column), dict) and "unseen" in out[column]:
            out[column]["unseen"] = values
    return out


def _group(found: Stack, generic: Merge) -> Any:
    """One layout's windows merged: integers summed as a matrix, floats by what they are."""
    layout = found.layout
    if len(found.bodies) == 1:
        return found.window(0)
    merged = _floats(found)
    if merged is None:  # a statistic saturated or overflowed: merged step by step, as the checks do
        return generic([found.window(i) for i in range(len(found.bodies))])
    unseen = _unseen([e.get("unseen", {}) for e in found.extras])
    return layout.build(found.totals, merged, {"unseen": unseen} if unseen else {})


def _floats(found: Stack) -> Any:
    """The merged floats, or None when a sum is not finite (or a statistic was stored as None)."""
    import numpy as np

    layout, floats = found.layout, found.floats
    ops = layout.float_ops
    out = np.empty(layout.n_floats)
    summed, moments, squares = ops == SUM, ops == MEAN, ops == M2
    if np.isnan(floats[:, summed | moments | squares]).any():
        return None
    with np.errstate(all="ignore"):  # an overflow is found below and merged step by step
        out[summed] = floats[:, summed].sum(axis=0)
        out[ops == MIN] = np.fmin.reduce(floats[:, ops == MIN], axis=0)
        out[ops == MAX] = np.fmax.reduce(floats[:, ops == MAX], axis=0)
        if moments.any():
            n = found.counts[:, moments].astype(np.float64)
            total = n.sum(axis=0)
            means = floats[:, moments]
            mean = np.where(total > 0, (n * means).sum(axis=0) / np.where(total > 0, total, 1), 0.0)
            out[moments] = mean
            out[squares] = floats[:, squares].sum(axis=0) + np.where(n > 0, n * (means - mean) ** 2, 0.0).sum(axis=0)
    if not np.isfinite(out[(ops != MIN) & (ops != MAX)]).all():
        return None
    return out


def _unseen(found: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """The unseen categories of the windows together: the ``MAX_UNSEEN`` most frequent of each column."""
    totals: dict[str, dict[str, int]] = {}
    for columns in found:
        for column, values in columns.items():
            into = totals.setdefault(column, {})
            for value, n in values.items():
                into[value] = into.get(value, 0) + n
    return {column: dict(sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_UNSEEN])
            for column, values in totals.items()}
