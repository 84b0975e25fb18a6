"""Ingest on a Dask cluster and the engine-agnostic path (issue 19, point 5), on a real LocalCluster of two
worker processes: the windows of a partitioned dataset are those of a single-process ingest of the same
rows, a bad file refuses the whole batch naming it, a worker killed mid-fold has its file run again and
counted once, a retried ingest is refused; ``profile_batch`` records written by ``ingest-profiles`` give
the same windows, and every bad record is one line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sqlmodel import func, select

import fuseboard
from fuseboard.cli import cli
from fuseboard.errors import FuseboardError
from fuseboard.monitoring import ingest
from fuseboard.monitoring.ingest.cluster import ingest_dataset
from fuseboard.store.db import open_workspace
from fuseboard.store.models import IngestedBatch, PendingLabel, WindowProfile
from tests.support.rows import credit_rows
from tests.support.windows import drop_demo_history, traffic_windows


@pytest.fixture(autouse=True)
def _only_the_tests_own_traffic(request: pytest.FixtureRequest) -> None:
    """Compaction and deletion count every window: the demo's week of history is taken out first."""
    if "demo_url" in request.fixturenames:
        drop_demo_history(request.getfixturevalue("demo_url"))

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.slow

PARTS = 4


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """Two worker processes, one thread each, on the loopback, no dashboard."""
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import the tests
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=":0", worker_dashboard_address=":0") as found:
        yield found


@pytest.fixture
def client(cluster: Any) -> Iterator[Any]:
    with distributed.Client(cluster, set_as_default=False) as found:
        yield found


def frames() -> list[pd.DataFrame]:
    """Four parts of credit-risk traffic over the same 15 minutes: every window is in every part. The last
    part leaves a third of its rows waiting for their labels."""
    parts = [credit_rows(500, seed=i) for i in range(PARTS)]
    last = parts[-1]
    last["label"] = last["label"].astype("float64").where(np.arange(len(last)) % 3 != 0)
    return parts


def write_dataset(root: Path, parts: list[pd.DataFrame]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i, part in enumerate(parts):
        part.to_parquet(root / f"part-{i}.parquet", index=False)
    (root / "_SUCCESS").write_text("")  # as Spark leaves it: not a part
    return root


def baseline(demo_master: Path, tmp_path: Path, parts: list[pd.DataFrame]) -> str:
    """A fresh demo workspace holding a single-process ingest of all the parts' rows."""
    target = tmp_path / "single"
    shutil.copytree(demo_master, target)
    url = f"sqlite:///{target / 'demo.db'}"
    drop_demo_history(url)  # (as the cluster's workspace: only the test's own traffic)
    ws = open_workspace(url)
    ingest.ingest_table(ws, "credit-risk", "prod", ingest.as_table(pd.concat(parts, ignore_index=True)))
    ws.close()
    return url


def windows_of(url: str) -> list[WindowProfile]:
    ws = open_workspace(url)
    with ws.session() as s:
        found = s.exec(traffic_windows().order_by(WindowProfile.window_start)).all()
    ws.close()
    return list(found)


def counted(url: str) -> tuple[int, int, int]:
    ws = open_workspace(url)
    with ws.session() as s:
        out = tuple(s.exec(select(func.count()).select_from(t)).one() for t in (WindowProfile, PendingLabel,
                                                                                IngestedBatch))
    ws.close()
    return out  # type: ignore[return-value]


def same(a: Any, b: Any, path: str = "") -> None:
    """Counts and histograms equal; floats (moments, sums) equal to rounding; fine positions and
    estimated counts (rounded per fold) within one unit per part."""
    rounded = "fine_positions" in path or path.startswith("estimated")
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), path
        for key in a:
            same(a[key], b[key], f"{path}.{key}" if path else key)
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{i}]")
    elif isinstance(a, bool) or a is None or isinstance(a, str):
        assert a == b, path
    elif isinstance(a, int) and isinstance(b, int) and not rounded:
        assert a == b, path
    elif rounded:
        assert abs(a - b) <= PARTS + 1e-9 * abs(a), (path, a, b)
    else:
        assert a == pytest.approx(b, rel=1e-9, abs=1e-9), path


def assert_same_windows(url: str, expected_url: str) -> None:
    got, expected = windows_of(url), windows_of(expected_url)
    assert [(w.window_start, w.rows) for w in got] == [(w.window_start, w.rows) for w in expected]
    for g, e in zip(got, expected):
        for name in ("features", "predictions", "performance", "estimated"):
            same(getattr(g, name), getattr(e, name), name)


def test_a_partitioned_dataset_gives_the_windows_of_a_single_process_ingest(
        client: Any, demo_url: str, demo_master: Path, tmp_path: Path) -> None:
    parts = frames()
    root = write_dataset(tmp_path / "dataset", parts)
    ws = open_workspace(demo_url)
    result = ingest_dataset(ws, "credit-risk", "prod", str(root), client=client)
    ws.close()
    single_url = baseline(demo_master, tmp_path, parts)
    assert (result.rows, result.windows, result.labelled, result.awaiting_labels) == (2000, 3, 1833, 167)
    assert_same_windows(demo_url, single_url)
    assert counted(demo_url)[:2] == counted(single_url)[:2] == (3, 167)
    assert counted(demo_url)[2] == PARTS  # one fingerprint per file
    # a retry (after a timeout, say) is refused naming a file, whether the dataset or a part of it
    ws = open_workspace(demo_url)
    with pytest.raises(FuseboardError, match=r"part-0\.parquet was already ingested at .* \(500 rows\); nothing"):
        ingest_dataset(ws, "credit-risk", "prod", str(root), client=client)
    with pytest.raises(FuseboardError, match=r"part-2\.parquet was already ingested"):
        ingest_dataset(ws, "credit-risk", "prod", str(root / "part-[23].parquet"), client=client)
    ws.close()
    assert_same_windows(demo_url, single_url)


def test_a_bad_file_refuses_the_whole_batch_with_one_line_naming_it(cluster: Any, demo_url: str,
                                                                  tmp_path: Path) -> None:
    parts = frames()
    parts[2]["income"] = parts[2]["income"].astype(str)
    parts[2].loc[7, "income"] = "lots"
    root = write_dataset(tmp_path / "typed", parts)
    runner = CliRunner()
    result = runner.invoke(cli, ["--db", demo_url, "ingest", "credit-risk", str(root), "--env", "prod", "--dask",
                                 cluster.scheduler_address])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [f"error: column 'income' must be numeric but row 8 holds 'lots' ({root / 'part-2.parquet'})"]
    assert "Traceback" not in result.output
    unreadable = write_dataset(tmp_path / "unreadable", frames()[:2])
    (unreadable / "part-1.parquet").write_bytes(b"PAR1 not really")
    result = runner.invoke(cli, ["--db", demo_url, "ingest", "credit-risk", str(unreadable), "--env", "prod",
                                 "--dask", cluster.scheduler_address])
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: cannot read PARQUET: ")
    assert result.stderr.strip().endswith(f"({unreadable / 'part-1.parquet'})")
    assert counted(demo_url) == (0, 0, 0)  # nothing of either batch was written


class KillFirstFold(distributed.WorkerPlugin):
    """Ends the worker process that starts the first fold task (only the first: a marker file, created
    exclusively, says it happened, and which task it was)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        if finish != "executing" or not str(key).startswith("fuseboard-fold-"):
            return
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.write(fd, str(key).encode())
        os.close(fd)
        os._exit(1)


def test_a_killed_worker_has_its_file_run_again_and_counted_once(client: Any, demo_url: str, demo_master: Path,
                                                                tmp_path: Path) -> None:
    parts = frames()
    root = write_dataset(tmp_path / "dataset", parts)
    marker = tmp_path / "killed"
    client.register_plugin(KillFirstFold(str(marker)), name="kill-first-fold")
    try:
        ws = open_workspace(demo_url)
        result = ingest_dataset(ws, "credit-risk", "prod", str(root), client=client)
        ws.close()
    finally:
        client.unregister_worker_plugin("kill-first-fold")
    assert marker.read_text().startswith("fuseboard-fold-")  # a worker did die in a fold
    assert result.rows == 2000
    assert_same_windows(demo_url, baseline(demo_master, tmp_path, parts))


def test_the_cli_json_says_what_a_single_process_ingest_says(cluster: Any, demo_url: str, demo_master: Path,
                                                             tmp_path: Path) -> None:
    parts = frames()
    root = write_dataset(tmp_path / "dataset", parts)
    result = CliRunner().invoke(cli, ["--db", demo_url, "ingest", "credit-risk", str(root / "part-*.parquet"),
                                      "--env", "prod", "--dask", cluster.scheduler_address, "--json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    single = tmp_path / "all.parquet"
    pd.concat(parts, ignore_index=True).to_parquet(single, index=False)
    target = tmp_path / "single"
    shutil.copytree(demo_master, target)
    expected = CliRunner().invoke(cli, ["--db", f"sqlite:///{target / 'demo.db'}", "ingest", "credit-risk",
                                        str(single), "--env", "prod", "--json"])
    assert got == json.loads(expected.stdout)


def test_an_unreachable_scheduler_is_one_line(demo_url: str, tmp_path: Path) -> None:
    root = write_dataset(tmp_path / "dataset", frames()[:1])
    result = CliRunner().invoke(cli, ["--db", demo_url, "ingest", "credit-risk", str(root), "--env", "prod",
                                      "--dask", "tcp://127.0.0.1:9"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot reach the Dask scheduler at tcp://127.0.0.1:9: ")
    assert len(result.stderr.strip().splitlines()) == 1


def spec_of(url: str) -> Any:
    from fuseboard.monitoring.ingest import profile_spec

    ws = open_workspace(url)
    try:
        return profile_spec(ws, "credit-risk", "prod")
    finally:
        ws.close()


def test_profile_batch_records_written_by_ingest_profiles_give_the_same_windows(
        demo_url: str, demo_master: Path, tmp_path: Path) -> None:
    parts = frames()
    spec = spec_of(demo_url)
    out = tmp_path / "profiles"
    out.mkdir()
    for i, part in enumerate(parts):  # as Spark's mapInArrow would: each partition's batches, folded where they are
        batches = ingest.as_table(part).to_batches(max_chunksize=128)
        windows = fuseboard.profile_batch(spec, iter(batches), source=f"partition {i}")
        import pyarrow.parquet as pq

        pq.write_table(fuseboard.profiles_table(spec, windows), out / f"part-{i:05d}.parquet")
    (out / "_SUCCESS").write_text("")
    run = ["--db", demo_url, "ingest-profiles", "credit-risk", str(out), "--env", "prod", "--json"]
    result = CliRunner().invoke(cli, run)
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert (got["rows"], got["windows"], got["labelled"], got["awaiting_labels"]) == (2000, 3, 1833, 0)
    single_url = baseline(demo_master, tmp_path, parts)
    assert_same_windows(demo_url, single_url)
    again = CliRunner().invoke(cli, run)
    assert again.exit_code == 1 and "part-00000.parquet was already ingested at " in again.stderr
    assert_same_windows(demo_url, single_url)


def test_every_bad_profile_record_is_one_line_and_nothing_is_written(demo_url: str, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    spec = spec_of(demo_url)
    table = fuseboard.profiles_table(spec, fuseboard.profile_batch(spec, frames()[0]))
    records = table.to_pylist()
    records[0]["version"] = 1
    records[2]["features"] = b"FBW1 garbage"
    pq.write_table(pa.Table.from_pylist(records, schema=table.schema), tmp_path / "bad.parquet")
    result = CliRunner().invoke(cli, ["--db", demo_url, "ingest-profiles", "credit-risk", str(tmp_path / "bad.parquet"),
                                      "--env", "prod"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: record 1: folded for credit-risk v1, but v2 serves in prod: fold again with a spec of v2 "
        f"({tmp_path / 'bad.parquet'})",
        f"error: record 3: features is not a window profile (fuseboard.profiles_table writes them) "
        f"({tmp_path / 'bad.parquet'})"]
    assert counted(demo_url) == (0, 0, 0)


def test_profile_batch_and_the_cli_do_not_import_dask() -> None:
    code = ("import sys, fuseboard\nfuseboard.profile_batch, fuseboard.profiles_table\n"
            "from click.testing import CliRunner\nfrom fuseboard.cli import cli\n"
            "assert CliRunner().invoke(cli, ['ingest', '--help']).exit_code == 0\n"
            "assert CliRunner().invoke(cli, ['ingest-profiles', '--help']).exit_code == 0\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
