"""Text from outside, made safe to show on a terminal.

Reasons, names, descriptions, hook output, webhook bodies, feature values and parser
messages are data. Printed raw, an escape sequence in one of them clears the screen, sets
the window title or writes the clipboard of whoever reads it; a bidi override makes it read
backwards. ``visible`` shows every such character as an escape instead (``\\x1b``,
``\\x7f``, ``\\u202e``; ``\\n``, ``\\t``, ``\\r``), the way git and less do. It is the one
helper every printer uses: the command line, error lines, logs, the console and the Markdown
export. ``--json`` keeps the text exact (JSON escapes control characters itself).

Layer-neutral: no import of Rich or Textual at module level.
"""

from __future__ import annotations

import re
from typing import Any

# C0 controls, DEL and C1 controls; Unicode format characters that can reorder or hide text
# (every Cf except the zero-width (non-)joiner, which scripts and emoji need); the line and
# paragraph separators; lone surrogates (undecodable bytes kept by surrogateescape).
_FORMAT = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f"
    "\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f"
)
_LINE = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{_FORMAT}]")  # one line: newline and tab escaped too
_BLOCK = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f{_FORMAT}]")  # lines: newline and tab kept


_SHORT = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    short = _SHORT.get(char)
    if short is not None:
        return short
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible(text: Any, *, lines: bool = False) -> str:
    """``text`` with every control and format character shown as an escape (``\\x1b``).

    One line by default: a newline or tab in a name or reason is shown as ``\\n``/``\\t``
    so that it cannot break a table row or forge a line. ``lines=True`` is for text that is
    multi-line by nature (hook output, a webhook's body): newlines and tabs stay, ``\\r\\n``
    becomes a newline and a lone ``\\r`` (which would overwrite the line) is shown.
    ``None`` is shown as the empty string; anything else by its ``str``.
    """
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    if text.isprintable():  # the common case: nothing to do (space is printable; \n, \t are not)
        return text
    if lines:
        return _BLOCK.sub(_escape, text.replace("\r\n", "\n"))
    return _LINE.sub(_escape, text)


def is_visible(text: str, *, lines: bool = False) -> bool:
    """Whether ``text`` is shown as it is (nothing in it would be escaped)."""
    return text.isprintable() or (_BLOCK if lines else _LINE).search(text) is None


def markup_safe(text: Any, *, lines: bool = False) -> str:
    """``visible(text)`` with Rich/Textual markup escaped, for interpolating into a markup string.

    A reason such as ``[@click=app.quit]`` or ``[link=...]`` is then shown as written, never
    turned into a style, a link or an action.
    """
    from rich.markup import escape

    return escape(visible(text, lines=lines))


def plain(text: Any, *, lines: bool = False, style: str = "") -> Any:
    """A ``rich.text.Text`` of ``visible(text)``: never parsed as markup (a table cell, a widget).

    A ``Text`` is passed through as it is when nothing in it needs escaping (its styles kept);
    otherwise it becomes the visible form of its text in its base style.
    """
    from rich.text import Text

    if isinstance(text, Text):
        if is_visible(text.plain, lines=lines):
            return text
        return Text(visible(text.plain, lines=lines), style=text.style, end=text.end)
    return Text(visible(text, lines=lines), style=style)


def cells(*values: Any) -> list[Any]:
    """A table row's cells as Rich ``Text``: shown as written (never markup), controls made visible."""
    return [plain(v) for v in values]


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&#!])")
_MD_LINK = re.compile(r"https?://[^\s<>]+")


def markdown_safe(text: Any) -> str:
    """Stored text for a Markdown document, shown as written: controls visible (``\\x1b``), one
    line, and Markdown and HTML punctuation escaped, so it adds no raw HTML, link or image of its own."""
    return _MD_SPECIAL.sub(r"\\\1", visible(text))


def markdown_evidence(text: Any) -> str:
    """Evidence is text or a link: a lone http(s) URL stays a link (an autolink), anything else is text."""
    shown = visible(text)
    return f"<{shown}>" if _MD_LINK.fullmatch(shown) else markdown_safe(shown)


def log_handler() -> Any:
    """A stderr logging handler that prints each record (and its traceback) with controls made visible.

    Log records carry foreign text too (an exception from an endpoint, a webhook's answer);
    without a handler Python's last-resort one would write them to the terminal raw.
    """
    import logging

    class _Visible(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            return visible(super().format(record), lines=True)

    handler = logging.StreamHandler()
    handler.setLevel(logging.WARNING)
    handler.setFormatter(_Visible("%(message)s"))
    return handler
