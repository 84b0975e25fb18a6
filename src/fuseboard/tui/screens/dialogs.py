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


@dataclass
class Field:
    name: str
    label: str
    value: str = ""
    placeholder: str = ""


class FormDialog(ModalScreen[dict[str, str] | None]):
    """Asks for a few text fields; dismisses with {name: value}, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel", tooltip="close without changing anything")]

    def __init__(self, title: str, what: str, fields: list[Field], submit: str) -> None:
        super().__init__()
        self._title, self._what, self._fields, self._submit = title, what, fields, submit

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(self._title, style="bold"), id="dialog-title")
            yield Static(Text(self._what), id="dialog-what")
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

    def _try_submit(self) -> None:
        values = self.values()
        empty = [f.label for f in self._fields if not values[f.name]]
        if empty:
            self.query_one("#dialog-error", Static).update(Text(f"{empty[0]} is required", style="bold"))
            return
        self.dismiss(values)
