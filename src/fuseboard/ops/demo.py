"""The built-in demo workspace.

``build_demo`` trains real scikit-learn models on the CSV files in
``sample_data/``, registers two or three versions of each through the same
``register`` the CLI uses, deploys them across dev, staging and prod (prod runs
a newer version, with the older one it replaced to go back to), and seeds
teams and people. Everything is seeded, so two builds hold the same models,
versions and metrics; only the timestamps follow the clock.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

from fuseboard.config import data_dir, resource_dir
from fuseboard.errors import FuseboardError
from fuseboard.ops import demo_history, deploy, registry, teams
from fuseboard.ops.demo_marker import MARKER, PLAYS, is_demo  # noqa: F401  (their home is light)
from fuseboard.store.db import Workspace, open_workspace
from fuseboard.store.models import utcnow

# r2 gates other than 0.5: the diabetes data is noisy (its best linear fits explain about half the
# variance), so its model is held to what that data allows
GATES = {"disease-progression": 0.4}
DB_NAME = "demo.db"
ACTOR = "demo"


def default_path() -> Path:
    return data_dir() / "demo"


def demo_url(path: Path) -> str:
    return f"sqlite:///{path / DB_NAME}"


@dataclass
class DemoModel:
    name: str
    csv: str
    target: str
    task: str
    criticality: str
    owner: str
    description: str
    versions: list[Callable[[], Any]]
    as_arrays: bool = False
    retrain_in_days: int = 90
    prod_version: int | None = None  # default: the latest; staging then runs a candidate


def _tabular(numeric: list[str], categorical: list[str], final: Any) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    prep = ColumnTransformer([
        ("num", StandardScaler(), numeric),
        ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
    ])
    return Pipeline([("prep", prep), ("model", final)])


def catalogue() -> list[DemoModel]:
    from sklearn.ensemble import GradientBoostingRegressor, HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    credit_num = ["age", "income", "loan_amount", "term_months", "credit_history_years"]
    credit_cat = ["employment", "home_ownership", "purpose"]
    churn_num, churn_cat = ["tenure_months", "monthly_charges", "support_calls"], ["contract", "payment_method"]
    demand_num, demand_cat = ["store_size_m2", "price", "temperature_c"], ["promo", "day_of_week"]
    return [
        DemoModel("credit-risk", "credit_risk.csv", "default", "classification", "mission-critical", "it-ops",
                  "Probability that a consumer loan defaults; gates every loan decision.",
                  [lambda: _tabular(credit_num, credit_cat, LogisticRegression(max_iter=500, C=0.1)),
                   lambda: _tabular(credit_num, credit_cat, LogisticRegression(max_iter=500, C=1.0)),
                   lambda: _tabular(credit_num, credit_cat,
                                    HistGradientBoostingClassifier(max_iter=80, learning_rate=0.08, random_state=0))],
                  prod_version=2),
        DemoModel("demand-forecast", "retail_demand.csv", "units_sold", "regression", "mission-critical", "it-ops",
                  "Daily units sold per store; drives replenishment orders.",
                  [lambda: _tabular(demand_num, demand_cat, Ridge(alpha=1.0)),
                   lambda: _tabular(demand_num, demand_cat,
                                    GradientBoostingRegressor(n_estimators=120, max_depth=3, random_state=0))],
                  retrain_in_days=30),
        DemoModel("churn-propensity", "churn.csv", "churned", "classification", "internal", "ds-core",
                  "Customers likely to cancel in the next 90 days; feeds the retention campaign list.",
                  [lambda: _tabular(churn_num, churn_cat, LogisticRegression(max_iter=500)),
                   lambda: _tabular(churn_num, churn_cat,
                                    RandomForestClassifier(n_estimators=60, max_depth=8, random_state=0))],
                  retrain_in_days=-5),
        DemoModel("tumour-screening", "breast_cancer.csv", "benign", "classification", "internal", "ds-core",
                  "Research model on the Wisconsin breast cancer data (numeric arrays, no column names).",
                  [lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, C=0.05)),
                   lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, C=1.0))],
                  as_arrays=True),
        DemoModel("disease-progression", "diabetes.csv", "progression", "regression", "internal", "ds-core",
                  "One-year disease progression from baseline measurements (scikit-learn diabetes data).",
                  [lambda: Ridge(alpha=10.0), lambda: Ridge(alpha=0.5)]),
    ]


TEAMS = [
    ("ds-core", "data-science", "Data science: builds and retrains the models"),
    ("ml-platform", "ml-engineering", "ML engineering: serving and pipelines"),
    ("it-ops", "it-operations", "IT operations: runs production, on call around the clock"),
]
PEOPLE = [
    ("ana", "Ana Ortiz", "ds-core", "ana@example.com", "+44 20 7946 0101"),
    ("ben", "Ben Okafor", "ds-core", "ben@example.com", "+44 20 7946 0102"),
    ("chloe", "Chloe Martin", "it-ops", "chloe@example.com", "+44 20 7946 0201"),
    ("dev", "Dev Patel", "it-ops", "dev@example.com", "+44 20 7946 0202"),
    ("eve", "Eve Lindqvist", "ml-platform", "eve@example.com", "+44 20 7946 0301"),
]


def _split(frame: Any, seed: int) -> tuple[Any, Any, Any]:
    shuffled = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    n = len(shuffled)
    a, b = int(n * 0.6), int(n * 0.8)
    return shuffled.iloc[:a], shuffled.iloc[a:b], shuffled.iloc[b:]


def reference_rows() -> dict[str, Any]:
    """Each demo model's reference rows (features and target), exactly as the demo split them."""
    import pandas as pd

    samples = resource_dir("sample_data")
    return {spec.name: _split(pd.read_csv(samples / spec.csv), index)[1]
            for index, spec in enumerate(catalogue())}


def _safe_to_replace(path: Path) -> bool:
    return not path.exists() or (path / MARKER).exists() or not any(path.iterdir())


def build_demo(path: Path | None = None, *, reset: bool = False, progress: Callable[[str], None] | None = None) -> Path:
    """Build the demo workspace in ``path`` (default: the data folder's ``demo``) and return it.

    An existing demo is kept unless ``reset``; a folder that is not a demo is never touched.
    """
    import joblib
    import pandas as pd

    path = (path or default_path()).expanduser().resolve()
    say = progress or (lambda _msg: None)
    if path.exists() and not _safe_to_replace(path):
        raise FuseboardError(f"{path} is not empty and is not a fuseboard demo; refusing to use it", field="path")
    if (path / MARKER).exists() and (path / DB_NAME).exists() and not reset:
        return path
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True, mode=0o700)
    (path / MARKER).write_text("built by `fuseboard demo`; safe to delete\n")

    samples = resource_dir("sample_data")
    ws = open_workspace(demo_url(path))
    now = utcnow()
    try:
        from fuseboard.ops.environments import set_identity_override

        # its people (ana, chloe, ...) are played by one login: FUSEBOARD_USER=chloe fuseboard ...
        set_identity_override(ws, True, actor=ACTOR, origin="demo", reason="the demo's people act through "
                              "FUSEBOARD_USER")
        for name, kind, desc in TEAMS:
            teams.add_team(ws, name, kind, description=desc, actor=ACTOR, origin="demo")
        for handle, full, team, email, phone in PEOPLE:
            teams.add_person(ws, handle, full, team, email=email, phone=phone, actor=ACTOR, origin="demo")
        from threadpoolctl import threadpool_limits  # comes with scikit-learn

        # one thread: the demo's small models train as fast, and OpenMP threads spinning against a
        # busy second core made the build 7x slower (4.5 s against 30 s, measured here)
        # the estimators first: threadpool_limits only reaches OpenMP once scikit-learn has loaded it,
        # and a first build in a fresh process otherwise pickled n_threads=2 (another sha256)
        specs = catalogue()
        with tempfile.TemporaryDirectory(prefix="fuseboard-demo-") as tmp_name, threadpool_limits(1):
            tmp = Path(tmp_name)
            for index, spec in enumerate(specs):
                say(f"training {spec.name}")
                _build_model(ws, spec, samples, tmp, now, seed=index, joblib=joblib, pd=pd)
        _gates_and_signoffs(ws, now)
        say(f"checking a week of {demo_history.MODEL} in {demo_history.ENV}")
        demo_history.replay_checks(ws, now)
        _ownership(ws, now)
    finally:
        ws.close()
    return path


def _gates_and_signoffs(ws: Workspace, now: Any) -> None:
    """Promotion gates on every model, sign-offs for what reached prod, and the known-good history.

    credit-risk's newest version waits in staging with the business sign-off only, so its
    promotion into prod shows a failing gate.
    """
    from sqlmodel import select

    from fuseboard.monitoring import rollouts, settings
    from fuseboard.store.models import Deployment, Environment, Model, ModelVersion

    with ws.session() as s:
        models = s.exec(select(Model)).all()
        prod = s.exec(select(Environment).where(Environment.name == "prod")).one()
        serving = {d.model_id: d.version_id for d in s.exec(select(Deployment).where(
            Deployment.environment_id == prod.id))}
        latest = {m.id: s.exec(select(ModelVersion).where(ModelVersion.model_id == m.id)
                               .order_by(ModelVersion.version.desc())).first() for m in models}
    for m in models:
        gate = {"roc_auc": 0.7} if m.task == "classification" else {"r2": GATES.get(m.name, 0.5)}
        settings.update(ws, m.name, {"gates": gate}, actor="chloe", origin="demo", reason="demo workspace")
    from fuseboard.ops.gates import signoff

    for m in models:
        signed = {serving[m.id]: ("business", "it")} if m.id in serving else {}
        newest = latest[m.id]
        if newest.id not in signed:
            signed[newest.id] = ("business",) if m.name == "credit-risk" else ("business", "it")
        for version_id, sides in signed.items():
            number = newest.version if version_id == newest.id else None
            if number is None:
                with ws.session() as s:
                    number = s.get(ModelVersion, version_id).version
            for side in sides:
                signoff(ws, m.name, number, side, actor="dev" if side == "it" else "ben", origin="demo",
                        note="demo workspace: user acceptance")
    with ws.transaction() as s:
        rollouts.mark_known_good(s, now)


def _ownership(ws: Workspace, now: Any) -> None:
    """On-call rotas (weekly, handing over on Mondays at 09:00 local time) and a handover in review:
    churn-propensity moving from ds-core to it-ops, its privacy item already evidenced."""
    from datetime import datetime

    from fuseboard.ops import handover, oncall

    local = now.astimezone()
    monday = (local - timedelta(days=local.weekday())).replace(hour=9, minute=0, second=0, microsecond=0)
    if monday > local:  # Monday before 09:00: the turn began last week
        monday -= timedelta(weeks=1)
    start = datetime.fromtimestamp(monday.timestamp(), tz=now.tzinfo) - timedelta(weeks=4)
    oncall.set_rotation(ws, "it-ops", ["chloe", "dev"], start, actor="chloe", origin="demo", reason="demo rota")
    oncall.set_rotation(ws, "ds-core", ["ana", "ben"], start, actor="ana", origin="demo", reason="demo rota")
    handover.start(ws, "churn-propensity", "it-ops", actor="ana", origin="demo", reason="demo workspace", now=now)
    handover.tick(ws, "churn-propensity", "data.privacy", actor="ana", origin="demo", now=now,
                  evidence="DPIA-2291: no personal data beyond customer id, approved by the DPO")


def _build_model(ws: Workspace, spec: DemoModel, samples: Path, tmp: Path, now: Any, *, seed: int,
                 joblib: Any, pd: Any) -> None:
    frame = pd.read_csv(samples / spec.csv)
    train, reference, validation = _split(frame, seed)
    ref_path, val_path = tmp / f"{spec.name}-reference.csv", tmp / f"{spec.name}-validation.csv"
    reference.to_csv(ref_path, index=False)
    validation.to_csv(val_path, index=False)
    X, y = train.drop(columns=[spec.target]), train[spec.target]
    n_versions = len(spec.versions)
    trained: dict[int, Any] = {}
    for number, make in enumerate(spec.versions, start=1):
        estimator = trained[number] = make()
        estimator.fit(X.to_numpy() if spec.as_arrays else X, y)
        artifact = tmp / f"{spec.name}-v{number}.joblib"
        joblib.dump(estimator, artifact)
        age = timedelta(days=10 * (n_versions - number) + 2)
        registry.register(
            ws,
            registry.RegisterRequest(
                model=spec.name, artifact=artifact, reference=ref_path, target=spec.target,
                validation=val_path, task=spec.task, criticality=spec.criticality, owner=spec.owner,
                builder="ds-core", description=spec.description,
                retrain_by=(now + timedelta(days=spec.retrain_in_days)).date(),
                note=f"{type(estimator[-1] if hasattr(estimator, 'steps') else estimator).__name__} "
                     f"trained on {len(train)} rows",
                reason="demo workspace",
            ),
            actor="ana", origin="demo", now=now - age - timedelta(days=1),
        )
    latest = n_versions
    in_prod = spec.prod_version or latest
    # prod ran the version before for weeks, then moved on two days ago; staging and dev
    # run the latest (for credit-risk, a candidate not yet promoted).
    plan = [("dev", latest, timedelta(days=3)), ("staging", latest, timedelta(days=2, hours=12)),
            ("prod", in_prod - 1, timedelta(days=21)), ("prod", in_prod, timedelta(days=2))]
    if spec.name == "tumour-screening":  # a fresh prod deploy, still soaking (known-good after an hour)
        plan[-1] = ("prod", latest, timedelta(minutes=30))
    for env, version, ago in plan:
        deploy.deploy(ws, spec.name, version, env, actor="chloe" if env == "prod" else "ana", origin="demo",
                      reason="demo workspace", now=now - ago, check_gates=False)  # made-up history
        if spec.name == demo_history.MODEL and env == demo_history.ENV:  # its week of prod traffic, by version
            until = now - plan[-1][2] if version != in_prod else now
            batches = [b for b in demo_history.batch_times(now)
                       if now - ago <= b and b + demo_history.BATCH_SPAN <= until]
            demo_history.ingest_traffic(ws, spec, trained[version], reference, batches, seed=seed + version)
