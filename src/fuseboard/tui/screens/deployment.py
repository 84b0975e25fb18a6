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


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float | None], width: int = 40) -> Text:
    """Latency over the recent probes; a gap (space) where a probe failed."""
    values = values[-width:]
    known = [v for v in values if v is not None]
    if not known:
        return Text("no successful probe yet", style="dim")
    low, high = min(known), max(known)
    span = (high - low) or 1.0
    line = "".join(" " if v is None else SPARKS[min(7, int((v - low) / span * 7.999))] for v in values)
    return Text.assemble(line, (f"  {low:.0f}-{high:.0f} ms", "dim"))


def _num(value: float) -> str:
    """Short numbers for bin labels: 0.25, 93.1, 18.5k, 1.2M."""
    size = abs(value)
    if size >= 1e6:
        return f"{value / 1e6:.3g}M"
    if size >= 1e3:
        return f"{value / 1e3:.3g}k"
    return f"{value:.3g}"


def _bins(reference: dict[str, Any], current: dict[str, Any]) -> list[tuple[str, float, float]]:
    """(label, reference share, current share) per bin: deciles plus the open ends, or categories."""
    if reference.get("kind") == "numeric":
        edges = reference["edges"]
        ref = [0, *reference["counts"], 0]
        cur = current["counts"]
        labels = [f"< {_num(edges[0])}", *[f"{_num(edges[i])} to {_num(edges[i + 1])}" for i in range(len(edges) - 1)],
                  f"> {_num(edges[-1])}"]
    else:
        cats = list(reference["value_counts"])
        ref = [reference["value_counts"][c] for c in cats] + [0]
        cur = [current["value_counts"].get(c, 0) for c in cats] + [current["value_counts"].get("__unseen__", 0)]
        labels = [*cats, "(unseen)"]
    rt, ct = sum(ref) or 1, sum(cur) or 1
    return [(label, r / rt, c / ct) for label, r, c in zip(labels, ref, cur) if r or c]


def histogram(feature: str, reference: dict[str, Any], current: dict[str, Any], score: str) -> Table:
    """Reference (░) against the last hour (█), bin by bin, as shares of rows."""
    table = Table(title=f"{feature}: reference ░ vs last hour █ ({score})", title_justify="left", box=None,
                  expand=True, padding=(0, 1), show_header=False)
    table.add_column("bin", no_wrap=True, overflow="ellipsis", max_width=18)
    table.add_column("bars", ratio=1, no_wrap=True)
    bins = _bins(reference, current)
    top = max((max(r, c) for _, r, c in bins), default=1.0) or 1.0
    for label, r, c in bins:
        width = 18
        bars = Text.assemble(("░" * round(r / top * width)).ljust(width), f" {r:4.0%}  ",
                             ("█" * round(c / top * width)).ljust(width), f" {c:4.0%}")
        table.add_row(label, bars)
    return table


def render_health(d: Any, colors: dict[str, str], profiles: tuple[dict[str, Any], dict[str, Any]] | None = None,
                  feature_index: int = 0) -> Group:
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
        reference, current = profiles or ({}, {})
        chosen = features[feature_index % len(features)]
        name = chosen["feature"]
        if name in current and name in reference.get("features", {}):
            parts += [Text(""), histogram(name, reference["features"][name], current[name],
                                          f"{chosen['method']} {chosen['score']:.3f}"),
                      Text("f shows the next feature", style="dim")]

    health = next((c for c in d.states if c.check == "health"), None)
    if health and health.details.get("samples"):
        parts += [Text(""), Text("Latency over the recent probes", style="bold"),
                  sparkline([x[2] if x[1] else None for x in health.details["samples"]])]

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
    from datetime import timedelta

    from fuseboard.monitoring.checks import merged
    from fuseboard.store.models import utcnow
    from fuseboard.store.queries import deployment_health, recent_profiles

    health = deployment_health(ws, model, env)
    reference, windows = recent_profiles(ws, model, env, utcnow() - timedelta(hours=1))
    return health, (reference, merged(windows, "features"))


class DeploymentScreen(FuseboardScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="deployment.back", tooltip="back to the alerts"),
        Binding("j,down", "scroll('down')", "Down", show=False, id="deployment.down", tooltip="scroll down"),
        Binding("k,up", "scroll('up')", "Up", show=False, id="deployment.up", tooltip="scroll up"),
        Binding("g,home", "scroll('home')", "Top", show=False, id="deployment.top", tooltip="scroll to the top"),
        Binding("G,end", "scroll('end')", "Bottom", show=False, id="deployment.bottom",
                tooltip="scroll to the bottom"),
        Binding("f", "next_feature", "Next feature", id="deployment.feature",
                tooltip="draw the next feature's histogram (worst drift first)"),
    ]

    def __init__(self, model: str, env: str) -> None:
        super().__init__()
        self.model, self.env = model, env
        self.data: Any = None
        self.feature_index = 0

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
        self.data = message.data
        self._draw()

    def _draw(self) -> None:
        body = self.query_one("#health", Static)
        health, profiles = self.data
        if health is None:
            body.update(Text(f"{self.model} in {self.env} no longer exists (esc to go back)"))
        else:
            body.update(render_health(health, self.app.theme_colors(), profiles, self.feature_index))

    def action_next_feature(self) -> None:
        if self.data is not None:
            self.feature_index += 1
            self._draw()

    def action_scroll(self, where: str) -> None:
        scroll(self.query_one("#health-scroll", VerticalScroll), where)
