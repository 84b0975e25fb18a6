"""A deployment as an incident: at the top what is wrong, what changed around it, who to call, the runbook
and whether a rollback will help (the keys of the alert list act here too); then the checks over time
(a strip per check and per key feature, and since when it is bad: widgets/timeline.py, ``t``); below,
every check's latest verdict, the drift table worst first, histograms, performance and the history."""

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
from fuseboard.tui.common import ago, scroll
from fuseboard.tui.screens.base import FuseboardScreen
from fuseboard.tui.screens.incident import INCIDENT_KEYS, IncidentKeys, Target, incident_bindings, render_incident
from fuseboard.tui.status import status_text
from fuseboard.tui.widgets.keybar import KeyBar
from fuseboard.tui.widgets.timeline import RANGES, TimelineView
from fuseboard.tui.widgets.title import TitleLine

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from fuseboard.monitoring.alerts import AlertView
    from fuseboard.monitoring.shapes import (FeatureProfile, NoLabels, NoProfile, PerformanceProfile,
                                             ReferenceProfile, ValidationMetrics, WindowColumns, WindowFeature)
    from fuseboard.ops.connect import Workspace
    from fuseboard.ops.incident import Incident
    from fuseboard.ops.views import DeploymentHealth


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


BUCKETS = (300, 900, 1800, 3600, 3 * 3600, 6 * 3600)  # chart buckets: 5 min to 6 h
CHART_POINTS = 48


def bucket_for(span_seconds: float) -> int:
    """The smallest bucket that fits the span into at most ``CHART_POINTS`` columns."""
    return next((b for b in BUCKETS if span_seconds / b <= CHART_POINTS), BUCKETS[-1])


def trend(values: list[float], baseline: float | None, height: int = 4) -> list[Text]:
    """A bar chart ``height`` rows high, one column per value, the baseline drawn as ┄ behind the bars.

    Each row carries its axis label on the left (top: the highest value shown, bottom: the lowest).
    """
    shown = values + ([baseline] if baseline is not None else [])
    low, high = min(shown), max(shown)
    pad = (high - low) * 0.1 or abs(high) * 0.05 or 0.05
    low, high = low - pad, high + pad
    levels = height * 8

    def level(v: float) -> int:
        return max(1, min(levels, round((v - low) / (high - low) * levels)))

    filled = [level(v) for v in values]
    base_row = (level(baseline) - 1) // 8 if baseline is not None else None
    lines = []
    for row in range(height - 1, -1, -1):
        label = f"{high:.3g}" if row == height - 1 else f"{low:.3g}" if row == 0 else ""
        cells = []
        for f in filled:
            part = f - row * 8
            cells.append("█" if part >= 8 else SPARKS[part - 1] if part > 0 else "┄" if row == base_row else " ")
        lines.append(Text.assemble((label.rjust(6), "dim"), " │", "".join(cells)))
    return lines


def performance_chart(task: str, baseline: ValidationMetrics,
                      windows: Sequence[tuple[datetime, PerformanceProfile | NoLabels]], now: datetime) -> list[Text]:
    """The model's main metric bucket by bucket over the performance window, against its baseline."""
    from fuseboard.monitoring import performance

    if not windows:
        return []
    bucket = bucket_for((now - windows[0][0]).total_seconds())
    points = performance.series(windows, bucket)
    if not points:
        return []
    metric = performance.primary_metric(task, points[-1][2])
    points = [(start, n, m[metric]) for start, n, m in points if metric in m]
    if not points:
        return []
    base = baseline.get(metric)
    base = float(base) if isinstance(base, (int, float)) else None
    width = f"{bucket // 3600} h" if bucket >= 3600 else f"{bucket // 60} min"
    title = Text.assemble((f"{metric} per {width} over the last 24 h", "bold"),
                          (f"  ┄ baseline {base:.3f}" if base is not None else "  (no baseline)", "dim"))
    last_start, last_n, last = points[-1]
    axis = Text.assemble(" " * 8, (local_hm(points[0][0]), "dim"),
                         (f"  → {local_hm(last_start)}: {last:.3f} on {last_n:,} labelled rows", "dim"))
    return [title, *trend([v for _, _, v in points], base), axis]


def local_hm(when: Any) -> str:
    return when.astimezone().strftime("%H:%M")


def _num(value: float) -> str:
    """Short numbers for bin labels: 0.25, 93.1, 18.5k, 1.2M."""
    size = abs(value)
    if size >= 1e6:
        return f"{value / 1e6:.3g}M"
    if size >= 1e3:
        return f"{value / 1e3:.3g}k"
    return f"{value:.3g}"


def _bin_label(edges: Sequence[float], i: int) -> str:
    """Bin ``i``'s row label: ``a to b``; a point mass's bin (``[v, nextafter(v))``: it holds v alone) is
    ``= v``, and the bin after it starts, as it reads, from v."""
    import math

    low, high = edges[i], edges[i + 1]
    if high == math.nextafter(low, math.inf):
        return f"= {_num(low)}"
    if i and low == math.nextafter(edges[i - 1], math.inf):
        low = edges[i - 1]
    return f"{_num(low)} to {_num(high)}"


def _bins(reference: FeatureProfile, current: WindowFeature) -> list[tuple[str, float, float]]:
    """(label, reference share, current share) per bin: deciles plus the open ends, or categories."""
    if reference.get("kind") == "numeric":
        edges = reference["edges"]
        ref = [0, *reference["counts"], 0]
        cur = current["counts"]
        labels = [f"< {_num(edges[0])}", *[_bin_label(edges, i) for i in range(len(edges) - 1)],
                  f"> {_num(edges[-1])}"]
    else:
        cats = list(reference["value_counts"])
        ref = [reference["value_counts"][c] for c in cats] + [0]
        cur = [current["value_counts"].get(c, 0) for c in cats] + [current["value_counts"].get("__unseen__", 0)]
        labels = [*cats, "(unseen)"]
    rt, ct = sum(ref) or 1, sum(cur) or 1
    return [(label, r / rt, c / ct) for label, r, c in zip(labels, ref, cur) if r or c]


def histogram(feature: str, reference: FeatureProfile, current: WindowFeature, score: str) -> Table:
    """Reference (░) against the last hour (█), bin by bin, as shares of rows."""
    table = Table(title=markup_safe(f"{feature}: reference ░ vs last hour █ ({score})"), title_justify="left",
                  box=None,
                  expand=True, padding=(0, 1), show_header=False)
    table.add_column("bin", no_wrap=True, overflow="ellipsis", max_width=18)
    table.add_column("bars", ratio=1, no_wrap=True)
    bins = _bins(reference, current)
    top = max((max(r, c) for _, r, c in bins), default=1.0) or 1.0
    for label, r, c in bins:
        width = 18
        bars = Text.assemble(("░" * round(r / top * width)).ljust(width), f" {r:4.0%}  ",
                             ("█" * round(c / top * width)).ljust(width), f" {c:4.0%}")
        table.add_row(*cells(label, bars))
    return table


def render_health(d: DeploymentHealth, colors: dict[str, str],
                  profiles: tuple[ReferenceProfile | NoProfile, WindowColumns] | None = None,
                  feature_index: int = 0, chart: list[Text] | None = None,
                  incident: list[Any] | None = None) -> tuple[Group, Group]:
    """The view's top (the deployment, the incident or else the checks) and its detail (drift, histogram,
    latency, performance, history); the over-time section goes between them."""
    head = Text()
    head.append(visible(f"{d.model} in {d.environment}"), style="bold")
    head.append(visible(f"  v{d.version} · {d.criticality} · endpoint {d.endpoint_url or 'none'}"))
    parts: list[Any] = [head, *(incident or [])]
    checks = Table(title="Checks", title_justify="left", expand=True, box=None, header_style="bold", padding=(0, 1))
    for col, kw in (("status", {"no_wrap": True}), ("check", {"no_wrap": True}), ("since", {"justify": "right"}),
                    ("result", {"ratio": 1, "overflow": "fold"})):
        checks.add_column(col, **kw)
    for c in d.states:
        checks.add_row(*cells(status_text(c.status, colors), c.check, ago(c.since), c.summary))
    if not d.states:
        checks.add_row(status_text("none", colors), "-", "", "no check has run yet (is a monitor running?)")
    if not incident:  # the incident's "what is wrong" lists them already
        parts += [Text(""), checks]
    top, parts = Group(*parts), []

    from typing import cast

    from fuseboard.monitoring.details import DriftDetails, HealthDetails, PerformanceDetails  # the checks' details

    drift_state = next((c for c in d.states if c.check == "drift"), None)
    features = (cast(DriftDetails, drift_state.details).get("features") if drift_state else None) or []
    if features:
        weighted = any("importance" in f for f in features)  # the model's permutation importance, where measured
        title = "Drift, worst first, then by the model's weight" if weighted else "Drift, worst first"
        table = Table(title=title, title_justify="left", expand=True, box=None, header_style="bold", padding=(0, 1))
        for col in ("feature", "method", "score", "threshold", *(("weight",) if weighted else ()), "verdict"):
            table.add_column(col, justify="right" if col in ("score", "threshold", "weight") else "left",
                             no_wrap=True)
        for f in features:
            verdict = status_text(f.get("severity", "warn") if f["drifted"] else "ok", colors)
            weight = (f"{f['importance']:.0%}" if "importance" in f else "-",) if weighted else ()
            table.add_row(*cells(f["feature"], f["method"], f"{f['score']:.3f}", f"{f['threshold']:g}", *weight,
                                 verdict))
        parts += [Text(""), table]
        reference, current = profiles or ({}, {})
        chosen = features[feature_index % len(features)]
        name = chosen["feature"]
        if name in current and name in reference.get("features", {}):
            parts += [Text(""), histogram(name, reference["features"][name], current[name],
                                          f"{chosen['method']} {chosen['score']:.3f}"),
                      Text("f shows the next feature", style="dim")]

    health = next((c for c in d.states if c.check == "health"), None)
    samples = cast(HealthDetails, health.details).get("samples") if health else None
    if samples:
        parts += [Text(""), Text("Latency over the recent probes", style="bold"),
                  sparkline([x[2] if x[1] else None for x in samples])]

    perf = next((c for c in d.states if c.check == "performance"), None)
    metric_checks = cast(PerformanceDetails, perf.details).get("checks") if perf else None
    if perf and metric_checks:
        table = Table(title="Performance against the validation baseline", title_justify="left", expand=True,
                      box=None, header_style="bold", padding=(0, 1))
        for col in ("metric", "baseline", "now", "tolerance", "verdict"):
            table.add_column(col, no_wrap=True)
        for m in metric_checks:
            table.add_row(*cells(m["metric"], f"{m['baseline']:.3f}", f"{m['current']:.3f}", m["tolerance"],
                                 status_text(m.get("grade") or (perf.status if m["degraded"] else "ok"), colors)))
        parts += [Text(""), table]
    if chart:
        parts += [Text(""), *chart]

    history = Table(title="History (status changes)", title_justify="left", expand=True, box=None,
                    header_style="bold", padding=(0, 1))
    for col in ("when", "check", "status", "result"):
        history.add_column(col, no_wrap=col != "result", overflow="ellipsis")
    for h in d.history:
        history.add_row(*cells(h.at.astimezone().strftime("%m-%d %H:%M"), h.check, status_text(h.status, colors),
                               h.summary))
    parts += [Text(""), history]
    return top, Group(*parts)


class IncidentData(NamedTuple):
    """What the incident view shows; ``health`` None: the deployment no longer exists (nor the rest)."""

    health: DeploymentHealth | None
    profiles: tuple[ReferenceProfile | NoProfile, WindowColumns] | None  # (reference, the last hour merged)
    chart: list[Text] | None  # performance_chart's lines
    incident: Incident | None
    protected: bool
    opened: AlertView | None  # the alert the view was opened from


def _fetch(ws: Workspace, model: str, env: str, alert_id: int | None = None) -> IncidentData:
    from datetime import timedelta

    from fuseboard.ops.incident import incident
    from fuseboard.clock import utcnow
    from fuseboard.ops.views import deployment_health, environments, performance_history, recent_profiles

    now = utcnow()
    health = deployment_health(ws, model, env)
    if health is None:
        return IncidentData(None, None, None, None, False, None)
    profiles = recent_profiles(ws, model, env, now - timedelta(hours=1))
    chart = performance_chart(*performance_history(ws, model, env, now - timedelta(hours=24)), now)
    protected = any(e.name == env and e.protected for e in environments(ws))
    opened = None
    if alert_id is not None:  # the alert the view was opened from (it may not be the deployment's worst)
        from fuseboard.monitoring.alerts import list_alerts

        opened = next((a for a in list_alerts(ws, include_resolved=True, now=now) if a.id == alert_id), None)
    return IncidentData(health, profiles, chart, incident(ws, model, env, now=now),
                        protected, opened)


class DeploymentScreen(IncidentKeys, FuseboardScreen[IncidentData]):
    TITLE_TEXT = "Incident"
    LOADS = "health"

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="deployment.back", tooltip="back to the alerts"),
        *incident_bindings("deployment"),
        Binding("t", "timeline", "Time", id="deployment.timeline",
                tooltip="drift and performance over time (a strip per check and per key feature, since when it "
                        "is bad); pressed again, the next range: " + ", ".join(r.words for r in RANGES)),
        Binding("j,down", "scroll('down')", "Down", show=False, id="deployment.down", tooltip="scroll down"),
        Binding("k,up", "scroll('up')", "Up", show=False, id="deployment.up", tooltip="scroll up"),
        Binding("g,home", "scroll('home')", "Top", show=False, id="deployment.top", tooltip="scroll to the top"),
        Binding("G,end", "scroll('end')", "Bottom", show=False, id="deployment.bottom",
                tooltip="scroll to the bottom"),
        Binding("f", "next_feature", "Next feature", show=False, id="deployment.feature",
                tooltip="draw the next feature's histogram (worst drift first)"),
    ]

    def __init__(self, model: str, env: str, alert_id: int | None = None) -> None:
        super().__init__()
        self.model, self.env, self.alert_id = model, env, alert_id
        self.data: IncidentData | None = None
        self.feature_index = 0

    @property
    def deployment_focus(self) -> tuple[str, str]:
        return self.model, self.env

    def compose(self) -> ComposeResult:
        yield TitleLine(f"Monitoring › {self.model}/{self.env}", classes="title")
        with VerticalScroll(id="health-scroll"):
            yield Static(Text(visible(f"loading {self.model} in {self.env}…")), id="health")
            yield TimelineView(self.model, self.env, id="timeline")
            yield Static(id="detail")
        yield Static(id="status", classes="status")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#health-scroll").focus()
        self.query_one(TimelineView).display = False  # until the deployment is read

    def fetch(self, ws: Workspace) -> IncidentData:
        return _fetch(ws, self.model, self.env, self.alert_id)

    def show(self, data: IncidentData) -> None:
        self.data = data
        self._draw()
        timeline = self.query_one(TimelineView)
        timeline.display = data[0] is not None
        if data[0] is not None:  # read after the incident is shown: its first frame does not wait
            timeline.load()
        self.refresh_bindings()

    def _draw(self) -> None:
        body = self.query_one("#health", Static)
        health, profiles, chart, incident, _, opened = self.data
        detail = self.query_one("#detail", Static)
        if health is None:
            body.update(Text(visible(f"{self.model} in {self.env} no longer exists (esc to go back)")))
            detail.update("")
            return
        colors = self.app.theme_colors()
        top = render_incident(incident, colors, self.app.outcomes.get((self.model, self.env), []), opened)
        upper, lower = render_health(health, colors, profiles, self.feature_index, chart, incident=top)
        body.update(upper)
        detail.update(lower)
        running = self.app.rollouts_running.get((self.model, self.env))
        self.query_one("#status", Static).update(Text(
            (f"rollback {running} running · " if running else "") + "j/k scroll · t over time · f next feature · "
            "2 Environments" + (" · READ-ONLY" if self.app.read_only else "")))

    def show_progress(self, step: Any) -> None:
        """A step of the rollback running on this deployment: shown at once; once the hook has answered
        (the version on record changed) and at the end, the view is read again."""
        if self.data is not None:
            self._draw()
            self.query_one("#health-scroll", VerticalScroll).scroll_home(animate=False)
        if step.final or step.status != "run":
            self.reload()
        self.refresh_bindings()

    # -- keys ------------------------------------------------------------------
    def incident_target(self) -> Target | None:
        if self.data is None or self.data[0] is None:
            return None
        inc, protected, opened = self.data[3], self.data[4], self.data[5]
        typed = inc.criticality == "mission-critical" and protected
        if opened is not None and opened.state != "resolved":  # the keys act on the alert opened
            return Target(self.model, self.env, opened.id, opened.check, opened.severity, opened.state,
                          opened.acknowledged_by, typed)
        return Target(self.model, self.env, inc.alert_id, inc.alert_check, inc.alert_severity, inc.alert_state,
                      None, typed)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in INCIDENT_KEYS:
            return self.incident_check(action)
        if action == "timeline":
            return None if self.unavailable_reason(action) else True
        return True

    def unavailable_reason(self, action: str) -> str | None:
        if action in (*INCIDENT_KEYS, "timeline") and self.data is None:
            return "still loading"
        if action == "timeline":
            return None if self.data[0] is not None else f"{self.model} in {self.env} no longer exists"
        return self.incident_unavailable(action) if action in INCIDENT_KEYS else None

    def action_timeline(self) -> None:
        """Bring the over-time section into view; when it is in view already, the next range."""
        if self.unavailable_reason("timeline"):
            return
        view, scroller = self.query_one(TimelineView), self.query_one("#health-scroll", VerticalScroll)
        top, bottom = view.virtual_region.y, view.virtual_region.bottom
        shown_from = round(scroller.scroll_y)
        shown_to = shown_from + scroller.scrollable_content_region.height
        if shown_from <= top and (bottom <= shown_to or top == shown_from):  # whole, or from its title on
            view.cycle()
        scroller.scroll_to(y=top, animate=False)

    def action_next_feature(self) -> None:
        if self.data is not None and self.data[0] is not None:
            self.feature_index += 1
            self._draw()

    def action_scroll(self, where: str) -> None:
        scroll(self.query_one("#health-scroll", VerticalScroll), where)
