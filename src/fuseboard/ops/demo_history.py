"""A week of prod history for one demo model, so its handover's auto-verified items can pass.

"Health and drift checks run on prod without errors for 7 days" needs a week of check runs in
prod. The demo builds them the way a real week would have left them, never by writing pass marks:

1. traffic: rows drawn from the model's reference data, scored by the version that served prod at
   the time (the old one until its successor went live two days ago, then the new one), stamped
   across the week and ingested (with their labels) while that version serves, so each lands in
   its own version's five-minute windows;
2. checks: ``checks_at`` over those stored windows once an hour across the week, each result
   recorded at its hour by ``alerts.record_results``, as a monitor running then would have.
   Health cannot be probed in the past: the replay records it as "no health result", and the
   live demo's monitor probes it from the first minute.

Cheap on purpose (the demo's build time matters): one deployment, ``ROWS_PER_HOUR`` rows an hour.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fuseboard.store.db import Workspace

MODEL = "disease-progression"  # internal, owned by ds-core: the one a newcomer hands over to it-ops
ENV = "prod"
DAYS = 7
ROWS_PER_HOUR = 120  # over the 100 a drift verdict needs in its one-hour window
STEP = timedelta(hours=1)
BATCH_SPAN = timedelta(minutes=5)  # one window: the model is scored in an hourly batch, in its first minutes


def replay_times(now: datetime) -> list[datetime]:
    """When the checks are replayed: hourly on the five-minute grid, the last one at most five minutes before
    ``now``, the first ``DAYS`` days before it (so the history spans the week whole)."""
    last = now - timedelta(seconds=now.timestamp() % BATCH_SPAN.total_seconds())
    return [last - k * STEP for k in range(DAYS * 24, -1, -1)]


def batch_times(now: datetime) -> list[datetime]:
    """When each hourly batch was scored: in the five-minute window just before each replayed check."""
    return [at - BATCH_SPAN for at in replay_times(now)]


def ingest_traffic(ws: Workspace, spec: Any, estimator: Any, reference: Any, batches: list[datetime],
                   *, seed: int) -> int:
    """For each batch time, ``ROWS_PER_HOUR`` rows drawn from ``reference`` (features and target), scored by
    ``estimator`` and stamped across the five minutes from it; all ingested, labels included, into the
    version serving ``MODEL`` in prod now. Returns the number of rows."""
    import numpy as np
    import pandas as pd

    from fuseboard.monitoring import ingest

    if not batches:
        return 0
    n = len(batches) * ROWS_PER_HOUR
    rows = reference.sample(n, replace=True, random_state=seed).reset_index(drop=True)
    label = rows.pop(spec.target).to_numpy()
    rows["prediction"] = estimator.predict(rows.to_numpy() if spec.as_arrays else rows)
    rows["label"] = label
    starts = np.repeat([b.timestamp() for b in batches], ROWS_PER_HOUR)
    within = np.tile(np.arange(ROWS_PER_HOUR) * (BATCH_SPAN.total_seconds() / ROWS_PER_HOUR), len(batches))
    rows["timestamp"] = pd.to_datetime(starts + within, unit="s", utc=True)
    ingest.ingest_table(ws, spec.name, ENV, ingest.as_table(rows), source="demo history")
    return n


def replay_checks(ws: Workspace, now: datetime) -> int:
    """Run the checks of ``MODEL`` in prod over its stored windows once an hour for the last ``DAYS``
    days, recording each result at its hour, as a monitor running then would have. Health cannot be
    probed in the past: it is replayed (as "no health result recorded") at the first and the last hour
    only, which is all the history keeps of it. Returns the number of hours replayed."""
    from fuseboard.monitoring import alerts
    from fuseboard.monitoring.checks import CHECKS, checks_at

    times = replay_times(now)
    replayed = [(at, [d for d in checks_at(ws, at, only=set(CHECKS) if at in (times[0], times[-1])
                                           else set(CHECKS) - {"health"})
                      if (d.model, d.environment) == (MODEL, ENV)]) for at in times]
    with ws.transaction() as s:  # one commit: each hour's results are recorded in turn, as they came
        for at, results in replayed:
            alerts.record_results(s, results, now=at)
    return len(times)
