"""Terminal injection: text from outside (reasons, names, descriptions, hook output, feature values,
parser messages) never reaches the terminal raw. Plain output, error lines, the console and the
Markdown export show control characters as escapes (``\\x1b``); ``--json`` keeps them exact."""

from __future__ import annotations

import json
import os
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuseboard.cli import cli
from fuseboard.text import visible
from tests.support.console import SIZE
from tests.support.console import make_app as _app
from tests.support.console import screen_text as _screen_text
from tests.support.console import settle as _settle
from tests.support.hostile import HOSTILE, RAW, SHOWN, raw_in

def run(*args: str, user: str | None = None) -> Any:
    return invoke(*args, user=user, catch_exceptions=False)


def invoke(*args: str, user: str | None = None, catch_exceptions: bool = True) -> Any:
    """As on a terminal: ``color=True`` keeps Click from stripping escape sequences, as it does for a pipe."""
    env = {"FUSEBOARD_USER": user} if user else None
    return CliRunner().invoke(cli, list(args), env=env, color=True, catch_exceptions=catch_exceptions)


@pytest.fixture
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables as wide as the hostile text, so the whole of it is on the line (80 columns cut it)."""
    monkeypatch.setenv("COLUMNS", "250")


# -- (a) the helpers themselves: tests/unit/test_terminal_text.py

# -- (b) the command line ------------------------------------------------------------------------------

def test_a_hostile_reason_is_shown_visibly_in_every_listing_and_exactly_in_json(demo_url: str, wide: None) -> None:
    deployed = run("--db", demo_url, "deploy", "tumour-screening", "1", "--env", "dev", "--yes", "--wait", "0",
                   "--reason", HOSTILE)
    assert deployed.exit_code == 0, deployed.output
    for args in (("audit", "--limit", "3"), ("models", "show", "tumour-screening"),
                 ("history", "tumour-screening", "--env", "dev")):
        out = run("--db", demo_url, *args)
        assert out.exit_code == 0, out.output
        assert raw_in(out.output) == set(), args
        assert SHOWN in out.output, (args, out.output)
    events = json.loads(run("--db", demo_url, "audit", "--limit", "3", "--json").output)
    assert events[0]["reason"] == HOSTILE
    rollouts = json.loads(run("--db", demo_url, "history", "tumour-screening", "--env", "dev", "--json").output)
    assert rollouts[0]["reason"] == HOSTILE


def test_a_hostile_name_is_shown_visibly_and_cannot_break_the_row(demo_url: str) -> None:
    name = "Mallory\x1b[31m\nroot  Fake Row\x07"
    added = run("--db", demo_url, "people", "add", "mallory", "--name", name, "--team", "it-ops", "--phone", "\x9b2J")
    assert added.exit_code == 0, added.output
    assert raw_in(added.output) == set() and "Mallory\\x1b[31m\\nroot  Fake Row\\x07" in added.output
    listed = run("--db", demo_url, "people").output
    assert raw_in(listed) == set()
    row = next(line for line in listed.splitlines() if line.startswith("mallory"))
    assert "Mallory\\x1b[31m\\nroot  Fake Row\\x07" in row and "\\x9b2J" in row
    assert not any(line.startswith("root") for line in listed.splitlines())  # no forged line
    people = json.loads(run("--db", demo_url, "people", "--json").output)
    assert next(p for p in people if p["handle"] == "mallory")["name"] == name


def test_a_hostile_description_is_shown_visibly(ws_url: str, credit_files: dict[str, Path], wide: None) -> None:
    description = "scores loans [bold red]URGENT[/] \x1b]8;;https://evil\x07click\x1b]8;;\x07"
    registered = run("--db", ws_url, "register", "credit", "--artifact", str(credit_files["artifact"]),
                     "--reference", str(credit_files["reference"]), "--target", "default",
                     "--description", description, "--yes")
    assert registered.exit_code == 0, registered.output
    assert raw_in(registered.output) == set()
    shown = run("--db", ws_url, "models", "show", "credit").output
    assert raw_in(shown) == set()
    assert "scores loans [bold red]URGENT[/] \\x1b]8;;https://evil\\x07click\\x1b]8;;\\x07" in shown
    assert json.loads(run("--db", ws_url, "models", "show", "credit", "--json").output)["description"] == description


def test_error_lines_show_foreign_text_visibly(demo_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "rows.csv"
    bad.write_text('age,prediction\n1,0\n"x\x1b]0;T\x07",1,2,3\n', encoding="utf-8")  # pyarrow quotes the row
    for args in (("ingest", "credit-risk", str(tmp_path / "no\x1b]0;T\x07such.csv"), "--env", "prod"),
                 ("ingest", "credit-risk", str(bad), "--env", "prod"),
                 ("deploy", "tumour-screening", "1", "--env", "\x1b]0;x\x07prod", "--yes"),
                 ("handover", "show", "no\x1b[2Jsuch"),
                 ("audit", "--since", "\x1b[2J2h")):
        result = invoke("--db", demo_url, *args)
        assert result.exit_code != 0
        assert raw_in(result.output) == set(), (args, result.output)
        lines = result.output.strip().splitlines()
        assert lines[-1].startswith("error: ") and "\\x1b" in lines[-1], (args, result.output)


def test_the_handover_export_shows_controls_and_cannot_inject_markdown_or_html(demo_url: str) -> None:
    url = demo_url
    started = run("--db", url, "handover", "start", "tumour-screening", "--to", "it-ops", "--json", user="ana")
    assert started.exit_code == 0, started.output
    item = next(i["key"] for i in json.loads(started.output)["items"] if not i["auto"])
    evidence = "<script>alert(1)</script> [ok](javascript:alert(1)) \x1b]0;T\x07 ![x](https://evil/p.png)"
    assert run("--db", url, "handover", "evidence", "tumour-screening", item, evidence, user="ana").exit_code == 0
    link = run("--db", url, "handover", "evidence", "tumour-screening", item, "https://wiki/runbook_v2", user="ana")
    assert link.exit_code == 0
    other = [i["key"] for i in json.loads(started.output)["items"] if not i["auto"]][1]
    assert run("--db", url, "handover", "evidence", "tumour-screening", other, evidence, user="ana").exit_code == 0
    exported = run("--db", url, "handover", "export", "tumour-screening")
    assert exported.exit_code == 0
    text = exported.output
    assert raw_in(text) == set()
    line = next(line for line in text.splitlines() if "Evidence:" in line and "script" in line)
    assert line == ("  - Evidence: \\<script\\>alert(1)\\</script\\> \\[ok\\](javascript:alert(1)) "
                    "\\\\x1b\\]0;T\\\\x07 \\!\\[x\\](https://evil/p.png)")
    assert "  - Evidence: <https://wiki/runbook_v2>" in text  # a lone link stays a link
    assert "<script>" not in text and "](" not in text.replace("\\](", "")
    shown = run("--db", url, "handover", "show", "tumour-screening")
    assert raw_in(shown.output) == set() and "\\x1b]0;T\\x07" in shown.output
    exact = json.loads(run("--db", url, "handover", "show", "tumour-screening", "--json").output)
    assert evidence in [i["evidence"] for i in exact["items"]]


# -- (c) hook output -------------------------------------------------------------------------------

HOOK = ("import sys; sys.stdout.write('pulling image' + chr(27) + ']0;OWNED' + chr(7) + chr(10) + "
        "'step' + chr(9) + '2' + chr(27) + '[2J' + chr(10)); sys.exit(3)")


def _failing_hook(url: str) -> None:
    from fuseboard.ops.environments import configure
    from fuseboard.store.db import open_workspace

    ws = open_workspace(url)
    configure(ws, "dev", actor="tester", origin="cli", reason="test",
              hook={"command": [sys.executable, "-c", HOOK, "{model}"], "timeout": 10})
    ws.close()


def test_hook_output_is_shown_visibly_on_the_command_line(demo_url: str) -> None:
    _failing_hook(demo_url)
    failed = run("--db", demo_url, "deploy", "tumour-screening", "1", "--env", "dev", "--yes", "--wait", "0")
    assert failed.exit_code == 1
    assert raw_in(failed.output) == set()
    assert "pulling image\\x1b]0;OWNED\\x07\nstep\t2\\x1b[2J" in failed.output  # lines and tabs kept
    as_json = run("--db", demo_url, "deploy", "tumour-screening", "1", "--env", "dev", "--yes", "--wait", "0",
                  "--json")
    assert "\x1b]0;OWNED\x07" in json.loads(as_json.output)["hook_output"]


class _HostileWebhook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(502)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"deployer down\x1b]52;c;ZXZpbA==\x07\r\nretry \xc2\x9b2J later")

    def log_message(self, *args: object) -> None:
        pass


def test_a_webhook_answer_is_shown_visibly(demo_url: str, http_server) -> None:  # noqa: ANN001
    from fuseboard.ops.environments import configure
    from fuseboard.store.db import open_workspace

    with http_server(_HostileWebhook) as server:
        ws = open_workspace(demo_url)
        configure(ws, "dev", actor="tester", origin="cli", reason="test",
                  hook={"webhook": f"{server.url}/deploy", "timeout": 10})
        ws.close()
        failed = run("--db", demo_url, "deploy", "tumour-screening", "1", "--env", "dev", "--yes", "--wait", "0")
    assert failed.exit_code == 1 and "the hook said HTTP 502" in failed.output
    assert raw_in(failed.output) == set()
    assert "deployer down\\x1b]52;c;ZXZpbA==\\x07\nretry \\x9b2J later" in failed.output


# -- the console ---------------------------------------------------------------------------------------

SHORT = "\x1b[2J[@click=app.quit]x"  # fits the 80-column detail line
SHORT_SHOWN = "\\x1b[2J[@click=app.quit]x"


@pytest.mark.slow
async def test_the_console_audit_trail_shows_a_hostile_reason_visibly_and_runs_no_action(
        demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fuseboard.tui.screens.audit import AuditScreen

    monkeypatch.setenv("SSH_CONNECTION", "1 2 3 4")  # a short client, whatever this host is called

    assert run("--db", demo_url, "deploy", "tumour-screening", "1", "--env", "dev", "--yes", "--wait", "0",
               "--reason", SHORT).exit_code == 0
    app = _app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(app, pilot)
        app.open_audit()
        await _settle(app, pilot)
        await _settle(app, pilot)
        assert isinstance(app.screen, AuditScreen)
        text = _screen_text(app)
        assert SHORT_SHOWN in text and raw_in(text) == set(), text
        for x in range(40, 80):  # across the reason: a [@click] parsed as markup would quit
            await pilot.click("#event-detail", offset=(x, 0))
        await _settle(app, pilot)
        assert app.is_running and isinstance(app.screen, AuditScreen)


async def test_the_console_model_detail_shows_stored_text_as_written(demo_url: str, tmp_path: Path) -> None:
    from fuseboard.tui.screens.model_detail import ModelDetailScreen

    assert run("--db", demo_url, "deploy", "tumour-screening", "1", "--env", "dev", "--yes", "--wait", "0",
               "--reason", "[@click=app.quit]go[/]\x1b[2J").exit_code == 0
    app = _app(demo_url, tmp_path)
    async with app.run_test(size=(160, 60)) as pilot:
        await _settle(app, pilot)
        app.open_model("tumour-screening")
        await _settle(app, pilot)
        assert isinstance(app.screen, ModelDetailScreen)
        text = _screen_text(app)
        assert "([@click=app.quit]go[/]\\x1b[2J)" in text and raw_in(text) == set(), text
        assert app.is_running


async def test_hook_output_is_shown_visibly_in_the_console_history(demo_url: str, tmp_path: Path) -> None:
    from fuseboard.tui.screens.history import HistoryScreen

    _failing_hook(demo_url)
    failed = run("--db", demo_url, "deploy", "tumour-screening", "1", "--env", "dev", "--yes", "--wait", "0")
    assert failed.exit_code == 1
    app = _app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(app, pilot)
        app.push_screen(HistoryScreen("tumour-screening", "dev"))
        await _settle(app, pilot)
        text = _screen_text(app)
        assert "pulling image\\x1b]0;OWNED\\x07" in text and "\\x1b[2J" in text and raw_in(text) == set(), text


@pytest.mark.slow
async def test_the_checklist_shows_hostile_evidence_visibly_and_edits_its_visible_form(demo_url: str,
                                                                                        tmp_path: Path) -> None:
    from textual.widgets import Input

    from tests.support.console import goto_item, open_checklist

    evidence = "\x1b]8;;https://e\x07rb\x1b]8;;\x07[@click=app.quit]x"  # a hidden link, an action
    assert run("--db", demo_url, "handover", "evidence", "churn-propensity", "ops.runbook", evidence).exit_code == 0
    app = _app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_checklist(app, pilot)
        await goto_item(app, pilot, "ops.runbook")
        await _settle(app, pilot)
        shown = "\\x1b]8;;https://e\\x07rb\\x1b]8;;\\x07[@click=app.quit]x"
        text = _screen_text(app)
        assert shown in text and raw_in(text) == set(), text
        await pilot.press("e")
        await _settle(app, pilot)
        assert app.screen.query_one("#field-evidence", Input).value == shown  # what the user sees is what they edit
        assert raw_in(_screen_text(app)) == set()


# -- (d) feature values echoed by ingest ----------------------------------------------------------------

def test_unseen_category_values_with_escapes_are_reported_visibly(demo_url: str, tmp_path: Path) -> None:
    import pandas as pd

    from fuseboard.config import resource_dir

    frame = pd.read_csv(resource_dir("sample_data") / "credit_risk.csv").head(20).drop(columns="default")
    frame["prediction"] = 0
    frame.loc[0, "purpose"] = "yacht\x1b]52;c;ZXZpbA==\x07"
    frame.loc[1, "purpose"] = "\u202elanigiro"
    path = tmp_path / "rows.csv"
    frame.to_csv(path, index=False)
    result = run("--db", demo_url, "ingest", "credit-risk", str(path), "--env", "prod")
    assert result.exit_code == 0, result.output
    assert raw_in(result.output) == set()
    assert "yacht\\x1b]52;c;ZXZpbA==\\x07 1" in result.output and "\\u202elanigiro 1" in result.output
    checked = run("--db", demo_url, "check", "--no-probe")
    assert raw_in(checked.output) == set()


def test_a_parser_error_with_escapes_is_one_visible_line(demo_url: str, tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text('age,prediction\n1,0\n"\x1b]52;c;ZXZpbA==\x07\x1b[2J",1,2,3\n', encoding="utf-8")
    result = invoke("--db", demo_url, "ingest", "credit-risk", str(path), "--env", "prod")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot read CSV") and raw_in(result.output) == set()
    assert '"\\x1b]52;c;ZXZpbA==\\x07\\x1b[2J",1,2,3' in lines[0], lines[0]


# -- (f) the property: no command prints a raw control character -----------------------------------------

EXPLORE = int(os.environ.get("FUSEBOARD_RANDOM_EXAMPLES", "0"))
SETTINGS = settings(max_examples=EXPLORE or 25, deadline=None, derandomize=not EXPLORE,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
hostile = st.text(st.one_of(st.sampled_from(sorted(RAW) + ["\n", "\t", "[", "]", "@", "=", "/", "\\"]),
                            st.characters(blacklist_categories=("Cs",))), min_size=1, max_size=24)
SEEN: list[str] = []


@pytest.mark.slow
@SETTINGS
@given(text=hostile, other=hostile)
def test_no_printing_command_writes_a_raw_control_character(shared_demo_url: str, text: str, other: str) -> None:
    url = shared_demo_url
    handle = f"p{len(SEEN)}"
    SEEN.append(text)
    runs = [
        run("--db", url, "people", "add", handle, "--name", text, "--team", "it-ops", "--email", other),
        run("--db", url, "deploy", "tumour-screening", str(1 + len(SEEN) % 2), "--env", "dev", "--yes", "--wait",
            "0", "--reason", text),
        run("--db", url, "teams", "add", "t" + handle, "--kind", "it-operations", "--description", other,
            "--reason", other),
        run("--db", url, "people"),
        run("--db", url, "audit", "--limit", "4"),
        run("--db", url, "models", "show", "tumour-screening"),
        run("--db", url, "history", "tumour-screening", "--env", "dev", "--limit", "3"),
        invoke("--db", url, "deploy", "tumour-screening", "1", "--env", text, "--yes"),
        invoke("--db", url, "models", "show", other),
        invoke("--db", url, "audit", "--since", text),
        invoke("--db", url, "ingest", "credit-risk", f"{other}.csv", "--env", "prod"),
    ]
    for result in runs:
        assert raw_in(result.output) == set(), result.output
        assert "Traceback" not in result.output
    assert runs[0].exit_code == 0 and runs[1].exit_code == 0, (runs[0].output, runs[1].output)
    people = json.loads(run("--db", url, "people", "--json").output)
    assert next(p for p in people if p["handle"] == handle)["name"] == text  # stored and --json exact
    assert visible(text)[:10] in runs[3].output or len(visible(text)) > 20  # shown (unless cut to fit 80 columns)
