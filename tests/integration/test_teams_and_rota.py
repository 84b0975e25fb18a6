"""Ownership: teams and on-call rotas (who is on call now and next, setting a rotation, overrides)
and the shift summary (what happened during the current shift of a team's on-call person), as a
user of the CLI sees them.

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
from datetime import timedelta

import pytest

from fuseboard.monitoring import scheduler
from fuseboard.store import lookup
from fuseboard.store.db import open_workspace
from fuseboard.store.models import Alert, utcnow
from tests.support.ownership import at, checks_ran_for_a_week, events, fb, iso, ok, one_error, set_retrain_by, teams


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
