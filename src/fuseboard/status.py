"""The status vocabulary every layer shares (conventions.md): one ordered type.

A check's verdict, a deployment's health and an alert's severity are all ``Status``
values. They order from "nothing known" to "worst": ``none < ok < warn < error < crit``,
so ``max(statuses)`` is the worst and ``Status.worst(...)`` says it in one call. An
``error`` means the check itself could not decide (an unreachable endpoint, a bad
profile): worse than a warning, not as bad as a confirmed critical breach.

``Status`` is a ``StrEnum``: its members *are* the words stored in the database and
printed by ``--json``, so a plain ``"warn"`` read back from a row compares equal to
``Status.WARN``. Comparisons (``<``, ``max``) follow the rank, not the alphabet.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Status(StrEnum):
    """A verdict, ordered by how bad it is."""

    NONE = "none"    # no verdict yet (not enough rows, never checked)
    OK = "ok"
    WARN = "warn"
    ERROR = "error"  # the check could not decide
    CRIT = "crit"

    @property
    def rank(self) -> int:
        """-1 for none, then 0 (ok) up to 4 (crit); gaps keep room for words between."""
        return _RANK[self]

    @property
    def breach(self) -> bool:
        """warn, error or crit: a verdict that asks for attention."""
        return _RANK[self] >= _RANK[Status.WARN]

    @classmethod
    def of(cls, value: str | Status | None) -> Status:
        """The status for a stored word; an unknown word or None is ``none``."""
        try:
            return cls(value) if value is not None else cls.NONE
        except ValueError:
            return cls.NONE

    @classmethod
    def worst(cls, values: Iterable[str | Status | None], default: Status | None = None) -> Status:
        """The worst of the given statuses (unknown words count as ``none``); ``default`` (none)
        for an empty iterable."""
        found = [cls.of(v) for v in values]
        return max(found) if found else (default or cls.NONE)

    def _cmp(self, other: object) -> int | None:
        if isinstance(other, Status):
            return _RANK[self] - _RANK[other]
        if isinstance(other, str) and other in _BY_WORD:
            return _RANK[self] - _RANK[_BY_WORD[other]]
        return None

    def __lt__(self, other: object) -> bool:
        d = self._cmp(other)
        return NotImplemented if d is None else d < 0  # type: ignore[return-value]

    def __le__(self, other: object) -> bool:
        d = self._cmp(other)
        return NotImplemented if d is None else d <= 0  # type: ignore[return-value]

    def __gt__(self, other: object) -> bool:
        d = self._cmp(other)
        return NotImplemented if d is None else d > 0  # type: ignore[return-value]

    def __ge__(self, other: object) -> bool:
        d = self._cmp(other)
        return NotImplemented if d is None else d >= 0  # type: ignore[return-value]

    __hash__ = str.__hash__


_RANK = {Status.NONE: -1, Status.OK: 0, Status.WARN: 2, Status.ERROR: 3, Status.CRIT: 4}
_BY_WORD = {s.value: s for s in Status}


class AlertState(StrEnum):
    """Where an alert is in its life: it fires, a person may acknowledge it, and it resolves (by
    itself when its check recovers, or by hand with a note). The members are the stored words."""

    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


#: The states of an open alert (for ``Alert.state.in_(OPEN_ALERT_STATES)`` queries on stored words).
OPEN_ALERT_STATES = (AlertState.FIRING, AlertState.ACKNOWLEDGED)
