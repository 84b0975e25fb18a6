"""The drift methods by name: each module's spec and scorer, in one table."""

from __future__ import annotations

from fuseboard.monitoring.drift.methods import chisquare, jensenshannon, ks, psi, wasserstein
from fuseboard.monitoring.drift.base import Method, Scorer

SCORERS: dict[str, Scorer] = {}
METHODS: dict[str, Method] = {}


def register(method: Method, scorer: Scorer) -> None:
    """Add a drift method (its name must be new)."""
    if method.name in METHODS:
        raise ValueError(f"drift method {method.name!r} is already registered")
    METHODS[method.name] = method
    SCORERS[method.name] = scorer


for _module in (psi, ks, wasserstein, chisquare, jensenshannon):
    register(_module.METHOD, _module.score)
