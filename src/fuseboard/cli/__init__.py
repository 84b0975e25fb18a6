"""The ``fuseboard`` command line.

Global options come before the command (``fuseboard --db URL models``).
Every listing takes ``--json``; every change takes ``--reason``, and ``--yes`` where it asks first.
Errors are one line on stderr and a non-zero exit (``--debug`` for a traceback).

One module per domain, each imported only when one of its commands runs (``cli/lazy.py`` holds
the table of commands): ``models`` (register, models), ``changes`` (deploy, promote, rollback,
changes, history), ``monitoring`` (ingest, ingest-labels, ingest-profiles, check, monitor, monitoring), ``alerts``
(alerts with ack, resolve and silence), ``incident``, ``audit``, ``workspace`` (backup, workspace,
compact, envs), ``ownership`` (teams, people, rota, ownership, handover, shift, signoff) and ``demo``.
``base`` holds what they share. Heavy modules (SQLModel, scikit-learn, Textual) are imported inside
the functions that need them, so ``--help`` and the console start fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from fuseboard import __version__
from fuseboard.cli.base import Context
from fuseboard.cli.lazy import LazyGroup
from fuseboard.errors import FuseboardError
from fuseboard.text import visible

if TYPE_CHECKING:
    from fuseboard.ops.connect import Workspace
    from fuseboard.ops.demo_live import DemoLive

__all__ = ["cli", "launch_console", "main"]


def launch_console(ctx: Context, url: str, *, workspace_label: str | None = None, live_demo: bool = False) -> None:
    from fuseboard.tui.app import run

    config = ctx.load_config()
    services, intervals = None, None
    if live_demo and not ctx.read_only:
        from fuseboard.monitoring.scheduler import Intervals

        def demo_live(ws: Workspace) -> DemoLive:
            from fuseboard.ops.demo_live import DemoLive

            return DemoLive(ws)

        services = [demo_live]
        intervals = Intervals(health=5, drift=15, performance=15)  # see the scenarios within a minute
    run(url=url, config=config, read_only=ctx.read_only, theme=ctx.theme,
        workspace_label=workspace_label, monitor_intervals=intervals, services=services)


@click.group(cls=LazyGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", metavar="URL", help="Workspace database (any SQLAlchemy URL). "
              "Default: $FUSEBOARD_DB, else `db` in config.toml, else $XDG_DATA_HOME/fuseboard/fuseboard.db.")
@click.option("--read-only", is_flag=True, help="Open the workspace without changing it; change commands are refused.")
@click.option("--theme", metavar="NAME", help="Console theme (fuseboard-dark, fuseboard-light, fuseboard-high-contrast, "
              "or one of yours in $XDG_CONFIG_HOME/fuseboard/themes/).")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(__version__, prog_name="fuseboard")
@click.pass_context
def cli(click_ctx: click.Context, db: str | None, read_only: bool, theme: str | None, debug: bool) -> None:
    """fuseboard: operate machine-learning models in production from the terminal.

    With no command, opens the console on your workspace. Try `fuseboard demo`
    for a ready-made workspace with real models.
    """
    click_ctx.obj = Context(db=db, read_only=read_only, theme=theme, debug=debug)
    if click_ctx.invoked_subcommand is None:
        ctx = click_ctx.obj
        if ctx.named_by != "the default workspace":  # a mistyped --db opens no new, empty console
            _require_sqlite_file(ctx)
        launch_console(ctx, ctx.url)


def _require_sqlite_file(ctx: Context) -> None:
    """Refuse a named SQLite workspace file that does not exist (without importing SQLAlchemy: the
    console paints before that import)."""
    from urllib.parse import unquote

    url = ctx.url
    if not url.startswith("sqlite:///"):
        return
    name = unquote(url[len("sqlite:///"):].split("?", 1)[0])
    if name and name != ":memory:" and not name.startswith("file:") and not Path(name).expanduser().exists():
        raise FuseboardError(f"no workspace at {Path(name).expanduser().absolute()} ({ctx.named_by}); create one "
                             "with fuseboard register ... or fuseboard demo")


def main() -> None:
    """The console script: Click's usage errors become one ``error:`` line with exit code 2."""
    try:
        code = cli.main(prog_name="fuseboard", standalone_mode=False)
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "fuseboard"
        click.echo(visible(f"error: {exc.format_message()} (see `{where} --help`)"), err=True)
        sys.exit(2)
    except click.Abort:
        click.echo("error: cancelled; nothing changed", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        click.echo(visible(f"error: {exc.format_message()}"), err=True)
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
