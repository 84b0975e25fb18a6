"""The audit chain's anchor outside the database: truncation, re-hashing and removal are caught by
`fuseboard audit verify`; the database may run ahead of the anchor, never behind; several processes
append; `workspace copy` and `backup` carry it. SQLite and PostgreSQL (FUSEBOARD_TEST_POSTGRES)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select, update

from fuseboard.cli import cli
from fuseboard.store import anchor as anchors
from fuseboard.store.audit import GENESIS, event_hash, verify
from fuseboard.store.db import make_engine, open_workspace
from fuseboard.store.models import AuditEvent

EVENTS = AuditEvent.__table__


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def verify_json(url: str, *extra: str) -> tuple[int, dict[str, Any]]:
    result = run("--db", url, "audit", "verify", "--json", *extra)
    return result.exit_code, json.loads(result.stdout)


CHANGES = iter(range(2, 700))  # a different soak each time: every call is a change


def anchored(url: str) -> Path:
    """The workspace after one more audited change (a PostgreSQL copy of the demo starts without an
    anchor of its own: the change starts it); returns the anchor's path."""
    soak = f"{next(CHANGES)}h"
    assert run("--db", url, "envs", "set", "dev", "--soak", soak, "--reason", "anchor test").exit_code == 0
    path = open_workspace(url).audit_anchor
    assert path is not None and path.is_file()
    return path


def ids(url: str) -> list[int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        found = [row[0] for row in conn.execute(select(EVENTS.c.id).order_by(EVENTS.c.id))]
    engine.dispose()
    return found


def behind_its_back(url: str, *statements: Any) -> None:
    """Change the database directly, as someone with database access could (no ORM guard)."""
    engine = make_engine(url)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(statement)
    engine.dispose()


def rehash(url: str) -> None:
    """Recompute every event's hash and link in order: the chain links again after an edit or a removal."""
    engine = make_engine(url)
    with engine.begin() as conn:
        prev = GENESIS
        for e in conn.execute(select(EVENTS).order_by(EVENTS.c.id)).mappings().all():
            new = event_hash(prev, at=e["at"], actor=e["actor"], origin=e["origin"], client=e["client"],
                             action=e["action"], target=e["target"], before=e["before"], after=e["after"],
                             reason=e["reason"])
            if (e["prev_hash"], e["hash"]) != (prev, new):
                conn.execute(update(EVENTS).where(EVENTS.c.id == e["id"]).values(prev_hash=prev, hash=new))
            prev = new
    engine.dispose()


def test_an_intact_workspace_verifies_with_every_event_checkpointed(demo_url: str) -> None:
    path = anchored(demo_url)
    code, report = verify_json(demo_url)
    total = len(ids(demo_url))
    assert code == 0 and report["ok"] and report["events"] == total
    assert report["checkpointed"] == total and report["anchor"] == str(path) and report["beyond_anchor"] == 0
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert {line["id"] for line in lines if "id" in line} == set(ids(demo_url))
    assert oct(path.stat().st_mode & 0o777) == "0o600"  # owner-only, like the database


def test_removing_the_newest_20_events_is_caught(demo_url: str) -> None:
    anchored(demo_url)
    kept = ids(demo_url)[:-20]
    behind_its_back(demo_url, delete(EVENTS).where(EVENTS.c.id > kept[-1]))
    assert verify(open_workspace(demo_url, create=False), Path("/nonexistent")).ok  # the chain alone cannot tell
    result = run("--db", demo_url, "audit", "verify")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: audit chain broken at 20 checkpointed event(s) removed after event "
                                    f"{kept[-1]}: the anchor holds events up to {kept[-1] + 20} (")
    code, report = verify_json(demo_url)
    assert code == 1 and report["event_id"] == kept[-1] + 1


def test_removing_every_event_is_caught(demo_url: str) -> None:
    anchored(demo_url)
    total = len(ids(demo_url))
    behind_its_back(demo_url, delete(EVENTS))
    code, report = verify_json(demo_url)
    assert code == 1 and report["events"] == 0
    assert report["problem"].startswith(f"{total} checkpointed event(s) removed (all of them)")


def test_an_edited_actor_and_reason_with_the_chain_rehashed_is_caught(demo_url: str) -> None:
    anchored(demo_url)
    target = ids(demo_url)[len(ids(demo_url)) // 2]
    behind_its_back(demo_url, update(EVENTS).where(EVENTS.c.id == target).values(actor="nobody", reason="routine"))
    rehash(demo_url)
    assert verify(open_workspace(demo_url, create=False), Path("/nonexistent")).ok  # the chain links again
    code, report = verify_json(demo_url)
    assert code == 1 and report["event_id"] == target
    assert f"event {target} (" in report["problem"]
    assert "was altered and the chain re-hashed: its hash differs from its checkpoint" in report["problem"]


def test_an_event_removed_from_the_middle_and_the_chain_rehashed_is_caught(demo_url: str) -> None:
    anchored(demo_url)
    target = ids(demo_url)[10]
    behind_its_back(demo_url, delete(EVENTS).where(EVENTS.c.id == target))
    rehash(demo_url)
    code, report = verify_json(demo_url)
    assert code == 1 and report["event_id"] == target and report["problem"].startswith(f"event {target} was removed")


def test_the_database_may_run_ahead_of_the_anchor_but_not_behind(demo_url: str) -> None:
    path = anchored(demo_url)
    lines = path.read_bytes().splitlines(keepends=True)
    marks = sum(1 for line in lines if b'"id":' in line)  # (a first "started" line holds no event)
    path.write_bytes(b"".join(lines[:-3]) + lines[-3][:20])  # a crash after the commit: two lines lost, one torn
    code, report = verify_json(demo_url)
    assert code == 0 and report["beyond_anchor"] == 3 and report["checkpointed"] == marks - 3
    # the next change closes the torn line and appends after it; nothing earlier is lost
    anchored(demo_url)
    assert path.read_text().splitlines()[-2] == '{"torn":true}'
    code, report = verify_json(demo_url)
    assert code == 0 and report["checkpointed"] == marks - 3 + 1  # those three stay unanchored, the new one is


def test_a_damaged_or_conflicting_anchor_fails_verification(demo_url: str) -> None:
    path = anchored(demo_url)
    first = next(json.loads(line) for line in path.read_text().splitlines() if '"id":' in line)
    with path.open("a") as handle:
        handle.write(json.dumps({"id": first["id"], "hash": "f" * 64, "at": first["at"]}) + "\n")
    code, report = verify_json(demo_url)
    assert code == 1 and f"two different hashes for event {first['id']}" in report["problem"]
    path.write_text("not json\n" + path.read_text())
    code, report = verify_json(demo_url)
    assert code == 1 and "damaged at line 1" in report["problem"]


def test_a_workspace_without_an_anchor_verifies_with_a_warning_and_the_next_change_starts_one(demo_url: str) -> None:
    path = open_workspace(demo_url).audit_anchor
    path.unlink(missing_ok=True)
    result = run("--db", demo_url, "audit", "verify")
    assert result.exit_code == 0 and result.stdout.startswith("audit chain intact:")
    assert result.stderr.startswith(f"warning: no audit anchor at {path}")
    # without an anchor the chain still shows an event removed from the middle
    middle = ids(demo_url)[5]
    earlier = len(ids(demo_url))
    anchored(demo_url)  # starts it with every event there is, and says it started late
    code, report = verify_json(demo_url)
    assert code == 0 and report["checkpointed"] == len(ids(demo_url))
    # from now on verify says the earlier events were anchored late: a deleted anchor does not go unseen
    assert report["warning"].startswith("the audit anchor was started at ")
    assert f"on {earlier} event(s) already in the database" in report["warning"]
    again = run("--db", demo_url, "audit", "verify")
    assert again.exit_code == 0 and again.stderr.startswith("warning: the audit anchor was started at ")
    copy = f"sqlite:///{path.parent / 'copy' / 'ws.db'}"  # a copy keeps the warning
    assert run("workspace", "copy", "--from", demo_url, "--to", copy).exit_code == 0
    assert verify_json(copy)[1]["warning"] == report["warning"].replace(str(path), str(path.parent / "copy" /
                                                                                        "ws-audit.jsonl"))
    path.unlink()
    behind_its_back(demo_url, delete(EVENTS).where(EVENTS.c.id == middle))
    code, report = verify_json(demo_url)
    assert code == 1 and report["event_id"] == middle + 1 and "was removed or inserted" in report["problem"]


def test_a_copy_of_the_anchor_kept_elsewhere_catches_what_the_local_one_lost(demo_url: str, tmp_path: Path) -> None:
    path = anchored(demo_url)
    offsite = tmp_path / "offsite.jsonl"
    shutil.copyfile(path, offsite)
    kept = ids(demo_url)[:-5]
    behind_its_back(demo_url, delete(EVENTS).where(EVENTS.c.id > kept[-1]))
    path.write_text("".join(line + "\n" for line in path.read_text().splitlines()
                            if json.loads(line).get("id", 0) <= kept[-1]))  # someone who can write both places
    assert verify_json(demo_url)[0] == 0
    code, report = verify_json(demo_url, "--anchor", str(offsite))
    assert code == 1 and report["problem"].startswith("5 checkpointed event(s) removed")
    missing = run("--db", demo_url, "audit", "verify", "--anchor", str(tmp_path / "nope.jsonl"))
    assert missing.exit_code == 1 and missing.stderr.startswith("error: no anchor file at")


WRITER = """
import sys
from fuseboard.store.audit import record
from fuseboard.store.db import open_workspace
ws = open_workspace(sys.argv[1])
for n in range(int(sys.argv[3])):
    with ws.transaction() as s:
        record(s, action="test.write", target=f"{sys.argv[2]}-{n}", actor="t", origin="cli")
assert ws.anchor_problem is None, ws.anchor_problem
"""


@pytest.mark.slow
def test_several_processes_appending_at_once_keep_the_anchor_whole(demo_url: str) -> None:
    path = anchored(demo_url)
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, demo_url, f"w{i}", "15"]) for i in range(4)]
    assert [p.wait(timeout=300) for p in procs] == [0, 0, 0, 0]
    lines = path.read_text().splitlines()
    parsed = [json.loads(line) for line in lines]  # every line whole
    assert {p["id"] for p in parsed if "id" in p} == set(ids(demo_url))
    code, report = verify_json(demo_url)
    assert code == 0 and report["checkpointed"] == report["events"]


def test_a_change_whose_checkpoint_cannot_be_written_says_so(demo_url: str) -> None:
    path = anchored(demo_url)
    path.unlink()
    path.mkdir()  # the anchor cannot be opened for writing
    result = run("--db", demo_url, "envs", "set", "dev", "--soak", "700h")
    assert result.exit_code == 0  # the change itself was made
    assert result.stderr.startswith("warning: the audit anchor could not be written: ") and str(path) in result.stderr


def test_workspace_copy_carries_the_anchor(demo_url: str, tmp_path: Path) -> None:
    anchored(demo_url)
    target = f"sqlite:///{tmp_path / 'copy' / 'ws.db'}"
    done = run("workspace", "copy", "--from", demo_url, "--to", target, "--json")
    assert done.exit_code == 0, done.output
    copied = json.loads(done.stdout)["audit_anchor"]
    assert copied == str(tmp_path / "copy" / "ws-audit.jsonl")
    code, report = verify_json(target)
    assert code == 0 and report["checkpointed"] == report["events"] == len(ids(demo_url))
    # a source that lost its newest events does not become a clean copy
    kept = ids(demo_url)[:-3]
    behind_its_back(demo_url, delete(EVENTS).where(EVENTS.c.id > kept[-1]))
    again = run("workspace", "copy", "--from", demo_url, "--to", f"sqlite:///{tmp_path / 'c2' / 'ws.db'}")
    assert again.exit_code == 1
    assert again.stderr.startswith("error: the copied audit chain does not verify: 3 checkpointed event(s) removed")
    # nor does one whose anchor is damaged
    source_anchor = open_workspace(demo_url).audit_anchor
    source_anchor.write_text("garbage\n" + source_anchor.read_text())
    third = run("workspace", "copy", "--from", demo_url, "--to", f"sqlite:///{tmp_path / 'c3' / 'ws.db'}")
    assert third.exit_code == 1
    assert third.stderr == (f"error: the audit anchor is damaged at line 1 ({source_anchor}), so the copy could not "
                            "carry its checkpoints; nothing was copied\n")


@pytest.mark.sqlite_only
def test_backup_carries_the_anchor(demo_url: str, tmp_path: Path) -> None:
    anchored(demo_url)
    result = run("--db", demo_url, "backup", str(tmp_path / "copy.db"), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["audit_anchor"] == str(tmp_path / "copy-audit.jsonl")
    code, report = verify_json(f"sqlite:///{tmp_path / 'copy.db'}")
    assert code == 0 and report["checkpointed"] == report["events"] == len(ids(demo_url))


def test_the_config_file_can_put_the_anchor_elsewhere(demo_url: str, isolated_home: Path, tmp_path: Path) -> None:
    config = isolated_home / "config" / "fuseboard" / "config.toml"
    config.parent.mkdir(parents=True)
    elsewhere = tmp_path / "anchors" / "team.jsonl"
    config.write_text(f'audit_anchor = "{elsewhere}"\n')
    anchored_at = anchors.read(elsewhere)
    assert not anchored_at.exists
    assert run("--db", demo_url, "envs", "set", "dev", "--soak", "701h").exit_code == 0
    assert anchors.read(elsewhere).last == ids(demo_url)[-1]
    code, report = verify_json(demo_url)
    assert code == 0 and report["anchor"] == str(elsewhere)


def test_copy_with_force_over_another_workspace_moves_its_anchor_aside(demo_url: str, tmp_path: Path) -> None:
    anchored(demo_url)
    target = f"sqlite:///{tmp_path / 'copy' / 'ws.db'}"
    assert run("workspace", "copy", "--from", demo_url, "--to", target).exit_code == 0
    old = tmp_path / "copy" / "ws-audit.jsonl"
    with old.open("a") as handle:  # as if it had anchored a longer, different chain
        handle.write(json.dumps({"id": 10**6, "hash": "e" * 64, "at": "2026-01-01T00:00:00.000000Z"}) + "\n")
    again = run("workspace", "copy", "--from", demo_url, "--to", target, "--force", "--yes")
    assert again.exit_code == 0, again.output
    [aside] = (tmp_path / "copy").glob("ws-audit.jsonl.replaced-*")
    assert str(10**6) in aside.read_text() and str(10**6) not in old.read_text()
    assert verify_json(target)[0] == 0


def test_the_monitor_sends_the_chain_head_off_the_host_and_verify_reads_what_a_receiver_kept(
        demo_url: str, tmp_path: Path, http_server: Any) -> None:
    """The leader's hourly checkpoint goes to the generic webhook; a receiver that appends the bodies as JSON
    lines holds an anchor of its own, which catches what someone who rewrote the local one hid."""
    from fuseboard.monitoring.receivers import build
    from fuseboard.monitoring.scheduler import CycleSummary, Monitor

    from tests.support.receivers import Recorder, recorder_attrs, spec

    server = http_server(Recorder, **recorder_attrs(status=200))
    sent: list = []
    kept = tmp_path / "receiver.jsonl"
    hook = build([spec("webhook", f"{server.url}/anchor")], {})

    def receiver(events: list[dict]) -> None:  # what the monitor's delivery sends, kept as a receiver would
        monitor.deliver()
        bodies = [h["body"] for h in server.hits]
        server.hits.clear()
        sent.extend(b for b in bodies if b.get("event") == "audit.checkpoint")
        with kept.open("a") as handle:  # every body the webhook gets, alert events too
            handle.writelines(json.dumps(e) + "\n" for e in [*bodies, {"event": "fired", "alert": {"id": 1}}])

    monitor = Monitor(open_workspace(demo_url), receivers=hook, on_cycle=lambda summary: (receiver([]),
                                                                                           sent.append(summary)))
    monitor.leading = True  # as the lease holder
    first = monitor.checkpoint()
    head = ids(demo_url)[-1]
    assert first is not None and (first.as_event()["event"], first.id) == ("audit.checkpoint", head)
    assert sent == [first.as_event(), CycleSummary("audit.checkpoint", checkpoint=first)]
    assert monitor.checkpoint() is None  # nothing new: nothing sent
    anchored(demo_url)
    assert monitor.checkpoint().id == head + 1
    monitor.leading = False
    anchored(demo_url)
    assert monitor.checkpoint() is None  # a standby sends nothing

    path = open_workspace(demo_url).audit_anchor
    behind_its_back(demo_url, delete(EVENTS).where(EVENTS.c.id > head))
    path.write_text("".join(line + "\n" for line in path.read_text().splitlines()
                            if json.loads(line).get("id", 0) <= head))
    assert verify_json(demo_url)[0] == 0  # the local anchor was rewritten too
    code, report = verify_json(demo_url, "--anchor", str(kept))
    assert code == 1 and report["problem"].startswith(f"1 checkpointed event(s) removed after event {head}")


def test_two_postgresql_workspaces_of_the_same_database_name_keep_separate_anchors(tmp_path: Path) -> None:
    """staging-db/fuseboard and prod-db/fuseboard, used from one account, share the artifact folder: one
    anchor for both would hold two chains, and verify would call either of them tampered with."""
    from fuseboard.store.db import anchor_path

    names = {anchor_path(url, tmp_path) for url in (
        "postgresql+psycopg://ops@staging-db/fuseboard", "postgresql+psycopg://ops:pw@prod-db/fuseboard",
        "postgresql+psycopg://ops@prod-db:5433/fuseboard", "postgresql+psycopg://ops@/fuseboard")}
    assert len(names) == 4 and all(p is not None and p.parent == tmp_path for p in names)
    assert anchor_path("postgresql+psycopg://ops@prod-db/fuseboard", tmp_path) == \
        anchor_path("postgresql://other:secret@prod-db:5432/fuseboard", tmp_path)  # the same database, one anchor
    assert all("secret" not in p.name and "pw" not in p.name for p in names)


def test_a_new_workspace_is_anchored_from_its_first_event_without_a_warning(tmp_path: Path,
                                                                             credit_files: dict) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    made = run("--db", url, "register", "credit", "--artifact", str(credit_files["artifact"]), "--reference",
               str(credit_files["reference"]), "--target", "default")
    assert made.exit_code == 0, made.output
    assert run("--db", url, "envs", "set", "dev", "--soak", "2h", "--reason", "r").exit_code == 0
    code, report = verify_json(url)
    assert code == 0 and report["warning"] == "" and report["checkpointed"] == report["events"] > 0
