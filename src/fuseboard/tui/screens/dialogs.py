"""Small modal forms: the first field has focus; enter moves on and, in the last field,
submits; esc cancels. Nothing changes until a form is submitted whole."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from fuseboard.text import visible


@dataclass
class Field:
    name: str
    label: str
    value: str = ""
    placeholder: str = ""


class _Dialog(ModalScreen[dict[str, str] | None]):
    """What both dialogs share: esc and Cancel close without a change; enter moves to the next field
    and, in the last one, submits; the submit button submits. Each dialog's ``_try_submit`` checks
    its fields and dismisses with its own values."""

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#submit")
    def _submit_pressed(self) -> None:
        self._try_submit()

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        if event.input is inputs[-1]:
            self._try_submit()
        else:
            inputs[inputs.index(event.input) + 1].focus()


class FormDialog(_Dialog):
    """Asks for a few text fields; dismisses with {name: value}, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel", tooltip="close without changing anything")]

    def __init__(self, title: str, what: str, fields: list[Field], submit: str) -> None:
        super().__init__()
        self._title, self._what, self._fields, self._submit = title, what, fields, submit

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(self._title, style="bold"), id="dialog-title")
            yield Static(Text(visible(self._what)), id="dialog-what")
            for f in self._fields:
                yield Label(f.label)
                yield Input(value=f.value, placeholder=f.placeholder, id=f"field-{f.name}")
            yield Static("", id="dialog-error")
            with Horizontal(id="dialog-buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button(self._submit, id="submit", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query(Input).first().focus()

    def values(self) -> dict[str, str]:
        return {f.name: self.query_one(f"#field-{f.name}", Input).value.strip() for f in self._fields}

    def _try_submit(self) -> None:
        values = self.values()
        empty = [f.label for f in self._fields if not values[f.name]]
        if empty:
            self.query_one("#dialog-error", Static).update(Text(f"{empty[0]} is required", style="bold"))
            return
        self.dismiss(values)


class ChangeDialog(_Dialog):
    """Confirms a deploy, promotion or rollback: what changes, the hook, open alerts, on call, gates.

    Cancel has the focus. An internal model (or an unprotected environment): ``y`` confirms,
    the reason is optional. Mission-critical in a protected environment: the user types the
    model's name and a reason. Failing gates turn the confirmation into an override, which
    needs a reason. Dismisses with {"reason": ..., "override": "1"|""} or None.
    """

    BINDINGS = [
        Binding("escape,n", "cancel", "Cancel", id="change.cancel", tooltip="close without changing anything"),
        Binding("y", "confirm", "Confirm", id="change.confirm", tooltip="go ahead (when no typing is asked for)"),
    ]

    def __init__(self, plan: object) -> None:
        super().__init__()
        self.plan = plan

    def compose(self) -> ComposeResult:
        p = self.plan
        verb = p.action.capitalize()
        failing = p.failing_gates
        with Vertical(id="dialog", classes="change-dialog"):
            yield Static(Text(visible(f"{verb} {p.model} in {p.environment}"), style="bold"), id="dialog-title")
            lines = Text()
            was = f"v{p.from_version}" if p.from_version is not None else "nothing"
            lines.append(f"{was} → v{p.to_version}", style="bold")
            lines.append(f"   {p.criticality}{', protected' if p.protected else ''}\n")
            lines.append(visible(f"hook: {p.hook}") + "\n")
            lines.append(visible(f"on call: {p.on_call}") + "\n")
            for alert in p.open_alerts[:3]:
                lines.append(visible(f"open alert: {alert}") + "\n")
            if len(p.open_alerts) > 3:
                lines.append(f"… and {len(p.open_alerts) - 3} more open alerts\n")
            for gate in p.gates:
                lines.append("  ✔ pass " if gate.ok else "  ✖ FAIL ", style="bold" if not gate.ok else "")
                lines.append(visible(f"{gate.name}: {gate.detail}") + "\n")
            if p.in_progress:
                lines.append(visible(f"in progress: {p.in_progress}") + "\n", style="bold")
            yield Static(lines, id="dialog-what")
            if p.typed_confirmation:
                yield Label(f"type {p.model} to confirm")
                yield Input(placeholder=p.model, id="field-name")
            label = "reason (required)" if (p.typed_confirmation or failing) else "reason (optional)"
            yield Label(label)
            yield Input(placeholder="why: incident, ticket…", id="field-reason")
            yield Static("", id="dialog-error")
            with Horizontal(id="dialog-buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("Override" if failing else f"{verb} (y)" if not p.typed_confirmation else verb,
                             id="submit", variant="error" if failing else "primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def action_confirm(self) -> None:
        self._try_submit()

    def _error(self, text: str) -> None:
        self.query_one("#dialog-error", Static).update(Text(text, style="bold"))

    def _try_submit(self) -> None:
        p = self.plan
        reason = self.query_one("#field-reason", Input).value.strip()
        if p.typed_confirmation:
            typed = self.query_one("#field-name", Input).value.strip()
            if typed != p.model:
                self._error(f"type {p.model} exactly to confirm")
                self.query_one("#field-name", Input).focus()
                return
        if (p.typed_confirmation or p.failing_gates) and not reason:
            self._error("a reason is required" + (" to override failing gates" if p.failing_gates else ""))
            self.query_one("#field-reason", Input).focus()
            return
        self.dismiss({"reason": reason, "override": "1" if p.failing_gates else ""})
