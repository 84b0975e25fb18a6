"""How monitors that share a workspace split its deployments: pure arithmetic, no database.

The deployments fall into ``SHARDS`` shards by id (``shard_of``). Each live monitor that shares the
work holds an equal part of the shards (``quota``), each under a lease of its own
(monitoring/leases.py). Each shard has its own phase within every check interval
(``boundary``): a shard is *due* for a kind of check once the latest of its period boundaries is
later than its last run (``due``), so the probes and checks of a monitor are spread over the
interval instead of firing at once, and a shard that changes hands is neither checked twice in a
period nor skipped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone

SHARDS = 64  # enough for 64 monitors; a deployment's shard never changes


def shard_of(deployment_id: int) -> int:
    """The shard a deployment belongs to (by its id, so every monitor agrees without asking)."""
    return deployment_id % SHARDS


def quota(members: Sequence[str], me: str, *, sharing: bool = True, total: int = SHARDS) -> int:
    """How many shards ``me`` should hold when ``members`` (the live monitors that share) are alive.

    Parameters
    ----------
    members : sequence of str
        The holders of the live membership leases, in any order (``me`` among them when it shares).
    me : str
        This monitor's holder id.
    sharing : bool
        False for a standby (a console's monitor): it holds every shard while no monitor that shares
        is alive, and none once one is.
    total : int
        The number of shards.

    Returns
    -------
    int
        ``total // n`` shards, one more for the first ``total % n`` monitors in sorted order.
    """
    live = sorted(set(members))
    if not sharing:
        return total if not live else 0
    if me not in live:
        live = sorted([*live, me])
    n, rank = len(live), live.index(me)
    return total // n + (1 if rank < total % n else 0)


def preferred(members: Sequence[str], me: str, *, total: int = SHARDS) -> list[int]:
    """Every shard, in the order ``me`` tries to take free ones: starting at its own stretch of the
    ring, so that monitors starting together do not all race for shard 0."""
    live = sorted({*members, me})
    start = live.index(me) * total // len(live)
    return [(start + i) % total for i in range(total)]


def _epoch(when: datetime) -> float:
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


def boundary(shard: int, now: datetime, interval: float, *, total: int = SHARDS) -> float:
    """The latest start of a period of ``shard`` at or before ``now`` (seconds since the epoch).

    Shard ``k``'s periods start at ``k * interval / total`` past every multiple of ``interval``
    since the epoch, so ``total`` shards spread evenly over the interval.
    """
    phase = shard * interval / total
    return phase + math.floor((_epoch(now) - phase) / interval) * interval


def due(shards: Iterable[int], last_runs: Mapping[int, datetime], now: datetime, interval: float, *,
        total: int = SHARDS) -> list[int]:
    """The shards among ``shards`` whose current period has not had its check yet.

    A shard that never ran is due; one that ran is due again once a period of its own began after
    its last run. ``last_runs`` maps a shard to when the check last ran over it.
    """
    out = []
    for k in sorted(shards):
        last = last_runs.get(k)
        if last is None or _epoch(last) < boundary(k, now, interval, total=total):
            out.append(k)
    return out
