"""fuseboard's side of ``real_data.py``: a case registered, deployed and ingested as a user would, then
each window's drift verdicts read from the windows the workspace stored.

The CLI does the work a user does, in a temporary workspace (``python -m fuseboard``, the python
running this, so the tree on its path): ``register`` (the model, its reference profile and feature
kinds, as the product infers them), ``deploy`` to dev, ``monitoring set --min-rows`` (the real
windows hold 56 to 101 rows: below the default 100 there is no verdict) and ``ingest`` of every
window's rows with their timestamps (one file). Each window's verdicts are then read from the
stored five-minute windows whose start falls in the window's period: merged (``evaluate.merged``,
as the checks merge them) and judged by ``drift_verdict.evaluate_drift`` with the model's policy
(``settings.policy_for``) and the method asked for. ``fuseboard check`` cannot give these yet: it
reads the hour before the clock (and ``run_checks(now=...)`` has no upper bound); when ``check --at``
lands, it is the same read.

Methods: a name in ``drift.METHODS`` (``psi``, ``auto`` once it exists, ...) for every feature, or
``NUM/CAT`` (e.g. ``ks/chisquare``): one method for numeric features, another for categorical ones.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from real_data_cases import Case

MIN_ROWS = 30  # the model's ``--min-rows``: the smallest real window has 56 rows
ENV = "dev"


def default_methods() -> list[str]:
    """``auto`` when the product has it (else KS for numbers and chi-square for categories: the exact
    tests fuseboard has), then ``psi``."""
    from fuseboard.monitoring import drift

    return ["auto" if "auto" in drift.METHODS else "ks/chisquare", "psi"]


def _cli(workdir: Path, *args: str) -> str:
    env = dict(os.environ, XDG_DATA_HOME=str(workdir / "xdg-data"), XDG_CONFIG_HOME=str(workdir / "xdg-config"),
               XDG_STATE_HOME=str(workdir / "xdg-state"), NO_COLOR="1")
    env.pop("FUSEBOARD_DB", None)
    cmd = [sys.executable, "-m", "fuseboard", "--db", _url(workdir), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=workdir)
    if proc.returncode != 0:
        raise SystemExit(f"fuseboard {' '.join(args[:2])} failed (exit {proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def _url(workdir: Path) -> str:
    return f"sqlite:///{workdir / 'workspace.db'}"


def predict(case: Case, model: Any, frame: Any) -> Any:
    return model.predict(frame[case.features])


def prepare(case: Case, workdir: Path) -> Any:
    """Fit the case's model on its reference, register it, deploy it, set its minimum rows, and ingest
    every window's rows (features, prediction, label, timestamp). Returns the fitted model."""
    import joblib
    import pandas as pd

    workdir.mkdir(parents=True, exist_ok=True)
    model = case.make_model().fit(case.reference[case.features], case.reference[case.target])
    joblib.dump(model, workdir / "model.joblib")
    case.reference[[*case.features, case.target]].to_csv(workdir / "reference.csv", index=False)
    _cli(workdir, "register", case.name, "--artifact", str(workdir / "model.joblib"), "--reference",
         str(workdir / "reference.csv"), "--target", case.target, "--yes", "--json")
    _cli(workdir, "deploy", case.name, "1", "--env", ENV, "--wait", "0", "--yes")
    _cli(workdir, "monitoring", "set", case.name, "--min-rows", str(MIN_ROWS), "--yes")
    parts = []
    for window in case.windows:
        rows = window.frame[case.features].copy()
        rows["prediction"] = predict(case, model, window.frame)
        rows["label"] = window.frame[case.target].to_numpy()
        rows["timestamp"] = pd.to_datetime(window.times, utc=True).to_numpy()
        parts.append(rows)
    batch = pd.concat(parts, ignore_index=True)
    batch.to_parquet(workdir / "rows.parquet", index=False)
    json.loads(_cli(workdir, "ingest", case.name, str(workdir / "rows.parquet"), "--env", ENV, "--json"))
    return model


def _policy(base: Any, method: str, schema: list[dict[str, Any]]) -> Any:
    import dataclasses

    policy = dataclasses.replace(base)
    if "/" in method:
        numeric, categorical = method.split("/", 1)
        policy.methods = {f["name"]: numeric if f["kind"] == "numeric" else categorical for f in schema}
    else:
        policy.default_method, policy.methods = method, {}
    return policy


def verdicts(case: Case, workdir: Path, methods: list[str]) -> dict[str, Any]:
    """Per window: its rows as stored, each method's per-feature verdicts and the check's status, the
    feature kinds the product inferred, and the window's performance as folded.

    Returns
    -------
    result : dict
        ``{"schema": {feature: kind}, "windows": {label: {"rows", "metrics", "methods": {method:
        {"status", "summary", "features": {feature: {"drifted", "score", "method"}}}}}}}``
    """
    from sqlmodel import select

    from fuseboard.monitoring import drift_verdict, evaluate, performance
    from fuseboard.monitoring.settings import policy_for
    from fuseboard.store import lookup
    from fuseboard.store.db import open_workspace
    from fuseboard.store.models import Deployment, ModelVersion, WindowProfile

    ws = open_workspace(_url(workdir), create=False, read_only=True)
    try:
        with ws.session() as s:
            model = lookup.model(s, case.name)
            env = lookup.environment(s, ENV)
            dep = s.exec(select(Deployment).where(Deployment.model_id == model.id,
                                                  Deployment.environment_id == env.id)).one()
            mv = s.get(ModelVersion, dep.version_id)
            reference, schema = mv.reference_profile, list(mv.feature_schema)
            base = policy_for(model.monitoring or {})
            criticality = model.criticality
            out: dict[str, Any] = {"schema": {f["name"]: f["kind"] for f in schema}, "windows": {}}
            for window in case.windows:
                rows = s.exec(select(WindowProfile).where(
                    WindowProfile.version_id == mv.id, WindowProfile.environment_id == env.id,
                    WindowProfile.window_start >= window.start, WindowProfile.window_start < window.end)).all()
                features = evaluate.merged(rows, "features")
                perf = evaluate.merged_performance(rows)
                entry: dict[str, Any] = {"rows": sum(r.rows for r in rows),
                                         "metrics": performance.metrics(perf) if perf else {}, "methods": {}}
                for method in methods:
                    result = drift_verdict.evaluate_drift(features, reference, criticality,
                                                          _policy(base, method, schema))
                    entry["methods"][method] = {
                        "status": str(result.status), "summary": result.summary,
                        "features": {f["feature"]: {"drifted": bool(f["drifted"]), "score": float(f["score"]),
                                                    "method": f["method"]}
                                     for f in (result.details or {}).get("features", [])}}
                out["windows"][window.label] = entry
    finally:
        ws.close()
    return out


def alarm_rate(case: Case, methods: list[str], size: int, draws: int, seed: int = 0) -> dict[str, float]:
    """The share of ``draws`` no-shift windows of ``size`` rows (drawn from the reference without
    replacement, or with it when the reference is smaller) on which the drift check is not ``ok``.

    No workspace: the reference profiled and each draw folded by the functions registration and
    ingest use (``profiles.feature_schema``, ``profiles.build_profile``, ``windows.fold_numeric`` /
    ``fold_categorical``), judged by ``drift_verdict.evaluate_drift`` with the minimum rows the
    workspace side sets.

    Returns
    -------
    rates : dict of str to float
        Method -> share of draws with a drift warning or worse, in [0, 1].
    """
    import numpy as np

    from fuseboard.monitoring import drift_verdict, profiles, windows
    from fuseboard.monitoring.settings import policy_for

    frame = case.reference[case.features]
    schema = profiles.feature_schema(frame)
    reference = profiles.build_profile(frame, schema)
    policies = {m: _policy(policy_for({"min_rows": MIN_ROWS}), m, schema) for m in methods}
    rng = np.random.default_rng([seed, size])
    alarms = dict.fromkeys(methods, 0)
    for _ in range(draws):
        rows = frame.iloc[rng.choice(len(frame), size, replace=size > len(frame))]
        folded = {f["name"]: (windows.fold_numeric(rows[f["name"]].to_numpy(dtype="float64"),
                                                   reference["features"][f["name"]])
                              if f["kind"] == "numeric" else
                              windows.fold_categorical(rows[f["name"]].to_numpy(), reference["features"][f["name"]]))
                  for f in schema}
        for m in methods:
            alarms[m] += drift_verdict.evaluate_drift(folded, reference, "internal", policies[m]).status != "ok"
    return {m: alarms[m] / draws for m in methods}
