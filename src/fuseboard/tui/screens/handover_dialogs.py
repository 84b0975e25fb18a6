"""The checklist's own modals: an item whole (enter) and the sign dialog (s).

The item view shows what ``fuseboard handover show`` prints for it (ops.handover.export.item_lines):
what it asks and why, its state and who ticked it, every piece of evidence with who gave it and
when, and for an item fuseboard verifies what it checked, found and what would make it pass.

The sign dialog says what signing means before anything is signed: the side you sign for, the items
satisfied and those still open, what happens next (ownership moves, or the other side still has
to sign); or exactly why you cannot sign. Cancel has the focus; ``y`` signs, ``n``/esc cancel.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from fuseboard.text import visible

if TYPE_CHECKING:
    from fuseboard.ops.handover import ItemView, SignPlan


def render_item(item: ItemView) -> Table:
    """A checklist item whole, as label / text rows that wrap (text from outside made visible)."""
    from fuseboard.ops.handover.export import item_lines

    table = Table(box=None, show_header=False, padding=(0, 1, 0, 0), expand=True)
    table.add_column(style="bold", no_wrap=True, width=9)
    table.add_column(ratio=1, overflow="fold")
    for label, text in item_lines(item):
        style = "bold" if label in ("state", "to pass") and not item.done else ""
        table.add_row(Text(label), Text(visible(text), style=style))
    return table


class ItemScreen(ModalScreen[None]):
    """One checklist item whole, in a scrollable box; esc, enter or q closes it."""

    BINDINGS = [
        Binding("escape,q,enter", "dismiss", "Close", id="entry.close", tooltip="close this item"),
        Binding("j,down", "scroll('down')", "Down", show=False, id="entry.down", tooltip="scroll down"),
        Binding("k,up", "scroll('up')", "Up", show=False, id="entry.up", tooltip="scroll up"),
    ]

    def __init__(self, model: str, item: ItemView) -> None:
        super().__init__()
        self.model, self.item = model, item

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="entry-box", classes="item-box"):
            yield Static(Text.assemble((visible(f"{self.model} › {self.item.key}"), "bold"),
                                       ("   esc closes", "dim")), id="entry-title")
            yield Static(render_item(self.item), id="entry-body")

    def on_mount(self) -> None:
        self.query_one("#entry-box").focus()

    def action_scroll(self, where: str) -> None:
        from fuseboard.tui.common import scroll

        scroll(self.query_one("#entry-box", VerticalScroll), where)


def _keys(items: list[ItemView]) -> str:
    return ", ".join(i.key for i in items) or "none"


def sign_text(plan: SignPlan) -> Group:
    """What signing means for this person now, or why they cannot sign (the dialog's body)."""
    from fuseboard.ops.handover.export import rejection

    v = plan.view
    parts: list[Text] = []
    if plan.refusal:
        parts.append(Text(visible(f"✖ You cannot sign: {plan.refusal}."), style="bold"))
    if plan.side is not None:
        team = v.from_team if plan.side == "giving" else v.to_team
        verb = "would sign" if plan.refusal else "sign"
        parts.append(Text(visible(f"You ({plan.actor}, {team}) {verb} for the {plan.side} side.")))
    elif not plan.refusal:
        parts.append(Text(visible(f"You are {plan.actor} ({plan.team or 'no team'}).")))
    if plan.resubmit and not plan.refusal:
        parts.append(Text(visible(rejection(v)), style="bold"))
        parts.append(Text("Signing puts it back in review first (a resubmission, audited)."))
    done, total = v.progress
    parts.append(Text(visible(f"● satisfied ({len(plan.satisfied)}; {done}/{total} required): "
                              f"{_keys(plan.satisfied)}")))
    if plan.open_required:
        parts.append(Text(visible(f"✖ open, required ({len(plan.open_required)}): {_keys(plan.open_required)}"),
                          style="bold"))
    if plan.open_optional:
        parts.append(Text(visible(f"○ open, optional ({len(plan.open_optional)}): {_keys(plan.open_optional)}")))
    if not plan.refusal:
        parts.append(Text(""))
        if plan.completes:
            parts.append(Text(visible(f"Then ownership of {v.model} moves from {v.from_team or 'nobody'} to "
                                      f"{v.to_team}."), style="bold"))
        else:
            waiting = " and ".join(plan.waiting_for)
            others = [v.from_team if s == "giving" else v.to_team for s in plan.waiting_for]
            parts.append(Text(visible(f"Then the {waiting} side ({', '.join(t or '-' for t in others)}) signs; "
                                      f"ownership moves when both have.")))
        parts.append(Text("Any change to the checklist later clears the signatures.", style="dim"))
    return Group(*parts)


class SignDialog(ModalScreen[bool | None]):
    """Signing explained, then confirmed (``y``) or cancelled; a refusal shows only Close."""

    BINDINGS = [
        Binding("escape,n", "cancel", "Cancel", id="change.cancel", tooltip="close without signing"),
        Binding("y", "confirm", "Sign", id="change.confirm", tooltip="sign for your side"),
    ]

    def __init__(self, plan: SignPlan) -> None:
        super().__init__()
        self.plan = plan
        self.shown_at = time.monotonic()

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(visible(f"Sign the handover of {self.plan.view.model}"), style="bold"),
                         id="dialog-title")
            yield VerticalScroll(Static(sign_text(self.plan)), id="dialog-what")
            with Horizontal(id="dialog-buttons"):
                yield Button("Close" if self.plan.refusal else "Cancel", id="cancel", compact=True)
                if not self.plan.refusal:
                    yield Button("Sign (y)", id="submit", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#cancel", Button))  # a simple confirmation: Cancel has the focus
        self.shown_at = time.monotonic()

    def on_key(self, event: Any) -> None:
        """``y`` typed in the same burst as ``s`` (before the dialog was on screen) signs nothing: read
        first. Key events carry when they were typed (Textual's clock is ``time.monotonic``)."""
        if event.key == "y" and event.time < self.shown_at:
            event.stop()
            event.prevent_default()
            self.notify("read what signing means, then press y", timeout=4)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action == "confirm" and self.plan.refusal)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_confirm(self) -> None:
        if not self.plan.refusal:
            self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#submit")
    def _sign(self) -> None:
        self.action_confirm()
