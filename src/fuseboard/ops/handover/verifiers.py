"""The checklist items fuseboard verifies from the workspace itself (``verify = "..."`` in a template).

Each verifier reads the model's state and answers a ``Verdict``: satisfied or not, the evidence
in one line, and when not satisfied what would make it pass (a command or an action). ``CHECKS``
says in words what each one checks. They are re-run whenever an open handover is shown, signed or exported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from sqlmodel import Session, select

from fuseboard.status import Status
from fuseboard.store.models import CheckRun, CheckState, Deployment, Environment, Model, ModelVersion, Signoff

CHECKS_RUNNING_DAYS = 7


@dataclass
class Verdict:
    ok: bool
    evidence: str  # what fuseboard found
    fix: str = ""  # not satisfied: what would make it pass


CHECKS = {
    "schema_captured": "the version serving in prod (else the latest) has a feature schema and a reference profile",
    "validation_metrics": "the serving version's validation metrics meet the model's gates",
    "rollback_target": "prod has a known-good version older than the one serving, to roll back to",
    "checks_running": f"health and drift checks ran in prod without errors for {CHECKS_RUNNING_DAYS} days, "
                      "and lately",
    "alert_thresholds": "the model's monitoring settings were reviewed (thresholds, tolerances, methods, key "
                        "features or drift share set)",
    "prod_hook": "the prod environment has a deploy hook",
    "retrain_by": "the model has a retrain-by date in the future",
    "signoffs": "the serving version has user-acceptance sign-offs from the business and IT sides",
    "performance_monitored": "prod has a performance verdict (labels flow back)",
}


def _prod(s: Session) -> Environment | None:
    return s.exec(select(Environment).where(Environment.protected.is_(True))
                  .order_by(Environment.order.desc())).first() or \
        s.exec(select(Environment).order_by(Environment.order.desc())).first()


def _serving(s: Session, m: Model, env: Environment | None) -> ModelVersion | None:
    if env is None:
        return None
    dep = s.exec(select(Deployment).where(Deployment.model_id == m.id, Deployment.environment_id == env.id)).first()
    return s.get(ModelVersion, dep.version_id) if dep else None


def _latest(s: Session, m: Model) -> ModelVersion | None:
    return s.exec(select(ModelVersion).where(ModelVersion.model_id == m.id)
                  .order_by(ModelVersion.version.desc())).first()


def v_schema_captured(s: Session, m: Model, now: datetime) -> Verdict:
    mv = _serving(s, m, _prod(s)) or _latest(s, m)
    if mv is None:
        return Verdict(False, "no version registered", f"fuseboard register {m.name} ...")
    n = len(mv.feature_schema or [])
    ok = n > 0 and bool((mv.reference_profile or {}).get("features"))
    return Verdict(ok, f"v{mv.version}: {n} features in the schema, reference profile "
                   f"{'recorded' if ok else 'missing'}",
                   "register the version with its reference data (fuseboard register ... --reference FILE)")


def v_validation_metrics(s: Session, m: Model, now: datetime) -> Verdict:
    from fuseboard.ops.gates import _metrics_gate

    mv = _serving(s, m, _prod(s)) or _latest(s, m)
    if mv is None:
        return Verdict(False, "no version registered", f"fuseboard register {m.name} ...")
    gate = _metrics_gate(m, mv)
    return Verdict(gate.ok, f"v{mv.version}: {gate.detail}",
                   "serve a version whose validation metrics meet the gates (fuseboard promote), or review "
                   "the gates")


def v_rollback_target(s: Session, m: Model, now: datetime) -> Verdict:
    from fuseboard.ops.deploy import last_known_good

    env = _prod(s)
    mv = _serving(s, m, env)
    if mv is None:
        return Verdict(False, f"nothing runs in {env.name if env else 'prod'}",
                       f"deploy {m.name} to {env.name if env else 'prod'} (fuseboard promote)")
    good = last_known_good(s, m, env, mv.id)
    return Verdict(good is not None, f"known-good v{good.version} in {env.name} to roll back to" if good else
                   f"no known-good version in {env.name} older than v{mv.version}",
                   f"an earlier version must have served in {env.name} without critical alerts; promote the "
                   f"next version once this one has (a rollback target is the one before it)")


def v_checks_running(s: Session, m: Model, now: datetime) -> Verdict:
    env = _prod(s)
    if env is None:
        return Verdict(False, "no environment", "add environments (fuseboard envs)")
    states = {c.check: c for c in s.exec(select(CheckState).where(CheckState.model_id == m.id,
                                                                  CheckState.environment_id == env.id))}
    missing = [c for c in ("health", "drift") if c not in states]
    if missing:
        return Verdict(False, f"{' and '.join(missing)} never ran in {env.name}",
                       f"run the monitor (fuseboard monitor) for {CHECKS_RUNNING_DAYS} days")
    since = now - timedelta(days=CHECKS_RUNNING_DAYS)
    first = s.exec(select(CheckRun.at).where(CheckRun.model_id == m.id, CheckRun.environment_id == env.id)
                   .order_by(CheckRun.at)).first()
    errors = s.exec(select(CheckRun.at).where(CheckRun.model_id == m.id, CheckRun.environment_id == env.id,
                                              CheckRun.status == Status.ERROR, CheckRun.at >= since)).first()
    if errors is not None or any(c.status == Status.ERROR for c in states.values()):
        return Verdict(False, f"a check failed to run in {env.name} in the last {CHECKS_RUNNING_DAYS} days",
                       f"fix what made it fail (fuseboard incident {m.name} --env {env.name}; the monitor's log), "
                       f"then {CHECKS_RUNNING_DAYS} clean days")
    if first is None or first > since:
        days = 0 if first is None else (now - first).days
        return Verdict(False, f"checks run in {env.name} for {days} of {CHECKS_RUNNING_DAYS} days",
                       f"keep the monitor running (fuseboard monitor): passes after {CHECKS_RUNNING_DAYS - days} "
                       f"more day(s) without errors")
    stale = [c for c in ("health", "drift") if states[c].at < now - timedelta(days=1)]
    if stale:  # they ran long enough, but not lately
        return Verdict(False, f"{' and '.join(stale)} last ran in {env.name} on "
                       f"{min(states[c].at for c in stale):%Y-%m-%d} (is a monitor running?)",
                       "start the monitor again (fuseboard monitor)")
    return Verdict(True, f"health and drift checks ran in {env.name} without errors for {CHECKS_RUNNING_DAYS} days")


def v_alert_thresholds(s: Session, m: Model, now: datetime) -> Verdict:
    settings = m.monitoring or {}
    reviewed = [k for k in ("thresholds", "tolerances", "methods", "key_features", "drift_share") if settings.get(k)]
    return Verdict(bool(reviewed), f"set: {', '.join(reviewed)}" if reviewed else "defaults only",
                   f"review them and set them: fuseboard monitoring set {m.name} ...")


def v_prod_hook(s: Session, m: Model, now: datetime) -> Verdict:
    from fuseboard.ops.hooks import describe

    env = _prod(s)
    if env is None or not env.hook:
        return Verdict(False, f"no deploy hook on {env.name if env else 'prod'}",
                       f"fuseboard envs set {env.name if env else 'prod'} --hook-command ... (or --hook-webhook URL)")
    return Verdict(True, f"{env.name}: {describe(env.hook)}")


def v_retrain_by(s: Session, m: Model, now: datetime) -> Verdict:
    if m.retrain_by is None:
        return Verdict(False, "no retrain-by date", "register the next version with --retrain-by DATE")
    ok = m.retrain_by > now.date()
    return Verdict(ok, f"retrain by {m.retrain_by:%Y-%m-%d}" + ("" if ok else " (passed)"),
                   "retrain, and register the new version with a future --retrain-by DATE")


def v_signoffs(s: Session, m: Model, now: datetime) -> Verdict:
    mv = _serving(s, m, _prod(s)) or _latest(s, m)
    if mv is None:
        return Verdict(False, "no version registered", f"fuseboard register {m.name} ...")
    sides = {x.side: x for x in s.exec(select(Signoff).where(Signoff.version_id == mv.id))}
    missing = [side for side in ("business", "it") if side not in sides]
    return Verdict(not missing, f"v{mv.version}: " + (f"missing {' and '.join(missing)}" if missing else
                   ", ".join(f"{k} by {v.signed_by}" for k, v in sorted(sides.items()))),
                   " and ".join(f"fuseboard signoff {m.name} {mv.version} --as {side}" for side in missing))


def v_performance_monitored(s: Session, m: Model, now: datetime) -> Verdict:
    env = _prod(s)
    state = s.exec(select(CheckState).where(CheckState.model_id == m.id, CheckState.environment_id == env.id,
                                            CheckState.check == "performance")).first() if env else None
    if state is None or state.status in (Status.NONE, Status.ERROR):
        return Verdict(False, f"no performance verdict in {env.name if env else 'prod'} yet",
                       f"send true labels back (fuseboard ingest-labels {m.name} FILE --env {env.name if env else 'prod'}) "
                       "and let the monitor judge them")
    return Verdict(True, f"{state.summary} ({state.rows} labelled rows)")


VERIFIERS: dict[str, Callable[[Session, Model, datetime], Verdict]] = {
    "schema_captured": v_schema_captured, "validation_metrics": v_validation_metrics,
    "rollback_target": v_rollback_target, "checks_running": v_checks_running,
    "alert_thresholds": v_alert_thresholds, "prod_hook": v_prod_hook, "retrain_by": v_retrain_by,
    "signoffs": v_signoffs, "performance_monitored": v_performance_monitored,
}

