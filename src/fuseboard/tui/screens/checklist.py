"""A handover checklist, reviewed by keyboard: j/k move, space tick, e evidence, s sign, x reject.

Items fuseboard verifies itself show their evidence from the workspace (re-checked whenever
the checklist loads) and cannot be ticked by hand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from fuseboard.text import visible
from fuseboard.tui.screens.base import FuseboardScreen
from fuseboard.tui.screens.dialogs import Field, FormDialog
from fuseboard.tui.widgets.keybar import KeyBar
from fuseboard.tui.widgets.table import Column, VirtualTable
from fuseboard.tui.widgets.title import TitleLine

if TYPE_CHECKING:
    from fuseboard.ops.connect import Workspace
    from fuseboard.ops.handover import HandoverView


GROUP_SHORT = {"data": "data", "model": "model", "infrastructure": "infra", "monitoring": "monit",
               "operations": "ops"}


class ChecklistData(NamedTuple):
    """The handover, and who the user is to the workspace: (a known person?, their team)."""

    view: HandoverView
    person: tuple[bool, str | None]


def _fetch(ws: Workspace, model: str, actor: str) -> ChecklistData:
    from fuseboard.ops import handover
    from fuseboard.ops.teams import member_of

    return ChecklistData(handover.show(ws, model), member_of(ws, actor))


def render_item(item: Any) -> Any:
    """A checklist item whole: what it asks, how to satisfy it, its evidence and who gave it."""
    from rich.console import Group
    from rich.table import Table

    from fuseboard.text import cells

    table = Table(box=None, show_header=False, padding=(0, 1), expand=True)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(ratio=1, overflow="fold")
    state = ("satisfied" if item.done else "not satisfied") + (" · fuseboard verifies it" if item.auto else "")
    rows = [("item", item.key), ("asks", item.text), ("group", item.group),
            ("required", "yes" if item.required else "no (optional)"), ("state", state),
            ("how", item.help or "-")]
    for label, value in rows:
        table.add_row(*cells(label, value))
    table.add_row(*cells("evidence", ""))
    evidence = Text(visible(item.evidence or "none yet (e adds it)", lines=True))
    if item.checked_by:
        who = f"{item.checked_by}, {item.checked_at.astimezone():%Y-%m-%d %H:%M %Z}" if item.checked_at else \
            item.checked_by
        table.add_row(*cells("by", who))
    return Group(table, evidence)


class ChecklistScreen(FuseboardScreen[ChecklistData]):
    TITLE_TEXT = "Checklist"
    LOADS = "checklist"
    RELOAD_ON_RESUME = False  # (it reloads after each change made from it)

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="checklist.back", tooltip="back to Ownership"),
        Binding("space", "tick", "Tick", id="checklist.tick",
                tooltip="mark the selected item satisfied (or not); it needs evidence first"),
        Binding("e", "evidence", "Evidence", id="checklist.evidence",
                tooltip="record evidence for the selected item (text or a link)"),
        Binding("s", "sign", "Sign", id="checklist.sign",
                tooltip="sign for your team's side; both sides signed moves ownership"),
        Binding("x", "reject", "Reject", id="checklist.reject",
                tooltip="send the handover back with a reason (receiving team)"),
    ]

    def __init__(self, model: str) -> None:
        super().__init__()
        self.model = model
        self.view: Any = None
        self.person: tuple[bool, str | None] = (True, None)  # the user: a known person?, their team
        self.error = ""

    def compose(self) -> ComposeResult:
        yield TitleLine(f"Ownership › {self.model}", classes="title")
        yield Static(Text(f"loading the handover of {self.model}…"), id="handover-head", classes="status")
        yield VirtualTable([Column("mark", "", 4), Column("group", "", 6), Column("text", "item", 64)],
                           empty_text="loading…", id="items")
        yield Static(id="item-detail", classes="status")
        yield Static(id="status", classes="status")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(VirtualTable).focus()

    def fetch(self, ws: Workspace) -> ChecklistData:
        return _fetch(ws, self.model, self.app.actor)

    def show_failure(self, error: str) -> None:
        self.error = error
        self.query_one("#handover-head", Static).update(Text(visible(error)))
        self.query_one(VirtualTable).empty_text = "press n on the Ownership screen to start a handover"
        self.query_one(VirtualTable).set_rows([], [])

    def show(self, data: ChecklistData) -> None:
        self.view, self.person = data
        v = self.view
        done, total = v.progress
        head = Text.assemble((visible(v.model), "bold"), visible(f" {v.from_team or '-'} → {v.to_team} · "),
                             (v.state.replace("_", " "), "bold"), f" · {done}/{total} required")
        if v.state == "rejected" and v.reason:
            head.append(f" · rejected: {visible(v.reason)}")
        self.query_one("#handover-head", Static).update(head)
        table = self.query_one(VirtualTable)
        table.set_rows([i.key for i in v.items], v.items, format=self._cells)
        sides = ", ".join(f"{k} {p}" for k, p in sorted(v.signatures.items())) or "nobody"
        self.query_one("#status", Static).update(Text(f"signed: {visible(sides)} · [a] fuseboard verifies · "
                                                      f"( ) optional"))
        self._detail()
        self.refresh_bindings()

    @staticmethod
    def _cells(item: Any) -> tuple[Any, ...]:
        mark = ("[a]" if item.auto else "[x]") if item.done else ("[!]" if item.auto else "[ ]")
        text = item.text if item.required else f"({item.text})"
        return (Text(mark, style="bold" if not item.done and item.required else ""), GROUP_SHORT.get(item.group,
                                                                                                    item.group[:6]),
                text)

    @property
    def selected(self) -> Any:
        if self.view is None:
            return None
        key = self.query_one(VirtualTable).cursor_key
        return next((i for i in self.view.items if i.key == key), None)

    @on(VirtualTable.Highlighted, "#items")
    def _detail(self) -> None:
        item = self.selected
        if item is None:
            return
        if item.auto:
            text = f"{item.key}: fuseboard checks this · {item.evidence}"
        elif item.evidence:
            who = f" ({item.checked_by}, {item.checked_at.astimezone():%m-%d %H:%M})" if item.checked_at else ""
            text = f"{item.key}: {item.evidence}{who}"
        else:
            text = f"{item.key}: {item.help or 'no evidence yet (e adds it)'}"
        self.query_one("#item-detail", Static).update(Text(visible(text)))
        self.refresh_bindings()

    @on(VirtualTable.Selected, "#items")
    def _open(self) -> None:
        item = self.selected
        if item is not None:
            from fuseboard.tui.screens.dialogs import EntryScreen

            self.app.push_screen(EntryScreen(f"{self.model}: {item.key}", render_item(item)))

    # -- keys -------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("tick", "evidence", "sign", "reject"):
            if self.app.read_only:
                return False
            return None if self.unavailable_reason(action) else True
        return True

    def unavailable_reason(self, action: str) -> str | None:
        if action not in ("tick", "evidence", "sign", "reject"):
            return None
        if self.app.read_only:
            return "the workspace is open read-only"
        v = self.view
        if v is None:
            return self.error or "still loading"
        if v.state == "transferred":
            return "this handover is complete; ownership has moved"
        item = self.selected
        if action in ("tick", "evidence"):
            if item is None:
                return "no item is selected"
            if item.auto:
                return f"fuseboard verifies {item.key} from the workspace; it cannot be ticked by hand"
            if action == "tick" and not item.done and not item.evidence:
                return "give evidence first (e)"
        if action == "sign":
            known, team = self.person
            if not known:
                return (f"you ({self.app.actor}) are not a person this workspace knows; sign-offs come from team "
                        "members (fuseboard people add, or set FUSEBOARD_USER to your handle)")
            if team not in (v.from_team, v.to_team):
                return (f"you ({self.app.actor}, {team or 'no team'}) are in neither the giving nor the receiving "
                        "team")
            if v.state == "rejected":
                return "rejected: fix it, then submit it again (fuseboard handover submit)"
            if v.required_open:
                return f"{len(v.required_open)} required item(s) not satisfied yet"
        if action == "reject" and v.state == "rejected":
            return "already rejected"
        return None

    def _change(self, what: str, work: Any) -> None:
        def done(message: str) -> None:
            self.notify(message, timeout=4)
            self.reload()

        self.app.run_change(what, work, done)

    def action_tick(self) -> None:
        item, actor, model = self.selected, self.app.actor, self.model
        if item is None or self.unavailable_reason("tick"):
            return
        from fuseboard.ops import handover

        def work(ws: Any) -> str:
            handover.tick(ws, model, item.key, actor=actor, origin="tui", done=not item.done)
            return f"{item.key} {'unticked' if item.done else 'ticked'}"

        self._change("tick", work)

    def action_evidence(self) -> None:
        item, actor, model = self.selected, self.app.actor, self.model
        if item is None or self.unavailable_reason("evidence"):
            return
        from fuseboard.ops import handover

        def submitted(values: dict[str, str] | None) -> None:
            if values is not None:
                self._change("record evidence", lambda ws: (
                    handover.set_evidence(ws, model, item.key, values["evidence"], actor=actor, origin="tui"),
                    f"evidence recorded for {item.key}")[1])

        self.app.push_screen(FormDialog("Evidence", f"{item.key}: {item.text}",
                                        [Field("evidence", "evidence (text or a link)", visible(item.evidence))],
                                        "Save"),
                             submitted)

    def action_sign(self) -> None:
        if self.unavailable_reason("sign"):
            return
        actor, model = self.app.actor, self.model
        from fuseboard.ops import handover

        def work(ws: Any) -> str:
            view = handover.sign(ws, model, actor=actor, origin="tui")
            return (f"ownership of {model} moved to {view.to_team}" if view.state == "transferred"
                    else f"signed by {actor}; waiting for the other side")

        self._change("sign", work)

    def action_reject(self) -> None:
        if self.unavailable_reason("reject"):
            return
        actor, model = self.app.actor, self.model
        from fuseboard.ops import handover

        def submitted(values: dict[str, str] | None) -> None:
            if values is not None:
                self._change("reject", lambda ws: (
                    handover.reject(ws, model, values["reason"], actor=actor, origin="tui"),
                    f"handover of {model} sent back")[1])

        self.app.push_screen(FormDialog("Reject", f"send the handover of {model} back",
                                        [Field("reason", "what must change", placeholder="runbook missing…")],
                                        "Reject"), submitted)
