"""How fast the command line answers on the demo, side by side with `fuseboard --help`.

    python bench/cli_speed.py [--runs 15] [--demo FOLDER] [--json out.json]

Times, as a user's shell or cron sees them (process start to exit, output read):

* ``fuseboard --help``: the floor (Python, click and the command table);
* ``fuseboard models --json``, ``fuseboard alerts --json``,
  ``fuseboard history credit-risk --env prod``: the reads scripts call most (target: at most 3x
  the floor, issue 15);
* the same three through the fast read path alone (``ops/quick.py``: click, the entry function,
  the JSON or lines printed) in a small driver: what the commands cost once they take that path,
  i.e. the floor for the three rows above.

Runs alternate between the programs (the starting one rotates) so machine noise hits them alike;
medians, the ratio of each to ``--help`` and rows ready to paste into README are printed (and
written as JSON with --json). The demo is built once in a temporary folder unless --demo names
one (a folder holding demo.db). Config and data folders are temporary: your own config and
workspace are never read.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 3.0  # at most this many times `fuseboard --help`

# What `models --json` / `alerts --json` / `history` do once they take the fast path, without the CLI module.
DRIVER = r"""
import json, sys
import click
from fuseboard.clock import utcnow
from fuseboard.ops.quick import quick_alerts, quick_history, quick_models
what, url = sys.argv[1], sys.argv[2]
if what == "models":
    records = quick_models(url)
elif what == "alerts":
    records = quick_alerts(url, now=utcnow())
else:
    history = quick_history(url, "credit-risk", "prod", 30)
    records = None if history is None else history.rollouts
if records is None:
    sys.exit(3)  # the fast path declined: the command would open the workspace the normal way
if what == "history":
    for r in records:
        click.echo(f"{r.requested_at.astimezone():%m-%d %H:%M}  {r.action}  v{r.from_version or '-'}->v{r.to_version}"
                   f"  {r.state}  {r.requested_by}  {r.hook_status or '-'}  {r.reason}")
else:
    click.echo(json.dumps([r.as_dict() for r in records], indent=2))
"""


def programs(fuseboard: str, url: str) -> dict[str, list[str]]:
    py = sys.executable
    return {
        "fuseboard --help": [fuseboard, "--help"],
        "fuseboard models --json": [fuseboard, "--db", url, "models", "--json"],
        "fuseboard alerts --json": [fuseboard, "--db", url, "alerts", "--json"],
        "fuseboard history credit-risk --env prod": [fuseboard, "--db", url, "history", "credit-risk", "--env", "prod"],
        "fast path: models --json": [py, "-c", DRIVER, "models", url],
        "fast path: alerts --json": [py, "-c", DRIVER, "alerts", url],
        "fast path: history": [py, "-c", DRIVER, "history", url],
    }


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:4])} ... failed ({done.returncode}): {done.stderr.strip()[:500]}")
    return elapsed, done.stdout


def build_demo(fuseboard: str, folder: Path, env: dict[str, str]) -> Path:
    print(f"building the demo in {folder} ...", file=sys.stderr)
    subprocess.run([fuseboard, "demo", "--path", str(folder), "--no-tui"], env=env, check=True, capture_output=True)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--demo", type=Path, help="a demo folder (holding demo.db) instead of building one")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    fuseboard = shutil.which("fuseboard", path=str(Path(sys.executable).parent)) or shutil.which("fuseboard")
    if fuseboard is None:
        raise SystemExit("no `fuseboard` command: install the package (pip install -e .) in this Python's venv")
    with tempfile.TemporaryDirectory(prefix="fuseboard-cli-speed-") as tmp:
        env = {k: v for k, v in os.environ.items() if k not in ("FUSEBOARD_DB", "FUSEBOARD_USER")}
        env.update(XDG_CONFIG_HOME=f"{tmp}/config", XDG_DATA_HOME=f"{tmp}/data", XDG_STATE_HOME=f"{tmp}/state",
                   COLUMNS="100", NO_COLOR="1")
        demo = args.demo.expanduser().resolve() if args.demo else build_demo(fuseboard, Path(tmp) / "demo", env)
        url = f"sqlite:///{demo / 'demo.db'}"
        progs = programs(fuseboard, url)
        names = list(progs)
        times: dict[str, list[float]] = {name: [] for name in names}
        outputs: dict[str, str] = {}
        for name in names:  # one untimed run each: the page cache warm, every output checked
            outputs[name] = run_once(progs[name], env)[1]
        same = {kind: outputs[f"fuseboard {kind} --json"] == outputs[f"fast path: {kind} --json"]
                for kind in ("models", "alerts")}
        for i in range(args.runs):
            for name in names[i % len(names):] + names[:i % len(names)]:
                times[name].append(run_once(progs[name], env)[0])
    floor = statistics.median(times[names[0]])
    rows = [{"program": name, "median_s": round(statistics.median(t), 3), "min_s": round(min(t), 3),
             "ratio_to_help": round(statistics.median(t) / floor, 2)} for name, t in times.items()]
    print(f"\n{args.runs} runs each, alternating; demo at {demo}\n")
    print(f"{'program':<44}{'median':>9}{'fastest':>9}{'x --help':>10}")
    for r in rows:
        mark = "" if r["program"] == names[0] else ("  ok" if r["ratio_to_help"] <= TARGET else f"  over {TARGET:g}x")
        print(f"{r['program']:<44}{r['median_s']:>8.3f}s{r['min_s']:>8.3f}s{r['ratio_to_help']:>9.2f}x{mark}")
    print(f"\nthe fast path prints the same JSON as the command: models {'yes' if same['models'] else 'NO'}, "
          f"alerts {'yes' if same['alerts'] else 'NO'}")
    by = {r["program"]: r for r in rows}
    print("\nREADME rows (`bench/cli_speed.py`, median of", args.runs, "runs, side by side):\n")
    print(f"| `fuseboard --help` (the floor) | {by[names[0]]['median_s']:.2f} s |")
    for kind, label in (("models", "fuseboard models --json"), ("alerts", "fuseboard alerts --json"),
                        ("history", "fuseboard history credit-risk --env prod")):
        r = by[label]
        print(f"| `{label}` on the demo (target ≤ {TARGET:g}x --help) | {r['median_s']:.2f} s "
              f"({r['ratio_to_help']:.1f}x) |")
    if args.json:
        args.json.write_text(json.dumps({"runs": args.runs, "rows": rows, "same_output": same}, indent=2))


if __name__ == "__main__":
    main()
