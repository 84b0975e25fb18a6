"""The title line every screen starts with: screens and keys, where we are, the workspace, who you act as."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class TitleLine(Static):
    """``App.title_line(where)``, drawn again whenever the workspace turns read-only or unreachable, or
    who you act as changes."""

    def __init__(self, where: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.where = where

    def on_mount(self) -> None:
        self.watch(self.app, "degraded", lambda _: self.refresh(), init=False)
        self.watch(self.app, "db_unreachable", lambda _: self.refresh(), init=False)
        self.watch(self.app, "identity", lambda _: self.refresh(), init=False)

    def render(self) -> Text:
        return self.app.title_line(self.where, self.size.width or None)  # type: ignore[attr-defined]
