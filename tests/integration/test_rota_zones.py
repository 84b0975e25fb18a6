"""Rotas hand over at local time in their zone, across daylight-saving changes; rotas from before zones
existed stay in UTC (migration 0006)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from fuseboard.cli import cli
from fuseboard.ops.oncall import on_call, rotation_turn
from fuseboard.store.db import open_workspace
from fuseboard.ops.views import audit_events

LONDON = ZoneInfo("Europe/London")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def test_a_london_rota_hands_over_at_nine_london_time_across_the_spring_change() -> None:
    start = datetime(2026, 3, 23, 9, 0, tzinfo=LONDON)  # Monday, GMT (= 09:00 UTC); clocks go forward on the 29th
    first = rotation_turn(start, 7, ["ana", "ben"], utc("2026-03-25T12:00"), "Europe/London")
    assert (first.person, first.start, first.end) == ("ana", utc("2026-03-23T09:00"), utc("2026-03-30T08:00"))
    # Monday 30 March, 08:30 UTC is 09:30 in London (BST): ben took over at 09:00 London time
    second = rotation_turn(start, 7, ["ana", "ben"], utc("2026-03-30T08:30"), "Europe/London")
    assert (second.person, second.start, second.end) == ("ben", utc("2026-03-30T08:00"), utc("2026-04-06T08:00"))
    # anchored in UTC (rotas from before zones), the handover would come an hour late in summer
    assert rotation_turn(start, 7, ["ana", "ben"], utc("2026-03-30T08:30")).person == "ana"


def test_and_across_the_autumn_change_and_many_turns_later() -> None:
    start = datetime(2026, 10, 19, 9, 0, tzinfo=LONDON)  # BST (= 08:00 UTC); clocks go back on the 25th
    turn = rotation_turn(start, 7, ["ana", "ben", "cy"], utc("2026-10-26T08:30"), "Europe/London")
    assert (turn.person, turn.start) == ("ana", utc("2026-10-19T08:00"))  # 08:30 UTC is 08:30 GMT: not yet
    turn = rotation_turn(start, 7, ["ana", "ben", "cy"], utc("2026-10-26T09:00"), "Europe/London")
    assert (turn.person, turn.start, turn.end) == ("ben", utc("2026-10-26T09:00"), utc("2026-11-02T09:00"))
    later = rotation_turn(start, 7, ["ana", "ben", "cy"], utc("2027-07-05T08:00"), "Europe/London")
    assert later.start == utc("2027-07-05T08:00") and later.start.astimezone(LONDON).hour == 9


def test_rota_set_takes_a_zone_and_reads_the_start_in_it(demo_url: str) -> None:
    result = run("--db", demo_url, "rota", "set", "it-ops", "--members", "chloe,dev", "--start", "2026-03-23T09:00",
                 "--tz", "Europe/London", "--reason", "London on-call")
    assert result.exit_code == 0, result.output
    assert result.output == "it-ops: chloe -> dev, 7 days each, handing over at Mon 09:00 Europe/London\n"
    event = audit_events(open_workspace(demo_url), target="it-ops", limit=1)[0]
    assert event.after["tz"] == "Europe/London" and event.after["starts_at"] == "2026-03-23T09:00:00+00:00"
    ws = open_workspace(demo_url)
    team = {t.team: t for t in on_call(ws, utc("2026-03-30T08:30"))}["it-ops"]
    assert team.now.person == "dev" and team.now.start == utc("2026-03-30T08:00")


def test_an_unknown_zone_is_one_error_and_nothing_changes(demo_url: str) -> None:
    before = json.loads(run("--db", demo_url, "teams", "--json").output)
    result = run("--db", demo_url, "rota", "set", "it-ops", "--members", "chloe,dev", "--start", "2026-03-23T09:00",
                 "--tz", "Europe/Lundon")
    assert result.exit_code == 1
    assert result.output == ("error: 'Europe/Lundon' is not a time zone; give an IANA name such as "
                             "Europe/London or UTC (--tz)\n")
    assert json.loads(run("--db", demo_url, "teams", "--json").output) == before


def test_migration_0006_keeps_old_rotas_in_utc_and_adds_the_access_tables(ws_url: str) -> None:
    """A workspace at 0005 with a rota, upgraded: the rota hands over as before (UTC), no environment has
    an allow-list, identity comes from the OS login. SQLite and PostgreSQL."""
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from sqlalchemy import create_engine, text

    from fuseboard.store.db import HEAD, MIGRATIONS_DIR, schema_revision

    if ws_url.startswith("sqlite"):
        from pathlib import Path

        Path(ws_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(ws_url)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005_ingested_batches")
        conn.execute(text("INSERT INTO environment (name, \"order\", protected, soak_seconds, converge_seconds, hook) "
                          "VALUES ('prod', 2, true, 3600, 120, '{}')"))
        conn.execute(text("INSERT INTO team (name, kind, description) VALUES ('it-ops', 'it-operations', '')"))
        conn.execute(text("INSERT INTO rota (team_id, starts_at, length_days, members) "
                          "VALUES (1, '2026-03-23 09:00:00', 7, '[\"ana\", \"ben\"]')"))
    engine.dispose()
    ws = open_workspace(ws_url)
    assert schema_revision(ws.engine) == HEAD and ws.identity_override is False
    team = {t.team: t for t in on_call(ws, utc("2026-03-30T08:30"))}["it-ops"]
    assert (team.now.person, team.now.start) == ("ana", utc("2026-03-23T09:00"))  # UTC, as before the upgrade
    with ws.engine.connect() as conn:
        assert conn.execute(text("SELECT tz FROM rota")).scalar_one() == "UTC"
        assert conn.execute(text("SELECT allow FROM environment")).scalar_one() is None


def test_a_rota_zone_this_host_does_not_know_never_stops_a_rollback_or_the_incident(
        demo_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A shared workspace's rota may name a zone another host's tzdata has and this one lacks: who is on
    call is then unknown, said so, and the rollback and the incident go on."""
    from sqlalchemy import text

    monkeypatch.setenv("COLUMNS", "200")  # the owner line whole
    ws = open_workspace(demo_url)
    with ws.transaction() as s:  # as a host with a newer tzdata stored it (it-ops owns credit-risk)
        s.connection().execute(text("UPDATE rota SET tz = 'Mars/Olympus' WHERE team_id = "
                                    "(SELECT id FROM team WHERE name = 'it-ops')"))
    incident = run("--db", demo_url, "incident", "credit-risk", "--env", "prod")
    assert incident.exit_code == 0, incident.output
    assert "owner: it-ops (who is on call is unknown: rota time zone 'Mars/Olympus' is not a time zone" in \
        incident.output
    back = run("--db", demo_url, "rollback", "credit-risk", "--env", "prod", "--reason", "x", "--yes", "--wait", "0")
    assert back.exit_code == 0, back.output
    assert "on call: it-ops: who is on call is unknown (rota time zone 'Mars/Olympus'" in back.output
    assert "rollback done: credit-risk in prod now runs v1" in back.output
