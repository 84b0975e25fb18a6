"""Terminal injection, the pure half: the text helpers escape control, bidi and format characters,
and the monitor log, drift histogram and notifications show them visibly (the command lines, the
console and the export are tests/integration/test_terminal_text.py)."""

from __future__ import annotations

import unicodedata

from rich.text import Text

from fuseboard.text import cells, is_visible, markup_safe, plain, visible
from tests.support.hostile import HOSTILE, SHOWN, raw_in


def test_visible_escapes_controls_bidi_and_format_characters() -> None:
    assert visible(HOSTILE) == SHOWN
    assert visible("a\x00b\x7fc\x85d\x9be") == "a\\x00b\\x7fc\\x85d\\x9be"
    assert visible("abc\u202edef\u2066x\u2069\u200b\u00ad\ufeff") == "abc\\u202edef\\u2066x\\u2069\\u200b\\xad\\ufeff"
    assert visible("tag\U000e0041") == "tag\\U000e0041"
    assert visible("one\ntwo\tthree\rfour") == "one\\ntwo\\tthree\\rfour"  # one line: a table row stays a row
    assert visible("line 1\r\nline\t2\nover\rwritten\x1b[1A", lines=True) == (
        "line 1\nline\t2\nover\\rwritten\\x1b[1A")  # lines: newline and tab kept, a lone \r shown


def test_visible_keeps_ordinary_text_of_any_script_as_it_is() -> None:
    for text in ("", "plain reason", "Zoë Ørsted-Łukasz", "日本語の説明", "ρ ≥ 0.8 → ✔ ● ▲ ✖ ○ ◌", "a\u00a0b",
                 "family 👨\u200d👩\u200d👧", "فارسی\u200cها", "C:\\path\\file", "[not markup]"):
        assert visible(text) == text and is_visible(text)
    assert visible(None) == "" and visible(42) == "42"


def test_every_control_and_format_character_of_this_python_is_escaped() -> None:
    joiners = {0x200c, 0x200d}  # scripts and emoji need them; they reorder nothing
    missed = [hex(c) for c in range(0x110000) if c not in joiners
              and unicodedata.category(chr(c)) in ("Cc", "Cf", "Cs", "Zl", "Zp") and visible(chr(c)) == chr(c)]
    assert missed == []
    escaped = visible("".join(chr(c) for c in range(0x110000) if c not in joiners
                              and unicodedata.category(chr(c)) in ("Cc", "Cf")))
    assert escaped.isascii() and escaped.isprintable()


def test_markup_and_rich_text_helpers() -> None:
    from rich.markup import render

    assert render(markup_safe(HOSTILE)).plain == SHOWN  # markup written by a user stays text
    assert render(markup_safe("[link=https://evil]x[/link]")).spans == []
    styled = Text("● ok", style="green")
    assert plain(styled) is styled  # nothing to escape: styles kept
    escaped = plain(Text("x\x1by", style="bold"))
    assert escaped.plain == "x\\x1by" and escaped.style == "bold"
    assert [c.plain for c in cells("a\x07", None, 3)] == ["a\\x07", "", "3"]


def test_the_monitor_log_shows_controls_visibly() -> None:
    import io
    import logging

    from fuseboard.text import log_handler

    handler = log_handler()
    handler.setStream(io.StringIO())
    log = logging.getLogger("fuseboard.test-terminal-text")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("alert webhook failed for %s: %s", "credit-risk/prod/drift", "HTTP 500 \x1b]0;T\x07")
        try:
            raise ValueError("endpoint said \x1b[2J")
        except ValueError:
            log.exception("monitor cycle %s failed", "drift")
    finally:
        log.removeHandler(handler)
    text = handler.stream.getvalue()
    assert raw_in(text) == set()
    assert "alert webhook failed for credit-risk/prod/drift: HTTP 500 \\x1b]0;T\\x07\n" in text
    assert "ValueError: endpoint said \\x1b[2J" in text and "Traceback" in text  # the traceback keeps its lines


def test_the_drift_histogram_shows_category_and_feature_names_as_written() -> None:
    from rich.console import Console

    from fuseboard.tui.screens.deployment import histogram

    reference = {"kind": "categorical", "value_counts": {"car\x1b[2J": 5, "[@click=app.quit]b": 5}}
    current = {"value_counts": {"car\x1b[2J": 9, "__unseen__": 1}}
    console = Console(width=100, record=True, file=__import__("io").StringIO(), color_system=None)
    console.print(histogram("purpose[/]\x07", reference, current, "psi 0.300"))
    text = console.export_text()
    assert raw_in(text) == set()
    assert "purpose[/]\\x07: reference" in text and "car\\x1b[2J" in text and "[@click=app.quit]b" in text


def test_notifications_take_no_markup_and_show_controls() -> None:
    from fuseboard.tui.app import FuseboardApp

    seen: list[tuple[str, str, bool]] = []

    class Spy(FuseboardApp):
        pass

    from textual.app import App

    original = App.notify
    try:
        App.notify = lambda self, message, *, title="", severity="information", timeout=None, markup=True: \
            seen.append((message, title, markup))  # type: ignore[method-assign]
        FuseboardApp.notify(Spy.__new__(Spy), "hook said [@click=app.quit]x[/]\x1b[2J\nnext",
                            title="could not \x07deploy")
    finally:
        App.notify = original  # type: ignore[method-assign]
    assert seen == [("hook said [@click=app.quit]x[/]\\x1b[2J\nnext", "could not \\x07deploy", False)]
