"""Where things live and what the user configured.

Resolution order for the database: ``--db URL``, then ``FUSEBOARD_DB``, then
``db`` in ``$XDG_CONFIG_HOME/fuseboard/config.toml``, then
``$XDG_DATA_HOME/fuseboard/fuseboard.db``.

This module imports only the standard library (and ``tomli_w`` when saving),
so it is safe on the path to the first frame.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fuseboard.errors import FuseboardError

APP = "fuseboard"


def _xdg(var: str, default: str) -> Path:
    value = os.environ.get(var)
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / default


def config_dir() -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config") / APP


def data_dir() -> Path:
    return _xdg("XDG_DATA_HOME", ".local/share") / APP


def config_path() -> Path:
    return config_dir() / "config.toml"


def user_themes_dir() -> Path:
    return config_dir() / "themes"


def default_db_url() -> str:
    return f"sqlite:///{data_dir() / 'fuseboard.db'}"


def resource_dir(name: str) -> Path:
    """A shipped data folder (``themes`` or ``sample_data``).

    A wheel carries them inside the package under ``_data/``; an editable
    install or a source checkout reads them from the project's top level.
    """
    packaged = Path(__file__).parent / "_data" / name
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / name
    if checkout.is_dir():
        return checkout
    raise FuseboardError(f"shipped folder {name!r} is missing from this installation ({packaged})")


@dataclass
class Config:
    """The user's settings, read from ``config.toml``."""

    path: Path
    db: str | None = None
    theme: str | None = None
    artifacts: str | None = None
    keymap: dict[str, str] = field(default_factory=dict)
    webhook: str | None = None  # [notify] webhook: alert events are POSTed here
    read_only: bool = False  # read_only = true: as if every command had --read-only
    group: str | None = None  # group = "oncall": the workspace is shared with that group (else owner-only)
    # [environments.NAME] allow = ["login", ...]: who may change that environment (absent: anyone)
    allow: dict[str, list[str]] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> "Config":
        path = path or config_path()
        if not path.exists():
            return cls(path=path)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise FuseboardError(f"config file is not valid TOML: {exc} ({path})") from None
        except OSError as exc:
            raise FuseboardError(f"cannot read config file: {exc.strerror} ({path})") from None
        keymap = raw.get("keymap", {})
        if not isinstance(keymap, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in keymap.items()
        ):
            raise FuseboardError(f"[keymap] must map binding ids to key strings ({path})")
        for key in ("db", "theme", "artifacts", "group"):
            if key in raw and not isinstance(raw[key], str):
                raise FuseboardError(f"config field {key!r} must be a string ({path})")
        notify = raw.get("notify", {})
        if not isinstance(notify, dict) or not isinstance(notify.get("webhook", ""), str):
            raise FuseboardError(f"[notify] webhook must be a URL string ({path})")
        from fuseboard.http import secret_in_url

        where = secret_in_url(notify.get("webhook", ""))
        if where:  # it would be shown and logged; the token goes in FUSEBOARD_WEBHOOK_TOKEN or [notify] token
            raise FuseboardError(f"[notify] webhook must not carry credentials (its {where}); put the token in "
                                 f"FUSEBOARD_WEBHOOK_TOKEN or token under [notify] ({path})")
        if not isinstance(raw.get("read_only", False), bool):
            raise FuseboardError(f"config field 'read_only' must be true or false ({path})")
        allow: dict[str, list[str]] = {}
        envs = raw.get("environments", {})
        if not isinstance(envs, dict):
            raise FuseboardError(f"[environments] must hold one table per environment ({path})")
        for env, table in envs.items():
            users = table.get("allow") if isinstance(table, dict) else None
            if users is None and isinstance(table, dict):
                continue
            if not isinstance(users, list) or not all(isinstance(u, str) for u in users):
                raise FuseboardError(f"[environments.{env}] allow must be a list of login names ({path})")
            allow[env] = list(users)
        return cls(
            path=path,
            read_only=raw.get("read_only", False),
            allow=allow,
            db=raw.get("db"),
            theme=raw.get("theme"),
            artifacts=raw.get("artifacts"),
            group=raw.get("group") or None,
            keymap=dict(keymap),
            webhook=notify.get("webhook") or None,
            raw=raw,
        )

    def set(self, key: str, value: str) -> None:
        """Persist one top-level setting, keeping every other key as it was."""
        import tomli_w

        self.raw[key] = value
        setattr(self, key, value)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".toml.tmp")
        tmp.write_text(tomli_w.dumps(self.raw), encoding="utf-8")
        tmp.replace(self.path)


def webhook_token(config: "Config") -> str | None:
    """The alert webhook's token: ``FUSEBOARD_WEBHOOK_TOKEN``, else ``token`` under [notify]."""
    from fuseboard.redact import register

    token = os.environ.get("FUSEBOARD_WEBHOOK_TOKEN") or config.raw.get("notify", {}).get("token") or None
    register(token)  # masked wherever outside text is stored or shown
    return token


def resolve_db_url(cli_value: str | None, config: Config) -> str:
    if cli_value:
        return cli_value
    env = os.environ.get("FUSEBOARD_DB")
    if env:
        return env
    if config.db:
        return config.db
    return default_db_url()
