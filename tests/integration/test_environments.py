"""Environments: deploy hooks, gates and sign-offs, rollback, concurrency, allow-lists, convergence,
known-good versions and the hash-chained audit trail, as a user of the CLI and the operations sees them.

The demo workspace (tests/conftest.py): credit-risk (mission-critical) runs v1 in prod from 21 days
ago, v2 from 2 days ago, and v3 waits in staging with the business sign-off only; prod is protected.
tumour-screening and churn-propensity (internal) run v2 in prod after v1, and v2 in staging.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fuseboard.cli import cli
from fuseboard.errors import Conflict, FuseboardError, Refused, WorkspaceError
from fuseboard.monitoring import alerts, rollouts, scheduler
from fuseboard.ops import deploy as ops
from fuseboard.ops import hooks
from fuseboard.ops.environments import configure
from fuseboard.store import audit
from fuseboard.store.db import open_workspace
from fuseboard.store.models import AuditEvent, utcnow
from fuseboard.ops.views import (audit_events, deployment_health, environment_matrix, model_detail,
                                     rollout_history, serving_at)

PY = sys.executable
# hook scripts: no braces in them (a brace is a placeholder in hook.command)
OK_SCRIPT = "import sys; print('deploying', sys.argv[1], 'v' + sys.argv[2], 'to', sys.argv[3], 'as', sys.argv[4])"
FAIL_SCRIPT = ("import sys; print('pulling image for', sys.argv[1]); "
               "sys.stderr.write('boom: registry unreachable' + chr(10)); sys.exit(3)")


def run(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def serving(url: str, model: str) -> dict[str, int]:
    """environment -> the version recorded as serving there."""
    detail = model_detail(open_workspace(url), model)
    return {d.environment: d.version for d in detail.deployments}


def history(url: str, model: str, env: str) -> list[Any]:
    return rollout_history(open_workspace(url), model, env) or []


def events(url: str, **filters: Any) -> list[Any]:
    return audit_events(open_workspace(url), limit=1000, **filters)


def audit_count(url: str) -> int:
    return len(events(url))


def set_hook(url: str, env: str, hook: dict[str, Any], **settings: Any) -> None:
    configure(open_workspace(url), env, actor="tester", origin="cli", reason="test", hook=hook, **settings)


def command_hook(script: str, *extra: str, timeout: float = 10) -> dict[str, Any]:
    return {"command": [PY, "-c", script, *extra, "{model}", "{version}", "{env}", "{action}"], "timeout": timeout}


# -- local HTTP servers: a webhook that records what it receives, an endpoint that reports a version ---------


class _Webhook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.received.append(json.loads(body))  # type: ignore[attr-defined]
        status = self.server.status  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"rolled out" if status < 300 else b"deployer exploded: quota exceeded")

    def log_message(self, *args: object) -> None:
        pass


class _Endpoint(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        body = json.dumps({"status": "ok", "version": self.server.version}).encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook(http_server: Any) -> Any:
    return http_server(_Webhook, received=[], status=200)


@pytest.fixture
def endpoint(http_server: Any) -> Any:
    return http_server(_Endpoint, version="2")


# -- 1. hooks ---------------------------------------------------------------------------------------------


def test_a_succeeding_command_hook_records_the_new_version_with_its_output(demo_url: str) -> None:
    hook = json.dumps([PY, "-c", OK_SCRIPT, "{model}", "{version}", "{env}", "{action}"])
    configured = run("--db", demo_url, "envs", "set", "prod", "--hook-command", hook, "--hook-timeout", "10",
                     "--reason", "deploy through the deployer")
    assert configured.exit_code == 0, configured.output
    assert f"command {PY} -c" in configured.output and "(timeout 10s)" in configured.output
    envs = {e["name"]: e for e in json.loads(run("--db", demo_url, "envs", "--json").stdout)}
    assert envs["prod"]["hook"]["command"][-4:] == ["{model}", "{version}", "{env}", "{action}"]

    result = run("--db", demo_url, "rollback", "tumour-screening", "--env", "prod", "--yes", "--wait", "0")
    assert result.exit_code == 0, result.output
    assert "rollback done: tumour-screening in prod now runs v1 (hook: exit 0)" in result.output
    assert serving(demo_url, "tumour-screening")["prod"] == 1
    latest = history(demo_url, "tumour-screening", "prod")[0]
    assert (latest.action, latest.state, latest.from_version, latest.to_version, latest.hook_status) == (
        "rollback", "succeeded", 2, 1, "exit 0")
    assert "deploying tumour-screening v1 to prod as rollback" in latest.hook_output
    assert latest.hook.startswith(f"command {PY} -c") and latest.finished_at is not None
    actions = [e.action for e in events(demo_url, model="tumour-screening", env="prod")[:3]]
    assert actions == ["rollout.known_good_revoked", "rollback", "rollback.start"]  # v2 left: no longer known-good


def test_a_deploy_without_an_endpoint_says_so_as_a_note_not_an_alarm(demo_url: str) -> None:
    result = run("--db", demo_url, "deploy", "churn-propensity", "1", "--env", "dev", "--yes")
    assert result.exit_code == 0, result.output
    assert "note: no endpoint recorded; cannot confirm what it serves" in result.output
    assert "NOT CONFIRMED" not in result.output


def test_a_tampered_artifact_is_refused_before_any_hook_runs(demo_url: str) -> None:
    from fuseboard.store import lookup

    hook = json.dumps([PY, "-c", OK_SCRIPT, "{model}", "{version}", "{env}", "{action}"])
    assert run("--db", demo_url, "envs", "set", "prod", "--hook-command", hook, "--reason", "r").exit_code == 0
    ws = open_workspace(demo_url)
    with ws.session() as s:
        mv = lookup.version(s, lookup.model(s, "tumour-screening"), 1)
    artifact = ws.artifact_dir / mv.artifact_path
    artifact.write_bytes(artifact.read_bytes() + b"tampered")
    before = (len(history(demo_url, "tumour-screening", "prod")), len(events(demo_url)))
    result = run("--db", demo_url, "rollback", "tumour-screening", "--env", "prod", "--yes", "--wait", "0")
    assert result.exit_code != 0
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        f"error: artifact for v1 does not match its recorded sha256; refusing it ({artifact})"]
    assert serving(demo_url, "tumour-screening")["prod"] == 2  # nothing changed, nothing recorded
    assert (len(history(demo_url, "tumour-screening", "prod")), len(events(demo_url))) == before


def test_a_failing_hook_keeps_the_previous_version_and_a_retry_after_the_fix_succeeds(demo_url: str) -> None:
    set_hook(demo_url, "prod", command_hook(FAIL_SCRIPT))
    failed = run("--db", demo_url, "rollback", "tumour-screening", "--env", "prod", "--yes", "--wait", "0")
    assert failed.exit_code == 1
    assert "rollback FAILED: the hook said exit 3; tumour-screening in prod still runs v2" in failed.output
    assert "hook output (last lines):" in failed.output and "boom: registry unreachable" in failed.output
    assert serving(demo_url, "tumour-screening")["prod"] == 2
    latest = history(demo_url, "tumour-screening", "prod")[0]
    assert (latest.action, latest.state, latest.hook_status) == ("rollback", "failed", "exit 3")
    assert "pulling image for tumour-screening" in latest.hook_output and "boom" in latest.hook_output
    (event,) = [e for e in events(demo_url, model="tumour-screening") if e.action == "rollback.failed"]
    assert event.after["version"] == 2 and event.after["wanted"] == 1 and event.after["hook"] == "exit 3"
    assert "boom: registry unreachable" in event.after["output"]
    # nothing stays claimed: the environments matrix shows no change in flight
    _, rows = environment_matrix(open_workspace(demo_url))
    cell = {r.model: r for r in rows}["tumour-screening"].cells["prod"]
    assert (cell.version, cell.pending) == (2, None)

    set_hook(demo_url, "prod", command_hook(OK_SCRIPT))  # fixed: the retry runs the hook again
    retried = run("--db", demo_url, "rollback", "tumour-screening", "--env", "prod", "--yes", "--wait", "0")
    assert retried.exit_code == 0, retried.output
    assert "now runs v1 (hook: exit 0)" in retried.output
    assert serving(demo_url, "tumour-screening")["prod"] == 1
    states = [(r.action, r.state) for r in history(demo_url, "tumour-screening", "prod")[:2]]
    assert states == [("rollback", "succeeded"), ("rollback", "failed")]


def test_a_failing_deploy_hook_is_audited_as_deploy_failed(demo_url: str) -> None:
    set_hook(demo_url, "dev", command_hook(FAIL_SCRIPT))
    result = run("--db", demo_url, "deploy", "tumour-screening", "1", "--env", "dev", "--yes", "--wait", "0")
    assert result.exit_code == 1
    assert "deploy FAILED: the hook said exit 3; tumour-screening in dev still runs v2" in result.output
    assert serving(demo_url, "tumour-screening")["dev"] == 2
    assert [e.action for e in events(demo_url, model="tumour-screening", env="dev")[:2]] == [
        "deploy.failed", "deploy.start"]


def test_a_hook_past_its_timeout_fails_and_the_previous_version_keeps_serving(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    sleeper = "import time; print('starting the rollout', flush=True); time.sleep(10)"
    set_hook(demo_url, "prod", {"command": [PY, "-c", sleeper, "{model}"], "timeout": 0.5})
    start = time.monotonic()
    result = ops.change(ws, "tumour-screening", "prod", action="rollback", actor="tester", origin="cli")
    assert time.monotonic() - start < 5
    assert (result.state, result.hook_status) == ("failed", "timeout after 0.5s")
    assert "starting the rollout" in result.hook_output
    assert result.message() == ("rollback FAILED: the hook said timeout after 0.5s; tumour-screening in prod "
                                "still runs v2")
    assert serving(demo_url, "tumour-screening")["prod"] == 2
    assert history(demo_url, "tumour-screening", "prod")[0].hook_status == "timeout after 0.5s"


# the hook starts a helper (as a deploy script starts kubectl) and hangs; the helper finishes the change
# as soon as the hook is gone
HELPER = ("import os, sys, time; parent = os.getppid(); end = time.time() + 5\n"
          "while os.getppid() == parent and time.time() < end: time.sleep(0.02)\n"
          "open(sys.argv[1], 'w').write('deployed anyway')")
HANGING_HOOK = ("import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', sys.argv[1], sys.argv[2]], "
                "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); time.sleep(30)")


def test_a_timed_out_hook_leaves_nothing_of_it_running(tmp_path: Path) -> None:
    done = tmp_path / "deployed"
    hook = hooks.validate({"command": [PY, "-c", HANGING_HOOK, HELPER, str(done)], "timeout": 0.5})
    result = hooks.run(hook, {})
    assert result.status == "timeout after 0.5s"
    deadline = time.monotonic() + 1.5
    while not done.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not done.exists(), "a hook reported as timed out went on to finish its work"


def test_a_webhook_receives_the_change_and_its_answer_decides(demo_url: str, webhook: Any) -> None:
    ws = open_workspace(demo_url)
    set_hook(demo_url, "prod", {"webhook": webhook.url + "/deploy", "timeout": 5})
    webhook.status = 500
    failed = ops.change(ws, "tumour-screening", "prod", action="rollback", actor="tester", origin="cli")
    assert (failed.state, failed.hook_status) == ("failed", "HTTP 500")
    assert "deployer exploded" in failed.hook_output
    assert serving(demo_url, "tumour-screening")["prod"] == 2
    (body,) = webhook.received
    assert {k: body[k] for k in ("model", "version", "env", "action", "from_version")} == {
        "model": "tumour-screening", "version": 1, "env": "prod", "action": "rollback", "from_version": 2}
    assert body["artifact"].endswith(".joblib")

    webhook.status = 200
    done = ops.change(ws, "tumour-screening", "prod", action="rollback", actor="tester", origin="cli")
    assert (done.state, done.hook_status, done.hook_output) == ("succeeded", "HTTP 200", "rolled out")
    assert serving(demo_url, "tumour-screening")["prod"] == 1
    assert webhook.received[1] == webhook.received[0]  # a retry sends the same change again


def test_an_unreachable_webhook_fails_the_change(demo_url: str) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    set_hook(demo_url, "prod", {"webhook": f"http://127.0.0.1:{port}/deploy", "timeout": 2})
    result = ops.change(open_workspace(demo_url), "tumour-screening", "prod", action="rollback", actor="t",
                        origin="cli")
    assert result.state == "failed" and result.hook_status.startswith("failed:")
    assert serving(demo_url, "tumour-screening")["prod"] == 2


# -- 2. shell safety -------------------------------------------------------------------------------------


def test_hook_values_arrive_as_single_arguments_and_never_reach_a_shell(tmp_path: Path) -> None:
    out, canary = tmp_path / "argv.json", tmp_path / "pwned"
    writer = "import json, sys; open(sys.argv[1], 'w').write(json.dumps(sys.argv[2:]))"
    hook = hooks.validate({"command": [PY, "-c", writer, str(out), "{model}", "--version={version}", "{env}",
                                       "{artifact}", "{action}", "{from_version}"], "timeout": 10})
    values = {"model": f"m; touch {canary}", "version": f"$(touch {canary})", "env": f"`touch {canary}`",
              "artifact": f"it's \"quoted\" && touch {canary} | tee {canary} > {canary}",
              "action": "{version} {model!r} %s\n; touch " + str(canary), "from_version": None}
    result = hooks.run(hook, values)
    assert result.ok and result.status == "exit 0", result.output
    assert json.loads(out.read_text()) == [values["model"], f"--version={values['version']}", values["env"],
                                           values["artifact"], values["action"], ""]
    assert not canary.exists()
    assert json.loads(result.ran)[4:] == [values["model"], f"--version={values['version']}", values["env"],
                                          values["artifact"], values["action"], ""]


@pytest.mark.parametrize("arg", ["{secret}", "{0}", "{}", "{model.__class__}", "{model[0]}"])
def test_a_hook_command_takes_only_the_known_placeholders(demo_url: str, arg: str) -> None:
    result = run("--db", demo_url, "envs", "set", "prod", "--hook-command", json.dumps(["deployer", arg]))
    assert result.exit_code == 1
    assert result.output.startswith("error: unknown placeholder") and "hook.command" in result.output
    assert json.loads(run("--db", demo_url, "envs", "--json").stdout)[2]["hook"] == {}


@pytest.mark.parametrize("arg", ["a}b", "{"])
def test_a_lone_brace_in_a_hook_command_is_a_clear_error(demo_url: str, arg: str) -> None:
    result = run("--db", demo_url, "envs", "set", "prod", "--hook-command", json.dumps(["deployer", arg]))
    assert result.exit_code == 1
    assert "unexpected" not in result.output and "hook.command" in result.output


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


# -- 8. convergence --------------------------------------------------------------------------------------


def _on_endpoint(url: str, endpoint: Any, model: str = "tumour-screening", version: int = 2) -> None:
    result = ops.deploy(open_workspace(url), model, version, "prod", actor="t", origin="cli",
                        endpoint_url=endpoint.url)
    assert result.state == "succeeded" and result.message().startswith(f"endpoint of {model} in prod: - -> http")


def test_the_rollback_waits_until_the_endpoint_reports_the_new_version(demo_url: str, endpoint: Any) -> None:
    _on_endpoint(demo_url, endpoint)
    endpoint.version = "1"  # the serving system follows at once
    result = run("--db", demo_url, "rollback", "tumour-screening", "--env", "prod", "--yes", "--wait", "5")
    assert result.exit_code == 0, result.output
    assert "confirmed: endpoint reports v1" in result.output
    latest = history(demo_url, "tumour-screening", "prod")[0]
    assert latest.converged_at is not None and latest.converged_at >= latest.finished_at


def test_an_endpoint_that_keeps_the_old_version_is_converging_then_a_mismatch_alert(demo_url: str,
                                                                                    endpoint: Any) -> None:
    ws = open_workspace(demo_url)
    _on_endpoint(demo_url, endpoint)
    assert ops.change(ws, "tumour-screening", "prod", action="rollback", actor="t", origin="cli").state == "succeeded"
    waited = ops.wait_converged(ws, "tumour-screening", "prod", timeout=0.2, interval=0.1)
    assert not waited.ok and waited.reported == "2" and waited.expected == 1
    assert "the endpoint did not report v1 within 0.2 s; it reports v2" in waited.detail

    cycle = scheduler.run_cycle(ws, "health")  # within prod's 120 s convergence time
    assert cycle.alerts_changed == 0 and not alerts.list_alerts(ws)
    health = {c.check: c for c in deployment_health(ws, "tumour-screening", "prod").states}["health"]
    assert health.status == "ok" and health.summary.startswith("converging: endpoint still serves version 2")

    configure(ws, "prod", actor="t", origin="cli", converge_seconds=0)
    assert scheduler.run_cycle(ws, "health").alerts_changed == 1
    (alert,) = alerts.list_alerts(ws)
    assert (alert.model, alert.environment, alert.check, alert.severity) == ("tumour-screening", "prod", "health",
                                                                             "warn")
    assert alert.summary == "version mismatch: endpoint serves version 2, fuseboard records v1"
    assert history(demo_url, "tumour-screening", "prod")[0].converged_at is None

    endpoint.version = "1"
    assert scheduler.run_cycle(ws, "health").alerts_changed == 1  # resolved
    assert not alerts.list_alerts(ws)
    assert history(demo_url, "tumour-screening", "prod")[0].converged_at is not None


def test_the_convergence_time_is_measured_from_the_rollout(demo_url: str, endpoint: Any) -> None:
    ws = open_workspace(demo_url)
    _on_endpoint(demo_url, endpoint, "credit-risk", 2)
    ops.change(ws, "credit-risk", "prod", action="rollback", actor="t", origin="cli", reason="r")
    assert scheduler.run_cycle(ws, "health", now=utcnow() + timedelta(seconds=60)).alerts_changed == 0
    assert scheduler.run_cycle(ws, "health", now=utcnow() + timedelta(seconds=180)).alerts_changed == 1
    (alert,) = alerts.list_alerts(ws)
    assert alert.severity == "crit" and alert.summary.startswith("version mismatch")


# -- 9. known-good ---------------------------------------------------------------------------------------


T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)


@pytest.mark.parametrize(("ended", "critical", "now", "expected"), [
    (None, [], T0 + 2 * HOUR, T0 + HOUR),  # served its soak: known-good when the soak ended
    (None, [], T0 + HOUR / 2, None),  # still soaking
    (T0 + HOUR / 2, [], T0 + 2 * HOUR, None),  # replaced before its soak ended
    (None, [(T0 + HOUR / 6, T0 + HOUR / 3)], T0 + 2 * HOUR, None),  # a critical alert during the soak
    (None, [(T0 + HOUR / 6, None)], T0 + 2 * HOUR, None),  # one still open
    (None, [(T0 - HOUR, T0 + HOUR / 60)], T0 + 2 * HOUR, None),  # open when the rollout finished
    (None, [(T0 - 2 * HOUR, T0 - HOUR)], T0 + 2 * HOUR, T0 + HOUR),  # resolved before the rollout
    (None, [(T0 + 90 * HOUR / 60, None)], T0 + 2 * HOUR, T0 + HOUR),  # opened after the soak
])
def test_known_good_at(ended: datetime | None, critical: list[Any], now: datetime, expected: datetime | None) -> None:
    assert rollouts.known_good_at(T0, ended, HOUR, critical, now) == expected


def test_a_health_cycle_marks_a_rollout_known_good_after_its_soak(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    ops.change(ws, "tumour-screening", "prod", action="rollback", actor="t", origin="cli")
    scheduler.run_cycle(ws, "health")
    latest = history(demo_url, "tumour-screening", "prod")[0]
    assert latest.known_good_at is None  # still soaking

    scheduler.run_cycle(ws, "health", now=utcnow() + 2 * HOUR)
    latest = history(demo_url, "tumour-screening", "prod")[0]
    assert latest.known_good_at == latest.finished_at + HOUR
    event = events(demo_url, model="tumour-screening", env="prod")[0]
    assert (event.action, event.actor, event.origin) == ("rollout.known_good", "monitor", "monitor")
    assert event.after == {"version": 1, "rollout": latest.id, "soak_seconds": 3600}
    _, rows = environment_matrix(ws)
    assert {r.model: r for r in rows}["tumour-screening"].cells["prod"].known_good


def test_a_critical_alert_during_the_soak_keeps_a_rollout_from_becoming_known_good(demo_url: str,
                                                                                  endpoint: Any) -> None:
    ws = open_workspace(demo_url)
    _on_endpoint(demo_url, endpoint, "credit-risk", 2)
    configure(ws, "prod", actor="t", origin="cli", converge_seconds=0)
    ops.change(ws, "credit-risk", "prod", action="rollback", actor="t", origin="cli", reason="r")
    t = utcnow()
    assert scheduler.run_cycle(ws, "health", now=t + timedelta(minutes=1)).alerts_changed == 1  # crit mismatch
    endpoint.version = "1"
    assert scheduler.run_cycle(ws, "health", now=t + timedelta(minutes=2)).alerts_changed == 1  # resolved
    scheduler.run_cycle(ws, "health", now=t + 3 * HOUR)
    assert history(demo_url, "credit-risk", "prod")[0].known_good_at is None
    assert not [e for e in events(demo_url, model="credit-risk", env="prod", since=t)
                if e.action == "rollout.known_good"]


# -- 10. the audit trail ---------------------------------------------------------------------------------


def _sql(url: str, statement: str) -> None:
    """Change the database behind fuseboard's back, as someone with database access could."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(statement))
    engine.dispose()


def test_audit_verify_passes_on_the_demo_and_names_an_altered_event(demo_url: str, demo_path: Path) -> None:
    ok = run("--db", demo_url, "audit", "verify")
    total = audit_count(demo_url)
    assert ok.exit_code == 0 and ok.output.strip().startswith(f"audit chain intact: {total} events")
    middle = total // 2
    _sql(demo_url, f"UPDATE auditevent SET reason = 'nothing to see' WHERE id = {middle}")
    broken = run("--db", demo_url, "audit", "verify")
    assert broken.exit_code == 1
    assert broken.stderr.startswith(f"error: audit chain broken at event {middle} (")
    assert "was altered after it was written" in broken.stderr
    report = json.loads(run("--db", demo_url, "audit", "verify", "--json").stdout)
    assert report["ok"] is False and report["event_id"] == middle


def test_deleting_an_audit_event_breaks_the_chain(demo_url: str, demo_path: Path) -> None:
    middle = audit_count(demo_url) // 2
    _sql(demo_url, f"DELETE FROM auditevent WHERE id = {middle}")
    broken = run("--db", demo_url, "audit", "verify", "--json")
    assert broken.exit_code == 1
    report = json.loads(broken.stdout)
    # named by the anchor (a SQLite demo has one), else found at the broken link (tests/integration/test_audit_anchor.py)
    assert report["event_id"] in (middle, middle + 1) and "was removed" in report["problem"]


def test_changes_keep_the_chain_intact_and_the_orm_refuses_to_alter_events(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    ops.change(ws, "tumour-screening", "prod", action="rollback", actor="t", origin="cli")
    run("--db", demo_url, "signoff", "credit-risk", "3", "--as", "it")
    assert audit.verify(ws).ok
    with ws.session() as s:
        event = s.get(AuditEvent, 1)
        event.reason = "rewritten"
        s.add(event)
        with pytest.raises(WorkspaceError, match="append-only"):
            s.commit()
    with ws.session() as s:
        s.delete(s.get(AuditEvent, 2))
        with pytest.raises(WorkspaceError, match="append-only"):
            s.flush()
    assert audit.verify(ws).ok and events(demo_url)[-1].reason != "rewritten"


def test_audit_events_say_where_a_change_came_from(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "300")  # the table unwrapped
    monkeypatch.setenv("SSH_CONNECTION", "10.1.2.3 52144 10.0.0.5 22")
    assert run("--db", demo_url, "signoff", "credit-risk", "3", "--as", "it").exit_code == 0
    over_ssh = json.loads(run("--db", demo_url, "audit", "--target", "credit-risk", "--json", "--limit", "1").stdout)
    assert over_ssh[0]["action"] == "signoff" and over_ssh[0]["client"] == "ssh 10.1.2.3"
    monkeypatch.delenv("SSH_CONNECTION")
    assert run("--db", demo_url, "rollback", "tumour-screening", "--env", "prod", "--yes", "--wait", "0").exit_code == 0
    local = json.loads(run("--db", demo_url, "audit", "--target", "tumour-screening", "--json", "--limit", "1").stdout)
    assert local[0]["client"] == f"host {socket.gethostname()}" and local[0]["origin"] == "cli"
    assert "cli ssh 10.1.2.3" in run("--db", demo_url, "audit", "--target", "credit-risk@v3", "--wide").output
    assert audit.verify(open_workspace(demo_url)).ok


# -- 11. point in time -----------------------------------------------------------------------------------


def _prod_rollouts(url: str) -> tuple[Any, Any]:
    v2, v1 = history(url, "credit-risk", "prod")
    assert (v1.to_version, v2.to_version) == (1, 2)
    return v1, v2


def test_history_at_a_point_in_time(demo_url: str) -> None:
    v1, v2 = _prod_rollouts(demo_url)
    between = v1.finished_at + (v2.finished_at - v1.finished_at) / 2
    result = run("--db", demo_url, "history", "credit-risk", "--env", "prod", "--at", between.isoformat())
    assert result.exit_code == 0, result.output
    assert ": v1 (deploy by chloe, since" in result.output
    as_json = json.loads(run("--db", demo_url, "history", "credit-risk", "--env", "prod", "--at", between.isoformat(),
                             "--json").stdout)
    assert as_json["version"] == 1 and as_json["rollout"]["id"] == v1.id
    ten_days_ago = json.loads(run("--db", demo_url, "history", "credit-risk", "--env", "prod", "--at", "10d",
                                  "--json").stdout)
    assert ten_days_ago["version"] == 1
    now = json.loads(run("--db", demo_url, "history", "credit-risk", "--env", "prod", "--at",
                         datetime.now(timezone.utc).isoformat(), "--json").stdout)
    assert now["version"] == 2
    before = v1.finished_at - timedelta(days=1)
    nothing = run("--db", demo_url, "history", "credit-risk", "--env", "prod", "--at", before.isoformat())
    assert nothing.exit_code == 0 and nothing.output.startswith("nothing of credit-risk was serving in prod at")
    assert json.loads(run("--db", demo_url, "history", "credit-risk", "--env", "prod", "--at", before.isoformat(),
                          "--json").stdout)["version"] is None
    assert serving_at(open_workspace(demo_url), "credit-risk", "prod", v2.finished_at).to_version == 2


def test_history_after_a_rollback_and_a_failed_change(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "300")  # the table unwrapped
    ws = open_workspace(demo_url)
    ops.change(ws, "tumour-screening", "prod", action="rollback", actor="t", origin="cli")
    set_hook(demo_url, "prod", command_hook(FAIL_SCRIPT))
    failed = ops.change(ws, "tumour-screening", "prod", action="deploy", version=2, actor="t", origin="cli")
    assert failed.state == "failed"
    rows = json.loads(run("--db", demo_url, "history", "tumour-screening", "--env", "prod", "--json").stdout)
    assert [(r["action"], r["from_version"], r["to_version"], r["state"]) for r in rows] == [
        ("deploy", 1, 2, "failed"), ("rollback", 2, 1, "succeeded"), ("deploy", 1, 2, "succeeded"),
        ("deploy", None, 1, "succeeded")]
    assert rows[2]["ended_at"] is not None and rows[1]["ended_at"] is None  # the failed change ended nothing
    now = json.loads(run("--db", demo_url, "history", "tumour-screening", "--env", "prod", "--at",
                         datetime.now(timezone.utc).isoformat(), "--json").stdout)
    assert now["version"] == 1
    table = run("--db", demo_url, "history", "tumour-screening", "--env", "prod")
    assert table.exit_code == 0 and "v1→v2" in table.output and "exit 3" in table.output


def test_history_and_audit_take_ages_beyond_thirty_days(demo_url: str) -> None:
    result = run("--db", demo_url, "history", "credit-risk", "--env", "prod", "--at", "40d")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("nothing of credit-risk was serving in prod at")
    assert run("--db", demo_url, "audit", "--since", "40d").exit_code == 0


# -- 12. the audit listing's filters ---------------------------------------------------------------------


def test_audit_filters_by_model_environment_and_age(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    ops.change(ws, "credit-risk", "prod", action="rollback", actor="t", origin="cli", reason="incident 42")
    ops.change(ws, "credit-risk", "staging", action="rollback", version=2, actor="t", origin="cli")
    ops.change(ws, "tumour-screening", "prod", action="rollback", actor="t", origin="cli")
    result = run("--db", demo_url, "audit", "--model", "credit-risk", "--env", "prod", "--since", "1h", "--json",
                 "--limit", "500")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows and {r["target"] for r in rows} == {"credit-risk/prod"}
    hour_ago = utcnow() - HOUR
    assert all(datetime.fromisoformat(r["at"]) >= hour_ago for r in rows)
    assert [r["action"] for r in rows][:3] == ["rollout.known_good_revoked", "rollback", "rollback.start"]
    assert rows[1]["reason"] == "incident 42" and rows[1]["before"]["version"] == 2
    every = json.loads(run("--db", demo_url, "audit", "--model", "credit-risk", "--env", "prod", "--json",
                           "--limit", "500").stdout)
    older = [r for r in every if datetime.fromisoformat(r["at"]) < hour_ago]
    assert older and {r["action"] for r in older} >= {"deploy"}  # the demo's deploys, days ago
    assert len(every) == len(rows) + len(older)
    by_model = json.loads(run("--db", demo_url, "audit", "--model", "credit-risk", "--since", "1h", "--json",
                              "--limit", "500").stdout)
    assert {"credit-risk/prod", "credit-risk/staging"} <= {r["target"] for r in by_model}
    assert all(r["target"].startswith(("credit-risk/", "credit-risk@")) or r["target"] == "credit-risk"
               for r in by_model)
