"""What tells a demo workspace apart, and who the console plays in it (light: the console imports it)."""

from __future__ import annotations

from pathlib import Path

MARKER = ".fuseboard-demo"
# who the person at the keyboard plays in the demo's console, unless FUSEBOARD_USER names one of its people:
# ana gives (ds-core, the builders); `act as: chloe` in the palette receives (it-ops, the operators)
PLAYS = "ana"


def is_demo(url: str) -> bool:
    """Whether ``url`` is a demo workspace (an SQLite file in a folder ``fuseboard demo`` built)."""
    if not url.startswith("sqlite:///"):
        return False
    return (Path(url.removeprefix("sqlite:///")).parent / MARKER).exists()
