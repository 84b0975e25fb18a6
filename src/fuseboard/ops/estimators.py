"""Fitting what a version needs to be watched before its labels arrive, at registration or again later.

At registration (registry.py), from the files being registered:

* the **encoding** of the features (monitoring/estimation/encoding.py), from the reference;
* a **PCA** of the encoded reference for multivariate drift (pca.py), with the reference's own
  reconstruction errors profiled, on at most ``MAX_PCA_ROWS`` reference rows (a seeded sample beyond;
  ``rows`` says how many);
* for a classifier with scores, the **calibration** of its scores for CBPE (cbpe.py), on the labelled
  rows: the validation file's, or the reference's when there is none (said so in ``on``), at most
  ``MAX_CALIBRATION_ROWS`` of them (a seeded sample beyond; ``rows`` says how many);
* for a regressor, the two **loss models** of DLE (dle.py) on the same rows (at most ``MAX_LOSS_ROWS``),
  kept as an artifact of their own beside the model's.

These are statistics of the model, not of the data: a seeded sample of a large file measures them as
well as every row would (the spread of a calibrated score's mean over 100,000 rows is far below what a
window is compared with), at a fraction of the time. What drift compares with (the reference profile)
is computed over every row.

They land in the version's reference profile (``profile["estimation"]``, ``shapes.Estimation``).
``refit`` fits them again (and the importances) for a version registered before they existed: fuseboard
keeps profiles, not rows, so it reads the version's reference file again (and its validation file, when
given), and refuses a file whose columns do not match the version's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fuseboard.errors import FuseboardError
from fuseboard.monitoring.shapes import Estimation, SchemaEntry
from fuseboard.store.db import Workspace
from fuseboard.store.models import ModelVersion

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

__all__ = ["Fitted", "Labelled", "RefitResult", "fit", "refit"]

MAX_PCA_ROWS = 100_000  # reference rows the PCA is fitted on (a seeded sample beyond)
MAX_LOSS_ROWS = 50_000  # labelled rows the loss models learn from
MAX_CALIBRATION_ROWS = 100_000  # labelled rows CBPE's scores are calibrated on, and its spread measured from
SEED = 0


@dataclass
class Labelled:
    """Rows with their labels and the model's outputs on them, to calibrate and learn losses from."""

    features: pd.DataFrame
    y: np.ndarray  # as the estimator's labels (``baseline.targets``)
    predicted: np.ndarray  # the estimator's predictions
    proba: np.ndarray | None  # predict_proba's (n_rows, n_classes), or None
    on: str  # "validation" or "reference"


@dataclass
class Fitted:
    """``fit``'s: the estimation to store, and the loss models' bytes (stored as an artifact at commit)."""

    estimation: Estimation
    loss_models: bytes = b""
    said: list[str] = field(default_factory=list)  # what could not be fitted, and why


def columns_of(frame: pd.DataFrame, schema: list[SchemaEntry]) -> dict[str, Any]:
    """The features converted as ingest converts them (floats, or text as codes), so registration and
    ingest encode a row alike."""
    import pyarrow as pa

    from fuseboard.monitoring.ingest import _feature

    out = {}
    for f in schema:
        series = frame[f["name"]]
        try:
            table = pa.table({f["name"]: pa.array(series, from_pandas=True)})
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types in one column: read as text, as a CSV would be
            table = pa.table({f["name"]: pa.array(series.astype("string"), from_pandas=True)})
        out[f["name"]] = _feature(table, f["name"], f["kind"], "reference")
    return out


def _sample(n: int, cap: int) -> np.ndarray | slice:
    import numpy as np

    if n <= cap:
        return slice(None)
    return np.sort(np.random.default_rng(SEED).choice(n, cap, replace=False))


def _positions(labels: np.ndarray, classes: list[str]) -> np.ndarray:
    """Each label's position among ``classes`` (by its text, ``str``), -1 for one not among them. Integers
    and text: each distinct value looked up once; other labels (floats, whose -0.0 and 0.0 one search
    would merge, and objects) one by one."""
    import numpy as np

    position = {c: i for i, c in enumerate(classes)}
    if labels.dtype.kind in "biuUS":
        distinct, codes = np.unique(labels, return_inverse=True)
        return np.array([position.get(str(v), -1) for v in distinct], dtype=np.intp)[codes.reshape(-1)]
    return np.array([position.get(str(v), -1) for v in labels])


def fit(task: str, estimator: Any, schema: list[SchemaEntry], profile: dict[str, Any], reference: pd.DataFrame,
        labelled: Labelled | None) -> Fitted:
    """The encoding, the PCA, and the calibration (classifiers) or loss models (regressors).

    Parameters
    ----------
    task : {"classification", "regression"}
    estimator : fitted scikit-learn estimator
    schema : list of SchemaEntry
    profile : ReferenceProfile, or anything whose ``["features"]`` gives its features' profiles
        The reference's profile (its features' means and category counts); read after the calibration
        (registry.py profiles on a thread pool meanwhile).
    reference : DataFrame of shape (n_rows, n_features)
        The reference's feature columns.
    labelled : Labelled or None
        Rows to calibrate and learn losses from (None: no CBPE, no DLE).
    """
    import numpy as np

    from fuseboard.monitoring import profiles
    from fuseboard.monitoring.estimation import cbpe, dle, encoding, pca

    import pandas as pd

    estimation: dict[str, Any] = {}
    out = Fitted(estimation)  # type: ignore[arg-type]  (its keys in order below)
    if labelled is not None and task == "classification":  # first: it does not wait for the profile
        classes = [str(c) for c in getattr(estimator, "classes_", [])]
        if labelled.proba is None or len(classes) < 2:
            calibration = None
            said = "no estimated performance: the model gives no scores (predict_proba)"
        else:
            keep = _sample(len(labelled.y), MAX_CALIBRATION_ROWS)
            y = _positions(np.asarray(labelled.y)[keep], classes)
            predicted = _positions(np.asarray(labelled.predicted)[keep], classes)
            proba = labelled.proba[keep]
            scores = proba[:, 1] if len(classes) == 2 else proba
            calibration = cbpe.fit(y, predicted, scores, classes, labelled.on)  # type: ignore[arg-type]
            said = ""

    rows = _sample(len(reference), MAX_PCA_ROWS)
    sample = reference.iloc[rows] if isinstance(rows, np.ndarray) else reference
    columns = columns_of(sample, schema)
    coding = encoding.fit(columns, schema, profile["features"])
    estimation["encoding"] = coding
    found = pca.fit(encoding.design(columns, coding, profile["features"]))
    if found is None:
        out.said.append(f"no multivariate drift: a PCA needs {pca.MIN_ROWS} reference rows and two features")
    else:
        errors = found.pop("_errors")
        estimation["pca"] = {**found, "errors": profiles.numeric_profile(pd.Series(errors))}
    if labelled is None:
        return out
    if task == "classification":
        if calibration is None:
            out.said.append(said)
        else:
            estimation["cbpe"] = calibration
        return out
    keep = _sample(len(labelled.y), MAX_LOSS_ROWS)
    features = labelled.features.iloc[keep] if isinstance(keep, np.ndarray) else labelled.features
    X = encoding.design(columns_of(features, schema), coding, profile["features"])
    learned = dle.fit(X, np.asarray(labelled.predicted, dtype="float64")[keep],
                      np.asarray(labelled.y, dtype="float64")[keep])
    if learned is None:
        out.said.append(f"no estimated performance: loss models need {dle.MIN_ROWS} labelled rows")
        return out
    models, sampling = learned
    out.loss_models = dle.dump(models)
    estimation["dle"] = {"on": labelled.on, "rows": int(len(labelled.y) if isinstance(keep, slice) else keep.size),
                         "artifact": "", "sha256": "", "sampling": sampling}
    return out


@dataclass
class RefitResult:
    model: str
    version: int
    on: str  # which rows calibrated and learned losses: validation or reference
    fitted: list[str]  # what was fitted: importance, pca, cbpe, dle
    said: list[str]  # what could not be, and why

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def refit(ws: Workspace, model: str, version: int, reference: Path, validation: Path | None, *, actor: str,
          origin: str, reason: str = "") -> RefitResult:
    """Fit the importances, the PCA and the calibration or loss models of a registered version again.

    fuseboard keeps profiles, not rows: ``reference`` is the version's reference file (its features and
    target), ``validation`` its validation file (labelled rows to calibrate on; without it, the
    reference's rows, said so). One transaction: the version's stored profile gains (or replaces)
    ``importance`` and ``estimation``, the loss models are stored as an artifact, and an audit event
    ``version.refit`` names the files. Windows ingested before keep no estimates; those ingested after do.

    Raises
    ------
    fuseboard.errors.NotFound
        No such model or version.
    fuseboard.errors.FuseboardError
        A file lacks the target or a feature, holds labels the model never learned, or the model cannot
        predict its rows.
    """
    from fuseboard.ops import audit, baseline, importance
    from fuseboard.ops.predicting import predict_rows
    from fuseboard.ops.registry import _features, _store_artifact, artifact_file, load_estimator
    from fuseboard.ops.row_files import read_rows
    from fuseboard.store import lookup

    with ws.session() as s:
        m = lookup.model(s, model)
        mv = lookup.version(s, m, version)
        task, path, target, number = m.task, artifact_file(ws, mv), mv.target, mv.id
        schema, profile = list(mv.feature_schema), dict(mv.reference_profile)
    estimator = load_estimator(path)
    frame = read_rows(reference, "reference")
    if target not in frame.columns:
        raise FuseboardError(f"target column {target!r} (v{version}'s) is not in {reference}", field="reference")
    ref_features = _features(estimator, frame, target, reference, "reference")
    missing = [f["name"] for f in schema if f["name"] not in ref_features.columns]
    if missing:
        raise FuseboardError(f"{reference} lacks v{version}'s feature {missing[0]!r}", field="reference")
    source, field_name = (validation, "validation") if validation is not None else (reference, "reference")
    rows = read_rows(validation, "validation") if validation is not None else frame
    if target not in rows.columns:
        raise FuseboardError(f"target column {target!r} (v{version}'s) is not in {source}", field=field_name)
    features = ref_features if validation is None else _features(estimator, rows, target, source, "validation")
    y = baseline.targets(task, estimator, rows[target], source)
    predicted, proba = predict_rows(estimator, features, source)
    weights = importance.from_frame(task, estimator, features, y, field_name)
    fitted = fit(task, estimator, schema, profile, ref_features, Labelled(features, y, predicted, proba, field_name))
    done = (["importance"] if weights is not None else []) + [k for k in ("pca", "cbpe", "dle") if k in fitted.estimation]
    with ws.transaction() as s:
        if fitted.loss_models:
            rel, _ = _store_artifact(ws, fitted.loss_models, _sha(fitted.loss_models), ".loss")
            fitted.estimation["dle"].update(artifact=rel, sha256=_sha(fitted.loss_models))
        row = s.get(ModelVersion, number)
        before = sorted(k for k in ("importance", "estimation") if k in row.reference_profile)
        updated = {**row.reference_profile, "estimation": fitted.estimation}
        if weights is not None:
            updated["importance"] = weights
        row.reference_profile = updated
        s.add(row)
        audit.record(s, action="version.refit", target=f"{model}@v{version}", actor=actor, origin=origin,
                     before={"had": before}, after={"fitted": done, "on": field_name, "reference": reference.name,
                                                    **({"validation": validation.name} if validation else {})},
                     reason=reason)
    return RefitResult(model, version, field_name, done, fitted.said)


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()
