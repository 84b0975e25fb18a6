"""Registering model versions.

``register`` loads a scikit-learn artifact, proves it predicts the reference
data, measures it on the validation data (or cross-validates it on the reference:
baseline.py), profiles the reference data, copies
the artifact into the workspace under its sha256, and records version N+1, all
or nothing.

Loading a joblib/pickle file runs code from that file: only register artifacts
you trust, from paths you name.

Speed (a million reference rows): the artifact loads while the reference is read (in a new process
that load is mostly scikit-learn importing itself, about 2 s of CPU, not joblib); the model predicts
the rows in chunks on a two-thread pool while the same pool profiles the columns and this thread
cross-validates (predicting.py); statistics of the model are measured on seeded samples (``_measure``).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import func, select

from fuseboard.errors import FuseboardError
from fuseboard.inputs import not_a_file
from fuseboard.monitoring import drift, profiles, shapes
from fuseboard.ops import audit, baseline, estimators, importance, predicting
from fuseboard.ops.baseline import Baseline
from fuseboard.store import lookup
from fuseboard.ops.names import check_name
from fuseboard.ops.predicting import model_input, predict_both  # noqa: F401  (their home before)
from fuseboard.ops.row_files import out_of_memory, read_rows
from fuseboard.store.db import ARTIFACT_MODES, FOLDER_MODES, Workspace, share
from fuseboard.store.files import sha256_file
from fuseboard.store.models import CRITICALITIES, TASKS, Model, ModelVersion, Team, utcnow

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
    features: list[shapes.SchemaEntry]
    changed: dict[str, str | None] = field(default_factory=dict)  # model fields this registration changed, as shown
    baseline: dict[str, Any] = field(default_factory=dict)  # how ``metrics`` were measured (Baseline.as_dict())
    importance: shapes.Importance | None = None  # permutation importance (ops/importance.py); None: not measurable
    estimators: list[str] = field(default_factory=list)  # fitted for watching without labels: pca, cbpe, dle
    not_fitted: list[str] = field(default_factory=list)  # what could not be fitted, and why

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def read_artifact(path: Path) -> bytes:
    """The artifact's bytes, read once: what is hashed, loaded and stored is the same file, even when
    someone replaces it on disk meanwhile."""
    if not path.exists():
        raise FuseboardError(f"artifact not found: {path}", field="artifact")
    if path.is_dir():
        raise FuseboardError(f"artifact is a directory, expected a .joblib file: {path}", field="artifact")
    if (kind := not_a_file(path)) is not None:
        raise FuseboardError(f"expected a .joblib file; {path} is {kind}", field="artifact")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise FuseboardError(f"cannot read artifact: {exc.strerror} ({path})", field="artifact") from None


def load_estimator(path: Path, data: bytes | None = None) -> Any:
    """Load a joblib artifact (from ``data``, its bytes already read, when given). This runs code from
    the file: trusted paths only."""
    import io

    import joblib

    if data is None:
        data = read_artifact(path)
    try:
        estimator = joblib.load(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001  (any unpickling failure is the user's file)
        raise FuseboardError(f"cannot load artifact with joblib: {type(exc).__name__}: {exc} ({path})") from None
    if not (hasattr(estimator, "predict") and hasattr(estimator, "fit")):
        raise FuseboardError(f"artifact is not a scikit-learn estimator (it holds a {type(estimator).__name__}) "
                             f"({path})")
    return estimator


def estimator_name(estimator: Any) -> str:
    final = estimator
    steps = getattr(estimator, "steps", None)
    if steps:
        final = steps[-1][1]
        return f"Pipeline({type(final).__name__})"
    return type(final).__name__


def _check_numbers(frame: "pd.DataFrame", columns: list[str], path: Path) -> None:
    """Name the first cell that is not a number in a column the model needs as numbers."""
    import pandas as pd

    for col in columns:
        series = frame[col]
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            continue
        row = profiles.parse_numbers(series)[1] or 0
        raise FuseboardError(
            f"column {col!r} must be numeric but line {row + 2} holds {str(series.iloc[row])!r} ({path})"
        )


def _features(estimator: Any, frame: "pd.DataFrame", target: str, path: Path, field: str) -> "pd.DataFrame":
    """The feature columns the estimator expects, checked against the file."""
    columns = [c for c in frame.columns if c != target]
    expected = getattr(estimator, "feature_names_in_", None)
    if expected is not None:
        expected = [str(c) for c in expected]
        missing = [c for c in expected if c not in frame.columns]
        if missing:
            raise FuseboardError(
                f"{len(missing)} column(s) the model was trained on are missing: "
                f"{', '.join(map(repr, missing[:5]))} ({path})", field=field
            )
        extra = [c for c in columns if c not in expected]
        if extra:
            raise FuseboardError(
                f"column(s) the model does not use: {', '.join(map(repr, extra[:5]))} "
                f"(drop them, or name the target column) ({path})", field=field
            )
        return frame[expected]
    n_expected = getattr(estimator, "n_features_in_", None)
    if n_expected is not None and n_expected != len(columns):
        raise FuseboardError(
            f"model expects {n_expected} feature columns, the file has {len(columns)} besides the target "
            f"({path})", field=field
        )
    _check_numbers(frame, columns, path)
    return frame[columns]


@dataclass
class Prepared:
    """Everything ``register`` learned from the files, before it touches the workspace."""

    req: RegisterRequest
    task: str
    estimator_class: str
    sha256: str
    schema: list[shapes.SchemaEntry]
    metrics: dict[str, float]
    metrics_on: str
    metrics_rows: int
    profile: shapes.ReferenceProfile
    artifact: bytes = b""  # the bytes that were hashed, loaded and measured: what gets stored
    baseline: Baseline = Baseline("unknown", 0)  # how ``metrics`` were measured (baseline.py)
    loss_models: bytes = b""  # DLE's loss models (ops/estimators.py), stored as an artifact at commit
    not_fitted: list[str] = field(default_factory=list)


def prepare(req: RegisterRequest) -> Prepared:
    """Load and check the artifact and the CSV files; reads files only, writes nothing."""
    try:
        return _prepare(req)
    except MemoryError:  # predicting on or profiling a reference that was just small enough to read
        raise out_of_memory("check and profile", req.reference, "reference") from None


def _prepare(req: RegisterRequest) -> Prepared:
    check_name(req.model, "model")
    if req.task is not None and req.task not in TASKS:
        raise FuseboardError(f"the task must be one of {', '.join(TASKS)}, not {req.task!r}", field="task")
    if req.criticality is not None and req.criticality not in CRITICALITIES:
        raise FuseboardError(f"criticality must be one of {', '.join(CRITICALITIES)}, not {req.criticality!r}",
                             field="criticality")
    artifact = read_artifact(req.artifact)
    with predicting.workers() as pool:
        # the artifact loads (in a new process: mostly scikit-learn's own imports) while the reference is read
        loading = pool.submit(load_estimator, req.artifact, artifact)
        try:
            reference = read_rows(req.reference, "reference")
        except BaseException:
            loaded = loading.result()  # the artifact's errors first, as when it was loaded first
            _task(loaded, req.task, estimator_name(loaded))
            raise
        estimator = loading.result()
        with predicting.one_thread_blas():
            return _measure(req, artifact, estimator, reference, pool)


def _measure(req: RegisterRequest, artifact: bytes, estimator: Any, reference: "pd.DataFrame",
             pool: Any) -> Prepared:
    """Everything but reading the artifact and the reference: predicting, profiling (on ``pool``, beside the
    rest), the baseline, the importances and the estimators.

    Statistics *of the model* (the cross-validated baseline, the importances, CBPE's calibration and its
    spread, the PCA, DLE's loss models) are measured on seeded samples past their caps (20,000 rows for
    the cross-validation, 2,000 for the importances, 100,000 for the calibration and the PCA, 50,000 for
    the loss models: baseline.CV_MAX_ROWS, importance.MAX_ROWS, estimators.MAX_*_ROWS; each records on how
    many rows); the reference profile (what drift compares with), the predictions behind it and the
    metrics on a validation file are exact, over every row.
    """
    import pandas as pd

    est_class = estimator_name(estimator)
    task = _task(estimator, req.task, est_class)
    if req.target not in reference.columns:
        raise FuseboardError(f"target column {req.target!r} is not in {req.reference}", field="target")
    ref_features = _features(estimator, reference, req.target, req.reference, "reference")
    if ref_features.shape[1] == 0:
        raise FuseboardError(f"no feature columns besides the target in {req.reference}")
    schema = profiles.feature_schema(ref_features, req.feature_kinds)
    kind = "numeric" if task == "regression" else "categorical"
    predicted = predicting.Predicting(estimator, ref_features, req.reference, pool)
    parts = predicting.profile_reference(pool, ref_features, schema)  # queued behind the predictions
    parts.labels("target", reference[req.target], kind)

    def predictions() -> tuple[Any, Any]:
        pred, proba = predicted.result()
        if "predictions" not in parts.parts:
            parts.labels("predictions", pd.Series(pred), kind)
            if proba is not None and proba.shape[1] == 2:
                parts.scores(pd.Series(proba[:, 1]))
        return pred, proba

    if req.validation is not None:
        ref_pred, ref_proba = predictions()  # the reference's errors before the validation file's
        validation = read_rows(req.validation, "validation")
        if req.target not in validation.columns:
            raise FuseboardError(f"target column {req.target!r} is not in {req.validation}", field="target")
        val_features = _features(estimator, validation, req.target, req.validation, "validation")
        # in this thread, chunk after chunk, while the pool profiles the reference
        val_pred, val_proba = predicting.predict_rows(estimator, val_features, req.validation)
        val_y = baseline.targets(task, estimator, validation[req.target], req.validation)
        metrics, found = baseline.measure(task, estimator, val_y, val_pred, val_proba), \
            Baseline("validation", len(validation))
        weights = importance.from_frame(task, estimator, val_features, val_y, "validation")
        labelled = estimators.Labelled(val_features, val_y, val_pred, val_proba, "validation")
    else:  # cross-validated on the reference (while the pool predicts); in-sample, said loudly, if it cannot run
        try:
            ref_y = baseline.targets(task, estimator, reference[req.target], req.reference)
        except FuseboardError:
            predictions()  # a reference the model cannot predict says so first, as it always did
            raise
        metrics, found = baseline.on_reference(task, estimator, model_input(estimator, ref_features), ref_y,
                                               predictions)
        ref_pred, ref_proba = predictions()
        weights = importance.from_frame(task, estimator, ref_features, ref_y, "reference")
        labelled = estimators.Labelled(ref_features, ref_y, ref_pred, ref_proba, "reference")
    metrics_on, metrics_rows = ("validation" if found.method == "validation" else "reference"), found.rows

    fitted = estimators.fit(task, estimator, schema, parts, ref_features, labelled)
    profile = parts.profile()
    if task == "classification" and hasattr(estimator, "classes_"):
        profile["classes"] = [str(c) for c in estimator.classes_]
    if weights is not None:
        profile["importance"] = weights
    profile["estimation"] = fitted.estimation
    return Prepared(req, task, est_class, hashlib.sha256(artifact).hexdigest(), schema, metrics, metrics_on,
                    int(metrics_rows), profile, artifact, found, fitted.loss_models, fitted.said)


def _task(estimator: Any, asked: str | None, est_class: str) -> str:
    """The model's task: what scikit-learn says it is; ``--task`` only where it cannot tell."""
    from sklearn.base import is_classifier, is_regressor

    known = "classification" if is_classifier(estimator) else "regression" if is_regressor(estimator) else None
    if asked and known and asked != known:
        raise FuseboardError(f"task {asked} does not fit {est_class}, which scikit-learn treats as {known}",
                             field="task")
    return asked or known or ("classification" if hasattr(estimator, "predict_proba") else "regression")


def protected_changes(ws: Workspace, prep: Prepared) -> str | None:
    """What registering ``prep`` would change about a model that serves in a protected environment
    (its criticality or owning team decide the gates, typed confirmations and ownership policy
    there), as a user reads it; None when it changes nothing of the kind."""
    req = prep.req
    with ws.session() as s:
        model = s.exec(select(Model).where(Model.name == req.model)).first()
        if model is None:
            return None
        protected = lookup.protected_serving(s, model.id)
        owner = s.get(Team, model.owner_team_id).name if model.owner_team_id else None
    changes = [f"{label} {old or '-'} -> {new}" for label, old, new in (
        ("criticality", model.criticality, req.criticality), ("owner", owner, req.owner)) if new and new != old]
    if not protected or not changes:
        return None
    return f"{', '.join(changes)} of {req.model}, which serves in {', '.join(protected)} (protected)"


def register(ws: Workspace, req: RegisterRequest, *, actor: str, origin: str, now: datetime | None = None) -> RegisterResult:
    """Validate everything, then write the artifact and one transaction."""
    return commit(ws, prepare(req), actor=actor, origin=origin, now=now)


def commit(ws: Workspace, prep: Prepared, *, actor: str, origin: str, now: datetime | None = None) -> RegisterResult:
    """Record a prepared version: the artifact copy and the rows land together or not at all."""
    req, when = prep.req, now or utcnow()
    created_file, stored, loss_created, loss_stored = False, "", False, ""
    try:
        with ws.transaction() as s:
            model = s.exec(select(Model).where(Model.name == req.model)).first()
            if model is not None and model.task != prep.task:
                raise FuseboardError(f"model {req.model!r} is a {model.task} model, but this artifact is a "
                                     f"{prep.task} model ({prep.estimator_class})")
            owner = lookup.team(s, req.owner, "owner") if req.owner else None
            builder = lookup.team(s, req.builder, "builder") if req.builder else None
            created_model = model is None
            if model is None:
                model = Model(name=req.model, task=prep.task, criticality=req.criticality or "internal",
                              description=req.description or "", created_at=when, monitoring=drift.new_model_settings())
                s.add(model)
            before, after = _apply_updates(s, model, req, owner, builder)
            s.flush()
            last = s.exec(select(func.max(ModelVersion.version)).where(ModelVersion.model_id == model.id)).one()
            number = (last or 0) + 1
            stored, created_file = _store_artifact(ws, prep.artifact, prep.sha256)
            if prep.loss_models:  # DLE's loss models: an artifact of their own, named in the profile
                loss_sha = hashlib.sha256(prep.loss_models).hexdigest()
                loss_stored, loss_created = _store_artifact(ws, prep.loss_models, loss_sha, ".loss")
                prep.profile["estimation"]["dle"].update(artifact=loss_stored, sha256=loss_sha)
            s.add(ModelVersion(
                model_id=model.id, version=number, artifact_sha256=prep.sha256, artifact_path=stored,
                estimator_class=prep.estimator_class, target=req.target, feature_schema=prep.schema,
                validation_metrics={**prep.metrics, **prep.baseline.stored()},
                reference_profile=prep.profile, registered_by=actor, registered_at=when, note=req.note,
            ))
            if created_model:
                audit.record(s, action="model.create", target=req.model, actor=actor, origin=origin,
                             after={"task": prep.task, "criticality": model.criticality, **after},
                             reason=req.reason, at=when)
            elif after:
                audit.record(s, action="model.update", target=req.model, actor=actor, origin=origin,
                             before=before, after=after, reason=req.reason, at=when)
            audit.record(s, action="version.register", target=f"{req.model}@v{number}", actor=actor, origin=origin,
                         after={"version": number, "sha256": prep.sha256, "estimator": prep.estimator_class,
                                "metrics": prep.metrics, "metrics_on": prep.metrics_on,
                                "baseline": prep.baseline.text()},
                         reason=req.reason, at=when)
    except BaseException:
        if created_file:
            (ws.artifact_dir / stored).unlink(missing_ok=True)
        if loss_created:
            (ws.artifact_dir / loss_stored).unlink(missing_ok=True)
        raise
    fitted = [k for k in ("pca", "cbpe", "dle") if k in prep.profile.get("estimation", {})]
    return RegisterResult(req.model, number, created_model, prep.sha256, prep.estimator_class, prep.task,
                          prep.metrics, prep.metrics_on, prep.schema, {} if created_model else after,
                          prep.baseline.as_dict(), prep.profile.get("importance"), fitted, prep.not_fitted)


def _apply_updates(s: Any, model: Model, req: RegisterRequest, owner: Any, builder: Any) -> tuple[dict, dict]:
    """Set the model fields the request names; returns what changed (team names, not ids)."""
    teams = {t.id: t.name for t in (owner, builder) if t is not None}
    for team_id in (model.owner_team_id, model.builder_team_id):
        if team_id is not None and team_id not in teams:
            teams[team_id] = s.get(Team, team_id).name
    updates = {
        "criticality": (req.criticality, req.criticality),
        "description": (req.description, req.description),
        "retrain_by": (req.retrain_by, _jsonable(req.retrain_by)),
        "owner_team_id": (owner.id if owner else None, owner.name if owner else None),
        "builder_team_id": (builder.id if builder else None, builder.name if builder else None),
    }
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for field_name, (value, shown) in updates.items():
        if value is None or getattr(model, field_name) == value:
            continue
        label = field_name.removesuffix("_team_id")
        old = getattr(model, field_name)
        before[label] = teams.get(old) if field_name.endswith("_team_id") else _jsonable(old)
        after[label] = shown
        setattr(model, field_name, value)
    return before, after


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def _store_artifact(ws: Workspace, data: bytes, sha: str, suffix: str = ".joblib") -> tuple[str, bool]:
    """Write ``data`` (the bytes registered) into ``artifacts/<sha[:2]>/<sha><suffix>``; returns
    (relative path, newly created). A model is ``.joblib``; DLE's loss models are ``.loss`` (joblib too)."""
    rel = f"{sha[:2]}/{sha}{suffix}"
    dest = ws.artifact_dir / rel
    if dest.exists() and sha256_file(dest) == sha:
        return rel, False
    dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    share(ws.artifact_dir, ws.group, FOLDER_MODES)
    share(dest.parent, ws.group, FOLDER_MODES)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        share(Path(tmp), ws.group, ARTIFACT_MODES)
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
    if sha256_file(path) != mv.artifact_sha256:
        raise FuseboardError(f"artifact for v{mv.version} does not match its recorded sha256; refusing it ({path})")
    return path
