"""``fuseboard outbox``: where each notification receiver stands, its dead letters, and sending them again."""

from __future__ import annotations

from datetime import datetime

import click

from fuseboard.cli.base import Context, confirm, emit_json, json_option, pass_ctx, yes_option
from fuseboard.text import visible


@click.group("outbox", invoke_without_command=True)
@json_option
@click.pass_context
def outbox_cmd(click_ctx: click.Context, as_json: bool) -> None:
    """Notification receivers: events delivered, waiting and failed (dead letters); `outbox retry` resends."""
    if click_ctx.invoked_subcommand is not None:
        return
    from fuseboard.cli.table import Column, echo_table, short_time
    from fuseboard.ops import notify

    ctx: Context = click_ctx.obj
    config = ctx.load_config()
    ws = ctx.readable()
    states = notify.states(ws, config)
    letters = notify.dead_letters(ws)
    if as_json:
        emit_json({"receivers": [{"name": r.name, "kind": r.kind, "delivered": r.delivered, "pending": r.pending,
                                  "tries": r.tries, "last_error": r.last_error,
                                  "next_try": r.next_at.isoformat() if r.next_at else None, "dead_letters": r.dead,
                                  "problem": r.problem or None} for r in states],
                   "dead_letters": [{"id": d.id, "receiver": d.receiver, "event": d.event_id, "kind": d.kind,
                                     "key": d.key, "tries": d.tries, "error": d.error, "at": d.at.isoformat(),
                                     "retried_at": d.retried_at.isoformat() if d.retried_at else None}
                                    for d in letters]})
        return
    now = datetime.now().astimezone()
    if not states:
        click.echo("no receivers: add [[notify.receiver]] tables to the config file (see README, Notifications)")
    else:
        rows = [[r.name, r.kind, str(r.delivered), str(r.pending), str(r.dead),
                 r.problem or (f"try {r.tries} failed, next {short_time(r.next_at, now)}: {r.last_error}"
                               if r.tries else "ok")] for r in states]
        echo_table([Column("receiver"), Column("kind"), Column("sent", right=True), Column("waiting", right=True),
                    Column("dead", right=True), Column("state")], rows, title=f"{len(states)} receiver(s)")
    if letters:
        click.echo("")
        echo_table([Column("id", right=True), Column("receiver"), Column("event"), Column("about"), Column("tries",
                    right=True), Column("at"), Column("error")],
                   [[str(d.id), d.receiver, d.kind, d.key, str(d.tries), short_time(d.at, now), d.error]
                    for d in letters], title=f"{len(letters)} dead letter(s): `fuseboard outbox retry RECEIVER` "
                                             "sends them again")


@outbox_cmd.command("retry")
@click.argument("receiver")
@yes_option
@json_option
@pass_ctx
def outbox_retry(ctx: Context, receiver: str, yes: bool, as_json: bool) -> None:
    """Send RECEIVER's dead letters again now, oldest first."""
    from fuseboard.ops import notify

    config = ctx.load_config()
    ws = ctx.writable()
    waiting = [d for d in notify.dead_letters(ws, receiver)]
    if not waiting:
        if as_json:
            emit_json({"receiver": receiver, "delivered": 0, "failed": 0})
        else:
            click.echo(visible(f"{receiver}: no dead letters"))
        return
    confirm(f"send {len(waiting)} dead letter(s) to {receiver} again", yes)
    done, failed = notify.retry(ws, config, receiver)
    if as_json:
        emit_json({"receiver": receiver, "delivered": done, "failed": failed})
        return
    click.echo(visible(f"{receiver}: {done} delivered, {failed} still failing"))
    if failed:
        raise SystemExit(1)
