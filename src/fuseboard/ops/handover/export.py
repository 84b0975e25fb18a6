"""A handover's checklist as text: an item whole (``item_lines``, the same in the console's item view
and ``fuseboard handover show``), its mark in a list, and the whole checklist as Markdown."""

from __future__ import annotations

from datetime import datetime

from fuseboard.ops.handover.reading import HandoverView, ItemView
from fuseboard.ops.handover.templates import GROUPS
from fuseboard.store.models import HandoverState
from fuseboard.text import markdown_evidence as _md_evidence
from fuseboard.text import markdown_safe as _md


def when(at: datetime) -> str:
    """A moment as the console and plain output show it: local time with the zone."""
    return f"{at.astimezone():%Y-%m-%d %H:%M %Z}"


def mark(item: ItemView) -> str:
    """``[x]`` ticked, ``[ ]`` open, ``[a]`` verified by fuseboard, ``[!]`` fuseboard finds it failing."""
    return ("[a]" if item.auto else "[x]") if item.done else ("[!]" if item.auto else "[ ]")


def item_state(item: ItemView) -> str:
    """Where the item stands, glyph and words: satisfied or open, required or not, who ticked it."""
    need = "required" if item.required else "optional"
    if item.auto:
        return f"● verified by fuseboard · {need}" if item.done else f"✖ failing · {need} · fuseboard verifies it"
    if item.done:
        return f"● satisfied · {need} · ticked by {item.checked_by}" + (
            f" on {when(item.checked_at)}" if item.checked_at else "")
    return f"○ open · {need} · " + ("evidence given, not ticked yet" if item.evidence else "no evidence yet")


def rejection(view: HandoverView) -> str:
    """The latest rejection in one line (who, when, why), for the top of the checklist; empty if none."""
    if view.state != HandoverState.REJECTED:
        return ""
    who = f" by {view.rejected_by}" if view.rejected_by else ""
    at = f" on {when(view.rejected_at)}" if view.rejected_at else ""
    return f"✖ rejected{who}{at}: {view.reason}"


def item_lines(item: ItemView) -> list[tuple[str, str]]:
    """An item whole, as (label, text) lines: what it asks and why, its state, how to satisfy it; the
    evidence with who gave it and when, and every earlier piece (newest first); for an item fuseboard
    verifies, what it checks, what it found and what would make it pass. Text is as stored: the
    caller makes it visible."""
    out = [("item", item.key), ("asks", item.text), ("group", item.group), ("why", item.why or "-"),
           ("state", item_state(item))]
    if item.help and not item.auto:  # (an automatic item's help says what ``checks`` says)
        out.append(("how", item.help))
    if item.auto:
        out.append(("checks", item.check or "-"))
        out.append(("found", item.evidence or "-"))
        if not item.done and item.fix:
            out.append(("to pass", item.fix))
        return out
    given = item.given
    if item.evidence:
        out.append(("evidence", item.evidence + (f" (given by {given.by} on {when(given.at)})" if given else "")))
    else:
        out.append(("evidence", "none yet"))
    for e in reversed(item.history[:-1] if given else item.history):
        out.append(("earlier", f"{e.text or '(cleared)'} (given by {e.by} on {when(e.at)})"))
    return out


def markdown(view: HandoverView) -> str:
    """The checklist as Markdown, for a ticket or a wiki page (stored text cannot add markup of its own)."""
    done, total = view.progress
    lines = [f"# Handover of {_md(view.model)} to {_md(view.to_team)}", "",
             f"- From: {_md(view.from_team) if view.from_team else '(no owner)'}",
             f"- Criticality: {_md(view.criticality)}",
             f"- Template: {_md(view.template)}", f"- State: {view.state.replace('_', ' ')}"
             + (f" ({_md(view.reason)})" if view.state == HandoverState.REJECTED and view.reason else ""),
             f"- Required items satisfied: {done} of {total}",
             f"- Started by {_md(view.created_by)} on {view.created_at:%Y-%m-%d}", ""]
    for group in GROUPS:
        items = [i for i in view.items if i.group == group]
        if not items:
            continue
        lines += [f"## {group.capitalize()}", ""]
        for i in items:
            flags = [] if i.required else ["optional"]
            if i.auto:
                flags.append("verified by fuseboard")
            tail = f" _({', '.join(flags)})_" if flags else ""
            lines.append(f"- [{'x' if i.done else ' '}] **{_md(i.text)}**{tail}")
            if i.evidence:
                who = f" ({_md(i.checked_by)}, {i.checked_at:%Y-%m-%d})" if i.checked_at and i.done else ""
                lines.append(f"  - Evidence: {_md_evidence(i.evidence)}{who}")
        lines.append("")
    lines += ["## Sign-off", ""]
    for side in ("giving", "receiving"):
        signed = view.signatures.get(side)
        lines.append(f"- {side.capitalize()} team: {_md(signed) if signed else '_not signed_'}")
    return "\n".join(lines) + "\n"

