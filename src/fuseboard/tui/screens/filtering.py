"""A list screen with `/` filter-as-you-type: the bar, its keys, and fast typing after `/`."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Static

from fuseboard.tui.screens.base import FuseboardScreen, T
from fuseboard.tui.widgets.table import VirtualTable


def matches(hay: str, words: list[str]) -> bool:
    """Every word of the filter appears in the haystack (both lower case)."""
    return all(word in hay for word in words)


class FilterListScreen(FuseboardScreen[T]):
    """Subclasses bind ``filter`` and ``clear_filter`` (with their own binding ids), compose
    ``filter_bar()`` above their VirtualTable, and implement ``refresh_table``."""

    FILTER_PLACEHOLDER = "filter…"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._typing_filter = False  # between `/` and enter/esc, printable keys belong to the filter

    def filter_bar(self) -> ComposeResult:
        with Horizontal(id="filter-bar"):
            yield Static("/", id="filter-label")
            yield Input(placeholder=self.FILTER_PLACEHOLDER, id="filter")

    def on_mount(self) -> None:
        self.query_one("#filter-bar").display = False

    @property
    def filter_text(self) -> str:
        return self.query_one("#filter", Input).value.strip()

    def filter_check(self, action: str) -> bool | None:
        """``check_action`` for the filter keys: esc only while a filter is open or set."""
        if action == "clear_filter":
            return bool(self.filter_text) or self.query_one("#filter-bar").display
        return True

    def action_filter(self) -> None:
        self.query_one("#filter-bar").display = True
        self._typing_filter = True
        # set_focus now, not focus() (which waits a tick): keys typed right after `/` must land here
        self.set_focus(self.query_one("#filter", Input))
        self.refresh_bindings()

    def action_clear_filter(self) -> None:
        self.query_one("#filter", Input).value = ""
        self._typing_filter = False
        self.query_one("#filter-bar").display = False
        self.query_one(VirtualTable).focus()
        self.refresh_table()
        self.refresh_bindings()

    def on_key(self, event: Any) -> None:
        """Open the filter as soon as its key arrives, and pass on keys typed right behind it.

        Key events reach the screen before bindings run, so a fast `/cre` would otherwise
        deliver `cre` to the table before the filter has opened.
        """
        filter_input = self.query_one("#filter", Input)
        active = self.active_bindings.get(event.key)
        if active is not None and active.binding.action == "filter" and not filter_input.has_focus:
            if active.enabled:
                self.action_filter()
            event.stop()
            event.prevent_default()
            return
        if self._typing_filter and event.is_printable:
            filter_input.insert_text_at_cursor(event.character or "")
            self.set_focus(filter_input)
            event.stop()
            event.prevent_default()

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        self.refresh_table()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self._typing_filter = False
        if not self.filter_text:
            self.query_one("#filter-bar").display = False
        self.query_one(VirtualTable).focus()
        self.refresh_bindings()
