"""Secrets (webhook tokens) come from the environment or the config file and are never shown or audited."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from click.testing import CliRunner

from fuseboard.cli import cli
from fuseboard.ops import hooks
from fuseboard.store.db import open_workspace

SECRET = "s3cr3t-t0ken-do-not-leak"


def test_webhook_hook_sends_the_environment_token_in_a_header_only(monkeypatch: pytest.MonkeyPatch,
                                                                   http_server) -> None:  # noqa: ANN001
    seen: dict[str, str] = {}

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            seen["auth"] = self.headers.get("Authorization", "")
            seen["body"] = self.rfile.read(int(self.headers["Content-Length"])).decode()
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http_server(Hook)
    monkeypatch.setenv("FUSEBOARD_HOOK_TOKEN", SECRET)
    hook = hooks.validate({"webhook": f"{server.url}/deploy", "timeout": 5})
    result = hooks.run(hook, {"model": "m", "version": 2, "env": "prod"})
    server.shutdown()
    assert result.ok and seen["auth"] == f"Bearer {SECRET}"
    assert SECRET not in seen["body"] and SECRET not in result.ran and SECRET not in hooks.describe(hook)


def test_the_notify_token_never_reaches_audit_json_or_listings(demo_url: str, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config" / "fuseboard" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'[notify]\nwebhook = "http://127.0.0.1:9/alerts"\ntoken = "{SECRET}"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("FUSEBOARD_HOOK_TOKEN", SECRET)
    runner = CliRunner()
    outputs = [runner.invoke(cli, ["--db", demo_url, *args]).output for args in (
        ["envs", "set", "staging", "--hook-webhook", "http://127.0.0.1:9/deploy", "--reason", "r"],
        ["rollback", "churn-propensity", "--env", "staging", "--to", "1", "--yes", "--wait", "0", "--json"],
        ["envs", "--json"], ["audit", "--json", "--limit", "500"], ["alerts", "--json"], ["models", "--json"],
        ["history", "churn-propensity", "--env", "staging", "--json"], ["check", "--no-probe", "--json"])]
    assert all(SECRET not in out for out in outputs)
    ws = open_workspace(demo_url)
    with ws.engine.connect() as c:  # nowhere in the database either
        from sqlalchemy import select as select_all
        from sqlmodel import SQLModel

        dump = "\n".join(repr(row) for table in SQLModel.metadata.sorted_tables
                          for row in c.execute(select_all(table)))
    assert SECRET not in dump
    assert json.loads(outputs[2])[1]["hook"] == {"webhook": "http://127.0.0.1:9/deploy", "timeout": 60.0}


@pytest.mark.parametrize("url", ["postgresql://fuse:S3cretPw@[::1/fuseboard", "postgresql://fuse:S3cretPw@db:port/fb",
                                 "postgresql://fuse:S3cretPw@db:99999999/fb"])
def test_a_malformed_database_url_is_named_without_its_password(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for args, env in ((["--db", url, "models"], {}), (["models"], {"FUSEBOARD_DB": url})):
        result = CliRunner().invoke(cli, args, env=env)
        assert result.exit_code == 1
        line = result.output.strip()
        assert line.startswith("error: ") and "S3cretPw" not in line, line
        assert "fuse:***@" in line


@pytest.mark.parametrize("endpoint", ["http://svc:Pa55word@127.0.0.1:8080/", "http://127.0.0.1:8080/?token=Pa55word",
                                      "http://svc:Pa55word@127.0.0.1:99999/"])
def test_an_endpoint_carrying_credentials_is_refused_before_it_is_stored_or_audited(demo_url: str,
                                                                                    endpoint: str) -> None:
    """The probe never sends them; stored, they would be shown in every listing and kept in the audit chain."""
    result = CliRunner().invoke(cli, ["--db", demo_url, "deploy", "credit-risk", "3", "--env", "dev", "--endpoint",
                                      endpoint, "--yes", "--wait", "0"])
    assert result.exit_code == 1
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("error: ") and line.endswith("(endpoint)") and "Pa55word" not in line, line
    assert "Pa55word" not in CliRunner().invoke(cli, ["--db", demo_url, "audit", "--json"]).output
    assert "Pa55word" not in CliRunner().invoke(cli, ["--db", demo_url, "models", "show", "credit-risk"]).output
