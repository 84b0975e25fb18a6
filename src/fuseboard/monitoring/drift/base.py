"""What every drift method shares: its spec (``Method``), a scorer's signature and proportions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from fuseboard.monitoring.shapes import FeatureProfile, WindowFeature

# a method's scorer: (reference profile, window profile) -> (score, statistic or None)
Scorer = Callable[[FeatureProfile, WindowFeature], tuple[float, float | None]]


@dataclass(frozen=True)
class Method:
    """A drift method and its default thresholds."""

    name: str
    numeric_only: bool
    lower_is_drift: bool  # p-values: small means drift
    threshold: float
    critical: float | None = None


def _props(counts: Sequence[float], floor: float = 0.0) -> list[float]:
    total = float(sum(counts))
    if total <= 0:
        raise ValueError("a histogram with no values has no proportions")
    props = [c / total for c in counts]
    if floor:
        props = [max(p, floor) for p in props]
        norm = sum(props)
        props = [p / norm for p in props]
    return props
