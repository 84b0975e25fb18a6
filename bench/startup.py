"""Time from process start to the first painted frame, side by side with the framework floor.

    python bench/startup.py [--runs 10] [--models 1000]

Each run starts a process on a pseudo-terminal of 80x24 and reads its output
until a marker appears on screen:

* floor: a bare Textual app with one empty DataTable (marker: its column label);
* fuseboard first frame: the Models screen's title line (the current screen, named whatever the width);
* fuseboard rows: the first model row, i.e. the workspace opened and queried.

Runs alternate between the programs so machine noise hits them alike; the
medians and the ratio to the floor are printed (and written as JSON with --json).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

BARE_APP = """
from textual.app import App
from textual.widgets import DataTable
class Bare(App):
    def compose(self):
        yield DataTable()
    def on_mount(self):
        self.query_one(DataTable).add_column("FLOOR-READY")
Bare().run()
"""


def time_until(argv: list[str], markers: list[bytes], env: dict[str, str], timeout: float = 20.0) -> list[float]:
    """Seconds from spawn until each marker has appeared in the output."""
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    seen: list[float | None] = [None] * len(markers)
    buffer = b""
    try:
        while None in seen and time.perf_counter() - start < timeout:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            buffer += chunk
            now = time.perf_counter() - start
            for i, marker in enumerate(markers):
                if seen[i] is None and marker in buffer:
                    seen[i] = now
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
    if None in seen:
        raise RuntimeError(f"marker not seen within {timeout}s: {markers[seen.index(None)]!r}")
    return [s for s in seen if s is not None]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from make_workspace import build, report

    tmp = Path(tempfile.mkdtemp(prefix="fuseboard-bench-"))
    url = build(tmp / "ws.db", args.models)
    env = {**os.environ, "TERM": "xterm-256color", "XDG_CONFIG_HOME": str(tmp / "cfg"),
           "XDG_DATA_HOME": str(tmp / "data")}
    env.pop("NO_COLOR", None)
    # Compare like with like: pip compiled Textual's modules at install; compile ours too
    # (an editable install under PYTHONDONTWRITEBYTECODE would recompile them on every start).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    import compileall

    import fuseboard

    compileall.compile_dir(Path(fuseboard.__file__).parent, quiet=1)
    bare_script = tmp / "bare.py"
    bare_script.write_text(BARE_APP)
    fuseboard = [sys.executable, "-m", "fuseboard", "--db", url]
    floor, first, rows = [], [], []
    for _ in range(args.runs):
        floor += time_until([sys.executable, str(bare_script)], [b"FLOOR-READY"], env)
        f, r = time_until(fuseboard, [b"1 Models", b"model-00000"], env)
        first.append(f)
        rows.append(r)
    result = {
        "models": args.models,
        "runs": args.runs,
        "floor_median_s": statistics.median(floor),
        "first_frame_median_s": statistics.median(first),
        "rows_painted_median_s": statistics.median(rows),
    }
    result["first_frame_vs_floor"] = result["first_frame_median_s"] / result["floor_median_s"]
    result["rows_vs_floor"] = result["rows_painted_median_s"] / result["floor_median_s"]
    report(result, args.json, digits=3)


if __name__ == "__main__":
    main()
