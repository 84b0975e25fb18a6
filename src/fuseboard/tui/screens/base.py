"""What every fuseboard screen shares: the title line, its keys, and its data's lifecycle.

A screen says what it shows with two typed hooks: ``fetch(ws) -> T`` reads it from the workspace
in a worker thread, ``show(data: T)`` draws it on the UI thread. The base owns when: once after the
first frame, again when the screen comes back on top (``RELOAD_ON_RESUME``), on ``ctrl+r``
(``reload``), and on the app's refresh tick (``REFRESH_ON_TICK``, or any screen while the database
is unreachable). Each load is an exclusive thread worker of the screen's group: a newer load
cancels the older one, and the result of a load that is no longer the newest is never drawn, so
older data can never land over newer. The thread only posts messages (``Loaded``, ``LoadFailed``,
``DatabaseDown``/``DatabaseUp``); it never waits on the UI (``call_from_thread`` deadlocks with a
shutdown that waits for it). A failure is logged with its traceback (``tui/log.py``) and shown as
one line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Generic, TypeVar

from textual import events, on
from textual.screen import Screen
from textual.worker import Worker, get_current_worker

from fuseboard.tui.log import one_line, record_failure
from fuseboard.tui.messages import DatabaseDown, DatabaseUp, Loaded, LoadFailed

if TYPE_CHECKING:
    from fuseboard.ops.connect import Workspace

T = TypeVar("T")


class FuseboardScreen(Screen[None], Generic[T]):
    """A screen whose data ``T`` is read by ``fetch`` in a thread and drawn by ``show``."""

    TITLE_TEXT = ""
    LOADS = ""  # what the screen loads, as "could not load …" says it (and its workers' group)
    RELOAD_ON_RESUME = True  # read again when the screen is back on top (after a dialog, another screen)
    REFRESH_ON_TICK = False  # read again on the app's refresh tick (lists that others change)

    fetch: Callable[[Workspace], T]  # the screen's own: what it shows, read in a worker thread
    show: Callable[[T], None]  # the screen's own: draw what ``fetch`` read (on the UI thread)

    def __init__(self, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.loaded = False  # shown a load at least once
        self._load: Worker[None] | None = None  # the newest load: only its result is drawn

    @on(events.Mount)
    def _first_load(self) -> None:
        # Paint the first frame before the worker starts importing SQLModel: that import
        # holds the GIL for a few hundred milliseconds and would delay the frame.
        self.call_after_refresh(self.reload)

    @on(events.ScreenResume)
    def _load_on_resume(self) -> None:
        """Back on top (from a detail, another screen or a dialog): read it again, not 15 s later."""
        if self.loaded and self.RELOAD_ON_RESUME:
            self.reload()

    def reload(self) -> None:
        """Read the screen's data again (a newer load replaces one still running)."""
        app = self.app
        what = self.LOADS

        def work() -> None:
            from fuseboard.ops.connect import is_unreachable

            worker = get_current_worker()
            try:
                data = self.fetch(app.workspace())
            except Exception as exc:  # noqa: BLE001  (shown to the user and logged, not raised in the UI)
                if is_unreachable(exc):  # said once by the app; the screen keeps what it shows
                    app.post_message(DatabaseDown(one_line(getattr(exc, "orig", None) or exc)))
                elif not worker.is_cancelled:  # (cancelled: the screen is gone, or a newer load runs)
                    self.post_message(LoadFailed(record_failure(f"load {what}", exc, url=app.url), worker))
                return
            if app.db_unreachable:
                app.post_message(DatabaseUp())
            if not worker.is_cancelled:
                self.post_message(Loaded(data, worker))

        self._load = self.run_worker(work, thread=True, exclusive=True, group=f"load-{what}", name=f"load {what}",
                                     exit_on_error=False)

    @on(Loaded)
    def _loaded(self, message: Loaded[T]) -> None:
        if message.load is not self._load:  # overtaken by a newer load: never drawn over it
            return
        self.loaded = True
        self.show(message.data)

    @on(LoadFailed)
    def _load_failed(self, message: LoadFailed) -> None:
        if message.load is not self._load:
            return
        self.notify(message.error, title=f"could not load {self.LOADS}", severity="error", timeout=10)
        self.show_failure(message.error)

    def show_failure(self, error: str) -> None:
        """Beyond the notification, say ``error`` on the screen itself (the checklist does: no handover)."""

    def unavailable_reason(self, action: str) -> str | None:
        """Why ``action`` is dimmed right now, for the help screen; None when it is available."""
        return None

    # Keys that open a dialog: run as soon as the key reaches the screen, so the keys typed right behind
    # it go into the dialog (they reach this screen before its bindings run).
    DIALOG_ACTIONS = ("rollback", "change", "deploy", "silence", "resolve", "evidence", "reject")

    async def on_key(self, event: Any) -> None:
        """Keys typed behind a key that opened a dialog go to the dialog; a dimmed key, pressed, says why
        in the status line: it never does nothing silently."""
        from textual import events
        from textual.actions import parse
        from textual.screen import ModalScreen

        top = self.app.screen
        if top is not self and isinstance(top, ModalScreen):  # a dialog opened by an earlier key: what was
            # typed behind it belongs there
            handed = events.Key(event.key, event.character)
            handed.time = event.time  # when it was typed, not when it was handed on (the dialog asks)
            top.post_message(handed)
            event.stop()
            event.prevent_default()
            return
        active = self.active_bindings.get(event.key)
        if active is None or not active.binding.id or "." not in active.binding.id:
            return
        if active.enabled:
            if parse(active.binding.action)[1] in self.DIALOG_ACTIONS and active.node is self:
                event.stop()
                event.prevent_default()
                await self.run_action(active.binding.action)
            return
        binding = active.binding
        _, action, parameters = parse(binding.action)
        try:
            reason = self.unavailable_reason(action, *parameters)
        except TypeError:  # a screen whose reasons take no parameters
            reason = self.unavailable_reason(action)
        self.say(f"{self.app.get_key_display(binding)} ({binding.description}) is unavailable: "
                 f"{reason or 'not applicable here'}")

    def say(self, text: str) -> None:
        """A line for the user in the status line (a notification on a screen without one)."""
        from rich.text import Text
        from textual.css.query import NoMatches
        from textual.widgets import Static

        from fuseboard.text import visible

        try:
            status = self.query_one("#status", Static)
        except NoMatches:
            self.notify(text, severity="warning", timeout=5)
            return
        status.update(Text(visible(text), style="bold"))
