"""A deployment's history: its rollouts (hook outcome, known-good, convergence), the selected
rollout's hook output, and the audit trail of that deployment."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from fuseboard.text import cells, markup_safe, visible
from fuseboard.tui.common import scroll
from fuseboard.tui.screens.base import FuseboardScreen
from fuseboard.tui.widgets.keybar import KeyBar
from fuseboard.tui.widgets.title import TitleLine

if TYPE_CHECKING:
    from fuseboard.ops.connect import Workspace
    from fuseboard.ops.views import AuditInfo, RolloutInfo

STATE_MARK = {"succeeded": "● done", "failed": "✖ failed", "pending": "○ pending", "abandoned": "? abandoned"}


class HistoryData(NamedTuple):
    """A deployment's rollouts, newest first (None: the deployment no longer exists), and its audit trail."""

    rollouts: list[RolloutInfo] | None
    events: list[AuditInfo]


def _fetch(ws: Workspace, model: str, env: str) -> HistoryData:
    from fuseboard.ops.views import audit_events, rollout_history

    return HistoryData(rollout_history(ws, model, env, 50), audit_events(ws, model=model, env=env, limit=40))


def _local(when: Any) -> str:
    return when.astimezone().strftime("%m-%d %H:%M") if when else ""


def render_history(model: str, env: str, rollouts: list[Any], events: list[Any]) -> Group:
    table = Table(title=markup_safe(f"Rollouts of {model} in {env}, newest first"), title_justify="left",
                  expand=True, box=None,
                  header_style="bold", padding=(0, 1))
    for col, kw in (("when", {"no_wrap": True}), ("change", {"no_wrap": True}), ("state", {"no_wrap": True}),
                    ("by", {"no_wrap": True}), ("hook", {"overflow": "ellipsis", "no_wrap": True}),
                    ("good", {"no_wrap": True})):
        table.add_column(col, **kw)
    for r in rollouts:
        change = f"{r.action} v{r.from_version or '-'}→v{r.to_version}"
        good = "★ " + _local(r.known_good_at) if r.known_good_at else ("serving" if r.state == "succeeded"
                                                                        and r.ended_at is None else "")
        table.add_row(*cells(_local(r.requested_at), change, STATE_MARK.get(r.state, r.state), r.requested_by,
                             r.hook_status or "-", good))
    parts: list[Any] = [table]
    failed = next((r for r in rollouts if r.state == "failed"), None)
    if failed is not None:
        parts += [Text(""), Text(visible(f"Last failed hook ({_local(failed.requested_at)}, {failed.hook_status}):"),
                                 style="bold"),
                  Text(visible("\n".join((failed.hook_output or "(no output)").strip().splitlines()[-8:]),
                               lines=True))]
    audit = Table(title="Audit trail of this deployment", title_justify="left", expand=True, box=None,
                  header_style="bold", padding=(0, 1))
    for col in ("when", "who", "action", "change / reason"):
        audit.add_column(col, no_wrap=col != "change / reason", overflow="fold")
    for e in events:
        detail = ", ".join(x for x in (e.change(), e.reason) if x)
        audit.add_row(*cells(_local(e.at), e.actor, e.action, detail))
    parts += [Text(""), audit]
    return Group(*parts)


class HistoryScreen(FuseboardScreen[HistoryData]):
    TITLE_TEXT = "History"
    LOADS = "history"
    RELOAD_ON_RESUME = False

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="history.back", tooltip="back to the environments"),
        Binding("j,down", "scroll('down')", "Down", show=False, id="history.down", tooltip="scroll down"),
        Binding("k,up", "scroll('up')", "Up", show=False, id="history.up", tooltip="scroll up"),
        Binding("g,home", "scroll('home')", "Top", show=False, id="history.top", tooltip="scroll to the top"),
        Binding("G,end", "scroll('end')", "Bottom", show=False, id="history.bottom", tooltip="scroll to the bottom"),
    ]

    def __init__(self, model: str, env: str) -> None:
        super().__init__()
        self.model, self.env = model, env

    def compose(self) -> ComposeResult:
        yield TitleLine(f"Environments › {self.model}/{self.env}", classes="title")
        with VerticalScroll(id="history-scroll"):
            yield Static(Text(visible(f"loading the history of {self.model} in {self.env}…")), id="history")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#history-scroll").focus()

    def fetch(self, ws: Workspace) -> HistoryData:
        return _fetch(ws, self.model, self.env)

    def show(self, data: HistoryData) -> None:
        rollouts, events = data
        body = self.query_one("#history", Static)
        if rollouts is None:
            body.update(Text(visible(f"{self.model} in {self.env} no longer exists (esc to go back)")))
        else:
            body.update(render_history(self.model, self.env, rollouts, events))

    def action_scroll(self, where: str) -> None:
        scroll(self.query_one("#history-scroll", VerticalScroll), where)
