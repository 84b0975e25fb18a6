"""The command line: JSON for scripts, one-line errors, confirmations, every command documented."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fuseboard.cli import cli


def run(*args: str, input: str | None = None) -> object:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def test_every_command_has_help() -> None:
    result = run("--help")
    assert result.exit_code == 0
    commands = [line.split()[0] for line in result.output.split("Commands:")[1].strip().splitlines()]
    assert {"register", "models", "deploy", "demo", "teams", "audit", "envs"} <= set(commands)
    for command in commands + ["models show", "teams add"]:
        sub = run(*command.split(), "--help")
        assert sub.exit_code == 0 and "Usage:" in sub.output, command


def test_register_help_warns_that_loading_runs_code() -> None:
    assert "RUNS CODE" in run("register", "--help").output


def test_register_then_list_as_json(ws_url: str, credit_files) -> None:
    result = run("--db", ws_url, "register", "credit", "--artifact", str(credit_files["artifact"]),
                 "--reference", str(credit_files["reference"]), "--target", "default",
                 "--validation", str(credit_files["validation"]), "--criticality", "mission-critical")
    assert result.exit_code == 0, result.output
    assert "created model and registered credit v1" in result.output
    listing = run("--db", ws_url, "models", "--json")
    rows = json.loads(listing.output)
    assert [r["name"] for r in rows] == ["credit"]
    assert rows[0]["latest_version"] == 1 and rows[0]["criticality"] == "mission-critical"
    detail = json.loads(run("--db", ws_url, "models", "show", "credit", "--json").output)
    assert detail["versions"][0]["metrics"]["roc_auc"] > 0.5
    assert detail["audit"][0]["action"] == "version.register"


def test_database_from_environment_then_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               demo_url: str) -> None:
    monkeypatch.setenv("FUSEBOARD_DB", demo_url)
    assert len(json.loads(run("models", "--json").output)) == 5
    monkeypatch.delenv("FUSEBOARD_DB")
    config = tmp_path / "config" / "fuseboard" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'db = "{demo_url}"\n')
    assert len(json.loads(run("models", "--json").output)) == 5
    # --db wins over both
    from fuseboard.store.db import open_workspace

    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    open_workspace(empty).close()
    monkeypatch.setenv("FUSEBOARD_DB", demo_url)
    assert json.loads(run("--db", empty, "models", "--json").output) == []


def test_deploy_needs_confirmation_without_a_terminal(demo_url: str) -> None:
    result = CliRunner().invoke(cli, ["--db", demo_url, "deploy", "tumour-screening", "1", "--env", "dev"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith("error:") and "pass --yes" in result.output
    shown = json.loads(run("--db", demo_url, "models", "show", "tumour-screening", "--json").output)
    assert {d["environment"]: d["version"] for d in shown["deployments"]}["dev"] == 2


def test_deploy_with_yes_records_and_audits(demo_url: str) -> None:
    result = run("--db", demo_url, "deploy", "tumour-screening", "1", "--env", "dev", "--yes", "--reason", "try v1",
                 "--json", "--wait", "0")
    out = json.loads(result.output)
    assert {k: out[k] for k in ("model", "environment", "from_version", "to_version", "state", "hook_status")} == {
        "model": "tumour-screening", "environment": "dev", "from_version": 2, "to_version": 1,
        "state": "succeeded", "hook_status": "no hook"}
    events = json.loads(run("--db", demo_url, "audit", "--target", "tumour-screening", "--json").output)
    assert [e["action"] for e in events[:2]] == ["deploy", "deploy.start"] and events[0]["reason"] == "try v1"
    assert events[0]["before"]["version"] == 2 and events[0]["after"]["version"] == 1
    again = run("--db", demo_url, "deploy", "tumour-screening", "1", "--env", "dev", "--yes")
    assert "unchanged" in again.output


def test_deploy_can_change_only_the_endpoint(demo_url: str) -> None:
    result = run("--db", demo_url, "deploy", "credit-risk", "2", "--env", "prod", "--endpoint", "http://new:8080",
                 "--yes", "--reason", "new load balancer")
    assert "endpoint of credit-risk in prod: - -> http://new:8080" in result.output
    shown = json.loads(run("--db", demo_url, "models", "show", "credit-risk", "--json").output)
    prod = {d["environment"]: d for d in shown["deployments"]}["prod"]
    assert (prod["version"], prod["endpoint_url"]) == (2, "http://new:8080")


@pytest.mark.parametrize("args, message", [
    (["deploy", "credit-risk", "9", "--env", "prod", "--yes"], "has no version 9"),
    (["deploy", "nope", "1", "--env", "prod", "--yes"], "no model named 'nope'"),
    (["deploy", "credit-risk", "1", "--env", "moon", "--yes"], "no environment named 'moon'"),
    (["models", "show", "nope"], "no model named 'nope'"),
])
def test_errors_are_one_line_with_exit_1(demo_url: str, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["--db", demo_url, *args])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]


def test_read_only_refuses_changes(demo_url: str) -> None:
    result = CliRunner().invoke(cli, ["--db", demo_url, "--read-only", "deploy", "credit-risk", "3", "--env", "prod",
                                      "--yes"])
    assert result.exit_code == 1 and "--read-only" in result.output


def test_usage_error_is_one_line_with_exit_2() -> None:
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "fuseboard", "deploy"], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: Missing argument 'MODEL'. (see `fuseboard deploy --help`)"


def test_failed_register_on_a_fresh_machine_creates_no_workspace(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["register", "m", "--artifact", str(tmp_path / "none.joblib"),
                                      "--reference", str(tmp_path / "none.csv"), "--target", "y"])
    assert result.exit_code == 1 and "artifact not found" in result.output
    assert not (tmp_path / "data").exists()


def test_a_file_that_is_not_a_database_is_one_error_line(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.csv"
    bogus.write_text("a,b\n1,2\n")
    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{bogus}", "models"])
    assert result.exit_code == 1
    assert result.output.strip() == f"error: cannot open workspace: file is not a database (sqlite:///{bogus})"


def test_read_only_demo_never_builds(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--read-only", "demo", "--path", str(tmp_path / "d"), "--no-tui"])
    assert result.exit_code == 1 and "--read-only" in result.output
    assert not (tmp_path / "d").exists()


def test_teams_add_and_list(ws_url: str) -> None:
    assert run("--db", ws_url, "teams", "add", "ops", "--kind", "it-operations").exit_code == 0
    teams = json.loads(run("--db", ws_url, "teams", "--json").output)
    assert [(t["name"], t["kind"]) for t in teams] == [("ops", "it-operations")]
    dup = CliRunner().invoke(cli, ["--db", ws_url, "teams", "add", "ops", "--kind", "it-operations"])
    assert dup.exit_code == 1 and "already exists" in dup.output


def test_listing_a_missing_workspace_says_how_to_make_one(ws_url: str) -> None:
    result = CliRunner().invoke(cli, ["--db", ws_url, "models"])
    assert result.exit_code == 1 and "no workspace at" in result.output and "fuseboard demo" in result.output


def test_envs_json(ws_url: str) -> None:
    from fuseboard.store.db import open_workspace

    open_workspace(ws_url).close()
    envs = json.loads(run("--db", ws_url, "envs", "--json").output)
    assert [(e["name"], e["protected"]) for e in envs] == [("dev", False), ("staging", False), ("prod", True)]


@pytest.mark.slow
def test_demo_no_tui_builds_and_says_where(tmp_path: Path) -> None:
    result = run("demo", "--path", str(tmp_path / "d"), "--no-tui")
    assert result.exit_code == 0
    assert f"fuseboard --db sqlite:///{tmp_path / 'd' / 'demo.db'}" in result.output


def test_demo_refuses_a_folder_that_is_not_a_demo(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "precious.txt").write_text("keep me")
    result = CliRunner().invoke(cli, ["demo", "--path", str(tmp_path / "mine"), "--no-tui", "--reset"])
    assert result.exit_code == 1 and "not a fuseboard demo" in result.output
    assert (tmp_path / "mine" / "precious.txt").read_text() == "keep me"


def test_demo_with_db_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--db", "sqlite:///x.db", "demo", "--no-tui"])
    assert result.exit_code == 1 and "builds its own workspace" in result.output
