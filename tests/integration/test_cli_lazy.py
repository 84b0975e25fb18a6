"""The command line by domain behind a lazy root group (issue 15, point 4): ``--help`` lists every command
from a static table without importing the command modules, the table says what each docstring says,
a command imports only its own module, ``fuseboard silence`` still runs ``alerts silence``, every
``--yes`` asks something, and the core's error fields come out as flags."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from fuseboard.cli import cli
from fuseboard.cli.base import with_flag
from fuseboard.cli.lazy import COMMANDS, load
from fuseboard.errors import FuseboardError

CLI_DIR = Path(__file__).resolve().parents[2] / "src" / "fuseboard" / "cli"
DOMAINS = sorted({entry.target.partition(":")[0] for entry in COMMANDS.values()})
HEAVY = ["sqlalchemy", "sqlmodel", "numpy", "pandas", "sklearn", "scipy", "textual", "rich.console",
         "fuseboard.store", "fuseboard.ops"]


def run(*args: str) -> click.testing.Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def loaded_after(*args: str) -> set[str]:
    """The modules a fresh interpreter holds after ``fuseboard ARGS`` (in-process, through Click)."""
    code = ("import sys\nfrom click.testing import CliRunner\nfrom fuseboard.cli import cli\n"
            f"result = CliRunner().invoke(cli, {list(args)!r})\nassert result.exit_code == 0, result.output\n"
            "print('\\n'.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def summary(command: click.Command) -> str:
    """The first paragraph of a command's docstring on one line (what Click shortens for ``--help``)."""
    return " ".join(inspect.cleandoc(command.help or "").partition("\n\n")[0].split())


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_help_table_says_what_each_command_docstring_says(name: str) -> None:
    command = load(name)
    assert COMMANDS[name].summary == summary(command)


def test_help_lists_every_visible_command_and_imports_no_command_module() -> None:
    listed = run("--help").output.split("Commands:")[1].split()
    assert {name for name, entry in COMMANDS.items() if not entry.hidden} <= set(listed)
    assert "silence" not in listed  # the alias runs, it is not listed
    modules = loaded_after("--help")
    assert not [m for m in DOMAINS if m in modules]
    assert not [m for m in modules for heavy in HEAVY if m == heavy or m.startswith(heavy + ".")]


def test_a_command_imports_its_own_module_only() -> None:
    modules = loaded_after("models", "--help")
    assert "fuseboard.cli.models" in modules
    assert [m for m in DOMAINS if m in modules] == ["fuseboard.cli.models"]


def test_importing_the_entry_point_is_light() -> None:
    out = subprocess.run([sys.executable, "-c", "import sys; from fuseboard.cli import main; "
                          "print('\\n'.join(sorted(sys.modules)))"], capture_output=True, text=True, check=True)
    modules = set(out.stdout.split())
    assert not [m for m in modules for heavy in HEAVY if m == heavy or m.startswith(heavy + ".")]


def test_silence_is_under_alerts_and_the_top_level_spelling_still_works(demo_url: str) -> None:
    assert "silence" in run("alerts", "--help").output.split("Commands:")[1]
    old = run("--db", demo_url, "silence", "credit-risk", "--env", "dev", "--for", "1h", "--comment", "retraining")
    new = run("--db", demo_url, "alerts", "silence", "credit-risk", "--env", "staging", "--for", "1h",
              "--comment", "retraining")
    assert old.exit_code == new.exit_code == 0, (old.output, new.output)
    numbered = re.compile(r"silence \d+")  # each says which silence it made
    assert numbered.sub("#", old.output.replace(" dev ", " staging ")) == numbered.sub("#", new.output)
    assert old.output.startswith("silenced all checks of credit-risk in dev until ")
    bad = [run("--db", demo_url, *where, "credit-risk", "--env", "dev", "--for", "1h", "--comment", " ")
           for where in (["silence"], ["alerts", "silence"])]
    assert bad[0].exit_code == bad[1].exit_code != 0 and bad[0].output == bad[1].output


def walk(group: click.Group, ctx: click.Context, path: tuple[str, ...] = ()) -> list[tuple[str, click.Command]]:
    found = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        found.append((" ".join(path + (name,)), command))
        if isinstance(command, click.Group):
            found += walk(command, ctx, path + (name,))
    return found


def test_every_yes_is_used_to_skip_a_question() -> None:
    """A command that takes --yes passes it to a confirmation (``confirm`` or the change's own)."""
    commands = walk(cli, click.Context(cli))
    with_yes = [(path, c) for path, c in commands if any(p.name == "yes" for p in c.params)]
    assert len(with_yes) >= 10
    for path, command in with_yes:
        body = inspect.getsource(command.callback).split(") -> None:", 1)[1]
        assert "yes)" in body or "yes=yes" in body, path


@pytest.mark.parametrize(("field", "flag"), [("env", "--env"), ("duration", "--for"), ("hook_timeout", "--hook-timeout"),
                                             ("db", "--db / FUSEBOARD_DB / config db")])
def test_a_core_error_naming_a_field_names_its_flag(field: str, flag: str) -> None:
    assert with_flag(FuseboardError("not allowed", field=field)) == f"not allowed ({flag})"
    assert with_flag(FuseboardError(f"bad value ({flag})", field=field)) == f"bad value ({flag})"  # said once
    assert with_flag(FuseboardError("no field")) == "no field"


def test_a_field_error_from_the_core_reaches_the_user_with_its_flag(demo_url: str) -> None:
    result = CliRunner().invoke(cli, ["--db", demo_url, "alerts", "silence", "credit-risk", "--env", "dev",
                                      "--for", "1h", "--comment", " "])
    assert result.exit_code != 0 and result.output.startswith("error: ") and "(--comment)" in result.output


def test_no_cli_module_is_over_500_lines() -> None:
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in CLI_DIR.glob("*.py")}
    assert sizes and max(sizes.values()) <= 500, sizes


def test_a_mistyped_command_is_still_told_the_close_names() -> None:
    from click.exceptions import UsageError

    for typed, close in (("modles", "models"), ("silens", "silence")):
        with pytest.raises(UsageError) as caught:
            cli.main([typed], prog_name="fuseboard", standalone_mode=False)
        message = caught.value.format_message()
        assert message.startswith(f"No such command '{typed}'.")
        if hasattr(click.exceptions, "NoSuchCommand"):  # Click 8.4+ suggests
            assert f"'{close}'" in message
