"""The fuseboard console.

Start-up stays fast: this module imports Textual and the standard library
only. The workspace (SQLModel, migrations) is opened in a worker thread after
the first frame; scikit-learn and numpy are never imported by the console.
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any, Callable

from rich.text import Text
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen

from fuseboard.config import Config
from fuseboard.tui.commands import ActionCommands, ModelCommands
from fuseboard.tui.log import one_line, record_failure
from fuseboard.tui.messages import (ChangeDone, DatabaseDown, DatabaseUp, Degraded, MonitorCycle, Notice,
                                    Progress)
from fuseboard.tui.screens.base import FuseboardScreen
from fuseboard.tui.screens.help import HelpScreen
from fuseboard.tui.screens.models import ModelsScreen
from fuseboard.tui.screens.environments import EnvironmentsScreen
from fuseboard.tui.screens.monitoring import MonitoringScreen
from fuseboard.tui.screens.ownership import OwnershipScreen
from fuseboard.tui.themes import DEFAULT_THEME, load_themes


class IdentityKnown(Message):
    def __init__(self, identity: Any) -> None:  # who the console acts as (ops.teams.Identity)
        super().__init__()
        self.identity = identity


class FuseboardApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "fuseboard"
    degraded: reactive[str | None] = reactive(None)  # why writes stopped working, once they did
    db_unreachable: reactive[str | None] = reactive(None)  # "since HH:MM" while the database cannot be reached
    identity: reactive[Any] = reactive(None)  # who the console acts as (ops.teams.Identity), once the workspace is open
    REFRESH_SECONDS = 15  # the list on screen is read again this often (and the database retried)
    COMMAND_PALETTE_BINDING = "colon"
    COMMANDS = {ModelCommands, ActionCommands}
    MODES = {"models": ModelsScreen, "environments": EnvironmentsScreen, "monitoring": MonitoringScreen,
             "ownership": OwnershipScreen}
    DEFAULT_MODE = "models"

    BINDINGS = [
        Binding("1", "goto('models')", "Models", show=False, id="app.models",
                tooltip="the Models screen: every model"),
        Binding("2", "goto('environments')", "Environments", show=False, id="app.environments",
                tooltip="the Environments screen: what runs where; rollback, promote, deploy"),
        Binding("3", "goto('monitoring')", "Monitoring", show=False, id="app.monitoring",
                tooltip="the Monitoring screen: open alerts, worst first"),
        Binding("4", "goto('ownership')", "Ownership", show=False, id="app.ownership",
                tooltip="the Ownership screen: on call, policy violations, handovers"),
        Binding("question_mark", "help", "Help", id="app.help", tooltip="this list of keys"),
        Binding("ctrl+r", "refresh", "Refresh", show=False, id="app.refresh",
                tooltip="reload this screen from the workspace"),
        Binding("q", "quit", "Quit", id="app.quit", tooltip="quit fuseboard (in a dialog: close the dialog)"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True, id="app.interrupt",
                tooltip="quit fuseboard (in a dialog: close the dialog)"),
    ]

    def __init__(self, url: str, config: Config | None = None, *, read_only: bool = False,
                 theme: str | None = None, workspace_label: str | None = None,
                 extra_theme_dirs: list[Path] | None = None, run_monitor: bool = False,
                 monitor_intervals: Any = None, services: list[Callable[[Any], Any]] | None = None) -> None:
        self.config = config or Config(path=Path("/nonexistent/config.toml"))
        self.url = url
        self.read_only = read_only
        self.workspace_label = workspace_label or _label(url)
        self._workspace: Any = None
        self.run_monitor = run_monitor and not read_only
        self.monitor: Any = None
        self.monitor_intervals = monitor_intervals
        self._service_factories = services or []  # each: workspace -> object with start() and stop()
        self.services: list[Any] = []
        self._workspace_lock = threading.Lock()
        self._startup_notes: list[tuple[str, str]] = []
        self.outcomes: dict[tuple[str, str], list[Progress]] = {}  # the last rollback's steps per deployment
        self.rollouts_running: dict[tuple[str, str], str] = {}  # rollbacks running from this console
        self.acting_as: str | None = None  # the demo: the person of its own the console plays (act as)
        self.demo_people: list[Any] = []  # the demo: its people (ops.teams.PersonInfo), whom `act as` offers
        loaded = load_themes(extra_theme_dirs)
        self.fuseboard_themes = loaded.themes
        self._startup_notes += [(p, "warning") for p in loaded.problems]
        self._wanted_theme = theme or self.config.theme or DEFAULT_THEME
        super().__init__()
        for t in self.fuseboard_themes.values():
            self.register_theme(t)
        if self._wanted_theme not in self.available_themes:
            source = "--theme" if theme else "config theme"
            self._startup_notes.append(
                (f"unknown theme {self._wanted_theme!r} ({source}); using {DEFAULT_THEME}", "warning"))
            self._wanted_theme = DEFAULT_THEME
        self.theme = self._wanted_theme
        if self.config.keymap:
            known = binding_ids()
            for unknown in sorted(set(self.config.keymap) - known):
                self._startup_notes.append((f"[keymap] in {self.config.path}: no binding {unknown!r}; ignored "
                                            "(see README for the binding ids)", "warning"))
            self.set_keymap({k: v for k, v in self.config.keymap.items() if k in known})

    # -- workspace -----------------------------------------------------------
    def workspace(self) -> Any:
        """Open the workspace on first use (thread-safe; call it from workers, not the UI thread)."""
        with self._workspace_lock:
            if self._workspace is None:
                from fuseboard.ops.connect import open_workspace

                self._workspace = open_workspace(self.url, artifact_dir=self.config.artifacts,
                                                 read_only=self.read_only, create=not self.read_only,
                                                 group=self.config.group, audit_anchor=self.config.audit_anchor)
                if self._workspace.degraded:
                    self.post_message(Degraded(self._workspace.degraded))
                self._resolve_identity(self._workspace)
            return self._workspace

    def _resolve_identity(self, ws: Any) -> None:
        """Who the console acts as, known before any screen reads the workspace: the person at the
        keyboard; in the demo, one of its people (``PLAYS``) unless FUSEBOARD_USER names someone."""
        from fuseboard.ops import teams
        from fuseboard.ops.audit import current_actor
        from fuseboard.ops.demo_marker import PLAYS, is_demo

        try:
            demo = is_demo(self.url)
            if demo:
                self.demo_people = teams.people(ws)
                handles = {p.handle for p in self.demo_people}
                if not os.environ.get("FUSEBOARD_USER") and current_actor() not in handles and PLAYS in handles:
                    self.acting_as = PLAYS
            found = teams.identity(ws, self.actor, demo=demo)
        except Exception as exc:  # noqa: BLE001  (said, never raised: the console works without it)
            self.post_message(Notice(f"could not tell who you are: {one_line(exc)}", "warning"))
        else:
            self.post_message(IdentityKnown(found))

    async def run_in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args)

    # -- lifecycle -------------------------------------------------------------
    def on_mount(self) -> None:
        for text, severity in self._startup_notes:
            self.notify(text, severity=severity, timeout=8)
        if self.REFRESH_SECONDS:
            self.set_interval(self.REFRESH_SECONDS, self._refresh_tick)
        if self.run_monitor or self._service_factories:
            self.call_after_refresh(lambda: self.run_worker(self._start_background, thread=True, name="background"))

    def _start_background(self) -> None:
        """Services first (the demo's endpoints and traffic), then the monitor loop, unless another
        process holds the monitor lease (this console is then a standby)."""
        import time

        from textual.worker import get_current_worker

        from fuseboard.ops.connect import is_unreachable

        worker = get_current_worker()
        while True:  # the database may be down when the console starts: keep trying until it is up
            try:
                ws = self.workspace()
                break
            except Exception as exc:  # noqa: BLE001  (said to the user; the console stays up)
                if not is_unreachable(exc):
                    text = record_failure("start the monitor", exc, url=self.url)
                    self.post_message(Notice(f"the monitor could not start: {text}", "error"))
                    return
                self.post_message(DatabaseDown(one_line(getattr(exc, "orig", None) or exc)))
                for _ in range(self.REFRESH_SECONDS * 5):
                    if worker.is_cancelled:
                        return
                    time.sleep(0.2)
        if ws.degraded:  # nothing could be recorded: no traffic, no checks (the notice says why)
            return
        for factory in self._service_factories:
            service = factory(ws)
            service.start()
            self.services.append(service)
        if self.run_monitor:
            from fuseboard.monitoring.scheduler import Monitor
            from fuseboard.ops import notify

            monitor = Monitor(ws, self.monitor_intervals,
                              on_cycle=lambda summary: self.post_message(MonitorCycle(summary)),
                              receivers=notify.receivers(self.config), housekeeping=notify.housekeeping(),
                              sharing=False)  # a standby: checks only while no `fuseboard monitor` is alive
            monitor.start()
            self.monitor = monitor

    def monitor_status(self) -> str:
        if self.monitor is None:
            return "monitor: off" if not self.run_monitor else "monitor: starting"
        return "monitor: running here" if self.monitor.leading else "monitor: another process runs the checks"

    def _refresh_tick(self) -> None:
        """Read the list on screen again (another host's monitor or changes show up; an unreachable
        database is retried), unless a dialog is open (dolphie skips rendering under a modal too)."""
        screen = self.screen
        if not isinstance(screen, FuseboardScreen):  # a dialog (or the help) is open
            return
        if self.db_unreachable is not None:  # retry whatever is on screen, loaded or not: it says when it is back
            screen.reload()
        elif screen.REFRESH_ON_TICK and screen.loaded:
            screen.reload()

    def notify(self, message: str, *, title: str = "", severity: Any = "information", timeout: float | None = None,
               markup: bool = False) -> None:
        """Every notification, the screens' too: shown as written (never markup), controls made visible."""
        from fuseboard.text import visible

        super().notify(visible(message, lines=True), title=visible(title), severity=severity, timeout=timeout,
                       markup=False)

    def on_notice(self, message: Notice) -> None:
        self.notify(message.text, severity=message.severity, timeout=message.timeout)

    def on_database_down(self, message: DatabaseDown) -> None:
        if self.db_unreachable is not None:
            return
        from datetime import datetime

        self.db_unreachable = f"since {datetime.now():%H:%M}"
        self.notify(f"{message.reason}. Showing the last known state; retrying every {self.REFRESH_SECONDS} s.",
                    title="database unreachable", severity="error", timeout=20)

    def on_database_up(self, message: DatabaseUp) -> None:
        if self.db_unreachable is None:
            return
        self.db_unreachable = None
        self.notify("database reachable again", severity="information", timeout=8)

    def on_monitor_cycle(self, message: MonitorCycle) -> None:
        """Fresh results: reload the screen on top (unless a dialog is open); say what went wrong."""
        from fuseboard.monitoring.scheduler import Outcome  # (loaded with the monitor that sent this)

        self._refresh_tick()
        summary = message.summary
        if summary.outcome is Outcome.UNREACHABLE:
            self.post_message(DatabaseDown("the database cannot be reached"))
            return
        if summary.outcome is Outcome.UNWRITABLE and summary.reason:
            self.post_message(Degraded(summary.reason))
        elif summary.failed:
            self.notify(f"monitor cycle failed: {summary.error}", severity="error", timeout=8)

    def on_degraded(self, message: Degraded) -> None:
        """Writes stopped working: hide every change (as --read-only does) and say why, once; reading,
        browsing and the monitor's retries go on."""
        if self.degraded is not None:
            return
        self.read_only = True
        self.degraded = message.reason
        saved = self._workspace is not None and self._workspace.saved_copy
        shown = " It shows the workspace as last saved, without live updates." if saved else ""
        self.notify(f"{message.reason}: the console is read-only until fuseboard restarts with a writable "
                    f"workspace.{shown}", title="workspace read-only", severity="error", timeout=30)
        self.screen.refresh_bindings()
        if isinstance(self.screen, FuseboardScreen) and self.screen.loaded:
            self.screen.reload()  # its status line says READ-ONLY

    def on_unmount(self) -> None:
        for service in self.services:
            service.stop()
        if self.monitor is not None:
            self.monitor.stop()  # does not wait for running jobs
        if self._workspace is not None:
            self._workspace.close()

    @property
    def actor(self) -> str:
        """Who changes are made as: the OS login (or FUSEBOARD_USER where allowed); in the demo, whom it plays."""
        from fuseboard.ops.audit import current_actor

        return self.acting_as or current_actor()

    def on_identity_known(self, message: IdentityKnown) -> None:
        first, self.identity = self.identity is None, message.identity
        who = message.identity  # an unknown person: the title says so, the Ownership screen gives the fix
        if first and self.acting_as and who.known:
            self.notify(f"demo: {who.line}; `:` act as: chloe plays the receiving side (it-ops)", timeout=10)

    def act_as(self, handle: str) -> None:
        """The demo only: play another of its people (the palette's ``act as: <person>``)."""
        from fuseboard.ops.teams import Identity

        if (person := next((p for p in self.demo_people if p.handle == handle), None)) is None:
            return
        self.acting_as = handle
        self.identity = Identity(handle, True, person.team, demo=True)
        self.notify(f"demo: {self.identity.line}", timeout=5)
        if isinstance(self.screen, FuseboardScreen) and self.screen.loaded:
            self.screen.reload()  # what waits for your signature, what you may sign

    def run_change(self, what: str, work: Callable[[Any], str], done: Callable[[str], None]) -> None:
        """Run ``work(workspace)`` in a thread; ``done(message)`` runs on the UI when it succeeds."""

        def job() -> None:
            from fuseboard.errors import WorkspaceUnwritable

            try:
                message = work(self.workspace())
            except WorkspaceUnwritable as exc:
                self.post_message(ChangeDone(what, None, str(exc), done))
                self.post_message(Degraded(exc.reason))
                return
            except Exception as exc:  # noqa: BLE001  (shown and logged, not raised into the UI)
                from fuseboard.ops.connect import is_unreachable

                if is_unreachable(exc):
                    self.post_message(ChangeDone(what, None, "the database cannot be reached; nothing was "
                                                 "changed, try again when it is back", done))
                    self.post_message(DatabaseDown("the database cannot be reached"))
                    return
                self.post_message(ChangeDone(what, None, record_failure(what, exc, url=self.url), done))
                return
            if self.db_unreachable is not None:
                self.post_message(DatabaseUp())
            problem = self.workspace().anchor_problem
            if problem:  # the change stands; its audit checkpoint is missing (posted: never wait on the UI)
                self.post_message(Notice(problem, "warning", timeout=10))
            self.post_message(ChangeDone(what, message, None, done))

        self.run_worker(job, thread=True, group="changes", name=what)

    def on_progress(self, message: Progress) -> None:
        """A step of a running rollback: kept, and shown by every incident view of that deployment."""
        key = (message.model, message.env)
        self.outcomes.setdefault(key, []).append(message)
        if message.final:
            self.rollouts_running.pop(key, None)
        for screen in self.screen_stack:
            if getattr(screen, "deployment_focus", None) == key and hasattr(screen, "show_progress"):
                screen.show_progress(message)

    def on_change_done(self, message: ChangeDone) -> None:
        if message.error is not None:
            self.notify(message.error, title=f"could not {message.what}", severity="error", timeout=10)
        else:
            message.done(message.result)

    SCREENS_LINE = (("1", "Models"), ("2", "Environments"), ("3", "Monitoring"), ("4", "Ownership"))

    def title_line(self, where: str, width: int | None = None) -> Text:
        """The screens with their keys (the current one marked), where we are, and the workspace.

        Then who you act as (``as ana``; ``as root (unknown)``: a person the workspace does not know).
        Too wide for ``width`` columns, it gives way in this order: the "fuseboard" name goes, then
        the other screens show their keys only, then the place is shortened with "…", and the
        workspace label and who you are last; an unreachable database is always said first.
        """
        from fuseboard.text import visible
        from fuseboard.tui.widgets.title import lay_out

        ro = " · READ-ONLY" if self.degraded else " · read-only" if self.read_only else ""
        who = self.identity
        you = "" if who is None else f" as {visible(who.handle)}" + ("" if who.known else " (unknown)")
        return lay_out(self.SCREENS_LINE, visible(where), f"  [{visible(self.workspace_label)}{ro}]{you}",
                       self.db_unreachable, width)

    def theme_colors(self) -> dict[str, str]:
        variables = self.theme_variables
        return {"success": variables.get("success", ""), "warning": variables.get("warning", ""),
                "error": variables.get("error", ""), "text-muted": "dim"}

    # -- actions ---------------------------------------------------------------
    def action_quit(self) -> None:  # type: ignore[override]
        if isinstance(self.screen, ModalScreen):
            self.screen.dismiss(None)
            return
        self.exit()

    def action_goto(self, mode: str) -> None:
        """Go to a screen's list, leaving any detail open on top of it. Environments, from an alert or
        an incident, lands on that deployment's row and column."""
        focus = getattr(self.screen, "deployment_focus", None) if mode == "environments" else None
        if self.current_mode != mode:
            self.switch_mode(mode)
        while len(self.screen_stack) > 1 and not isinstance(self.screen, ModalScreen):
            self.pop_screen()
        if focus is not None and isinstance(self.screen, EnvironmentsScreen):
            self.screen.select_deployment(*focus)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        title = getattr(self.screen, "TITLE_TEXT", "") or type(self.screen).__name__.removesuffix("Screen")
        self.push_screen(HelpScreen(self.screen, title))

    def action_refresh(self) -> None:
        if isinstance(self.screen, FuseboardScreen):
            self.screen.reload()
            self.notify("refreshed", timeout=1.5)

    def open_audit(self, needle: str = "") -> None:
        from fuseboard.tui.screens.audit import AuditScreen

        self.push_screen(AuditScreen(needle))

    def action_filter_models(self) -> None:  # from the palette
        self._to_models(lambda screen: screen.action_filter())

    def open_model(self, name: str) -> None:
        from fuseboard.tui.screens.model_detail import ModelDetailScreen

        def then(screen: ModelsScreen) -> None:
            screen.select_model(name)
            self.push_screen(ModelDetailScreen(name))

        self._to_models(then)

    def _to_models(self, then: Callable[[ModelsScreen], None]) -> None:
        if self.current_mode != "models":
            self.switch_mode("models")
        while len(self.screen_stack) > 1 and not isinstance(self.screen, ModelsScreen):
            self.pop_screen()
        then(self.screen)  # type: ignore[arg-type]

    def choose_theme(self, name: str) -> None:
        self.theme = name
        try:
            self.config.set("theme", name)
        except OSError as exc:
            self.notify(f"theme set, but not saved to {self.config.path}: {exc.strerror}", severity="warning")
        else:
            self.notify(f"theme {name} (saved)", timeout=2)
        screen = self.screen
        if isinstance(screen, ModelsScreen) and screen.loaded:
            screen.refresh_table()

    def get_system_commands(self, screen: Screen) -> Any:
        yield SystemCommand("keys", "show every key of this screen (?)", self.action_help)


def binding_ids() -> set[str]:
    """Every binding id a ``[keymap]`` entry may name: those of the app and of every screen, dialog and
    widget the console's modules define (found by walking them, so a new screen cannot be left out)."""
    import importlib
    import inspect
    import pkgutil

    from textual.dom import DOMNode

    import fuseboard.tui

    ids: set[str] = set()
    for info in pkgutil.walk_packages(fuseboard.tui.__path__, "fuseboard.tui."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, DOMNode) and cls.__module__ == module.__name__:
                ids.update(b.id for b in cls.__dict__.get("BINDINGS", ()) if isinstance(b, Binding) and b.id)
    return ids


def _label(url: str) -> str:
    """A short name for the title line: the SQLite file (home as ~), or the server and database."""
    if url.startswith("sqlite:///"):
        text = url.removeprefix("sqlite:///")
        home = str(Path.home())
        if text.startswith(home + "/"):
            text = "~" + text[len(home):]
        return text if len(text) <= 40 else "…/" + "/".join(Path(text).parts[-2:])
    return url.split("@")[-1][:40]  # never show a password


def run(url: str, config: Config, *, read_only: bool = False, theme: str | None = None,
        workspace_label: str | None = None, monitor_intervals: Any = None,
        services: list[Callable[[Any], Any]] | None = None) -> None:
    FuseboardApp(url, config, read_only=read_only, theme=theme, workspace_label=workspace_label,
                 run_monitor=True, monitor_intervals=monitor_intervals, services=services).run()
