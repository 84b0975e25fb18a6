"""Which features the model leans on: permutation importance, measured at registration and stored
with the version's reference profile (``profile["importance"]``).

Each feature's column is shuffled in turn (``sklearn.inspection.permutation_importance``, five
repeats, a fixed seed) on the validation rows (the reference's when there is no validation file:
said so in ``on``), at most ``MAX_ROWS`` of them, and the model's score drop is its importance:
ROC AUC for a binary classifier with scores, accuracy for other classifiers, RMSE for a regressor.
``share`` is each feature's positive drop over the sum of them, so the shares of all features add
up to 1 (all 0 when shuffling no feature hurts the score).

The numbers are scikit-learn's, but the model is called a few times on the shuffled copies stacked
together rather than 126 times on one copy each (``_stacked_permutation``): at registration that was
most of the importances' time, a pipeline's fixed costs per call.

The drift check orders its table by these shares and says how much of the importance the drifted
features carry (monitoring/drift_verdict.py). ``fuseboard models importance`` measures them again
for a version registered before they were kept, from a file of its rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from fuseboard.errors import FuseboardError
from fuseboard.monitoring.shapes import Importance
from fuseboard.store.db import Workspace
from fuseboard.store.models import ModelVersion

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["MAX_ROWS", "REPEATS", "from_frame", "measure", "remeasure", "scoring_for"]

MAX_ROWS = 2000  # rows shuffled: enough to rank features, and registration stays quick
REPEATS = 5
SEED = 0


def scoring_for(task: str, estimator: Any) -> str:
    """The score whose drop measures importance (scikit-learn's scorer names)."""
    if task == "regression":
        return "neg_root_mean_squared_error"
    classes = getattr(estimator, "classes_", ())
    return "roc_auc" if len(classes) == 2 and hasattr(estimator, "predict_proba") else "accuracy"


def measure(task: str, estimator: Any, X: Any, y: Any, names: list[str], on: str) -> Importance:
    """Permutation importance of each feature, and its share of the total.

    Parameters
    ----------
    task : {"classification", "regression"}
    estimator : fitted scikit-learn estimator
    X : DataFrame or ndarray of shape (n_rows, n_features)
        The rows, as the estimator takes them (``predicting.model_input``).
    y : ndarray of shape (n_rows,)
        Their targets, as the estimator's labels (``baseline.targets``).
    names : list of str, n_features entries
        The features, in ``X``'s column order.
    on : {"validation", "reference"}
        Which rows these are.

    Returns
    -------
    importance : Importance
        ``drop`` and ``share`` per feature, in ``names`` order.

    Raises
    ------
    ValueError
        The estimator cannot be scored on these rows (one class only, for ROC AUC).
    """
    import warnings

    import numpy as np
    from sklearn.inspection import permutation_importance

    n = len(y)
    if n > MAX_ROWS:
        keep = np.sort(np.random.default_rng(SEED).choice(n, MAX_ROWS, replace=False))
        X = X.iloc[keep] if hasattr(X, "iloc") else X[keep]
        y = np.asarray(y)[keep]
    scoring = scoring_for(task, estimator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            means = _stacked_permutation(estimator, X, y, scoring)
        except MemoryError:
            raise
        except Exception:  # noqa: BLE001  (scikit-learn's own loop, and its own error if there is one)
            means = permutation_importance(estimator, X, y, scoring=scoring, n_repeats=REPEATS,
                                           random_state=SEED).importances_mean
    drops = [float(v) for v in means]
    positive = [max(0.0, d) for d in drops]
    total = sum(positive)
    return {"method": "permutation", "scoring": scoring.removeprefix("neg_"), "on": on, "rows": int(len(y)),
            "repeats": REPEATS, "drop": dict(zip(names, drops)),
            "share": {name: (p / total if total > 0 else 0.0) for name, p in zip(names, positive)}}


STACK_CELLS = 1_000_000  # cells of the permuted copies the model predicts at once (``_stacked_permutation``)


class _Replay:
    """The estimator as its scorer sees it, except that each response method (``predict``,
    ``predict_proba``, ...) answers with outputs computed already (``outputs[name][rows]``), and ``record``
    lists the ones the scorer asked for."""

    METHODS = ("predict", "predict_proba", "predict_log_proba", "decision_function")

    def __init__(self, estimator: Any, outputs: dict[str, Any] | None = None) -> None:
        self._estimator, self._outputs, self.rows, self.record = estimator, outputs, slice(None), []

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._estimator, name)  # AttributeError, as the estimator's own, for a method it lacks
        if name not in self.METHODS:
            return real

        def method(X: Any) -> Any:
            self.record.append(name)
            return real(X) if self._outputs is None else self._outputs[name][self.rows]

        method.__name__ = name  # the scorer reads it (a probability's column is picked, a margin's sign set)
        return method


def _stacked_permutation(estimator: Any, X: Any, y: Any, scoring: str) -> Any:
    """``permutation_importance(estimator, X, y, scoring=scoring, n_repeats=REPEATS, random_state=SEED)``'s
    ``importances_mean``, the same numbers, with the model called a few times on stacked copies rather
    than once per copy (125 calls of a pipeline's fixed costs for 25 features: most of the time).

    The copies are made as scikit-learn makes them (one RandomState per feature from the same seed, each
    repeat shuffling the column again), the scorer is scikit-learn's (``_roc_auc`` for ROC AUC), and it
    reads each copy's rows of the stacked outputs through ``_Replay``: scikit-learn's estimators predict a
    row from that row alone. The baseline (the rows unshuffled) is the first block of the first call, so a
    shuffle that changes nothing drops the score by exactly 0.
    """
    import numpy as np
    import pandas as pd
    from sklearn.metrics import check_scoring
    from sklearn.utils import check_array, check_random_state

    if not hasattr(X, "iloc"):
        X = check_array(X, ensure_all_finite="allow-nan", dtype=None)
    random_seed = check_random_state(SEED).randint(np.iinfo(np.int32).max + 1)
    scorer = check_scoring(estimator, scoring=scoring)
    probe = _Replay(estimator)
    scorer(probe, X, y)  # which response methods the scorer asks for
    methods = list(dict.fromkeys(probe.record))
    n, d = X.shape
    group = max(1, STACK_CELLS // max(1, n * d * REPEATS))  # features whose copies are stacked together
    scores = np.empty((d, REPEATS))
    baseline = None
    for first in range(0, d, group):
        copies = [] if first else [X]  # the rows as they are, first: the baseline from the same call
        for col in range(first, min(first + group, d)):
            random_state = check_random_state(random_seed)
            permuted = X.copy()
            shuffling = np.arange(n)
            for _ in range(REPEATS):
                random_state.shuffle(shuffling)
                if hasattr(permuted, "iloc"):
                    column = permuted.iloc[shuffling, col]
                    column.index = permuted.index
                    permuted[permuted.columns[col]] = column
                else:
                    permuted[:, col] = permuted[shuffling, col]
                copies.append(permuted.copy())
        stacked = pd.concat(copies, ignore_index=True) if hasattr(X, "iloc") else np.concatenate(copies)
        outputs = {name: getattr(estimator, name)(stacked) for name in methods}
        found = _roc_auc(estimator, scoring, methods, outputs, y, len(copies))
        if found is None:
            replay = _Replay(estimator, outputs)
            found = np.empty(len(copies))
            for k in range(len(copies)):
                replay.rows = slice(k * n, (k + 1) * n)
                found[k] = scorer(replay, copies[k], y)
        if baseline is None:
            baseline, found = found[0], found[1:]
        scores[first:first + len(found) // REPEATS] = found.reshape(-1, REPEATS)
    return np.mean(baseline - scores, axis=1)


def _roc_auc(estimator: Any, scoring: str, methods: list[str], outputs: dict[str, Any], y: Any, blocks: int) -> Any:
    """ROC AUC of each of ``blocks`` equal blocks of a binary classifier's stacked outputs at once, as
    ``roc_auc_score`` gives it (the share of positive-negative pairs ranked right, ties counting half: the
    area under the ROC curve, up to the last bit), or None where the scorer is needed: another scoring
    or response. 125 calls of ``roc_auc_score`` check their inputs 125 times; this is one rank per block.

    Raises
    ------
    ValueError
        A score that is not finite, or rows of one class only (as ``roc_auc_score`` raises).
    """
    import numpy as np
    from scipy.stats import rankdata

    if scoring != "roc_auc" or len(methods) != 1 or methods[0] not in ("decision_function", "predict_proba"):
        return None
    classes = np.asarray(getattr(estimator, "classes_", []))
    values = np.asarray(outputs[methods[0]])
    if classes.size != 2 or values.dtype.kind != "f":
        return None
    if methods[0] == "predict_proba":  # the positive class's column: classes_[-1]'s (the scorer's pos_label)
        values = values[:, -1] if values.ndim == 2 and values.shape[1] == 2 else None
    if values is None or values.ndim != 1:
        return None
    if not np.isfinite(values).all():
        raise ValueError("scores that are not finite")
    positive = np.asarray(y) == classes[-1]
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if not n_pos or not n_neg:
        raise ValueError("only one class present in y_true: ROC AUC is not defined")
    ranks = rankdata(values.reshape(blocks, -1), axis=1)  # ties: their mean rank
    return (ranks[:, positive].sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def from_frame(task: str, estimator: Any, features: pd.DataFrame, y: Any, on: str) -> Importance | None:
    """``measure`` on a frame of features, or None (with nothing stored) when the model cannot be scored
    on these rows: importance orders the drift table; a registration does not fail for want of it."""
    from fuseboard.ops.predicting import model_input

    try:
        return measure(task, estimator, model_input(estimator, features), y, [str(c) for c in features.columns], on)
    except (ValueError, TypeError):  # e.g. ROC AUC of rows with one class only
        return None


def remeasure(ws: Workspace, model: str, version: int, data: Path, on: str, *, actor: str, origin: str,
              reason: str = "") -> Importance:
    """Measure a registered version's importance again from a file of its rows, and store it.

    fuseboard keeps profiles, not rows: ``data`` is the version's validation (or reference) file, with
    its features and its target column. One transaction: the version's stored profile gains (or
    replaces) ``importance``, and an audit event ``version.importance`` says from which file.

    Raises
    ------
    fuseboard.errors.NotFound
        No such model or version.
    fuseboard.errors.FuseboardError
        The file lacks the target or a feature, holds labels the model never learned, or the model
        cannot be scored on its rows.
    """
    from fuseboard.ops import audit, baseline
    from fuseboard.ops.registry import _features, artifact_file, load_estimator
    from fuseboard.ops.row_files import read_rows
    from fuseboard.store import lookup

    if on not in ("validation", "reference"):
        raise FuseboardError(f"--on is validation or reference, not {on!r}", field="on")
    with ws.session() as s:
        m = lookup.model(s, model)
        mv = lookup.version(s, m, version)
        task, path, target, number = m.task, artifact_file(ws, mv), mv.target, mv.id
    estimator = load_estimator(path)
    frame = read_rows(data, "data")
    if target not in frame.columns:
        raise FuseboardError(f"target column {target!r} (v{version}'s) is not in {data}", field="data")
    features = _features(estimator, frame, target, data, "data")
    found = from_frame(task, estimator, features, baseline.targets(task, estimator, frame[target], data), on)
    if found is None:
        raise FuseboardError(f"the model cannot be scored on the rows of {data} (one class only?)", field="data")
    with ws.transaction() as s:
        row = s.get(ModelVersion, number)
        before = row.reference_profile.get("importance")
        row.reference_profile = {**row.reference_profile, "importance": found}
        s.add(row)
        audit.record(s, action="version.importance", target=f"{model}@v{version}", actor=actor, origin=origin,
                     before={"share": before["share"]} if before else {},
                     after={"share": found["share"], "on": on, "rows": found["rows"], "file": data.name},
                     reason=reason)
    return found
