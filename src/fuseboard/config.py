"""Where things live and what the user configured.

Resolution order for the database: ``--db URL``, then ``FUSEBOARD_DB``, then
``db`` in ``$XDG_CONFIG_HOME/fuseboard/config.toml``, then
``$XDG_DATA_HOME/fuseboard/fuseboard.db``.

This module imports only the standard library (and ``tomlkit`` when saving),
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


# Every key the config file may hold; a table maps to its own keys (None: any key, checked elsewhere:
# [keymap] binding ids by the console, [ownership] by the policy). Anything else is refused, so a typo is not silently ignored.
TABLE_KEYS: dict[str, Any] = {
    "db": str, "theme": str, "artifacts": str, "group": str, "read_only": bool, "audit_anchor": str,
    "keymap": None,
    "notify": {"webhook": str, "token": str},
    "environments": {"*": {"allow": list}},
    "ownership": None,  # checked, with its own messages, by ops.handover.policy
}


def _unknown_keys(raw: dict[str, Any], known: dict[str, Any], path: Path, prefix: str = "") -> None:
    """Refuse the first key the config file does not know, with the nearest known one."""
    import difflib

    for key, value in raw.items():
        spec = known.get(key, known.get("*", KeyError))
        name = f"{prefix}{key}"
        if spec is KeyError:
            names = [k for k in known if k != "*"]
            close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
            hint = f"; did you mean '{prefix}{close[0]}'?" if close else f" (known: {', '.join(names)})"
            raise FuseboardError(f"unknown key {name!r} in the config file{hint} ({path})")
        if isinstance(spec, dict) and isinstance(value, dict):
            _unknown_keys(value, spec, path, f"{name}.")


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
    audit_anchor: str | None = None  # where the audit chain's checkpoints live (store/anchor.py)
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
        if not isinstance(raw, dict):
            raise FuseboardError(f"config file must hold keys and tables ({path})")
        _unknown_keys(raw, TABLE_KEYS, path)
        for key in ("db", "theme", "artifacts", "group", "audit_anchor"):
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
            audit_anchor=raw.get("audit_anchor") or None,
            keymap=dict(keymap),
            webhook=notify.get("webhook") or None,
            raw=raw,
        )

    def set(self, key: str, value: str) -> None:
        """Persist one top-level setting, keeping every other key, comment and the file's mode as they
        were (the file may hold a token: a new one is owner-only). Written whole or not at all: a
        temporary file in the same folder, flushed to disk, renamed over the old one."""
        import tempfile

        import tomlkit

        path = Path(os.path.realpath(self.path))  # a symlinked config (dotfiles) stays linked: write its target
        folder = path.parent
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            document = tomlkit.parse(path.read_text(encoding="utf-8"))
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            document, mode = tomlkit.document(), 0o600
        document[key] = value
        fd, tmp = tempfile.mkstemp(prefix=".config.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                os.fchmod(handle.fileno(), mode)
                handle.write(tomlkit.dumps(document))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        try:
            dir_fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError:
            pass
        self.raw[key] = value
        setattr(self, key, value)


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
