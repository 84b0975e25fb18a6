"""Window profiles as compact binary: how the ``features``, ``predictions`` and ``performance`` of a
stored window are written, and read back exactly.

A profile (``monitoring.shapes``: the window's columns, or its performance) is split into

* a **layout**: what the numbers mean (column names and kinds, bin counts, category names, classes),
  the same for every window of a deployment's version, so windows that share it can be added
  position by position without building a dict per window (``stack`` and ``Layout``);
* its **integers** (counts, histograms, positions), all in one array of the narrowest unsigned width
  that holds them, stored as byte planes (all low bytes, then all high bytes) so that zlib finds the
  zeros; ``fine_positions`` are stored as their difference from half a bin per value (shifted to be
  unsigned), which is what they are near;
* its **floats** (means, sums of squared deviations, minima, maxima, tail sums, regression sums),
  float64 exactly; None (no value, or an overflow stored by older versions) as NaN;
* **extras**: the few unseen categories a categorical window names, as JSON.

Blob: ``b"FBW1" + zlib(body)``, the body: ``HEADER`` (extras length, the positions' shift, layout length,
integer width, number of integers, of floats), the layout JSON, the integers' byte planes, the float64s, the
extras JSON. A profile of any other shape is kept as
``b"FBJ1" + zlib(JSON)``, so nothing is refused and everything reads back as it was written. Integers
are exact (``encode`` keeps a profile whose integers numpy would not read as integers as JSON; a bool
among integers reads back as 0 or 1), floats bit for bit, keys in the order ``monitoring.shapes``
lists them.

The 25-feature window of ``bench/growth.py`` (5,000 rows with labels) takes about a fifth of its
JSON; reading one back is several times faster than parsing the JSON (``bench/codec.py``).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = ["Layout", "Stack", "body_of", "decode", "decode_body", "encode", "key_of", "layout_of", "stack"]

PACKED = b"FBW1"
JSON = b"FBJ1"
LEVEL = 6  # zlib: level 1 gives blobs 4% larger and saves little time at these sizes
HALF_BIN = 5  # the positions of a value in tenths of its bin's width are 5 on average: the prediction stored
# against

_NUMERIC_KEYS = {"kind", "count", "nulls", "mean", "m2", "min", "max", "counts", "fine", "tails"}
_CATEGORICAL_KEYS = {"kind", "count", "nulls", "value_counts", "unseen"}
_CLASSIFICATION_KEYS = {"task", "classes", "labelled", "unknown_labels", "confusion"}
_REGRESSION_SUMS = ("sum_err", "sum_sq_err", "sum_abs_err", "sum_y", "sum_y2")

# a body starts with: extras length, what was added to the positions (``_width``), layout length, integer
# width, number of integers, of floats; what stacked bodies share starts at KEY
HEADER = struct.Struct("<IqIBII")
KEY = 12

# what each float slot is, for a merge (monitoring.packed_merge)
SUM, MIN, MAX, MEAN, M2 = 0, 1, 2, 3, 4


class _NotPackable(Exception):
    """The profile is not of a shape this codec lays out: it is kept as JSON."""


# -- layouts -----------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Layout:
    """What the integers and floats of the windows that share it mean.

    Attributes
    ----------
    spec : list
        The layout as stored (JSON): ``["cols", [[name, "n", n_counts, n_fine, has_positions] or
        [name, "c", [categories...]], ...]]``, ``["cls", classes, scored classes or None, score bins]``
        or ``["reg", has_err4]``.
    n_ints, n_floats : int
    float_ops : ndarray of shape (n_floats,), int8
        How each float merges: ``SUM``, ``MIN``, ``MAX``, ``MEAN`` or ``M2``.
    float_counts : ndarray of shape (n_floats,), intp
        For ``MEAN`` and ``M2`` slots, the position in the integers of the column's count (else -1).
    positions, fine : ndarray of intp
        The integer slots of ``fine_positions`` and, pairwise, of the fine bins they lie in.
    """

    spec: list[Any]
    n_ints: int
    n_floats: int
    float_ops: Any
    float_counts: Any
    positions: Any
    fine: Any

    @cached_property
    def slots(self) -> dict[str, Any]:
        """The float slots by how they merge (ndarrays of intp, ascending), worked out once per layout.

        ``sum``, ``min``, ``max``, ``mean``, ``m2``: the slots of each op; ``numbers``: the slots that
        must not be None to merge (sums, means, squares); ``finite``: all but minima and maxima;
        ``counted``: the slots with a count column, and ``count_columns`` their columns.
        """
        import numpy as np

        ops, at = self.float_ops, np.flatnonzero
        return {"sum": at(ops == SUM), "min": at(ops == MIN), "max": at(ops == MAX), "mean": at(ops == MEAN),
                "m2": at(ops == M2), "numbers": at((ops == SUM) | (ops == MEAN) | (ops == M2)),
                "finite": at((ops != MIN) & (ops != MAX)), "counted": at(self.float_counts >= 0),
                "count_columns": self.float_counts[self.float_counts >= 0]}

    def build(self, ints: Any, floats: Any, extras: dict[str, Any]) -> dict[str, Any]:
        """The profile from its integers (positions restored) and floats.

        Parameters
        ----------
        ints : ndarray of shape (n_ints,), int64
        floats : ndarray of shape (n_floats,), float64
        extras : dict
            ``{"unseen": {column: {value: n}}}`` or ``{}``.
        """
        i, f = ints.tolist(), [None if v != v else v for v in floats.tolist()]
        kind = self.spec[0]
        if kind == "reg":
            out: dict[str, Any] = {"task": "regression", "labelled": i[0], "unknown_labels": i[1]}
            names = _REGRESSION_SUMS[:3] + (("sum_err4",) if self.spec[1] else ()) + _REGRESSION_SUMS[3:]
            out.update(zip(names, f))
            return out
        if kind == "cls":
            _, classes, scored, bins = self.spec
            k = len(classes)
            out = {"task": "classification", "classes": list(classes), "labelled": i[0], "unknown_labels": i[1],
                   "confusion": [i[2 + r * k:2 + (r + 1) * k] for r in range(k)]}
            if scored is not None:
                at, scores = 2 + k * k, {}
                for c in scored:
                    scores[c] = {"pos": i[at:at + bins], "neg": i[at + bins:at + 2 * bins]}
                    at += 2 * bins
                out["scores"] = scores
            return out
        unseen = extras.get("unseen", {})
        out, a, b = {}, 0, 0
        for entry in self.spec[1]:
            name = entry[0]
            if entry[1] == "c":
                cats = entry[2]
                out[name] = {"kind": "categorical", "count": i[a], "nulls": i[a + 1],
                             "value_counts": dict(zip(cats, i[a + 2:a + 2 + len(cats)])),
                             "unseen": dict(unseen.get(name, {}))}
                a += 2 + len(cats)
                continue
            _, _, n_counts, n_fine, has_positions = entry
            column = {"kind": "numeric", "count": i[a], "nulls": i[a + 1], "mean": f[b], "m2": f[b + 1],
                      "min": f[b + 2], "max": f[b + 3], "counts": i[a + 2:a + 2 + n_counts],
                      "fine": i[a + 2 + n_counts:a + 2 + n_counts + n_fine], "tails": f[b + 4:b + 6]}
            a += 2 + n_counts + n_fine
            if has_positions:
                column["fine_positions"] = i[a:a + n_fine - 2]
                a += n_fine - 2
            b += 6
            out[name] = column
        return out


_LAYOUTS: dict[bytes, Layout] = {}  # parsed once per process and layout


def layout_of(text: bytes) -> Layout:
    """The parsed layout of its JSON text (cached: a deployment's windows share one)."""
    found = _LAYOUTS.get(text)
    if found is None:
        import orjson

        found = _LAYOUTS[text] = _parse(orjson.loads(text))
    return found


def _parse(spec: list[Any]) -> Layout:
    import numpy as np

    ops: list[int] = []
    counts: list[int] = []
    positions: list[int] = []
    fine: list[int] = []
    kind, a = spec[0], 0
    if kind == "reg":
        n = 6 if spec[1] else 5
        a, ops, counts = 2, [SUM] * n, [-1] * n
    elif kind == "cls":
        k = len(spec[1])
        a = 2 + k * k + (2 * spec[3] * len(spec[2]) if spec[2] is not None else 0)
    else:
        for entry in spec[1]:
            if entry[1] == "c":
                a += 2 + len(entry[2])
                continue
            _, _, n_counts, n_fine, has_positions = entry
            ops += [MEAN, M2, MIN, MAX, SUM, SUM]
            counts += [a, a, -1, -1, -1, -1]
            first_fine = a + 2 + n_counts
            a = first_fine + n_fine
            if has_positions:
                positions += range(a, a + n_fine - 2)
                fine += range(first_fine + 1, first_fine + n_fine - 1)  # the bins inside the range
                a += n_fine - 2
    return Layout(spec, a, len(ops), np.array(ops, dtype=np.int8), np.array(counts, dtype=np.intp),
                  np.array(positions, dtype=np.intp), np.array(fine, dtype=np.intp))


# -- encoding ----------------------------------------------------------------------------------------

def encode(profile: dict[str, Any]) -> bytes:
    """The profile as a blob (``b"FBW1..."``, or ``b"FBJ1..."`` for a shape not laid out).

    Parameters
    ----------
    profile : dict
        A window's columns (``WindowColumns``), its performance, or ``{}``.

    Returns
    -------
    blob : bytes
        ``decode(blob) == profile``, integers and floats exactly.
    """
    import orjson

    try:
        spec, ints, floats, extras = _split(profile)
    except _NotPackable:
        return JSON + zlib.compress(orjson.dumps(profile), LEVEL)
    import numpy as np

    layout_text = orjson.dumps(spec)
    layout = layout_of(layout_text)
    values = np.array(ints) if ints else np.zeros(0, dtype=np.int64)
    if values.dtype.kind != "i":  # a float, text or an integer past int64
        return JSON + zlib.compress(orjson.dumps(profile), LEVEL)
    values = values.astype(np.int64)
    width, shift = _width(values, layout)
    if layout.positions.size:  # their difference from half a bin per value, shifted to be unsigned
        values[layout.positions] += shift - values[layout.fine] * HALF_BIN
    planes = values.astype(f"<u{width}" if width < 8 else "<i8").view(np.uint8).reshape(-1, width).T.tobytes()
    numbers = np.array([np.nan if v is None else v for v in floats], dtype="<f8").tobytes()
    more = orjson.dumps(extras) if extras else b""
    body = b"".join((HEADER.pack(len(more), shift, len(layout_text), width, values.size, len(floats)), layout_text, planes,
                     numbers, more))
    return PACKED + zlib.compress(body, LEVEL)


def _width(values: Any, layout: Layout) -> tuple[int, int]:
    """The narrowest width (1, 2 or 4 bytes unsigned, else 8 signed) that holds the integers and the
    positions' differences from half a bin per value, shifted to start at 0; and that shift."""
    import numpy as np

    if not values.size:
        return 1, 0
    plain = np.ones(values.size, dtype=bool)
    plain[layout.positions] = False
    low, high = (int(values[plain].min()), int(values[plain].max())) if plain.any() else (0, 0)
    shift = 0
    if layout.positions.size:
        residual = values[layout.positions] - values[layout.fine] * HALF_BIN
        shift = max(0, -int(residual.min()))
        high = max(high, int(residual.max()) + shift)
    if low < 0 or high >= 1 << 32:
        return 8, shift
    return next(k for k in (1, 2, 4) if high < 1 << (8 * k)), shift


def _split(profile: dict[str, Any]) -> tuple[list[Any], list[int], list[float | None], dict[str, Any]]:
    """Layout, integers, floats and extras of a profile; ``_NotPackable`` for any other shape."""
    if not profile or not isinstance(profile, dict):
        raise _NotPackable
    task = profile.get("task")
    if task == "regression":
        return _split_regression(profile)
    if task == "classification":
        return _split_classification(profile)
    spec: list[Any] = []
    ints: list[int] = []
    floats: list[float | None] = []
    unseen: dict[str, Any] = {}
    for name, column in profile.items():
        if not isinstance(name, str) or not isinstance(column, dict):
            raise _NotPackable
        kind = column.get("kind")
        if kind == "categorical" and column.keys() == _CATEGORICAL_KEYS and isinstance(column["value_counts"], dict) \
                and isinstance(column["unseen"], dict):
            spec.append([name, "c", list(column["value_counts"])])
            ints += [column["count"], column["nulls"], *column["value_counts"].values()]
            if column["unseen"]:
                unseen[name] = column["unseen"]
            continue
        keys = column.keys()
        has_positions = "fine_positions" in keys
        if kind != "numeric" or (keys - {"fine_positions"}) != _NUMERIC_KEYS:
            raise _NotPackable
        counts, fine, tails = column["counts"], column["fine"], column["tails"]
        if not (isinstance(counts, list) and isinstance(fine, list) and isinstance(tails, list)) or len(tails) != 2:
            raise _NotPackable
        found = [column["mean"], column["m2"], column["min"], column["max"], *tails]
        if any(v is not None and type(v) is not float for v in found):
            raise _NotPackable
        spec.append([name, "n", len(counts), len(fine), int(has_positions)])
        ints += [column["count"], column["nulls"], *counts, *fine]
        if has_positions:
            if not isinstance(column["fine_positions"], list) or len(column["fine_positions"]) != len(fine) - 2:
                raise _NotPackable
            ints += column["fine_positions"]
        floats += found
    return ["cols", spec], ints, floats, ({"unseen": unseen} if unseen else {})


def _split_regression(profile: dict[str, Any]) -> tuple[list[Any], list[int], list[float | None], dict[str, Any]]:
    has_err4 = "sum_err4" in profile
    names = _REGRESSION_SUMS[:3] + (("sum_err4",) if has_err4 else ()) + _REGRESSION_SUMS[3:]
    if profile.keys() != {"task", "labelled", "unknown_labels", *names}:
        raise _NotPackable
    floats = [profile[n] for n in names]
    ints = [profile["labelled"], profile["unknown_labels"]]
    if any(type(v) is not float for v in floats) or any(type(v) is not int for v in ints):
        raise _NotPackable
    return ["reg", int(has_err4)], ints, floats, {}


def _split_classification(profile: dict[str, Any]) -> tuple[list[Any], list[int], list[float | None], dict[str, Any]]:
    keys = profile.keys()
    if keys - {"scores"} != _CLASSIFICATION_KEYS:
        raise _NotPackable
    classes, confusion = profile["classes"], profile["confusion"]
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes) \
            or not isinstance(confusion, list) or len(confusion) != len(classes) \
            or any(not isinstance(row, list) or len(row) != len(classes) for row in confusion):
        raise _NotPackable
    ints = [profile["labelled"], profile["unknown_labels"], *(v for row in confusion for v in row)]
    scored, bins = None, 0
    if "scores" in keys:
        scores = profile["scores"]
        if not isinstance(scores, dict) or not scores:
            raise _NotPackable
        scored = list(scores)
        bins = len(next(iter(scores.values())).get("pos", []))
        for sides in scores.values():
            if not isinstance(sides, dict) or sides.keys() != {"pos", "neg"} \
                    or len(sides["pos"]) != bins or len(sides["neg"]) != bins:
                raise _NotPackable
            ints += [*sides["pos"], *sides["neg"]]
    return ["cls", classes, scored, bins], ints, [], {}


# -- decoding ----------------------------------------------------------------------------------------

def body_of(blob: bytes | memoryview) -> bytes | dict[str, Any]:
    """A blob's body (decompressed, for ``decode_body`` and ``stack``), or its profile when it was kept
    as JSON.

    Raises
    ------
    ValueError
        Not a blob this codec wrote.
    """
    head = bytes(blob[:4])
    if head == PACKED:
        return zlib.decompress(blob[4:])
    if head == JSON:
        import orjson

        return orjson.loads(zlib.decompress(blob[4:]))  # type: ignore[no-any-return]
    raise ValueError("not a stored window profile")


def key_of(body: bytes) -> bytes:
    """What bodies must share to be stacked: their layout and integer width."""
    size = HEADER.unpack_from(body)[2]
    return body[KEY:HEADER.size + size]  # all but the extras' length and the shift


def decode_body(body: bytes) -> dict[str, Any]:
    """The profile of one body: a stack of one."""
    one = stack([body])
    return one.layout.build(one.totals, one.floats[0], one.extras[0])


def decode(blob: bytes | memoryview) -> dict[str, Any]:
    """The profile ``encode`` was given.

    Raises
    ------
    ValueError
        Not a blob this codec wrote.
    """
    body = body_of(blob)
    return body if isinstance(body, dict) else decode_body(body)


@dataclass(frozen=True)
class Stack:
    """Windows of one layout and width, stacked: what a merge of them needs, without a dict per window."""

    layout: Layout
    totals: Any  # ndarray of shape (n_ints,), int64: the windows' integers added (positions restored)
    floats: Any  # ndarray of shape (n_windows, n_floats), float64
    counts: Any  # ndarray of shape (n_windows, n_floats), int64: for MEAN and M2 slots, the column's count
    extras: list[dict[str, Any]]  # the windows' extras, in order ({} for most)
    bodies: list[bytes]

    def window(self, i: int) -> dict[str, Any]:
        """Window ``i``'s profile."""
        if len(self.bodies) == 1:
            return self.layout.build(self.totals, self.floats[0], self.extras[0])
        return decode_body(self.bodies[i])


def stack(bodies: list[bytes]) -> Stack:
    """Bodies that share ``key_of`` stacked: their integers added as one matrix, floats side by side.

    Parameters
    ----------
    bodies : list of bytes, at least one
        Bodies (``body_of``) of one layout and width.
    """
    import numpy as np

    _, _, size, width, n, m = HEADER.unpack_from(bodies[0])
    start = HEADER.size + size
    layout = layout_of(bodies[0][HEADER.size:start])
    end = start + width * n + 8 * m
    joined = b"".join([b[:end] for b in bodies])
    rows = np.frombuffer(joined, dtype=np.uint8).reshape(len(bodies), end)
    planes = rows[:, start:start + width * n].reshape(len(bodies), width, n)
    # the floats and shifts read in place (views, aligned or not: the same values without a copy)
    floats = np.ndarray((len(bodies), m), dtype="<f8", buffer=joined, offset=start + width * n, strides=(end, 8))
    shift = int(np.ndarray((len(bodies),), dtype="<i8", buffer=joined, offset=4, strides=(end,)).sum())
    counts = np.zeros(floats.shape, dtype=np.int64)
    slots = layout.slots
    if slots["counted"].size:
        counts[:, slots["counted"]] = _columns(planes, width, slots["count_columns"])
    extras = [_extras(b, end) if len(b) > end else {} for b in bodies]
    return Stack(layout, _sum(planes, width, shift, layout), floats, counts, extras, bodies)


def _extras(body: bytes, at: int) -> dict[str, Any]:
    import orjson

    return orjson.loads(body[at:])  # type: ignore[no-any-return]


def _columns(planes: Any, width: int, columns: Any) -> Any:
    """Each window's integers in ``columns``: ndarray of shape (n_windows, len(columns)), int64."""
    import numpy as np

    values = planes[:, 0, columns].astype(np.int64)
    for k in range(1, width):  # int64 wraps: the eighth plane of a signed integer gives its sign
        values |= planes[:, k, columns].astype(np.int64) << (8 * k)
    return values


def _sum(planes: Any, width: int, shift: int, layout: Layout) -> Any:
    """The windows' integers added, positions restored: ndarray of shape (n_ints,), int64.

    Sums are taken plane by plane (a byte plane's sum shifted into place; int64 arithmetic wraps, so
    signed integers add too). Positions are stored as their difference from half a bin per value plus
    a shift: linear, so the sum of the stored values, less the windows' shifts (``shift``, summed),
    gives the sum of the positions.
    """
    import numpy as np

    total = np.add.reduce(planes[:, 0, :], axis=0, dtype=np.int64)
    for k in range(1, width):
        total += np.add.reduce(planes[:, k, :], axis=0, dtype=np.int64) << (8 * k)
    if layout.positions.size:
        total[layout.positions] += total[layout.fine] * HALF_BIN - shift
    return total
