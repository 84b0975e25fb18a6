"""Screen 1: every model, filterable as you type, sortable, with a drill-in."""

from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from fuseboard.text import visible
from fuseboard.tui.screens.filtering import FilterListScreen, matches
from fuseboard.tui.status import status_text
from fuseboard.tui.widgets.keybar import KeyBar
from fuseboard.tui.widgets.table import Column, VirtualTable
from fuseboard.tui.widgets.title import TitleLine

if TYPE_CHECKING:
    from fuseboard.ops.connect import Workspace
    from fuseboard.ops.views import ModelRow

# (key, label, width, justify); the model column takes the width left over.
SORTS = ("name", "health", "task", "criticality", "owner", "latest")
SEVERITY = {"crit": 0, "error": 1, "warn": 2, "none": 3, "ok": 4}
TASK_SHORT = {"classification": "class", "regression": "regr"}
CRIT_SHORT = {"mission-critical": "mission", "internal": "internal"}


def settle_heap() -> None:
    """After a load: collect once, then keep what is alive out of later collections.

    With 10,000 rows loaded, a full cyclic collection costs about 100 ms; left to chance it
    lands on a filter keystroke. Freezing the long-lived rows keeps collections small. Each
    load unfreezes and collects first, so garbage from before the load is still reclaimed.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


@dataclass(frozen=True)
class ModelsData:
    """What the Models screen shows: every model's row, and the environments' names in order."""

    rows: list[ModelRow]
    envs: list[str]


def fetch_models(ws: Workspace) -> ModelsData:
    from fuseboard.ops import views as queries

    return ModelsData(queries.model_rows(ws), [e.name for e in queries.environments(ws)])


def haystack(row: Any) -> str:
    """What the filter searches: what the table shows, and the description."""
    return f"{row.name} {row.task} {row.criticality} {row.owner or ''} {row.health} {row.description}".lower()


def sort_key(field: str):  # noqa: ANN201
    if field == "health":
        return lambda r: (SEVERITY.get(r.health, 9), r.name)
    if field == "latest":
        return lambda r: (r.latest_version or 0, r.name)
    return lambda r: ((getattr(r, field) or "").lower(), r.name)


class ModelsScreen(FilterListScreen[ModelsData]):
    TITLE_TEXT = "Models"
    LOADS = "models"
    REFRESH_ON_TICK = True

    BINDINGS = [
        Binding("slash", "filter", "Filter", id="models.filter",
                tooltip="narrow the list as you type (name, owner, task, tier, description); "
                        "enter keeps it, esc clears it"),
        Binding("escape", "clear_filter", "Clear filter", id="models.clear_filter",
                tooltip="clear the filter and show every model"),
        Binding("o", "sort", "Sort", id="models.sort",
                tooltip="sort by the next column: name, health, task, tier, owner, latest"),
        Binding("O", "reverse", "Reverse", show=False, id="models.reverse", tooltip="reverse the sort order"),
    ]

    def __init__(self) -> None:
        super().__init__(id="models-screen")
        self.all_rows: list[Any] = []
        self._sorted: list[tuple[Any, str]] = []  # (row, haystack) in the current sort order
        self._last: tuple[str, list[tuple[Any, str]]] = ("", [])  # last filter and its matches
        self.envs: list[str] = []
        self.sort_field = "name"
        self.sort_reverse = False

    def compose(self) -> ComposeResult:
        yield TitleLine("Models", id="title", classes="title")
        yield from self.filter_bar()
        yield VirtualTable(self._columns(80), empty_text="loading workspace…", id="models")
        yield Static(id="status", classes="status")
        yield KeyBar()

    FILTER_PLACEHOLDER = "filter models: name, owner, task, tier…"

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(VirtualTable).focus()

    def fetch(self, ws: Workspace) -> ModelsData:
        return fetch_models(ws)

    # -- columns and rows ---------------------------------------------------
    def _columns(self, width: int) -> list[Column]:
        envs = self.envs or ["dev", "staging", "prod"]
        fixed = [Column("health", "health", 6), Column("task", "task", 5), Column("criticality", "tier", 8),
                 Column("owner", "owner", 10), Column("latest", "latest", 6, "right")]
        env_cols = [Column(f"env:{e}", e[:7], max(4, min(7, len(e))), "right") for e in envs]
        used = sum(c.width for c in fixed + env_cols) + len(fixed) + len(env_cols) + 1 + 2
        name = Column("name", "model", max(12, width - used))
        return [fixed[0], name, *fixed[1:], *env_cols]

    def on_resize(self) -> None:
        table = self.query_one(VirtualTable)
        table.set_columns(self._columns(self.size.width))

    def _cells(self, row: Any, colors: dict[str, str]) -> tuple[Any, ...]:
        crit = CRIT_SHORT.get(row.criticality, row.criticality)
        tier = Text(crit, style="bold" if row.criticality == "mission-critical" else "")
        return (
            status_text(row.health, colors),
            row.name,
            TASK_SHORT.get(row.task, row.task),
            tier,
            row.owner or "-",
            f"v{row.latest_version}" if row.latest_version else "-",
            *[f"v{row.deployed[e]}" if e in row.deployed else "-" for e in self.envs],
        )

    def _resort(self) -> None:
        ordered = sorted(self.all_rows, key=sort_key(self.sort_field), reverse=self.sort_reverse)
        self._sorted = [(r, haystack(r)) for r in ordered]
        self._last = ("", self._sorted)

    def _matching(self, needle: str) -> list[tuple[Any, str]]:
        """Rows matching ``needle``; typing on narrows the previous matches instead of every row."""
        last_needle, last_rows = self._last
        pool = last_rows if last_needle and needle.startswith(last_needle) else self._sorted
        words = needle.split()
        if not words:
            found = self._sorted
        elif len(words) == 1:
            word = words[0]
            found = [item for item in pool if word in item[1]]
        else:
            found = [item for item in pool if matches(item[1], words)]
        self._last = (needle, found)
        return found

    def refresh_table(self) -> None:
        """Filter the sorted rows; the table formats only the rows it shows."""
        needle = self.filter_text
        rows = [r for r, _ in self._matching(needle.lower())]
        colors = self.app.theme_colors()
        table = self.query_one(VirtualTable)
        if not self.all_rows:
            table.empty_text = "no models yet: register one with `fuseboard register`, or try `fuseboard demo`"
        else:
            table.empty_text = f"no model matches {needle!r} (esc clears the filter)"
        table.set_rows([r.name for r in rows], rows, format=lambda row: self._cells(row, colors))
        self._update_status(len(rows))

    def _update_status(self, shown: int) -> None:
        arrow = "▼" if self.sort_reverse else "▲"
        parts = [f"{shown} of {len(self.all_rows)} models" if self.filter_text else f"{len(self.all_rows)} models",
                 f"sort: {self.sort_field} {arrow}"]
        if self.filter_text:
            parts.append(f"filter: {self.filter_text}")
        if self.app.read_only:
            parts.append("READ-ONLY")
        self.query_one("#status", Static).update(Text(visible(" · ".join(parts))))

    def show(self, data: ModelsData) -> None:
        self.all_rows = data.rows
        envs_changed = data.envs != self.envs
        self.envs = data.envs
        if envs_changed:
            self.query_one(VirtualTable).set_columns(self._columns(self.size.width))
        self._resort()
        self.refresh_table()
        self.refresh_bindings()
        settle_heap()

    # -- keys --------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("sort", "reverse", "filter") and not self.loaded:
            return None
        return self.filter_check(action)

    def unavailable_reason(self, action: str) -> str | None:
        if action in ("sort", "reverse", "filter") and not self.loaded:
            return "the workspace is still loading"
        if action == "clear_filter" and not self.filter_text:
            return "no filter is set"
        return None

    def action_sort(self) -> None:
        self.sort_field = SORTS[(SORTS.index(self.sort_field) + 1) % len(SORTS)]
        self.sort_reverse = False
        self._resort()
        self.refresh_table()

    def action_reverse(self) -> None:
        self.sort_reverse = not self.sort_reverse
        self._resort()
        self.refresh_table()

    @on(VirtualTable.Selected, "#models")
    def _open(self, event: VirtualTable.Selected) -> None:
        self.app.open_model(event.key)

    def select_model(self, name: str) -> bool:
        """Move the cursor to ``name`` (clearing a filter that hides it)."""
        table = self.query_one(VirtualTable)
        if table.move_to_key(name):
            return True
        if self.filter_text:
            self.action_clear_filter()
            return table.move_to_key(name)
        return False
