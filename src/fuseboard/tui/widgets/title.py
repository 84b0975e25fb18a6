"""The title line every screen starts with: screens and keys, where we are, the workspace, who you act as."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static


def lay_out(screens: Sequence[tuple[str, str]], where: str, label: str, unreachable: str | None,
            width: int | None) -> Text:
    """The title line for ``width`` columns: ``screens`` (key, name) with the current one (``where``'s
    first part) marked, the rest of ``where`` as the place, then ``label`` (the workspace and who you
    are). Too wide, it gives way in this order: the "fuseboard" name, the other screens' names (their
    keys stay), the place (shortened with "…"), the label; an unreachable database is said first always."""
    current, _, rest = where.partition(" › ")

    def build(compact: bool, named: bool, place: str, tail: str) -> Text:
        # unreachable: said first, in reverse video, where an 80-column line cannot cut it off
        line = Text(f"DATABASE UNREACHABLE {unreachable} ", style="reverse bold") \
            if unreachable else Text("fuseboard " if named else "", style="bold")
        for key, name in screens:
            mark = name == current
            line.append(f" {key} {name} " if mark or not compact else f" {key} ",
                        style="reverse bold" if mark else "")
        if place:
            line.append(f" › {place}", style="bold")
        line.append(tail)
        return line

    for compact, named in ((False, True), (False, False), (True, True), (True, False)):
        line = build(compact, named, rest, label)
        if width is None or line.cell_len <= width:
            return line
    for tail in (label, ""):
        room = width - build(True, False, "", tail).cell_len - 3
        if rest and room >= 8:
            return build(True, False, rest if len(rest) <= room else rest[:room - 1] + "…", tail)
    return build(True, False, "", "")


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
