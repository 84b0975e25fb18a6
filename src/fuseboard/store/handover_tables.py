"""Every piece of evidence given for a handover's checklist item, kept (ops/handover/lifecycle.py).

``HandoverItem.evidence`` holds the current evidence; each time it is given or changed, a row
here records the text, who gave it and when, so the item view and ``handover show --json`` show
the whole history, never only the last word.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlmodel import Field, SQLModel

from fuseboard.store.column_types import UTCDateTime


class HandoverEvidence(SQLModel, table=True):
    """One piece of evidence (text or a link) given for an item, by whom and when; oldest first by id."""

    id: Optional[int] = Field(default=None, primary_key=True)
    handover_id: int = Field(foreign_key="handover.id", index=True)
    item_key: str = Field(max_length=64)
    text: str
    given_by: str
    given_at: datetime = Field(sa_type=UTCDateTime)
