"""Decoded reference profiles kept between monitor cycles, while their stored text is unchanged.

A version's reference profile is a JSON document of about 100 KB for 25 features (bins, fine
histograms, the estimators' calibration); decoding it took about a quarter of a drift cycle's
time, for a document that hardly ever changes. It is not strictly immutable: ``ops/importance.py``
and ``ops/estimators.py`` add their measurements to a registered version's profile. So an entry is
used only when the text read now equals the text it was decoded from (a comparison of two strings,
a hundredth of a parse), and is decoded again otherwise.

The cache holds at most ``LIMIT_BYTES`` (the text kept plus its decoded objects, estimated at
``DECODED_PER_BYTE`` bytes per byte of JSON: 0.30 MB for the 114 KB profile of the benchmarks).
Once full it admits nothing more until entries go (a monitor reads every version each cycle in
the same order, where least-recently-used eviction would evict each entry just before its next
use and hit nothing); entries of versions no cycle read since the one before are dropped
(``sweep``). The decoded profiles are shared: the checks only read them, as they already did
within a batch of deployments sharing a version.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["DECODED_PER_BYTE", "LIMIT_BYTES", "ReferenceCache", "REFERENCES"]

LIMIT_BYTES = 512 * 2**20
DECODED_PER_BYTE = 2.6  # the decoded objects' size per byte of JSON (measured with tracemalloc)


class ReferenceCache:
    """Decoded JSON documents by key (a version id), used while the stored text is the same.

    Parameters
    ----------
    limit_bytes : int
        At most this much held (the texts plus their estimated decoded size).
    """

    def __init__(self, limit_bytes: int = LIMIT_BYTES) -> None:
        self.limit_bytes = limit_bytes
        self._entries: dict[int, tuple[str | bytes, Any, int]] = {}
        self._used: set[int] = set()  # keys read since the last sweep
        self._held = 0
        self._lock = threading.Lock()

    @property
    def held_bytes(self) -> int:
        """The estimated bytes held."""
        return self._held

    def __len__(self) -> int:
        return len(self._entries)

    def decoded(self, key: int, text: Any) -> Any:
        """The decoded document of ``text`` (kept under ``key`` if there is room).

        Parameters
        ----------
        key : int
            The version id.
        text : str, bytes or already decoded
            The column as read: JSON text (SQLite), or what the driver already decoded (PostgreSQL:
            returned as it is, not kept).

        Returns
        -------
        document : Any
            ``orjson.loads(text)``; the same object for the same key and text until it changes.
        """
        if not isinstance(text, (str, bytes)):
            return text
        with self._lock:
            self._used.add(key)
            found = self._entries.get(key)
            if found is not None and found[0] == text:
                return found[1]
        import orjson

        document = orjson.loads(text)
        size = int(len(text) * (1 + DECODED_PER_BYTE))
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._held -= old[2]
            if self._held + size <= self.limit_bytes:
                self._entries[key] = (text, document, size)
                self._held += size
        return document

    def sweep(self) -> None:
        """Drop the entries no read asked for since the last sweep (versions no longer checked)."""
        with self._lock:
            for key in [k for k in self._entries if k not in self._used]:
                self._held -= self._entries.pop(key)[2]
            self._used.clear()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._used.clear()
            self._held = 0


REFERENCES = ReferenceCache()  # the process's reference profiles, shared by every run of the checks
