"""Checklist templates: finding the TOML files and checking one before a handover is built from it.

Templates live one per criticality tier in ``fuseboard/checklists`` and may be added to or
replaced in ``$XDG_CONFIG_HOME/fuseboard/checklists`` (a file there with a shipped name wins).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import NotRequired, TypedDict, cast

from fuseboard.config import config_dir
from fuseboard.errors import FuseboardError
from fuseboard.ops.handover.verifiers import VERIFIERS

GROUPS = ("data", "model", "infrastructure", "monitoring", "operations")


class TemplateItem(TypedDict):
    """One ``[[items]]`` entry of a checklist template, as written in its file."""

    key: str
    group: str  # one of GROUPS
    text: str
    required: NotRequired[bool]  # default true
    verify: NotRequired[str]  # a verifier's name (VERIFIERS): fuseboard checks the item itself
    help: NotRequired[str]


class Template(TypedDict):
    """A checklist template, checked (``load_template``)."""

    name: str  # the file's ``name``, else its stem
    description: str
    items: list[TemplateItem]


def shipped_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "checklists"


def user_dir() -> Path:
    return config_dir() / "checklists"


def load_template(path: Path) -> Template:
    """A checklist template, checked; one clear error naming the file and item otherwise."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise FuseboardError(f"checklist template is not valid TOML: {exc} ({path})") from None
    except OSError as exc:
        raise FuseboardError(f"cannot read checklist template: {exc.strerror} ({path})") from None
    items = data.get("items")
    if not isinstance(items, list) or not items:
        raise FuseboardError(f"checklist template has no [[items]] ({path})")
    seen: set[str] = set()
    verifiers: set[str] = set()
    for n, item in enumerate(items, 1):
        where = f"item {n} of {path}"
        if not isinstance(item, dict):
            raise FuseboardError(f"{where} is not a table")
        for key in ("key", "group", "text"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                raise FuseboardError(f"{where}: {key!r} must be a non-empty string")
        if item["key"] in seen:
            raise FuseboardError(f"{where}: key {item['key']!r} appears twice")
        seen.add(item["key"])
        if item["group"] not in GROUPS:
            raise FuseboardError(f"{where}: group {item['group']!r} is not one of {', '.join(GROUPS)}")
        if not isinstance(item.get("required", True), bool):
            raise FuseboardError(f"{where}: required must be true or false")
        verify = item.get("verify", "")
        if verify:
            if verify not in VERIFIERS:
                raise FuseboardError(f"{where}: verify {verify!r} is not one of {', '.join(VERIFIERS)}")
            if verify in verifiers:
                raise FuseboardError(f"{where}: verify {verify!r} is used twice")
            verifiers.add(verify)
        unknown = set(item) - {"key", "group", "text", "required", "verify", "help"}
        if unknown:
            raise FuseboardError(f"{where}: unknown field {sorted(unknown)[0]!r}")
    return {"name": str(data.get("name") or path.stem), "description": str(data.get("description", "")),
            "items": cast("list[TemplateItem]", items)}


def templates() -> dict[str, Path]:
    """Template name -> file: the shipped ones, then the user's (which win on the same name)."""
    found = {p.stem: p for p in sorted(shipped_dir().glob("*.toml"))}
    if user_dir().is_dir():
        found.update({p.stem: p for p in sorted(user_dir().glob("*.toml"))})
    return found

