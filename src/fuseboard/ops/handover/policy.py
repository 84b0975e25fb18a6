"""The ownership policy: which models must have an owning team, an on-call rota and a completed
handover (per criticality tier, from the config file's ``[ownership.<tier>]``), and who breaks it;
and the review queue: open handovers, those waiting for your signature first, stalled ones flagged
(no change for ``[ownership] stall_days``, default 3)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypedDict, cast

from sqlmodel import select

from fuseboard.errors import FuseboardError
from fuseboard.store.db import Workspace
from fuseboard.store.models import (CRITICALITIES, HANDOVER_OPEN, Deployment, Environment, Handover, HandoverState,
                                    Model, Person, Rota, RotaShift, Team, utcnow)

STALL_DAYS = 3  # an open handover with no change for this many days is stalled


class OwnershipRule(TypedDict):
    """What a criticality tier requires of a model deployed in one of its ``environments``."""

    environments: list[str]
    require_rota: bool  # its owning team has an on-call rota
    require_handover: bool  # a handover on the tier's checklist was completed


DEFAULT_POLICY: dict[str, OwnershipRule] = {
    "mission-critical": {"environments": ["prod"], "require_rota": True, "require_handover": True},
    "internal": {"environments": ["prod"], "require_rota": False, "require_handover": False},
}


def policy(config_raw: Mapping[str, object] | None = None) -> dict[str, OwnershipRule]:
    """The ownership policy (by tier): the defaults, with ``[ownership.<tier>]`` from the config file
    (``config_raw``: the file as parsed, not yet checked) on top."""
    out = {tier: OwnershipRule(**rules) for tier, rules in DEFAULT_POLICY.items()}
    tables = cast("dict[str, object]", (config_raw or {}).get("ownership") or {})
    for tier, rules in tables.items():
        if tier == "stall_days":
            continue  # (stall_days() reads it)
        if tier not in CRITICALITIES or not isinstance(rules, dict):
            raise FuseboardError(f"[ownership.{tier}]: tiers are {', '.join(CRITICALITIES)}")
        for key, value in rules.items():
            if key not in ("environments", "require_rota", "require_handover"):
                raise FuseboardError(f"[ownership.{tier}] {key}: not a policy setting")
            if key == "environments" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise FuseboardError(f"[ownership.{tier}] environments must be a list of names")
            if key != "environments" and not isinstance(value, bool):
                raise FuseboardError(f"[ownership.{tier}] {key} must be true or false")
        out[tier].update(rules)
    return out


def stall_days(config_raw: Mapping[str, object] | None = None) -> int:
    """``[ownership] stall_days`` from the config file (days without a change before a handover is
    flagged stalled), else ``STALL_DAYS``."""
    value = cast("dict[str, object]", (config_raw or {}).get("ownership") or {}).get("stall_days", STALL_DAYS)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise FuseboardError("[ownership] stall_days must be a whole number of days, 1 or more")
    return value


@dataclass
class Violation:
    model: str
    criticality: str
    owner: str | None
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_policy(ws: Workspace, rules: dict[str, OwnershipRule] | None = None,
                 now: datetime | None = None) -> list[Violation]:
    """Every model that breaks the ownership policy, and why."""
    rules = rules or policy()
    now = now or utcnow()
    out = []
    with ws.session() as s:
        teams = {t.id: t for t in s.exec(select(Team))}
        with_rota = {r.team_id for r in s.exec(select(Rota)) if r.members}
        with_rota |= {x.team_id for x in s.exec(select(RotaShift).where(RotaShift.ends_at > now))}
        envs = {e.id: e.name for e in s.exec(select(Environment))}
        deployed: dict[int, set[str]] = {}
        for d in s.exec(select(Deployment)):
            deployed.setdefault(d.model_id, set()).add(envs[d.environment_id])
        done: dict[int, set[str]] = {}  # model -> templates of its completed handovers
        for h in s.exec(select(Handover).where(Handover.state == HandoverState.TRANSFERRED)):
            done.setdefault(h.model_id, set()).add(h.template)
        for m in s.exec(select(Model).order_by(Model.name)):
            rule = rules.get(m.criticality)
            if rule is None or not deployed.get(m.id, set()) & set(rule.get("environments", [])):
                continue
            where = "/".join(sorted(deployed[m.id] & set(rule["environments"])))
            owner = teams.get(m.owner_team_id)
            problems = []
            if owner is None:
                problems.append(f"no owning team, yet it runs in {where}")
            elif rule.get("require_rota") and owner.id not in with_rota:
                problems.append(f"owned by {owner.name}, which has no on-call rota")
            if rule.get("require_handover"):
                if m.id not in done:
                    problems.append("no completed handover")
                elif m.criticality not in done[m.id]:  # a lighter checklist does not count
                    problems.append(f"no completed handover on the {m.criticality} checklist "
                                    f"(only: {', '.join(sorted(done[m.id]))})")
            if problems:
                out.append(Violation(m.name, m.criticality, owner.name if owner else None, problems))
    return out



@dataclass
class HandoverReview:
    """An open handover as the review queue shows it, for one person (``your_side``: theirs, if any)."""

    model: str
    from_team: str | None
    to_team: str
    state: str
    done: int  # required items satisfied
    total: int  # required items
    your_side: str | None  # "giving" or "receiving": the side the person signs for; None: neither
    waiting_for_you: bool  # in draft or review, and your side has not signed yet
    idle: timedelta  # since its last change
    stalled: bool  # idle for the stall period or longer

    @property
    def idle_days(self) -> int:
        return self.idle.days


def review_queue(ws: Workspace, actor: str, *, stall_after: timedelta = timedelta(days=STALL_DAYS),
                 now: datetime | None = None) -> list[HandoverReview]:
    """Every open handover: those waiting for ``actor``'s signature first, then the stalled ones
    (longest idle first), then the rest, oldest first."""
    from fuseboard.ops.handover.reading import open_handovers

    now = now or utcnow()
    views = open_handovers(ws, now)
    with ws.session() as s:
        touched = {h.id: h.updated_at for h in s.exec(select(Handover).where(Handover.state.in_(HANDOVER_OPEN)))}
        person = s.exec(select(Person).where(Person.handle == actor)).first()
        team = s.get(Team, person.team_id) if person is not None and person.team_id is not None else None
    out = []
    for v in views:
        side = None if team is None else "giving" if team.name == v.from_team else \
            "receiving" if team.name == v.to_team else None
        idle = max(timedelta(0), now - touched.get(v.id, v.created_at))
        done, total = v.progress
        out.append(HandoverReview(v.model, v.from_team, v.to_team, v.state, done, total, side,
                                  side is not None and side not in v.signatures and v.state != HandoverState.REJECTED,
                                  idle, idle >= stall_after))
    return sorted(out, key=lambda r: (not r.waiting_for_you, not r.stalled, -r.idle if r.stalled else timedelta(0)))
