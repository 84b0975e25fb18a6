"""The 3 a.m. loop: an alert seen as an incident, and the keys that act on it.

``IncidentKeys`` gives the alert list (Monitoring) and the incident view (a deployment opened
from its alert) the same keys: ``r`` rollback, ``a`` acknowledge, ``s`` silence, ``x`` resolve,
``h`` history. A confirmed rollback runs in a thread; each step (the hook's answer, then what
the endpoint reports) is posted as ``Progress`` and shown in the incident view as it happens.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from rich.table import Table
from rich.text import Text

from textual.binding import Binding

from fuseboard.text import cells, visible
from fuseboard.tui.log import record_failure
from fuseboard.tui.messages import Degraded, Progress
from fuseboard.tui.screens.dialogs import ChangeDialog, Field, FormDialog
from fuseboard.tui.status import status_text

CONVERGE_SECONDS = 15  # how long the view waits for the endpoint to report the version rolled back to
INCIDENT_KEYS = ("rollback", "ack", "silence", "resolve", "history")
VERDICT_STYLE = {"likely to help": "success", "unlikely to help": "warning", "unknown": "text-muted"}


@dataclass(frozen=True)
class Target:
    """What the incident keys act on: a deployment and, if one is open, its alert."""

    model: str
    environment: str
    alert_id: int | None = None
    check: str | None = None
    severity: str | None = None
    state: str | None = None
    acknowledged_by: str | None = None
    typed: bool = False  # mission-critical in a protected environment: the rollback asks for the name


def incident_bindings(screen: str) -> list[Binding]:
    """The incident keys, the same on every screen that has them; ids under ``screen`` (a keymap entry
    names one screen's key)."""
    return [
        Binding("r", "rollback", "Rollback", id=f"{screen}.rollback",
                tooltip="roll the alert's deployment back to its last known-good older version (asks first; "
                        "says whether it will help)"),
        Binding("a", "ack", "Ack", id=f"{screen}.ack", tooltip="acknowledge the alert: you are on it"),
        Binding("s", "silence", "Silence", id=f"{screen}.silence",
                tooltip="mute this deployment's alerts for the alert's check for a while (asks how long and why)"),
        Binding("x", "resolve", "Resolve", id=f"{screen}.resolve", tooltip="resolve the alert by hand, with a note"),
        Binding("h", "history", "History", id=f"{screen}.history",
                tooltip="the alert's deployment: its rollouts, hook output and audit trail"),
    ]


class IncidentKeys:
    """Mixed into a screen that defines ``incident_target()``, ``reload()`` and bindings for
    ``rollback``, ``ack``, ``silence``, ``resolve`` and ``history``."""

    app: Any
    incident_target: Callable[[], Target | None]  # the screen's own: the alert its keys act on, if any

    def incident_unavailable(self, action: str) -> str | None:
        """Why an incident key cannot act right now; None when it can."""
        if action != "history" and self.app.read_only:
            return "the workspace is open read-only"
        target = self.incident_target()
        if target is None:
            return "no alert is selected"
        if action == "rollback":
            running = self.app.rollouts_running.get((target.model, target.environment))
            return f"a rollback is running ({running})" if running else None
        if action in ("ack", "silence", "resolve") and target.alert_id is None:
            return f"nothing is alerting on {target.model} in {target.environment}"
        if action == "ack" and target.state == "acknowledged":
            return "already acknowledged" + (f" by {target.acknowledged_by}" if target.acknowledged_by else "")
        return None

    def incident_check(self, action: str) -> bool | None:
        """``check_action`` for the incident keys: hidden read-only, dimmed when they cannot act."""
        if action != "history" and self.app.read_only:
            return False
        return None if self.incident_unavailable(action) else True

    def _incident_change(self, what: str, work: Any) -> None:
        def done(message: str) -> None:
            self.notify(message, timeout=4)  # type: ignore[attr-defined]
            self.reload()  # type: ignore[attr-defined]

        self.app.run_change(what, work, done)

    def _ask(self, verb: str, what: str, fields: list[Field], work: Any) -> None:
        """A form, then ``work(workspace, values)`` in a worker once it is submitted."""

        def submitted(values: dict[str, str] | None) -> None:
            if values is not None:
                self._incident_change(verb, lambda ws: work(ws, values))

        self.app.push_screen(FormDialog(verb.capitalize(), what, fields, verb.capitalize()), submitted)

    def action_ack(self) -> None:
        target, actor = self.incident_target(), self.app.actor
        if target is None or self.incident_unavailable("ack"):
            return
        from fuseboard.monitoring.alerts import acknowledge

        def work(ws: Any) -> str:
            acknowledge(ws, target.alert_id, actor=actor, origin="tui")
            return f"alert {target.alert_id} acknowledged"

        self._incident_change("acknowledge", work)

    def action_silence(self) -> None:
        target, actor = self.incident_target(), self.app.actor
        if target is None or self.incident_unavailable("silence"):
            return
        from fuseboard.monitoring.alerts import parse_duration, silence

        def work(ws: Any, values: dict[str, str]) -> str:
            item = silence(ws, target.model, target.environment, parse_duration(values["duration"]),
                           comment=values["comment"], actor=actor, origin="tui", check=target.check)
            return (f"{target.check} of {target.model}/{target.environment} silenced until "
                    f"{item.ends_at.astimezone().strftime('%H:%M %Z')}")

        self._ask("silence", f"{target.model} in {target.environment}: mute the {target.check} alert",
                  [Field("duration", "for (30m, 2h, 1d)", "2h"),
                   Field("comment", "why", placeholder="known cause, ticket…")], work)

    def action_resolve(self) -> None:
        target, actor = self.incident_target(), self.app.actor
        if target is None or self.incident_unavailable("resolve"):
            return
        from fuseboard.monitoring.alerts import resolve

        def work(ws: Any, values: dict[str, str]) -> str:
            resolve(ws, target.alert_id, actor=actor, origin="tui", note=values["note"])
            return f"alert {target.alert_id} resolved"

        self._ask("resolve", f"{target.model} in {target.environment}: {target.check} ({target.severity})",
                  [Field("note", "what was done", placeholder="rolled back, fixed upstream…")], work)

    def action_history(self) -> None:
        target = self.incident_target()
        if target is None:
            return
        from fuseboard.tui.screens.history import HistoryScreen

        self.app.push_screen(HistoryScreen(target.model, target.environment))

    def action_rollback(self) -> None:
        target = self.incident_target()
        if target is None or self.incident_unavailable("rollback"):
            return
        rollback(self.app, target)


def rollback(app: Any, target: Target) -> None:
    """Open the rollback dialog at once (it plans in a worker); once confirmed, show the incident view
    and run the rollback there, step by step."""
    dialog = ChangeDialog(request=("rollback", target.model, target.environment, None), typed=target.typed)

    def confirmed(answer: dict[str, str] | None) -> None:
        if answer is None or dialog.plan is None:
            return
        from fuseboard.tui.screens.deployment import DeploymentScreen

        screen = app.screen
        if not (isinstance(screen, DeploymentScreen) and (screen.model, screen.env) == (target.model,
                                                                                         target.environment)):
            app.push_screen(DeploymentScreen(target.model, target.environment, target.alert_id))
        run_rollback(app, dialog.plan, answer)

    app.push_screen(dialog, confirmed)


def run_rollback(app: Any, plan: Any, answer: dict[str, str]) -> None:
    """Apply a confirmed plan in a thread, posting each step: the hook's answer, then whether the
    endpoint reports the version (or did not within ``CONVERGE_SECONDS``)."""
    from fuseboard.errors import WorkspaceUnwritable

    model, env, actor, allow = plan.model, plan.environment, app.actor, app.config.allow
    key = (model, env)
    app.outcomes[key] = []
    app.rollouts_running[key] = f"v{plan.from_version} → v{plan.to_version}"
    began = time.monotonic()

    def say(text: str, status: str = "run", final: bool = False) -> None:
        app.post_message(Progress(model, env, text, status, final))

    def work() -> None:
        from fuseboard.ops import deploy as ops

        say(f"{plan.action} v{plan.from_version} → v{plan.to_version} confirmed by {actor}: running the hook…")
        try:
            ws = app.workspace()
            result = ops.apply(ws, plan, actor=actor, origin="tui", reason=answer["reason"],
                               override=bool(answer["override"]), allow=allow)
        except WorkspaceUnwritable as exc:
            app.post_message(Degraded(exc.reason))
            say(f"could not {plan.action}: {exc}", "crit", final=True)
            return
        except Exception as exc:  # noqa: BLE001  (shown in the view and logged, not raised into the UI)
            text = record_failure(f"{plan.action} of {model} in {env}", exc, url=app.url)
            say(f"could not {plan.action}: {text}", "crit", final=True)
            return
        if not result.ok:  # the hook failed, or the change was settled meanwhile
            say(result.message(), "crit", final=True)
            return
        say(f"hook: {result.hook_status or 'no hook'}", "ok")
        if result.state != "succeeded" or plan.from_version == plan.to_version:
            say(result.message(), "ok", final=True)
            return
        say(f"waiting for the endpoint to report v{plan.to_version}…")
        try:
            converged = ops.wait_converged(ws, model, env, timeout=CONVERGE_SECONDS)
        except Exception as exc:  # noqa: BLE001  (shown in the view and logged)
            text = record_failure(f"ask the endpoint of {model} in {env}", exc, url=app.url)
            say(f"could not ask the endpoint: {text}", "crit", final=True)
            return
        seconds = time.monotonic() - began
        if converged.ok:
            say(f"endpoint reports v{plan.to_version} ({seconds:.1f} s after the confirm)", "ok", final=True)
        elif not converged.probed:
            say(f"note: {converged.detail}", "none", final=True)
        else:
            why = converged.detail.split("; ", 1)[-1]
            say(f"did not converge within {CONVERGE_SECONDS} s: {why}", "crit", final=True)

    app.run_worker(work, thread=True, group="changes", name=f"{plan.action} of {model} in {env}")


# -- the incident's facts, drawn at the top of the deployment view --------------------------------------

def _when(at: Any) -> str:
    return at.astimezone().strftime("%H:%M %Z") if at is not None else ""


def _contact(c: Any, until: bool = True) -> str:
    if c is None:
        return "nobody"
    text = f"{c.name} ({c.handle})" if c.name and c.name != c.handle else c.handle
    if c.phone:
        text += f" {c.phone}"
    if until and c.until is not None:
        text += f" until {c.until.astimezone():%a %H:%M}"
    return text


def verdict_line(advice: Any, colors: dict[str, str]) -> Text:
    """``Rollback to v1: likely to help — drift began 3h after v2 went live; v1 was ok …``"""
    head = f"Rollback to v{advice.target_version}" if advice.target_version is not None else "Rollback"
    word = str(advice.verdict.value if hasattr(advice.verdict, "value") else advice.verdict)
    line = Text(f"{head}: ", style="bold")
    line.append(word, style=f"bold {colors.get(VERDICT_STYLE.get(word, ''), '')}".strip())
    if advice.reasons:
        line.append(" — " + visible("; ".join(advice.reasons)))
    return line


TRIAGE_STYLE = {"harmful": "error", "watch": "warning", "ok": "success"}


def triage_line(found: dict[str, Any], colors: dict[str, str]) -> Text:
    """``Triage harmful — estimated roc_auc 0.801 vs 0.912 (warn); drift in strong, 93% of …``: is the
    drift hurting the model, before anything else, on one line (the checks below say the rest)."""
    word = found.get("verdict", "ok")
    line = Text("Triage ", style="bold")
    line.append(word, style=f"bold {colors.get(TRIAGE_STYLE.get(word, ''), '')}".strip())
    reasons = found.get("reasons") or []
    line.append(" — " + visible("; ".join(reasons)) if reasons else " — no drift, no degraded performance")
    line.no_wrap, line.overflow = True, "ellipsis"  # one line, so what changed stays on the first page at 80x24
    return line


def outcome_lines(steps: list[Progress], colors: dict[str, str]) -> list[Text]:
    out = [Text("Rollback, as it happens", style="bold")]
    for i, step in enumerate(steps):
        if step.status == "run":  # still going only while it is the last step
            mark = Text("… " if i == len(steps) - 1 else "  ", style="dim")
        else:
            mark = status_text(step.status, colors) + " "
        out.append(Text.assemble(mark, visible(step.text)))
    return out


def render_incident(inc: Any, colors: dict[str, str], steps: list[Progress], opened: Any = None) -> list[Any]:
    """What is wrong, what changed around it, who owns it and who to call, the runbook, and whether
    a rollback will help; the rollback's steps on top while one runs. ``opened``: the alert the view
    was opened from, when it is not the deployment's worst (which the verdict is about)."""
    parts: list[Any] = [triage_line(inc.triage, colors)]
    head = Text()
    if opened is not None and opened.id != inc.alert_id:
        state = "resolved" if opened.state == "resolved" else "silenced" if opened.silenced else opened.state
        line = status_text(opened.severity, colors)
        line.append(visible(f" {opened.check} alert {opened.id}, {state}, since {_when(opened.opened_at)}"),
                    style="bold")
        line.append(visible(f": {opened.summary}"))
        parts.append(line)
        if inc.alert_id is not None:
            head.append("the deployment's worst open alert, which the verdict is about: ", style="dim")
    if inc.alert_id is not None:
        head.append_text(status_text(inc.alert_severity or "error", colors))
        head.append(visible(f" {inc.alert_check} alert {inc.alert_id}, {inc.alert_state}"
                            f", since {_when(inc.started_at)}"), style="bold")
        if inc.flaps:
            head.append(f" · flapped {inc.flaps}×")
    else:
        head.append(visible(f"nothing is alerting on {inc.model} in {inc.environment}"), style="bold")
    parts.append(head)
    if steps:
        parts += outcome_lines(steps, colors)
    parts.append(verdict_line(inc.rollback, colors))
    owner = Text("Owner ", style="bold")
    owner.append(visible(inc.owner_team or "no team"))
    owner.append(" · on call ", style="bold")
    owner.append(visible(_contact(inc.on_call_now)))
    owner.append(" · next ", style="bold")
    owner.append(visible(_contact(inc.on_call_next, until=False)))
    parts.append(owner)
    runbook = Text("Runbook ", style="bold")
    if inc.runbook:
        runbook.append(visible(inc.runbook, lines=True))
    else:
        runbook.append(visible(f"none (fuseboard monitoring set {inc.model} --runbook URL)"), style="dim")
    parts.append(runbook)

    wrong = Table(title="What is wrong, worst first", title_justify="left", expand=True, box=None,
                  header_style="bold", padding=(0, 1), show_header=False)
    for kw in ({"no_wrap": True}, {"no_wrap": True}, {"no_wrap": True}, {"ratio": 1, "overflow": "fold"}):
        wrong.add_column(**kw)
    quiet = [c for c in inc.checks if c.status in ("ok", "none")]
    for c in inc.checks:
        if c not in quiet:
            wrong.add_row(*cells(status_text(c.status, colors), c.check,
                                 f"since {c.since.astimezone():%H:%M}" if c.since else "", c.summary))
    for status in ("ok", "none"):  # the quiet ones on one line each
        names = [c.check for c in quiet if c.status == status]
        if names:
            wrong.add_row(*cells(status_text(status, colors), "", "", ", ".join(names)))
    if not inc.checks:
        wrong.add_row(status_text("none", colors), "-", "", "no check has run yet (is a monitor running?)")
    parts += [Text(""), wrong]

    what = "the alert" if inc.alert_id is not None else "now"
    changed = Table(title=f"What changed (the day before {what})", title_justify="left", expand=True, box=None,
                    padding=(0, 1), show_header=False)
    changed.add_column(no_wrap=True, style="dim")
    changed.add_column(ratio=1, overflow="fold")
    for h in inc.changes[-8:]:  # the latest eight, in order
        changed.add_row(*cells(h.relative, h.text))
    if not inc.changes:
        changed.add_row("", "nothing recorded")
    parts += [Text(""), changed]
    return parts
