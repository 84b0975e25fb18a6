"""Reading what a child process writes, with a deadline."""

from __future__ import annotations

import selectors
import subprocess
import time


def first_line(proc: subprocess.Popen, stream: str, within: float) -> str:
    """The next line ``proc`` writes to ``stream`` ("stdout" or "stderr") within ``within`` seconds, or ""."""
    sel = selectors.DefaultSelector()
    pipe = getattr(proc, stream)
    sel.register(pipe, selectors.EVENT_READ)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if sel.select(timeout=0.2):
            return pipe.readline()
    return ""
