"""Handover of a model from its builders to its operators, by checklist; and the ownership policy.

Checklist templates are TOML files, one per criticality tier, shipped in ``fuseboard/checklists``
and extendable in ``$XDG_CONFIG_HOME/fuseboard/checklists`` (a file there with a shipped name
replaces it; a new name adds a template). Items that fuseboard can verify from the workspace
name a verifier (``verify = "rollback_target"``); they are re-checked whenever a handover is
shown, signed or exported, and cannot be ticked by hand.

States: draft -> in_review -> transferred (accepted: every required item satisfied, then a
member of the giving team and one of the receiving team signed; the owning team changes) or
-> rejected (with a reason; signatures cleared) -> in_review again.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

from sqlmodel import Session, select

from fuseboard.config import config_dir
from fuseboard.errors import FuseboardError, NotFound, Refused
from fuseboard.ops import audit
from fuseboard.store import lookup
from fuseboard.store.db import Workspace
from fuseboard.store.models import (CRITICALITIES, CheckRun, CheckState, Deployment, Environment, Handover,
                                    HandoverItem, HandoverSignature, Model, ModelVersion, Person, Rota, RotaShift,
                                    Signoff, Team, utcnow)
from fuseboard.text import markdown_evidence as _md_evidence
from fuseboard.text import markdown_safe as _md

GROUPS = ("data", "model", "infrastructure", "monitoring", "operations")
CHECKS_RUNNING_DAYS = 7
OPEN_STATES = ("draft", "in_review", "rejected")


# -- templates -------------------------------------------------------------------------------

def shipped_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "checklists"


def user_dir() -> Path:
    return config_dir() / "checklists"


def load_template(path: Path) -> dict[str, Any]:
    """A checklist template, checked; one clear error naming the file and item otherwise."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise FuseboardError(f"checklist template is not valid TOML: {exc} ({path})") from None
    except OSError as exc:
        raise FuseboardError(f"cannot read checklist template: {exc.strerror} ({path})") from None
    items = data.get("items")
    if not isinstance(items, list) or not items:
        raise FuseboardError(f"checklist template has no [[items]] ({path})")
    seen: set[str] = set()
    verifiers: set[str] = set()
    for n, item in enumerate(items, 1):
        where = f"item {n} of {path}"
        if not isinstance(item, dict):
            raise FuseboardError(f"{where} is not a table")
        for key in ("key", "group", "text"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                raise FuseboardError(f"{where}: {key!r} must be a non-empty string")
        if item["key"] in seen:
            raise FuseboardError(f"{where}: key {item['key']!r} appears twice")
        seen.add(item["key"])
        if item["group"] not in GROUPS:
            raise FuseboardError(f"{where}: group {item['group']!r} is not one of {', '.join(GROUPS)}")
        if not isinstance(item.get("required", True), bool):
            raise FuseboardError(f"{where}: required must be true or false")
        verify = item.get("verify", "")
        if verify:
            if verify not in VERIFIERS:
                raise FuseboardError(f"{where}: verify {verify!r} is not one of {', '.join(VERIFIERS)}")
            if verify in verifiers:
                raise FuseboardError(f"{where}: verify {verify!r} is used twice")
            verifiers.add(verify)
        unknown = set(item) - {"key", "group", "text", "required", "verify", "help"}
        if unknown:
            raise FuseboardError(f"{where}: unknown field {sorted(unknown)[0]!r}")
    return {"name": str(data.get("name") or path.stem), "description": str(data.get("description", "")),
            "items": items}


def templates() -> dict[str, Path]:
    """Template name -> file: the shipped ones, then the user's (which win on the same name)."""
    found = {p.stem: p for p in sorted(shipped_dir().glob("*.toml"))}
    if user_dir().is_dir():
        found.update({p.stem: p for p in sorted(user_dir().glob("*.toml"))})
    return found


# -- verifiers -------------------------------------------------------------------------------

@dataclass
class Verdict:
    ok: bool
    evidence: str


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
        return Verdict(False, "no version registered")
    n = len(mv.feature_schema or [])
    ok = n > 0 and bool((mv.reference_profile or {}).get("features"))
    return Verdict(ok, f"v{mv.version}: {n} features in the schema, reference profile "
                   f"{'recorded' if ok else 'missing'}")


def v_validation_metrics(s: Session, m: Model, now: datetime) -> Verdict:
    from fuseboard.ops.gates import _metrics_gate

    mv = _serving(s, m, _prod(s)) or _latest(s, m)
    if mv is None:
        return Verdict(False, "no version registered")
    gate = _metrics_gate(m, mv)
    return Verdict(gate.ok, f"v{mv.version}: {gate.detail}")


def v_rollback_target(s: Session, m: Model, now: datetime) -> Verdict:
    from fuseboard.ops.deploy import last_known_good

    env = _prod(s)
    mv = _serving(s, m, env)
    if mv is None:
        return Verdict(False, f"nothing runs in {env.name if env else 'prod'}")
    good = last_known_good(s, m, env, mv.id)
    return Verdict(good is not None, f"known-good v{good.version} in {env.name} to roll back to" if good else
                   f"no known-good version in {env.name} older than v{mv.version}")


def v_checks_running(s: Session, m: Model, now: datetime) -> Verdict:
    env = _prod(s)
    if env is None:
        return Verdict(False, "no environment")
    states = {c.check: c for c in s.exec(select(CheckState).where(CheckState.model_id == m.id,
                                                                  CheckState.environment_id == env.id))}
    missing = [c for c in ("health", "drift") if c not in states]
    if missing:
        return Verdict(False, f"{' and '.join(missing)} never ran in {env.name}")
    since = now - timedelta(days=CHECKS_RUNNING_DAYS)
    first = s.exec(select(CheckRun.at).where(CheckRun.model_id == m.id, CheckRun.environment_id == env.id)
                   .order_by(CheckRun.at)).first()
    errors = s.exec(select(CheckRun.at).where(CheckRun.model_id == m.id, CheckRun.environment_id == env.id,
                                              CheckRun.status == "error", CheckRun.at >= since)).first()
    if errors is not None or any(c.status == "error" for c in states.values()):
        return Verdict(False, f"a check failed to run in {env.name} in the last {CHECKS_RUNNING_DAYS} days")
    if first is None or first > since:
        days = 0 if first is None else (now - first).days
        return Verdict(False, f"checks run in {env.name} for {days} of {CHECKS_RUNNING_DAYS} days")
    stale = [c for c in ("health", "drift") if states[c].at < now - timedelta(days=1)]
    if stale:  # they ran long enough, but not lately
        return Verdict(False, f"{' and '.join(stale)} last ran in {env.name} on "
                       f"{min(states[c].at for c in stale):%Y-%m-%d} (is a monitor running?)")
    return Verdict(True, f"health and drift checks ran in {env.name} without errors for {CHECKS_RUNNING_DAYS} days")


def v_alert_thresholds(s: Session, m: Model, now: datetime) -> Verdict:
    settings = m.monitoring or {}
    reviewed = [k for k in ("thresholds", "tolerances", "methods", "key_features", "drift_share") if settings.get(k)]
    return Verdict(bool(reviewed), f"set: {', '.join(reviewed)}" if reviewed else
                   f"defaults only (fuseboard monitoring set {m.name} ...)")


def v_prod_hook(s: Session, m: Model, now: datetime) -> Verdict:
    from fuseboard.ops.hooks import describe

    env = _prod(s)
    if env is None or not env.hook:
        return Verdict(False, f"no deploy hook on {env.name if env else 'prod'} (fuseboard envs set)")
    return Verdict(True, f"{env.name}: {describe(env.hook)}")


def v_retrain_by(s: Session, m: Model, now: datetime) -> Verdict:
    if m.retrain_by is None:
        return Verdict(False, "no retrain-by date")
    ok = m.retrain_by > now.date()
    return Verdict(ok, f"retrain by {m.retrain_by:%Y-%m-%d}" + ("" if ok else " (passed)"))


def v_signoffs(s: Session, m: Model, now: datetime) -> Verdict:
    mv = _serving(s, m, _prod(s)) or _latest(s, m)
    if mv is None:
        return Verdict(False, "no version registered")
    sides = {x.side: x for x in s.exec(select(Signoff).where(Signoff.version_id == mv.id))}
    missing = [side for side in ("business", "it") if side not in sides]
    return Verdict(not missing, f"v{mv.version}: " + (f"missing {' and '.join(missing)}" if missing else
                   ", ".join(f"{k} by {v.signed_by}" for k, v in sorted(sides.items()))))


def v_performance_monitored(s: Session, m: Model, now: datetime) -> Verdict:
    env = _prod(s)
    state = s.exec(select(CheckState).where(CheckState.model_id == m.id, CheckState.environment_id == env.id,
                                            CheckState.check == "performance")).first() if env else None
    if state is None or state.status in ("none", "error"):
        return Verdict(False, f"no performance verdict in {env.name if env else 'prod'} yet (do labels flow back?)")
    return Verdict(True, f"{state.summary} ({state.rows} labelled rows)")


VERIFIERS: dict[str, Callable[[Session, Model, datetime], Verdict]] = {
    "schema_captured": v_schema_captured, "validation_metrics": v_validation_metrics,
    "rollback_target": v_rollback_target, "checks_running": v_checks_running,
    "alert_thresholds": v_alert_thresholds, "prod_hook": v_prod_hook, "retrain_by": v_retrain_by,
    "signoffs": v_signoffs, "performance_monitored": v_performance_monitored,
}


# -- reading a handover ----------------------------------------------------------------------

@dataclass
class ItemView:
    key: str
    group: str
    text: str
    help: str
    required: bool
    auto: bool
    done: bool
    evidence: str
    checked_by: str | None
    checked_at: datetime | None


@dataclass
class HandoverView:
    id: int
    model: str
    criticality: str
    from_team: str | None
    to_team: str
    template: str
    state: str
    created_by: str
    created_at: datetime
    reason: str
    items: list[ItemView]
    signatures: dict[str, str]  # side -> person
    accepted_at: datetime | None = None

    @property
    def required_open(self) -> list[ItemView]:
        return [i for i in self.items if i.required and not i.done]

    @property
    def progress(self) -> tuple[int, int]:
        required = [i for i in self.items if i.required]
        return sum(i.done for i in required), len(required)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["created_at"] = self.created_at.isoformat()
        out["accepted_at"] = self.accepted_at.isoformat() if self.accepted_at else None
        for item in out["items"]:
            item["checked_at"] = item["checked_at"].isoformat() if item["checked_at"] else None
        done, total = self.progress
        out["required_done"], out["required_total"] = done, total
        return out


def _current(s: Session, m: Model, *, include_closed: bool = False) -> Handover | None:
    stmt = select(Handover).where(Handover.model_id == m.id)
    if not include_closed:
        stmt = stmt.where(Handover.state.in_(OPEN_STATES))
    return s.exec(stmt.order_by(Handover.id.desc())).first()


def _view(s: Session, h: Handover, now: datetime) -> HandoverView:
    m = s.get(Model, h.model_id)
    teams = {t.id: t.name for t in s.exec(select(Team))}
    items = []
    for it in s.exec(select(HandoverItem).where(HandoverItem.handover_id == h.id).order_by(HandoverItem.position)):
        if it.verify and h.state != "transferred":  # re-checked whenever it is looked at
            verdict = VERIFIERS[it.verify](s, m, now)
            done, evidence, by, at = verdict.ok, verdict.evidence, "fuseboard", now
        else:
            done, evidence, by, at = it.checked_at is not None, it.evidence, it.checked_by, it.checked_at
        items.append(ItemView(it.key, it.group, it.text, it.help, it.required, bool(it.verify), done, evidence,
                              by, at))
    signatures = {x.side: x.person for x in s.exec(select(HandoverSignature)
                                                   .where(HandoverSignature.handover_id == h.id))}
    return HandoverView(h.id, m.name, m.criticality, teams.get(h.from_team_id), teams[h.to_team_id], h.template,
                        h.state, h.created_by, h.created_at, h.reason, items, signatures, h.accepted_at)


def show(ws: Workspace, model: str, now: datetime | None = None) -> HandoverView:
    """The model's open handover (else its latest one), with automatic items re-checked."""
    with ws.session() as s:
        m = lookup.model(s, model)
        h = _current(s, m) or _current(s, m, include_closed=True)
        if h is None:
            raise NotFound(f"{model} has no handover (fuseboard handover start {model} --to TEAM)")
        return _view(s, h, now or utcnow())


def open_handovers(ws: Workspace, now: datetime | None = None) -> list[HandoverView]:
    with ws.session() as s:
        return [_view(s, h, now or utcnow()) for h in
                s.exec(select(Handover).where(Handover.state.in_(OPEN_STATES)).order_by(Handover.created_at))]


# -- changing a handover (each one transaction, audited) ---------------------------------------

def start(ws: Workspace, model: str, to_team: str, *, actor: str, origin: str, template: str | None = None,
          reason: str = "", now: datetime | None = None) -> HandoverView:
    """A draft handover of ``model`` to ``to_team`` from the template of its tier (or ``template``)."""
    now = now or utcnow()
    with ws.transaction() as s:
        m = lookup.model(s, model)
        t = lookup.team(s, to_team, "--to")
        if _current(s, m) is not None:
            raise Refused(f"{model} already has a handover in progress (fuseboard handover show {model})")
        if m.owner_team_id == t.id:
            raise Refused(f"{to_team} already owns {model}")
        if m.owner_team_id is None and m.builder_team_id == t.id:
            raise Refused(f"{to_team} built {model}; hand it to the team that will operate it")
        name = template or m.criticality
        found = templates()
        if name not in found:
            raise FuseboardError(f"no checklist template {name!r} (have: {', '.join(found)})")
        spec = load_template(found[name])
        giving = m.owner_team_id or m.builder_team_id  # no operator yet: its builders hand it over
        h = Handover(model_id=m.id, from_team_id=giving, to_team_id=t.id, template=name, state="draft",
                     created_by=actor, created_at=now, updated_at=now)
        s.add(h)
        s.flush()
        for n, item in enumerate(spec["items"]):
            s.add(HandoverItem(handover_id=h.id, position=n, key=item["key"], group=item["group"], text=item["text"],
                               help=item.get("help", ""), required=item.get("required", True),
                               verify=item.get("verify", "")))
        audit.record(s, action="handover.start", target=m.name, actor=actor, origin=origin,
                     after={"to": t.name, "template": name, "items": len(spec["items"])}, reason=reason, at=now)
        s.flush()
        return _view(s, h, now)


def _open_for_change(s: Session, model: str) -> tuple[Model, Handover]:
    m = lookup.model(s, model)
    h = _current(s, m)
    if h is None:
        raise NotFound(f"{model} has no handover in progress (fuseboard handover start {model} --to TEAM)")
    return m, h


def _item(s: Session, h: Handover, key: str) -> HandoverItem:
    it = s.exec(select(HandoverItem).where(HandoverItem.handover_id == h.id, HandoverItem.key == key)).first()
    if it is None:
        keys = [i.key for i in s.exec(select(HandoverItem).where(HandoverItem.handover_id == h.id))]
        raise NotFound(f"no checklist item {key!r} (items: {', '.join(keys[:8])}{', …' if len(keys) > 8 else ''})")
    return it


def tick(ws: Workspace, model: str, key: str, *, actor: str, origin: str, evidence: str | None = None,
         done: bool = True, now: datetime | None = None) -> HandoverView:
    """Mark a manual item satisfied (with evidence: text or a link) or not; automatic items refuse."""
    now = now or utcnow()
    with ws.transaction() as s:
        m, h = _open_for_change(s, model)
        it = _item(s, h, key)
        if it.verify:
            raise Refused(f"{key} is verified by fuseboard from the workspace ({it.verify}); it cannot be ticked")
        if evidence is not None:
            it.evidence = evidence.strip()
        if done and not it.evidence:
            raise FuseboardError(f"{key} needs evidence first (text or a link: --evidence)")
        it.checked_by, it.checked_at = (actor, now) if done else (None, None)
        s.add(it)
        _touch(s, h, now, clear_signatures=True)
        audit.record(s, action="handover.tick" if done else "handover.untick", target=m.name, actor=actor,
                     origin=origin, after={"item": key, "evidence": it.evidence}, at=now)
        s.flush()
        return _view(s, h, now)


def set_evidence(ws: Workspace, model: str, key: str, evidence: str, *, actor: str, origin: str,
                 now: datetime | None = None) -> HandoverView:
    """Record evidence for an item without ticking it."""
    now = now or utcnow()
    with ws.transaction() as s:
        m, h = _open_for_change(s, model)
        it = _item(s, h, key)
        if it.verify:
            raise Refused(f"{key} is verified by fuseboard; its evidence comes from the workspace")
        it.evidence = evidence.strip()
        s.add(it)
        _touch(s, h, now, clear_signatures=True)  # what was signed changed
        audit.record(s, action="handover.evidence", target=m.name, actor=actor, origin=origin,
                     after={"item": key, "evidence": it.evidence}, at=now)
        s.flush()
        return _view(s, h, now)


def _touch(s: Session, h: Handover, now: datetime, *, clear_signatures: bool) -> None:
    h.updated_at = now
    if h.state == "draft":
        h.state = "in_review"
    if clear_signatures:  # what was signed changed
        for sig in s.exec(select(HandoverSignature).where(HandoverSignature.handover_id == h.id)):
            s.delete(sig)
    s.add(h)


def submit(ws: Workspace, model: str, *, actor: str, origin: str, now: datetime | None = None) -> HandoverView:
    """Put a draft or rejected handover (back) in review."""
    now = now or utcnow()
    with ws.transaction() as s:
        m, h = _open_for_change(s, model)
        if h.state == "in_review":
            raise Refused(f"the handover of {model} is already in review")
        before = h.state
        h.state, h.updated_at = "in_review", now
        s.add(h)
        audit.record(s, action="handover.submit", target=m.name, actor=actor, origin=origin,
                     before={"state": before}, after={"state": "in_review"}, at=now)
        s.flush()
        return _view(s, h, now)


def _side(s: Session, h: Handover, actor: str) -> str:
    person = s.exec(select(Person).where(Person.handle == actor)).first()
    if person is None:
        raise Refused(f"{actor} is not a known person; sign-offs come from team members "
                      f"(your OS login name is who you are, unless the workspace allows FUSEBOARD_USER)")
    if h.from_team_id is not None and person.team_id == h.from_team_id:
        return "giving"
    if person.team_id == h.to_team_id:
        return "receiving"
    raise Refused(f"{actor} is in neither the giving nor the receiving team")


def sign(ws: Workspace, model: str, *, actor: str, origin: str, now: datetime | None = None) -> HandoverView:
    """Sign for your side; once both sides signed with every required item satisfied, ownership moves."""
    now, actor = now or utcnow(), audit.effective_actor(ws, actor)
    with ws.transaction() as s:
        m, h = _open_for_change(s, model)
        if h.state == "rejected":
            raise Refused(f"the handover of {model} was rejected ({h.reason}); fix it and submit it again")
        side = _side(s, h, actor)
        view = _view(s, h, now)
        if view.required_open:
            raise Refused(f"{len(view.required_open)} required item(s) not satisfied yet: "
                          + ", ".join(i.key for i in view.required_open[:5]))
        if side in view.signatures:
            raise Refused(f"the {side} side already signed ({view.signatures[side]})")
        s.add(HandoverSignature(handover_id=h.id, side=side, person=actor, signed_at=now))
        h.state, h.updated_at = "in_review", now
        audit.record(s, action="handover.sign", target=m.name, actor=actor, origin=origin, after={"side": side},
                     at=now)
        needed = {"receiving"} if h.from_team_id is None else {"giving", "receiving"}
        if set(view.signatures) | {side} >= needed:
            for it in s.exec(select(HandoverItem).where(HandoverItem.handover_id == h.id,
                                                        HandoverItem.verify != "")):
                item = next(i for i in view.items if i.key == it.key)  # keep what was verified at acceptance
                it.evidence, it.checked_by, it.checked_at = item.evidence, "fuseboard", now if item.done else None
                s.add(it)
            audit.record(s, action="handover.accept", target=m.name, actor=actor, origin=origin,
                         after={"handover": h.id, "signed": {**view.signatures, side: actor}}, at=now)
            before = m.owner_team_id
            m.owner_team_id = h.to_team_id
            h.state, h.accepted_at = "transferred", now
            s.add(m)
            teams = {t.id: t.name for t in s.exec(select(Team))}
            audit.record(s, action="ownership.transfer", target=m.name, actor=actor, origin=origin,
                         before={"owner": teams.get(before)}, after={"owner": teams[h.to_team_id], "handover": h.id},
                         reason="handover accepted by both sides", at=now)
        s.add(h)
        s.flush()
        return _view(s, h, now)


def reject(ws: Workspace, model: str, reason: str, *, actor: str, origin: str,
           now: datetime | None = None) -> HandoverView:
    """The receiving side sends it back, with a reason; signatures are cleared."""
    now, actor = now or utcnow(), audit.effective_actor(ws, actor)
    if not reason.strip():
        raise FuseboardError("a rejection needs a reason (--reason)")
    with ws.transaction() as s:
        m, h = _open_for_change(s, model)
        if _side(s, h, actor) != "receiving":
            raise Refused("only the receiving team rejects a handover")
        if h.state == "rejected":
            raise Refused(f"the handover of {model} is already rejected")
        h.state, h.reason = "rejected", reason.strip()
        _touch(s, h, now, clear_signatures=True)
        h.state = "rejected"
        audit.record(s, action="handover.reject", target=m.name, actor=actor, origin=origin,
                     after={"state": "rejected"}, reason=reason, at=now)
        s.flush()
        return _view(s, h, now)


# -- export ----------------------------------------------------------------------------------

def markdown(view: HandoverView) -> str:
    """The checklist as Markdown, for a ticket or a wiki page (stored text cannot add markup of its own)."""
    done, total = view.progress
    lines = [f"# Handover of {_md(view.model)} to {_md(view.to_team)}", "",
             f"- From: {_md(view.from_team) if view.from_team else '(no owner)'}",
             f"- Criticality: {_md(view.criticality)}",
             f"- Template: {_md(view.template)}", f"- State: {view.state.replace('_', ' ')}"
             + (f" ({_md(view.reason)})" if view.state == "rejected" and view.reason else ""),
             f"- Required items satisfied: {done} of {total}",
             f"- Started by {_md(view.created_by)} on {view.created_at:%Y-%m-%d}", ""]
    for group in GROUPS:
        items = [i for i in view.items if i.group == group]
        if not items:
            continue
        lines += [f"## {group.capitalize()}", ""]
        for i in items:
            flags = [] if i.required else ["optional"]
            if i.auto:
                flags.append("verified by fuseboard")
            tail = f" _({', '.join(flags)})_" if flags else ""
            lines.append(f"- [{'x' if i.done else ' '}] **{_md(i.text)}**{tail}")
            if i.evidence:
                who = f" ({_md(i.checked_by)}, {i.checked_at:%Y-%m-%d})" if i.checked_at and i.done else ""
                lines.append(f"  - Evidence: {_md_evidence(i.evidence)}{who}")
        lines.append("")
    lines += ["## Sign-off", ""]
    for side in ("giving", "receiving"):
        signed = view.signatures.get(side)
        lines.append(f"- {side.capitalize()} team: {_md(signed) if signed else '_not signed_'}")
    return "\n".join(lines) + "\n"


# -- ownership policy --------------------------------------------------------------------------

DEFAULT_POLICY = {
    "mission-critical": {"environments": ["prod"], "require_rota": True, "require_handover": True},
    "internal": {"environments": ["prod"], "require_rota": False, "require_handover": False},
}


def policy(config_raw: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """The ownership policy: the defaults, with ``[ownership.<tier>]`` from the config file on top."""
    out = {tier: dict(rules) for tier, rules in DEFAULT_POLICY.items()}
    for tier, rules in ((config_raw or {}).get("ownership") or {}).items():
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


@dataclass
class Violation:
    model: str
    criticality: str
    owner: str | None
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_policy(ws: Workspace, rules: dict[str, dict[str, Any]] | None = None,
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
        for h in s.exec(select(Handover).where(Handover.state == "transferred")):
            done.setdefault(h.model_id, set()).add(h.template)
        for m in s.exec(select(Model).order_by(Model.name)):
            rule = rules.get(m.criticality, {})
            if not deployed.get(m.id, set()) & set(rule.get("environments", [])):
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


# -- the shift summary -------------------------------------------------------------------------

SHIFT_ACTIONS = ("deploy", "promote", "rollback", "deploy.failed", "promote.failed", "rollback.failed",
                 "gate.override", "alert.ack", "alert.resolve", "alert.silence", "handover.start", "handover.sign",
                 "handover.reject", "handover.submit", "handover.accept", "ownership.transfer",
                 "rollout.known_good", "rollout.known_good_revoked", "rollout.abandoned", "monitoring.settings",
                 "environment.settings")
MACHINE = ("monitor",)  # actors (and origins) that are fuseboard itself, not a person


def _grouped(items: list[dict[str, Any]], key: Any) -> list[dict[str, Any]]:
    """Repeats as one entry: the first's fields, ``count``, ``first``/``last`` times, and the ``targets``."""
    groups: dict[Any, dict[str, Any]] = {}
    for item in items:
        k = key(item)
        if k not in groups:
            groups[k] = {**item, "count": 0, "first": item["at"], "last": item["at"], "targets": []}
        g = groups[k]  # (an item may stand for several already: an alert that flapped, a group)
        g["count"] += item.get("times") or item.get("count") or 1
        g["first"] = min(g["first"], item.get("first") or item["at"])
        g["last"] = max(g["last"], item.get("last_at") or item.get("last") or item["at"])
        if item.get("target") and item["target"] not in g["targets"]:
            g["targets"].append(item["target"])
    return list(groups.values())


@dataclass
class ShiftSummary:
    team: str | None
    person: str | None
    since: datetime
    events: list[dict[str, Any]]
    alerts_opened: list[dict[str, Any]]
    alerts_resolved: list[dict[str, Any]]
    still_open: int

    @property
    def people(self) -> list[dict[str, Any]]:
        """What people did (acks, silences, resolves, deploys, rollbacks...), repeats grouped, in time order."""
        return [e for e in self.events if not e["machine"]]

    @property
    def machine(self) -> list[dict[str, Any]]:
        """What fuseboard did by itself (known-good marks, reconciled changes), grouped by action."""
        return _grouped([e for e in self.events if e["machine"]], lambda e: (e["actor"], e["action"]))

    @property
    def alerts_grouped(self) -> list[dict[str, Any]]:
        """Alerts opened, one entry per deployment, check and severity: how many times (flaps count) and when."""
        return _grouped(self.alerts_opened, lambda a: (a["severity"], a["model"], a["environment"], a["check"]))

    def as_dict(self) -> dict[str, Any]:
        return {"team": self.team, "on_call": self.person, "since": self.since.isoformat(), "events": self.events,
                "alerts_opened": self.alerts_opened, "alerts_resolved": self.alerts_resolved,
                "alerts_still_open": self.still_open, "people": self.people, "machine": self.machine,
                "alerts_opened_grouped": self.alerts_grouped}


def shift_summary(ws: Workspace, team: str | None = None, *, since: datetime | None = None,
                  now: datetime | None = None, actor: str | None = None) -> ShiftSummary:
    """What changed since the start of the current on-call shift (of ``team``, else ``actor``'s team,
    else the first team with someone on call): deploys, rollbacks, alerts opened and resolved,
    handovers moved."""
    from fuseboard.ops.oncall import on_call
    from fuseboard.store.models import Alert, AuditEvent

    now = now or utcnow()
    person = None
    if team is None and actor is not None:
        with ws.session() as s:
            me = s.exec(select(Person).where(Person.handle == actor)).first()
            mine = s.get(Team, me.team_id) if me is not None and me.team_id is not None else None
        if mine is not None and any(c.team == mine.name and c.now is not None for c in on_call(ws, now)):
            team = mine.name
    if since is None:
        calls = [c for c in on_call(ws, now) if c.now is not None and (team is None or c.team == team)]
        if team is not None and not calls:
            raise Refused(f"nobody is on call for {team} now (fuseboard rota set {team} ...); use --since")
        if calls:
            team, person, since = calls[0].team, calls[0].now.person, calls[0].now.start
        else:
            since = now - timedelta(hours=12)
    with ws.session() as s:
        names = {m.id: m.name for m in s.exec(select(Model))}
        envs = {e.id: e.name for e in s.exec(select(Environment))}
        raw = [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "target": e.target,
                "reason": e.reason, "after": e.after, "machine": e.actor in MACHINE or e.origin in MACHINE}
               for e in s.exec(select(AuditEvent).where(AuditEvent.at >= since, AuditEvent.action.in_(SHIFT_ACTIONS))
                               .order_by(AuditEvent.at))]
        # people first, then fuseboard's own; the same action on the same thing by the same one, grouped
        events = [{k: v for k, v in g.items() if k != "targets"}
                  for g in _grouped(sorted(raw, key=lambda e: e["machine"]),
                                    lambda e: (e["machine"], e["actor"], e["action"], e["target"]))]

        def alert(a: Any) -> dict[str, Any]:
            return {"id": a.id, "model": names.get(a.model_id), "environment": envs.get(a.environment_id),
                    "check": a.check, "severity": a.severity, "summary": a.summary,
                    "opened_at": a.opened_at.isoformat(),
                    "resolved_at": a.resolved_at.isoformat() if a.resolved_at else None,
                    "flaps": a.flaps or 0, "at": a.opened_at.isoformat(), "times": 1 + (a.flaps or 0),
                    "last_at": (a.reopened_at or a.opened_at).isoformat()}

        opened = [alert(a) for a in s.exec(select(Alert).where((Alert.opened_at >= since) | (Alert.reopened_at >= since))
                                           .order_by(Alert.opened_at))]
        resolved = [alert(a) for a in s.exec(select(Alert).where(Alert.resolved_at >= since)
                                             .order_by(Alert.resolved_at))]
        still = len(s.exec(select(Alert.id).where(Alert.state.in_(("firing", "acknowledged")))).all())
    return ShiftSummary(team, person, since, events, opened, resolved, still)
