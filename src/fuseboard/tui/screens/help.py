"""``?``: every key of the screen underneath, what it does, and why a dimmed one is unavailable."""

from __future__ import annotations

from rich.table import Table
from textual.actions import parse
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from fuseboard.tui.common import scroll


def help_table(screen: Screen) -> Table:
    """One row per action: its keys (after any remap), what it does, and why it is dimmed."""
    app = screen.app
    table = Table(box=None, expand=True, show_header=True, header_style="bold", padding=(0, 1))
    table.add_column("key", no_wrap=True)
    table.add_column("does", ratio=1)
    rows: dict[str, tuple[int, list[str], Text]] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        if not binding.id or "." not in binding.id or not binding.description:
            continue  # only fuseboard's own bindings: each has an id such as "models.filter"
        rank = 0 if active.node is screen else (2 if active.node is app else 1)
        ident = f"{binding.action}/{binding.description}"  # q and ctrl+c share one row
        if ident in rows:
            rows[ident][1].append(app.get_key_display(binding))
            continue
        does = Text(binding.tooltip or binding.description)
        if not active.enabled:
            _, action, parameters = parse(binding.action)
            why = getattr(screen, "unavailable_reason", lambda *_a: None)
            try:
                reason = why(action, *parameters)
            except TypeError:  # a screen whose reasons take no parameters
                reason = why(action)
            does = Text(f"{binding.tooltip or binding.description}: unavailable, "
                        f"{reason or 'not applicable here'}", style="dim")
        rows[ident] = (rank, [app.get_key_display(binding)], does)
    # the screen's own keys that a focused widget shadows (← → over a table that scrolls sideways)
    for binding in (b for bs in screen._bindings.key_to_bindings.values() for b in bs):
        ident = f"{binding.action}/{binding.description}"
        if not binding.id or "." not in binding.id or not binding.description or ident in rows:
            continue
        _, action, parameters = parse(binding.action)
        if screen.check_action(action, parameters) is False:  # hidden here, as in the key bar
            continue
        rows[ident] = (0, [app.get_key_display(binding)], Text(binding.tooltip or binding.description))
    for _rank, keys, does in sorted(rows.values(), key=lambda r: r[0]):
        table.add_row(", ".join(keys), does)
    if app.ENABLE_COMMAND_PALETTE:
        table.add_row(app.COMMAND_PALETTE_BINDING.replace("colon", ":"),
                      "command palette: jump to any model, run any action")
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close", id="help.close", tooltip="close this help"),
        Binding("j", "scroll('down')", "Down", show=False, id="help.down", tooltip="scroll down"),
        Binding("k", "scroll('up')", "Up", show=False, id="help.up", tooltip="scroll up"),
    ]

    def __init__(self, screen: Screen, title: str) -> None:
        super().__init__()
        self._target = screen
        self._title = title

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(Text.assemble((f"Keys: {self._title}", "bold"), ("   esc, q or ? closes", "dim")),
                         id="help-title")
            yield Static(help_table(self._target), id="help-keys")

    def on_mount(self) -> None:
        self.query_one("#help-box").focus()

    def action_scroll(self, where: str) -> None:
        scroll(self.query_one("#help-box", VerticalScroll), where)
