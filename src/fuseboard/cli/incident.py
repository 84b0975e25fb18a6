"""``fuseboard incident``: a deployment as an incident, in 80 columns."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import click

from fuseboard.cli.base import Context, emit_json, glyph, json_option, pass_ctx
from fuseboard.cli.table import cut, short_time, width
from fuseboard.text import visible

if TYPE_CHECKING:
    from fuseboard.ops.incident import Contact, Incident

_when = short_time


def _contact(c: Contact | None, now: datetime) -> str:
    if c is None:
        return "nobody"
    text = f"{c.name} ({c.handle})" + (f" {c.phone}" if c.phone else "")
    return text + (f" until {c.until.astimezone():%a %H:%M}" if c.until else "")


def render(inc: Incident, now: datetime, columns: int) -> list[str]:
    """The incident as plain lines no wider than ``columns`` (text from outside made visible)."""
    from fuseboard.ops.incident import span

    def fit(text: str, indent: int = 0) -> str:
        return " " * indent + cut(visible(text), columns - indent)

    out = []
    serving = f"v{inc.serving_version}" if inc.serving_version is not None else "nothing deployed"
    out.append(fit(f"{inc.model} in {inc.environment} · {inc.criticality} · {serving}"))
    if inc.alert_id is not None:
        flaps = f", flapped {inc.flaps}x" if inc.flaps else ""
        out.append(fit(f"{glyph(inc.alert_severity)} {inc.alert_severity} {inc.alert_check} since "
                       f"{_when(inc.started_at, now)} ({span(now - inc.started_at)} ago; alert {inc.alert_id}, "
                       f"{inc.alert_state}{flaps})"))
    else:
        out.append("no open alert")
    out.append("")
    out.append("checks, worst first")
    for c in inc.checks:
        head = f"  {glyph(c.status)} {c.status:<5} {c.check:<16} "
        since = f"since {_when(c.since, now)} " if c.since and c.status not in ("ok", "none") else ""
        out.append(fit(head + since + c.summary))
    if not inc.checks:
        out.append("  no check has run on this deployment yet")
    out.append("")
    out.append(f"what changed (24h before {inc.alert_check} fired, and since)" if inc.alert_id is not None
               else "what changed (the last 24h)")
    for h in inc.changes:
        out.append(fit(f"  {_when(h.at, now):>11}  {h.relative}"))
        out.append(fit(h.text, 15))
    if not inc.changes:
        out.append("  nothing recorded")
    out.append("")
    out.append(fit(f"owner: {inc.owner_team or 'no owning team'}"))
    out.append(fit(f"on call now: {_contact(inc.on_call_now, now)}"))
    out.append(fit(f"on call next: {_contact(inc.on_call_next, now)}"))
    if inc.runbook:
        lines = inc.runbook.replace("\r\n", "\n").split("\n")  # its own lines, each made visible by fit
        out.append(fit(f"runbook: {lines[0]}"))
        out += [fit(line, 9) for line in lines[1:6]]
        if len(lines) > 6:
            out.append(fit(f"… {len(lines) - 6} more lines (--json)", 9))
    else:
        out.append(f"runbook: none (fuseboard monitoring set {inc.model} --runbook URL)")
    out.append("")
    advice = inc.rollback
    target = f" to v{advice.target_version}" if advice.target_version is not None else ""
    out.append(fit(f"rollback{target}: {advice.verdict.value}"))
    for reason in advice.reasons:
        out.append(fit(f"  - {reason}"))
    return out


@click.command("incident")
@click.argument("model")
@click.option("--env", "env", required=True, help="The environment of the deployment.")
@json_option
@pass_ctx
def incident_cmd(ctx: Context, model: str, env: str, as_json: bool) -> None:
    """MODEL in ENV as an incident: checks worst first, what changed around the alert, owner and on-call,
    the runbook, and whether a rollback is likely to help (and why)."""
    from fuseboard.clock import utcnow
    from fuseboard.ops.incident import incident

    now = utcnow()
    inc = incident(ctx.readable(), model, env, now=now)
    if as_json:
        emit_json(inc.as_dict())
        return
    for line in render(inc, now, width()):
        click.echo(line)
