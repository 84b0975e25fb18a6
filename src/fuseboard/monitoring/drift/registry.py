"""The drift methods by name: each module's spec, scorer and (tests) effect size, in one table."""

from __future__ import annotations

import dataclasses

from fuseboard.monitoring.drift.base import Effect, Method, Scorer
from fuseboard.monitoring.drift.methods import auto, chisquare, jensenshannon, ks, psi, wasserstein, ztest

SCORERS: dict[str, Scorer] = {}
EFFECTS: dict[str, Effect] = {}
METHODS: dict[str, Method] = {}

# critical levels for methods whose module does not set one: what a mean shift of half a standard
# deviation gives, where PSI reaches its 0.25
CRITICAL = {"wasserstein": 0.5}


def register(method: Method, scorer: Scorer, effect: Effect | None = None) -> None:
    """Add a drift method (its name must be new); a test (``lower_is_drift``) with a critical level
    needs its ``effect``, the magnitude that level is compared with."""
    if method.name in METHODS:
        raise ValueError(f"drift method {method.name!r} is already registered")
    if method.lower_is_drift and method.critical is not None and effect is None:
        raise ValueError(f"drift method {method.name!r} has a critical level but no effect size to compare")
    METHODS[method.name] = method
    SCORERS[method.name] = scorer
    if effect is not None:
        EFFECTS[method.name] = effect


for _module in (psi, ks, wasserstein, chisquare, jensenshannon, ztest, auto):
    _spec = _module.METHOD
    if _spec.critical is None and _spec.name in CRITICAL:
        _spec = dataclasses.replace(_spec, critical=CRITICAL[_spec.name])
    register(_spec, _module.score, getattr(_module, "effect", None))
