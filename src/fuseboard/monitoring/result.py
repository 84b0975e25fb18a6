"""What every check returns (``CheckResult``) and the words its verdicts share."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from fuseboard.monitoring.details import CheckDetails, NoDetails
from fuseboard.status import Status


@dataclass
class CheckResult:
    check: str
    status: str  # ok, warn, crit, none (no data yet), error (the check itself failed): a ``Status`` word
    summary: str
    rows: int = 0
    details: CheckDetails = field(default_factory=NoDetails)  # the check kind's (details.py)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def breach(criticality: str) -> Status:
    """The status a breached check gets: crit on a mission-critical model, warn on the others."""
    return Status.CRIT if criticality == "mission-critical" else Status.WARN


def worst(statuses: Iterable[str]) -> Status:
    """The deployment's status: its worst check; ``none`` only when no check has a verdict."""
    return Status.worst(statuses)


def span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
