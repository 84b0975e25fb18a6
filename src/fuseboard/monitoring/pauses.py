"""Cyclic garbage collection held off while a cycle or a scrape allocates millions of short-lived objects."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Hold off cyclic garbage collection for the block.

    A monitor cycle decoding thousands of profiles, or a scrape building 200,000 samples, allocates
    millions of short-lived lists and dicts and frees them by reference counting; the collector,
    triggered by those allocations, kept scanning the whole heap and took half of a drift cycle
    (bench/cycle.py). Reference counting still frees everything; cycles wait until the block ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
