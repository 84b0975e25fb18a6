"""Which features the model leans on: permutation importance, measured at registration and stored
with the version's reference profile (``profile["importance"]``).

Each feature's column is shuffled in turn (``sklearn.inspection.permutation_importance``, five
repeats, a fixed seed) on the validation rows (the reference's when there is no validation file:
said so in ``on``), at most ``MAX_ROWS`` of them, and the model's score drop is its importance:
ROC AUC for a binary classifier with scores, accuracy for other classifiers, RMSE for a regressor.
``share`` is each feature's positive drop over the sum of them, so the shares of all features add
up to 1 (all 0 when shuffling no feature hurts the score).

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
        The rows, as the estimator takes them (``registry.model_input``).
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
        found = permutation_importance(estimator, X, y, scoring=scoring, n_repeats=REPEATS, random_state=SEED)
    drops = [float(v) for v in found.importances_mean]
    positive = [max(0.0, d) for d in drops]
    total = sum(positive)
    return {"method": "permutation", "scoring": scoring.removeprefix("neg_"), "on": on, "rows": int(len(y)),
            "repeats": REPEATS, "drop": dict(zip(names, drops)),
            "share": {name: (p / total if total > 0 else 0.0) for name, p in zip(names, positive)}}


def from_frame(task: str, estimator: Any, features: pd.DataFrame, y: Any, on: str) -> Importance | None:
    """``measure`` on a frame of features, or None (with nothing stored) when the model cannot be scored
    on these rows: importance orders the drift table; a registration does not fail for want of it."""
    from fuseboard.ops.registry import model_input

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
