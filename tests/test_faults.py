"""Faults: a change whose process is killed mid-hook is reconciled, never recorded as done when it was not."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import pytest

from fuseboard.ops import deploy, environments
from fuseboard.store.db import open_workspace
from fuseboard.store.models import utcnow
from fuseboard.store.queries import environment_matrix, rollout_history


class Endpoint(BaseHTTPRequestHandler):
    version = "2"

    def do_GET(self) -> None:  # noqa: N802
        body = json.dumps({"version": type(self).version}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def endpoint():  # noqa: ANN201
    handler = type("H", (Endpoint,), {"version": "2"})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    Thread(target=server.serve_forever, daemon=True).start()
    yield server, handler
    server.shutdown()


def serving(url: str) -> int:
    ws = open_workspace(url)
    _, rows = environment_matrix(ws)
    return next(r for r in rows if r.model == "tumour-screening").cells["prod"].version


def kill_mid_hook(url: str, tmp_path: Path) -> None:
    """`fuseboard rollback` in its own process, killed with SIGKILL while its hook runs."""
    started = tmp_path / "hook-started"
    hook = [sys.executable, "-c", f"import pathlib, time; pathlib.Path({str(started)!r}).touch(); time.sleep(60)"]
    environments.configure(open_workspace(url), "prod", hook={"command": hook, "timeout": 1}, actor="t", origin="cli")
    proc = subprocess.Popen([sys.executable, "-c", "from fuseboard.cli import main; main()", "--db", url, "rollback",
                             "tumour-screening", "--env", "prod", "--to", "1", "--yes", "--wait", "0"],
                            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not started.exists():
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its hook, mid-hook
    proc.wait()
    [pending] = [r for r in rollout_history(open_workspace(url), "tumour-screening", "prod") if r.state == "pending"]
    assert pending.to_version == 1 and serving(url) == 2  # not recorded as done


@pytest.mark.parametrize("endpoint_reports, outcome, now_serving", [("1", "succeeded", 1), ("2", "failed", 2)])
def test_a_change_killed_mid_hook_is_reconciled_from_the_endpoint(demo_url: str, tmp_path: Path, endpoint,  # noqa: ANN001
                                                                   endpoint_reports: str, outcome: str,
                                                                   now_serving: int) -> None:
    server, handler = endpoint
    ws = open_workspace(demo_url)
    deploy.deploy(ws, "tumour-screening", 2, "prod", actor="t", origin="cli",
                  endpoint_url=f"http://127.0.0.1:{server.server_address[1]}")
    kill_mid_hook(demo_url, tmp_path)
    assert deploy.reconcile(ws) == []  # too early: the hook might still be running somewhere
    handler.version = endpoint_reports  # did the serving system follow before the process died?
    [result] = deploy.reconcile(ws, now=utcnow() + timedelta(minutes=2))
    assert result.state == outcome and "the process running the hook stopped" in result.hook_status
    assert serving(demo_url) == now_serving
    latest = rollout_history(ws, "tumour-screening", "prod")[0]
    assert latest.state == outcome
    assert deploy.reconcile(ws, now=utcnow() + timedelta(minutes=5)) == []  # settled once
    # and the deployment takes changes again
    retry = deploy.change(ws, "tumour-screening", "prod", action="rollback", version=1, actor="t", origin="cli",
                          run_hook=lambda hook, values: __import__("fuseboard.ops.hooks", fromlist=["x"]).HookResult(
                              True, "exit 0", "", "", 0.0))
    assert retry.state in ("succeeded", "unchanged")


class Misbehaving(BaseHTTPRequestHandler):
    """One endpoint per path: /ok, /hang (never answers), /slow (answers after 5 s), /500, /garbage, /wrong."""

    def do_GET(self) -> None:  # noqa: N802
        kind = self.path.strip("/").split("/")[0]
        if kind in ("hang", "slow"):
            time.sleep(5 if kind == "slow" else 30)
        if kind == "500":
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = {"garbage": b"\x00\xff<html>not json", "wrong": b'{"version": "9"}'}.get(kind, b'{"version": "2"}')
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_misbehaving_endpoints_give_the_right_state_within_the_timeout(demo_url: str) -> None:
    from sqlmodel import select

    from fuseboard.monitoring import checks
    from fuseboard.store.models import Deployment, Environment, Model

    server = ThreadingHTTPServer(("127.0.0.1", 0), Misbehaving, bind_and_activate=False)
    server.request_queue_size = 128  # a real server's backlog (the default 5 drops connects under 15 probes)
    server.server_bind()
    server.server_activate()
    server.daemon_threads = True
    Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    kinds = {"churn-propensity": "hang", "credit-risk": "slow", "demand-forecast": "500",
             "disease-progression": "garbage", "tumour-screening": "wrong"}
    ws = open_workspace(demo_url)
    with ws.transaction() as s:  # every prod endpoint misbehaves its own way; dev endpoints are fine
        for dep, model, env in s.exec(select(Deployment, Model, Environment)
                                      .join(Model, Model.id == Deployment.model_id)
                                      .join(Environment, Environment.id == Deployment.environment_id)):
            dep.endpoint_url = f"{base}/{kinds[model.name] if env.name == 'prod' else 'ok'}"
            s.add(dep)
    refused = checks.probe("http://127.0.0.1:9", timeout=1)
    assert not refused.up and refused.error
    began = time.monotonic()
    results = checks.run_checks(ws, policy=checks.Policy(probe_timeout=1.0), only={"health"})
    took = time.monotonic() - began
    assert took < 4, took  # probes run side by side, each within its timeout: a hang delays nothing else
    health = {(r.model, r.environment): r.checks[0] for r in results}
    for model, kind in kinds.items():
        details = health[(model, "prod")].details
        if kind in ("hang", "slow", "500"):
            assert not details["up"], (model, details)
        elif kind == "garbage":
            assert details["up"] and details["version"] is None
        else:
            assert health[(model, "prod")].summary.startswith("version mismatch: endpoint serves version 9")
        assert details["up"] or details["error"] or details["status_code"]
    assert all(health[(m, "dev")].details["up"] for m in kinds)
    server.shutdown()
