"""Environments: what keeps a change safe: rollback to the last known-good version, gates and
sign-offs on promotion (and overriding them with a reason), optimistic concurrency (a stale plan, a
change in flight, two processes racing), the allow-list of who may change an environment, and
read-only mode, as a user of the CLI and the operations sees them.

The demo workspace (tests/conftest.py): credit-risk (mission-critical) runs v1 in prod from 21 days
ago, v2 from 2 days ago, and v3 waits in staging with the business sign-off only; prod is protected.
tumour-screening and churn-propensity (internal) run v2 in prod after v1, and v2 in staging.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from fuseboard.errors import Conflict, FuseboardError, Refused
from fuseboard.ops import deploy as ops
from fuseboard.ops import hooks
from fuseboard.store.db import open_workspace
from fuseboard.store.models import utcnow
from fuseboard.ops.views import environment_matrix
from tests.support.deploys import PY, audit_count, events, history, run, serving, set_hook


# -- 3. rollback -----------------------------------------------------------------------------------------


def test_rollback_goes_to_the_last_known_good_version_and_needs_a_reason_for_mission_critical_prod(
        demo_url: str) -> None:
    plan = ops.plan_change(open_workspace(demo_url), "credit-risk", "prod", action="rollback")
    assert (plan.from_version, plan.to_version, plan.typed_confirmation, plan.gates) == (2, 1, True, [])

    no_reason = run("--db", demo_url, "rollback", "credit-risk", "--env", "prod", "--yes", "--wait", "0")
    assert no_reason.exit_code == 1
    assert no_reason.output.strip().splitlines()[-1] == (
        "error: credit-risk is mission-critical and prod is protected: give a --reason")
    no_yes = run("--db", demo_url, "rollback", "credit-risk", "--env", "prod", "--reason", "x", "--wait", "0")
    assert no_yes.exit_code == 1 and "pass --yes" in no_yes.output
    assert serving(demo_url, "credit-risk")["prod"] == 2

    done = run("--db", demo_url, "rollback", "credit-risk", "--env", "prod", "--reason", "v2 rejects good loans",
               "--yes", "--wait", "0")
    assert done.exit_code == 0, done.output
    assert "rollback credit-risk in prod: v2 -> v1" in done.output  # the plan, shown first
    assert "rollback done: credit-risk in prod now runs v1" in done.output
    assert serving(demo_url, "credit-risk")["prod"] == 1
    latest = history(demo_url, "credit-risk", "prod")[0]
    assert (latest.action, latest.to_version, latest.reason, latest.requested_by) == (
        "rollback", 1, "v2 rejects good loans", "tester")
    (event,) = [e for e in events(demo_url, model="credit-risk", env="prod") if e.action == "rollback"]
    assert event.reason == "v2 rejects good loans" and event.before["version"] == 2 and event.after["version"] == 1


def test_rollback_without_a_known_good_alternative_is_refused_and_to_chooses_the_version(demo_url: str) -> None:
    refused = run("--db", demo_url, "rollback", "credit-risk", "--env", "staging", "--yes", "--wait", "0")
    assert refused.exit_code == 1
    assert refused.output.strip() == (
        "error: credit-risk in staging has no known-good version older than v3 to roll back to (no other version "
        "ever served in staging); deploy a chosen version with fuseboard deploy credit-risk VERSION --env staging")
    assert serving(demo_url, "credit-risk")["staging"] == 3
    chosen = run("--db", demo_url, "rollback", "credit-risk", "--env", "staging", "--to", "2", "--yes", "--wait", "0")
    assert chosen.exit_code == 0, chosen.output
    assert "rollback done: credit-risk in staging now runs v2" in chosen.output
    assert serving(demo_url, "credit-risk")["staging"] == 2
    same = run("--db", demo_url, "rollback", "credit-risk", "--env", "staging", "--to", "2", "--yes", "--wait", "0")
    assert same.exit_code == 0 and "unchanged: credit-risk v2 already runs in staging" in same.output


def test_rollback_to_a_version_that_never_served_in_prod_cannot_skip_the_gates(demo_url: str) -> None:
    result = run("--db", demo_url, "rollback", "credit-risk", "--env", "prod", "--to", "3", "--reason", "r", "--yes",
                 "--wait", "0")
    assert serving(demo_url, "credit-risk")["prod"] == 2, result.output
    assert result.exit_code == 1 and "v3 of credit-risk never served in prod, so it is not a rollback" in result.output


def test_an_internal_model_rolls_back_in_prod_with_yes_and_no_reason(demo_url: str) -> None:
    result = run("--db", demo_url, "rollback", "tumour-screening", "--env", "prod", "--yes", "--wait", "0")
    assert result.exit_code == 0, result.output
    assert "rollback done: tumour-screening in prod now runs v1" in result.output
    assert serving(demo_url, "tumour-screening")["prod"] == 1


# -- 4. gates and sign-offs ------------------------------------------------------------------------------


def test_promotion_into_prod_stops_at_the_missing_it_signoff_until_it_is_given(demo_url: str) -> None:
    before_history, before_audit = len(history(demo_url, "credit-risk", "prod")), audit_count(demo_url)
    stopped = run("--db", demo_url, "promote", "credit-risk", "--to", "prod", "--reason", "release 3", "--yes",
                  "--wait", "0")
    assert stopped.exit_code == 1
    assert "promote credit-risk in prod: v2 -> v3" in stopped.output
    assert "gate FAIL: IT sign-off: missing (fuseboard signoff credit-risk 3 --as it)" in stopped.output
    assert "gate pass: business sign-off: by ben" in stopped.output
    assert "gate pass: soak: known-good in staging since" in stopped.output
    assert "gate pass: validation metrics: roc_auc" in stopped.output
    assert stopped.output.strip().splitlines()[-1].startswith("error: gates failing: IT sign-off: missing")
    assert serving(demo_url, "credit-risk")["prod"] == 2
    assert len(history(demo_url, "credit-risk", "prod")) == before_history and audit_count(demo_url) == before_audit

    signed = run("--db", demo_url, "signoff", "credit-risk", "3", "--as", "it", "--note", "UAT run 14 passed")
    assert signed.exit_code == 0 and signed.output.strip() == "signed off: credit-risk v3 by tester for it"
    again = run("--db", demo_url, "signoff", "credit-risk", "3", "--as", "it")
    assert again.exit_code == 1 and "already has the it sign-off, by tester" in again.output
    (event,) = [e for e in events(demo_url, target="credit-risk@v3") if e.action == "signoff" and e.actor == "tester"]
    assert event.after == {"side": "it"} and event.reason == "UAT run 14 passed"

    promoted = run("--db", demo_url, "promote", "credit-risk", "--to", "prod", "--reason", "release 3", "--yes",
                   "--wait", "0")
    assert promoted.exit_code == 0, promoted.output
    assert "gate pass: IT sign-off: by tester" in promoted.output
    assert "promote done: credit-risk in prod now runs v3" in promoted.output
    assert serving(demo_url, "credit-risk")["prod"] == 3
    assert history(demo_url, "credit-risk", "prod")[0].action == "promote"


def test_override_passes_failing_gates_with_a_reason_and_is_audited(demo_url: str) -> None:
    result = run("--db", demo_url, "promote", "credit-risk", "--to", "prod", "--override", "--reason",
                 "CAB-123: fixes the pricing incident", "--yes", "--json", "--wait", "0")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["state"], out["to_version"], out["overridden_gates"]) == ("succeeded", 3, ["IT sign-off"])
    assert serving(demo_url, "credit-risk")["prod"] == 3
    (event,) = [e for e in events(demo_url, model="credit-risk", env="prod") if e.action == "gate.override"]
    assert event.after == {"version": 3, "gates": ["IT sign-off"]}
    assert event.reason == "CAB-123: fixes the pricing incident" and event.actor == "tester"


def test_override_without_a_reason_is_refused(demo_url: str) -> None:
    internal = run("--db", demo_url, "deploy", "churn-propensity", "1", "--env", "prod", "--override", "--yes",
                   "--wait", "0")
    assert internal.exit_code == 1
    assert internal.output.strip().splitlines()[-1] == "error: overriding gates needs a reason (--reason)"
    critical = run("--db", demo_url, "promote", "credit-risk", "--to", "prod", "--override", "--yes", "--wait", "0")
    assert critical.exit_code == 1 and "give a --reason" in critical.output
    with pytest.raises(FuseboardError, match="overriding gates needs a reason"):
        ops.change(open_workspace(demo_url), "credit-risk", "prod", action="promote", actor="t", origin="cli",
                   override=True, reason="   ")
    assert serving(demo_url, "churn-propensity")["prod"] == 2 and serving(demo_url, "credit-risk")["prod"] == 2
    assert not [e for e in events(demo_url) if e.action == "gate.override"]


def test_the_soak_gate_needs_the_version_to_have_served_in_the_environment_before(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    gates = {g.name: g for g in ops.plan_change(ws, "churn-propensity", "prod", version=1).gates}
    assert not gates["soak"].ok and gates["soak"].detail == "v1 never ran in staging"
    cli_result = run("--db", demo_url, "deploy", "churn-propensity", "1", "--env", "prod", "--yes", "--wait", "0")
    assert cli_result.exit_code == 1 and "gate FAIL: soak: v1 never ran in staging" in cli_result.output
    assert serving(demo_url, "churn-propensity")["prod"] == 2

    ops.deploy(ws, "churn-propensity", 1, "staging", actor="t", origin="cli")  # starts soaking now
    gates = {g.name: g for g in ops.plan_change(ws, "churn-propensity", "prod", version=1).gates}
    assert not gates["soak"].ok
    assert gates["soak"].detail == "v1 in staging: 0m of 1h00m soak without a critical alert"
    later = utcnow() + timedelta(hours=2)
    gates = {g.name: g for g in ops.plan_change(ws, "churn-propensity", "prod", version=1, now=later).gates}
    assert gates["soak"].ok and gates["soak"].detail.startswith("known-good in staging since")


# -- 5. optimistic concurrency ---------------------------------------------------------------------------


def test_a_stale_plan_is_a_conflict_and_nothing_is_done(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    plan = ops.plan_change(ws, "tumour-screening", "prod", action="rollback")
    other = ops.change(ws, "tumour-screening", "prod", action="rollback", actor="bob", origin="tui")
    assert other.state == "succeeded"
    before = audit_count(demo_url)
    hook_calls: list[Any] = []
    with pytest.raises(Conflict, match=r"tumour-screening/prod changed under you: it now runs v1 \(changed by bob"):
        ops.apply(ws, plan, actor="alice", origin="cli", run_hook=lambda h, v: hook_calls.append(v))
    assert hook_calls == [] and audit_count(demo_url) == before
    assert [r.requested_by for r in history(demo_url, "tumour-screening", "prod") if r.action == "rollback"] == ["bob"]

    # a change of the endpoint alone moves the revision too
    plan = ops.plan_change(ws, "tumour-screening", "prod", action="deploy", version=2)
    ops.deploy(ws, "tumour-screening", 1, "prod", actor="bob", origin="cli", endpoint_url="http://serving:8080")
    with pytest.raises(Conflict):
        ops.apply(ws, plan, actor="alice", origin="cli", run_hook=lambda h, v: hook_calls.append(v))
    assert hook_calls == [] and serving(demo_url, "tumour-screening")["prod"] == 1


def test_a_change_while_another_is_in_flight_is_refused_and_shown_as_pending(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    seen: dict[str, Any] = {}

    def hook(_hook: dict[str, Any], values: dict[str, Any]) -> hooks.HookResult:
        seen["plan"] = ops.plan_change(ws, "tumour-screening", "prod", action="rollback", version=1)
        _, rows = environment_matrix(ws)
        seen["cell"] = {r.model: r for r in rows}["tumour-screening"].cells["prod"]
        with pytest.raises(Refused, match="a change of tumour-screening/prod is already in progress"):
            ops.apply(ws, seen["plan"], actor="bob", origin="cli")
        return hooks.HookResult(True, "exit 0", "ok", "deployer", 0.1)

    result = ops.change(ws, "tumour-screening", "prod", action="rollback", actor="alice", origin="cli", run_hook=hook)
    assert result.state == "succeeded"
    assert seen["plan"].in_progress.startswith("v1 by alice since")
    assert (seen["cell"].version, seen["cell"].pending) == (2, 1)
    rows = history(demo_url, "tumour-screening", "prod")
    assert [(r.action, r.requested_by, r.state) for r in rows if r.action == "rollback"] == [
        ("rollback", "alice", "succeeded")]
    assert serving(demo_url, "tumour-screening")["prod"] == 1


WAIT_FOR_GO = ("import os, sys, time; end = time.time() + 20\n"
               "while not os.path.exists(sys.argv[1]) and time.time() < end: time.sleep(0.05)\n"
               "print('rolled out', sys.argv[2], 'v' + sys.argv[3])")


@pytest.mark.slow
def test_two_processes_racing_to_roll_back_one_wins_and_the_other_is_told(demo_url: str, tmp_path: Path) -> None:
    go = tmp_path / "go"
    set_hook(demo_url, "prod", {"command": [PY, "-c", WAIT_FOR_GO, str(go), "{model}", "{version}"], "timeout": 30})
    args = [PY, "-m", "fuseboard", "--db", demo_url, "rollback", "tumour-screening", "--env", "prod", "--to", "1",
            "--yes", "--wait", "0"]
    procs = {who: subprocess.Popen(args, env={**os.environ, "FUSEBOARD_USER": who}, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True) for who in ("alice", "bob")}
    try:
        deadline = time.monotonic() + 25
        # the hook of whoever won waits for the go file; the loser must be told off meanwhile
        while all(p.poll() is None for p in procs.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        go.touch()
        outcome = {who: (p.wait(timeout=30), *p.communicate()) for who, p in procs.items()}
    finally:
        go.touch()
        for p in procs.values():
            if p.poll() is None:
                p.kill()
    codes = sorted(code for code, _, _ in outcome.values())
    assert codes == [0, 1], outcome
    (winner,) = [who for who, (code, _, _) in outcome.items() if code == 0]
    (loser,) = [who for who, (code, _, _) in outcome.items() if code == 1]
    assert "rollback done: tumour-screening in prod now runs v1 (hook: exit 0)" in outcome[winner][1]
    told = outcome[loser][2].strip().splitlines()[-1]  # after the plan it was shown
    assert told.startswith("error: ") and ("already in progress" in told or "changed under you" in told), told
    rollbacks = [r for r in history(demo_url, "tumour-screening", "prod") if r.action == "rollback"]
    assert [(r.state, r.requested_by) for r in rollbacks] == [("succeeded", winner)]
    assert serving(demo_url, "tumour-screening")["prod"] == 1


def test_a_first_deploy_in_flight_blocks_a_second_one(demo_url: str, tmp_path: Path) -> None:
    import joblib
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from fuseboard.ops import registry

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    frame["y"] = (frame["a"] + rng.normal(size=200) > 0).astype(int)
    joblib.dump(LogisticRegression().fit(frame[["a", "b"]], frame["y"]), tmp_path / "fresh.joblib")
    frame.to_csv(tmp_path / "fresh.csv", index=False)
    ws = open_workspace(demo_url)
    registry.register(ws, registry.RegisterRequest(model="fresh", artifact=tmp_path / "fresh.joblib",
                                                   reference=tmp_path / "fresh.csv", target="y"),
                      actor="t", origin="cli")
    second: list[Any] = []

    def hook(_hook: dict[str, Any], values: dict[str, Any]) -> hooks.HookResult:
        try:
            second.append(ops.change(ws, "fresh", "dev", version=1, actor="bob", origin="cli"))
        except FuseboardError as exc:
            second.append(exc)
        return hooks.HookResult(True, "exit 0", "", "deployer", 0.1)

    first = ops.change(ws, "fresh", "dev", version=1, actor="alice", origin="cli", run_hook=hook)
    assert first.state == "succeeded"
    assert isinstance(second[0], (Refused, Conflict)), f"the second first deploy ran too: {second[0]}"


# -- 6. allow-list ---------------------------------------------------------------------------------------


def test_the_allow_list_refuses_other_users_and_audits_the_refusal(demo_url: str, isolated_home: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("--db", demo_url, "envs", "allow", "prod", "--users", "alice", "--yes").exit_code == 0
    envs = {e["name"]: e for e in json.loads(run("--db", demo_url, "envs", "--json").stdout)}
    assert envs["prod"]["allow"] == ["alice"] and envs["dev"]["allow"] is None
    assert "may change: alice" in run("--db", demo_url, "envs").output

    monkeypatch.setenv("FUSEBOARD_USER", "bob")
    refused = run("--db", demo_url, "rollback", "tumour-screening", "--env", "prod", "--yes", "--wait", "0")
    assert refused.exit_code == 1
    assert refused.output.strip().splitlines()[-1] == (
        "error: bob may not change prod (allowed: alice; `fuseboard envs allow`)")
    assert serving(demo_url, "tumour-screening")["prod"] == 2
    denied = events(demo_url, model="tumour-screening", env="prod")[0]
    assert (denied.action, denied.actor, denied.origin) == ("rollback.denied", "bob", "cli")
    assert "bob may not change prod" in denied.reason and denied.after == {"version": 1}
    assert not [r for r in history(demo_url, "tumour-screening", "prod") if r.action == "rollback"]

    dev = run("--db", demo_url, "deploy", "tumour-screening", "1", "--env", "dev", "--yes", "--wait", "0")
    assert dev.exit_code == 0, dev.output  # dev has no allow-list

    monkeypatch.setenv("FUSEBOARD_USER", "alice")
    allowed = run("--db", demo_url, "rollback", "tumour-screening", "--env", "prod", "--yes", "--wait", "0")
    assert allowed.exit_code == 0, allowed.output
    assert serving(demo_url, "tumour-screening")["prod"] == 1

    with pytest.raises(Refused, match=r"carol may not change prod \(allowed: alice"):
        ops.change(open_workspace(demo_url), "tumour-screening", "prod", action="deploy", version=2,
                   actor="carol", origin="api")


def test_a_user_off_the_allow_list_cannot_change_the_environments_settings(demo_url: str, isolated_home: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("--db", demo_url, "envs", "allow", "prod", "--users", "alice", "--yes").exit_code == 0
    monkeypatch.setenv("FUSEBOARD_USER", "bob")
    result = run("--db", demo_url, "envs", "set", "prod", "--unprotected", "--hook-command", '["/tmp/bobs-script"]')
    prod = json.loads(run("--db", demo_url, "envs", "--json").stdout)[2]
    assert (prod["protected"], prod["hook"]) == (True, {}), result.output
    assert result.exit_code == 1 and "bob may not change prod" in result.output


# -- 7. read-only ----------------------------------------------------------------------------------------


def test_read_only_refuses_every_change(demo_url: str, isolated_home: Path) -> None:
    before = audit_count(demo_url)
    for args in (["rollback", "tumour-screening", "--env", "prod", "--yes", "--wait", "0"],
                 ["promote", "credit-risk", "--to", "prod", "--override", "--reason", "r", "--yes"],
                 ["signoff", "credit-risk", "3", "--as", "it"],
                 ["envs", "set", "prod", "--unprotected"]):
        result = run("--db", demo_url, "--read-only", *args)
        assert result.exit_code == 1, args
        assert "not allowed with --read-only" in result.output, (args, result.output)

    config = isolated_home / "config" / "fuseboard" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("read_only = true\n")
    result = run("--db", demo_url, "rollback", "tumour-screening", "--env", "prod", "--yes", "--wait", "0")
    assert result.exit_code == 1 and "not allowed with --read-only" in result.output
    assert run("--db", demo_url, "history", "tumour-screening", "--env", "prod", "--json").exit_code == 0
    assert serving(demo_url, "tumour-screening")["prod"] == 2 and audit_count(demo_url) == before
