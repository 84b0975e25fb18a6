"""Hardening of changes that destroy or create: confirmation, floors, audit, and no accidental workspaces."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from fuseboard.cli import cli


def run(*args: str, input: str | None = None):  # noqa: ANN201
    return CliRunner().invoke(cli, list(args), input=input)


@pytest.mark.parametrize("command", [["models"], ["models", "show", "credit-risk"], ["alerts"],
                                     ["alerts", "ack", "1"], ["silence", "credit-risk", "--env", "prod", "--for",
                                                              "1h", "--comment", "x", "--yes"],
                                     ["monitoring", "set", "credit-risk", "--min-rows", "5", "--yes"],
                                     ["compact"], ["backup", "copy.db"], ["audit"], ["envs", "set", "prod",
                                                                                     "--soak", "1h"]])
def test_a_mistyped_db_path_creates_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            command: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("--db", "sqlite:///typo.db", *command)
    assert result.exit_code == 1, result.output
    assert result.output.strip() == (f"error: no workspace at {tmp_path / 'typo.db'} (--db); create one with "
                                     "fuseboard register ... or fuseboard demo")
    assert sorted(os.listdir(tmp_path)) == []  # no database, no -wal/-shm, no artifact folder, no backup


def test_a_workspace_named_by_the_environment_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUSEBOARD_DB", f"sqlite:///{tmp_path / 'typo.db'}")
    result = run("models")
    assert result.exit_code == 1 and f"no workspace at {tmp_path / 'typo.db'} (FUSEBOARD_DB)" in result.output
    assert not (tmp_path / "typo.db").exists()


def test_register_and_teams_add_create_a_workspace_and_say_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    made = run("--db", url, "teams", "add", "ops", "--kind", "it-operations")
    assert made.exit_code == 0, made.output
    assert made.stderr.strip() == f"created a new workspace at {tmp_path / 'new.db'}"
    again = run("--db", url, "teams", "add", "ds", "--kind", "data-science")
    assert again.exit_code == 0 and again.stderr == ""  # only the first one created it
