"""Reviewing a handover from the command line (issue 20): every piece of evidence kept with who gave it
and when, sign and reject that say exactly why not, the rejection first, and `handover show` printing
each item whole, wrapped at 80 columns, with --json carrying the evidence history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.cells import cell_len

from tests.support.ownership import checks_ran_for_a_week, events, fb, item, ok, one_error, owner, shown, tick_manual

MODEL = "tumour-screening"  # ds-core builds it; handed to it-ops (chloe, dev)


@pytest.mark.slow
def test_evidence_tick_sign_reject_fix_sign(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    url = demo_url
    ok(fb(url, "handover", "start", MODEL, "--to", "it-ops", user="ana"))
    checks_ran_for_a_week(url)
    ok(fb(url, "handover", "evidence", MODEL, "ops.runbook", "https://wiki/draft", user="ben"))
    ok(fb(url, "handover", "evidence", MODEL, "ops.runbook", "https://wiki/tumour/runbook", user="ana"))
    ok(fb(url, "handover", "check", MODEL, "ops.runbook", user="ana"))
    tick_manual(url, MODEL)

    # signing is refused with the exact reason: someone in neither team, a side that already signed
    one_error(fb(url, "handover", "sign", MODEL, user="eve"),
              "eve is in neither the giving team (ds-core) nor the receiving team (it-ops); eve is in ml-platform")
    ok(fb(url, "handover", "sign", MODEL, user="ana"))
    one_error(fb(url, "handover", "sign", MODEL, user="ben"), "the giving side already signed (ana) on ",
              "waiting for the receiving side")

    # the giving side cannot reject; the receiving side does, with a reason
    one_error(fb(url, "handover", "reject", MODEL, "--reason", "x", user="ana"), "only the receiving team")
    ok(fb(url, "handover", "reject", MODEL, "--reason", "runbook lacks the rollback steps", user="dev"))
    plain = ok(fb(url, "handover", "show", MODEL)).output
    assert plain.splitlines()[0].startswith("✖ rejected by dev on ")
    assert "runbook lacks the rollback steps" in plain.split("\n\n")[0]
    one_error(fb(url, "handover", "sign", MODEL, user="ana"), "was rejected (runbook lacks the rollback steps)",
              f"fuseboard handover submit {MODEL}")

    # fix, submit, both sides sign: ownership moves
    ok(fb(url, "handover", "evidence", MODEL, "ops.runbook", "https://wiki/tumour/runbook#rollback", user="ana"))
    ok(fb(url, "handover", "submit", MODEL, user="ana"))
    ok(fb(url, "handover", "sign", MODEL, user="ana"))
    ok(fb(url, "handover", "sign", MODEL, user="dev"))
    assert owner(url, MODEL) == "it-ops"

    trail = [(e.action, e.actor) for e in reversed(events(url, target=MODEL)) if e.action.startswith(
        ("handover.", "ownership."))]
    runbook = [(e.actor, e.after.get("evidence")) for e in reversed(events(url, "handover.evidence", MODEL))]
    assert runbook == [("ben", "https://wiki/draft"), ("ana", "https://wiki/tumour/runbook"),
                       ("ana", "https://wiki/tumour/runbook#rollback")]
    assert trail[:4] == [("handover.start", "ana"), ("handover.evidence", "ben"), ("handover.evidence", "ana"),
                         ("handover.tick", "ana")]
    assert trail[-8:] == [("handover.sign", "ana"), ("handover.reject", "dev"), ("handover.evidence", "ana"),
                          ("handover.submit", "ana"), ("handover.sign", "ana"), ("handover.sign", "dev"),
                          ("handover.accept", "dev"), ("ownership.transfer", "dev")]

    # --json: every piece of evidence, who gave it and when; who ticked; who rejected
    view = shown(url, MODEL)
    runbook_item = item(view, "ops.runbook")
    assert [(e["text"], e["by"]) for e in runbook_item["history"]] == [
        ("https://wiki/draft", "ben"), ("https://wiki/tumour/runbook", "ana"),
        ("https://wiki/tumour/runbook#rollback", "ana")]
    assert all(e["at"].endswith("+00:00") for e in runbook_item["history"])
    assert runbook_item["evidence"] == "https://wiki/tumour/runbook#rollback"
    assert runbook_item["evidence_by"] == "ana" and runbook_item["checked_by"] == "ana"
    assert view["rejected_by"] == "dev" and view["reason"] == "runbook lacks the rollback steps"
    assert set(view["signed_at"]) == {"giving", "receiving"}

    # plain: each item whole, wrapped at 80 columns (nothing cut), the same lines as the console's item view
    plain = ok(fb(url, "handover", "show", MODEL)).output
    assert max(cell_len(line) for line in plain.splitlines()) <= 80
    block = plain.split("ops.runbook")[1].split("\n\n")[0]
    assert "ticked by ana on " in block and "why       operational readiness" in block
    assert "evidence  https://wiki/tumour/runbook#rollback (given by ana on " in block
    assert block.count("earlier") == 2 and "https://wiki/draft (given by ben on " in block
    assert "signed: giving ana on " in plain and "receiving dev on " in plain


def test_a_failing_verified_item_says_what_was_checked_found_and_what_makes_it_pass(
        demo_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    plain = ok(fb(demo_url, "handover", "show", "churn-propensity")).output
    block = plain.split("[!] monitoring.checks_running")[1].split("\n\n")[0]
    assert "✖ failing · required · fuseboard verifies it" in block
    assert "checks    health and drift checks ran in prod without errors for 7 days" in block
    assert "found     health and drift never ran in prod" in block
    assert "to pass   run the monitor (fuseboard monitor) for 7 days" in block
    assert max(cell_len(line) for line in plain.splitlines()) <= 80
    view = json.loads(ok(fb(demo_url, "handover", "show", "churn-propensity", "--json")).output)
    checks = item(view, "monitoring.checks_running")
    assert checks["fix"].startswith("run the monitor") and checks["check"].startswith("health and drift")


def test_evidence_with_control_characters_is_visible_in_plain_output_and_exact_in_json(demo_url: str) -> None:
    hostile = "see \x1b[31mwiki\x1b[0m"
    ok(fb(demo_url, "handover", "evidence", "churn-propensity", "ops.runbook", hostile, user="ana"))
    plain = ok(fb(demo_url, "handover", "show", "churn-propensity")).output
    assert "\x1b" not in plain and "see \\x1b[31mwiki\\x1b[0m" in plain
    assert item(shown(demo_url, "churn-propensity"), "ops.runbook")["history"][-1]["text"] == hostile


def test_evidence_given_before_the_history_existed_is_kept_with_who_and_when(demo_url: str, tmp_path: Path) -> None:
    """A workspace from before revision 0012: its evidence moves into the history, from the audit trail."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    from fuseboard.store.db import MIGRATIONS_DIR, open_workspace

    if not demo_url.startswith("sqlite"):
        pytest.skip("downgrades an SQLite copy")
    ok(fb(demo_url, "handover", "evidence", "churn-propensity", "ops.runbook", "https://wiki/one", user="ana"))
    ok(fb(demo_url, "handover", "check", "churn-propensity", "ops.runbook", "--evidence", "https://wiki/two",
          user="ben"))
    ok(fb(demo_url, "handover", "reject", "churn-propensity", "--reason", "no contacts", user="dev"))
    before = item(shown(demo_url, "churn-propensity"), "data.privacy")["history"]
    ws = open_workspace(demo_url)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with ws.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0011_shard_runs")
    ws.engine.dispose()
    view = shown(demo_url, "churn-propensity")  # opening it upgrades it again
    assert [(e["text"], e["by"]) for e in item(view, "ops.runbook")["history"]] == [
        ("https://wiki/one", "ana"), ("https://wiki/two", "ben")]
    assert item(view, "ops.runbook")["evidence_by"] == "ben"
    assert [(e["text"], e["by"]) for e in item(view, "data.privacy")["history"]] == [
        (e["text"], e["by"]) for e in before]
    assert view["rejected_by"] == "dev"
