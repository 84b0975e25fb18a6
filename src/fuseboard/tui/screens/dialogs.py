"""Small modal forms: the first field has focus; enter moves on and, in the last field,
submits; esc cancels. Nothing changes until a form is submitted whole."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
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

    def on_key(self, event: Any) -> None:
        """Keys that reach the dialog itself rather than a field (typed while it opened, handed on by the
        screen underneath) go into the field that has the focus, in order: a name typed straight after
        ``r`` is never lost."""
        field = self.focused if isinstance(self.focused, Input) else self._first_field() if self.focused is None \
            else None
        if not isinstance(field, Input):
            return
        if event.is_printable and event.character:  # as the field itself would: over a selection (a default)
            if field.selection.is_empty:
                field.insert_text_at_cursor(event.character)
            else:
                field.replace(event.character, *field.selection)
        elif event.key == "backspace":
            field.action_delete_left()
        elif event.key == "enter":  # as Input.Submitted does, but now: the next keys go to the next field
            inputs = list(self.query(Input))
            if field is inputs[-1]:
                self._try_submit()
            else:
                self.set_focus(inputs[inputs.index(field) + 1])
        else:
            return
        event.stop()
        event.prevent_default()

    def _first_field(self) -> Input | None:
        """The field that takes what is typed before any has the focus."""
        return self.query(Input).first() if self.query(Input) else None

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        if event.input is inputs[-1]:
            self._try_submit()
        else:
            self.set_focus(inputs[inputs.index(event.input) + 1])


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
        self.set_focus(self.query(Input).first())  # now: keys typed right behind the opening key land here

    def values(self) -> dict[str, str]:
        return {f.name: self.query_one(f"#field-{f.name}", Input).value.strip() for f in self._fields}

    def _try_submit(self) -> None:
        values = self.values()
        empty = [f.label for f in self._fields if not values[f.name]]
        if empty:
            self.query_one("#dialog-error", Static).update(Text(f"{empty[0]} is required", style="bold"))
            return
        self.dismiss(values)


class Planned(Message):
    """The plan of a change, made in a worker once its dialog is open (or why there is none)."""

    def __init__(self, plan: Any, error: str) -> None:
        super().__init__()
        self.plan = plan
        self.error = error


class ChangeDialog(_Dialog):
    """Confirms a deploy, promotion or rollback: what changes, whether a rollback will help, the hook,
    on call, the runbook, open alerts, gates.

    It opens at once, on the key that asked for it, and plans the change in a worker (``request``):
    keys typed while it plans land in its fields, never on the screen underneath. Cancel has the
    focus. An internal model (or an unprotected environment): ``y`` confirms, the reason is
    optional. Mission-critical in a protected environment (``typed``, from what the screen knows;
    the plan has the last word): the name field has the focus, the user types the model's name
    and a reason. Failing gates turn the confirmation into an override, which needs a reason.
    Nothing is confirmed before the plan is shown. Dismisses with {"reason": ..., "override":
    "1"|""} or None; ``plan`` is then the plan confirmed.
    """

    BINDINGS = [
        Binding("escape,n", "cancel", "Cancel", id="change.cancel", tooltip="close without changing anything"),
        Binding("y", "confirm", "Confirm", id="change.confirm", tooltip="go ahead (when no typing is asked for)"),
    ]

    def __init__(self, plan: Any = None, *, request: tuple[str, str, str, int | None] | None = None,
                 typed: bool = False) -> None:
        super().__init__()
        self.plan = plan
        self.request = request or (plan.action, plan.model, plan.environment, None)
        self.typed = plan.typed_confirmation if plan is not None else typed
        self.problem = ""  # why the change cannot go ahead (refused, nothing to change)
        self.plan_shown_at = time.monotonic()  # (a plan made in the dialog: when it came, see on_planned)

    def compose(self) -> ComposeResult:
        action, model, env, _ = self.request
        with Vertical(id="dialog", classes="change-dialog"):
            yield Static(Text(visible(f"{action.capitalize()} {model} in {env}"), style="bold"), id="dialog-title")
            yield Static(self._what(), id="dialog-what")
            if self.typed:
                yield from self._name_field()
            yield Label(self._reason_label(), id="reason-label")
            yield Input(placeholder="why: incident, ticket…", id="field-reason")
            yield Static("", id="dialog-error")
            with Horizontal(id="dialog-buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button(self._submit_label(), id="submit", variant=self._variant(), compact=True)

    def _name_field(self) -> ComposeResult:
        yield Label(visible(f"type {self.request[1]} to confirm"), id="name-label")
        yield Input(placeholder="the model's name, as in the title", id="field-name")

    def _failing(self) -> bool:
        return bool(self.plan is not None and self.plan.failing_gates)

    def _reason_label(self) -> str:
        return "reason (required)" if (self.typed or self._failing()) else "reason (optional)"

    def _submit_label(self) -> str:
        verb = self.request[0].capitalize()
        return "Override" if self._failing() else verb if self.typed else f"{verb} (y)"

    def _variant(self) -> str:
        return "error" if self._failing() else "primary"

    def _what(self) -> Text:
        p = self.plan
        if p is None:
            action, model, env, _ = self.request
            return Text(self.problem or visible(f"planning the {action} of {model} in {env}…"),
                        style="bold" if self.problem else "dim")
        lines = Text()
        was = f"v{p.from_version}" if p.from_version is not None else "nothing"
        lines.append(f"{was} → v{p.to_version}", style="bold")
        lines.append(f"   {p.criticality}{', protected' if p.protected else ''}\n")
        advice = getattr(p, "advice", "")
        if advice:
            lines.append(visible(advice[:1].upper() + advice[1:]) + "\n", style="bold")
        lines.append(visible(f"hook: {p.hook}") + "\n")
        lines.append(visible(f"on call: {p.on_call}") + "\n")
        runbook = getattr(p, "runbook", "")
        if runbook:
            lines.append(visible(f"runbook: {runbook}") + "\n")
        for alert in p.open_alerts[:3]:
            lines.append(visible(f"open alert: {alert}") + "\n")
        if len(p.open_alerts) > 3:
            lines.append(f"… and {len(p.open_alerts) - 3} more open alerts\n")
        for gate in p.gates:
            lines.append("  ✔ pass " if gate.ok else "  ✖ FAIL ", style="bold" if not gate.ok else "")
            lines.append(visible(f"{gate.name}: {gate.detail}") + "\n")
        if p.in_progress:
            lines.append(visible(f"in progress: {p.in_progress}") + "\n", style="bold")
        lines.rstrip()
        return lines

    def on_mount(self) -> None:
        # set_focus now, not focus() (a tick later): keys typed right behind the opening key land here
        self.set_focus(self.query_one("#field-name", Input) if self.typed else self.query_one("#cancel", Button))
        if self.plan is None:
            self.run_worker(self._make_plan, thread=True, name="plan")

    def _first_field(self) -> Input | None:
        return self.query_one("#field-name", Input) if self.typed else None

    def _make_plan(self) -> None:
        from fuseboard.ops import deploy as ops

        from fuseboard.tui.log import record_failure

        action, model, env, version = self.request
        app = self.app
        try:
            plan = ops.plan_change(app.workspace(), model, env, action=action, version=version)
        except Exception as exc:  # noqa: BLE001  (said in the dialog, and logged; nothing was changed)
            self.post_message(Planned(None, record_failure(f"plan the {action} of {model} in {env}", exc,
                                                           url=app.url)))
            return
        self.post_message(Planned(plan, ""))

    def on_planned(self, message: Planned) -> None:
        plan = message.plan
        if plan is None:
            self.problem = f"cannot {self.request[0]}: {message.error}"
        elif not plan.changes and plan.in_progress:  # a rollback to the version on record is no no-op then
            self.problem = (f"a change of {plan.model} in {plan.environment} is in progress ({plan.in_progress}); if "
                            f"it crashed, clear it with `fuseboard changes clear {plan.model} --env "
                            f"{plan.environment} --reason TEXT`")
        elif not plan.changes:
            self.problem = f"{plan.model} v{plan.to_version} already runs in {plan.environment}: nothing to change"
        if self.problem:  # nothing to confirm: the fields go, Cancel (esc) closes
            self.query_one("#dialog-what", Static).update(Text(visible(self.problem), style="bold"))
            self.query_one("#submit", Button).display = False
            for widget in (*self.query(Input), *self.query(Label)):
                widget.display = False
            self.query_one("#dialog-error", Static).update("")
            self.set_focus(self.query_one("#cancel", Button))
            return
        self.plan = plan
        self.plan_shown_at = time.monotonic()
        if plan.typed_confirmation and not self.typed:  # the screen guessed wrong: the plan decides
            self.typed = True
            name_label, name = list(self._name_field())
            self.query_one("#dialog", Vertical).mount(name_label, name, before=self.query_one("#reason-label"))
            self.set_focus(name)
        elif self.typed and not plan.typed_confirmation:
            self.typed = False
            self.query_one("#name-label").remove()
            self.query_one("#field-name").remove()
        self.query_one("#dialog-what", Static).update(self._what())
        self.query_one("#reason-label", Label).update(self._reason_label())
        submit = self.query_one("#submit", Button)
        submit.label, submit.variant = self._submit_label(), self._variant()
        error = self.query_one("#dialog-error", Static)
        if str(error.render()).startswith("still planning"):
            error.update(Text("the plan is shown: read it, then confirm again", style="bold"))

    def on_key(self, event: Any) -> None:
        """``y`` typed before the plan was on screen (in the same burst as ``r``, as a terminal delivers
        them) confirms nothing, however soon the plan then arrives: it says to read the plan instead.
        Key events carry when they were typed (Textual's clock is ``time.monotonic``)."""
        if event.key == "y" and self.plan is not None and event.time < self.plan_shown_at:
            event.stop()
            event.prevent_default()  # (neither the binding nor the field handling runs)
            self._error("the plan is shown: read it, then confirm again")

    def action_confirm(self) -> None:
        self._try_submit()

    def _error(self, text: str) -> None:
        self.query_one("#dialog-error", Static).update(Text(visible(text), style="bold"))

    def _try_submit(self) -> None:
        p = self.plan
        if p is None:  # never confirm what has not been shown
            self._error(self.problem or "still planning the change: confirm once the plan is shown")
            return
        reason = self.query_one("#field-reason", Input).value.strip()
        if self.typed:
            typed = self.query_one("#field-name", Input).value.strip()
            if typed != p.model:
                self._error(f"type {p.model} exactly to confirm")
                self.query_one("#field-name", Input).focus()
                return
        if (self.typed or p.failing_gates) and not reason:
            self._error("a reason is required" + (" to override failing gates" if p.failing_gates else ""))
            self.query_one("#field-reason", Input).focus()
            return
        self.dismiss({"reason": reason, "override": "1" if p.failing_gates else ""})


class EntryScreen(ModalScreen[None]):
    """One whole entry in a scrollable box: an audit event, a checklist item with its evidence."""

    BINDINGS = [
        Binding("escape,q,enter", "dismiss", "Close", id="entry.close", tooltip="close this entry"),
        Binding("j,down", "scroll('down')", "Down", show=False, id="entry.down", tooltip="scroll down"),
        Binding("k,up", "scroll('up')", "Up", show=False, id="entry.up", tooltip="scroll up"),
    ]

    def __init__(self, title: str, body: Any) -> None:
        super().__init__()
        self._title, self._body = title, body

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="entry-box"):
            yield Static(Text.assemble((visible(self._title), "bold"), ("   esc closes", "dim")), id="entry-title")
            yield Static(self._body, id="entry-body")

    def on_mount(self) -> None:
        self.query_one("#entry-box").focus()

    def action_scroll(self, where: str) -> None:
        from fuseboard.tui.common import scroll

        scroll(self.query_one("#entry-box", VerticalScroll), where)
