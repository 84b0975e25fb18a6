"""What each check stores beside its verdict: one TypedDict per check kind (a JSON contract).

``CheckResult.details`` is written by the evaluations (evaluate.py), stored as JSON in the
check's state and history rows, and read back by name by the console's deployment view and the
monitor (the health check's previous probes, the version an endpoint reports). These types are
that contract, so writer and readers agree on the keys. A check without a verdict (``none``),
one that failed (``error``) and the staleness check store no details: ``NoDetails`` (``{}``); the
one exception is a performance check whose small sample's intervals straddle a warn level: it
stores its ``PerformanceDetails`` (the intervals it measured).

Pure types: no database, no HTTP.
"""

# no ``from __future__ import annotations``: the annotations are evaluated, so NotRequired keys are optional at
# runtime too (``__optional_keys__``)
from typing import Literal, NotRequired, TypedDict, Union


class NoDetails(TypedDict):
    """No details: staleness, and any check without a verdict or that failed."""


class DriftFeature(TypedDict):
    """One feature's drift, as ``drift.FeatureDrift`` scored it."""

    feature: str
    method: str  # the method that scored it, a name in drift.METHODS (never "auto": the one auto chose)
    score: float  # a distance, or a test's p-value (ks, chisquare, ztest)
    threshold: float
    drifted: bool
    severity: str  # ok, warn or crit
    chosen_by: NotRequired[Literal["auto"]]  # the method was chosen for this window (absent: set for it)
    effect: NotRequired[float]  # what ``critical`` is compared with: a distance's score, a test's effect size
    critical: NotRequired[float]  # where this feature's drift is critical (absent: never)
    adjusted: NotRequired[float]  # tests: the p-value adjusted over the window's tests (Benjamini-Hochberg)
    importance: NotRequired[float]  # the feature's share of the model's permutation importance (absent: not measured)


class DriftDetails(TypedDict):
    """The ``drift`` check: every feature scored, drifted ones first (worst first)."""

    dataset_drift: bool  # at least ``drift_share`` of the features drifted
    drift_share: float
    key_features_drifted: list[str]
    features: list[DriftFeature]
    drifted_importance: NotRequired[float]  # the share of the importance the drifted features carry
    importance_floor: NotRequired[float]  # the policy's: under it the drift is at most warn and only watched
    capped_by_importance: NotRequired[bool]  # would be crit, but the drifted features carry under the floor: warn


class PredictionDriftDetails(TypedDict):
    """The ``prediction_drift`` check: the score (or predicted class) distribution against the reference."""

    feature: Literal["score", "prediction"]
    method: str  # the method that scored it (the model's default method; auto's choice)
    score: float
    threshold: float
    drifted: bool
    severity: NotRequired[str]  # ok, warn or crit (absent in checks stored before it was graded)
    chosen_by: NotRequired[Literal["auto"]]
    effect: NotRequired[float]


class MetricCheckDetails(TypedDict):
    """One metric against its validation baseline (``tolerance.MetricCheck.as_dict()``).

    The keys marked "graded" are written since tolerances have a warn and a crit level; details
    stored before lack them (``tolerance`` was then one level, e.g. "-0.05 abs" or "+10%").
    """

    metric: str
    baseline: float
    current: float
    tolerance: str  # both levels, e.g. "warn -0.05, crit -0.15" or "warn +10%, crit +50%"
    degraded: bool  # graded warn or crit
    rows: int
    grade: NotRequired[str]  # graded: ok, warn, crit, or none (a small sample's interval straddles warn)
    kind: NotRequired[str]  # graded: abs, abs_up or rel (tolerance.KINDS)
    warn: NotRequired[float]  # graded: the levels' amounts in ``kind``'s terms
    crit: NotRequired[float]
    interval: NotRequired[list[Union[float, None]]]  # below min_labelled rows: the 95% interval [low, high]
    interval_method: NotRequired[str]  # how it was computed (intervals.py): wilson, delong, bootstrap, t, ...


class PerformanceDetails(TypedDict):
    """The ``performance`` check: the window's metrics and each tolerated one's grade."""

    metrics: dict[str, float]
    checks: list[MetricCheckDetails]


class EstimatedDetails(TypedDict):
    """The ``estimated_performance`` check: the metrics estimated without labels (CBPE, DLE), each tolerated
    one graded like a measured one, and what the labels that did arrive in the same window say."""

    method: Literal["cbpe", "dle"]
    metrics: dict[str, float]  # estimated
    checks: list[MetricCheckDetails]  # ``interval_method`` "sampling": estimate +/- 1.96 sigma / sqrt(rows)
    labelled: int  # rows of the window whose labels arrived
    realized: dict[str, float]  # their measured metrics ({} without labelled rows)
    error: dict[str, float]  # estimated minus realized, per metric both have


class MultivariateDetails(TypedDict):
    """The ``multivariate_drift`` check: the window's mean PCA reconstruction error against its range."""

    mean_error: float
    low: float
    high: float  # the reference's mean error +/- 3 standard deviations of a window of this size
    reference_mean: float
    drifted: bool
    components: int
    variance_share: float


class QualityFinding(TypedDict):
    """A feature whose nulls, unseen categories or out-of-range values pass the policy's thresholds."""

    feature: str
    finding: Literal["nulls", "unseen", "out_of_range"]
    rate: float  # share of the window's rows
    reference_rate: NotRequired[float]  # nulls: the reference's null rate
    values: NotRequired[list[str]]  # unseen: up to five of the categories the reference never had


class QualityDetails(TypedDict):
    """The ``quality`` check."""

    findings: list[QualityFinding]


#: A probe as the health history keeps it: [time (ISO 8601, seconds), up (1 or 0), latency in ms or None].
ProbeSample = list[Union[str, int, float, None]]


class HealthDetails(TypedDict):
    """The ``health`` check: the last probe (``probe.ProbeResult``'s fields) and the recent history."""

    up: bool
    status_code: int | None
    latency_ms: float | None
    version: str | None  # what the endpoint reports serving
    error: str
    samples: list[ProbeSample]  # oldest first, at most ``Policy.probe_history``
    consecutive_failures: int
    uptime: float  # share of the samples that were up
    p50_ms: float | None
    p95_ms: float | None


CheckDetails = Union[DriftDetails, PredictionDriftDetails, PerformanceDetails, QualityDetails, HealthDetails,
                     EstimatedDetails, MultivariateDetails, NoDetails]

#: The details each check kind writes when it has a verdict.
DETAILS_OF: dict[str, type] = {
    "drift": DriftDetails, "prediction_drift": PredictionDriftDetails, "performance": PerformanceDetails,
    "quality": QualityDetails, "staleness": NoDetails, "health": HealthDetails,
    "estimated_performance": EstimatedDetails, "multivariate_drift": MultivariateDetails,
}
