"""Registering model versions.

``register`` loads a scikit-learn artifact, proves it predicts the reference
data, measures it on the validation data, profiles the reference data, copies
the artifact into the workspace under its sha256, and records version N+1, all
or nothing.

Loading a joblib/pickle file runs code from that file: only register artifacts
you trust, from paths you name.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import func, select

from fuseboard.errors import FuseboardError
from fuseboard.monitoring import metrics as metrics_mod
from fuseboard.monitoring import profiles
from fuseboard.ops import audit, lookup
from fuseboard.ops.names import check_name
from fuseboard.store.db import Workspace
from fuseboard.store.models import CRITICALITIES, TASKS, Model, ModelVersion, utcnow

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


@dataclass
class RegisterRequest:
    model: str
    artifact: Path
    reference: Path
    target: str
    validation: Path | None = None
    task: str | None = None
    criticality: str | None = None
    owner: str | None = None
    builder: str | None = None
    description: str | None = None
    retrain_by: date | None = None
    feature_kinds: dict[str, str] = field(default_factory=dict)
    note: str = ""
    reason: str = ""


@dataclass
class RegisterResult:
    model: str
    version: int
    created_model: bool
    sha256: str
    estimator_class: str
    task: str
    metrics: dict[str, float]
    metrics_on: str
    features: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_csv(path: Path, option: str) -> "pd.DataFrame":
    """Read a CSV file, with one clear error line for each way it can be wrong."""
    import pandas as pd

    if not path.exists():
        raise FuseboardError(f"file not found: {path} ({option})")
    if path.is_dir():
        raise FuseboardError(f"expected a CSV file, got a directory: {path} ({option})")
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise FuseboardError(f"file is empty: {path} ({option})") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FuseboardError(f"cannot parse CSV: {first} ({path}, {option})") from None
    except OSError as exc:
        raise FuseboardError(f"cannot read file: {exc.strerror} ({path}, {option})") from None
    if frame.empty:
        raise FuseboardError(f"file has a header but no data rows: {path} ({option})")
    dupes = [c for c in frame.columns if "." in str(c) and str(c).rsplit(".", 1)[0] in frame.columns]
    if dupes:
        raise FuseboardError(f"duplicate column {str(dupes[0]).rsplit('.', 1)[0]!r} in {path} ({option})")
    frame.columns = [str(c) for c in frame.columns]
    return frame


def load_estimator(path: Path) -> Any:
    """Load a joblib artifact. This runs code from the file: trusted paths only."""
    import joblib

    if not path.exists():
        raise FuseboardError(f"artifact not found: {path} (--artifact)")
    if path.is_dir():
        raise FuseboardError(f"artifact is a directory, expected a .joblib file: {path} (--artifact)")
    try:
        estimator = joblib.load(path)
    except Exception as exc:  # noqa: BLE001  (any unpickling failure is the user's file)
        raise FuseboardError(f"cannot load artifact with joblib: {type(exc).__name__}: {exc} ({path})") from None
    if not (hasattr(estimator, "predict") and hasattr(estimator, "fit")):
        raise FuseboardError(
            f"artifact is not a scikit-learn estimator (it holds a {type(estimator).__name__}) ({path})"
        )
    return estimator


def estimator_name(estimator: Any) -> str:
    final = estimator
    steps = getattr(estimator, "steps", None)
    if steps:
        final = steps[-1][1]
        return f"Pipeline({type(final).__name__})"
    return type(final).__name__


def infer_task(estimator: Any) -> str:
    from sklearn.base import is_classifier, is_regressor

    if is_classifier(estimator):
        return "classification"
    if is_regressor(estimator):
        return "regression"
    return "classification" if hasattr(estimator, "predict_proba") else "regression"


def _check_numbers(frame: "pd.DataFrame", columns: list[str], path: Path) -> None:
    """Name the first cell that is not a number in a column the model needs as numbers."""
    import pandas as pd

    for col in columns:
        series = frame[col]
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            continue
        coerced = pd.to_numeric(series, errors="coerce")
        bad = series.notna() & coerced.isna()
        row = int(bad.to_numpy().nonzero()[0][0]) if bad.any() else 0
        raise FuseboardError(
            f"column {col!r} must be numeric but line {row + 2} holds {str(series.iloc[row])!r} ({path})"
        )


def _features(estimator: Any, frame: "pd.DataFrame", target: str, path: Path, option: str) -> "pd.DataFrame":
    """The feature columns the estimator expects, checked against the file."""
    columns = [c for c in frame.columns if c != target]
    expected = getattr(estimator, "feature_names_in_", None)
    if expected is not None:
        expected = [str(c) for c in expected]
        missing = [c for c in expected if c not in frame.columns]
        if missing:
            raise FuseboardError(
                f"{len(missing)} column(s) the model was trained on are missing: "
                f"{', '.join(map(repr, missing[:5]))} ({path}, {option})"
            )
        extra = [c for c in columns if c not in expected]
        if extra:
            raise FuseboardError(
                f"column(s) the model does not use: {', '.join(map(repr, extra[:5]))} "
                f"(drop them or name the target with --target) ({path}, {option})"
            )
        return frame[expected]
    n_expected = getattr(estimator, "n_features_in_", None)
    if n_expected is not None and n_expected != len(columns):
        raise FuseboardError(
            f"model expects {n_expected} feature columns, the file has {len(columns)} besides the target "
            f"({path}, {option})"
        )
    _check_numbers(frame, columns, path)
    return frame[columns]


def _model_input(estimator: Any, features: "pd.DataFrame") -> Any:
    """DataFrames for models fitted with column names, arrays for the rest."""
    if getattr(estimator, "feature_names_in_", None) is not None:
        return features
    return features.to_numpy(dtype="float64")


def _predict(estimator: Any, features: "pd.DataFrame", path: Path) -> tuple[Any, Any]:
    import warnings

    X = _model_input(estimator, features)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pred = estimator.predict(X)
            proba = estimator.predict_proba(X) if hasattr(estimator, "predict_proba") else None
    except Exception as exc:  # noqa: BLE001  (sklearn raises many types for bad data)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise FuseboardError(f"model cannot predict this data: {first[:200]} ({path})") from None
    return pred, proba


def _metrics(task: str, estimator: Any, y: "pd.Series", pred: Any, proba: Any, path: Path) -> dict[str, float]:
    import pandas as pd

    if task == "regression":
        if not pd.api.types.is_numeric_dtype(y):
            raise FuseboardError(f"target column {y.name!r} must be numeric for a regression model ({path})")
        return metrics_mod.regression_metrics(y, pred)
    classes = list(getattr(estimator, "classes_", []))
    if not classes:
        raise FuseboardError(f"classifier has no classes_; was it fitted? ({path})")
    y_values = y.to_numpy()
    try:
        unknown = sorted({str(v) for v in pd.unique(y_values)} - {str(c) for c in classes})
    except TypeError:
        unknown = []
    if unknown:
        raise FuseboardError(
            f"target column {y.name!r} holds labels the model never learned: {unknown[:3]} ({path})"
        )
    if isinstance(classes[0], str):
        y_values = y.astype(str).to_numpy()
    return metrics_mod.classification_metrics(y_values, pred, proba, classes)


def register(ws: Workspace, req: RegisterRequest, *, actor: str, origin: str, now: datetime | None = None) -> RegisterResult:
    """Validate everything, then write the artifact and one transaction."""
    check_name(req.model, "model")
    if req.task is not None and req.task not in TASKS:
        raise FuseboardError(f"--task must be one of {', '.join(TASKS)}, not {req.task!r}")
    if req.criticality is not None and req.criticality not in CRITICALITIES:
        raise FuseboardError(f"--criticality must be one of {', '.join(CRITICALITIES)}, not {req.criticality!r}")

    estimator = load_estimator(req.artifact)
    reference = read_csv(req.reference, "--reference")
    if req.target not in reference.columns:
        raise FuseboardError(f"target column {req.target!r} is not in {req.reference} (--target)")
    ref_features = _features(estimator, reference, req.target, req.reference, "--reference")
    if ref_features.shape[1] == 0:
        raise FuseboardError(f"no feature columns besides the target in {req.reference}")
    inferred_task = infer_task(estimator)
    task = req.task or inferred_task
    ref_pred, ref_proba = _predict(estimator, ref_features, req.reference)

    if req.validation is not None:
        validation = read_csv(req.validation, "--validation")
        if req.target not in validation.columns:
            raise FuseboardError(f"target column {req.target!r} is not in {req.validation} (--target)")
        val_features = _features(estimator, validation, req.target, req.validation, "--validation")
        val_pred, val_proba = _predict(estimator, val_features, req.validation)
        metrics = _metrics(task, estimator, validation[req.target], val_pred, val_proba, req.validation)
        metrics_on = "validation"
    else:
        metrics = _metrics(task, estimator, reference[req.target], ref_pred, ref_proba, req.reference)
        metrics_on = "reference"

    schema = profiles.feature_schema(ref_features, req.feature_kinds)
    import pandas as pd

    score = None
    if ref_proba is not None and ref_proba.shape[1] == 2:
        score = pd.Series(ref_proba[:, 1])
    ref_profile = profiles.build_profile(
        ref_features,
        schema,
        target=reference[req.target],
        target_kind="numeric" if task == "regression" else "categorical",
        predictions=pd.Series(ref_pred),
        prediction_kind="numeric" if task == "regression" else "categorical",
    )
    if score is not None:
        ref_profile["scores"] = profiles.profile_column(score, "numeric")
    sha = sha256_of(req.artifact)
    est_class = estimator_name(estimator)

    with ws.session() as s:  # read-only pre-checks that name the bad field before any write
        existing = s.exec(select(Model).where(Model.name == req.model)).first()
        if existing is not None and req.task is not None and existing.task != req.task:
            raise FuseboardError(f"model {req.model!r} is a {existing.task} model; --task {req.task} does not match")
        if req.owner:
            lookup.team(s, req.owner, "--owner")
        if req.builder:
            lookup.team(s, req.builder, "--builder")

    stored, created_file = _store_artifact(ws, req.artifact, sha)
    try:
        with ws.transaction() as s:
            model = s.exec(select(Model).where(Model.name == req.model)).first()
            created_model = model is None
            changes_before: dict[str, Any] = {}
            changes_after: dict[str, Any] = {}
            if model is None:
                model = Model(
                    name=req.model,
                    task=task,
                    criticality=req.criticality or "internal",
                    description=req.description or "",
                    retrain_by=req.retrain_by,
                    created_at=now or utcnow(),
                )
                s.add(model)
            updates = {
                "criticality": req.criticality,
                "description": req.description,
                "retrain_by": req.retrain_by,
                "owner_team_id": lookup.team(s, req.owner).id if req.owner else None,
                "builder_team_id": lookup.team(s, req.builder, "--builder").id if req.builder else None,
            }
            for key, value in updates.items():
                if value is not None and getattr(model, key) != value:
                    changes_before[key] = _jsonable(getattr(model, key))
                    changes_after[key] = _jsonable(value)
                    setattr(model, key, value)
            s.flush()
            last = s.exec(select(func.max(ModelVersion.version)).where(ModelVersion.model_id == model.id)).one()
            number = (last or 0) + 1
            mv = ModelVersion(
                model_id=model.id,
                version=number,
                artifact_sha256=sha,
                artifact_path=stored,
                estimator_class=est_class,
                target=req.target,
                feature_schema=schema,
                validation_metrics={**metrics, "_dataset": metrics_on, "_rows": int(
                    len(validation) if req.validation is not None else len(reference))},
                reference_profile=ref_profile,
                registered_by=actor,
                registered_at=now or utcnow(),
                note=req.note,
            )
            s.add(mv)
            if created_model:
                audit.record(s, action="model.create", target=req.model, actor=actor, origin=origin,
                             after={"task": task, "criticality": model.criticality, **changes_after},
                             reason=req.reason, at=now)
            elif changes_after:
                audit.record(s, action="model.update", target=req.model, actor=actor, origin=origin,
                             before=changes_before, after=changes_after, reason=req.reason, at=now)
            audit.record(s, action="version.register", target=f"{req.model}@v{number}", actor=actor,
                         origin=origin, after={"version": number, "sha256": sha, "estimator": est_class,
                                               "metrics": metrics, "metrics_on": metrics_on},
                         reason=req.reason, at=now)
    except BaseException:
        if created_file:
            (ws.artifact_dir / stored).unlink(missing_ok=True)
        raise
    return RegisterResult(req.model, number, created_model, sha, est_class, task, metrics, metrics_on, schema)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def _store_artifact(ws: Workspace, source: Path, sha: str) -> tuple[str, bool]:
    """Copy into ``artifacts/<sha[:2]>/<sha>.joblib``; returns (relative path, newly created)."""
    rel = f"{sha[:2]}/{sha}.joblib"
    dest = ws.artifact_dir / rel
    if dest.exists() and sha256_of(dest) == sha:
        return rel, False
    dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(ws.artifact_dir, 0o700)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            shutil.copyfileobj(src, out)
        os.chmod(tmp, 0o600)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return rel, True


def artifact_file(ws: Workspace, mv: ModelVersion) -> Path:
    """The stored artifact, refused if its bytes no longer match the registry."""
    path = ws.artifact_dir / mv.artifact_path
    if not path.exists():
        raise FuseboardError(f"artifact for v{mv.version} is missing from the workspace ({path})")
    if sha256_of(path) != mv.artifact_sha256:
        raise FuseboardError(f"artifact for v{mv.version} does not match its recorded sha256; refusing it ({path})")
    return path
