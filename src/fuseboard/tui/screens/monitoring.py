"""Screen 3: open alerts first, worst first; roll back, acknowledge, silence, resolve, open the incident.

A new critical alert takes the cursor, unless the user has moved it since the console put it there."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from fuseboard.text import visible
from fuseboard.tui.common import ago
from fuseboard.tui.screens.filtering import FilterListScreen, matches
from fuseboard.tui.screens.incident import INCIDENT_KEYS, IncidentKeys, Target, incident_bindings
from fuseboard.tui.status import status_text
from fuseboard.tui.widgets.keybar import KeyBar
from fuseboard.tui.widgets.table import Column, VirtualTable
from fuseboard.tui.widgets.title import TitleLine

if TYPE_CHECKING:
    from fuseboard.monitoring.alerts import AlertView
    from fuseboard.ops.connect import Workspace


@dataclass(frozen=True)
class AlertsData:
    """What the Monitoring screen shows: the open alerts, which environments are protected, the
    notification receivers in trouble and the maintenance windows to come."""

    alerts: list[AlertView]
    protected: set[str]
    receivers: list[Any] = field(default_factory=list)  # delivery.ReceiverState
    windows: list[Any] = field(default_factory=list)  # silences.SilenceView, planned and not yet begun


def fetch_alerts(ws: Workspace, config: Any = None) -> AlertsData:
    from fuseboard.monitoring.alerts import list_alerts
    from fuseboard.monitoring.silences import listed
    from fuseboard.ops.views import environments

    receivers = []
    if config is not None and config.receivers:
        from fuseboard.ops import notify

        receivers = notify.states(ws, config)
    windows = [w for w in listed(ws) if not w.active]
    return AlertsData(list_alerts(ws), {e.name for e in environments(ws) if e.protected}, receivers, windows)


def notices(data: AlertsData) -> list[str]:
    """What needs an eye besides the alerts, a line each (none when all is well): the notification
    receivers failing or holding dead letters, and the next maintenance windows."""
    lines = []
    trouble = []
    for r in data.receivers:
        if r.problem:
            trouble.append(f"✖ {r.name}: {r.problem.replace('no routing key: set ', 'no ')}")
        elif r.dead:
            trouble.append(f"✖ {r.name}: {r.dead} dead letter{'s' if r.dead != 1 else ''}")
        elif r.tries:
            trouble.append(f"▲ {r.name}: {r.pending} waiting, try {r.tries} failed")
    if trouble:
        lines.append("outbox: " + " · ".join(trouble))
    if data.windows:
        w = data.windows[0]
        lines.append(f"window {w.model}/{w.environment} {w.starts_at.astimezone():%a %H:%M}–"
                     f"{w.ends_at.astimezone():%H:%M}" + (f" every {w.every}" if w.every else "")
                     + f": {w.comment}" + (f" (+{len(data.windows) - 1} more)" if len(data.windows) > 1 else ""))
    return lines


class MonitoringScreen(IncidentKeys, FilterListScreen[AlertsData]):
    TITLE_TEXT = "Monitoring"
    LOADS = "alerts"
    REFRESH_ON_TICK = True
    FILTER_PLACEHOLDER = "filter alerts: model, env, check, severity, state…"

    BINDINGS = [
        Binding("slash", "filter", "Filter", id="monitoring.filter",
                tooltip="narrow the alerts as you type (model, env, check, severity, state); esc clears"),
        Binding("escape", "clear_filter", "Clear filter", id="monitoring.clear_filter",
                tooltip="clear the filter and show every alert"),
        *incident_bindings("monitoring"),
    ]

    def __init__(self) -> None:
        super().__init__(id="monitoring-screen")
        self.alerts: list[Any] = []
        self.protected: set[str] = set()
        self._listed = False  # the alerts have been listed once (the first list places the cursor)
        self._seen: set[int] = set()  # the critical alerts listed last time: a new one takes the cursor
        self._placed: Any = None  # the alert the console put the cursor on (the user has not moved it since)

    def compose(self) -> ComposeResult:
        yield TitleLine("Monitoring", id="title", classes="title")
        yield from self.filter_bar()
        yield VirtualTable(self._columns(80), empty_text="loading alerts…", id="alerts")
        yield Static(id="alert-summary", classes="status")
        yield Static(id="notices", classes="status")
        yield Static(id="status", classes="status")
        yield KeyBar()

    def _columns(self, width: int) -> list[Column]:
        fixed = [Column("severity", "sev", 6), Column("env", "env", 7), Column("check", "check", 16),
                 Column("since", "since", 5, "right"), Column("state", "state", 8)]
        used = sum(c.width for c in fixed) + len(fixed) + 1 + 2
        return [fixed[0], Column("model", "model", max(12, width - used)), *fixed[1:]]

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(VirtualTable).focus()

    def fetch(self, ws: Workspace) -> AlertsData:
        return fetch_alerts(ws, getattr(self.app, "config", None))

    def on_resize(self) -> None:
        self.query_one(VirtualTable).set_columns(self._columns(self.size.width))

    def _cells(self, alert: Any, colors: dict[str, str]) -> tuple[Any, ...]:
        state = "silenced" if alert.silenced else ("acked" if alert.state == "acknowledged" else alert.state)
        return (status_text(alert.severity, colors), alert.model, alert.environment, alert.check,
                ago(alert.opened_at), Text(state, style="dim" if alert.silenced else ""))

    def show(self, data: AlertsData) -> None:
        table = self.query_one(VirtualTable)
        first = not self._listed
        untouched = first or table.cursor_key in (self._placed, None) or self._placed not in table.keys
        self.alerts, self.protected, self._listed = data.alerts, data.protected, True
        lines = notices(data)
        box = self.query_one("#notices", Static)
        width = max(20, self.size.width - 2)  # each on one line, cut with an ellipsis (the box has padding 1)
        cut = [Text(visible(line)) for line in lines]
        for text in cut:
            text.truncate(width, overflow="ellipsis")
        box.update(Text("\n").join(cut))
        box.display = bool(lines)
        self.refresh_table()
        fresh = [a for a in self.alerts if a.severity == "crit" and not a.silenced and a.id not in self._seen
                 and a.id in table.keys]  # new, or newly critical (a warning that escalated)
        if first:
            self._placed = table.cursor_key
        elif fresh and untouched:
            newest = max(fresh, key=lambda a: a.opened_at)
            table.move_to_key(newest.id)
            self._placed = newest.id
        self._seen = {a.id for a in self.alerts if a.severity == "crit" and not a.silenced}
        self.refresh_bindings()

    def refresh_table(self) -> None:
        """Show the alerts matching the filter (every word), keeping the cursor on its alert."""
        words = self.filter_text.lower().split()
        shown = [a for a in self.alerts
                 if matches(f"{a.model} {a.environment} {a.check} {a.severity} {a.state} "
                            f"{'silenced' if a.silenced else ''} {a.summary}".lower(), words)]
        table = self.query_one(VirtualTable)
        if not self.alerts:
            table.empty_text = "no open alerts: every check is quiet (ctrl+r to look again)"
        else:
            table.empty_text = f"no alert matches {self.filter_text!r} (esc clears the filter)"
        colors = self.app.theme_colors()
        table.set_rows([a.id for a in shown], shown, format=lambda a: self._cells(a, colors))
        crit = sum(a.severity == "crit" and not a.silenced for a in self.alerts)
        warn = sum(a.severity == "warn" and not a.silenced for a in self.alerts)
        muted = sum(a.silenced for a in self.alerts)
        holder = getattr(self.app, "monitor_status", lambda: "")()
        count = f"{len(shown)} of {len(self.alerts)} open" if words else f"{len(self.alerts)} open"
        self.query_one("#status", Static).update(
            Text(f"{count} · {crit} crit · {warn} warn · {muted} silenced" + (f" · {holder}" if holder else "")
                 + (" · READ-ONLY" if self.app.read_only else "")))
        self._show_summary()

    @property
    def selected(self) -> Any:
        table = self.query_one(VirtualTable)
        key = table.cursor_key
        return next((a for a in self.alerts if a.id == key), None)

    @on(VirtualTable.Highlighted, "#alerts")
    def _highlighted(self) -> None:
        self._show_summary()
        self.refresh_bindings()

    def _show_summary(self) -> None:
        """The selected alert: who acknowledged or silenced it and when, its flaps, then its summary."""
        alert = self.selected
        text = Text()
        if alert is not None:
            text.append(visible(who_and_when(alert)), style="bold")
            text.append(visible(f"{alert.model}/{alert.environment} {alert.check}: {alert.summary}"))
        self.query_one("#alert-summary", Static).update(text)

    # -- incident keys -------------------------------------------------------
    @property
    def deployment_focus(self) -> tuple[str, str] | None:
        alert = self.selected
        return (alert.model, alert.environment) if alert is not None else None

    def incident_target(self) -> Target | None:
        a = self.selected
        if a is None:
            return None
        typed = getattr(a, "criticality", "") == "mission-critical" and a.environment in self.protected
        return Target(a.model, a.environment, a.id, a.check, a.severity, a.state, a.acknowledged_by, typed)

    # -- keys --------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in INCIDENT_KEYS:
            return self.incident_check(action)
        return self.filter_check(action)

    def unavailable_reason(self, action: str) -> str | None:
        return self.incident_unavailable(action) if action in INCIDENT_KEYS else None

    @on(VirtualTable.Selected, "#alerts")
    def _open(self, event: VirtualTable.Selected) -> None:
        alert = self.selected
        if alert is not None:
            from fuseboard.tui.screens.deployment import DeploymentScreen

            self.app.push_screen(DeploymentScreen(alert.model, alert.environment, alert.id))


def who_and_when(alert: Any) -> str:
    """``acked by ana 14:02 · silenced by bob until 16:00 · flapped 3× · `` (empty when none applies)."""
    parts = []
    if alert.state == "acknowledged" and alert.acknowledged_by:
        at = getattr(alert, "acknowledged_at", None)
        parts.append(f"acked by {alert.acknowledged_by}" + (f" {at.astimezone():%H:%M}" if at else ""))
    if alert.silenced:
        who, until = getattr(alert, "silenced_by", None), getattr(alert, "silenced_until", None)
        parts.append("silenced" + (f" by {who}" if who else "")
                     + (f" until {until.astimezone():%H:%M}" if until else ""))
    if getattr(alert, "escalated_to", None):
        parts.append(f"escalated to {alert.escalated_to}")
    if getattr(alert, "flaps", 0):
        parts.append(f"flapped {alert.flaps}×")
    return "".join(f"{p} · " for p in parts)
