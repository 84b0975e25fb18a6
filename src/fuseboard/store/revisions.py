"""The schema revisions this release knows, without importing SQLAlchemy.

``store.db`` opens and upgrades a workspace with these; ``store.lite`` (the fast read path of
the command line) reads only a workspace already at ``HEAD``.
"""

from __future__ import annotations

# Every schema revision this release knows, oldest first. The last is current.
KNOWN_REVISIONS = ("0001_initial", "0002_monitoring", "0003_environments", "0004_ownership", "0005_ingested_batches",
                   "0006_access_and_zones", "0007_incidents",
                   "0008_packed_windows", "0009_estimated_windows", "0010_outbox", "0011_shard_runs",
                   "0012_handover_evidence")
HEAD = KNOWN_REVISIONS[-1]
