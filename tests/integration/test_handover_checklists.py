"""Ownership: what is in a handover checklist: the automatic items that follow the workspace (retrain-by,
prod hook, alert thresholds, sign-offs, a week of clean checks, a rollback target), the Markdown
export, and user templates (one replaces the shipped checklist, a broken one is one clear error),
as a user of the CLI sees them.

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
from pathlib import Path

import pytest

from fuseboard.monitoring import scheduler
from fuseboard.store.db import open_workspace
from fuseboard.store.models import utcnow
from tests.support.ownership import events, fb, item, ok, one_error, ready_tumour_handover, set_retrain_by, shown


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
