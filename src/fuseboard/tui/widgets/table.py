"""A virtual table: any number of rows, only the visible ones are rendered.

Textual's DataTable builds every row up front (10,000 rows freeze the UI for
about a second), so lists that can grow with the workspace use this widget
instead: it keeps the rows as plain tuples and renders lines on demand
through the Line API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from fuseboard.text import plain, visible


@dataclass
class Column:
    key: str
    label: str
    width: int
    justify: str = "left"  # "left" or "right"


Cell = str | Text


class VirtualTable(ScrollView, can_focus=True):
    """Rows of cells under a fixed header, with a row cursor."""

    COMPONENT_CLASSES = {"virtual-table--header", "virtual-table--cursor", "virtual-table--empty"}

    DEFAULT_CSS = """
    VirtualTable {
        background: $surface;
        color: $foreground;
        height: 1fr;
        & > .virtual-table--header { text-style: bold; color: $text; background: $panel; }
        & > .virtual-table--cursor { background: $block-cursor-blurred-background;
                                     color: $block-cursor-blurred-foreground; }
        & > .virtual-table--empty { color: $text-muted; text-style: italic; }
        &:focus > .virtual-table--cursor { background: $block-cursor-background;
                                           color: $block-cursor-foreground; text-style: bold; }
    }
    """

    BINDINGS = [
        Binding("down,j", "cursor_down", "Down", show=False, id="table.down",
                tooltip="move down one row"),
        Binding("up,k", "cursor_up", "Up", show=False, id="table.up",
                tooltip="move up one row"),
        Binding("pagedown,ctrl+f", "page_down", "Page down", show=False, id="table.page_down",
                tooltip="move down one page"),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False, id="table.page_up",
                tooltip="move up one page"),
        Binding("home,g", "first", "Top", show=False, id="table.top",
                tooltip="jump to the first row"),
        Binding("end,G", "last", "Bottom", show=False, id="table.bottom",
                tooltip="jump to the last row"),
        Binding("enter", "select", "Open", id="table.select", tooltip="open the selected row"),
    ]

    cursor_row: reactive[int] = reactive(0, always_update=True)

    class _RowMessage(Message):
        def __init__(self, table: "VirtualTable", key: Any) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> "VirtualTable":
            return self.table

    class Highlighted(_RowMessage):
        """The cursor moved to the row with ``key``."""

    class Selected(_RowMessage):
        """The row with ``key`` was opened (enter or double click)."""

    def __init__(self, columns: Sequence[Column], *, empty_text: str = "no rows", name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.columns = list(columns)
        self.keys: list[Any] = []
        self.rows: Sequence[Any] = []
        self.empty_text = empty_text
        self._format: Callable[[Any], tuple[Cell, ...]] | None = None
        self._cells: dict[int, tuple[Cell, ...]] = {}

    # -- data ------------------------------------------------------------
    def set_rows(self, keys: Sequence[Any], rows: Sequence[Any], *, keep_key: bool = True,
                 format: Callable[[Any], tuple[Cell, ...]] | None = None) -> None:
        """Replace every row; the cursor stays on the same key when it is still there.

        ``rows`` are tuples of cells, or any objects when ``format`` turns one into its
        cells: then only the rows on screen are ever formatted.
        """
        current = self.cursor_key if keep_key else None
        self.keys, self.rows = list(keys), rows
        self._format = format
        self._cells = {}
        index = 0
        if current is not None:
            try:
                index = self.keys.index(current)
            except ValueError:
                index = 0
        self.virtual_size = Size(self.total_width, len(self.rows) + 1)
        self.cursor_row = index
        self.refresh()

    def cells(self, index: int) -> tuple[Cell, ...]:
        """The cells of row ``index`` (formatted on first use)."""
        if self._format is None:
            return self.rows[index]
        cells = self._cells.get(index)
        if cells is None:
            if len(self._cells) > 2000:
                self._cells.clear()
            cells = self._cells[index] = self._format(self.rows[index])
        return cells

    def set_columns(self, columns: Sequence[Column]) -> None:
        self.columns = list(columns)
        self._cells = {}
        self.virtual_size = Size(self.total_width, len(self.rows) + 1)
        self.refresh()

    @property
    def total_width(self) -> int:
        return sum(c.width for c in self.columns) + max(0, len(self.columns) - 1) + 1

    @property
    def row_count(self) -> int:
        return len(self.rows)

    @property
    def cursor_key(self) -> Any:
        if 0 <= self.cursor_row < len(self.keys):
            return self.keys[self.cursor_row]
        return None

    def move_to_key(self, key: Any) -> bool:
        try:
            self.cursor_row = self.keys.index(key)
        except ValueError:
            return False
        return True

    # -- cursor ----------------------------------------------------------
    def validate_cursor_row(self, value: int) -> int:
        return max(0, min(value, len(self.rows) - 1)) if self.rows else 0

    def watch_cursor_row(self, _old: int, new: int) -> None:
        self._scroll_cursor_into_view()
        # new rows change the virtual size only after the next layout: check again then
        self.call_after_refresh(self._scroll_cursor_into_view)
        self.refresh()
        if self.rows:
            self.post_message(self.Highlighted(self, self.keys[new]))

    @property
    def _body_height(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_cursor_into_view(self) -> None:
        top = round(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + self._body_height:
            self.scroll_to(y=self.cursor_row - self._body_height + 1, animate=False)

    def on_resize(self) -> None:
        self._scroll_cursor_into_view()

    def action_cursor_down(self) -> None:
        self.cursor_row += 1

    def action_cursor_up(self) -> None:
        self.cursor_row -= 1

    def action_page_down(self) -> None:
        self.cursor_row += self._body_height

    def action_page_up(self) -> None:
        self.cursor_row -= self._body_height

    def action_first(self) -> None:
        self.cursor_row = 0

    def action_last(self) -> None:
        self.cursor_row = len(self.rows) - 1

    def action_select(self) -> None:
        if self.rows:
            self.post_message(self.Selected(self, self.keys[self.cursor_row]))

    def on_click(self, event: Any) -> None:
        row = round(self.scroll_y) + event.y - 1
        if event.y >= 1 and 0 <= row < len(self.rows):
            if row == self.cursor_row and event.chain >= 2:
                self.action_select()
            self.cursor_row = row

    # -- rendering -------------------------------------------------------
    def _line_text(self, cells: Sequence[Cell], bare: bool) -> Text:
        line = Text(no_wrap=True, end="")
        for index, (column, cell) in enumerate(zip(self.columns, cells)):
            if index:
                line.append(" ")
            # the one choke point for every cell: stored text is shown as written, controls made visible
            text = plain(cell)
            text = Text(text.plain) if bare else text.copy()
            text.no_wrap = True
            if text.cell_len > column.width:
                text.truncate(column.width, overflow="ellipsis")
            pad = column.width - text.cell_len
            if column.justify == "right":
                line.append(" " * pad)
                line.append_text(text)
            else:
                line.append_text(text)
                line.append(" " * pad)
        line.append(" ")
        return line

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            style = base + self.get_component_rich_style("virtual-table--header")
            text = self._line_text([c.label for c in self.columns], bare=True)
            return self._strip(text, style, scroll_x, width)
        index = scroll_y + y - 1
        if not self.rows:
            if y == 1:
                style = base + self.get_component_rich_style("virtual-table--empty")
                return self._strip(Text(" " + visible(self.empty_text)), style, 0, width)
            return Strip.blank(width, base)
        if index >= len(self.rows):
            return Strip.blank(width, base)
        is_cursor = index == self.cursor_row
        style = base + self.get_component_rich_style("virtual-table--cursor") if is_cursor else base
        return self._strip(self._line_text(self.cells(index), bare=is_cursor), style, scroll_x, width)

    def _strip(self, text: Text, style: Style, scroll_x: int, width: int) -> Strip:
        segments = [Segment(s.text, style + s.style if s.style else style) for s in text.render(self.app.console)]
        return Strip(segments).crop_extend(scroll_x, scroll_x + width, style)
