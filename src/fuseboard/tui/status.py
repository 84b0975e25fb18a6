"""Status glyphs and words (conventions.md): never colour alone."""

from __future__ import annotations

from rich.text import Text

# state -> (glyph, word, CSS variable for the colour)
STATES = {
    "ok": ("●", "ok", "success"),
    "warn": ("▲", "warn", "warning"),
    "crit": ("✖", "crit", "error"),
    "none": ("○", "none", "text-muted"),
    "error": ("?", "error", "error"),
    "silenced": ("◌", "silenced", "text-muted"),
    "acked": ("◌", "acked", "text-muted"),
}


def status_text(state: str, colors: dict[str, str]) -> Text:
    """``● ok`` styled with the theme's colour for that state."""
    glyph, word, var = STATES.get(state, STATES["error"])
    return Text(f"{glyph} {word}", style=colors.get(var, ""))
