"""What every fuseboard screen shares: the title line, data loading, help text."""

from __future__ import annotations

from typing import Any, Callable

from textual.screen import Screen
from textual.worker import get_current_worker

from fuseboard.tui.messages import DatabaseDown, DatabaseUp, Loaded, LoadFailed


class FuseboardScreen(Screen):
    """A screen that loads its data in a thread worker and posts it back as a message."""

    TITLE_TEXT = ""

    def load(self, what: str, fetch: Callable[[Any], Any]) -> None:
        """Run ``fetch(workspace)`` in a thread; the result arrives as ``Loaded(what, data)``."""

        def work() -> None:
            from fuseboard.ops.connect import is_unreachable

            worker = get_current_worker()
            try:
                ws = self.app.workspace()
                data = fetch(ws)
            except Exception as exc:  # noqa: BLE001  (shown to the user, not raised in the UI)
                if is_unreachable(exc):  # said once by the app; the screen keeps what it shows
                    self.app.post_message(DatabaseDown(_one_line(getattr(exc, "orig", None) or exc)))
                elif not worker.is_cancelled:
                    self.post_message(LoadFailed(what, _one_line(exc)))
                return
            if getattr(self.app, "db_unreachable", None):
                self.app.post_message(DatabaseUp())
            if not worker.is_cancelled:
                self.post_message(Loaded(what, data))

        self.run_worker(work, thread=True, exclusive=False, group=f"load-{what}", name=f"load {what}")

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
            top.post_message(events.Key(event.key, event.character))
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

    def on_load_failed(self, message: LoadFailed) -> None:
        self.notify(message.error, title=f"could not load {message.what}", severity="error", timeout=10)


def _one_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
