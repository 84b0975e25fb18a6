"""The audit trail: every change of state, newest first, filterable; the chain is verified on open."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from fuseboard.text import visible
from fuseboard.tui.screens.filtering import FilterListScreen, matches
from fuseboard.tui.widgets.keybar import KeyBar
from fuseboard.tui.widgets.table import Column, VirtualTable
from fuseboard.tui.widgets.title import TitleLine

if TYPE_CHECKING:
    from fuseboard.ops.audit import ChainReport
    from fuseboard.ops.connect import Workspace
    from fuseboard.ops.views import AuditInfo

LIMIT = 2000  # the newest events; older ones with `fuseboard audit --since`


def render_event(e: Any) -> Any:
    """An audit event whole: every field, the before and after values one per line (controls visible)."""
    import json

    from rich.table import Table

    from fuseboard.text import cells

    table = Table(box=None, show_header=False, padding=(0, 1), expand=True)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(ratio=1, overflow="fold")
    rows = [("when", f"{e.at.astimezone():%Y-%m-%d %H:%M:%S %Z}"), ("who", e.actor),
            ("via", f"{e.origin} ({e.client or 'unknown client'})"), ("action", e.action), ("target", e.target),
            ("change", e.change()), ("reason", e.reason or "-")]
    for side in ("before", "after"):
        values = getattr(e, side, None) or {}
        for key, value in values.items():
            rows.append((f"{side}.{key}", value if isinstance(value, str) else json.dumps(value, default=str)))
    for field in ("hash", "prev_hash"):
        if getattr(e, field, None):
            rows.append((field, getattr(e, field)))
    for label, value in rows:
        table.add_row(*cells(label, value))
    return table


@dataclass(frozen=True)
class AuditData:
    """What the Audit screen shows: the newest events, and the chain's verification."""

    events: list[AuditInfo]
    chain: ChainReport


def fetch_audit(ws: Workspace) -> AuditData:
    from fuseboard.ops.audit import verify
    from fuseboard.ops.views import audit_events

    return AuditData(audit_events(ws, limit=LIMIT), verify(ws))


class AuditScreen(FilterListScreen[AuditData]):
    TITLE_TEXT = "Audit"
    LOADS = "audit"
    RELOAD_ON_RESUME = False  # (reading 2,000 events and verifying the chain again after each entry shown)
    FILTER_PLACEHOLDER = "filter events: who, action, model/env, reason…"

    BINDINGS = [
        Binding("escape", "back", "Back", id="audit.back", tooltip="clear the filter, or go back"),
        Binding("slash", "filter", "Filter", id="audit.filter", tooltip="narrow the events as you type"),
    ]

    def __init__(self, needle: str = "") -> None:
        super().__init__(id="audit-screen")
        self.events: list[Any] = []
        self.chain: Any = None
        self._needle = needle

    def compose(self) -> ComposeResult:
        yield TitleLine("Audit", classes="title")
        yield from self.filter_bar()
        yield VirtualTable(self._columns(80), empty_text="loading the audit trail…", id="events")
        yield Static(id="event-detail", classes="status")
        yield Static(id="status", classes="status")
        yield KeyBar()

    def _columns(self, width: int) -> list[Column]:
        fixed = [Column("at", "when", 11), Column("actor", "who", 8), Column("action", "action", 18)]
        used = sum(c.width for c in fixed) + len(fixed) + 1 + 2
        return [*fixed, Column("target", "target / change", max(12, width - used))]

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(VirtualTable).focus()

    def on_resize(self) -> None:
        self.query_one(VirtualTable).set_columns(self._columns(self.size.width))

    def fetch(self, ws: Workspace) -> AuditData:
        return fetch_audit(ws)

    def show(self, data: AuditData) -> None:
        self.events, self.chain = data.events, data.chain
        if self._needle:
            self.query_one("#filter-bar").display = True
            self.query_one("#filter").value = self._needle  # refreshes through Input.Changed
            self._needle = ""
        self.refresh_table()

    @staticmethod
    def _hay(e: Any) -> str:
        return f"{e.actor} {e.origin} {e.client} {e.action} {e.target} {e.change()} {e.reason}".lower()

    def refresh_table(self) -> None:
        words = self.filter_text.lower().split()
        shown = [e for e in self.events if matches(self._hay(e), words)]
        table = self.query_one(VirtualTable)
        table.empty_text = "no events yet" if not self.events else f"no event matches {self.filter_text!r}"
        table.set_rows(list(range(len(shown))), shown, keep_key=False, format=lambda e: (
            e.at.astimezone().strftime("%m-%d %H:%M"), e.actor, e.action,
            f"{e.target}  {e.change()}".strip()))
        chain = "" if self.chain is None else (f"chain intact ({self.chain.events} events)" if self.chain.ok
                                                else f"CHAIN BROKEN: {self.chain.problem}")
        count = f"{len(shown)} of {len(self.events)} events" if words else f"{len(self.events)} newest events"
        self.query_one("#status", Static).update(Text(visible(f"{count} · {chain}"),
                                                      style="bold" if self.chain and not self.chain.ok else ""))
        self._detail()

    @on(VirtualTable.Highlighted, "#events")
    def _detail(self) -> None:
        table = self.query_one(VirtualTable)
        words = self.filter_text.lower().split()
        shown = [e for e in self.events if matches(self._hay(e), words)]
        key = table.cursor_key
        e = shown[key] if isinstance(key, int) and key < len(shown) else None
        text = "" if e is None else (f"{e.at.astimezone():%Y-%m-%d %H:%M:%S %Z} {e.actor} via {e.origin} "
                                     f"({e.client or 'unknown'})" + (f": {e.reason}" if e.reason else ""))
        self.query_one("#event-detail", Static).update(Text(visible(text)))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return True

    @on(VirtualTable.Selected, "#events")
    def _open(self, event: VirtualTable.Selected) -> None:
        """The whole event in a scrollable box: who, how, what changed (before and after), why, its hash."""
        from fuseboard.tui.screens.dialogs import EntryScreen

        words = self.filter_text.lower().split()
        shown = [e for e in self.events if matches(self._hay(e), words)]
        if isinstance(event.key, int) and event.key < len(shown):
            e = shown[event.key]
            self.app.push_screen(EntryScreen(f"{e.action} {e.target}", render_event(e)))

    def action_back(self) -> None:
        if self.filter_text or self.query_one("#filter-bar").display:
            self.action_clear_filter()
        else:
            self.app.pop_screen()
