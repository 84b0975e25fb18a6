"""Ownership and handover: teams, on-call rotas, the criticality policy and handover checklists,
as a user of the CLI sees them.

The demo workspace (tests/conftest.py) seeds weekly rotas for it-ops [chloe, dev] and ds-core
[ana, ben] (handing over Mondays 09:00 local), none for ml-platform [eve], and a handover of
churn-propensity (internal) from ds-core to it-ops, in review, with data.privacy ticked.
credit-risk and demand-forecast are mission-critical, owned by it-ops and run in prod;
tumour-screening (internal, ds-core) runs v2 in prod since 30 minutes before the build, after v1.

Setup that has no command of its own is done in the store, in one transaction: a retrain-by date
(only `register --retrain-by` sets it, which needs a new artifact), a model's owning team, a
performance verdict (labels flowing back), and monitoring that has run for a week (the scheduler's
run_cycle with a ``now`` eight days ago).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlmodel import select

from fuseboard.cli import cli
from fuseboard.monitoring import scheduler
from fuseboard.store import lookup
from fuseboard.store.db import open_workspace
from fuseboard.store.models import Alert, CheckState, Deployment, Environment, utcnow
from fuseboard.ops.views import audit_events, model_detail


def run(*args: str, user: str | None = None) -> Any:
    env = {"FUSEBOARD_USER": user} if user else None
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def fb(url: str, *args: str, user: str | None = None) -> Any:
    return run("--db", url, *args, user=user)


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return result


def one_error(result: Any, *fragments: str, code: int = 1) -> str:
    """The command failed with exactly one ``error:`` line containing every fragment."""
    assert result.exit_code == code, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def iso(when: datetime) -> str:
    return when.isoformat(timespec="seconds")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def events(url: str, action: str | None = None, target: str | None = None) -> list[Any]:
    found = audit_events(open_workspace(url), target=target, limit=10_000)
    return [e for e in found if action is None or e.action == action]


def shown(url: str, model: str) -> dict[str, Any]:
    return json.loads(ok(fb(url, "handover", "show", model, "--json")).output)


def item(view: dict[str, Any], key: str) -> dict[str, Any]:
    return next(i for i in view["items"] if i["key"] == key)


def owner(url: str, model: str) -> str | None:
    return model_detail(open_workspace(url), model).owner


def teams(url: str) -> dict[str, dict[str, Any]]:
    rows = json.loads(ok(fb(url, "teams", "--json")).output)
    assert isinstance(rows, list)
    return {r["name"]: r for r in rows}


# -- store setup without a command of its own ------------------------------------------------------

def set_retrain_by(url: str, model: str, when: date) -> None:
    with open_workspace(url).transaction() as s:
        m = lookup.model(s, model)
        m.retrain_by = when
        s.add(m)


def set_owner(url: str, model: str, team: str | None) -> None:
    with open_workspace(url).transaction() as s:
        m = lookup.model(s, model)
        m.owner_team_id = lookup.team(s, team).id if team else None
        s.add(m)


def checks_ran_for_a_week(url: str) -> None:
    """Health and drift cycles eight days ago (the monitor has been running since)."""
    ws = open_workspace(url)
    past = utcnow() - timedelta(days=8)
    for kind in ("health", "drift"):
        scheduler.run_cycle(ws, kind, now=past)
        scheduler.run_cycle(ws, kind)


def performance_verdict(url: str, model: str) -> None:
    """A performance verdict in prod, as if labels flowed back."""
    now = utcnow()
    with open_workspace(url).transaction() as s:
        m = lookup.model(s, model)
        prod = s.exec(select(Environment).where(Environment.name == "prod")).one()
        dep = s.exec(select(Deployment).where(Deployment.model_id == m.id,
                                              Deployment.environment_id == prod.id)).one()
        s.add(CheckState(model_id=m.id, environment_id=prod.id, check="performance", version_id=dep.version_id,
                         status="ok", summary="roc_auc 0.81 within tolerance", rows=250, at=now, since=now))


def tick_manual(url: str, model: str, user: str = "ana") -> None:
    """Tick every manual item that is still open, with evidence."""
    for i in shown(url, model)["items"]:
        if not i["auto"] and not i["done"]:
            ok(fb(url, "handover", "check", model, i["key"], "--evidence", f"https://wiki/{i['key']}", user=user))


def ready_tumour_handover(url: str) -> None:
    """tumour-screening (ds-core) handed to it-ops, every required item satisfied, nobody signed."""
    ok(fb(url, "handover", "start", "tumour-screening", "--to", "it-ops", user="ana"))
    checks_ran_for_a_week(url)
    tick_manual(url, "tumour-screening")
    assert shown(url, "tumour-screening")["required_done"] == shown(url, "tumour-screening")["required_total"]


# == 1. rota maths (pure): tests/unit/test_rota.py =======================================================

H = timedelta(hours=1)
D = timedelta(days=1)
W = timedelta(weeks=1)


# == 2. teams and rota commands ===============================================================================

def test_teams_json_shows_who_is_on_call_now_and_next(demo_url: str) -> None:
    rows = teams(demo_url)
    assert set(rows) == {"ds-core", "it-ops", "ml-platform"}
    members = {"it-ops": ["chloe", "dev"], "ds-core": ["ana", "ben"]}
    for name, people in members.items():
        row = rows[name]
        assert row["kind"] in ("data-science", "it-operations")
        now, nxt = row["on_call_now"], row["on_call_next"]
        assert now["person"] in people and nxt["person"] in people and now["person"] != nxt["person"]
        start, until = at(now["from"]), at(now["until"])
        assert start <= utcnow() < until and until - start == W
        assert at(nxt["from"]) == until  # the next person starts when this one stops
        local = start.astimezone()
        assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)  # Mondays 09:00 local
        assert "@example.com" in now["contact"]
    assert rows["it-ops"]["kind"] == "it-operations"
    # a team without a rota: nobody now or next
    assert rows["ml-platform"]["on_call_now"] is None and rows["ml-platform"]["on_call_next"] is None
    assert rows["ml-platform"]["has_rota"] is False
    text = ok(fb(demo_url, "teams")).output
    assert "no rota" in text


def test_rota_set_gives_a_team_a_rotation_audited(demo_url: str) -> None:
    start = utcnow() - 3 * H
    ok(fb(demo_url, "rota", "set", "ml-platform", "--members", "eve", "--start", iso(start), "--length", "1",
          "--reason", "eve covers platform"))
    row = teams(demo_url)["ml-platform"]
    assert row["on_call_now"]["person"] == "eve" and at(row["on_call_now"]["until"]) == start.replace(
        microsecond=0) + D
    (event,) = events(demo_url, "rota.set", "ml-platform")
    assert event.actor == "tester" and event.after["members"] == ["eve"] and event.reason == "eve covers platform"


@pytest.mark.parametrize("members, message", [
    ("chloe,zed", "no person 'zed' (add them with `fuseboard people add`) (--members)"),
    ("chloe,ana", "ana is not in team it-ops (--members)"),
    ("chloe,dev,chloe", "the members list someone twice (--members)"),
])
def test_rota_set_validates_members_and_writes_nothing(demo_url: str, members: str, message: str) -> None:
    before, trail = teams(demo_url)["it-ops"], len(events(demo_url))
    one_error(fb(demo_url, "rota", "set", "it-ops", "--members", members, "--start", "2026-01-05T09:00"), message)
    assert teams(demo_url)["it-ops"] == before
    assert len(events(demo_url)) == trail


def test_rota_override_wins_and_is_audited(demo_url: str) -> None:
    current = teams(demo_url)["it-ops"]["on_call_now"]["person"]
    other = "dev" if current == "chloe" else "chloe"
    start, end = utcnow() - H, utcnow() + 2 * H
    result = ok(fb(demo_url, "rota", "override", "it-ops", "--person", other, "--from", iso(start), "--to", iso(end),
                   "--note", "swap: dentist"))
    assert "(override)" in result.output
    row = teams(demo_url)["it-ops"]
    assert (row["on_call_now"]["person"], row["on_call_now"]["source"]) == (other, "override")
    assert at(row["on_call_now"]["until"]) == end.replace(microsecond=0)
    assert (row["on_call_next"]["person"], row["on_call_next"]["source"]) == (current, "rotation")
    (event,) = events(demo_url, "rota.override", "it-ops")
    assert event.actor == "tester" and event.after["person"] == other and event.reason == "swap: dentist"
    # an override for someone outside the team, or backwards in time, is refused
    one_error(fb(demo_url, "rota", "override", "it-ops", "--person", "eve", "--from", iso(start), "--to", iso(end)),
              "eve is not in team it-ops")
    one_error(fb(demo_url, "rota", "override", "it-ops", "--person", "dev", "--from", iso(end), "--to", iso(start)),
              "the end must be after the start")
    assert len(events(demo_url, "rota.override")) == 1


# == 3. the ownership policy ================================================================================

def policy_check(url: str) -> tuple[int, dict[str, dict[str, Any]]]:
    result = fb(url, "ownership", "check", "--json")
    assert result.exit_code in (0, 3), result.output
    return result.exit_code, {v["model"]: v for v in json.loads(result.output)}


def test_mission_critical_models_without_a_handover_break_the_policy(demo_url: str) -> None:
    code, found = policy_check(demo_url)
    assert code == 3
    assert set(found) == {"credit-risk", "demand-forecast"}  # internal models are not held to it
    for v in found.values():
        assert v["criticality"] == "mission-critical" and v["owner"] == "it-ops"
        assert v["problems"] == ["no completed handover"]
    text = fb(demo_url, "ownership", "check")
    assert text.exit_code == 3 and "credit-risk" in text.output and "no completed handover" in text.output


def test_a_mission_critical_model_owned_by_a_team_without_a_rota(demo_url: str) -> None:
    set_owner(demo_url, "demand-forecast", "ml-platform")
    set_owner(demo_url, "tumour-screening", "ml-platform")  # internal: no rota needed
    _, found = policy_check(demo_url)
    assert found["demand-forecast"]["owner"] == "ml-platform"
    assert "owned by ml-platform, which has no on-call rota" in found["demand-forecast"]["problems"]
    assert "tumour-screening" not in found
    set_owner(demo_url, "credit-risk", None)
    _, found = policy_check(demo_url)
    assert found["credit-risk"]["owner"] is None
    assert "no owning team, yet it runs in prod" in found["credit-risk"]["problems"]


def test_a_completed_handover_clears_the_violation(demo_url: str) -> None:
    # everything fuseboard verifies for a mission-critical model, then the manual items
    ok(fb(demo_url, "envs", "set", "prod", "--hook-webhook", "http://127.0.0.1:9/deploy"))
    ok(fb(demo_url, "monitoring", "set", "credit-risk", "--threshold", "income=0.2", "--yes"))
    checks_ran_for_a_week(demo_url)
    performance_verdict(demo_url, "credit-risk")
    ok(fb(demo_url, "handover", "start", "credit-risk", "--to", "ds-core", user="chloe"))
    tick_manual(demo_url, "credit-risk", user="chloe")
    assert ok(fb(demo_url, "handover", "check", "credit-risk")).output.strip() == "every required item is satisfied"
    ok(fb(demo_url, "handover", "sign", "credit-risk", user="chloe"))
    ok(fb(demo_url, "handover", "sign", "credit-risk", user="ana"))
    code, found = policy_check(demo_url)
    assert code == 3 and set(found) == {"demand-forecast"}


def test_policy_from_the_config_file(demo_url: str, isolated_home: Path) -> None:
    config = isolated_home / "config" / "fuseboard" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[ownership.mission-critical]\nrequire_handover = false\n")
    code, found = policy_check(demo_url)
    assert (code, found) == (0, {})
    assert ok(fb(demo_url, "ownership", "check")).output.strip() == "every model meets the ownership policy"
    # internal models can be held to a stricter policy too
    config.write_text("[ownership.mission-critical]\nrequire_handover = false\n"
                      "[ownership.internal]\nrequire_handover = true\nenvironments = [\"prod\"]\n")
    code, found = policy_check(demo_url)
    assert code == 3 and {"churn-propensity", "tumour-screening", "disease-progression"} == set(found)


@pytest.mark.parametrize("toml, message", [
    ("[ownership.mission-critical]\nrequire_handover = \"yes\"\n",
     "[ownership.mission-critical] require_handover must be true or false"),
    ("[ownership.critical]\nrequire_rota = true\n", "[ownership.critical]: tiers are mission-critical, internal"),
    ("[ownership.internal]\nrequire_review = true\n", "[ownership.internal] require_review: not a policy setting"),
    ("[ownership.internal]\nenvironments = \"prod\"\n", "[ownership.internal] environments must be a list"),
])
def test_a_bad_policy_setting_is_one_clear_error(demo_url: str, isolated_home: Path, toml: str,
                                                 message: str) -> None:
    config = isolated_home / "config" / "fuseboard" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(toml)
    one_error(fb(demo_url, "ownership", "check", "--json"), message)


# == 4. + 6. the handover lifecycle ========================================================================

def test_handover_lifecycle_every_transition(demo_url: str) -> None:
    url, model = demo_url, "tumour-screening"
    # start: not to the team that already owns it; a draft; not twice
    one_error(fb(url, "handover", "start", model, "--to", "ds-core", user="ana"), "ds-core already owns")
    view = json.loads(ok(fb(url, "handover", "start", model, "--to", "it-ops", "--json", user="ana")).output)
    assert (view["state"], view["from_team"], view["to_team"], view["template"]) == (
        "draft", "ds-core", "it-ops", "internal")
    one_error(fb(url, "handover", "start", model, "--to", "ml-platform", user="ana"), "already has a handover")
    assert [e.after["to"] for e in events(url, "handover.start", model)] == ["it-ops"]

    # ticking needs evidence; automatic items cannot be ticked; nothing changes when refused
    one_error(fb(url, "handover", "check", model, "data.privacy", user="ana"), "needs evidence")
    one_error(fb(url, "handover", "check", model, "data.schema", "--evidence", "trust me", user="ana"),
              "verified by fuseboard")
    one_error(fb(url, "handover", "check", model, "no.such", "--evidence", "x", user="ana"), "no checklist item")
    assert shown(url, model)["state"] == "draft" and not item(shown(url, model), "data.privacy")["done"]
    ok(fb(url, "handover", "check", model, "data.privacy", "--evidence", "no personal data", user="ana"))
    view = shown(url, model)
    assert view["state"] == "in_review"
    privacy = item(view, "data.privacy")
    assert (privacy["done"], privacy["evidence"], privacy["checked_by"]) == (True, "no personal data", "ana")

    # sign refused while required items are open
    missing = fb(url, "handover", "check", model, "--json")
    assert missing.exit_code == 3
    assert set(json.loads(missing.output)["missing"]) == {"monitoring.checks_running", "ops.runbook"}
    one_error(fb(url, "handover", "sign", model, user="ana"), "2 required item(s) not satisfied yet",
              "monitoring.checks_running", "ops.runbook")

    checks_ran_for_a_week(url)
    ok(fb(url, "handover", "check", model, "ops.runbook", "--evidence", "https://wiki/runbooks/tumour", user="ana"))
    assert ok(fb(url, "handover", "check", model)).output.strip() == "every required item is satisfied"
    signed = json.loads(ok(fb(url, "handover", "sign", model, "--json", user="ana")).output)
    assert signed["signatures"] == {"giving": "ana"} and signed["state"] == "in_review"

    # reject: only the receiving team, with a reason; signatures cleared
    one_error(fb(url, "handover", "reject", model, "--reason", "no", user="ana"), "only the receiving team")
    one_error(fb(url, "handover", "reject", model, "--reason", "  ", user="chloe"), "needs a reason")
    rejected = json.loads(ok(fb(url, "handover", "reject", model, "--reason", "runbook lacks rollback steps",
                                "--json", user="chloe")).output)
    assert (rejected["state"], rejected["reason"], rejected["signatures"]) == (
        "rejected", "runbook lacks rollback steps", {})
    (event,) = events(url, "handover.reject", model)
    assert event.actor == "chloe" and event.reason == "runbook lacks rollback steps"
    one_error(fb(url, "handover", "sign", model, user="chloe"), "was rejected", "runbook lacks rollback steps")
    one_error(fb(url, "handover", "reject", model, "--reason", "again", user="dev"), "already rejected")

    # fixed and submitted again: in review again
    ok(fb(url, "handover", "check", model, "ops.runbook", "--evidence", "https://wiki/runbooks/tumour#rollback",
          user="ana"))
    assert shown(url, model)["state"] == "rejected"  # a tick does not resubmit
    assert json.loads(ok(fb(url, "handover", "submit", model, "--json", user="ana")).output)["state"] == "in_review"
    one_error(fb(url, "handover", "submit", model, user="ana"), "already in review")
    ok(fb(url, "handover", "check", model, "ops.runbook", "--undo", user="chloe"))
    one_error(fb(url, "handover", "sign", model, user="chloe"), "1 required item(s) not satisfied yet: ops.runbook")
    ok(fb(url, "handover", "check", model, "ops.runbook", "--evidence", "https://wiki/runbooks/tumour#rollback",
          user="ana"))

    # both sides sign: someone in neither team, or an unknown user, or the same side twice is refused
    one_error(fb(url, "handover", "sign", model, user="eve"), "eve is in neither")
    one_error(fb(url, "handover", "sign", model, user="tester"), "tester is not a known person")
    ok(fb(url, "handover", "sign", model, user="chloe"))
    one_error(fb(url, "handover", "sign", model, user="dev"), "the receiving side already signed (chloe)")
    assert owner(url, model) == "ds-core"
    result = ok(fb(url, "handover", "sign", model, user="ben"))
    assert "ownership of tumour-screening moved to it-ops" in result.output
    view = shown(url, model)
    assert view["state"] == "transferred" and view["signatures"] == {"giving": "ben", "receiving": "chloe"}
    assert view["accepted_at"] is not None
    assert owner(url, model) == "it-ops"
    (transfer,) = events(url, "ownership.transfer", model)
    assert transfer.actor == "ben" and transfer.before == {"owner": "ds-core"}
    assert transfer.after["owner"] == "it-ops"
    assert [e.actor for e in reversed(events(url, "handover.sign", model))] == ["ana", "chloe", "ben"]

    # closed: no more ticking or signing
    one_error(fb(url, "handover", "check", model, "ops.contacts", "--evidence", "x", user="chloe"),
              "no handover in progress")
    one_error(fb(url, "handover", "sign", model, user="dev"), "no handover in progress")
    ok(fb(url, "audit", "verify"))


def test_ownership_moves_only_when_both_sides_signed(demo_url: str) -> None:
    url, model = demo_url, "tumour-screening"
    ready_tumour_handover(url)
    ok(fb(url, "handover", "sign", model, user="dev"))  # receiving side only
    assert (shown(url, model)["state"], owner(url, model)) == ("in_review", "ds-core")
    one_error(fb(url, "handover", "sign", model, user="chloe"), "receiving side already signed (dev)")
    one_error(fb(url, "handover", "sign", model, user="eve"), "neither")
    assert events(url, "ownership.transfer") == []
    ok(fb(url, "handover", "sign", model, user="ana"))  # and the giving side
    assert (shown(url, model)["state"], owner(url, model)) == ("transferred", "it-ops")


def test_a_change_to_the_checklist_clears_signatures(demo_url: str) -> None:
    url, model = demo_url, "tumour-screening"
    ready_tumour_handover(url)
    ok(fb(url, "handover", "sign", model, user="ana"))
    ok(fb(url, "handover", "check", model, "ops.contacts", "--evidence", "ana, then it-ops on call", user="ana"))
    assert shown(url, model)["signatures"] == {}  # what was signed changed: sign again
    ok(fb(url, "handover", "sign", model, user="chloe"))
    assert shown(url, model)["state"] == "in_review"


def test_changing_the_evidence_of_a_ticked_item_clears_signatures(demo_url: str) -> None:
    url, model = demo_url, "tumour-screening"
    ready_tumour_handover(url)
    ok(fb(url, "handover", "sign", model, user="ana"))
    ok(fb(url, "handover", "evidence", model, "data.privacy", "never mind", user="ana"))
    assert shown(url, model)["signatures"] == {}


def test_a_transferred_handover_keeps_its_verified_items_ticked(demo_url: str) -> None:
    url, model = demo_url, "tumour-screening"
    ready_tumour_handover(url)
    ok(fb(url, "handover", "sign", model, user="ana"))
    ok(fb(url, "handover", "sign", model, user="chloe"))
    view = shown(url, model)
    assert view["state"] == "transferred"
    assert item(view, "data.schema")["done"] and item(view, "data.schema")["evidence"]
    assert view["required_done"] == view["required_total"]


def test_a_model_without_an_owner_can_be_handed_over(demo_url: str) -> None:
    url, model = demo_url, "tumour-screening"
    set_owner(url, model, None)
    ok(fb(url, "handover", "start", model, "--to", "it-ops", user="ana"))
    checks_ran_for_a_week(url)
    tick_manual(url, model)
    for user in ("chloe", "ana", "dev"):
        fb(url, "handover", "sign", model, user=user)
    assert shown(url, model)["state"] == "transferred"
    assert owner(url, model) == "it-ops"


# == 5. automatic items follow the workspace =================================================================

def test_retrain_by_item_follows_the_model(demo_url: str) -> None:
    url, model = demo_url, "churn-propensity"
    retrain = item(shown(url, model), "ops.retrain_by")
    assert not retrain["done"] and "(passed)" in retrain["evidence"] and retrain["auto"]
    later = utcnow().date() + timedelta(days=60)
    set_retrain_by(url, model, later)
    retrain = item(shown(url, model), "ops.retrain_by")
    assert retrain["done"] and retrain["evidence"] == f"retrain by {later.isoformat()}"
    assert retrain["checked_by"] == "fuseboard"
    set_retrain_by(url, model, utcnow().date())  # today is not "in the future"
    assert not item(shown(url, model), "ops.retrain_by")["done"]


def test_prod_hook_alert_thresholds_and_signoffs_items(demo_url: str) -> None:
    url, model = demo_url, "credit-risk"
    ok(fb(url, "handover", "start", model, "--to", "ds-core", user="chloe"))
    view = shown(url, model)
    assert view["template"] == "mission-critical"
    assert not item(view, "infra.prod_hook")["done"] and "no deploy hook on prod" in item(view, "infra.prod_hook")[
        "evidence"]
    assert not item(view, "ops.alert_thresholds")["done"]
    assert item(view, "ops.signoffs")["done"]  # v2 serves, signed by both sides

    ok(fb(url, "envs", "set", "prod", "--hook-webhook", "http://127.0.0.1:9/deploy"))
    ok(fb(url, "monitoring", "set", model, "--threshold", "income=0.2", "--yes"))
    view = shown(url, model)
    assert item(view, "infra.prod_hook")["done"] and "127.0.0.1:9" in item(view, "infra.prod_hook")["evidence"]
    assert item(view, "ops.alert_thresholds")["done"] and "thresholds" in item(view, "ops.alert_thresholds")[
        "evidence"]

    ok(fb(url, "envs", "set", "prod", "--no-hook"))
    assert not item(shown(url, model), "infra.prod_hook")["done"]

    # v3 (business sign-off only) goes to prod: the sign-off item opens until IT signs
    ok(fb(url, "deploy", model, "3", "--env", "prod", "--override", "--reason", "hotfix", "--yes", "--wait", "0"))
    signoffs = item(shown(url, model), "ops.signoffs")
    assert not signoffs["done"] and signoffs["evidence"] == "v3: missing it"
    ok(fb(url, "signoff", model, "3", "--as", "it", user="dev"))
    signoffs = item(shown(url, model), "ops.signoffs")
    assert signoffs["done"] and "it by dev" in signoffs["evidence"]


def test_checks_running_item_needs_a_week_of_clean_checks(demo_url: str) -> None:
    url, model = demo_url, "churn-propensity"
    ws = open_workspace(url)
    assert "never ran" in item(shown(url, model), "monitoring.checks_running")["evidence"]
    for kind in ("health", "drift"):
        scheduler.run_cycle(ws, kind, now=utcnow() - timedelta(days=2))
    running = item(shown(url, model), "monitoring.checks_running")
    assert not running["done"] and running["evidence"] == "checks run in prod for 2 of 7 days"
    for kind in ("health", "drift"):
        scheduler.run_cycle(ws, kind, now=utcnow() - timedelta(days=8))
        scheduler.run_cycle(ws, kind)
    running = item(shown(url, model), "monitoring.checks_running")
    assert running["done"], running["evidence"]


def test_checks_that_stopped_running_do_not_count(demo_url: str) -> None:
    url, model = demo_url, "churn-propensity"
    ws = open_workspace(url)
    for kind in ("health", "drift"):
        scheduler.run_cycle(ws, kind, now=utcnow() - timedelta(days=40))  # and never again
    assert not item(shown(url, model), "monitoring.checks_running")["done"]


def test_a_rollback_leaves_no_spare_known_good_version_newer_than_the_one_serving(demo_url: str) -> None:
    url, model = demo_url, "churn-propensity"
    target = item(shown(url, model), "infra.rollback_target")
    assert target["done"] and target["evidence"] == "known-good v1 in prod to roll back to"
    ok(fb(url, "rollback", model, "--env", "prod", "--yes", "--wait", "0"))
    target = item(shown(url, model), "infra.rollback_target")  # v2 was rolled back from: no spare any more
    assert not target["done"] and target["evidence"] == "no known-good version in prod older than v1"


def test_rollback_target_opens_when_nothing_else_is_known_good(demo_url: str) -> None:
    url, model = demo_url, "tumour-screening"
    ok(fb(url, "handover", "start", model, "--to", "it-ops", user="ana"))
    assert item(shown(url, model), "infra.rollback_target")["done"]  # v1 is known-good
    ok(fb(url, "rollback", model, "--env", "prod", "--yes", "--wait", "0"))  # v2 was still soaking
    target = item(shown(url, model), "infra.rollback_target")
    assert not target["done"] and target["evidence"] == "no known-good version in prod older than v1"


# == 7. Markdown export ====================================================================================

def test_export_markdown(demo_url: str, tmp_path: Path) -> None:
    text = ok(fb(demo_url, "handover", "export", "churn-propensity")).output
    lines = text.splitlines()
    assert lines[0] == "# Handover of churn-propensity to it-ops"
    assert "- From: ds-core" in lines and "- Criticality: internal" in lines and "- State: in review" in lines
    headings = [line for line in lines if line.startswith("## ")]
    assert headings == ["## Data", "## Model", "## Infrastructure", "## Monitoring", "## Operations", "## Sign-off"]
    assert "- [x] **Data pipeline has appropriate privacy controls**" in lines
    evidence = lines[lines.index("- [x] **Data pipeline has appropriate privacy controls**") + 1]
    assert evidence.startswith("  - Evidence: DPIA-2291") and "(ana, " in evidence
    assert "- [x] **Feature expectations are captured in a schema** _(verified by fuseboard)_" in lines
    assert "- [ ] **Runbook is written and shared with operations**" in lines
    assert "- [ ] **Owner and on-call contact are known** _(optional)_" in lines
    assert "- [ ] **Prediction quality is monitored for regressions** _(optional, verified by fuseboard)_" in lines
    assert "  - Evidence: retrain by" in text and "(passed)" in text
    assert lines[-2:] == ["- Giving team: _not signed_", "- Receiving team: _not signed_"]

    out = tmp_path / "handover.md"
    assert ok(fb(demo_url, "handover", "export", "churn-propensity", "--out", str(out))).output.strip() == \
        f"wrote {out}"
    assert out.read_text(encoding="utf-8") == text
    one_error(fb(demo_url, "handover", "export", "credit-risk"), "credit-risk has no handover")


def test_export_shows_rejection_and_signatures(demo_url: str) -> None:
    url, model = demo_url, "tumour-screening"
    ready_tumour_handover(url)
    ok(fb(url, "handover", "sign", model, user="ana"))
    text = ok(fb(url, "handover", "export", model)).output
    assert "- Giving team: ana" in text and "- Receiving team: _not signed_" in text
    ok(fb(url, "handover", "reject", model, "--reason", "no rehearsal", user="dev"))
    text = ok(fb(url, "handover", "export", model)).output
    assert "- State: rejected (no rehearsal)" in text and "- Giving team: _not signed_" in text


# == 8. templates ==========================================================================================

GOOD_TEMPLATE = """
name = "internal"
[[items]]
key = "ops.runbook"
group = "operations"
text = "Runbook exists"
[[items]]
key = "data.schema"
group = "data"
text = "Schema captured"
verify = "schema_captured"
"""


def user_template(home: Path, name: str, text: str) -> Path:
    path = home / "config" / "fuseboard" / "checklists" / f"{name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_user_template_replaces_the_shipped_one(demo_url: str, isolated_home: Path) -> None:
    user_template(isolated_home, "internal", GOOD_TEMPLATE)
    view = json.loads(ok(fb(demo_url, "handover", "start", "tumour-screening", "--to", "it-ops", "--json",
                            user="ana")).output)
    assert [(i["key"], i["group"], i["auto"]) for i in view["items"]] == [
        ("ops.runbook", "operations", False), ("data.schema", "data", True)]
    # the handover that was already open keeps its own checklist
    assert len(shown(demo_url, "churn-propensity")["items"]) == 12
    # a new name adds a template
    user_template(isolated_home, "light", GOOD_TEMPLATE)
    view = json.loads(ok(fb(demo_url, "handover", "start", "disease-progression", "--to", "it-ops",
                            "--template", "light", "--json", user="ana")).output)
    assert view["template"] == "light" and len(view["items"]) == 2
    one_error(fb(demo_url, "handover", "start", "credit-risk", "--to", "ds-core", "--template", "heavy"),
              "no checklist template 'heavy'")


BAD_TEMPLATES = {
    "bad toml": ("[[items]]\nkey = \"a\ngroup = \"data\"\n", "not valid TOML"),
    "unknown group": (GOOD_TEMPLATE.replace('group = "data"', 'group = "infra"'),
                      "item 2 of {path}: group 'infra' is not one of data, model"),
    "unknown verify": (GOOD_TEMPLATE.replace('"schema_captured"', '"vibes"'),
                       "item 2 of {path}: verify 'vibes' is not one of"),
    "duplicate key": (GOOD_TEMPLATE.replace('key = "data.schema"', 'key = "ops.runbook"'),
                      "item 2 of {path}: key 'ops.runbook' appears twice"),
    "no items": ("name = \"internal\"\n", "has no [[items]]"),
    "unknown field": (GOOD_TEMPLATE.replace('text = "Runbook exists"', 'text = "Runbook exists"\nowner = "x"'),
                      "item 1 of {path}: unknown field 'owner'"),
}


@pytest.mark.parametrize("case", list(BAD_TEMPLATES))
def test_a_broken_template_is_one_clear_error(demo_url: str, isolated_home: Path, case: str) -> None:
    text, message = BAD_TEMPLATES[case]
    path = user_template(isolated_home, "internal", text)
    line = one_error(fb(demo_url, "handover", "start", "tumour-screening", "--to", "it-ops", user="ana"),
                     message.format(path=path))
    assert str(path) in line
    assert events(demo_url, "handover.start", "tumour-screening") == []
    assert fb(demo_url, "handover", "show", "tumour-screening").exit_code == 1  # nothing was started


# == 9. the shift summary ==================================================================================

def test_shift_summary_covers_the_current_shift(demo_url: str) -> None:
    url = demo_url
    ws = open_workspace(url)
    now = utcnow()
    shift_start = (now - 3 * H).replace(microsecond=0)
    ok(fb(url, "rota", "set", "ds-core", "--members", "ana,ben", "--start", iso(shift_start), "--length", "1"))
    # before the shift: an alert that opened and resolved, monitoring that started a week ago
    with ws.transaction() as s:
        m, prod = lookup.model(s, "credit-risk"), lookup.environment(s, "prod")
        s.add(Alert(fingerprint="credit-risk/prod/health", model_id=m.id, environment_id=prod.id, check="health",
                    severity="crit", state="resolved", summary="endpoint down (before the shift)",
                    opened_at=now - 5 * H, last_seen_at=now - 4 * H, resolved_by="dev", resolved_at=now - 4 * H))
    checks_ran_for_a_week(url)
    # during the shift: churn's retrain-by date has passed (alerts open), one is resolved by hand, a rollback,
    # a handover signed
    scheduler.run_cycle(ws, "drift")
    fired = json.loads(ok(fb(url, "alerts", "--json")).output)
    assert {a["model"] for a in fired} == {"churn-propensity"}
    ok(fb(url, "alerts", "resolve", str(fired[0]["id"]), "--note", "retrain scheduled", "--yes", user="ana"))
    ok(fb(url, "rollback", "tumour-screening", "--env", "prod", "--yes", "--wait", "0", user="chloe"))
    set_retrain_by(url, "churn-propensity", now.date() + timedelta(days=30))
    ok(fb(url, "handover", "check", "churn-propensity", "ops.runbook", "--evidence", "https://wiki/churn",
          user="ana"))
    ok(fb(url, "handover", "sign", "churn-propensity", user="ana"))

    summary = json.loads(ok(fb(url, "shift", "--team", "ds-core", "--json")).output)
    assert (summary["team"], summary["on_call"]) == ("ds-core", "ana")
    assert at(summary["since"]) == shift_start
    actions = [(e["action"], e["target"], e["actor"]) for e in summary["events"]]
    assert ("rollback", "tumour-screening/prod", "chloe") in actions
    assert ("handover.sign", "churn-propensity", "ana") in actions
    assert ("alert.resolve", f"churn-propensity/{fired[0]['environment']}", "ana") in actions
    assert all(at(e["at"]) >= shift_start for e in summary["events"])
    assert not any(a == "deploy" and t.startswith("credit-risk") for a, t, _ in actions)  # days ago
    opened = [a["summary"] for a in summary["alerts_opened"]]
    assert len(opened) == len(fired) and all("retrain-by" in s for s in opened)
    assert [a["id"] for a in summary["alerts_resolved"]] == [fired[0]["id"]]
    assert summary["alerts_still_open"] == len(fired) - 1
    # the default team is the first with someone on call; the text form says the same
    assert json.loads(ok(fb(url, "shift", "--json")).output)["team"] == "ds-core"
    text = ok(fb(url, "shift")).output
    assert "ds-core, ana on call" in text and "rollback" in text and f"{len(fired)} alerts opened, 1 resolved" in text

    # --since: an age
    since = json.loads(ok(fb(url, "shift", "--since", "2h", "--json")).output)
    assert abs(at(since["since"]) - (utcnow() - 2 * H)) < timedelta(minutes=1)
    assert since["on_call"] is None
    assert [a["id"] for a in since["alerts_resolved"]] == [fired[0]["id"]]


def test_shift_for_a_team_nobody_is_on_call_for(demo_url: str) -> None:
    one_error(fb(demo_url, "shift", "--team", "ml-platform"), "nobody is on call for ml-platform", "--since")
    summary = json.loads(ok(fb(demo_url, "shift", "--team", "ml-platform", "--since", "2h", "--json")).output)
    assert summary["team"] == "ml-platform"
    one_error(fb(demo_url, "shift", "--since", "yesterday"), "'yesterday' is not a time", "(--since)")


def test_a_lighter_checklist_does_not_satisfy_the_mission_critical_policy(demo_url: str) -> None:
    from sqlmodel import select

    from fuseboard.ops.handover import check_policy
    from fuseboard.store.models import Handover, Model

    ws = open_workspace(demo_url)
    with ws.transaction() as s:  # a completed handover of credit-risk, but on the internal checklist
        m = s.exec(select(Model).where(Model.name == "credit-risk")).one()
        s.add(Handover(model_id=m.id, from_team_id=None, to_team_id=m.owner_team_id, template="internal",
                       state="transferred", created_by="t"))
    found = {v.model: v.problems for v in check_policy(ws)}
    assert found["credit-risk"] == ["no completed handover on the mission-critical checklist (only: internal)"]
