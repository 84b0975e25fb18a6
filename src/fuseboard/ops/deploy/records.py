"""The records a change passes around: what it would do (``ChangePlan``) and how it ended
(``ChangeResult``); no database, no hook."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from fuseboard.ops.gates import Gate
from fuseboard.store.models import RolloutAction


ACTIONS = tuple(RolloutAction)
STALE_AFTER = timedelta(seconds=60)  # beyond the hook's timeout: a pending change whose process died


class ChangeState(StrEnum):
    """How a change ended, as ``ChangeResult.state`` says it."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNCHANGED = "unchanged"  # the version (and endpoint) asked for already serve: nothing to do
    LATE = "late"  # the hook answered after its rollout had been settled by someone else


@dataclass
class ChangePlan:
    """What a change would do, as shown in a confirmation; ``apply`` re-checks all of it."""

    action: RolloutAction
    model: str
    environment: str
    protected: bool
    criticality: str
    from_version: int | None
    to_version: int
    revision: int | None  # the deployment's revision when planned (None: nothing deployed yet)
    from_endpoint: str = ""
    endpoint_url: str = ""
    hook: str = ""
    gates: list[Gate] = field(default_factory=list)
    open_alerts: list[str] = field(default_factory=list)
    on_call: str = ""
    in_progress: str = ""
    runbook: str = ""  # the model's runbook (a URL or text; ``monitoring set --runbook``)
    advice: str = ""  # a rollback's "will it help" line (ops.incident.rollback_advice), when planned

    @property
    def changes(self) -> bool:
        return self.from_version != self.to_version or self.from_endpoint != self.endpoint_url

    @property
    def failing_gates(self) -> list[Gate]:
        return [g for g in self.gates if not g.ok]

    @property
    def typed_confirmation(self) -> bool:
        """Mission-critical in a protected environment: the user types the model's name and a reason."""
        return self.protected and self.criticality == "mission-critical"

    def describe(self) -> str:
        was = f"v{self.from_version}" if self.from_version is not None else "nothing"
        text = f"{self.model} in {self.environment}: {was} -> v{self.to_version}"
        if self.endpoint_url != self.from_endpoint:
            text += f", endpoint {self.from_endpoint or '-'} -> {self.endpoint_url or '-'}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "model": self.model, "environment": self.environment,
                "protected": self.protected, "criticality": self.criticality, "from_version": self.from_version,
                "to_version": self.to_version, "endpoint_url": self.endpoint_url, "changed": self.changes,
                "hook": self.hook, "gates": [g.as_dict() for g in self.gates], "open_alerts": self.open_alerts,
                "on_call": self.on_call, "runbook": self.runbook,
                **({"rollback_advice": self.advice} if self.advice else {})}


@dataclass
class ChangeResult:
    plan: ChangePlan
    state: ChangeState
    rollout_id: int | None = None
    hook_status: str = ""
    hook_output: str = ""
    overridden: list[str] = field(default_factory=list)
    settled_as: str = ""  # state "late": what the rollout had become before the hook answered

    @property
    def ok(self) -> bool:
        return self.state in (ChangeState.SUCCEEDED, ChangeState.UNCHANGED)

    def message(self) -> str:
        p = self.plan
        if self.state == ChangeState.LATE:
            return (f"{p.action} of {p.model} v{p.to_version} in {p.environment}: its rollout was {self.settled_as} "
                    f"before the hook answered ({self.hook_status}), so nothing changed on record; the serving "
                    "system may have followed the hook anyway: check what the endpoint reports")
        if self.state == ChangeState.UNCHANGED:
            return f"unchanged: {p.model} v{p.to_version} already runs in {p.environment}"
        if self.state == ChangeState.SUCCEEDED and p.from_version == p.to_version:
            return f"endpoint of {p.model} in {p.environment}: {p.from_endpoint or '-'} -> {p.endpoint_url or '-'}"
        if self.state == ChangeState.SUCCEEDED:
            via = "" if self.hook_status in ("", "no hook") else f" (hook: {self.hook_status})"
            return f"{p.action} done: {p.model} in {p.environment} now runs v{p.to_version}{via}"
        return (f"{p.action} FAILED: the hook said {self.hook_status}; {p.model} in {p.environment} still runs "
                f"v{p.from_version}" if p.from_version is not None else
                f"{p.action} FAILED: the hook said {self.hook_status}; nothing runs in {p.environment}")

    def as_dict(self) -> dict[str, Any]:
        out = {**self.plan.as_dict(), "state": self.state, "rollout": self.rollout_id,
               "hook_status": self.hook_status, "hook_output": self.hook_output, "overridden_gates": self.overridden}
        if self.settled_as:
            out["settled_as"] = self.settled_as
        return out

