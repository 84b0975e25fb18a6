"""Screen 2: models x environments; roll back, promote, deploy and read a deployment's history.

Rows are models; ←/→ choose the environment column (its header is marked ▸). Each cell
is the serving version, its health glyph and word, and ★ when that version is known-good
there; ``v2→v3…`` while a change is in flight.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Static

from fuseboard.tui.screens.dialogs import ChangeDialog
from fuseboard.tui.screens.filtering import FilterListScreen, matches
from fuseboard.tui.status import STATES, status_text
from fuseboard.tui.widgets.keybar import KeyBar
from fuseboard.tui.widgets.table import Column, VirtualTable
from fuseboard.tui.widgets.title import TitleLine

if TYPE_CHECKING:
    from fuseboard.ops.connect import Workspace
    from fuseboard.ops.views import MatrixRow

CRIT_SHORT = {"mission-critical": "mission", "internal": "internal"}
CHANGES = ("rollback", "promote", "deploy")


@dataclass(frozen=True)
class MatrixData:
    """What the Environments screen shows: the environments in order (name, protected), a row per model."""

    envs: list[tuple[str, bool]]
    rows: list[MatrixRow]


def fetch_matrix(ws: Workspace) -> MatrixData:
    from fuseboard.ops.views import environment_matrix

    envs, rows = environment_matrix(ws)
    return MatrixData([(e.name, e.protected) for e in envs], rows)


class ChangeSettled(Message, bubble=False):
    """A change started from the screen has finished, one way or the other (posted from its thread)."""


class EnvironmentsScreen(FilterListScreen[MatrixData]):
    TITLE_TEXT = "Environments"
    LOADS = "matrix"
    FILTER_PLACEHOLDER = "filter models: name, tier, version, health…"

    BINDINGS = [
        Binding("slash", "filter", "Filter", id="environments.filter",
                tooltip="narrow the models as you type; esc clears"),
        Binding("escape", "clear_filter", "Clear filter", id="environments.clear_filter",
                tooltip="clear the filter and show every model"),
        Binding("left", "column(-1)", "Env ←", show=False, id="environments.left",
                tooltip="select the environment to the left (its column header is marked ▸)"),
        Binding("right", "column(1)", "Env →", show=False, id="environments.right",
                tooltip="select the environment to the right"),
        Binding("r", "change('rollback')", "Rollback", id="environments.rollback",
                tooltip="put back the newest known-good version older than the one serving (a rollback never "
                        "goes forward)"),
        Binding("p", "change('promote')", "Promote", id="environments.promote",
                tooltip="promote the selected deployment's version into the next environment"),
        Binding("d", "deploy", "Deploy", id="environments.deploy",
                tooltip="deploy a chosen version into the selected environment"),
        Binding("h", "history", "History", id="environments.history",
                tooltip="the selected deployment's rollouts, hook output and audit trail"),
        Binding("u", "audit", "Audit", id="environments.audit",
                tooltip="the whole audit trail, filtered to the selected deployment (esc clears the filter)"),
    ]

    def __init__(self) -> None:
        super().__init__(id="environments-screen")
        self.rows: list[Any] = []
        self.envs: list[tuple[str, bool]] = []
        self.env_index = 0
        self.busy = ""  # a change running from this screen
        self._wanted: tuple[str, str] | None = None  # a deployment to land on once loaded (key 2 from an alert)

    def compose(self) -> ComposeResult:
        yield TitleLine("Environments", id="title", classes="title")
        yield from self.filter_bar()
        yield VirtualTable(self._columns(80), empty_text="loading environments…", id="matrix")
        yield Static(id="cell-summary", classes="status")
        yield Static(id="status", classes="status")
        yield KeyBar()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(VirtualTable).focus()

    def fetch(self, ws: Workspace) -> MatrixData:
        return fetch_matrix(ws)

    # -- table -------------------------------------------------------------
    def _columns(self, width: int) -> list[Column]:
        envs = self.envs or [("dev", False), ("staging", False), ("prod", True)]
        cells = []
        for i, (name, _protected) in enumerate(envs):
            label = f"▸{name}" if i == self.env_index else name
            cells.append(Column(f"env:{name}", label[:12], 12))
        used = sum(c.width for c in cells) + 8 + len(cells) + 2 + 2
        return [Column("model", "model", max(12, width - used)), Column("tier", "tier", 8), *cells]

    def on_resize(self) -> None:
        self.query_one(VirtualTable).set_columns(self._columns(self.size.width))

    def _cell(self, cell: Any, selected: bool, colors: dict[str, str]) -> Text:
        if cell is None:
            return Text("-", style="dim")
        glyph = status_text(cell.health, colors)
        text = Text(f"v{cell.version} ", style="bold" if selected else "")
        if cell.pending is not None:
            return text.append(f"→v{cell.pending}…", style="bold")
        text.append_text(glyph)
        if cell.known_good:
            text.append(" ★")
        return text

    def _cells(self, row: Any, colors: dict[str, str]) -> tuple[Any, ...]:
        tier = Text(CRIT_SHORT.get(row.criticality, row.criticality),
                    style="bold" if row.criticality == "mission-critical" else "")
        return (row.model, tier, *[self._cell(row.cells.get(name), i == self.env_index, colors)
                                   for i, (name, _) in enumerate(self.envs)])

    def show(self, data: MatrixData) -> None:
        self.rows = data.rows
        changed = data.envs != self.envs
        self.envs = data.envs
        self.env_index = min(self.env_index, max(0, len(self.envs) - 1))
        if changed:
            self.env_index = len(self.envs) - 1  # prod (the last) first: where 3 a.m. happens
            self.query_one(VirtualTable).set_columns(self._columns(self.size.width))
        self.refresh_table()
        if self._wanted is not None:
            self.select_deployment(*self._wanted)
        self.refresh_bindings()

    def select_deployment(self, model: str, env: str) -> None:
        """Put the cursor on ``model``'s row and ``env``'s column (clearing a filter that hides it); if
        the matrix is still loading, as soon as it has loaded."""
        self._wanted = (model, env)
        if not self.loaded:
            return
        self._wanted = None
        names = [name for name, _ in self.envs]
        if env in names:
            self.env_index = names.index(env)
            self.query_one(VirtualTable).set_columns(self._columns(self.size.width))
        table = self.query_one(VirtualTable)
        if not table.move_to_key(model) and self.filter_text:
            self.action_clear_filter()
            table.move_to_key(model)
        self.refresh_table()
        self.refresh_bindings()

    def _haystack(self, row: Any) -> str:
        cells = " ".join(f"{env} v{c.version} {c.health}" for env, c in row.cells.items())
        return f"{row.model} {row.criticality} {cells}".lower()

    def refresh_table(self) -> None:
        words = self.filter_text.lower().split()
        shown = [r for r in self.rows if matches(self._haystack(r), words)]
        table = self.query_one(VirtualTable)
        table.empty_text = ("no models yet: register one with `fuseboard register`" if not self.rows
                            else f"no model matches {self.filter_text!r} (esc clears the filter)")
        colors = self.app.theme_colors()
        table.set_rows([r.model for r in shown], shown, format=lambda r: self._cells(r, colors))
        parts = [f"{len(shown)} of {len(self.rows)} models" if words else f"{len(self.rows)} models",
                 "←/→ environment", "★ known-good"]
        if self.busy:
            parts.insert(0, self.busy)
        if self.app.read_only:
            parts.append("READ-ONLY")
        self.query_one("#status", Static).update(Text(" · ".join(parts)))
        self._show_summary()

    # -- selection -----------------------------------------------------------
    @property
    def selected_row(self) -> Any:
        key = self.query_one(VirtualTable).cursor_key
        return next((r for r in self.rows if r.model == key), None)

    @property
    def selected_env(self) -> str | None:
        return self.envs[self.env_index][0] if self.envs else None

    @property
    def selected_cell(self) -> Any:
        row, env = self.selected_row, self.selected_env
        return row.cells.get(env) if row is not None and env is not None else None

    def _show_summary(self) -> None:
        row, env, cell = self.selected_row, self.selected_env, self.selected_cell
        if row is None or env is None:
            text = Text("")
        elif cell is None:
            text = Text(f"{row.model} in {env}: nothing deployed (d deploys a version)")
        else:
            glyph, word, _ = STATES.get(cell.health, STATES["error"])
            text = Text(f"{row.model} in {env}: v{cell.version} {glyph} {word}"
                        + (", known-good" if cell.known_good else ", not yet known-good")
                        + (f"; change to v{cell.pending} in progress" if cell.pending is not None else ""))
        self.query_one("#cell-summary", Static).update(text)

    @on(VirtualTable.Highlighted, "#matrix")
    def _highlighted(self) -> None:
        self._show_summary()
        self.refresh_bindings()

    @on(VirtualTable.Selected, "#matrix")
    def _selected(self) -> None:
        self.action_history()

    def action_column(self, step: int) -> None:
        if not self.envs:
            return
        self.env_index = (self.env_index + step) % len(self.envs)
        table = self.query_one(VirtualTable)
        table.set_columns(self._columns(self.size.width))
        self.refresh_table()
        self.refresh_bindings()

    # -- keys ----------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("change", "deploy"):
            if self.app.read_only:
                return False  # absent in read-only mode
            return None if self.unavailable_reason(action, *parameters) else True
        if action == "history":
            return None if self.unavailable_reason(action) else True
        return self.filter_check(action)

    def unavailable_reason(self, action: str, *parameters: object) -> str | None:
        if action not in ("change", "deploy", "history"):
            return None
        if self.app.read_only and action != "history":
            return "the workspace is open read-only"
        if not self.loaded:
            return "still loading"
        row, env, cell = self.selected_row, self.selected_env, self.selected_cell
        if row is None:
            return "no model is selected"
        if self.busy and action != "history":
            return f"a change is running ({self.busy})"
        if action == "history":
            return None if cell is not None else f"nothing of {row.model} has run in {env}"
        if action == "deploy":
            return None
        kind = parameters[0] if parameters else "rollback"
        if cell is None:
            return f"nothing of {row.model} runs in {env}"
        if cell.pending is not None:
            return f"a change to v{cell.pending} is in progress"
        if kind == "promote" and self.env_index == len(self.envs) - 1:
            return f"{env} is the last environment; nothing comes after it"
        return None

    def _plan_then_confirm(self, action: str, model: str, env: str, version: int | None = None) -> None:
        """Open the confirmation at once (it plans in a worker: gates and known-good take queries), then apply."""
        row = next((r for r in self.rows if r.model == model), None)
        typed = (row is not None and row.criticality == "mission-critical"
                 and any(name == env and protected for name, protected in self.envs))
        dialog = ChangeDialog(request=(action, model, env, version), typed=typed)

        def confirmed(answer: dict[str, str] | None) -> None:
            if answer is not None and dialog.plan is not None:
                self._apply(dialog.plan, answer)

        self.app.push_screen(dialog, confirmed)

    def _apply(self, plan: Any, answer: dict[str, str]) -> None:
        from fuseboard.errors import FuseboardError
        from fuseboard.ops import deploy as ops

        app, actor, allow = self.app, self.app.actor, self.app.config.allow
        self.busy = f"{plan.action} of {plan.model} in {plan.environment}: running the hook…"
        self.refresh_table()
        self.refresh_bindings()

        def work(ws: Any) -> tuple[str, str]:
            try:
                result = ops.apply(ws, plan, actor=actor, origin="tui", reason=answer["reason"],
                                   override=bool(answer["override"]), allow=allow)
                if not result.ok:  # failed, or settled meanwhile ("late")
                    raise FuseboardError(result.message())
                message = result.message()
                if result.state == "succeeded" and plan.from_version != plan.to_version:
                    converged = ops.wait_converged(ws, plan.model, plan.environment, timeout=15)
                    if converged.ok:
                        message += f"; {converged.detail}"
                    elif not converged.probed:  # an ordinary deploy with no endpoint: a note, not an alarm
                        message += f". Note: {converged.detail}"
                    else:
                        return f"{message}, but {converged.detail}", "warning"
                return message, "information"
            finally:  # posted, never call_from_thread: that waits for a UI that may be shutting down
                self.post_message(ChangeSettled())

        def done(outcome: tuple[str, str]) -> None:
            message, severity = outcome
            self.notify(message, title=f"{plan.action} done", severity=severity, timeout=8)

        app.run_change(plan.action, work, done)

    @on(ChangeSettled)
    def _done_busy(self) -> None:
        self.busy = ""
        self.reload()
        self.refresh_bindings()

    def action_change(self, kind: str) -> None:
        row, env = self.selected_row, self.selected_env
        if row is None or env is None or self.unavailable_reason("change", kind):
            return
        if kind == "promote":
            target = self.envs[self.env_index + 1][0]
            self._plan_then_confirm("promote", row.model, target)
        else:
            self._plan_then_confirm("rollback", row.model, env)

    def action_deploy(self) -> None:
        row, env = self.selected_row, self.selected_env
        if row is None or env is None or self.unavailable_reason("deploy"):
            return
        from fuseboard.tui.screens.versions import VersionDialog

        def chosen(version: int | None) -> None:
            if version is not None:
                self._plan_then_confirm("deploy", row.model, env, version)

        cell = self.selected_cell
        self.app.push_screen(VersionDialog(row.model, env, cell.version if cell else None), chosen)

    def action_audit(self) -> None:
        row, env = self.selected_row, self.selected_env
        self.app.open_audit(f"{row.model}/{env}" if row is not None and env is not None else "")

    def action_history(self) -> None:
        row, env = self.selected_row, self.selected_env
        if row is None or env is None or self.selected_cell is None:
            return
        from fuseboard.tui.screens.history import HistoryScreen

        self.app.push_screen(HistoryScreen(row.model, env))
