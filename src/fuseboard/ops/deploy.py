"""Recording which version runs where.

The environments issue adds gates, hooks and rollback on top of this; here a
deploy is the audited record that a version now serves in an environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from fuseboard.ops import audit, lookup
from fuseboard.store.db import Workspace
from fuseboard.store.models import Deployment, ModelVersion, utcnow


@dataclass
class DeployPlan:
    model: str
    environment: str
    protected: bool
    from_version: int | None
    to_version: int
    endpoint_url: str

    @property
    def changes(self) -> bool:
        return self.from_version != self.to_version

    def describe(self) -> str:
        was = f"v{self.from_version}" if self.from_version is not None else "nothing"
        return f"{self.model} in {self.environment}: {was} -> v{self.to_version}"

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "environment": self.environment, "from_version": self.from_version,
                "to_version": self.to_version, "endpoint_url": self.endpoint_url, "changed": self.changes}


def _current(session: Session, model_id: int, env_id: int) -> tuple[Deployment | None, int | None]:
    dep = session.exec(
        select(Deployment).where(Deployment.model_id == model_id, Deployment.environment_id == env_id)
    ).first()
    if dep is None:
        return None, None
    return dep, session.get(ModelVersion, dep.version_id).version


def plan_deploy(ws: Workspace, model: str, version: int, env: str, endpoint_url: str | None = None) -> DeployPlan:
    """What ``deploy`` would change, without changing it (for confirmations)."""
    with ws.session() as s:
        m = lookup.model(s, model)
        e = lookup.environment(s, env)
        lookup.version(s, m, version)
        dep, current = _current(s, m.id, e.id)
        url = endpoint_url if endpoint_url is not None else (dep.endpoint_url if dep else "")
        return DeployPlan(m.name, e.name, e.protected, current, version, url)


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
    """Record ``model`` vN as serving in ``env``; a no-op (not audited) if it already is."""
    when = now or utcnow()
    with ws.transaction() as s:
        m = lookup.model(s, model)
        e = lookup.environment(s, env)
        mv = lookup.version(s, m, version)
        dep, current = _current(s, m.id, e.id)
        url = endpoint_url if endpoint_url is not None else (dep.endpoint_url if dep else "")
        plan = DeployPlan(m.name, e.name, e.protected, current, version, url)
        if not plan.changes and (dep is None or dep.endpoint_url == url):
            return plan
        if dep is None:
            dep = Deployment(model_id=m.id, environment_id=e.id, version_id=mv.id, endpoint_url=url,
                             deployed_by=actor, deployed_at=when)
        else:
            dep.version_id, dep.endpoint_url, dep.deployed_by, dep.deployed_at = mv.id, url, actor, when
        s.add(dep)
        audit.record(s, action="deploy", target=f"{m.name}/{e.name}", actor=actor, origin=origin,
                     before={"version": current}, after={"version": version, "endpoint_url": url},
                     reason=reason, at=when)
    return plan
