"""What a careless or hostile user types: the values both the parser unit tests and the hostile-input
catalogue (tests/integration/test_hostile_inputs.py) feed in."""

from __future__ import annotations

BIG = "x" * 100_000  # 100 KB in one argument
CONTROL = "ok\x01\x07\x08\x7f\r\x1b[31mred"  # control bytes (argv cannot carry NUL)
ODD = "\u202eevil\u200b\ufeff"  # right-to-left override, zero-width space, byte-order mark

BAD_DURATIONS = {
    "huge": "99999999999d", "thousands-of-digits": "1" + "0" * 5000 + "d", "negative": "-5m", "zero": "0m",
    "exponent": "1e400d", "empty": "", "blank": "   ", "nan": "nan", "inf": "inf", "no-unit": "5",
    "fraction": "1.5h", "unknown-unit": "2x", "arabic-digits": "\u0663h", "control": "1h" + CONTROL, "100kb": BIG,
    "seconds": "30s", "over-30-days": "31d",
}
BAD_TIMES = {
    "year-0": "0000-01-01", "past-9999-in-utc": "9999-12-31T23:59:59-05:00",
    "before-year-1-in-utc": "0001-01-01T00:00:00+01:00", "month-13": "2026-13-01", "feb-30": "2026-02-30T00:00",
    "hour-25": "2026-01-01T25:00", "first-day": "0001-01-01T00:00Z", "last-year": "9999-06-01T00:00Z", "huge-age": "99999999999999999999999999w", "age-past-calendar": "99999999999d",
    "exponent-age": "1e400d", "word": "yesterday", "empty": "", "control": "\x07", "100kb": BIG, "odd-unicode": ODD,
}
BAD_VERSIONS = {"exponent": "1e20", "huge": "99999999999999999999999", "past-int32": "2147483648", "zero": "0",
                "fraction": "3.5", "nan": "nan", "empty": "", "prefixed": "v3", "arabic-digit": "\u0663",
                "100kb": BIG}
BAD_WAITS = {"nan": "nan", "inf": "inf", "minus-inf": "-inf", "overflow": "1e400", "negative": "-1",
             "past-a-day": "1e20", "empty": "", "word": "soon"}
BAD_URLS = {"ipv6-unclosed": "http://[::1", "port-past-65535": "http://host:99999", "port-word": "http://host:http",
            "ftp": "ftp://host/", "no-host": "http://", "space": "http://host name/", "control": "http://host/" + CONTROL,
            "javascript": "javascript:alert(1)", "no-scheme": "localhost:8000", "100kb": "http://" + BIG}

# sets the window title, writes the clipboard, clears the screen; then Rich markup that would
# run an action when clicked, and a right-to-left override that would reverse what follows
HOSTILE = "\x1b]0;PWNED\x07\x1b]52;c;ZXZpbA==\x07\x1b[2J [@click=app.quit]go[/] \u202ebad"
SHOWN = "\\x1b]0;PWNED\\x07\\x1b]52;c;ZXZpbA==\\x07\\x1b[2J [@click=app.quit]go[/] \\u202ebad"
# what must never be printed: C0 controls but newline and tab, DEL, C1 controls, bidi controls
RAW = {chr(c) for c in [*range(0x00, 0x09), *range(0x0b, 0x20), 0x7f, *range(0x80, 0xa0),
                         *range(0x202a, 0x202f), *range(0x2066, 0x206a)]}


def raw_in(text: str) -> set[str]:
    """The characters of ``text`` that must never reach a terminal raw."""
    return {c for c in text if c in RAW}
