"""Small helpers every screen shares: how times read, how a scrolling view moves."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def local(when: datetime) -> str:
    """Local time with its zone, as the console shows every time."""
    return when.astimezone().strftime("%Y-%m-%d %H:%M %Z")


def ago(when: datetime, now: datetime | None = None) -> str:
    """How long ago, as ``45s``, ``3m``, ``2h`` or ``5d``."""
    seconds = int(((now or datetime.now(timezone.utc)) - when).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def scroll(scroller: Any, where: str) -> None:
    """Move a scrolling container: down, up, home or end, without animation."""
    {"down": scroller.scroll_down, "up": scroller.scroll_up, "home": scroller.scroll_home,
     "end": scroller.scroll_end}[where](animate=False)
