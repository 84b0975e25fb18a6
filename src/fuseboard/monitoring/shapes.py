"""The JSON shapes of profiles, as TypedDicts: the contract between the modules that write them
(profiles.py, windows.py, performance.py) and those that read them (drift/, the checks, ingest).

Profiles are stored as JSON in the database and read back as plain dicts, so these are types for
the reader and the type checker only: nothing is converted. Standard library only, cheap to import.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

Kind = Literal["numeric", "categorical"]


class SchemaEntry(TypedDict):
    """One column of a model's features (``profiles.feature_schema``)."""

    name: str
    kind: Kind
    dtype: str  # the pandas dtype the reference data had, as text
    # numbers inferred categorical: why ("boolean", "integer with 2 values"); absent otherwise, when the
    # kind was given (--feature NAME=KIND), and in schemas written before it was kept
    inferred: NotRequired[str]


class FineBins(TypedDict):
    """A reference's fine bins: every percentile, plus log-spaced levels in both tails, a bin of its
    own for each point mass and the widest bins halved (``histograms.fine_histogram``)."""

    edges: list[float]
    counts: list[int]  # len(edges) - 1 entries
    # per bin, the sum of its values' distances from its left edge in tenths of its width
    # (``histograms.bin_positions``); absent in profiles written before it was kept
    positions: NotRequired[list[int]]
    # the positions in ``edges`` of the edges that halved a bin for the Wasserstein check (KS and
    # Jensen-Shannon compare the bins without them); absent in profiles written before them
    halved: NotRequired[list[int]]


class NumericProfile(TypedDict):
    """A numeric column of the reference data (``profiles.numeric_profile``)."""

    kind: Literal["numeric"]
    count: int  # finite values
    nulls: int  # missing, unparseable or infinite values
    mean: float | None  # None (as are std, min and max) when the column has no finite value
    std: float | None  # sample standard deviation (ddof=1); 0.0 for a single value
    min: float | None
    max: float | None
    quantiles: dict[str, float]  # "p5", "p25", "p50", "p75", "p95"
    edges: list[float]  # the decile edges, repeats dropped, a point mass's bin [v, nextafter(v)); [] without values
    counts: list[int]  # reference values in each bin: len(edges) - 1 entries
    fine: NotRequired[FineBins]  # absent without values


class CategoricalProfile(TypedDict):
    """A categorical column of the reference data (``profiles.categorical_profile``)."""

    kind: Literal["categorical"]
    count: int  # present values
    nulls: int
    distinct: int
    value_counts: dict[str, int]  # most frequent first; "__other__": the count of the values not kept
    # the values not kept, as sorted 64-bit hashes (base64); None past MAX_HASHED; absent when all were
    # kept (or the profile is older than the hashes)
    other_hashes: NotRequired[str | None]


FeatureProfile = NumericProfile | CategoricalProfile


class Importance(TypedDict):
    """How much the model leans on each feature (``ops.importance``): permutation importance."""

    method: Literal["permutation"]
    scoring: str  # the score whose drop was measured: "roc_auc", "accuracy", "root_mean_squared_error"
    on: Literal["validation", "reference"]  # which rows were shuffled
    rows: int
    repeats: int
    drop: dict[str, float]  # per feature: the mean drop of the score when its column is shuffled
    share: dict[str, float]  # per feature: its positive drop over the sum of them (they add up to 1, or all 0)


class Calibration(TypedDict):
    """How a classifier's scores become probabilities for CBPE (``monitoring.estimation.cbpe``).

    One map per class scored (binary: the positive class, ``classes[1]``), each breakpoints read by linear
    interpolation (clipped at the ends): an isotonic regression's, or Platt's sigmoid at ``cbpe.GRID``
    points; none at all when the model's own scores were as well calibrated (``method`` "none": the
    reliabilities say why).
    """

    method: Literal["isotonic", "sigmoid", "none"]
    on: Literal["validation", "reference"]
    rows: int
    brier: float  # of the model's own scores on those rows (mean over the classes scored)
    brier_calibrated: float  # of the map chosen, cross-fitted (five folds): unbiased against ``brier``
    reliability: NotRequired[float]  # the calibration part of ``brier`` (what the choice minimises)
    reliability_calibrated: NotRequired[float]  # of the map chosen, cross-fitted
    maps: dict[str, list[list[float]]]  # class -> [breakpoints x, values y]; {} when ``method`` is "none"
    # metric -> its standard deviation for one row: the sampling error of a window of n rows is this over sqrt(n),
    # measured as the spread of the metric over chunks of the labelled rows
    sampling: dict[str, float]


class LossModel(TypedDict):
    """Direct loss estimation for a regressor (``monitoring.estimation.dle``): two gradient-boosted trees
    on the features (as ``Estimation.encoding`` gives them) and the prediction, one for |error|, one for error², kept
    as an artifact of their own."""

    on: Literal["validation", "reference"]
    rows: int
    artifact: str  # path under the workspace's artifacts, as the model's own
    sha256: str
    sampling: dict[str, float]  # as ``Calibration.sampling``: mae and rmse


class EncodedColumn(TypedDict):
    """One feature as the multivariate models read it: numbers standardised after the reference's mean
    fills a gap; categories as their share of the reference's rows (CountEncoder's), then standardised."""

    name: str
    kind: Kind
    fill: float  # what a missing value becomes before standardising
    mean: float
    scale: float  # 1.0 for a constant column
    shares: NotRequired[dict[str, float]]  # categorical: value -> share of the reference's present values
    other_share: NotRequired[float]  # categorical: the share of one value the reference had but did not keep


class Reconstruction(TypedDict):
    """Multivariate drift (``monitoring.estimation.pca``): a PCA of the encoded reference (``Estimation.encoding``),
    and how far each row lies from its reconstruction."""

    components: list[list[float]]  # (n_components, n_columns), orthonormal rows
    variance_share: float  # of the encoded reference's variance the components keep
    rows: int
    mean: float  # of the reference rows' reconstruction errors
    chunk_std: float  # standard deviation of the mean error over ``chunk_rows``-row chunks of the reference
    chunk_rows: int
    errors: NumericProfile  # the reference's errors, profiled: the bins each window's errors are folded on


class Estimation(TypedDict, total=False):
    """What a version keeps for estimating without labels (``reference_profile["estimation"]``)."""

    encoding: list[EncodedColumn]  # how the PCA and the loss models read the features
    cbpe: Calibration
    dle: LossModel
    pca: Reconstruction


class ReferenceProfile(TypedDict):
    """A model version's reference profile (``profiles.build_profile``, completed at registration)."""

    rows: int
    bins: int
    features: dict[str, FeatureProfile]
    target: NotRequired[FeatureProfile]
    predictions: NotRequired[FeatureProfile]
    scores: NotRequired[NumericProfile]  # binary classifiers: the positive class's probability
    classes: NotRequired[list[str]]  # classifiers: the classes in the estimator's order
    importance: NotRequired[Importance]  # absent for versions registered before it was measured
    estimation: NotRequired[Estimation]  # absent for versions registered before it was fitted


class NumericWindow(TypedDict):
    """A numeric column of a window, on its reference's bins (``windows.fold_numeric``)."""

    kind: Literal["numeric"]
    count: int  # finite values
    nulls: int  # missing and infinite values
    mean: float  # 0.0 without values
    m2: float  # sum of squared deviations from the mean (Chan's merge adds these)
    min: float | None  # None without values
    max: float | None
    counts: list[int]  # [below, one per reference bin..., above]: len(reference edges) + 1 entries
    fine: list[int]  # the same on the reference's fine bins
    tails: list[float]  # [sum of the values below the reference's range, sum of those above]
    # per fine bin (not below or above), where its values lie, as the reference's ``fine["positions"]``;
    # only against a reference that keeps them, and absent once merged with a window without them
    fine_positions: NotRequired[list[int]]


class CategoricalWindow(TypedDict):
    """A categorical column of a window, on its reference's categories (``windows.fold_counts``)."""

    kind: Literal["categorical"]
    count: int  # present values
    nulls: int
    value_counts: dict[str, int]  # every reference category (0 included), then "__unseen__"
    unseen: dict[str, int]  # the most frequent categories the reference never had (MAX_UNSEEN)


WindowFeature = NumericWindow | CategoricalWindow


class ScoreHistograms(TypedDict):
    """Counts of a class's scores on ``performance.SCORE_BINS`` equal bins of [0, 1]."""

    pos: list[int]  # rows whose true class is the one scored
    neg: list[int]  # the other rows


class ClassificationPerformance(TypedDict):
    """A classifier's labelled rows in a window (``performance.fold_classification``)."""

    task: Literal["classification"]
    classes: list[str]
    labelled: int  # rows counted in the confusion matrix
    unknown_labels: int  # rows whose label is not one of ``classes`` (left out)
    confusion: list[list[int]]  # [true class][predicted class], in ``classes`` order
    scores: NotRequired[dict[str, ScoreHistograms]]  # by class scored (binary: the positive class only)


class RegressionPerformance(TypedDict):
    """A regressor's labelled rows in a window (``performance.fold_regression``): sums that merge."""

    task: Literal["regression"]
    labelled: int
    unknown_labels: int  # rows whose label or prediction is not finite (left out)
    sum_err: float  # of prediction - label
    sum_sq_err: float
    sum_abs_err: float
    # of err ** 4, for an interval on RMSE (intervals.py); absent from windows folded before it was kept
    sum_err4: NotRequired[float]
    sum_y: float  # of the labels
    sum_y2: float  # of the squared labels


class NoLabels(TypedDict):
    """A window without labelled rows: ``{}``."""


PerformanceProfile = ClassificationPerformance | RegressionPerformance


class NoProfile(TypedDict):
    """A version registered without reference data (or no serving version to read one from): ``{}``."""


# a window's columns by name: its features, or its predictions ("prediction", "score" for binary classifiers, and
# "reconstruction": each row's PCA reconstruction error, for versions that keep a ``Reconstruction``)
WindowColumns = dict[str, WindowFeature]

# a version's validation metrics (``ModelVersion.validation_metrics``): metric name -> value, plus the
# bookkeeping keys "_dataset" (where they were measured) and "_rows" (on how many rows)
ValidationMetrics = dict[str, float | int | str]
