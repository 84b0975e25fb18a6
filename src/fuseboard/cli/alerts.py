"""Alerts: ``alerts`` lists them; ``alerts ack``, ``alerts resolve`` and ``alerts silence`` act on them
(``fuseboard silence``, the older spelling, still runs ``alerts silence``)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import click

from fuseboard.cli.base import (Context, actor, confirm, emit_json, glyph, json_option, pass_ctx, reason_option,
                                yes_option)
from fuseboard.cli.params import ID
from fuseboard.text import visible

if TYPE_CHECKING:
    from fuseboard.monitoring.alerts import AlertView


def alert_who(v: AlertView, now: datetime) -> str:
    """Who acted on an alert and when, put before its summary in ``fuseboard alerts``: ``acked by ana at 03:12 · ``."""
    from fuseboard.cli.table import short_time

    if v.state == "resolved":
        return f"resolved by {v.resolved_by} at {short_time(v.resolved_at, now)} · " if v.resolved_by else ""
    said = []
    if v.silenced:
        said.append(f"silenced by {v.silenced_by} until {short_time(v.silenced_until, now)}")
    if v.escalated_to:
        said.append(f"escalated to {v.escalated_to}")
    if v.state == "acknowledged":
        said.append(f"acked by {v.acknowledged_by}"
                    + (f" at {short_time(v.acknowledged_at, now)}" if v.acknowledged_at else ""))
    return "".join(f"{x} · " for x in said)


@click.group("alerts", invoke_without_command=True)
@click.option("--all", "include_resolved", is_flag=True, help="Include resolved alerts.")
@click.option("--wide", is_flag=True, help="Whole summaries and who acted when, however wide.")
@json_option
@click.pass_context
def alerts_cmd(click_ctx: click.Context, include_resolved: bool, wide: bool, as_json: bool) -> None:
    """List open alerts (firing and acknowledged), worst first: who acknowledged or silenced them, how
    often they flapped; --json adds each model's owner, who is on call and its runbook."""
    if click_ctx.invoked_subcommand is not None:
        return
    from fuseboard.clock import utcnow
    from fuseboard.ops.quick import quick_alerts

    now = utcnow()
    ctx: Context = click_ctx.obj
    views = ctx.quick_read(quick_alerts, include_resolved=include_resolved, now=now)  # SQLite: no SQLAlchemy
    if views is None:
        from fuseboard.ops.incident import alert_views

        views = alert_views(ctx.readable(), include_resolved=include_resolved, now=now)
    if as_json:
        emit_json([v.as_dict() for v in views])
        return
    if not views:
        click.echo("no open alerts")
        return
    from fuseboard.cli.table import Column, echo_table, short_time

    columns = [Column("id", right=True), Column("sev"), Column("deployment"), Column("check"), Column("since"),
               Column("flaps", right=True), Column("state"), Column("summary")]
    rows = [[str(v.id), f"{glyph(v.severity)} {v.severity}", f"{v.model}/{v.environment}", v.check,
             short_time(v.opened_at, now), f"×{v.flaps}" if v.flaps else "",
             "silenced" if v.silenced and v.state != "resolved" else "acked" if v.state == "acknowledged" else v.state,
             alert_who(v, now) + v.summary]
            for v in views]
    if not any(v.flaps for v in views):
        columns.pop(5)
        for row in rows:
            row.pop(5)
    echo_table(columns, rows, wide=wide, title=f"{len(views)} alert(s)")


@alerts_cmd.command("ack")
@click.argument("alert_id", type=ID)
@reason_option
@pass_ctx
def alerts_ack(ctx: Context, alert_id: int, reason: str) -> None:
    """Acknowledge an alert: you are on it."""
    from fuseboard.monitoring.alerts import acknowledge

    alert = acknowledge(ctx.writable(), alert_id, actor=actor(), origin="cli", reason=reason)
    click.echo(visible(f"alert {alert.id} ({alert.fingerprint}) acknowledged by {alert.acknowledged_by}"))


@alerts_cmd.command("resolve")
@click.argument("alert_id", type=ID)
@click.option("--note", required=True, help="What was done; kept with the alert and audited.")
@yes_option
@pass_ctx
def alerts_resolve(ctx: Context, alert_id: int, note: str, yes: bool) -> None:
    """Resolve an alert by hand, with a note."""
    from fuseboard.monitoring.alerts import resolve
    from fuseboard.ops.views import alert_brief

    ws = ctx.writable()
    found = alert_brief(ws, alert_id)
    if found is not None and found.state != "resolved" and note.strip():  # (else resolve() says why not)
        confirm(f"resolve alert {alert_id} ({found.fingerprint}, {found.severity}) by hand", yes)
    alert = resolve(ws, alert_id, actor=actor(), origin="cli", note=note)
    click.echo(visible(f"alert {alert.id} ({alert.fingerprint}) resolved by {alert.resolved_by}"))


@alerts_cmd.command("silence")
@click.argument("model")
@click.option("--env", "env", required=True)
@click.option("--for", "duration", required=True, help="How long: 30m, 2h, 1d (at most 30d).")
@click.option("--from", "start", default="now", show_default=True,
              help="When it starts: a time (2026-12-06T02:00, local unless it names a zone) or +2h from now.")
@click.option("--every", help="Repeat the window this often (1d, 1w): a maintenance window, until "
                              "`alerts unsilence` ends it.")
@click.option("--comment", required=True, help="Why; shown with the silenced alerts and audited.")
@click.option("--check", type=click.Choice(["drift", "multivariate_drift", "prediction_drift", "estimated_performance",
                                             "performance", "quality", "staleness", "health"]),
              help="Only this check (default: all).")
@yes_option
@pass_ctx
def silence_cmd(ctx: Context, model: str, env: str, duration: str, start: str, every: str | None, comment: str,
                check: str | None, yes: bool) -> None:
    """Silence a deployment's alerts for a while (they still open and resolve, muted)."""
    from fuseboard.monitoring.alerts import parse_duration, parse_every, parse_start, silence
    from fuseboard.ops.views import serves_protected

    length, starts = parse_duration(duration), parse_start(start)
    period = parse_every(every) if every is not None else None
    ws = ctx.writable()
    protected = serves_protected(ws, model, env)
    when = "" if start == "now" else f" from {starts.astimezone():%Y-%m-%d %H:%M %Z}"
    repeat = f", every {every}" if every else ""
    if protected and comment.strip():  # muting prod's alerts: asked (else silence() says why not)
        confirm(f"silence {check or 'all checks'} of {model} in {env} (protected) for {duration}{when}{repeat}", yes)
    item = silence(ws, model, env, length, comment=comment, actor=actor(), origin="cli", check=check,
                   starts_at=starts, every=period)
    click.echo(visible(f"silenced {check or 'all checks'} of {model} in {env}{when} until "
                       f"{item.ends_at.astimezone().strftime('%Y-%m-%d %H:%M %Z')}{repeat} (silence {item.id}; "
                       f"`fuseboard alerts unsilence {item.id}` ends it)"))


@alerts_cmd.command("silences")
@json_option
@pass_ctx
def silences_cmd(ctx: Context, as_json: bool) -> None:
    """List silences in force and maintenance windows to come, soonest first."""
    from fuseboard.cli.table import Column, echo_table, short_time
    from fuseboard.monitoring.silences import listed

    now = datetime.now().astimezone()
    views = listed(ctx.readable())
    if as_json:
        emit_json([v.as_dict() for v in views])
        return
    rows = [[str(v.id), f"{v.model}/{v.environment}", v.check or "all",
             "now" if v.active else short_time(v.starts_at, now), short_time(v.ends_at, now),
             f"every {v.every}" if v.every else "", v.author, v.comment] for v in views]
    echo_table([Column("id", right=True), Column("deployment"), Column("check"), Column("from"), Column("until"),
                Column("repeat"), Column("by"), Column("comment")], rows, title=f"{len(views)} silence(s)")


@alerts_cmd.command("unsilence")
@click.argument("silence_id", type=ID)
@reason_option
@yes_option
@pass_ctx
def unsilence_cmd(ctx: Context, silence_id: int, reason: str, yes: bool) -> None:
    """End a silence or a maintenance window now (its alerts are announced again)."""
    from fuseboard.monitoring.alerts import unsilence

    ws = ctx.writable()
    confirm(f"end silence {silence_id}", yes)
    item = unsilence(ws, silence_id, actor=actor(), origin="cli", reason=reason)
    click.echo(f"silence {item.id} ended")
