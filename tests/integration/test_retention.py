"""Retention: five-minute windows compacted into hours and days give the same checks, exactly."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from fuseboard.monitoring import checks, ingest, retention
from fuseboard.store.db import open_workspace
from fuseboard.store.models import WindowProfile
from tests.support.rows import T0, credit_rows
from tests.support.windows import drop_demo_history, traffic_windows


@pytest.fixture(autouse=True)
def _only_the_tests_own_traffic(request: pytest.FixtureRequest) -> None:
    """Compaction and deletion count every window: the demo's week of history is taken out first."""
    if "demo_url" in request.fixturenames:
        drop_demo_history(request.getfixturevalue("demo_url"))


def windows(ws) -> list[tuple[int, int]]:  # noqa: ANN001
    with ws.session() as s:
        return sorted((w.window_seconds, w.rows) for w in s.exec(traffic_windows()))


def verdicts(ws, now):  # noqa: ANN001, ANN201
    policy = checks.Policy(drift_window=timedelta(days=400), performance_window=timedelta(days=400))
    [dep] = [d for d in checks.run_checks(ws, now=now, policy=policy, probe_endpoints=False,
                                          only={"drift", "performance", "quality"})
             if (d.model, d.environment) == ("credit-risk", "prod")]
    return {c.check: (c.status, c.summary, c.rows, c.details) for c in dep.checks}


@pytest.mark.parametrize("batch", [50, 1])  # deployments per transaction
def test_compaction_into_hours_then_days_keeps_every_verdict(demo_url: str, batch: int,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retention, "COMPACT_BATCH", batch)
    ws = open_workspace(demo_url)
    for seed in range(3):  # three 15-minute batches an hour apart, labels included
        rows = credit_rows(600, seed)
        rows["timestamp"] = [str(ts).replace("T12:", f"T{12 + seed}:") for ts in rows["timestamp"]]
        ingest.ingest_table(ws, "credit-risk", "prod", ingest.as_table(rows))
    before = windows(ws)
    assert {s for s, _ in before} == {300} and sum(r for _, r in before) == 1800
    now = T0 + timedelta(days=3)
    expected = verdicts(ws, now)

    counts = retention.compact(ws, now=now)  # older than 2 days: into hours
    assert counts["merged"] == len(before) and [s for s, _ in windows(ws)] == [3600, 3600, 3600]
    assert verdicts(ws, now) == expected
    assert retention.compact(ws, now=now) == {"merged": 0, "created": 0, "deleted": 0}  # nothing left to do

    later = T0 + timedelta(days=40)  # older than 35 days: into one day
    retention.compact(ws, now=later)
    assert windows(ws) == [(86400, 1800)]
    assert verdicts(ws, later) == verdicts(ws, later)  # stable
    for check in ("drift", "performance", "quality"):
        assert verdicts(ws, later)[check][:3] == expected[check][:3]

    retention.compact(ws, now=T0 + timedelta(days=400), retention=retention.Retention(delete_after=timedelta(days=365)))
    assert windows(ws) == []


def test_labels_for_a_compacted_window_join_the_hour_that_holds_it(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    rows = credit_rows(300, 7)
    ingest.ingest_table(ws, "credit-risk", "prod", ingest.as_table(rows.drop(columns="label")))
    retention.compact(ws, now=T0 + timedelta(days=3))
    table = ingest.as_table(rows[["request_id", "label"]])
    joined = ingest.ingest_labels_table(ws, "credit-risk", "prod", table)
    assert joined.joined == 300
    with ws.session() as s:
        [hour] = s.exec(traffic_windows()).all()
    assert hour.window_seconds == 3600 and hour.performance["labelled"] == 300


def test_a_late_batch_for_a_compacted_hour_is_merged_next_time(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    ingest.ingest_table(ws, "credit-risk", "prod", ingest.as_table(credit_rows(300, 1)))
    now = T0 + timedelta(days=3)
    retention.compact(ws, now=now)
    ingest.ingest_table(ws, "credit-risk", "prod", ingest.as_table(credit_rows(100, 2).head(50)))  # same hour, late
    assert {s for s, _ in windows(ws)} == {300, 3600}
    retention.compact(ws, now=now)
    assert windows(ws) == [(3600, 350)]
