"""Ownership: the criticality policy (mission-critical models need a completed handover on the
mission-critical checklist and an owning team with a rota) and the handover lifecycle (every
transition, signatures, when ownership moves), as a user of the CLI sees them.

The demo workspace (tests/conftest.py) seeds weekly rotas for it-ops [chloe, dev] and ds-core
[ana, ben] (handing over Mondays 09:00 local), none for ml-platform [eve], and a handover of
churn-propensity (internal) from ds-core to it-ops, in review, with data.privacy ticked.
credit-risk and demand-forecast are mission-critical, owned by it-ops and run in prod;
tumour-screening (internal, ds-core) runs v2 in prod since 30 minutes before the build, after v1.

Setup that has no command of its own is done in the store, in one transaction (tests.support.ownership):
a retrain-by date (only `register --retrain-by` sets it, which needs a new artifact), a model's owning
team, a performance verdict (labels flowing back), and monitoring that has run for a week (the
scheduler's run_cycle with a ``now`` eight days ago).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fuseboard.store.db import open_workspace
from tests.support.ownership import (checks_ran_for_a_week, events, fb, item, ok, one_error, owner,
                                     performance_verdict, ready_tumour_handover, set_owner, shown, tick_manual)


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
