"""Promotion gates and user-acceptance sign-offs.

A change into a protected environment (prod by default) must pass every gate, or be
overridden with a reason (audited):

* validation metrics meet the model's thresholds (``fuseboard monitoring set MODEL
  --gate roc_auc=0.80``; higher-is-better metrics are minimums, error metrics maximums);
* the version ran in the previous environment for that environment's soak time with no
  critical alert (it became known-good there);
* business and IT signed the version off (``fuseboard signoff MODEL VERSION --as business|it``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from fuseboard.errors import FuseboardError
from fuseboard.monitoring import rollouts
from fuseboard.ops import audit
from fuseboard.status import Status
from fuseboard.store import lookup
from fuseboard.store.db import Workspace
from fuseboard.store.models import (SIGNOFF_SIDES, Alert, Environment, Model, ModelVersion, Rollout, RolloutState,
                                    Signoff, utcnow)

LOWER_IS_BETTER = ("rmse", "mae", "log_loss")


@dataclass
class Gate:
    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _metrics_gate(model: Model, mv: ModelVersion) -> Gate:
    thresholds = (model.monitoring or {}).get("gates", {})
    if not thresholds:
        return Gate("validation metrics", False, f"no thresholds set (fuseboard monitoring set {model.name} "
                    "--gate METRIC=VALUE)")
    misses, met = [], []
    for metric, limit in sorted(thresholds.items()):
        value = (mv.validation_metrics or {}).get(metric)
        if not isinstance(value, (int, float)):
            misses.append(f"{metric} not measured")
            continue
        good = value <= limit if metric in LOWER_IS_BETTER else value >= limit
        (met if good else misses).append(f"{metric} {value:.3f} {'<=' if metric in LOWER_IS_BETTER else '>='} "
                                         f"{limit:g}" if good else
                                         f"{metric} {value:.3f}, needs {'<=' if metric in LOWER_IS_BETTER else '>='}"
                                         f" {limit:g}")
    return Gate("validation metrics", not misses, "; ".join(misses or met))


def _soak_gate(session: Session, model: Model, mv: ModelVersion, env: Environment, now: datetime) -> Gate:
    previous = session.exec(select(Environment).where(Environment.order < env.order)
                            .order_by(Environment.order.desc())).first()
    if previous is None:
        return Gate("soak", True, f"{env.name} is the first environment")
    runs = session.exec(select(Rollout).where(Rollout.model_id == model.id, Rollout.environment_id == previous.id,
                                              Rollout.to_version_id == mv.id, Rollout.state == RolloutState.SUCCEEDED)
                        .order_by(Rollout.id.desc())).all()
    soak = timedelta(seconds=previous.soak_seconds)
    if not runs:
        return Gate("soak", False, f"v{mv.version} never ran in {previous.name}")
    crit = session.exec(select(Alert.opened_at, Alert.resolved_at).where(
        Alert.model_id == model.id, Alert.environment_id == previous.id, Alert.severity == Status.CRIT)).all()
    for r in runs:
        if r.revoked_at is not None:  # rolled back from there: not known-good
            continue
        good = r.known_good_at or rollouts.known_good_at(r.finished_at, r.ended_at, soak, crit, now)
        if good is not None:
            return Gate("soak", True, f"known-good in {previous.name} since {good:%Y-%m-%d %H:%M} UTC")
    latest = runs[0]
    if latest.revoked_at is not None:
        return Gate("soak", False, f"v{mv.version} was rolled back from in {previous.name} at "
                    f"{latest.revoked_at:%Y-%m-%d %H:%M} UTC; deploy it there again and let it soak")
    served = (latest.ended_at or now) - latest.finished_at
    return Gate("soak", False, f"v{mv.version} in {previous.name}: {_span(served)} of {_span(soak)} soak without "
                "a critical alert")


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def evaluate(session: Session, model: Model, mv: ModelVersion, env: Environment,
             now: datetime | None = None) -> list[Gate]:
    """The gates for putting ``mv`` into ``env``; empty when the environment is not protected."""
    if not env.protected:
        return []
    now = now or utcnow()
    gates = [_metrics_gate(model, mv), _soak_gate(session, model, mv, env, now)]
    signed = {s.side: s for s in session.exec(select(Signoff).where(Signoff.version_id == mv.id))}
    for side in SIGNOFF_SIDES:
        label = "business sign-off" if side == "business" else "IT sign-off"
        got = signed.get(side)
        gates.append(Gate(label, got is not None,
                          f"by {got.signed_by} on {got.signed_at:%Y-%m-%d}" if got else
                          f"missing (fuseboard signoff {model.name} {mv.version} --as {side})"))
    return gates


def signoff(ws: Workspace, model: str, version: int, side: str, *, actor: str, origin: str,
            note: str = "") -> Signoff:
    """Record one side's acceptance of a version; signing twice is refused (the first one stands)."""
    if side not in SIGNOFF_SIDES:
        raise FuseboardError(f"the side must be one of {', '.join(SIGNOFF_SIDES)}, not {side!r}", field="side")
    actor = audit.effective_actor(ws, actor)
    with ws.transaction() as s:
        m = lookup.model(s, model)
        mv = lookup.version(s, m, version)
        existing = s.exec(select(Signoff).where(Signoff.version_id == mv.id, Signoff.side == side)).first()
        if existing is not None:
            raise FuseboardError(f"{model} v{version} already has the {side} sign-off, by {existing.signed_by} "
                                 f"on {existing.signed_at:%Y-%m-%d}")
        item = Signoff(version_id=mv.id, side=side, signed_by=actor, note=note)
        s.add(item)
        audit.record(s, action="signoff", target=f"{m.name}@v{version}", actor=actor, origin=origin,
                     after={"side": side}, reason=note)
    return item
