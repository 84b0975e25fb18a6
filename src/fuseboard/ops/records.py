"""Records the read views return, importable without SQLAlchemy.

``ops.views`` (the ORM reads) and ``ops.quick`` (the command line's fast SQLite reads) both
return these, so a caller cannot tell which path answered.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any


def encode(value: Any) -> Any:
    """Dates as ISO 8601 text, recursively, for ``--json``."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [encode(v) for v in value]
    return value


@dataclass
class ModelRow:
    name: str
    task: str
    criticality: str
    owner: str | None
    builder: str | None
    description: str
    latest_version: int | None
    deployed: dict[str, int] = field(default_factory=dict)  # environment -> version
    health: str = "none"  # worst latest check result over its deployments; "none": no verdict yet

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RolloutInfo:
    id: int
    action: str
    from_version: int | None
    to_version: int
    state: str
    requested_by: str
    requested_at: datetime
    finished_at: datetime | None
    reason: str
    hook: str
    hook_status: str
    hook_output: str
    converged_at: datetime | None
    known_good_at: datetime | None
    ended_at: datetime | None
    revoked_at: datetime | None = None  # rolled back from: no longer known-good here (and why)
    revoked_reason: str = ""

    @property
    def known_good(self) -> bool:
        return self.known_good_at is not None and self.revoked_at is None

    def as_dict(self) -> dict[str, Any]:
        return {**encode(asdict(self)), "known_good": self.known_good}
