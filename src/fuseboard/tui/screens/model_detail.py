"""A model's detail: versions with their metrics, deployments, recent audit events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from fuseboard.monitoring.metrics import SHOWN, format_metric
from fuseboard.text import cells, visible
from fuseboard.tui.common import ago, local, scroll
from fuseboard.tui.screens.base import FuseboardScreen
from fuseboard.tui.widgets.keybar import KeyBar
from fuseboard.tui.widgets.title import TitleLine

if TYPE_CHECKING:
    from fuseboard.ops.connect import Workspace
    from fuseboard.ops.views import ModelDetail


def render_detail(d: ModelDetail) -> Group:
    head = Text()
    head.append(visible(d.name), style="bold")
    head.append(visible(f"  {d.task} · {d.criticality} · owner {d.owner or '-'} · built by {d.builder or '-'}"))
    lines: list[Any] = [head]
    if d.description:
        lines.append(Text(visible(d.description), style="italic"))
    retrain = f"retrain by {d.retrain_by.isoformat()}" if d.retrain_by else "no retrain-by date"
    contacts = ", ".join(d.people) if d.people else "no people in the owning team"
    lines.append(Text(visible(f"{retrain} · contacts: {contacts}")))

    serving: dict[int, list[str]] = {}
    for dep in d.deployments:
        serving.setdefault(dep.version, []).append(dep.environment)
    names = SHOWN.get(d.task, ())
    versions = Table(title="Versions", title_justify="left", expand=True, box=None, header_style="bold",
                     padding=(0, 1))
    versions.add_column("ver", no_wrap=True)
    for name in names:
        versions.add_column(name, justify="right", no_wrap=True)
    versions.add_column("runs in", no_wrap=True, overflow="ellipsis")
    versions.add_column("estimator", overflow="ellipsis", no_wrap=True, ratio=1)
    versions.add_column("by", no_wrap=True)
    versions.add_column("age", justify="right", no_wrap=True)
    on_reference = False
    for v in d.versions:
        reference = v.metrics.get("_dataset") == "reference"
        on_reference |= reference
        mark = f"v{v.version}" + ("†" if reference else "")
        versions.add_row(*cells(mark, *[format_metric(v.metrics.get(n)) for n in names],
                                ",".join(serving.get(v.version, [])) or "-", v.estimator_class, v.registered_by,
                                ago(v.registered_at)))
    note = ("† metrics on the reference data (no validation file)" if on_reference
            else "metrics on the validation data")
    lines += [Text(""), versions, Text(note, style="dim")]

    deps = Table(title="Deployments", title_justify="left", expand=True, box=None, header_style="bold",
                 padding=(0, 1))
    for col in ("env", "version", "since", "by"):  # short columns keep their width; the endpoint wraps
        deps.add_column(col, no_wrap=True)
    deps.add_column("endpoint", ratio=1, overflow="fold")
    for dep in d.deployments:
        deps.add_row(*cells(dep.environment + (" (protected)" if dep.protected else ""), f"v{dep.version}",
                            f"{ago(dep.deployed_at)} ago", dep.deployed_by, dep.endpoint_url or "-"))
    if not d.deployments:
        deps.add_row("-", "not deployed anywhere", "", "", "")
    lines += [Text(""), deps]

    events = Table(title="Recent audit events", title_justify="left", expand=True, box=None, header_style="bold",
                   padding=(0, 1))
    events.add_column("when", no_wrap=True)
    events.add_column("who", no_wrap=True)
    events.add_column("what", no_wrap=True)
    events.add_column("change", overflow="ellipsis", no_wrap=True, ratio=1)
    for e in d.audit:
        what = f"{e.action} {e.target.removeprefix(d.name)}".strip()
        change = e.change() + (f" ({e.reason})" if e.reason else "")
        events.add_row(*cells(local(e.at), e.actor, what, change))
    lines += [Text(""), events]
    return Group(*lines)


class ModelDetailScreen(FuseboardScreen["ModelDetail | None"]):
    LOADS = "detail"
    RELOAD_ON_RESUME = False

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="detail.back", tooltip="back to the list of models"),
        Binding("j,down", "scroll('down')", "Down", show=False, id="detail.down", tooltip="scroll down"),
        Binding("k,up", "scroll('up')", "Up", show=False, id="detail.up", tooltip="scroll up"),
        Binding("g,home", "scroll('home')", "Top", show=False, id="detail.top", tooltip="scroll to the top"),
        Binding("G,end", "scroll('end')", "Bottom", show=False, id="detail.bottom",
                tooltip="scroll to the bottom"),
    ]

    def __init__(self, model: str) -> None:
        super().__init__()
        self.model = model

    def compose(self) -> ComposeResult:
        yield TitleLine(f"Models › {self.model}", classes="title")
        with VerticalScroll(id="detail-scroll"):
            yield Static(Text(f"loading {self.model}…"), id="detail")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#detail-scroll").focus()

    def fetch(self, ws: Workspace) -> ModelDetail | None:
        from fuseboard.ops.views import model_detail

        return model_detail(ws, self.model)

    def show(self, data: ModelDetail | None) -> None:
        body = self.query_one("#detail", Static)
        if data is None:
            body.update(Text(visible(f"model {self.model!r} no longer exists (esc to go back)")))
        else:
            body.update(render_detail(data))

    def action_scroll(self, where: str) -> None:
        scroll(self.query_one("#detail-scroll", VerticalScroll), where)
