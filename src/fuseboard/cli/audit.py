"""The audit trail: ``audit`` lists it, ``audit verify`` checks its hash chain and anchor."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from fuseboard.cli.base import Context, emit_json, json_option, moment, pass_ctx
from fuseboard.cli.params import Whole
from fuseboard.errors import FuseboardError
from fuseboard.text import visible


@click.group("audit", invoke_without_command=True)
@click.option("--model", help="Only this model's events (its versions and deployments too).")
@click.option("--env", "env", help="Only events of deployments in this environment.")
@click.option("--since", help="Only events since this time (ISO 8601, or an age such as 2h or 3d).")
@click.option("--target", help="Only events for this target (a model name also matches its versions and deployments).")
@click.option("--limit", default=50, show_default=True, type=Whole(1))
@click.option("--wide", is_flag=True, help="Every column, each event's change and reason whole, however wide.")
@json_option
@click.pass_context
def audit_cmd(click_ctx: click.Context, model: str | None, env: str | None, since: str | None, target: str | None,
              limit: int, wide: bool, as_json: bool) -> None:
    """Show the audit trail, newest first (`audit verify` checks its hash chain)."""
    if click_ctx.invoked_subcommand is not None:
        return
    from fuseboard.ops.views import audit_events

    ctx: Context = click_ctx.obj
    events = audit_events(ctx.readable(), target=target, limit=limit, model=model, env=env,
                          since=moment(since, "--since") if since is not None else None)
    if as_json:
        emit_json([e.as_dict() for e in events])
        return
    from fuseboard.cli.table import Column, echo_table, short_time
    from fuseboard.clock import utcnow

    now = utcnow()
    rows = [[short_time(e.at, now), e.actor, *([f"{e.origin} {e.client}".strip()] if wide else []), e.action,
             e.target, " · ".join(part for part in (e.change(), e.reason) if part)] for e in events]
    echo_table([Column("at"), Column("actor"), *([Column("from")] if wide else []), Column("action"),
                Column("target"), Column("change · reason")], rows, wide=wide,
               title="audit trail, newest first (local time; --wide for where from, --json for all)")


@audit_cmd.command("verify")
@click.option("--anchor", "anchor_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Check against this copy of the anchor (one kept on another host) instead of the workspace's.")
@json_option
@pass_ctx
def audit_verify(ctx: Context, anchor_file: Path | None, as_json: bool) -> None:
    """Check the audit trail's hash chain and its anchor: exit 1 and name the first event that was
    altered or removed (also the newest ones, and a chain re-hashed after an edit)."""
    from fuseboard.ops.audit import verify

    if anchor_file is not None and not anchor_file.is_file():
        raise FuseboardError(f"no anchor file at {anchor_file} (--anchor)")
    report = verify(ctx.readable(), anchor_file)
    if as_json:
        emit_json(report.as_dict())
    elif report.ok:
        anchored = (f"; {report.checkpointed} checkpointed in {report.anchor}"
                    + (f", {report.beyond_anchor} newer than its last checkpoint" if report.beyond_anchor else "")
                    if report.checkpointed else "")
        click.echo(visible(f"audit chain intact: {report.events} events{anchored}"))
    if report.warning and not as_json:
        click.echo(visible(f"warning: {report.warning}"), err=True)
    if not report.ok:
        if not as_json:
            click.echo(visible(f"error: audit chain broken at {report.problem}"), err=True)
        sys.exit(1)

