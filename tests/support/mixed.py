"""A seeded table of 16 mixed features (numeric, skewed, counts, categories, binary flags), for the
no-shift controls of the ``auto`` drift method, and ways to shift it."""

from __future__ import annotations

import numpy as np
import pandas as pd

CATEGORIES = [f"c{i:02d}" for i in range(30)]
ZIPF = (1 / np.arange(1, 31)) / np.sum(1 / np.arange(1, 31))


def mixed_frame(n: int, seed: int) -> pd.DataFrame:
    """``n`` rows: 8 numeric features (normal, skewed, heavy-tailed, counts), 5 categorical (3 to 30
    categories) and 3 binary flags (as text, as booleans)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "age": rng.normal(40, 12, n).round(),
        "income": rng.lognormal(10.5, 0.6, n),  # skewed
        "balance": rng.exponential(2_000, n),
        "rating": rng.beta(2, 5, n),
        "tenure": rng.gamma(1.5, 24, n),
        "latency_ms": rng.standard_t(3, n) * 20 + 200,  # heavy tails
        "calls": rng.poisson(1.5, n).astype(float),  # small counts
        "amount": rng.normal(500, 150, n),
        "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.6, 0.3, 0.1]),
        "region": rng.choice(["n", "s", "e", "w", "c"], n),
        "channel": rng.choice(["web", "app", "store", "phone"], n, p=[0.5, 0.3, 0.15, 0.05]),
        "segment": rng.choice(list("abcdefgh"), n, p=[0.3, 0.2, 0.15, 0.1, 0.1, 0.08, 0.05, 0.02]),
        "merchant": rng.choice(CATEGORIES, n, p=ZIPF),  # 30 categories, a long tail
        "is_new": rng.choice(["yes", "no"], n, p=[0.3, 0.7]),
        "has_card": rng.random(n) < 0.8,  # booleans: a category
        "promo": rng.choice(["on", "off"], n, p=[0.05, 0.95]),  # a rare flag
    })


def shifted(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The window with three real changes: ``income`` up by half its spread (in log), a different
    ``plan`` mix, and the ``is_new`` rate from 30% to 55%."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    n = len(out)
    out["income"] = rng.lognormal(10.5 + 0.3, 0.6, n)
    out["plan"] = rng.choice(["basic", "plus", "pro"], n, p=[0.35, 0.35, 0.3])
    out["is_new"] = rng.choice(["yes", "no"], n, p=[0.55, 0.45])
    return out


SHIFTED = {"income", "plan", "is_new"}
