"""What people type, read in one place: durations, times, whole numbers, numbers and URLs.

Every parser either returns a value every later step can use (a datetime inside the calendar, a
number a database column holds, a URL that splits) or raises ``FuseboardError`` with one line
that names the field, so hostile input never surfaces as an OverflowError three layers down.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone

from fuseboard.errors import FuseboardError

# The widest whole number every workspace column holds (PostgreSQL INTEGER is 32 bits).
MAX_WHOLE = 2**31 - 1

_DURATION = re.compile(r"(?:([0-9]+)w)?\s*(?:([0-9]+)d)?\s*(?:([0-9]+)h)?\s*(?:([0-9]+)m)?", re.ASCII)
_UNITS = (7 * 86400, 86400, 3600, 60)
_LONGEST = timedelta.max.days * 86400  # seconds in the longest timedelta
# The times a user may type: a day inside the calendar's first and a year inside its last, so that
# showing one in any time zone and adding a rota's turns or a shift to it stay within the calendar.
EARLIEST = datetime(1, 1, 2, tzinfo=timezone.utc)
LATEST = datetime(9998, 12, 31, 23, 59, 59, tzinfo=timezone.utc)


def shown(text: object, limit: int = 40) -> str:
    """``text`` quoted for an error line: control characters escaped, long text cut short."""
    value = str(text)
    if len(value) > limit:
        return repr(value[:limit]) + f"… ({len(value):,} characters)"
    return repr(value)


def format_duration(delta: timedelta) -> str:
    """``30d``, ``2h``, ``1m`` (the largest unit that divides it; whole minutes)."""
    seconds = int(delta.total_seconds())
    for suffix, unit in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % unit == 0:
            return f"{seconds // unit}{suffix}"
    return f"{seconds}s"


def seconds_of(text: str | None, field: str) -> int:
    """The whole seconds of a duration like ``1h30m`` or ``2w``; no bounds (see ``duration``)."""
    value = (text or "").strip()
    parts = _DURATION.fullmatch(value)
    if not value or not parts or not any(parts.groups()):
        raise FuseboardError(f"{shown(text)} is not a duration like 30m, 2h or 1d ({field})")
    total = 0
    for group, unit in zip(parts.groups(), _UNITS):
        if group:
            if len(group) > 18:  # beyond any calendar, and int() of thousands of digits is refused anyway
                return _LONGEST + 1
            total += int(group) * unit
    return total


def duration(text: str | None, field: str, *, minimum: timedelta = timedelta(0),
             maximum: timedelta | None = None) -> timedelta:
    """A duration between ``minimum`` and ``maximum`` (both inclusive), else one line naming ``field``."""
    seconds = seconds_of(text, field)
    top = maximum if maximum is not None else timedelta(days=timedelta.max.days)
    if seconds < minimum.total_seconds() or seconds > top.total_seconds():
        if maximum is None:
            raise FuseboardError(f"{shown(text)} is longer than a calendar goes ({field})")
        raise FuseboardError(f"{shown(text)} is not between {format_duration(minimum)} and "
                             f"{format_duration(top)} ({field})")
    return timedelta(seconds=seconds)


def when(text: str | None, field: str, *, now: datetime | None = None) -> datetime:
    """ISO 8601 (local time when no zone is given) or an age such as ``2h``, ``3d`` or ``1w2d`` ago,
    as an aware UTC datetime within the years 1 to 9999."""
    value = (text or "").strip()
    now = now or datetime.now(timezone.utc)
    parts = _DURATION.fullmatch(value)
    if value and parts and any(parts.groups()):
        seconds = seconds_of(value, field)
        try:
            moment = now - timedelta(seconds=seconds)
        except OverflowError:
            moment = None
        if moment is None or moment < EARLIEST:
            raise FuseboardError(f"{shown(text)} is further back than a calendar goes ({field})")
        return moment
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise FuseboardError(f"{shown(text)} is not a time like 2026-11-29T03:00 or an age like 2h ({field})") \
            from None
    try:
        if moment.tzinfo is None:
            moment = moment.astimezone()  # the user's local time
        moment = moment.astimezone(timezone.utc)
    except (OverflowError, ValueError, OSError):
        moment = None
    if moment is None or not EARLIEST <= moment <= LATEST:
        raise FuseboardError(f"{shown(text)} falls outside {EARLIEST.date()} to {LATEST.date()} UTC ({field})")
    return moment


def whole(value: object, field: str, *, minimum: int = 0, maximum: int = MAX_WHOLE) -> int:
    """A whole number between ``minimum`` and ``maximum``; ``1e20``, ``3.5`` and ``-1`` are refused."""
    text = str(value).strip()
    if isinstance(value, bool) or not re.fullmatch(r"[+-]?[0-9]{1,30}", text):
        raise FuseboardError(f"{shown(value)} is not a whole number ({field})")
    number = int(text)
    if not minimum <= number <= maximum:
        raise FuseboardError(f"{number if len(text) <= 20 else shown(text)} is not between {minimum} and "
                             f"{maximum} ({field})")
    return number


def number(value: object, field: str, *, minimum: float | None = None, maximum: float | None = None) -> float:
    """A finite number (no NaN, no infinity) between the bounds given."""
    try:
        result = float(str(value).strip()) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise FuseboardError(f"{shown(value)} is not a number ({field})") from None
    if not math.isfinite(result):
        raise FuseboardError(f"{shown(value)} is not a finite number ({field})")
    if (minimum is not None and result < minimum) or (maximum is not None and result > maximum):
        low = "" if minimum is None else f"{minimum:g}"
        high = "" if maximum is None else f"{maximum:g}"
        span = f"between {low} and {high}" if low and high else (f"at least {low}" if low else f"at most {high}")
        raise FuseboardError(f"{shown(value)} is not {span} ({field})")
    return result


def not_a_file(path: object) -> str | None:
    """What an existing path is when it is not a regular file ("a folder", "a FIFO", "a device"), else
    None. Reading a FIFO waits for a writer and a device such as /dev/zero never ends: refuse both."""
    import os
    import stat

    try:
        mode = os.stat(path).st_mode  # type: ignore[arg-type]
    except (OSError, ValueError):
        return None  # missing or unreadable: the reader says which
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def url(text: str | None, field: str) -> str:
    """An http(s) URL with a host (and a valid port, if any); one line naming ``field`` otherwise."""
    from urllib.parse import urlsplit

    from fuseboard.redact import hide_url_password

    value = text or ""
    text = hide_url_password(value) if text is not None else text  # an error line never shows a password
    if not value.startswith(("http://", "https://")):
        raise FuseboardError(f"{shown(text)} is not an http(s) URL like http://host:8080 ({field})")
    if len(value) > 2048:
        raise FuseboardError(f"{shown(text)} is longer than 2,048 characters ({field})")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise FuseboardError(f"{shown(text)} holds spaces or control characters ({field})")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises for a port out of range)
    except ValueError as exc:
        raise FuseboardError(f"{shown(text)} is not a valid URL: {exc} ({field})") from None
    if not parts.hostname:
        raise FuseboardError(f"{shown(text)} has no host ({field})")
    return value
