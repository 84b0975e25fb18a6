"""How far a metric may slip from its baseline: a warn and a crit level per metric, graded.

A tolerance has a kind and two amounts. ``abs``: the metric degrades when it falls below the
baseline by more than the amount (ROC AUC, accuracy, precision, recall, F1, R²); ``abs_up``: when
it rises above it by more (an error, in its own units); ``rel``: when it rises by more than that
fraction of the baseline (an error, in percent). Past ``warn`` the metric is ``warn``, past
``crit`` it is ``crit``; the check is its worst metric.

Defaults depend on the model's tier (``LEVELS``); ROC AUC and RMSE are checked unless a model's
settings name other metrics:

===================  ==================  ==================
metric               internal            mission-critical
===================  ==================  ==================
scores (roc_auc...)  warn -0.05, crit -0.15  warn -0.05, crit -0.10
errors (rmse, mae)   warn +10%, crit +50%    warn +10%, crit +25%
===================  ==================  ==================

Settings store ``[kind, warn, crit]``; the older ``[kind, amount]`` (one level, from before
tolerances were graded) still reads: its amount is the warn level and crit is that amount times
the tier's crit / warn ratio for the metric's direction (internal: 3 for scores, 5 for errors;
mission-critical: 2 and 2.5).

Below the labelled rows a point verdict needs, a metric is graded on its 95% interval
(intervals.py): the level the whole interval is past, ``ok`` when the whole interval is within
the warn level, and no grade (``none``) when the interval straddles it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal, Mapping, Sequence

from fuseboard.errors import FuseboardError
from fuseboard.monitoring import intervals
from fuseboard.monitoring.intervals import Interval
from fuseboard.monitoring.shapes import PerformanceProfile, ValidationMetrics

HIGHER_IS_BETTER = ("roc_auc", "accuracy", "precision", "recall", "f1", "r2")
LOWER_IS_BETTER = ("rmse", "mae")
METRICS = HIGHER_IS_BETTER + LOWER_IS_BETTER  # what performance.metrics measures on labelled windows
KINDS = ("abs", "abs_up", "rel")
DEFAULT_METRICS = ("roc_auc", "rmse")
Direction = Literal["higher", "lower"]
# tier -> direction -> (kind, warn, crit)
LEVELS: dict[str, dict[str, tuple[str, float, float]]] = {
    "internal": {"higher": ("abs", 0.05, 0.15), "lower": ("rel", 0.10, 0.50)},
    "mission-critical": {"higher": ("abs", 0.05, 0.10), "lower": ("rel", 0.10, 0.25)},
}
Grade = Literal["ok", "warn", "crit", "none"]  # none: the interval straddles the warn level


def direction(metric: str) -> Direction:
    """``lower`` for an error (rmse, mae), ``higher`` for every other metric."""
    return "lower" if metric in LOWER_IS_BETTER else "higher"


@dataclass(frozen=True)
class Tolerance:
    """A metric's two levels, in ``kind``'s terms (see the module's docstring)."""

    kind: str
    warn: float
    crit: float

    def limit(self, baseline: float, amount: float) -> float:
        """The metric's value ``amount`` away from ``baseline``, in the bad direction."""
        if self.kind == "abs":
            return baseline - amount
        if self.kind == "abs_up":
            return baseline + amount
        return baseline * (1 + amount)

    @property
    def falls(self) -> bool:
        """True when lower values are worse (``abs``)."""
        return self.kind == "abs"

    def grade(self, baseline: float, value: float) -> Grade:
        """The grade of a measured value: past crit, past warn, or ok."""
        for level, amount in (("crit", self.crit), ("warn", self.warn)):
            limit = self.limit(baseline, amount)
            if (value < limit) if self.falls else (value > limit):
                return level  # type: ignore[return-value]
        return "ok"

    def grade_interval(self, baseline: float, found: Interval) -> Grade:
        """The level the whole interval is past; ``ok`` when all of it is within warn; else ``none``."""
        high = math.inf if found.high is None else found.high
        best, worst_end = (high, found.low) if self.falls else (found.low, high)
        grade = self.grade(baseline, best)  # the interval's most favourable end
        if grade != "ok":
            return grade
        return "ok" if self.grade(baseline, worst_end) == "ok" else "none"

    def text(self) -> str:
        """e.g. ``warn -0.05, crit -0.15`` or ``warn +10%, crit +50%``."""
        return f"warn {self.amount(self.warn)}, crit {self.amount(self.crit)}"

    def amount(self, value: float) -> str:
        if self.kind == "rel":
            return f"+{value * 100:g}%"
        return f"{'-' if self.falls else '+'}{value:g}"

    def setting(self) -> list[str | float]:
        """As stored in a model's settings."""
        return [self.kind, self.warn, self.crit]


def default(metric: str, criticality: str) -> Tolerance:
    """The tier's levels for ``metric``'s direction."""
    kind, warn, crit = LEVELS.get(criticality, LEVELS["internal"])[direction(metric)]
    return Tolerance(kind, warn, crit)


def from_setting(metric: str, value: Sequence[Any], criticality: str) -> Tolerance:
    """A stored setting read for a tier: ``[kind, warn, crit]``, or the older ``[kind, amount]``."""
    if len(value) >= 3:
        return Tolerance(str(value[0]), float(value[1]), float(value[2]))
    base = default(metric, criticality)
    amount = float(value[1])
    return Tolerance(str(value[0]), amount, amount * base.crit / base.warn)


def resolve(settings: Mapping[str, Sequence[Any]], criticality: str) -> dict[str, Tolerance]:
    """The tolerances a model is checked with: the tier's defaults, then what its settings set.

    Parameters
    ----------
    settings : mapping of str to sequence
        Metric -> ``[kind, warn, crit]`` or ``[kind, amount]`` (``MonitoringSettings["tolerances"]``).
    criticality : {"internal", "mission-critical"}

    Returns
    -------
    tolerances : dict of str to Tolerance
        ``DEFAULT_METRICS`` first, then the others set, in their order.
    """
    out = {metric: default(metric, criticality) for metric in DEFAULT_METRICS}
    for metric, value in settings.items():
        out[metric] = from_setting(metric, value, criticality)
    return out


# -- reading what a user typed ------------------------------------------------------------------

def parse(metric: str, text: str) -> list[str | float]:
    """``--tolerance``'s value for one metric, as stored: ``[kind, warn, crit]`` or ``[kind, amount]``.

    ``warn:10%,crit:50%`` (a rise in percent of the baseline: errors only), ``warn:0.02,crit:0.05``
    (an absolute drop of a score, or rise of an error), or the older ``KIND:AMOUNT`` (``abs:0.05``).

    Parameters
    ----------
    metric : str
        One of ``METRICS``.
    text : str

    Returns
    -------
    setting : list
        Checked as ``check`` checks it.

    Raises
    ------
    FuseboardError
        One line naming the metric (field ``tolerance``).
    """
    if metric not in METRICS:
        raise _bad(metric, f"not a metric fuseboard measures ({', '.join(METRICS)})")
    text = text.strip()
    kind, sep, rest = text.partition(":")
    if not sep:
        raise _bad(metric, f"{text!r} is not warn:AMOUNT,crit:AMOUNT (e.g. {_example(metric)}) nor KIND:AMOUNT")
    if kind in KINDS and "," not in rest:
        return check(metric, [kind, rest])
    levels: dict[str, str] = {}
    for part in text.split(","):
        name, sep, amount = part.strip().partition(":")
        if not sep or name not in ("warn", "crit") or name in levels or not amount.strip():
            raise _bad(metric, f"{part.strip()!r}: give warn:AMOUNT,crit:AMOUNT, e.g. {_example(metric)} "
                       f"(or KIND:AMOUNT, KIND one of {', '.join(KINDS)})")
        levels[name] = amount.strip()
    if set(levels) != {"warn", "crit"}:
        raise _bad(metric, f"give both levels, e.g. {_example(metric)}")
    percent = [v.endswith("%") for v in (levels["warn"], levels["crit"])]
    if any(percent) and not all(percent):
        raise _bad(metric, "give both levels in percent or both as numbers")
    if all(percent):
        if direction(metric) == "higher":
            raise _bad(metric, f"a percentage is for an error (rmse, mae); give {metric}'s drop as a number, "
                       f"e.g. {_example(metric)}")
        warn, crit = (_amount(metric, levels[k][:-1], f"the {k} level") / 100 for k in ("warn", "crit"))
        return check(metric, ["rel", warn, crit])
    kind = "abs" if direction(metric) == "higher" else "abs_up"
    return check(metric, [kind, levels["warn"], levels["crit"]])


def check(metric: str, value: Sequence[Any]) -> list[str | float]:
    """A setting (``[kind, warn, crit]`` or ``[kind, amount]``) checked and cleaned.

    Raises
    ------
    FuseboardError
        An unknown metric or kind, an amount that is not a finite non-negative number, crit below warn.
    """
    if metric not in METRICS:
        raise _bad(metric, f"not a metric fuseboard measures ({', '.join(METRICS)})")
    if isinstance(value, str) or not 2 <= len(value) <= 3:
        raise _bad(metric, "expected [kind, warn, crit] or [kind, amount]")
    kind = value[0]
    if kind not in KINDS:
        raise _bad(metric, f"the kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if len(value) == 2:
        return [kind, _amount(metric, value[1], "the amount")]
    warn, crit = _amount(metric, value[1], "the warn level"), _amount(metric, value[2], "the crit level")
    if crit < warn:
        found = Tolerance(kind, warn, crit)
        raise _bad(metric, f"crit ({found.amount(crit)}) must be at least warn ({found.amount(warn)})")
    return [kind, warn, crit]


def _amount(metric: str, value: Any, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _bad(metric, f"{what} must be a number, not {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise _bad(metric, f"{what} must be a finite number, at least 0, not {value!r}")
    return number


def _example(metric: str) -> str:
    return f"{metric}=warn:10%,crit:50%" if direction(metric) == "lower" else f"{metric}=warn:0.02,crit:0.05"


def _bad(metric: str, why: str) -> FuseboardError:
    return FuseboardError(f"tolerance {metric}: {why}", field="tolerance")


# -- the verdict --------------------------------------------------------------------------------

@dataclass
class MetricCheck:
    """One metric against its baseline, graded (``assess``)."""

    metric: str
    baseline: float
    current: float
    tolerance: str  # both levels, e.g. "warn +10%, crit +50%"
    kind: str
    warn: float
    crit: float
    grade: Grade
    rows: int
    interval: Interval | None = None  # below the rows a point verdict needs

    @property
    def degraded(self) -> bool:
        return self.grade in ("warn", "crit")

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["degraded"] = self.degraded
        if self.interval is None:
            del out["interval"]
        else:
            out["interval"], out["interval_method"] = self.interval.as_list(), self.interval.method
        return out


def assess(profile: PerformanceProfile, current: dict[str, float], baseline: ValidationMetrics,
           tolerances: Mapping[str, Tolerance], min_samples: int) -> list[MetricCheck]:
    """Grade each tolerated metric against the baseline.

    From ``min_samples`` labelled rows on, the measured value is graded; below, its 95% interval
    (``intervals.interval``), and a metric without one gets ``none``.

    Parameters
    ----------
    profile : ClassificationPerformance or RegressionPerformance
        The labelled rows checked.
    current : dict of str to float
        ``performance.metrics(profile)``.
    baseline : dict
        The version's validation metrics (non-numbers are skipped).
    tolerances : mapping of str to Tolerance
        ``resolve``'s.
    min_samples : int

    Returns
    -------
    checks : list of MetricCheck
        One per tolerated metric measured both now and in the baseline.
    """
    rows = profile.get("labelled", 0)
    checks = []
    for metric, tol in tolerances.items():
        base = baseline.get(metric)
        if metric not in current or not isinstance(base, (int, float)) or isinstance(base, bool):
            continue
        found = intervals.interval(profile, metric) if rows < min_samples else None
        if rows >= min_samples:
            grade = tol.grade(float(base), current[metric])
        else:
            grade = tol.grade_interval(float(base), found) if found is not None else "none"
        checks.append(MetricCheck(metric, float(base), float(current[metric]), tol.text(), tol.kind, tol.warn,
                                  tol.crit, grade, rows, found))
    return checks
