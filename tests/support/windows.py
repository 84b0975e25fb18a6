"""Seeded window profiles folded from raw rows, and comparing profiles bit for bit: shared by the
tests of the history merges and of the compact window codec."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import orjson
import pandas as pd

from fuseboard.monitoring import performance, profiles, windows


def seeded_windows(n: int = 60, seed: int = 0, raw: list | None = None) -> tuple[list[dict], list[dict]]:
    """``n`` windows of three columns (a numeric one with nulls in some windows, a skewed one, a
    categorical one) folded from raw rows on a reference's bins, and their classifier performance;
    ``raw`` receives each window's labels, predictions and scores (None: no labels)."""
    rng = np.random.default_rng(seed)
    reference = pd.DataFrame({"x": rng.normal(0, 1, 2000), "y": rng.exponential(3, 2000),
                              "c": rng.choice(["a", "b", "c"], 2000)})
    ref = {name: profiles.profile_column(reference[name], "categorical" if name == "c" else "numeric")
           for name in reference}
    columns, perfs = [], []
    for i in range(n):
        size = int(rng.integers(0, 40))
        x = rng.normal(0.3 * (i % 3), 1, size)
        if i % 7 == 0:
            x[: size // 2] = np.nan  # nulls
        if i % 11 == 0:
            x[:] = np.nan  # a window whose values are all missing: no min, no max
        y = rng.exponential(3, size) * (1 + (i > n // 2))
        c = rng.choice(["a", "b", "c", "d"], size)
        columns.append({"x": windows.fold_numeric(x, ref["x"]), "y": windows.fold_numeric(y, ref["y"]),
                        "c": windows.fold_categorical(c, ref["c"])})
        labels = rng.integers(0, 2, size)
        scores = np.clip(0.3 + 0.4 * labels + rng.normal(0, 0.2, size), 0, 1)
        labelled = bool(i % 5)  # some windows without labels
        perfs.append(performance.fold_classification(labels, (scores > 0.5).astype(int), [0, 1], scores)
                     if labelled else {})
        if raw is not None:
            raw.append((labels, (scores > 0.5).astype(int), scores) if labelled else None)
    return columns, perfs


def exact(value: object) -> bytes:
    """The value as JSON with sorted keys and every float as its 64 bits, so equality is bit for bit."""
    def bits(v: object) -> object:
        if isinstance(v, float):
            return ["f", struct.pack("<d", v).hex()]
        if isinstance(v, dict):
            return {k: bits(x) for k, x in v.items()}
        if isinstance(v, list):
            return [bits(x) for x in v]
        return v
    return orjson.dumps(bits(value), option=orjson.OPT_SORT_KEYS)


def close(a: object, b: object) -> bool:
    """Equal, floats to 1e-12 relative (merged blobs combine means and sums of squares in closed form)."""
    import pytest

    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, rel=1e-12, abs=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    return a == b and type(a) is type(b)


def traffic_windows() -> Any:
    """``select(WindowProfile)`` of the windows a test's own traffic made: every window but those of the
    demo's week of history (ops/demo_history.py: one model in prod, there before any test begins)."""
    from sqlmodel import select

    from fuseboard.ops.demo_history import MODEL
    from fuseboard.store.models import Model, WindowProfile

    return select(WindowProfile).join(Model, Model.id == WindowProfile.model_id).where(Model.name != MODEL)


def drop_demo_history(url: str) -> None:
    """Delete the demo's week of history (its windows and check runs) from the workspace at ``url``, for the
    tests that count every window a compaction or a deletion touches: only their own traffic is then there."""
    from sqlmodel import delete, select

    from fuseboard.ops.demo_history import MODEL
    from fuseboard.store.db import open_workspace
    from fuseboard.store.models import CheckRun, Model, WindowProfile

    ws = open_workspace(url)
    try:
        with ws.transaction() as s:
            model_id = s.exec(select(Model.id).where(Model.name == MODEL)).one()
            s.exec(delete(WindowProfile).where(WindowProfile.model_id == model_id))
            s.exec(delete(CheckRun).where(CheckRun.model_id == model_id))
    finally:
        ws.close()
