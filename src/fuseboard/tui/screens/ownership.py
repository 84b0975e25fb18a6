"""Screen 4: who owns what and who is on call; policy violations first; handovers in progress.

One list under column headers, in sections: handovers waiting for your signature (``✎ to sign``),
policy violations, on call now and next per team, the other handovers in progress with a progress
bar (or ``▲ stalled Nd`` when nothing moved for ``[ownership] stall_days``, default 3), then every
model by owning team. ``enter`` on a model
opens its handover checklist; ``n`` starts a handover; ``S`` shows the shift summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from fuseboard.text import visible
from fuseboard.tui.screens.base import FuseboardScreen
from fuseboard.tui.screens.dialogs import Field, FormDialog
from fuseboard.tui.screens.filtering import FilterListScreen, matches
from fuseboard.tui.widgets.keybar import KeyBar
from fuseboard.tui.widgets.table import Column, VirtualTable
from fuseboard.tui.widgets.title import TitleLine

if TYPE_CHECKING:
    from collections.abc import Mapping

    from fuseboard.ops.connect import Workspace
    from fuseboard.ops.handover import ShiftSummary
    from fuseboard.ops.handover.policy import HandoverReview

CRIT_SHORT = {"mission-critical": "mission", "internal": "internal"}


@dataclass
class Row:
    key: str
    section: str
    name: str
    detail: str
    model: str | None = None
    bold: bool = False
    kind: str = ""  # policy, oncall, handover, model


def bar(done: int, total: int, width: int = 10) -> str:
    filled = round(width * done / total) if total else 0
    return "█" * filled + "░" * (width - filled)


def _turn(turn: Any) -> str:
    if turn is None:
        return "nobody"
    how = " (override)" if turn.source == "override" else " (shift)" if turn.source == "shift" else ""
    return f"{turn.person}{how} until {turn.end.astimezone():%a %H:%M}"


def _handover_row(h: HandoverReview) -> Row:
    """``✎ to sign`` when it waits for your signature; ``▲ stalled Nd`` in place of the bar when stalled."""
    where = f"▲ stalled {h.idle_days}d" if h.stalled else f"{bar(h.done, h.total, 8)} {h.done}/{h.total}"
    if h.stalled:
        where = f"{h.done}/{h.total} · {where}"
    return Row(f"handover:{h.model}", "✎ to sign" if h.waiting_for_you else "handover", h.model,
               f"→ {h.to_team} · {h.state.replace('_', ' ')} · {where}", h.model, h.waiting_for_you, "handover")


def fetch_ownership(ws: Workspace, raw_config: Mapping[str, object], actor: str = "") -> list[Row]:
    """Handovers waiting for ``actor``'s signature, policy violations, who is on call now and next, the
    other open handovers (stalled ones first), then every model with its owning team."""
    from datetime import timedelta

    from fuseboard.ops.handover import check_policy, policy
    from fuseboard.ops.handover.policy import review_queue, stall_days
    from fuseboard.ops.oncall import on_call
    from fuseboard.ops.teams import model_owners

    queue = review_queue(ws, actor, stall_after=timedelta(days=stall_days(raw_config)))
    rows = [_handover_row(h) for h in queue if h.waiting_for_you]
    for v in check_policy(ws, policy(raw_config)):
        rows.append(Row(f"policy:{v.model}", "✖ policy", v.model, "; ".join(v.problems), v.model, True, "policy"))
    for c in on_call(ws):
        if not c.has_rota:
            rows.append(Row(f"oncall:{c.team}", "on call", c.team, "no on-call rota", kind="oncall"))
            continue
        following = f"{c.next.person} from {c.next.start.astimezone():%a %H:%M}" if c.next else "nobody"
        rows.append(Row(f"oncall:{c.team}", "on call now", c.team, _turn(c.now), kind="oncall"))
        rows.append(Row(f"oncall-next:{c.team}", "on call next", c.team, following, kind="oncall"))
    rows += [_handover_row(h) for h in queue if not h.waiting_for_you]
    for o in model_owners(ws):
        rows.append(Row(f"model:{o.model}", "model", o.model,
                        f"owner {o.owner or 'nobody'} · {CRIT_SHORT.get(o.criticality, o.criticality)} · "
                        f"{o.handover_state.replace('_', ' ')}", o.model, kind="model"))
    return rows


class OwnershipScreen(FilterListScreen[list[Row]]):
    TITLE_TEXT = "Ownership"
    LOADS = "ownership"
    FILTER_PLACEHOLDER = "filter: team, model, person, state…"

    BINDINGS = [
        Binding("slash", "filter", "Filter", id="ownership.filter", tooltip="narrow the list as you type"),
        Binding("escape", "clear_filter", "Clear filter", id="ownership.clear_filter", tooltip="clear the filter"),
        Binding("n", "new_handover", "New handover", id="ownership.new",
                tooltip="start a handover of the selected model to another team"),
        Binding("S", "shift", "Shift", id="ownership.shift",
                tooltip="what changed since the current on-call shift began"),
    ]

    def __init__(self) -> None:
        super().__init__(id="ownership-screen")
        self.rows: list[Row] = []

    def compose(self) -> ComposeResult:
        yield TitleLine("Ownership", id="title", classes="title")
        yield from self.filter_bar()
        yield VirtualTable(self._columns(80), empty_text="loading ownership…", id="ownership")
        yield Static(id="status", classes="status")
        yield KeyBar()

    def _columns(self, width: int) -> list[Column]:
        fixed = [Column("section", "what", 12), Column("name", "team / model", 19)]
        used = sum(c.width for c in fixed) + len(fixed) + 1 + 2
        return [*fixed, Column("detail", "detail", max(12, width - used))]

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(VirtualTable).focus()
        self.watch(self.app, "identity", lambda _: self.refresh_table(), init=False)  # the status line says who

    def on_resize(self) -> None:
        self.query_one(VirtualTable).set_columns(self._columns(self.size.width))

    def fetch(self, ws: Workspace) -> list[Row]:
        return fetch_ownership(ws, self.app.config.raw, self.app.actor)

    def show(self, data: list[Row]) -> None:
        self.rows = data
        self.refresh_table()
        self.refresh_bindings()

    def refresh_table(self) -> None:
        words = self.filter_text.lower().split()
        shown = [r for r in self.rows if matches(f"{r.section} {r.name} {r.detail}".lower(), words)]
        table = self.query_one(VirtualTable)
        table.empty_text = "no teams or models yet" if not self.rows else f"nothing matches {self.filter_text!r}"
        table.set_rows([r.key for r in shown], shown, format=lambda r: (
            Text(r.section, style="bold" if r.bold else ""), r.name, r.detail))
        violations = sum(r.kind == "policy" for r in self.rows)
        handovers = sum(r.kind == "handover" for r in self.rows)
        yours = sum(r.section == "✎ to sign" for r in self.rows)
        parts = [f"{violations} policy violation{'s' * (violations != 1)}", f"{handovers} handover(s) in progress"]
        parts += [f"{yours} to sign"] if yours else []
        parts.append("⏎ checklist")
        if self.app.read_only:
            parts.append("READ-ONLY")
        who = self.app.identity
        if who is not None and not who.known:  # nothing here can be signed: say so, and the fix
            parts = [f"unknown person: {who.fix}"]
        self.query_one("#status", Static).update(Text(visible(" · ".join(parts))))

    @property
    def selected(self) -> Row | None:
        key = self.query_one(VirtualTable).cursor_key
        return next((r for r in self.rows if r.key == key), None)

    @on(VirtualTable.Highlighted, "#ownership")
    def _highlighted(self) -> None:
        self.refresh_bindings()

    @on(VirtualTable.Selected, "#ownership")
    def _open(self) -> None:
        row = self.selected
        if row is None or row.model is None:
            return
        from fuseboard.tui.screens.checklist import ChecklistScreen

        self.app.push_screen(ChecklistScreen(row.model))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "new_handover":
            if self.app.read_only:
                return False
            return None if self.unavailable_reason(action) else True
        return self.filter_check(action)

    def unavailable_reason(self, action: str) -> str | None:
        if action != "new_handover":
            return None
        if self.app.read_only:
            return "the workspace is open read-only"
        row = self.selected
        if row is None or row.model is None:
            return "select a model"
        if any(r.kind == "handover" and r.model == row.model for r in self.rows):
            return f"{row.model} already has a handover in progress (enter opens it)"
        return None

    def action_new_handover(self) -> None:
        row = self.selected
        if row is None or row.model is None or self.unavailable_reason("new_handover"):
            return
        model, actor = row.model, self.app.actor

        def submitted(values: dict[str, str] | None) -> None:
            if values is None:
                return
            from fuseboard.ops import handover

            def work(ws: Any) -> str:
                view = handover.start(ws, model, values["team"], actor=actor, origin="tui")
                return f"handover of {model} to {view.to_team} started: {len(view.items)} items"

            def done(message: str) -> None:
                self.notify(message, timeout=5)
                self.reload()

            self.app.run_change("start the handover", work, done)

        self.app.push_screen(FormDialog("New handover", f"hand {model} over to which team?",
                                        [Field("team", "receiving team", placeholder="it-ops")], "Start"), submitted)

    def action_shift(self) -> None:
        self.app.push_screen(ShiftScreen())


class ShiftScreen(FuseboardScreen["ShiftSummary"]):
    """What changed since the current on-call shift began, for the next engineer."""

    TITLE_TEXT = "Shift"
    LOADS = "shift"
    RELOAD_ON_RESUME = False
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="shift.back", tooltip="back"),
        Binding("j,down", "scroll('down')", "Down", show=False, id="shift.down", tooltip="scroll down"),
        Binding("k,up", "scroll('up')", "Up", show=False, id="shift.up", tooltip="scroll up"),
    ]

    def compose(self) -> ComposeResult:
        yield TitleLine("Ownership › shift summary", classes="title")
        with VerticalScroll(id="shift-scroll"):
            yield Static(Text("loading the shift summary…"), id="shift")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#shift-scroll").focus()

    def fetch(self, ws: Workspace) -> ShiftSummary:
        from fuseboard.ops.handover import shift_summary

        return shift_summary(ws, actor=self.app.actor)

    def show(self, data: ShiftSummary) -> None:
        self.query_one("#shift", Static).update(render_shift(data))

    def action_scroll(self, where: str) -> None:
        from fuseboard.tui.common import scroll

        scroll(self.query_one("#shift-scroll", VerticalScroll), where)


def render_shift(summary: ShiftSummary) -> Text:
    head = f"since {summary.since.astimezone():%a %d %b %H:%M %Z}"
    if summary.team:
        head = f"{summary.team}: {summary.person or 'nobody'} on call, {head}"
    out = Text()
    out.append(f"{visible(head)}\n", style="bold")
    out.append(f"{len(summary.alerts_opened)} alerts opened · {len(summary.alerts_resolved)} resolved · "
               f"{summary.still_open} still open\n\n")
    for a in summary.alerts_opened:
        out.append(visible(f"opened   {a['severity']:<4} {a['model']}/{a['environment']} {a['check']}: "
                           f"{a['summary']}") + "\n")
    for a in summary.alerts_resolved:
        out.append(visible(f"resolved {a['model']}/{a['environment']} {a['check']}") + "\n")
    if summary.handovers:
        out.append("\nHandovers\n", style="bold")
    for h in summary.handovers:
        out.append(visible(f"{h['model']} → {h['to_team']}: {h['state'].replace('_', ' ')} "
                           f"({', '.join(h['steps'])})") + "\n")
    if summary.events:
        out.append("\nChanges\n", style="bold")
    from datetime import datetime

    for e in summary.events:
        when = datetime.fromisoformat(e["at"]).astimezone().strftime("%a %H:%M")
        out.append(f"{when}  {visible(e['actor']):<8} {visible(e['action']):<18} {visible(e['target'])}"
                   + (f" ({visible(e['reason'])})" if e["reason"] else "") + "\n")
    if not summary.events and not summary.alerts_opened and not summary.alerts_resolved and not summary.handovers:
        out.append("a quiet shift: nothing changed\n")
    return out
