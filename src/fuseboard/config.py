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
    "notify": {"webhook": str, "token": str, "receiver": list},
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


RECEIVER_KINDS = ("alertmanager", "pagerduty", "slack", "webhook")
# the keys a [[notify.receiver]] may hold, per kind (besides name, kind, min_severity, max_tries, timeout)
RECEIVER_KEYS = {
    "alertmanager": ("url", "token_env", "console_url"),
    "pagerduty": ("url", "routing_key_env", "console_url"),
    "slack": ("url_env",),
    "webhook": ("url", "token_env", "secret_env"),
}
_DEFAULT_ENV = {"pagerduty": {"routing_key_env": "FUSEBOARD_PAGERDUTY_KEY"},
                "slack": {"url_env": "FUSEBOARD_SLACK_WEBHOOK"},
                "webhook": {"secret_env": "FUSEBOARD_WEBHOOK_SECRET", "token_env": "FUSEBOARD_WEBHOOK_TOKEN"}}


@dataclass(frozen=True)
class ReceiverSpec:
    """One ``[[notify.receiver]]`` of the config file: where events go and in which format.

    Secrets are never in the file's values: ``*_env`` name the environment variables that hold them
    (a Slack webhook's URL is itself a secret).
    """

    name: str
    kind: str  # one of RECEIVER_KINDS
    url: str = ""  # alertmanager: its base URL; pagerduty: the Events API base; webhook: the URL
    env: dict[str, str] = field(default_factory=dict)  # token_env, secret_env, routing_key_env, url_env
    console_url: str = ""  # a link back, where fuseboard's users can reach one (generatorURL, client_url)
    min_severity: str = ""  # "crit": only critical alerts (changes always go)
    max_tries: int = 24  # then the event is a dead letter (``fuseboard outbox``)
    timeout: float = 10.0  # seconds, the whole request
    token: str = field(default="", repr=False)  # [notify] token of the older single webhook (else token_env)


def _receivers(raw: list[Any], path: Path) -> list[ReceiverSpec]:
    out: list[ReceiverSpec] = []
    for n, item in enumerate(raw, 1):
        where = f"[[notify.receiver]] #{n}"
        if not isinstance(item, dict):
            raise FuseboardError(f"{where} must be a table ({path})")
        kind = item.get("kind")
        if kind not in RECEIVER_KINDS:
            raise FuseboardError(f"{where}: kind must be one of {', '.join(RECEIVER_KINDS)}, not {kind!r} ({path})")
        allowed = {"name", "kind", "min_severity", "max_tries", "timeout", *RECEIVER_KEYS[kind]}
        for key in item:
            if key not in allowed:
                raise FuseboardError(f"{where}: unknown key {key!r} for kind {kind} (known: "
                                     f"{', '.join(sorted(allowed))}) ({path})")
        for key in allowed - {"max_tries", "timeout"}:
            if key in item and not isinstance(item[key], str):
                raise FuseboardError(f"{where}: {key} must be a string ({path})")
        name = item.get("name") or kind
        if not name.replace("-", "").replace("_", "").isalnum() or len(name) > 64:
            raise FuseboardError(f"{where}: name {name!r} must be letters, digits, - and _ ({path})")
        if any(r.name == name for r in out):
            raise FuseboardError(f"{where}: two receivers are named {name!r}; give each a name ({path})")
        url = item.get("url", "")
        if kind in ("alertmanager", "webhook") and not url:
            raise FuseboardError(f"{where}: a {kind} receiver needs url ({path})")
        if url:
            from urllib.parse import urlsplit

            from fuseboard.http import secret_in_url

            if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
                raise FuseboardError(f"{where}: url must be an http(s) URL, not {url!r} ({path})")
            leak = secret_in_url(url)
            if leak:
                raise FuseboardError(f"{where}: url must not carry credentials (its {leak}); name the environment "
                                     f"variable that holds them ({path})")
        if item.get("min_severity", "") not in ("", "warn", "crit"):
            raise FuseboardError(f"{where}: min_severity is warn or crit ({path})")
        tries = item.get("max_tries", 24)
        if not isinstance(tries, int) or isinstance(tries, bool) or not 1 <= tries <= 1000:
            raise FuseboardError(f"{where}: max_tries is a whole number from 1 to 1000 ({path})")
        timeout = item.get("timeout", 10.0)
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0.1 <= timeout <= 120:
            raise FuseboardError(f"{where}: timeout is seconds from 0.1 to 120 ({path})")
        env = {**_DEFAULT_ENV.get(kind, {}), **{k: item[k] for k in RECEIVER_KEYS[kind] if k.endswith("_env")
                                                 and k in item}}
        out.append(ReceiverSpec(name, kind, url, env, item.get("console_url", ""), item.get("min_severity", ""),
                                tries, float(timeout)))
    return out


@dataclass
class Config:
    """The user's settings, read from ``config.toml``."""

    path: Path
    db: str | None = None
    theme: str | None = None
    artifacts: str | None = None
    keymap: dict[str, str] = field(default_factory=dict)
    receivers: list[ReceiverSpec] = field(default_factory=list)  # [[notify.receiver]], and [notify] webhook
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
        if not isinstance(notify.get("receiver", []), list):
            raise FuseboardError(f"[[notify.receiver]] must be an array of tables ({path})")
        receivers = _receivers(notify.get("receiver", []), path)
        if notify.get("webhook"):
            if any(r.name == "webhook" for r in receivers):
                raise FuseboardError(f"[notify] webhook and a receiver named 'webhook' clash; rename the receiver "
                                     f"({path})")
            token = notify.get("token", "")
            if not isinstance(token, str):
                raise FuseboardError(f"[notify] token must be a string ({path})")
            receivers.insert(0, ReceiverSpec("webhook", "webhook", notify["webhook"], dict(_DEFAULT_ENV["webhook"]),
                                             token=token))
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
            receivers=receivers,
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


def resolve_db_url(cli_value: str | None, config: Config) -> str:
    if cli_value:
        return cli_value
    env = os.environ.get("FUSEBOARD_DB")
    if env:
        return env
    if config.db:
        return config.db
    return default_db_url()
