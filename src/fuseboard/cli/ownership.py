"""Who owns what and who is on call: ``teams``, ``people``, ``rota``, ``ownership check``, ``handover``,
``shift`` and ``signoff`` (user acceptance by the business or IT side)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from fuseboard.cli.base import Context, emit_json, json_option, moment, pass_ctx, reason_option
from fuseboard.cli.base import actor as _actor
from fuseboard.cli.params import VERSION
from fuseboard.errors import FuseboardError
from fuseboard.text import visible

if TYPE_CHECKING:
    from fuseboard.ops.handover import HandoverView
    from fuseboard.ops.oncall import Turn


@click.group("teams", invoke_without_command=True)
@json_option
@click.pass_context
def teams_cmd(click_ctx: click.Context, as_json: bool) -> None:
    """List teams: kind, who is on call now and next, members and how many models they own."""
    if click_ctx.invoked_subcommand is not None:
        return
    from dataclasses import asdict

    from fuseboard.ops.oncall import on_call
    from fuseboard.ops.views import team_rows

    ws = click_ctx.obj.readable()
    rows = team_rows(ws)
    calls = {c.team: c for c in on_call(ws)}
    if as_json:
        emit_json([{**asdict(r), **{k: v for k, v in calls[r.name].as_dict().items() if k != "name"}}
                   for r in rows])
        return
    from fuseboard.cli.table import Column, echo_table

    def who(turn: Turn | None) -> str:
        if turn is None:
            return "-"
        return f"{turn.person} until {turn.end.astimezone():%a %H:%M}" if turn.source != "override" else \
            f"{turn.person} (override) until {turn.end.astimezone():%a %H:%M}"

    table = []
    for r in rows:
        c = calls[r.name]
        table.append([r.name, r.kind, who(c.now) if c.has_rota else "no rota", who(c.next) if c.has_rota else "-",
                      str(r.models_owned), ", ".join(r.members) or "-"])
    echo_table([Column("team"), Column("kind"), Column("on call now"), Column("next"), Column("models", right=True),
                Column("members")], table, title=f"{len(rows)} teams")


@teams_cmd.command("add")
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(["data-science", "ml-engineering", "it-operations"]))
@click.option("--description", default="")
@reason_option
@pass_ctx
def teams_add(ctx: Context, name: str, kind: str, description: str, reason: str) -> None:
    """Add a team."""
    from fuseboard.ops.teams import add_team

    add_team(ctx.writable(create=True), name, kind, description=description, actor=_actor(), origin="cli",
             reason=reason)
    click.echo(visible(f"added team {name} ({kind})"))


@click.group("people", invoke_without_command=True)
@json_option
@click.pass_context
def people_cmd(click_ctx: click.Context, as_json: bool) -> None:
    """List people with their team and contact details."""
    if click_ctx.invoked_subcommand is not None:
        return
    from fuseboard.ops.teams import people

    rows = [p.as_dict() for p in people(click_ctx.obj.readable())]
    if as_json:
        emit_json(rows)
        return
    from fuseboard.cli.table import Column, echo_table

    echo_table([Column("handle"), Column("name"), Column("team"), Column("phone"), Column("email")],
               [[r["handle"], r["name"], r["team"] or "-", r["phone"], r["email"]] for r in rows], long_min=20)


@people_cmd.command("add")
@click.argument("handle")
@click.option("--name", required=True, help="Full name.")
@click.option("--team", required=True, help="The team they belong to.")
@click.option("--email", default="")
@click.option("--phone", default="")
@reason_option
@pass_ctx
def people_add(ctx: Context, handle: str, name: str, team: str, email: str, phone: str, reason: str) -> None:
    """Add a person (HANDLE is their login name, which is how fuseboard knows who signs)."""
    from fuseboard.ops.teams import add_person

    add_person(ctx.writable(), handle, name, team, email=email, phone=phone, actor=_actor(), origin="cli",
               reason=reason)
    click.echo(visible(f"added {handle} ({name}) to {team}"))


@click.group("rota")
def rota_cmd() -> None:
    """A team's on-call rotation, shifts and overrides."""


@rota_cmd.command("set")
@click.argument("team")
@click.option("--members", required=True, help="Handles in turn order, comma-separated: alice,bob,carol.")
@click.option("--start", "start", required=True, help="When the first turn starts (ISO 8601, local unless zoned).")
@click.option("--length", "length_days", default=7, show_default=True, type=click.IntRange(1, 28),
              help="Days per turn.")
@click.option("--tz", "tz", default=None,
              help="Time zone turns hand over in (IANA name, e.g. Europe/London; default UTC); a --start without a "
              "zone is then a time in it.")
@reason_option
@pass_ctx
def rota_set(ctx: Context, team: str, members: str, start: str, length_days: int, tz: str | None,
             reason: str) -> None:
    """Give TEAM a weekly (or N-day) rotation (audited); turns hand over at the start's local time in --tz."""
    from datetime import datetime, timezone

    from fuseboard.ops.oncall import set_rotation, zone

    handles = [m.strip() for m in members.split(",") if m.strip()]
    place = zone(tz or "UTC")
    try:
        given = datetime.fromisoformat(start.strip())
    except ValueError:
        given = None
    if tz and given is not None and given.tzinfo is None:  # a wall-clock time in the rota's zone
        when = given.replace(tzinfo=place).astimezone(timezone.utc)
    else:
        when = moment(start, "--start")
    set_rotation(ctx.writable(), team, handles, when, length_days=length_days, tz=tz or "UTC", actor=_actor(),
                 origin="cli", reason=reason)
    click.echo(visible(f"{team}: {' -> '.join(handles)}, {length_days} days each, handing over at "
                       f"{when.astimezone(place):%a %H:%M} {tz or 'UTC'}"))


def _shift(ctx: Context, team: str, person: str, start: str, end: str, note: str, kind: str) -> None:
    from fuseboard.ops.oncall import add_shift

    item = add_shift(ctx.writable(), team, person, moment(start, "--from"), moment(end, "--to"), kind=kind,
                     actor=_actor(), origin="cli", note=note)
    click.echo(visible(f"{team}: {person} on call {item.starts_at.astimezone():%Y-%m-%d %H:%M} to "
                       f"{item.ends_at.astimezone():%Y-%m-%d %H:%M %Z} ({kind})"))


@rota_cmd.command("shift")
@click.argument("team")
@click.option("--person", required=True)
@click.option("--from", "start", required=True, help="ISO 8601 (local unless zoned).")
@click.option("--to", "end", required=True)
@click.option("--note", default="")
@pass_ctx
def rota_shift(ctx: Context, team: str, person: str, start: str, end: str, note: str) -> None:
    """An explicit shift: PERSON on call for TEAM in that window (wins over the rotation)."""
    _shift(ctx, team, person, start, end, note, "shift")


@rota_cmd.command("override")
@click.argument("team")
@click.option("--person", required=True)
@click.option("--from", "start", required=True)
@click.option("--to", "end", required=True)
@click.option("--note", default="", help="Why (a swap, sick cover).")
@pass_ctx
def rota_override(ctx: Context, team: str, person: str, start: str, end: str, note: str) -> None:
    """An override (a swap, sick cover): wins over shifts and the rotation."""
    _shift(ctx, team, person, start, end, note, "override")


@click.group("ownership")
def ownership_cmd() -> None:
    """The ownership policy."""


@ownership_cmd.command("check")
@json_option
@pass_ctx
def ownership_check(ctx: Context, as_json: bool) -> None:
    """List every model that breaks the ownership policy and why; exit 3 when any does."""
    from fuseboard.ops.handover import check_policy, policy

    found = check_policy(ctx.readable(), policy(ctx.load_config().raw))
    if as_json:
        emit_json([v.as_dict() for v in found])
    elif not found:
        click.echo("every model meets the ownership policy")
    else:
        for v in found:
            click.echo(visible(f"✖ {v.model} ({v.criticality}, owner {v.owner or '-'}): {'; '.join(v.problems)}"))
    if found:
        sys.exit(3)


@click.group("handover")
def handover_cmd() -> None:
    """Hand a model from its builders to its operators, by checklist."""


def _wrapped(label: str, text: str, room: int) -> list[str]:
    """``label`` then ``text`` (made visible) wrapped within ``room`` columns, under its own indent."""
    import textwrap

    lead = f"    {label:<9} "
    return textwrap.wrap(visible(text), max(20, room), initial_indent=lead, subsequent_indent=" " * len(lead),
                         break_long_words=True, break_on_hyphens=False) or [lead.rstrip()]


def _print_view(view: HandoverView) -> None:
    """The checklist with every item whole (as the console's item view shows it), wrapped to the terminal
    (80 columns when there is none)."""
    import textwrap

    from fuseboard.cli.table import width
    from fuseboard.ops.handover.export import item_lines, mark, rejection, when

    room = width()
    done, total = view.progress
    say = lambda text: click.echo("\n".join(textwrap.wrap(visible(text), room, subsequent_indent="  ")))  # noqa: E731
    if view.state == "rejected":  # what the other side must read first
        say(rejection(view))
    say(f"handover of {view.model} ({view.criticality}) from {view.from_team or '-'} to {view.to_team}: "
        f"{view.state.replace('_', ' ')}, {done} of {total} required items satisfied")
    for i in view.items:
        click.echo("")
        say(f"{mark(i)} {i.key}  {i.text}" + ("" if i.required else " (optional)"))
        for label, text in item_lines(i)[2:]:  # (the key and the question are in the line above)
            for line in _wrapped(label, text, room):
                click.echo(line)
    click.echo("")
    sides = ["giving", "receiving"] if view.from_team else ["receiving"]
    say("signed: " + "; ".join(
        f"{side} {view.signatures[side]}" + (f" on {when(view.signed_at[side])}" if side in view.signed_at else "")
        if side in view.signatures else f"{side} not yet" for side in sides))


def _out(view: HandoverView, as_json: bool, message: str = "") -> None:
    if as_json:
        emit_json(view.as_dict())
    else:
        if message:
            click.echo(visible(message))
        _print_view(view)


@handover_cmd.command("start")
@click.argument("model")
@click.option("--to", "team", required=True, help="The receiving team.")
@click.option("--template", help="Checklist template (default: the model's criticality tier).")
@reason_option
@json_option
@pass_ctx
def handover_start(ctx: Context, model: str, team: str, template: str | None, reason: str, as_json: bool) -> None:
    """Start a handover of MODEL to a team from its tier's checklist."""
    from fuseboard.ops import handover

    view = handover.start(ctx.writable(), model, team, actor=_actor(), origin="cli", template=template, reason=reason)
    _out(view, as_json, f"started the handover of {model} to {team}")


@handover_cmd.command("show")
@click.argument("model")
@json_option
@pass_ctx
def handover_show(ctx: Context, model: str, as_json: bool) -> None:
    """The checklist, every item whole (what it asks and why, its evidence with who gave it and when,
    earlier evidence, who ticked it; what fuseboard checked and what would make it pass), with the
    automatic items re-checked now; a rejection comes first."""
    from fuseboard.ops import handover

    _out(handover.show(ctx.readable(), model), as_json)


@handover_cmd.command("check")
@click.argument("model")
@click.argument("item", required=False)
@click.option("--evidence", help="Evidence for the item (text or a link).")
@click.option("--undo", is_flag=True, help="Untick the item.")
@json_option
@pass_ctx
def handover_check(ctx: Context, model: str, item: str | None, evidence: str | None, undo: bool,
                   as_json: bool) -> None:
    """Tick ITEM as satisfied (with --evidence), or without ITEM list what is still missing (exit 3 if any)."""
    from fuseboard.ops import handover

    if item is None:
        view = handover.show(ctx.readable(), model)
        missing = view.required_open
        if as_json:
            emit_json({"model": model, "state": view.state, "missing": [i.key for i in missing]})
        elif missing:
            click.echo(visible(f"{len(missing)} required item(s) missing: " + ", ".join(i.key for i in missing)))
        else:
            click.echo("every required item is satisfied")
        if missing:
            sys.exit(3)
        return
    view = handover.tick(ctx.writable(), model, item, actor=_actor(), origin="cli", evidence=evidence, done=not undo)
    _out(view, as_json, f"{'unticked' if undo else 'ticked'} {item}")


@handover_cmd.command("evidence")
@click.argument("model")
@click.argument("item")
@click.argument("text")
@json_option
@pass_ctx
def handover_evidence(ctx: Context, model: str, item: str, text: str, as_json: bool) -> None:
    """Record evidence (text or a link) for ITEM without ticking it."""
    from fuseboard.ops import handover

    _out(handover.set_evidence(ctx.writable(), model, item, text, actor=_actor(), origin="cli"), as_json,
         f"evidence recorded for {item}")


@handover_cmd.command("submit")
@click.argument("model")
@json_option
@pass_ctx
def handover_submit(ctx: Context, model: str, as_json: bool) -> None:
    """Put a draft or rejected handover (back) in review."""
    from fuseboard.ops import handover

    _out(handover.submit(ctx.writable(), model, actor=_actor(), origin="cli"), as_json, "in review")


@handover_cmd.command("sign")
@click.argument("model")
@json_option
@pass_ctx
def handover_sign(ctx: Context, model: str, as_json: bool) -> None:
    """Sign for your team's side; with both sides signed, ownership moves to the receiving team."""
    from fuseboard.ops import handover

    view = handover.sign(ctx.writable(), model, actor=_actor(), origin="cli")
    _out(view, as_json, f"ownership of {model} moved to {view.to_team}" if view.state == "transferred"
         else "signed")


@handover_cmd.command("reject")
@click.argument("model")
@click.option("--reason", required=True, help="What must change before it is accepted.")
@json_option
@pass_ctx
def handover_reject(ctx: Context, model: str, reason: str, as_json: bool) -> None:
    """Send the handover back (receiving team only), with a reason."""
    from fuseboard.ops import handover

    _out(handover.reject(ctx.writable(), model, reason, actor=_actor(), origin="cli"), as_json, "rejected")


@handover_cmd.command("export")
@click.argument("model")
@click.option("--out", "out", type=click.Path(path_type=Path), help="Write to this file instead of stdout.")
@pass_ctx
def handover_export(ctx: Context, model: str, out: Path | None) -> None:
    """The checklist as Markdown, for a ticket or a wiki."""
    from fuseboard.ops import handover

    text = handover.markdown(handover.show(ctx.readable(), model))
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        raise FuseboardError(f"cannot write {out}: {exc.strerror}") from None
    click.echo(visible(f"wrote {out}"))


@click.command("shift")
@click.option("--team", help="Whose shift (default: your team's, else the first team with someone on call).")
@click.option("--since", help="From this time instead of the shift's start (ISO 8601 or an age such as 8h).")
@json_option
@pass_ctx
def shift_cmd(ctx: Context, team: str | None, since: str | None, as_json: bool) -> None:
    """What changed since the current on-call shift began: deploys, rollbacks, alerts, handovers."""
    from fuseboard.ops.handover import shift_summary

    summary = shift_summary(ctx.readable(), team, since=moment(since, "--since") if since is not None else None, actor=_actor())
    if as_json:
        emit_json(summary.as_dict())
        return
    head = f"since {summary.since.astimezone():%Y-%m-%d %H:%M %Z}"
    if summary.team:
        head = f"{summary.team}, {summary.person or 'nobody'} on call, " + head
    from datetime import datetime

    from fuseboard.cli.table import cut, width

    def when(text: str) -> str:
        return datetime.fromisoformat(text).astimezone().strftime("%a %H:%M")

    def span(group: dict) -> str:
        times = f"×{group['count']}, " if group["count"] > 1 else ""
        first, last = when(group["first"]), when(group["last"])
        return f"{times}{first}" + (f"-{last[4:] if last[:3] == first[:3] else last}" if last != first else "")

    def say(text: str) -> None:
        click.echo(cut(visible(text), width()))

    say(f"Shift summary: {head}")
    say(f"{len(summary.alerts_opened)} alerts opened, {len(summary.alerts_resolved)} resolved, "
        f"{summary.still_open} still open")
    if summary.people:
        click.echo("people")
    for e in summary.people:
        say(f"  {span(e)} {e['actor']} {e['action']} {e['target']}" + (f" ({e['reason']})" if e["reason"] else ""))
    if summary.alerts_opened or summary.alerts_resolved:
        click.echo("alerts")
    for a in summary.alerts_grouped:
        say(f"  opened   {a['severity']} {a['model']}/{a['environment']} {a['check']} {span(a)}: {a['summary']}")
    for a in summary.alerts_resolved:
        say(f"  resolved {a['model']}/{a['environment']} {a['check']}")
    if summary.machine:
        click.echo("fuseboard itself")
    for e in summary.machine:
        say(f"  {e['action']} {span(e)}: {', '.join(e['targets'])}")
    if summary.handovers:
        click.echo("handovers")
    for h in summary.handovers:
        say(f"  {h['model']} → {h['to_team']}: {h['state'].replace('_', ' ')} ({', '.join(h['steps'])})")


@click.command("signoff")
@click.argument("model")
@click.argument("version", type=VERSION)
@click.option("--as", "side", required=True, type=click.Choice(["business", "it"]), help="Which side signs.")
@click.option("--note", default="", help="What was accepted (recorded with the sign-off).")
@json_option
@pass_ctx
def signoff_cmd(ctx: Context, model: str, version: int, side: str, note: str, as_json: bool) -> None:
    """Record user-acceptance sign-off of VERSION by the business or IT side (a promotion gate)."""
    from fuseboard.ops.gates import signoff

    item = signoff(ctx.writable(), model, version, side, actor=_actor(), origin="cli", note=note)
    if as_json:
        emit_json({"model": model, "version": version, "side": side, "signed_by": item.signed_by,
                   "signed_at": item.signed_at.isoformat(), "note": note})
    else:
        click.echo(visible(f"signed off: {model} v{version} by {item.signed_by} for {side}"))
