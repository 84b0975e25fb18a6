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
            from fuseboard.store.db import is_unreachable

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

    def on_load_failed(self, message: LoadFailed) -> None:
        self.notify(message.error, title=f"could not load {message.what}", severity="error", timeout=10)


def _one_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
