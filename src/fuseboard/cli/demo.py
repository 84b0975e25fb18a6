"""``fuseboard demo``: a ready-made workspace with real models, opened live."""

from __future__ import annotations

from pathlib import Path

import click

from fuseboard.cli.base import Context, pass_ctx
from fuseboard.errors import FuseboardError


@click.command()
@click.option("--path", type=click.Path(path_type=Path), help="Where to build it (default: $XDG_DATA_HOME/fuseboard/demo).")
@click.option("--no-tui", is_flag=True, help="Build the demo and print where it is instead of opening the console.")
@click.option("--reset", is_flag=True, help="Throw away an existing demo workspace and build it again.")
@pass_ctx
def demo(ctx: Context, path: Path | None, no_tui: bool, reset: bool) -> None:
    """Build the demo workspace (5 real models, teams, deployments) and open it, live.

    The demo lives in its own folder and never touches your workspace; an existing demo is reused
    unless --reset. While the console is open, sample endpoints on 127.0.0.1 serve the deployed
    versions and a traffic generator feeds rows and delayed labels: within a minute credit-risk
    drifts in prod, demand-forecast's prod endpoint turns flaky and churn-propensity performs
    worse than its baseline. All of it stops when the console quits.
    """
    import fuseboard.cli as root  # (its launch_console, looked up now: tests replace it)

    if ctx.db:
        raise FuseboardError("the demo builds its own workspace; use --path instead of --db")
    from fuseboard.ops import demo as demo_ops

    target = (path or demo_ops.default_path()).expanduser().resolve()
    ctx.load_config()
    fresh = reset or not (target / demo_ops.DB_NAME).exists()
    if ctx.read_only and fresh:
        raise FuseboardError(f"--read-only: no demo to open at {target}; build it once without --read-only")
    if target.exists() and not target.is_dir():
        raise FuseboardError(f"--path must be a folder, and {target} is a file")
    if ctx.read_only:
        root.launch_console(ctx, demo_ops.demo_url(target), workspace_label="demo")
        return
    if fresh:
        click.echo(f"building the demo workspace in {target} ...", err=True)
    built = demo_ops.build_demo(target, reset=reset)
    url = demo_ops.demo_url(built)
    if no_tui:
        click.echo(f"demo workspace: {built / demo_ops.DB_NAME}")
        click.echo(f"open it with:   fuseboard --db {url}")
        return
    root.launch_console(ctx, url, workspace_label="demo", live_demo=True)
