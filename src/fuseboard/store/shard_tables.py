"""When each shard of the deployments last had each kind of check (monitoring/shards.py, monitoring/leases.py).

Monitors that share a workspace split its deployments into shards, each held under a lease of its
own; a shard's row here is written in the transaction that records its checks, so the monitor that
takes a shard over knows whether this period's checks already ran (none twice, none skipped).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from fuseboard.store.column_types import UTCDateTime


class ShardRun(SQLModel, table=True):
    """The last time a kind of check (health, drift, performance) ran over a shard, and who ran it."""

    kind: str = Field(primary_key=True, max_length=16)
    shard: int = Field(primary_key=True)
    ran_at: datetime = Field(sa_type=UTCDateTime)
    holder: str = ""
