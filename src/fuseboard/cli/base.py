"""What every command shares: the Context (which workspace, read-only or not), the one-line error
handling (``FuseboardGroup``, ``with_flag``), ``emit_json``, ``confirm`` and the common options.

Nothing heavy at module level: SQLAlchemy, the store and Rich are imported inside the functions
that need them, so a command pays only for what it runs.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import click

from fuseboard.errors import FuseboardError
from fuseboard.text import visible

if TYPE_CHECKING:
    from fuseboard.config import Config
    from fuseboard.ops.connect import Workspace


@dataclass
class Context:
    db: str | None
    read_only: bool
    theme: str | None
    debug: bool
    config: Config | None = None
    _ws: Workspace | None = None

    def load_config(self) -> Config:
        if self.config is None:
            from fuseboard.config import Config

            self.config = Config.load()
            self.read_only = self.read_only or self.config.read_only  # read_only = true in config.toml
        return self.config

    @property
    def url(self) -> str:
        from fuseboard.config import resolve_db_url

        return resolve_db_url(self.db, self.load_config())

    @property
    def named_by(self) -> str:
        """Where the workspace URL came from, as an error line names it."""
        import os

        if self.db:
            return "--db"
        if os.environ.get("FUSEBOARD_DB"):
            return "FUSEBOARD_DB"
        return "config db" if self.load_config().db else "the default workspace"

    def workspace(self, *, create: bool = False) -> Workspace:
        self.load_config()
        if self._ws is None:
            from fuseboard.ops.connect import open_workspace

            cfg = self.load_config()
            self._ws = open_workspace(self.url, artifact_dir=cfg.artifacts, create=create, read_only=self.read_only,
                                      group=cfg.group, named_by=self.named_by,
                                      audit_anchor=cfg.audit_anchor)
            if self._ws.created:  # said, so that a mistyped --db is seen at once
                click.echo(visible(f"created a new workspace at {self._ws.where}"), err=True)
        return self._ws

    def quick_read(self, read: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``read`` (one of ``ops.quick``'s ``quick_*`` functions) over the light SQLite path, which
        imports no SQLAlchemy; None when that path does not apply (a server URL, an older schema, a
        workspace that cannot be written, ...) and the caller opens the workspace the normal way."""
        if self._ws is not None:
            return None
        cfg = self.load_config()
        return read(self.url, *args, read_only=self.read_only, group=cfg.group, **kwargs)

    def readable(self) -> Workspace:
        """The workspace for a command that only reads; a workspace that cannot be written is said so."""
        ws = self.workspace()
        if ws.degraded:
            saved = "; showing it as last saved" if ws.saved_copy else ""
            click.echo(visible(f"warning: read-only: {ws.degraded}{saved} ({ws.where})"), err=True)
        return ws

    def writable(self, *, create: bool = False) -> Workspace:
        """The workspace for a change; only commands that create one (register) pass ``create``."""
        self.load_config()
        if self.read_only:
            raise FuseboardError("this command changes the workspace; it is not allowed with --read-only")
        ws = self.workspace(create=create)
        if ws.degraded:
            from fuseboard.errors import WorkspaceUnwritable

            raise WorkspaceUnwritable(ws.degraded, ws.where)
        return ws


# Core fields whose flag is not simply --field-with-dashes.
FLAG_FOR_FIELD = {"duration": "--for", "db": "--db / FUSEBOARD_DB / config db", "to_team": "--to", "side": "--as",
                  "flap_period_minutes": "--flap-period"}


def with_flag(exc: FuseboardError) -> str:
    """The error's message naming the flag for the field at fault: the core names fields
    (``field="env"``), the command line speaks flags (``(--env)``)."""
    text = str(exc)
    field = getattr(exc, "field", None)
    if not field:
        return text
    flag = FLAG_FOR_FIELD.get(field) or f"--{field.replace('_', '-')}"
    import re

    said = re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text)  # the flag itself, not a longer one
    return text if said else f"{text} ({flag})"


class FuseboardGroup(click.Group):
    """Turns FuseboardError (and, without --debug, any crash) into one error line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
            _anchor_warning(ctx)
            return result
        except FuseboardError as exc:
            _anchor_warning(ctx)
            click.echo(visible(f"error: {with_flag(exc)}"), err=True)
            sys.exit(exc.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:  # `fuseboard ... | head`: the reader left; stop quietly
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(141)
        except Exception as exc:  # noqa: BLE001
            obj = ctx.obj
            if obj is not None and getattr(obj, "debug", False):
                raise
            ws = getattr(obj, "_ws", None)
            if ws is not None:  # damaged pages show up at the first query that reads them, in any command
                from fuseboard.ops.connect import damaged

                found = damaged(exc, ws.where)
                if found is not None:
                    click.echo(visible(f"error: {found}"), err=True)
                    sys.exit(found.exit_code)
            first = (str(exc).strip().splitlines() or [""])[0][:300]
            click.echo(visible(f"error: unexpected {type(exc).__name__}: {first} (run with --debug for details)"),
                       err=True)
            sys.exit(1)


def _anchor_warning(ctx: click.Context) -> None:
    """A change went into the database but its audit checkpoint could not be written: say so."""
    ws = getattr(ctx.obj, "_ws", None)
    if ws is not None and ws.anchor_problem:
        click.echo(visible(f"warning: {ws.anchor_problem}"), err=True)


def emit_json(value: object) -> None:
    def default(obj: object) -> str:
        if isinstance(obj, (date,)):
            return obj.isoformat()
        if isinstance(obj, Path):
            return str(obj)
        raise TypeError(type(obj).__name__)

    click.echo(json.dumps(value, indent=2, default=default))


def confirm(question: str, yes: bool) -> None:
    """Ask before a change; ``--yes`` skips it; no terminal and no ``--yes`` is an error."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise FuseboardError(f"{question} needs confirmation: pass --yes")
    if not click.confirm(visible(question), default=False):
        raise FuseboardError("cancelled; nothing changed")


def glyph(status: str) -> str:
    """The status glyph the console uses too (conventions.md)."""
    from fuseboard.tui.status import STATES

    return STATES.get(status, STATES["error"])[0]


def moment(text: str, option: str) -> datetime:
    """ISO 8601 (local time when no zone is given) or an age such as ``2h``, ``3d`` or ``1w2d`` ago."""
    from fuseboard.inputs import when

    return when(text, option)


def actor() -> str:
    """Who is acting (the OS login, or FUSEBOARD_USER where the workspace allows it)."""
    from fuseboard.ops.audit import current_actor

    return current_actor()


Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def with_options(options: list[Decorator]) -> Decorator:
    """Apply a list of click decorators in the order they would be written above a function."""
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            fn = option(fn)
        return fn
    return wrap


pass_ctx = click.make_pass_decorator(Context)
json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of a table.")
reason_option = click.option("--reason", default="", help="Why; recorded in the audit trail.")
yes_option = click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
