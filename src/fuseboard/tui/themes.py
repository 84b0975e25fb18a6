"""Themes as data files: the shipped ones in ``themes/``, the user's in
``$XDG_CONFIG_HOME/fuseboard/themes/``. A broken file is reported and skipped,
never fatal; the default theme always exists.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from textual.color import Color, ColorParseError
from textual.theme import Theme

from fuseboard.config import resource_dir, user_themes_dir

DEFAULT_THEME = "fuseboard-dark"
_COLOR_KEYS = ("primary", "secondary", "accent", "foreground", "background", "surface", "panel", "boost",
               "success", "warning", "error")


@dataclass
class LoadedThemes:
    themes: dict[str, Theme] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def parse_theme(path: Path) -> Theme:
    """Build a Theme from a TOML file; ValueError names the file and field at fault."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path.name}: not valid TOML ({exc})") from None
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{path.name}: missing field 'name'")
    if "primary" not in data:
        raise ValueError(f"{path.name}: missing field 'primary'")
    unknown = set(data) - {*_COLOR_KEYS, "name", "dark", "variables"}
    if unknown:
        raise ValueError(f"{path.name}: unknown field {sorted(unknown)[0]!r}")
    for key in _COLOR_KEYS:
        if key in data:
            try:
                Color.parse(data[key])
            except (ColorParseError, TypeError, ValueError, AttributeError):  # AttributeError: a number
                raise ValueError(f"{path.name}: field {key!r} is not a colour: {data[key]!r}") from None
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        raise ValueError(f"{path.name}: field 'dark' must be true or false")
    variables = data.get("variables", {})
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise ValueError(f"{path.name}: [variables] must map names to strings")
    for key, value in variables.items():
        _check_variable(path, key, value)
    return Theme(name=name, dark=dark, variables=dict(variables),
                 **{k: data[k] for k in _COLOR_KEYS if k in data})


_TEXT_STYLES = {"none", "not", "bold", "dim", "italic", "underline", "underline2", "blink", "blink2", "reverse",
                "strike", "overline"}


def _check_variable(path: Path, key: str, value: str) -> None:
    """Variables are colours, except ``*-text-style`` ones: a bad value would break the stylesheet."""
    if key.endswith("text-style"):
        bad = [word for word in value.split() if word not in _TEXT_STYLES]
        if bad or not value.split():
            raise ValueError(f"{path.name}: [variables] {key} is not a text style: {value!r}")
        return
    try:
        Color.parse(value)
    except (ColorParseError, TypeError, ValueError):
        raise ValueError(f"{path.name}: [variables] {key} is not a colour: {value!r}") from None


def load_themes(extra_dirs: list[Path] | None = None) -> LoadedThemes:
    """Shipped themes first, then the user's (which may override by name)."""
    loaded = LoadedThemes()
    dirs = [resource_dir("themes"), user_themes_dir(), *(extra_dirs or [])]
    for folder in dirs:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                theme = parse_theme(path)
            except (ValueError, OSError) as exc:
                loaded.problems.append(f"theme {exc}; skipped")
                continue
            loaded.themes[theme.name] = theme
    return loaded
