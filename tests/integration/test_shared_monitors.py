"""Monitors that share a workspace split its deployments by shard: none checked twice in a period, none
skipped, shards taken over when a monitor stops or dies (monitoring/leases.py, monitoring/scheduler.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlmodel import func, select

from fuseboard.monitoring import leases, scheduler
from fuseboard.monitoring.shards import SHARDS, boundary, shard_of
from fuseboard.store.db import database_now, open_workspace
from fuseboard.store.models import CheckState, Deployment, Lease, ShardRun

FAST = scheduler.Intervals(health=5, drift=600, performance=600, lease_ttl=3)


def renew(*monitors: scheduler.Monitor) -> None:
    for m in monitors:
        m._next_renew = 0.0  # (renew now, not at the next third of the lease)
        m._renew()


def holders(ws) -> dict[str, set[int]]:
    """Who holds which shard now, by the leases."""
    with ws.engine.connect() as conn:
        now = database_now(conn)
        rows = conn.execute(select(Lease.name, Lease.holder).where(Lease.name.like("shard:%"), Lease.expires_at > now))
        out: dict[str, set[int]] = {}
        for name, holder in rows:
            out.setdefault(holder, set()).add(int(name.split(":")[1]))
    return out


def test_monitors_split_the_shards_and_take_over_those_of_one_that_stops(demo_url: str) -> None:
    a, b, c = (scheduler.Monitor(open_workspace(demo_url), FAST, holder=h) for h in ("a", "b", "c"))
    renew(a)
    assert a.shards == frozenset(range(SHARDS)) and a.leading
    renew(b)  # b joins: a still holds every shard, so b gets none yet
    assert b.shards == frozenset() and not b.leading
    renew(a, b)  # a lets go of b's half, b takes it
    assert len(a.shards) == len(b.shards) == SHARDS // 2 and not a.shards & b.shards
    renew(c, a, b, c)
    sizes = sorted(len(m.shards) for m in (a, b, c))
    assert sizes == [21, 21, 22] and a.shards | b.shards | c.shards == set(range(SHARDS))
    assert holders(a.ws) == {"a": set(a.shards), "b": set(b.shards), "c": set(c.shards)}
    b.stop()  # lets go at once: the others take its shards over at their next renewal
    renew(a, c)
    assert sorted([len(a.shards), len(c.shards)]) == [32, 32] and a.shards | c.shards == set(range(SHARDS))
    a.stop()
    c.stop()


def test_a_standby_hands_every_shard_to_a_monitor_that_shares(demo_url: str) -> None:
    console = scheduler.Monitor(open_workspace(demo_url), FAST, holder="console", sharing=False)
    renew(console)
    assert console.leading and len(console.shards) == SHARDS  # alone: it checks everything
    monitor = scheduler.Monitor(open_workspace(demo_url), FAST, holder="monitor")
    renew(monitor, console, monitor)
    assert console.shards == frozenset() and monitor.shards == frozenset(range(SHARDS))
    assert console.leading  # still the leader: deliveries and retention stay with it
    console.stop()
    monitor.stop()


def test_a_cycle_checks_only_its_shards_and_stamps_them(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    with ws.session() as s:
        ids = s.exec(select(Deployment.id)).all()
    mine = frozenset({shard_of(ids[0]), shard_of(ids[1])})
    assert leases.claim(ws, "me", timedelta(minutes=1), len(mine), members=["me"]) and True
    held = holders(ws)["me"]
    claim = scheduler.ShardClaim("me", frozenset(held), timedelta(minutes=1), datetime.now().astimezone())
    summary = scheduler.run_cycle(ws, "drift", claim=claim)
    assert summary.deployments == sum(1 for i in ids if shard_of(i) in held)
    assert summary.shards == tuple(sorted(held))
    with ws.session() as s:
        stamped = dict(s.exec(select(ShardRun.shard, ShardRun.holder).where(ShardRun.kind == "drift")).all())
    assert stamped == {k: "me" for k in held}


def test_a_cycle_over_shards_another_monitor_took_writes_nothing(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    assert leases.claim(ws, "other", timedelta(minutes=1), SHARDS, members=["other"]) == set(range(SHARDS))
    with ws.session() as s:
        before = s.exec(select(func.count()).select_from(CheckState)).one()
    claim = scheduler.ShardClaim("me", frozenset({0, 1}), timedelta(minutes=1), datetime.now().astimezone())
    with pytest.raises(leases.ShardsLost):
        scheduler.run_cycle(ws, "health", claim=claim)
    with ws.session() as s:
        assert s.exec(select(func.count()).select_from(CheckState)).one() == before
        assert s.exec(select(func.count()).select_from(ShardRun)).one() == 0


@pytest.mark.slow
def test_three_monitor_processes_share_the_checks_and_survive_a_kill(demo_url: str) -> None:
    """Three `fuseboard monitor` processes split the 64 shards; one is killed with SIGKILL; the other
    two take its shards over. Across all of them, no shard is checked twice in one of its health
    periods, and after the takeover none misses a period."""
    interval = 5
    lines: list[dict] = []
    lock = threading.Lock()

    def start() -> subprocess.Popen:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen([sys.executable, "-m", "fuseboard", "--db", demo_url, "monitor", "--json",
                                 "--lease-ttl", "3", "--health-every", str(interval), "--drift-every", "600",
                                 "--performance-every", "600"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)

        def read() -> None:
            for line in proc.stdout:
                with lock:
                    lines.append(json.loads(line))
        threading.Thread(target=read, daemon=True).start()
        return proc

    ws = open_workspace(demo_url)

    def wait_for(condition, within: float) -> bool:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.2)
        return False

    procs = [start() for _ in range(3)]
    try:
        assert wait_for(lambda: sorted(len(s) for s in holders(ws).values()) == [21, 21, 22], 60), holders(ws)
        time.sleep(2 * interval)  # two periods with three monitors
        victim = procs[0]
        victim_holder = next(h for h in holders(ws) if h.split(":")[1] == str(victim.pid))
        victim.send_signal(signal.SIGKILL)  # dies holding its leases: they expire after 3 s
        victim.wait(10)
        assert wait_for(lambda: sorted(len(s) for s in holders(ws).values()) == [32, 32], 60), holders(ws)
        with ws.engine.connect() as conn:
            took_over = database_now(conn).timestamp()
        time.sleep(3 * interval)  # three periods with the two left
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(20)
    with ws.engine.connect() as conn:
        stopped = database_now(conn).timestamp()

    runs: Counter = Counter()
    for line in lines:
        if line["kind"] == "health" and line["outcome"] == "done":
            at = datetime.fromisoformat(line["at"])
            for k in line["shards"]:
                runs[(k, boundary(k, at, interval))] += 1
    twice = {key: n for key, n in runs.items() if n > 1}
    assert not twice, f"checked twice in one period: {twice}"
    assert any(line["holder"] == victim_holder for line in lines)  # the victim did its share before it died
    for k in range(SHARDS):  # every period that began after the takeover and ended before the stop had its check
        period = boundary(k, datetime.fromtimestamp(took_over).astimezone(), interval) + interval
        while period + interval < stopped - 1:
            assert (k, period) in runs, f"shard {k} missed its period at {period}"
            period += interval
