"""What every drift method shares: its spec (``Method``), a scorer's signature and proportions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from fuseboard.monitoring.shapes import FeatureProfile, WindowFeature

# a method's scorer: (reference profile, window profile) -> (score, statistic or None)
Scorer = Callable[[FeatureProfile, WindowFeature], tuple[float, float | None]]
# a test's effect size (its magnitude, whatever the sample sizes): (reference profile, window profile) -> effect
Effect = Callable[[FeatureProfile, WindowFeature], float]
# a method that picks another per feature and window (``auto``): (reference, window, threshold) -> method name
Chooser = Callable[[FeatureProfile, WindowFeature, "float | None"], str]
# which features a method can score beyond ``numeric_only`` (ztest: at most two categories): reference -> bool
Accepts = Callable[[FeatureProfile], bool]


@dataclass(frozen=True)
class Method:
    """A drift method and its default thresholds.

    ``threshold`` is where drift begins: a score at or above it, or for a test (``lower_is_drift``)
    a p-value below it. ``critical`` is where drift is critical: for a distance, the score; for a
    test, its effect size (``effect_name``: a p-value says how sure, not how large), so a tiny
    shift that a large window makes certain stays a warning. ``choose`` (``auto`` only) picks the
    method that scores a feature, at check time.
    """

    name: str
    numeric_only: bool
    lower_is_drift: bool  # p-values: small means drift
    threshold: float
    critical: float | None = None
    effect_name: str | None = None  # tests: what ``critical`` measures (distances: the score itself)
    choose: Chooser | None = None
    accepts: Accepts | None = None

    def can_score(self, reference: FeatureProfile) -> bool:
        """Whether this method can score a feature with this reference profile."""
        if self.numeric_only and reference["kind"] != "numeric":
            return False
        return self.accepts is None or self.accepts(reference)


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
