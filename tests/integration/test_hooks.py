"""Environments: deploy hooks (a command or a webhook runs every change; its answer decides, its output
is recorded, a timeout or a failure keeps the previous version serving) and the shell safety of hook
commands (values arrive as single arguments, only the known placeholders), as a user of the CLI and the
operations sees them.

The demo workspace (tests/conftest.py): credit-risk (mission-critical) runs v1 in prod from 21 days
ago, v2 from 2 days ago, and v3 waits in staging with the business sign-off only; prod is protected.
tumour-screening and churn-propensity (internal) run v2 in prod after v1, and v2 in staging.
"""

from __future__ import annotations

import json
import socket
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from fuseboard.ops import deploy as ops
from fuseboard.ops import hooks
from fuseboard.store.db import open_workspace
from fuseboard.ops.views import environment_matrix
from tests.support.deploys import FAIL_SCRIPT, OK_SCRIPT, PY, command_hook, events, history, run, serving, set_hook


# -- a local HTTP server: a webhook that records what it receives -----------------------------------------


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


@pytest.fixture
def webhook(http_server: Any) -> Any:
    return http_server(_Webhook, received=[], status=200)


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
