"""Issue 13 (hardening), the HTTP and hook items: redirects and deadlines, secrets kept out of hooks and
records, hooks that do not let go, late answers, clearing a crashed change, per-model probe settings and
``deploy --wait``. Real local HTTP servers and real processes throughout.

The demo workspace (tests/conftest.py): credit-risk runs v3 in staging (v1, v2 exist);
tumour-screening runs v2 in prod after v1.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import signal
import subprocess
import sys
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner

from fuseboard.cli import cli
from fuseboard.errors import Refused
from fuseboard.monitoring import checks, scheduler, settings
from fuseboard.ops import deploy as ops
from fuseboard.ops import hooks, pending
from fuseboard.ops.environments import configure
from fuseboard.store.db import open_workspace
from fuseboard.store.models import utcnow
from fuseboard.ops.views import audit_events, model_detail, rollout_history

PY = sys.executable
SECRET = "tok-7f3a9c2e1b-do-not-leak"


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def serving(url: str, model: str, env: str) -> int:
    return {d.environment: d.version for d in model_detail(open_workspace(url), model).deployments}[env]


def history(url: str, model: str, env: str) -> list[Any]:
    return rollout_history(open_workspace(url), model, env) or []


def dump(url: str) -> str:
    """Every row of every table, as text."""
    from sqlalchemy import select
    from sqlmodel import SQLModel

    with open_workspace(url).engine.connect() as c:
        return "\n".join(repr(row) for table in SQLModel.metadata.sorted_tables for row in c.execute(select(table)))


class Recorder(BaseHTTPRequestHandler):
    """The other host: records every request (method, path, Authorization) and answers 200."""

    def _answer(self) -> None:
        self.server.hits.append((self.command, self.path, self.headers.get("Authorization")))  # type: ignore
        body = json.dumps({"version": "1"}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


class Redirector(BaseHTTPRequestHandler):
    """Answers everything with 302 to ``target``."""

    target = ""

    def _answer(self) -> None:
        self.server.hits.append((self.command, self.path, self.headers.get("Authorization")))  # type: ignore
        self.send_response(302)
        self.send_header("Location", type(self).target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = _answer  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


class Dripper(BaseHTTPRequestHandler):
    """Sends a status line, then one header every 0.3 s for 20 s: every single read is quick."""

    def _answer(self) -> None:
        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
        self.wfile.flush()
        for i in range(66):
            time.sleep(0.3)
            try:
                self.wfile.write(f"X-Drip-{i}: x\r\n".encode())
                self.wfile.flush()
            except OSError:
                return

    do_GET = do_POST = _answer  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def other_host(http_server: Any) -> Any:
    return http_server(Recorder)


@pytest.fixture
def redirect_to_other(http_server: Any, other_host: Any) -> Iterator[Any]:
    handler = type("R", (Redirector,), {"target": other_host.url + "/stolen"})
    with http_server(handler) as server:
        yield server


# -- item 2: redirects and deadlines --------------------------------------------------------------------


def test_a_deploy_webhook_answering_302_fails_naming_the_location_and_the_token_goes_nowhere_else(
        demo_url: str, redirect_to_other: Any, other_host: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUSEBOARD_HOOK_TOKEN", SECRET)
    ws = open_workspace(demo_url)
    configure(ws, "prod", hook={"webhook": redirect_to_other.url + "/deploy", "timeout": 5}, actor="t", origin="cli")
    result = run("--db", demo_url, "rollback", "tumour-screening", "--env", "prod", "--to", "1", "--yes",
                 "--wait", "0")
    assert result.exit_code == 1
    assert f"the hook said HTTP 302 -> {other_host.url}/stolen" in result.output
    assert other_host.hits == []  # not repeated as a GET to the other host, so no token reached it
    assert redirect_to_other.hits == [("POST", "/deploy", f"Bearer {SECRET}")]
    assert serving(demo_url, "tumour-screening", "prod") == 2
    assert history(demo_url, "tumour-screening", "prod")[0].state == "failed"


def test_the_alert_webhook_does_not_follow_a_redirect(redirect_to_other: Any, other_host: Any) -> None:
    from fuseboard.monitoring.outbox import Kind
    from fuseboard.monitoring.receivers import build

    from tests.support.receivers import spec

    (hook,) = build([spec("webhook", redirect_to_other.url + "/alerts")], {"FUSEBOARD_WEBHOOK_TOKEN": SECRET})
    attempt = hook.send({"event": Kind.FIRED.word, "id": "evt_1", "at": "2026-12-03T00:00:00+00:00",
                         "checkpoint": {"event": "fired", "alert": {"fingerprint": "fp-1"}}})
    assert not attempt.ok and attempt.permanent  # the same answer would come again: a dead letter, named
    assert f"HTTP 302 -> {other_host.url}/stolen" in attempt.error and SECRET not in attempt.error
    assert other_host.hits == [] and len(redirect_to_other.hits) == 1


def test_a_probe_answered_with_a_redirect_is_not_up_and_names_the_location(redirect_to_other: Any,
                                                                          other_host: Any) -> None:
    result = checks.probe(redirect_to_other.url, timeout=5)
    assert not result.up and result.status_code == 302
    assert f"HTTP 302 -> {other_host.url}/stolen" in result.error
    assert other_host.hits == []


@pytest.mark.slow
def test_a_server_dripping_headers_cannot_hold_a_webhook_or_a_probe_past_its_deadline(http_server: Any) -> None:
    from fuseboard import http

    with http_server(Dripper) as server:
        began = time.monotonic()
        answer = http.request("GET", server.url, deadline=1.0)
        assert answer.error == "timeout after 1s" and time.monotonic() - began < 3.0

        began = time.monotonic()
        result = hooks.run(hooks.validate({"webhook": server.url + "/deploy", "timeout": 1}), {"model": "m"})
        assert (result.ok, result.status) == (False, "timeout after 1s") and time.monotonic() - began < 3.0

        began = time.monotonic()
        probed = checks.probe(server.url, timeout=1.0)
        assert not probed.up and "timeout" in probed.error and time.monotonic() - began < 3.0


# -- item 3: secrets -------------------------------------------------------------------------------------


def test_a_command_hook_gets_a_clean_environment_with_explicit_opt_ins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUSEBOARD_HOOK_TOKEN", SECRET)
    monkeypatch.setenv("FUSEBOARD_WEBHOOK_TOKEN", SECRET + "-2")
    monkeypatch.setenv("DEPLOYER_API_SECRET", SECRET + "-3")
    monkeypatch.setenv("SOME_UNLISTED_VARIABLE", "unlisted")
    monkeypatch.setenv("LC_TIME", "C")
    monkeypatch.setenv("FUSEBOARD_HOOK_ENV_DEPLOY_REGION", "eu-west-1")
    script = "import json, os; print(json.dumps(dict(os.environ)))"
    result = hooks.run({"command": [PY, "-c", script], "timeout": 10}, {})
    env = json.loads(result.output)
    assert result.ok and SECRET not in result.output
    assert not {"FUSEBOARD_HOOK_TOKEN", "FUSEBOARD_WEBHOOK_TOKEN", "DEPLOYER_API_SECRET",
                "SOME_UNLISTED_VARIABLE"} & set(env)
    assert env["DEPLOY_REGION"] == "eu-west-1" and env["LC_TIME"] == "C" and env["PATH"] == os.environ["PATH"]


def test_a_secret_a_hook_prints_is_masked_in_json_history_and_the_audit_trail(
        demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUSEBOARD_HOOK_TOKEN", SECRET)
    leaky = tmp_path / "leaky.txt"  # what a careless hook prints: its own copy of the token
    leaky.write_text(f"Authorization: Bearer {SECRET}\n")
    script = f"import sys; print(open({str(leaky)!r}).read()); sys.exit(4)"
    configure(open_workspace(demo_url), "prod", hook={"command": [PY, "-c", script], "timeout": 10}, actor="t",
              origin="cli")
    outputs = [run("--db", demo_url, *args) for args in (
        ["rollback", "tumour-screening", "--env", "prod", "--to", "1", "--yes", "--wait", "0", "--json"],
        ["rollback", "tumour-screening", "--env", "prod", "--to", "1", "--yes", "--wait", "0"],
        ["history", "tumour-screening", "--env", "prod", "--json"], ["audit", "--json", "--limit", "500"])]
    assert outputs[0].exit_code == 1 and json.loads(outputs[0].stdout)["hook_output"].startswith(
        "Authorization: Bearer ****")
    assert "Authorization: Bearer ****" in outputs[1].output
    assert all(SECRET not in out.output for out in outputs)
    failed = [e for e in audit_events(open_workspace(demo_url), limit=100) if e.action == "rollback.failed"]
    assert failed and "Bearer ****" in failed[0].after["output"]
    assert SECRET not in dump(demo_url)


def test_a_webhook_answer_echoing_the_token_is_masked(demo_url: str, monkeypatch: pytest.MonkeyPatch,
                                                      http_server: Any) -> None:
    class Echo(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = f"refused: {self.headers.get('Authorization')}".encode()
            self.send_response(403)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    monkeypatch.setenv("FUSEBOARD_HOOK_TOKEN", SECRET)
    ws = open_workspace(demo_url)
    with http_server(Echo) as server:
        configure(ws, "prod", hook={"webhook": server.url, "timeout": 5}, actor="t", origin="cli")
        result = ops.change(ws, "tumour-screening", "prod", action="rollback", version=1, actor="t", origin="cli")
    assert (result.state, result.hook_status, result.hook_output) == ("failed", "HTTP 403", "refused: Bearer ****")
    assert SECRET not in dump(demo_url)


def test_a_secret_in_the_alert_webhook_query_is_refused_when_the_config_is_read(demo_url: str,
                                                                                isolated_home: Path) -> None:
    config = isolated_home / "config" / "fuseboard" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[notify]\nwebhook = "https://hooks.example/alerts?access_token={SECRET}"\n')
    result = run("--db", demo_url, "envs")
    assert result.exit_code == 1 and SECRET not in result.output
    assert result.output.startswith("error: [notify] webhook must not carry credentials (its query parameter "
                                    "'access_token')")


def test_a_webhook_stored_with_a_secret_before_the_check_is_never_sent_shown_or_audited(demo_url: str,
                                                                                       other_host: Any) -> None:
    from fuseboard.store.models import Environment

    ws = open_workspace(demo_url)
    with ws.transaction() as s:  # as an older release stored it, before such URLs were refused
        prod = s.exec(__import__("sqlmodel").select(Environment).where(Environment.name == "prod")).one()
        prod.hook = {"webhook": f"{other_host.url}/deploy?env=prod&token={SECRET}", "timeout": 5.0}
        s.add(prod)
    result = run("--db", demo_url, "rollback", "tumour-screening", "--env", "prod", "--yes", "--wait", "0")
    assert result.exit_code == 1 and other_host.hits == []  # not sent
    assert "refused: the webhook's URL carries a credential (query parameter 'token')" in result.output
    assert serving(demo_url, "tumour-screening", "prod") == 2
    shown = run("--db", demo_url, "envs").output + run("--db", demo_url, "envs", "--json").output
    assert "token=****" in shown and SECRET not in shown
    fixed = run("--db", demo_url, "envs", "set", "prod", "--hook-webhook", f"{other_host.url}/deploy",
                "--reason", "token out of the URL")
    assert fixed.exit_code == 0, fixed.output
    assert SECRET not in dump(demo_url)  # nor in the audit trail, the rollout or the settings


# -- item 11: hooks that do not let go -------------------------------------------------------------------


def _kill_later(pidfile: Path) -> None:
    deadline = time.monotonic() + 5
    while not pidfile.exists() or not pidfile.read_text().strip():
        if time.monotonic() > deadline:
            return
        time.sleep(0.02)
    try:
        os.kill(int(pidfile.read_text()), signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.mark.parametrize("background", ["setsid sleep 100", "nohup sleep 30"])
def test_a_hook_that_leaves_a_child_holding_its_output_returns_at_once_as_a_success(tmp_path: Path,
                                                                                    background: str) -> None:
    pidfile = tmp_path / "child.pid"
    script = f"{background} & echo $! > {pidfile}; echo handed over; exit 0"
    try:
        result = hooks.run({"command": ["sh", "-c", script], "timeout": 20}, {})
    finally:
        _kill_later(pidfile)
    assert (result.ok, result.status) == (True, "exit 0")  # not a timeout: the hook itself exited 0
    assert "handed over" in result.output
    assert result.seconds < 10  # it waited 100 s (or timed out at 20 s) before


def test_a_hook_that_floods_its_output_keeps_only_the_last_part_and_the_rollout_is_settled(demo_url: str) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    configure(open_workspace(demo_url), "prod", hook={"command": ["yes", "spam"], "timeout": 1}, actor="t",
              origin="cli")
    result = ops.change(open_workspace(demo_url), "tumour-screening", "prod", action="rollback", version=1,
                        actor="t", origin="cli")
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert (result.state, result.hook_status) == ("failed", "timeout after 1s")
    assert len(result.hook_output) < hooks.MAX_OUTPUT + 100 and result.hook_output.endswith("spam\n")
    assert "earlier bytes dropped" in result.hook_output
    assert grown_mb < 100, grown_mb
    assert [r.state for r in history(demo_url, "tumour-screening", "prod")][:1] == ["failed"]
    assert serving(demo_url, "tumour-screening", "prod") == 2


def test_when_fuseboard_itself_fails_while_the_hook_runs_the_rollout_is_recorded_failed(demo_url: str) -> None:
    def broken(hook: dict[str, Any], values: dict[str, Any]) -> hooks.HookResult:
        raise MemoryError("reading the hook's output")

    ws = open_workspace(demo_url)
    with pytest.raises(MemoryError):
        ops.change(ws, "tumour-screening", "prod", action="rollback", version=1, actor="t", origin="cli",
                   run_hook=broken)
    latest = history(demo_url, "tumour-screening", "prod")[0]
    assert latest.state == "failed" and "fuseboard failed while the hook ran (MemoryError" in latest.hook_status
    retry = ops.change(ws, "tumour-screening", "prod", action="rollback", version=1, actor="t", origin="cli")
    assert retry.state == "succeeded"  # not locked by a pending change


# -- item 10: a late answer ------------------------------------------------------------------------------


def test_a_late_success_of_an_abandoned_change_does_not_change_the_serving_version(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    configure(ws, "staging", hook={"command": ["true"], "timeout": 5}, actor="t", origin="cli")
    later: dict[str, Any] = {}

    def slow_then_ok(hook: dict[str, Any], values: dict[str, Any]) -> hooks.HookResult:
        # while A's hook hangs, B comes along after A's deadline: A is abandoned and B goes through
        later["b"] = ops.change(ws, "credit-risk", "staging", action="deploy", version=2, actor="bob", origin="cli",
                                now=utcnow() + timedelta(minutes=5),
                                run_hook=lambda h, v: hooks.HookResult(True, "exit 0", "", "", 0.1))
        return hooks.HookResult(True, "exit 0", "finally done", "", 400.0)  # A's hook answers at last

    a = ops.change(ws, "credit-risk", "staging", action="deploy", version=1, actor="alice", origin="cli",
                   run_hook=slow_then_ok)
    assert later["b"].state == "succeeded"
    assert serving(demo_url, "credit-risk", "staging") == 2  # B's version, not A's
    states = {r.to_version: r.state for r in history(demo_url, "credit-risk", "staging")[:2]}
    assert states == {2: "succeeded", 1: "abandoned"}
    assert (a.state, a.settled_as, a.ok) == ("late", "abandoned", False)
    assert "nothing changed on record" in a.message()
    assert any(e.action == "deploy.late" for e in audit_events(ws, limit=20))


# -- item 12: clearing a crashed change ------------------------------------------------------------------


def _crash_mid_hook(url: str, tmp_path: Path) -> None:
    """`fuseboard rollback` in its own process, killed with SIGKILL while its (long) hook runs."""
    started = tmp_path / "hook-started"
    hook = [PY, "-c", f"import pathlib, time; pathlib.Path({str(started)!r}).touch(); time.sleep(60)"]
    configure(open_workspace(url), "prod", hook={"command": hook, "timeout": 600}, actor="t", origin="cli")
    proc = subprocess.Popen([PY, "-c", "from fuseboard.cli import main; main()", "--db", url, "rollback",
                             "tumour-screening", "--env", "prod", "--to", "1", "--yes", "--wait", "0"],
                            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not started.exists():
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()


def test_a_crashed_change_can_be_cleared_by_hand_and_that_is_audited(demo_url: str, tmp_path: Path) -> None:
    _crash_mid_hook(demo_url, tmp_path)
    assert history(demo_url, "tumour-screening", "prod")[0].state == "pending"
    blocked = run("--db", demo_url, "rollback", "tumour-screening", "--env", "prod", "--to", "1", "--yes",
                  "--wait", "0")
    assert blocked.exit_code == 1 and "unchanged" not in blocked.output
    assert "a change of tumour-screening/prod is already in progress since" in blocked.output
    assert "(rollback to v1; pid " in blocked.output
    assert "clear it with `fuseboard changes clear tumour-screening --env prod --reason TEXT` (allowed now)" \
        in blocked.output

    no_reason = run("--db", demo_url, "changes", "clear", "tumour-screening", "--env", "prod", "--yes")
    assert no_reason.exit_code == 1 and "needs a reason (--reason)" in no_reason.output
    cleared = run("--db", demo_url, "changes", "clear", "tumour-screening", "--env", "prod", "--reason",
                  "the deploy box rebooted", "--yes")
    assert cleared.exit_code == 0, cleared.output
    assert "cleared: the rollback of tumour-screening to v1 in prod (requested by tester) is abandoned" \
        in cleared.output and "is gone" in cleared.output
    assert history(demo_url, "tumour-screening", "prod")[0].state == "abandoned"
    [event] = [e for e in audit_events(open_workspace(demo_url), limit=50) if e.action == "rollout.abandoned"]
    assert (event.actor, event.reason, event.after["state"]) == ("tester", "the deploy box rebooted", "abandoned")
    again = run("--db", demo_url, "changes", "clear", "tumour-screening", "--env", "prod", "--reason", "x", "--yes")
    assert again.exit_code == 1 and "nothing to clear" in again.output
    configure(open_workspace(demo_url), "prod", hook={}, actor="t", origin="cli")
    done = run("--db", demo_url, "rollback", "tumour-screening", "--env", "prod", "--to", "1", "--yes", "--wait", "0")
    assert done.exit_code == 0 and "now runs v1" in done.output


def test_a_change_still_running_cannot_be_cleared(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    configure(ws, "prod", hook={"command": ["true"], "timeout": 60}, actor="t", origin="cli")
    seen: dict[str, str] = {}

    def hook(h: dict[str, Any], v: dict[str, Any]) -> hooks.HookResult:
        with pytest.raises(Refused) as refused:  # this very process runs it, within its deadline
            pending.clear_pending(ws, "tumour-screening", "prod", actor="t", origin="cli", reason="impatient")
        seen["why"] = str(refused.value)
        return hooks.HookResult(True, "exit 0", "", "", 0.1)

    assert ops.change(ws, "tumour-screening", "prod", action="rollback", version=1, actor="t", origin="cli",
                      run_hook=hook).state == "succeeded"
    assert "may still be running (pid " in seen["why"] and "wait for it" in seen["why"]


# -- item 16: per-model probe settings, and deploy --wait -------------------------------------------------


class ReadyOnly(BaseHTTPRequestHandler):
    """Answers its version on /ready only; /health is 404."""

    version = "1"

    def do_GET(self) -> None:  # noqa: N802
        self.server.hits.append(self.path)  # type: ignore[attr-defined]
        ok = self.path == "/ready"
        body = json.dumps({"version": type(self).version}).encode() if ok else b"not here"
        self.send_response(200 if ok else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_the_models_probe_path_is_used_by_checks_wait_converged_and_reconcile(demo_url: str, http_server: Any) -> None:
    ws = open_workspace(demo_url)
    handler = type("H", (ReadyOnly,), {"version": "2"})
    with http_server(handler) as server:
        ops.deploy(ws, "tumour-screening", 2, "prod", actor="t", origin="cli", endpoint_url=server.url)
        settings.update(ws, "tumour-screening", {"probe_path": "/ready"}, actor="t", origin="cli")
        health = {(r.model, r.environment): r.checks[0] for r in checks.run_checks(ws, only={"health"})}
        assert health[("tumour-screening", "prod")].details["up"]

        handler.version = "1"
        configure(ws, "prod", hook={"command": ["true"], "timeout": 5}, actor="t", origin="cli")
        reconciled: dict[str, Any] = {}

        def crashed_hook(h: dict[str, Any], v: dict[str, Any]) -> hooks.HookResult:
            # the monitor, minutes later, settles the pending change from what /ready reports
            reconciled["results"] = ops.reconcile(ws, now=utcnow() + timedelta(minutes=5))
            return hooks.HookResult(False, "exit 1", "", "", 0.1)

        late = ops.change(ws, "tumour-screening", "prod", action="rollback", version=1, actor="t", origin="cli",
                          run_hook=crashed_hook)
        [settled] = reconciled["results"]
        assert settled.state == "succeeded" and "the endpoint reports v1" in settled.hook_status
        assert late.state == "late" and serving(demo_url, "tumour-screening", "prod") == 1

        waited = ops.wait_converged(ws, "tumour-screening", "prod", timeout=5, interval=0.1)
        assert waited.ok and waited.reported == "1"
        assert set(server.hits) == {"/ready"}  # /health was never asked


def test_deploy_wait_exits_1_when_the_endpoint_does_not_converge(demo_url: str, http_server: Any) -> None:
    handler = type("H", (ReadyOnly,), {"version": "2"})
    with http_server(handler) as server:
        ws = open_workspace(demo_url)
        ops.deploy(ws, "tumour-screening", 2, "prod", actor="t", origin="cli", endpoint_url=server.url)
        settings.update(ws, "tumour-screening", {"probe_path": "/ready"}, actor="t", origin="cli")
        result = run("--db", demo_url, "rollback", "tumour-screening", "--env", "prod", "--to", "1", "--yes",
                     "--wait", "1")
        assert result.exit_code == 1
        assert "rollback done: tumour-screening in prod now runs v1" in result.stdout
        assert "error: the endpoint did not report v1 within 1 s; it reports v2" in result.output

        # deploying v2 again, which it does report: confirmed, exit 0
        back = run("--db", demo_url, "deploy", "tumour-screening", "2", "--env", "prod", "--yes", "--wait", "5",
                   "--json")
        assert back.exit_code == 0, back.output
        assert json.loads(back.stdout)["converged"]["ok"] is True
