"""Soak: consoles, two monitors, concurrent ingest and racing rollbacks on one SQLite workspace.

About 20 seconds in CI; `pytest -m soak` (or FUSEBOARD_SOAK_SECONDS) runs it longer. Afterwards: no
"database is locked" (or any other error) reached a user, every ingested row is counted exactly
once, only the lease holder ran checks and no faster than its interval, exactly one of each pair
of racing rollbacks happened, and the audit chain verifies. No bound depends on the machine's
speed: work that must have happened is waited for, and the monitors' cycles are bounded by how long
they actually ran, not by how long the test meant them to.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlmodel import func, select

from fuseboard.monitoring.shards import SHARDS
from fuseboard.store.audit import verify
from fuseboard.store.db import open_workspace
from fuseboard.store.models import CheckState, Rollout, WindowProfile, utcnow
from tests.support.rows import credit_rows

SOAK_SECONDS = float(os.environ.get("FUSEBOARD_SOAK_SECONDS", "12"))
CLI = [sys.executable, "-c", "from fuseboard.cli import main; main()"]
CONSOLE = """
import asyncio, sys, time
from fuseboard.config import Config
from fuseboard.tui.app import FuseboardApp

async def main():
    app = FuseboardApp(sys.argv[1], Config(path=__import__("pathlib").Path(sys.argv[2])), workspace_label="soak")
    async with app.run_test(size=(80, 24)) as pilot:
        end = time.monotonic() + float(sys.argv[3])
        while time.monotonic() < end:
            for key in ("1", "2", "right", "3", "4", "ctrl+r", "j", "k"):
                await pilot.press(key)
                await pilot.pause(0.05)
        await app.workers.wait_for_complete()
    print("console ok")

asyncio.run(main())
"""


def _health_checked_since(ws, since) -> bool:  # noqa: ANN001
    with ws.session() as s:
        return s.exec(select(func.count()).select_from(CheckState).where(
            CheckState.check == "health", CheckState.at >= since)).one() > 0


HOSTS = iter(f"host-{n}" for n in range(1000))


def spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    """A process acting as a host of its own (its audit events and lease name that host)."""
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**env, "FUSEBOARD_HOST": next(HOSTS)})


@pytest.mark.slow
@pytest.mark.parametrize("seconds", [pytest.param(SOAK_SECONDS, id="ci"),
                                     pytest.param(max(SOAK_SECONDS, 120), id="long", marks=pytest.mark.soak)])
def test_soak(demo_url: str, tmp_path: Path, seconds: float, request: pytest.FixtureRequest) -> None:
    if "long" in request.node.callspec.id and "soak" not in (request.config.getoption("-m") or ""):
        pytest.skip("the long soak runs with `pytest -m soak`")
    env = {**os.environ, "FUSEBOARD_USER": "soak", "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    files = []
    for n in range(10):  # ten batches of distinct rows (request ids), ingested at once
        path = tmp_path / f"batch{n}.csv"
        credit_rows(200, seed=100 + n).to_csv(path, index=False)
        files.append(path)
    started, monitors_from = utcnow(), time.monotonic()
    monitors = [spawn([*CLI, "--db", demo_url, "monitor", "--health-every", "5", "--drift-every", "10",
                       "--performance-every", "10", "--lease-ttl", "10"], env) for _ in range(2)]
    consoles = [spawn([sys.executable, "-c", CONSOLE, demo_url, str(tmp_path / f"c{i}.toml"), str(seconds)], env)
                for i in range(3)]
    time.sleep(1.0)
    ingests = [spawn([*CLI, "--db", demo_url, "ingest", "credit-risk", str(f), "--env", "prod"], env) for f in files]
    races = []
    for model in ("churn-propensity", "tumour-screening"):  # two rollbacks of the same deployment at once
        races.append([spawn([*CLI, "--db", demo_url, "rollback", model, "--env", "prod", "--to", "1", "--yes",
                             "--wait", "0"], env) for _ in range(2)])
    outputs = [(p, *p.communicate(timeout=120)) for p in ingests + [p for pair in races for p in pair]]
    for p, out, err in [(c, *c.communicate(timeout=seconds + 120)) for c in consoles]:
        assert p.returncode == 0 and "console ok" in out, err[-2000:]
    ws = open_workspace(demo_url)
    deadline = time.monotonic() + 300  # the leader's first health cycle, however slow the machine is
    while not _health_checked_since(ws, started) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _health_checked_since(ws, started), "no monitor ran a health cycle"
    for m in monitors:
        m.terminate()
    monitors_ran = time.monotonic() - monitors_from
    monitor_outputs = [m.communicate(timeout=30) for m in monitors]

    for text in [out + err for _, out, err in outputs] + [o + e for o, e in monitor_outputs]:
        assert "locked" not in text.lower() and "unexpected" not in text and "Traceback" not in text, text[-3000:]
    for p, out, err in outputs[:10]:
        assert p.returncode == 0, err
    with ws.session() as s:
        rows = s.exec(select(func.sum(WindowProfile.rows)).where(WindowProfile.model_id == select(
            __import__("fuseboard.store.models", fromlist=["Model"]).Model.id).where(
            __import__("fuseboard.store.models", fromlist=["Model"]).Model.name == "credit-risk")
            .scalar_subquery())).one()
    assert rows == 2000  # every ingested row counted exactly once
    for pair, model in zip(races, ("churn-propensity", "tumour-screening")):
        said = sorted((p.returncode, "done" if "rollback done" in out else "unchanged" if "unchanged" in out
                       else "raced" if ("in progress" in err or "changed under you" in err) else err)
                      for p, out, err in outputs if p in pair)
        assert said in ([(0, "done"), (0, "unchanged")], [(0, "done"), (1, "raced")]), said  # the other is told
        with ws.session() as s:
            done = s.exec(select(func.count()).select_from(Rollout).where(
                Rollout.action == "rollback", Rollout.state == "succeeded")).one()
        assert done == 2  # one per deployment, not two
    checked = sum(int(n) for out, _ in monitor_outputs for n in re.findall(r"health: \d+ deployments \((\d+) shards\)", out))
    # each shard's health checked once per 5 s period of its own, by whichever monitor holds it, over the
    # time the monitors really ran (a busy machine starts the consoles late and the monitors run longer):
    # never more often
    assert 0 < checked <= SHARDS * (monitors_ran / 5 + 2), (checked, monitors_ran)
    report = verify(ws)
    assert report.ok, report.problem
    from fuseboard.store.models import AuditEvent

    with ws.session() as s:  # the changes came from several hosts, and say which
        clients = set(s.exec(select(AuditEvent.client).where(AuditEvent.actor == "soak")))
    assert len({c for c in clients if c.startswith("host host-")}) >= 2, clients
