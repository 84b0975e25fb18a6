"""Filter keystrokes and memory on a large workspace (default 10,000 models).

    python bench/filter.py [--models 10000]

Drives the real console headless at 80x24: waits for the Models screen to
load, then types a filter one key at a time and times each keystroke two ways:

* cpu: the processor time the console spends on the key (filtering, table
  update, repaint), i.e. how long the UI is busy; this is the figure held
  against the 100 ms budget;
* wall: the time until Pilot reports the app idle again, which adds Pilot's
  own fixed waits; an unbound key press is measured as its baseline.

Also jumps to the bottom of the list, and prints the peak resident memory.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


async def run(url: str, query: str) -> dict[str, float]:
    from fuseboard.config import Config
    from fuseboard.tui.app import FuseboardApp
    from fuseboard.tui.widgets.table import VirtualTable

    app = FuseboardApp(url, Config(path=Path(tempfile.mkdtemp()) / "c.toml"), workspace_label="bench")
    timings: list[float] = []
    cpu: list[float] = []
    async with app.run_test(size=(80, 24)) as pilot:
        t0 = time.perf_counter()
        while not getattr(app.screen, "loaded", False):
            await asyncio.sleep(0.01)
        load = time.perf_counter() - t0
        table = app.screen.query_one(VirtualTable)
        total = table.row_count
        await pilot.press("slash")
        async def key(name: str) -> None:
            start, start_cpu = time.perf_counter(), time.process_time()
            await pilot.press(name)
            await pilot.pause()
            timings.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)

        for ch in query:
            await key(ch)
        matched = table.row_count
        for _ in query:
            await key("backspace")
        await pilot.press("enter")
        baseline = []
        for _ in range(5):
            start = time.perf_counter()
            await pilot.press("x")  # not bound on the table
            await pilot.pause()
            baseline.append(time.perf_counter() - start)
        start = time.perf_counter()
        await pilot.press("G")
        await pilot.pause()
        bottom = time.perf_counter() - start
    print("per-key cpu ms:", [round(1000 * c) for c in cpu])
    return {"rows": total, "matched_by_last_key": matched, "load_s": load,
            "keystroke_cpu_median_ms": 1000 * statistics.median(cpu), "keystroke_cpu_max_ms": 1000 * max(cpu),
            "keystroke_wall_median_ms": 1000 * statistics.median(timings),
            "keystroke_wall_max_ms": 1000 * max(timings),
            "unbound_key_wall_median_ms": 1000 * statistics.median(baseline),
            "jump_to_bottom_ms": 1000 * bottom}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--query", default="model-0123")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from make_workspace import build, report

    url = build(Path(tempfile.mkdtemp(prefix="fuseboard-bench-")) / "ws.db", args.models)
    result = asyncio.run(run(url, args.query))
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report(result, args.json, digits=1)


if __name__ == "__main__":
    main()
