"""A handover's checklist as Markdown, for a ticket or a wiki page."""

from __future__ import annotations

from fuseboard.ops.handover.reading import HandoverView
from fuseboard.ops.handover.templates import GROUPS
from fuseboard.store.models import HandoverState
from fuseboard.text import markdown_evidence as _md_evidence
from fuseboard.text import markdown_safe as _md


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

