"""Recording which version runs where.

The environments issue adds gates, hooks and rollback on top of this; here a
deploy is the audited record that a version now serves in an environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from fuseboard.ops import audit
from fuseboard.store import lookup
from fuseboard.store.db import Workspace
from fuseboard.store.models import Deployment, ModelVersion, utcnow


@dataclass
class DeployPlan:
    model: str
    environment: str
    protected: bool
    from_version: int | None
    to_version: int
    from_endpoint: str
    endpoint_url: str

    @property
    def changes(self) -> bool:
        return self.from_version != self.to_version or self.from_endpoint != self.endpoint_url

    def describe(self) -> str:
        was = f"v{self.from_version}" if self.from_version is not None else "nothing"
        text = f"{self.model} in {self.environment}: {was} -> v{self.to_version}"
        if self.endpoint_url != self.from_endpoint:
            text += f", endpoint {self.from_endpoint or '-'} -> {self.endpoint_url or '-'}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "environment": self.environment, "from_version": self.from_version,
                "to_version": self.to_version, "endpoint_url": self.endpoint_url, "changed": self.changes}


def _plan(session: Session, model: str, version: int, env: str,
          endpoint_url: str | None) -> tuple[DeployPlan, Deployment | None, ModelVersion]:
    m = lookup.model(session, model)
    e = lookup.environment(session, env)
    mv = lookup.version(session, m, version)
    dep = session.exec(
        select(Deployment).where(Deployment.model_id == m.id, Deployment.environment_id == e.id)
    ).first()
    current = session.get(ModelVersion, dep.version_id).version if dep else None
    old_url = dep.endpoint_url if dep else ""
    new_url = old_url if endpoint_url is None else endpoint_url
    return DeployPlan(m.name, e.name, e.protected, current, version, old_url, new_url), dep, mv


def plan_deploy(ws: Workspace, model: str, version: int, env: str, endpoint_url: str | None = None) -> DeployPlan:
    """What ``deploy`` would change, without changing it (for confirmations)."""
    with ws.session() as s:
        return _plan(s, model, version, env, endpoint_url)[0]


def deploy(
    ws: Workspace,
    model: str,
    version: int,
    env: str,
    *,
    actor: str,
    origin: str,
    reason: str = "",
    endpoint_url: str | None = None,
    now: datetime | None = None,
) -> DeployPlan:
    """Record ``model`` vN as serving in ``env`` (and its endpoint); a no-op, not audited, if nothing changes."""
    when = now or utcnow()
    with ws.transaction() as s:
        plan, dep, mv = _plan(s, model, version, env, endpoint_url)
        if not plan.changes:
            return plan
        if dep is None:
            dep = Deployment(model_id=mv.model_id, environment_id=lookup.environment(s, env).id, version_id=mv.id,
                             endpoint_url=plan.endpoint_url, deployed_by=actor, deployed_at=when)
        else:
            dep.version_id, dep.endpoint_url, dep.deployed_by, dep.deployed_at = mv.id, plan.endpoint_url, actor, when
        s.add(dep)
        audit.record(s, action="deploy", target=f"{plan.model}/{plan.environment}", actor=actor, origin=origin,
                     before={"version": plan.from_version, "endpoint_url": plan.from_endpoint},
                     after={"version": version, "endpoint_url": plan.endpoint_url}, reason=reason, at=when)
    return plan
