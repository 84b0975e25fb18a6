"""A handover checklist, reviewed by keyboard: j/k move, enter the item whole, space tick, e evidence,
s sign, x reject.

Each row shows its item's state: ticked (and by whom), evidence given but not ticked, none yet;
items fuseboard verifies itself (re-checked whenever the checklist loads) verified or failing,
never ticked by hand. A rejection is the first thing on the screen, with who sent it back and why.
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
from fuseboard.tui.screens.handover_dialogs import ItemScreen, SignDialog
from fuseboard.tui.widgets.keybar import KeyBar
from fuseboard.tui.widgets.table import Column, VirtualTable
from fuseboard.tui.widgets.title import TitleLine

if TYPE_CHECKING:
    from fuseboard.ops.connect import Workspace
    from fuseboard.ops.handover import HandoverView, ItemView, SignPlan


GROUP_SHORT = {"data": "data", "model": "model", "infrastructure": "infra", "monitoring": "monit",
               "operations": "ops"}


class ChecklistData(NamedTuple):
    """The handover, who the user is to the workspace: (a known person?, their team), and what their
    signature would mean now (or why they cannot sign)."""

    view: HandoverView
    person: tuple[bool, str | None]
    plan: SignPlan | None = None


def _fetch(ws: Workspace, model: str, actor: str) -> ChecklistData:
    from fuseboard.ops import handover
    from fuseboard.ops.teams import member_of

    view = handover.show(ws, model)
    return ChecklistData(view, member_of(ws, actor), handover.sign_plan(ws, model, actor=actor))


def row_flag(item: ItemView) -> Text:
    """The row's evidence column: verified / failing (fuseboard), ticked by whom, evidence given, none."""
    if item.auto:
        return Text("● verified") if item.done else Text("✖ failing", style="bold")
    if item.done:
        return Text(visible(f"✔ by {item.checked_by or '?'}"))
    return Text("✎ evidence") if item.evidence else Text("○ none", style="dim")


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
        self.plan: Any = None  # what signing would mean now (ops.handover.SignPlan)
        self.error = ""

    def compose(self) -> ComposeResult:
        yield TitleLine(f"Ownership › {self.model}", classes="title")
        yield Static(Text(f"loading the handover of {self.model}…"), id="handover-head", classes="status")
        yield VirtualTable([Column("mark", "", 4), Column("group", "", 6), Column("text", "item", 53),
                            Column("flag", "evidence", 13)], empty_text="loading…", id="items")
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
        from fuseboard.ops.handover.export import rejection

        self.view, self.person, self.plan = data
        v = self.view
        done, total = v.progress
        head = Text()
        if v.state == "rejected":  # the first thing the other side reads: who sent it back, and why
            head.append(visible(rejection(v)) + "\n", style="bold")
        head.append_text(Text.assemble((visible(v.model), "bold"), visible(f" {v.from_team or '-'} → {v.to_team} · "),
                                       (v.state.replace("_", " "), "bold"), f" · {done}/{total} required"))
        self.query_one("#handover-head", Static).update(head)
        table = self.query_one(VirtualTable)
        table.set_rows([i.key for i in v.items], v.items, format=self._cells)
        sides = ", ".join(f"{k} {p}" for k, p in sorted(v.signatures.items())) or "nobody"
        self.query_one("#status", Static).update(Text(f"signed: {visible(sides)} · [a] verified [!] failing · "
                                                      f"( ) optional · ⏎ whole item"))
        self._detail()
        self.refresh_bindings()

    @staticmethod
    def _cells(item: Any) -> tuple[Any, ...]:
        from fuseboard.ops.handover.export import mark

        text = item.text if item.required else f"({item.text})"
        return (Text(mark(item), style="bold" if not item.done and item.required else ""),
                GROUP_SHORT.get(item.group, item.group[:6]), text, row_flag(item))

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
        if item.auto and not item.done:
            text = f"{item.key}: ✖ {item.evidence}" + (f" · to pass: {item.fix}" if item.fix else "")
        elif item.auto:
            text = f"{item.key}: fuseboard checks this · {item.evidence}"
        elif item.evidence:
            given = item.given
            who = f" (given by {given.by}, {given.at.astimezone():%m-%d %H:%M})" if given else ""
            text = f"{item.key}: {item.evidence}{who}"
        else:
            text = f"{item.key}: {item.help or 'no evidence yet (e adds it)'}"
        self.query_one("#item-detail", Static).update(Text(visible(text)))
        self.refresh_bindings()

    @on(VirtualTable.Selected, "#items")
    def _open(self) -> None:
        item = self.selected
        if item is not None:
            self.app.push_screen(ItemScreen(self.model, item))

    # -- keys -------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("tick", "evidence", "sign", "reject"):
            if self.app.read_only:
                return False
            return None if self.unavailable_reason(action) else True
        return True

    # (s is never dimmed once loaded: its dialog says what signing means, or exactly why you cannot sign)

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
        if action == "reject":
            known, team = self.person
            if v.state == "rejected":
                return "already rejected; the giving side fixes it and signs again"
            if not known:
                return f"you ({self.app.actor}) are not a person this workspace knows"
            if team != v.to_team:
                return f"only {v.to_team} (receiving) rejects; you are in {team or 'no team'}"
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
        reason = self.unavailable_reason("sign")
        if reason or self.plan is None:
            self.say(f"s (Sign) is unavailable: {reason or 'still loading'}")
            return
        actor, model, plan = self.app.actor, self.model, self.plan
        from fuseboard.ops import handover

        def work(ws: Any) -> str:
            view = handover.sign(ws, model, actor=actor, origin="tui", resubmit=plan.resubmit)
            return (f"ownership of {model} moved to {view.to_team}" if view.state == "transferred"
                    else f"signed by {actor} for the {plan.side} side; waiting for the "
                         f"{' and '.join(plan.waiting_for) or 'other'} side")

        def answered(sign: bool | None) -> None:
            if sign:
                self._change("sign", work)

        self.app.push_screen(SignDialog(plan), answered)

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

        giving = self.view.from_team or "its builders"
        self.app.push_screen(FormDialog("Reject", f"Send the handover of {model} back to {giving}: signatures are "
                                        "cleared, and your reason is the first thing they see when they open "
                                        "the checklist.",
                                        [Field("reason", "what must change", placeholder="runbook missing…")],
                                        "Reject"), submitted)
