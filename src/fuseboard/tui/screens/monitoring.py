"""Screen 3: open alerts first, worst first; acknowledge, silence, resolve, open the deployment."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from fuseboard.text import visible
from fuseboard.tui.common import ago
from fuseboard.tui.messages import Loaded
from fuseboard.tui.screens.filtering import FilterListScreen, matches
from fuseboard.tui.screens.dialogs import Field, FormDialog
from fuseboard.tui.status import status_text
from fuseboard.tui.widgets.keybar import KeyBar
from fuseboard.tui.widgets.table import Column, VirtualTable
from fuseboard.tui.widgets.title import TitleLine


def fetch_alerts(ws: Any) -> list[Any]:
    from fuseboard.monitoring.alerts import list_alerts

    return list_alerts(ws)


class MonitoringScreen(FilterListScreen):
    TITLE_TEXT = "Monitoring"
    FILTER_PLACEHOLDER = "filter alerts: model, env, check, severity, state…"

    BINDINGS = [
        Binding("slash", "filter", "Filter", id="monitoring.filter",
                tooltip="narrow the alerts as you type (model, env, check, severity, state); esc clears"),
        Binding("escape", "clear_filter", "Clear filter", id="monitoring.clear_filter",
                tooltip="clear the filter and show every alert"),
        Binding("a", "ack", "Ack", id="monitoring.ack", tooltip="acknowledge the alert: you are on it"),
        Binding("s", "silence", "Silence", id="monitoring.silence",
                tooltip="mute this deployment's alerts for this check for a while (asks how long and why)"),
        Binding("x", "resolve", "Resolve", id="monitoring.resolve", tooltip="resolve the alert by hand, with a note"),
    ]

    def __init__(self) -> None:
        super().__init__(id="monitoring-screen")
        self.alerts: list[Any] = []
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield TitleLine("Monitoring", id="title", classes="title")
        yield from self.filter_bar()
        yield VirtualTable(self._columns(80), empty_text="loading alerts…", id="alerts")
        yield Static(id="alert-summary", classes="status")
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
        self.call_after_refresh(self.reload)

    def on_resize(self) -> None:
        self.query_one(VirtualTable).set_columns(self._columns(self.size.width))

    def on_screen_resume(self) -> None:
        if self.loaded:
            self.reload()

    def reload(self) -> None:
        self.load("alerts", fetch_alerts)

    def _cells(self, alert: Any, colors: dict[str, str]) -> tuple[Any, ...]:
        state = "silenced" if alert.silenced else ("acked" if alert.state == "acknowledged" else alert.state)
        return (status_text(alert.severity, colors), alert.model, alert.environment, alert.check,
                ago(alert.opened_at), Text(state, style="dim" if alert.silenced else ""))

    def on_loaded(self, message: Loaded) -> None:
        if message.what != "alerts":
            return
        self.alerts, self.loaded = message.data, True
        self.refresh_table()
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
        alert = self.selected
        text = Text(visible(f"{alert.model}/{alert.environment} {alert.check}: {alert.summary}") if alert else "")
        self.query_one("#alert-summary", Static).update(text)

    # -- keys --------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("ack", "silence", "resolve"):
            if self.app.read_only:
                return False
            if self.unavailable_reason(action):
                return None
        return self.filter_check(action)

    def unavailable_reason(self, action: str) -> str | None:
        if action not in ("ack", "silence", "resolve"):
            return None
        if self.app.read_only:
            return "the workspace is open read-only"
        alert = self.selected
        if alert is None:
            return "no alert is selected"
        if action == "ack" and alert.state == "acknowledged":
            return f"already acknowledged by {alert.acknowledged_by}"
        return None

    def _change(self, what: str, work: Any) -> None:
        """Run a change in a worker; report it, then reload."""

        def done(message: str) -> None:
            self.notify(message, timeout=4)
            self.reload()

        self.app.run_change(what, work, done)

    def _ask(self, verb: str, what: str, fields: list[Field], work: Any) -> None:
        """A form, then ``work(workspace, values)`` in a worker once it is submitted."""

        def submitted(values: dict[str, str] | None) -> None:
            if values is not None:
                self._change(verb, lambda ws: work(ws, values))

        self.app.push_screen(FormDialog(verb.capitalize(), what, fields, verb.capitalize()), submitted)

    def action_ack(self) -> None:
        alert, actor = self.selected, self.app.actor
        if alert is None:
            return
        from fuseboard.monitoring.alerts import acknowledge

        def work(ws: Any) -> str:
            acknowledge(ws, alert.id, actor=actor, origin="tui")
            return f"alert {alert.id} acknowledged"

        self._change("acknowledge", work)

    def action_silence(self) -> None:
        alert, actor = self.selected, self.app.actor
        if alert is None:
            return
        from fuseboard.monitoring.alerts import parse_duration, silence

        def work(ws: Any, values: dict[str, str]) -> str:
            item = silence(ws, alert.model, alert.environment, parse_duration(values["duration"]),
                           comment=values["comment"], actor=actor, origin="tui", check=alert.check)
            return (f"{alert.check} of {alert.model}/{alert.environment} silenced until "
                    f"{item.ends_at.astimezone().strftime('%H:%M %Z')}")

        self._ask("silence", f"{alert.model} in {alert.environment}: mute the {alert.check} alert",
                  [Field("duration", "for (30m, 2h, 1d)", "2h"),
                   Field("comment", "why", placeholder="known cause, ticket…")], work)

    def action_resolve(self) -> None:
        alert, actor = self.selected, self.app.actor
        if alert is None:
            return
        from fuseboard.monitoring.alerts import resolve

        def work(ws: Any, values: dict[str, str]) -> str:
            resolve(ws, alert.id, actor=actor, origin="tui", note=values["note"])
            return f"alert {alert.id} resolved"

        self._ask("resolve", f"{alert.model} in {alert.environment}: {alert.check} ({alert.severity})",
                  [Field("note", "what was done", placeholder="rolled back, fixed upstream…")], work)

    @on(VirtualTable.Selected, "#alerts")
    def _open(self, event: VirtualTable.Selected) -> None:
        alert = self.selected
        if alert is not None:
            from fuseboard.tui.screens.deployment import DeploymentScreen

            self.app.push_screen(DeploymentScreen(alert.model, alert.environment))
