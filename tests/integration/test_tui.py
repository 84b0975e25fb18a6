"""The console, driven by keys at 80x24 as an on-call engineer would."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input, Static

from fuseboard.config import Config
from fuseboard.tui.app import FuseboardApp
from fuseboard.tui.screens.help import HelpScreen
from fuseboard.tui.screens.model_detail import ModelDetailScreen
from fuseboard.tui.screens.models import ModelsScreen
from fuseboard.tui.widgets.table import VirtualTable
from tests.support import ROOT
from tests.support.console import SIZE, make_app, palette, screen_text, settle


def visible_models(app: FuseboardApp) -> list[str]:
    return list(app.screen.query_one(VirtualTable).keys)



async def test_models_screen_lists_every_model_with_versions_per_environment(demo_url: str, tmp_path: Path) -> None:
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, ModelsScreen)
        assert visible_models(app) == ["churn-propensity", "credit-risk", "demand-forecast",
                                       "disease-progression", "tumour-screening"]
        table = app.screen.query_one(VirtualTable)
        credit = table.cells(table.keys.index("credit-risk"))
        cells = [c if isinstance(c, str) else c.plain for c in credit]
        assert cells[:6] == ["○ none", "credit-risk", "class", "mission", "it-ops", "v3"]
        assert cells[6:] == ["v3", "v3", "v2"]  # dev, staging, prod
        assert "5 models" in str(app.screen.query_one("#status", Static).render())


async def test_filter_as_you_type_then_escape_clears(demo_url: str, tmp_path: Path) -> None:
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("slash", "i", "t", "-", "o", "p", "s")
        assert visible_models(app) == ["credit-risk", "demand-forecast"]
        assert "2 of 5 models" in str(app.screen.query_one("#status", Static).render())
        await pilot.press("backspace", "backspace", "backspace", "backspace", "backspace", "backspace", "backspace")
        await pilot.press("r", "e", "g", "r")
        assert visible_models(app) == ["demand-forecast", "disease-progression"]
        await pilot.press("escape")
        assert len(visible_models(app)) == 5
        assert app.focused is app.screen.query_one(VirtualTable)


async def test_filter_with_no_match_says_so(demo_url: str, tmp_path: Path) -> None:
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("slash", "z", "z", "z", "enter")
        table = app.screen.query_one(VirtualTable)
        assert table.row_count == 0 and "no model matches 'zzz'" in table.empty_text
        # enter left the filter: q quits instead of typing
        await pilot.press("q")
    assert app.return_code == 0


async def test_enter_opens_detail_and_escape_goes_back(demo_url: str, tmp_path: Path) -> None:
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("j", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ModelDetailScreen) and app.screen.model == "credit-risk"
        text = screen_text(app)
        assert "Pipeline(HistGradie" in text and "dev,staging" in text and "mission-critical" in text
        assert "prod (protected)" in text
        await pilot.press("escape")
        assert isinstance(app.screen, ModelsScreen)
        assert app.screen.query_one(VirtualTable).cursor_key == "credit-risk"


async def test_sort_cycles_columns_and_reverses(demo_url: str, tmp_path: Path) -> None:
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("o", "o")  # name -> health -> task
        assert app.screen.sort_field == "task"
        assert visible_models(app)[:3] == ["churn-propensity", "credit-risk", "tumour-screening"]
        await pilot.press("O")
        assert set(visible_models(app)[:2]) == {"demand-forecast", "disease-progression"}


@pytest.mark.slow
async def test_help_lists_the_screen_keys_and_closes(demo_url: str, tmp_path: Path) -> None:
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for key_text in ("narrow the list as you type", "sort by the next column", "open the selected row",
                         "quit fuseboard", "the Models screen", "the Environments screen"):
            assert key_text in text
        await pilot.press(*"j" * 12)  # the rest scrolls into view
        await settle(app, pilot)
        assert "command palette" in screen_text(app)
        await pilot.press("escape")
        assert isinstance(app.screen, ModelsScreen)


@pytest.mark.slow
async def test_q_in_a_dialog_closes_it_then_quits(demo_url: str, tmp_path: Path) -> None:
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark", "ctrl+c")
        assert isinstance(app.screen, ModelsScreen)
        await pilot.press("ctrl+c")
    assert app.return_code == 0


@pytest.mark.slow
async def test_palette_jumps_to_a_model(demo_url: str, tmp_path: Path) -> None:
    app = make_app(demo_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await palette(pilot, "open demand")
        await settle(app, pilot)
        assert isinstance(app.screen, ModelDetailScreen) and app.screen.model == "demand-forecast"


@pytest.mark.slow
async def test_theme_from_palette_is_applied_and_remembered(demo_url: str, tmp_path: Path) -> None:
    config = Config(path=tmp_path / "cfg" / "config.toml")
    app = make_app(demo_url, tmp_path, config=config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await palette(pilot, "theme: fuseboard-light")
        await pilot.pause()
        assert app.theme == "fuseboard-light"
    assert Config.load(config.path).theme == "fuseboard-light"


async def test_broken_user_theme_is_reported_and_default_used(demo_url: str, tmp_path: Path) -> None:
    themes = tmp_path / "config" / "fuseboard" / "themes"
    themes.mkdir(parents=True)
    (themes / "broken.toml").write_text('name = "broken"\nprimary = "not-a-colour"\n')
    (themes / "mine.toml").write_text('name = "mine"\nprimary = "#ff8800"\n')
    (themes / "badvar.toml").write_text('name = "badvar"\nprimary = "#ff0000"\n[variables]\n'
                                        'block-cursor-background = "zzz"\n')
    app = make_app(demo_url, tmp_path, theme="broken")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        messages = [n.message for n in app._notifications]
        assert any("broken.toml: field 'primary' is not a colour" in m for m in messages)
        assert any("unknown theme 'broken'" in m for m in messages)
        assert any("badvar.toml: [variables] block-cursor-background is not a colour" in m for m in messages)
        assert app.theme == "fuseboard-dark"
        assert "mine" in app.available_themes


async def test_keys_can_be_remapped_in_the_config(demo_url: str, tmp_path: Path) -> None:
    config = Config(path=tmp_path / "config.toml", keymap={"models.filter": "f"})
    app = make_app(demo_url, tmp_path, config=config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f", "c", "h", "u")
        assert isinstance(app.focused, Input)
        assert visible_models(app) == ["churn-propensity"]


async def test_model_registered_from_the_cli_shows_in_the_console(ws_url: str, credit_files, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from fuseboard.cli import cli

    result = CliRunner().invoke(cli, ["--db", ws_url, "register", "scoring", "--artifact", str(credit_files["artifact"]),
                                      "--reference", str(credit_files["reference"]), "--target", "default"])
    assert result.exit_code == 0, result.output
    app = make_app(ws_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert visible_models(app) == ["scoring"]
        await pilot.press("enter")
        await settle(app, pilot)
        text = screen_text(app)
        from fuseboard.store.audit import os_user

        assert "Pipeline(LogisticRegr" in text and os_user() in text  # a new workspace: the OS login, not FUSEBOARD_USER
        assert "v1†" in text and "not deployed anywhere" in text


def test_title_never_shows_a_database_password() -> None:
    from fuseboard.tui.app import _label

    assert "secret" not in _label("postgresql+psycopg://ops:secret@db.internal:5432/fuseboard")


async def test_unknown_keymap_id_is_reported(demo_url: str, tmp_path: Path) -> None:
    config = Config(path=tmp_path / "config.toml", keymap={"models.filtre": "f"})
    app = make_app(demo_url, tmp_path, config=config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert any("no binding 'models.filtre'" in n.message for n in app._notifications)


def test_readme_lists_every_binding_id() -> None:
    from fuseboard.tui.app import binding_ids

    readme = (ROOT / "README.md").read_text()
    missing = [b for b in sorted(binding_ids()) if f"`{b}`" not in readme]
    assert missing == []


async def test_empty_workspace_says_how_to_start(ws_url: str, tmp_path: Path) -> None:
    app = make_app(ws_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert "fuseboard register" in app.screen.query_one(VirtualTable).empty_text


async def test_unreadable_workspace_is_reported_not_fatal(tmp_path: Path) -> None:
    app = make_app(f"sqlite:///{tmp_path / 'missing.db'}", tmp_path, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert any("no workspace at" in n.message for n in app._notifications)
        assert isinstance(app.screen, ModelsScreen)


async def test_many_rows_scroll_with_the_cursor(tmp_path: Path) -> None:
    table = VirtualTable([])
    from textual.app import App

    class One(App):
        def compose(self):  # noqa: ANN202
            yield table

    app = One()
    async with app.run_test(size=SIZE) as pilot:
        from fuseboard.tui.widgets.table import Column

        table.set_columns([Column("n", "n", 10)])
        table.set_rows(list(range(5000)), [(str(i),) for i in range(5000)])
        table.focus()
        await pilot.press("G")
        assert table.cursor_row == 4999 and table.scroll_y >= 4999 - 24
        await pilot.press("g", "pagedown")
        assert table.cursor_row == 23  # one page of 23 visible rows down


@pytest.mark.parametrize("module", ["sklearn", "numpy", "pandas", "scipy", "sqlmodel"])
def test_console_module_does_not_import_heavy_libraries(module: str) -> None:
    import subprocess
    import sys

    code = f"import fuseboard.cli, fuseboard.tui.app, sys; print({module!r} in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("width", [80, 60, 40])
def test_the_title_line_fits_the_terminal_and_keeps_where_you_are(tmp_path: Path, width: int) -> None:
    app = make_app("sqlite:///x.db", tmp_path)
    where = "Monitoring › a-really-long-model-name-for-the-title/staging"
    line = app.title_line(where, width)
    assert line.cell_len <= width
    assert "3 Monitoring" in line.plain and "›" in line.plain  # the current screen and the place stay
    assert app.title_line("Models", 80).plain.startswith("fuseboard  1 Models  2 Environments")  # room: in full
    app.db_unreachable = "since 03:12"
    line = app.title_line(where, width)
    assert line.plain.startswith("DATABASE UNREACHABLE since 03:12")  # first, whatever is cut off after it
