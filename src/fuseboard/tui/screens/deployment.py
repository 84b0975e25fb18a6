"""A deployment's health: every check's latest verdict, the drift table worst first, the history."""

from __future__ import annotations

from functools import partial
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from fuseboard.tui.common import ago, scroll
from fuseboard.tui.messages import Loaded
from fuseboard.tui.screens.base import FuseboardScreen
from fuseboard.tui.status import status_text
from fuseboard.tui.widgets.keybar import KeyBar


def render_health(d: Any, colors: dict[str, str]) -> Group:
    head = Text()
    head.append(f"{d.model} in {d.environment}", style="bold")
    head.append(f"  v{d.version} · {d.criticality} · endpoint {d.endpoint_url or 'none'}")
    parts: list[Any] = [head, Text("")]
    checks = Table(title="Checks", title_justify="left", expand=True, box=None, header_style="bold", padding=(0, 1))
    for col, kw in (("status", {"no_wrap": True}), ("check", {"no_wrap": True}), ("since", {"justify": "right"}),
                    ("result", {"ratio": 1, "overflow": "fold"})):
        checks.add_column(col, **kw)
    for c in d.states:
        checks.add_row(status_text(c.status, colors), c.check, ago(c.since), c.summary)
    if not d.states:
        checks.add_row(status_text("none", colors), "-", "", "no check has run yet (is a monitor running?)")
    parts.append(checks)

    drift_state = next((c for c in d.states if c.check == "drift"), None)
    features = (drift_state.details.get("features") if drift_state else None) or []
    if features:
        table = Table(title="Drift, worst first", title_justify="left", expand=True, box=None, header_style="bold",
                      padding=(0, 1))
        for col in ("feature", "method", "score", "threshold", "verdict"):
            table.add_column(col, justify="right" if col in ("score", "threshold") else "left", no_wrap=True)
        for f in features:
            verdict = status_text(f.get("severity", "warn") if f["drifted"] else "ok", colors)
            table.add_row(f["feature"], f["method"], f"{f['score']:.3f}", f"{f['threshold']:g}", verdict)
        parts += [Text(""), table]

    perf = next((c for c in d.states if c.check == "performance"), None)
    if perf and perf.details.get("checks"):
        table = Table(title="Performance against the validation baseline", title_justify="left", expand=True,
                      box=None, header_style="bold", padding=(0, 1))
        for col in ("metric", "baseline", "now", "tolerance", "verdict"):
            table.add_column(col, no_wrap=True)
        for m in perf.details["checks"]:
            table.add_row(m["metric"], f"{m['baseline']:.3f}", f"{m['current']:.3f}", m["tolerance"],
                          status_text("crit" if m["degraded"] else "ok", colors))
        parts += [Text(""), table]

    history = Table(title="History (status changes)", title_justify="left", expand=True, box=None,
                    header_style="bold", padding=(0, 1))
    for col in ("when", "check", "status", "result"):
        history.add_column(col, no_wrap=col != "result", overflow="ellipsis")
    for h in d.history:
        history.add_row(h.at.astimezone().strftime("%m-%d %H:%M"), h.check, status_text(h.status, colors), h.summary)
    parts += [Text(""), history]
    return Group(*parts)


def _fetch(ws: Any, model: str, env: str) -> Any:
    from fuseboard.store.queries import deployment_health

    return deployment_health(ws, model, env)


class DeploymentScreen(FuseboardScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="deployment.back", tooltip="back to the alerts"),
        Binding("j,down", "scroll('down')", "Down", show=False, id="deployment.down", tooltip="scroll down"),
        Binding("k,up", "scroll('up')", "Up", show=False, id="deployment.up", tooltip="scroll up"),
    ]

    def __init__(self, model: str, env: str) -> None:
        super().__init__()
        self.model, self.env = model, env

    def compose(self) -> ComposeResult:
        yield Static(self.app.title_line(f"Monitoring › {self.model}/{self.env}"), classes="title")
        with VerticalScroll(id="health-scroll"):
            yield Static(Text(f"loading {self.model} in {self.env}…"), id="health")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#health-scroll").focus()
        self.reload()

    def reload(self) -> None:
        self.load("health", partial(_fetch, model=self.model, env=self.env))

    def on_loaded(self, message: Loaded) -> None:
        if message.what != "health":
            return
        body = self.query_one("#health", Static)
        if message.data is None:
            body.update(Text(f"{self.model} in {self.env} no longer exists (esc to go back)"))
        else:
            body.update(render_health(message.data, self.app.theme_colors()))

    def action_scroll(self, where: str) -> None:
        scroll(self.query_one("#health-scroll", VerticalScroll), where)
