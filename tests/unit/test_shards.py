"""How monitors split the deployments: quotas, phases and due shards (monitoring/shards.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from fuseboard.monitoring.shards import SHARDS, boundary, due, preferred, quota, shard_of


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 64, 65])
def test_the_quotas_of_the_live_monitors_add_up_to_every_shard(n: int) -> None:
    members = [f"host-{i}:{i}" for i in range(n)]
    shares = [quota(members, m) for m in members]
    assert sum(shares) == SHARDS and max(shares) - min(shares) <= 1


def test_a_monitor_not_yet_among_the_members_counts_itself() -> None:
    assert quota(["a"], "b") == SHARDS // 2 and quota([], "a") == SHARDS


def test_a_standby_takes_every_shard_only_while_no_monitor_that_shares_is_alive() -> None:
    assert quota([], "console", sharing=False) == SHARDS
    assert quota(["monitor-1"], "console", sharing=False) == 0


def test_monitors_start_taking_free_shards_at_different_places() -> None:
    members = ["a", "b", "c"]
    starts = {preferred(members, m)[0] for m in members}
    assert len(starts) == 3
    assert sorted(preferred(members, "b")) == list(range(SHARDS))


def test_shards_are_spread_evenly_over_the_interval() -> None:
    now = datetime(2026, 12, 3, 12, 0, 7, tzinfo=timezone.utc)
    phases = sorted((boundary(k, now, 32.0) % 32.0) for k in range(SHARDS))
    assert phases == [k * 0.5 for k in range(SHARDS)]
    assert all(boundary(k, now, 32.0) <= now.timestamp() < boundary(k, now, 32.0) + 32 for k in range(SHARDS))


def test_a_shard_is_due_once_a_period_of_its_own() -> None:
    interval = 64.0  # shard k's periods start k seconds past every multiple of 64 s
    start = datetime.fromtimestamp(64 * 1000, timezone.utc)
    assert due([0, 1, 2], {}, start, interval) == [0, 1, 2]  # never ran
    ran = {0: start, 1: start, 2: start}
    assert due([0, 1, 2], ran, start + timedelta(seconds=0.5), interval) == []
    assert due([0, 1, 2], ran, start + timedelta(seconds=1.5), interval) == [1]  # shard 1's period began at +1 s
    assert due([0, 1, 2], ran, start + timedelta(seconds=2.5), interval) == [1, 2]
    ran[1] = start + timedelta(seconds=1.5)
    assert due([0, 1, 2], ran, start + timedelta(seconds=63), interval) == [2]
    assert due([0, 1, 2], ran, start + timedelta(seconds=64), interval) == [0, 2]


def test_a_deployment_keeps_its_shard() -> None:
    assert [shard_of(i) for i in (0, 1, 63, 64, 130)] == [0, 1, 63, 0, 2]
