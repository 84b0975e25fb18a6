"""Who may change an environment: the allow-list lives in the workspace and changes only through
`fuseboard envs allow` (audited); identity is the OS login unless the workspace allows FUSEBOARD_USER
(the demo does). Neither FUSEBOARD_USER, another config file nor a Python caller's actor= gets past it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fuseboard.cli import cli
from fuseboard.errors import Refused
from fuseboard.ops import deploy
from fuseboard.store.audit import os_user
from fuseboard.store.db import open_workspace
from fuseboard.ops.views import audit_events, model_detail

ME = os_user()


def run(*args: str, user: str | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), env={"FUSEBOARD_USER": user} if user else None)


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return result


def one_error(result: Any, *fragments: str) -> str:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def refused(result: Any, *fragments: str) -> str:
    """A change refused after its plan was shown: exit 1, the last line the error."""
    assert result.exit_code == 1, result.output
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("error: ") and all(f in line for f in fragments), result.output
    return line


def prod_version(url: str) -> int:
    return {d.environment: d.version for d in model_detail(open_workspace(url), "tumour-screening").deployments}["prod"]


def last_event(url: str) -> Any:
    return audit_events(open_workspace(url), limit=1)[0]


@pytest.fixture
def locked(demo_url: str) -> str:
    """The demo with identity from the OS login and prod changeable by alice only."""
    ok(run("--db", demo_url, "workspace", "identity", "--no-override", "--reason", "real identities", "--yes"))
    ok(run("--db", demo_url, "envs", "allow", "prod", "--users", "alice", "--reason", "CAB-7", "--yes"))
    return demo_url


def test_fuseboard_user_does_not_get_past_the_allow_list(locked: str) -> None:
    before = prod_version(locked)
    line = refused(run("--db", locked, "rollback", "tumour-screening", "--env", "prod", "--yes", "--wait", "0",
                       user="alice"))
    assert line == (f"error: {ME} may not change prod (allowed: alice; `fuseboard envs allow`); FUSEBOARD_USER=alice "
                    "is ignored: this workspace takes identity from the OS login")
    assert prod_version(locked) == before
    denied = last_event(locked)
    assert (denied.action, denied.actor) == ("rollback.denied", ME)


def test_a_python_caller_naming_another_actor_is_checked_as_who_it_runs_as(locked: str) -> None:
    with pytest.raises(Refused, match=f"{ME} may not change prod"):
        deploy.change(open_workspace(locked), "tumour-screening", "prod", action="rollback", actor="alice",
                      origin="api")
    assert last_event(locked).actor == ME


def test_another_config_file_cannot_widen_the_list(locked: str, isolated_home: Path) -> None:
    config = isolated_home / "config" / "fuseboard" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'[environments.prod]\nallow = ["{ME}"]\n')  # the old place of allow-lists
    line = refused(run("--db", locked, "rollback", "tumour-screening", "--env", "prod", "--yes", "--wait", "0"))
    assert "[environments.prod] allow in the config file is no longer read (the workspace's list is alice)" in line
    assert f"`fuseboard envs allow prod --users {ME} --reason ... --yes`" in line
    one_error(run("--db", locked, "envs", "set", "prod", "--unprotected"), "is no longer read")
    assert json.loads(run("--db", locked, "envs", "--json").stdout)[2]["protected"] is True


def test_only_someone_on_the_list_may_change_it_and_every_change_is_audited(locked: str) -> None:
    event = last_event(locked)
    assert (event.action, event.target, event.before, event.after, event.reason) == (
        "environment.allow", "prod", {"allow": None}, {"allow": ["alice"]}, "CAB-7")
    one_error(run("--db", locked, "envs", "allow", "prod", "--users", f"alice,{ME}", "--yes"),
              f"{ME} may not change prod (allowed: alice")
    assert last_event(locked).action == "environment.denied"
    envs = {e["name"]: e["allow"] for e in json.loads(run("--db", locked, "envs", "--json").stdout)}
    assert envs == {"dev": None, "staging": None, "prod": ["alice"]}
    # on the list: may change it, and give it back to anyone
    ok(run("--db", locked, "envs", "allow", "staging", "--users", ME, "--yes"))
    assert ok(run("--db", locked, "envs", "allow", "staging", "--anyone", "--yes")).output == \
        "staging: anyone may change it\n"
    assert last_event(locked).after == {"allow": None}


def test_identity_override_cannot_be_turned_on_by_someone_off_a_list(locked: str) -> None:
    one_error(run("--db", locked, "workspace", "identity", "--allow-override", "--yes"),
              f"{ME} may not allow identity overrides", "prod")
    shown = json.loads(ok(run("--db", locked, "workspace", "identity", "--json", user="alice")).stdout)
    assert shown == {"identity_override": False, "os_user": ME, "acting_as": ME}


def test_the_demo_lets_fuseboard_user_name_its_people(demo_url: str) -> None:
    shown = json.loads(ok(run("--db", demo_url, "workspace", "identity", "--json", user="chloe")).stdout)
    assert shown["identity_override"] is True and shown["acting_as"] == "chloe"
    ok(run("--db", demo_url, "envs", "allow", "prod", "--users", "chloe", "--yes", user="chloe"))
    refused(run("--db", demo_url, "rollback", "tumour-screening", "--env", "prod", "--yes", "--wait", "0", user="ana"),
            "ana may not change prod (allowed: chloe")
    ok(run("--db", demo_url, "rollback", "tumour-screening", "--env", "prod", "--yes", "--wait", "0", user="chloe"))


@pytest.mark.parametrize("args, message", [
    (["--users", "alice", "--anyone"], "give one of --users a,b and --anyone"),
    ([], "give one of --users a,b and --anyone"),
    (["--users", ""], "--users needs at least one login name"),
    (["--users", "alice,alice"], "the users list someone twice (--users)"),
    (["--users", "al ice"], "the users must be distinct login names"),
    (["--users", "eve\x1b[2J"], "login names separated by commas, not 'eve\\x1b[2J' (--users)"),
])
def test_envs_allow_refuses_bad_lists(demo_url: str, args: list[str], message: str) -> None:
    one_error(run("--db", demo_url, "envs", "allow", "prod", *args, "--yes"), message)
    assert json.loads(run("--db", demo_url, "envs", "--json").stdout)[2]["allow"] is None


def test_a_new_workspace_takes_identity_from_the_os_login(ws_url: str, credit_files: dict[str, Path]) -> None:
    ok(run("--db", ws_url, "register", "scoring", "--artifact", str(credit_files["artifact"]), "--reference",
           str(credit_files["reference"]), "--target", "default", user="mallory"))
    assert last_event(ws_url).actor == ME


def test_clearing_a_pending_change_needs_the_allow_list_too(demo_url: str) -> None:
    ok(run("--db", demo_url, "envs", "allow", "prod", "--users", "chloe", "--yes", user="chloe"))
    one_error(run("--db", demo_url, "changes", "clear", "tumour-screening", "--env", "prod", "--reason", "stuck",
                  "--yes", user="bob"), "bob may not change prod (allowed: chloe")
    assert (last_event(demo_url).action, last_event(demo_url).actor) == ("environment.denied", "bob")
    one_error(run("--db", demo_url, "changes", "clear", "tumour-screening", "--env", "prod", "--reason", "stuck",
                  "--yes", user="chloe"), "nothing to clear")
