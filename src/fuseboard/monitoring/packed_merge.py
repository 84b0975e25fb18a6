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
from fuseboard.store.window_codec import Stack, body_of, key_of, stack

__all__ = ["Window", "merge_blobs", "merge_bodies"]

Merge = Callable[[Sequence[Any]], Any]
Body = bytes | dict[str, Any] | None  # a blob's body (``window_codec.body_of``): packed, or kept as JSON


class Window:
    """A stored window as the checks read it: where and when, and its profiles' bodies decompressed.

    Attributes
    ----------
    model_id, environment_id, version_id : int
    window_start : datetime
    features, predictions, performance, estimated : bytes, dict or None
        ``window_codec.body_of`` of the stored blob (None: not read, or no such profile).
    """

    __slots__ = ("model_id", "environment_id", "version_id", "window_start", "features", "predictions",
                 "performance", "estimated")
    PROFILES = ("features", "predictions", "performance", "estimated")

    def __init__(self, model_id: int, environment_id: int, version_id: int, window_start: Any,
                 **bodies: Body) -> None:
        self.model_id, self.environment_id, self.version_id = model_id, environment_id, version_id
        self.window_start = window_start
        for name in self.PROFILES:
            setattr(self, name, bodies.get(name))

    @classmethod
    def of(cls, row: Any) -> Window:
        """A row of the stored windows (any of the profiles' blobs among its columns), decompressed."""
        blobs = row._mapping
        return cls(row.model_id, row.environment_id, row.version_id, row.window_start, **{
            name: body_of(blobs[name]) for name in cls.PROFILES if blobs.get(name) is not None})


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
    return merge_bodies([None if blob is None else body_of(blob) for blob in blobs], generic)


def merge_bodies(bodies: Sequence[Body], generic: Merge) -> Any:
    """``merge_blobs`` of blobs already decompressed (``body_of``; None: ``{}``)."""
    groups: dict[bytes, list[bytes]] = {}
    order: list[Any] = []  # group keys and loose profiles, in the order they first appear
    for body in bodies:
        if body is None:
            continue
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
    slots = layout.slots
    out = np.empty(layout.n_floats)
    if np.isnan(floats[:, slots["numbers"]]).any():
        return None
    with np.errstate(all="ignore"):  # an overflow is found below and merged step by step
        out[slots["sum"]] = floats[:, slots["sum"]].sum(axis=0)
        out[slots["min"]] = np.fmin.reduce(floats[:, slots["min"]], axis=0)
        out[slots["max"]] = np.fmax.reduce(floats[:, slots["max"]], axis=0)
        moments, squares = slots["mean"], slots["m2"]
        if moments.size:
            n = found.counts[:, moments].astype(np.float64)
            total = n.sum(axis=0)
            means = floats[:, moments]
            mean = np.where(total > 0, (n * means).sum(axis=0) / np.where(total > 0, total, 1), 0.0)
            out[moments] = mean
            out[squares] = floats[:, squares].sum(axis=0) + np.where(n > 0, n * (means - mean) ** 2, 0.0).sum(axis=0)
    if not np.isfinite(out[slots["finite"]]).all():
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
