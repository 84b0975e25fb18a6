"""The config file: saving the theme keeps its mode (it may hold a token), its comments and every other
key, and writes by rename; a key the file does not know is refused with the nearest known one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from fuseboard.cli import cli
from fuseboard.config import Config
from tests.support.console import SIZE, make_app, palette, settle

ORIGINAL = '''# fuseboard settings: the ops team's
db = "sqlite:////srv/fb/fuseboard.db"   # the shared workspace
theme = "fuseboard-dark"

[notify]
webhook = "https://alerts.example/hook"
token = "s3cret-token"  # rotate every 90 days
'''


def config_file(home: Path, text: str = ORIGINAL, mode: int = 0o600) -> Path:
    path = home / "config" / "fuseboard" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def test_saving_a_setting_keeps_mode_comments_and_other_keys(isolated_home: Path) -> None:
    path = config_file(isolated_home)
    Config.load(path).set("theme", "fuseboard-light")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert path.read_text() == ORIGINAL.replace('theme = "fuseboard-dark"', 'theme = "fuseboard-light"')
    assert sorted(os.listdir(path.parent)) == ["config.toml"]  # no temporary file left behind
    config_file(isolated_home, mode=0o640)  # a mode the owner chose is kept too
    Config.load(path).set("theme", "fuseboard-light")
    assert oct(path.stat().st_mode & 0o777) == "0o640"


def test_saving_through_a_symlinked_config_file_writes_the_file_it_points_to(isolated_home: Path) -> None:
    """A config kept in a dotfiles folder and linked into place stays linked: the theme lands in the real file."""
    real = config_file(isolated_home / "dotfiles")
    link = isolated_home / "config" / "fuseboard" / "config.toml"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(real)
    Config.load(link).set("theme", "fuseboard-light")
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert real.read_text() == ORIGINAL.replace('theme = "fuseboard-dark"', 'theme = "fuseboard-light"')
    assert oct(real.stat().st_mode & 0o777) == "0o600"
    assert sorted(os.listdir(real.parent)) == ["config.toml"] and sorted(os.listdir(link.parent)) == ["config.toml"]


def test_a_new_config_file_is_owner_only(isolated_home: Path) -> None:
    path = isolated_home / "config" / "fuseboard" / "config.toml"
    Config.load(path).set("theme", "fuseboard-light")
    assert oct(path.stat().st_mode & 0o777) == "0o600" and Config.load(path).theme == "fuseboard-light"


def test_a_save_that_fails_leaves_the_file_as_it_was(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = config_file(isolated_home)

    def fail(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        Config.load(path).set("theme", "fuseboard-light")
    assert path.read_text() == ORIGINAL and sorted(os.listdir(path.parent)) == ["config.toml"]


@pytest.mark.slow
async def test_picking_a_theme_in_the_palette_keeps_the_file_private(demo_url: str, isolated_home: Path,
                                                                    tmp_path: Path) -> None:
    path = config_file(isolated_home, ORIGINAL.replace('db = "sqlite:////srv/fb/fuseboard.db"   # the shared '
                                                       'workspace\n', ""))
    app = make_app(demo_url, tmp_path, config=Config.load(path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await palette(pilot, "theme: fuseboard-light")
        await pilot.pause()
        assert app.theme == "fuseboard-light"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    text = path.read_text()
    assert "# rotate every 90 days" in text and 'token = "s3cret-token"' in text
    assert 'theme = "fuseboard-light"' in text


@pytest.mark.parametrize("toml, message", [
    ('[notfy]\nwebhook = "https://alerts.example/hook"\n', "unknown key 'notfy' in the config file; did you mean 'notify'?"),
    ('[notify]\nwebhok = "https://alerts.example/hook"\n',
     "unknown key 'notify.webhok' in the config file; did you mean 'notify.webhook'?"),
    ('read-only = true\n', "unknown key 'read-only' in the config file; did you mean 'read_only'?"),
    ('[environments.prod]\nalow = ["alice"]\n',
     "unknown key 'environments.prod.alow' in the config file; did you mean 'environments.prod.allow'?"),
    ('colour = "blue"\n', "unknown key 'colour' in the config file (known: db, theme, artifacts, group, read_only, "
                          "audit_anchor, keymap, notify, environments, ownership)"),
])
def test_an_unknown_key_is_one_error_naming_the_key_and_the_file(isolated_home: Path, toml: str, message: str) -> None:
    path = config_file(isolated_home, toml)
    result = CliRunner().invoke(cli, ["envs"])
    assert result.exit_code == 1
    assert result.output == f"error: {message} ({path})\n"
