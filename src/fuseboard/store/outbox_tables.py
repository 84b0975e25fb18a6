"""The notification outbox's tables: the events (written in the transaction of the change each reports),
how far each receiver got, and the dead letters (monitoring/outbox.py, monitoring/delivery.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from fuseboard.clock import utcnow
from fuseboard.store.column_types import UTCDateTime


class OutboxEvent(SQLModel, table=True):
    """An event for the notification receivers, written in the transaction of the change it reports.

    Alert events (fired, acknowledged, silenced, unsilenced, resolved, refired, escalated) and change
    events (deploy, promote, rollback with their outcome). ``id`` orders them; ``uid`` is the id each
    receiver gets, so that one that drops duplicates sees every event exactly once.
    """

    id: Optional[int] = Field(default=None, primary_key=True)
    uid: str = Field(max_length=40, unique=True)
    kind: str = Field(max_length=32)  # "alert.fired", "change.rollback", ...
    key: str = Field(default="", max_length=200)  # the alert's fingerprint, or model/environment for a change
    body: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class ReceiverCursor(SQLModel, table=True):
    """How far each receiver got through the outbox: every event up to ``event_id`` was delivered or given up."""

    receiver: str = Field(primary_key=True, max_length=64)
    event_id: int = 0
    tries: int = 0  # failed tries of the next event
    next_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)  # not before (back-off, Retry-After)
    last_error: str = ""
    delivered: int = 0  # events delivered since the cursor was made
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DeadLetter(SQLModel, table=True):
    """An event a receiver refused or could not take after every try; ``outbox retry`` sends it again."""

    id: Optional[int] = Field(default=None, primary_key=True)
    receiver: str = Field(max_length=64, index=True)
    event_id: int
    tries: int
    error: str = ""
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    retried_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    delivered_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
