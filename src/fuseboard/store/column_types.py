"""The column types the tables share: times stored as naive UTC and read back aware, and window profiles
stored as the compact binary of ``window_codec``."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import DateTime, LargeBinary
from sqlalchemy.types import TypeDecorator

__all__ = ["PackedProfile", "UTCDateTime"]


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC, on every back end."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


class PackedProfile(TypeDecorator):
    """A window's profile (a dict) stored as the compact binary of ``window_codec``, read back exactly."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: dict[str, Any] | None, dialect: Any) -> bytes | None:
        from fuseboard.store.window_codec import encode

        return None if value is None else encode(value)

    def process_result_value(self, value: bytes | None, dialect: Any) -> dict[str, Any] | None:
        from fuseboard.store.window_codec import decode

        return None if value is None else decode(value)
