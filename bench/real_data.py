"""Drift verdicts on real data: fuseboard (its automatic method and PSI), exact scipy tests on the raw
rows, and Evidently 0.7, window by window.

How to run it, from the repository root, with the python of fuseboard's dev environment (the data
ships inside ``vega_datasets``, a test extra: nothing is downloaded)::

    # once: Evidently needs pandas < 3, so it lives in an environment of its own
    python3 -m venv EVVENV && EVVENV/bin/pip install 'evidently>=0.7,<0.8' 'pandas<3' pyarrow scipy

    python bench/real_data.py --evidently-python EVVENV/bin/python            # per window, per feature
    python bench/real_data.py --evidently-python EVVENV/bin/python --markdown # README's table
    python bench/real_data.py --only fuseboard,scipy --json -                 # no Evidently needed

``--evidently-python`` may also be given as $EVIDENTLY_PYTHON. ``--methods`` lists fuseboard's methods
(default: ``auto`` when the product has it, else ``ks/chisquare``, then ``psi``; ``NUM/CAT`` gives
numeric and categorical features a method each); the first is the one compared with the exact
tests. ``--cases`` picks cases (``seattle-temp``, ``cars-origin``, ``diabetes``; see real_data_cases.py),
``--controls`` sets the no-shift controls' sizes (500,2000), ``--seed`` redraws them, ``--alarm-rate
90:200`` also counts fuseboard's drift alerts over 200 no-shift windows of 90 rows per case (the
product's profiling, folding and verdict functions, no workspace). Takes about a minute on two busy
cores (Evidently: 15-40 s of it).

Each side, per window and feature, says drifted or not, with its score:

* fuseboard: the case registered, deployed and ingested with the CLI in a temporary workspace, each
  window's stored windows merged and judged as the drift check judges them (real_data_fuseboard.py);
* scipy, exact on the raw rows: ``ks_2samp`` for numbers with more than five distinct values,
  ``chi2_contingency`` (no continuity correction) on the counts for categories and numbers with
  at most five (a 0/1 flag's chi-square is the two-proportion Z-test); drifted when p < 0.05;
* Evidently 0.7: ``DataDriftPreset`` with its default methods, given the kinds fuseboard inferred
  (real_data_evidently.py, in Evidently's own environment).

Then agreement per window and per feature, false alarms on the no-shift controls (a drift check
that is not ``ok``, and features drifted), and each window's performance as fuseboard folded it
against scikit-learn's on the raw rows. Exits 1 when a control raised a drift alert with
fuseboard's first method.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import real_data_cases as cases_mod  # noqa: E402
import real_data_fuseboard as fb_side  # noqa: E402

ALPHA = 0.05
FEW_VALUES = 5  # numbers with at most this many distinct values are tested as categories (as Evidently does)


# -- scipy, exact, on the raw rows ---------------------------------------------------------

def exact(reference: Any, current: Any, kind: str) -> dict[str, Any]:
    """The exact two-sample test of one column: KS for numbers, chi-square for categories and few values.

    Parameters
    ----------
    reference, current : pandas.Series of shape (n_reference,), (n_current,)
        The raw values (nulls left out).
    kind : {"numeric", "categorical"}
        The kind fuseboard inferred.

    Returns
    -------
    verdict : dict
        ``{"test": "ks" or "chisquare", "statistic", "p", "drifted": p < 0.05}``.
    """
    import numpy as np
    import pandas as pd
    from scipy import stats

    ref, cur = reference.dropna(), current.dropna()
    values = pd.concat([ref, cur])
    if kind == "numeric" and values.nunique() > FEW_VALUES:
        result = stats.ks_2samp(ref.to_numpy(dtype=float), cur.to_numpy(dtype=float))
        return {"test": "ks", "statistic": float(result.statistic), "p": float(result.pvalue),
                "drifted": bool(result.pvalue < ALPHA)}
    keys = sorted(values.astype(str).unique())
    table = np.array([[int((ref.astype(str) == k).sum()) for k in keys],
                      [int((cur.astype(str) == k).sum()) for k in keys]])
    if table.shape[1] < 2:
        return {"test": "chisquare", "statistic": 0.0, "p": 1.0, "drifted": False}
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    return {"test": "chisquare", "statistic": float(chi2), "p": float(p), "drifted": bool(p < ALPHA)}


def true_metric(case: cases_mod.Case, model: Any, frame: Any) -> tuple[str, float]:
    """The case's headline metric on a window's raw rows: rmse (regression) or accuracy."""
    import numpy as np

    pred = fb_side.predict(case, model, frame)
    y = frame[case.target].to_numpy()
    if case.task == "regression":
        return "rmse", float(np.sqrt(np.mean((pred - y) ** 2)))
    return "accuracy", float(np.mean(pred == y))


# -- Evidently, in its own environment -------------------------------------------------------

def run_evidently(python: str, built: list[cases_mod.Case], schemas: dict[str, dict[str, str]], out: Path
                  ) -> dict[str, Any]:
    spec = {"cases": []}
    for case in built:
        folder = out / "evidently" / case.name
        folder.mkdir(parents=True, exist_ok=True)
        case.reference[case.features].to_parquet(folder / "reference.parquet", index=False)
        for i, window in enumerate(case.windows):
            window.frame[case.features].to_parquet(folder / f"window-{i}.parquet", index=False)
        kinds = schemas[case.name]
        spec["cases"].append({"name": case.name, "windows": [w.label for w in case.windows],
                              "numerical": [f for f in case.features if kinds[f] == "numeric"],
                              "categorical": [f for f in case.features if kinds[f] != "numeric"]})
    (out / "evidently" / "spec.json").write_text(json.dumps(spec))
    child = Path(__file__).resolve().parent / "real_data_evidently.py"
    proc = subprocess.run([python, str(child), str(out / "evidently")], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONWARNINGS="ignore"))
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"the Evidently child failed (exit {proc.returncode})")
    return json.loads([line for line in proc.stdout.splitlines() if line.startswith("{")][-1])


# -- putting the sides together ----------------------------------------------------------------

def collect(built: list[cases_mod.Case], methods: list[str], sides: set[str], evidently_python: str | None,
            out: Path) -> dict[str, Any]:
    """Every side's verdicts per case, window and feature, with the seconds each side took."""
    seconds: dict[str, float] = {}
    result: dict[str, Any] = {"methods": methods, "alpha": ALPHA, "min_rows": fb_side.MIN_ROWS, "cases": {}}
    schemas: dict[str, dict[str, str]] = {}
    for case in built:
        start = time.perf_counter()
        model = fb_side.prepare(case, out / case.name)
        fb = fb_side.verdicts(case, out / case.name, methods)
        seconds["fuseboard"] = seconds.get("fuseboard", 0.0) + time.perf_counter() - start
        schemas[case.name] = fb["schema"]
        entry: dict[str, Any] = {"task": case.task, "about": case.about, "reference_rows": len(case.reference),
                                 "schema": fb["schema"], "windows": {}}
        start = time.perf_counter()
        for window in case.windows:
            metric, value = true_metric(case, model, window.frame)
            stored = fb["windows"][window.label]
            entry["windows"][window.label] = {
                "rows": len(window.frame), "stored_rows": stored["rows"], "control": window.control,
                "fuseboard": stored["methods"],
                "metric": {"name": metric, "exact": value, "fuseboard": stored["metrics"].get(metric)},
                "scipy": {f: exact(case.reference[f], window.frame[f], fb["schema"][f]) for f in case.features}
                if "scipy" in sides else {}}
        seconds["scipy"] = seconds.get("scipy", 0.0) + time.perf_counter() - start
        result["cases"][case.name] = entry
    if "evidently" in sides:
        start = time.perf_counter()
        ev = run_evidently(evidently_python, built, schemas, out)
        seconds["evidently"] = time.perf_counter() - start
        result["evidently_version"] = ev.pop("_version")
        for name, per_window in ev.items():
            if name.startswith("_"):
                continue
            for label, columns in per_window.items():
                result["cases"][name]["windows"][label]["evidently"] = columns
    result["seconds"] = seconds
    summarise(result)
    return result


def _drifted(side: dict[str, Any]) -> set[str]:
    return {f for f, v in side.items() if v["drifted"]}


def summarise(result: dict[str, Any]) -> None:
    """Agreement per window and per feature, and false alarms on the controls, added to ``result``."""
    first = result["methods"][0]
    per_feature: dict[str, dict[str, list[int]]] = {}
    alarms = []
    for name, case in result["cases"].items():
        for label, w in case["windows"].items():
            agree: dict[str, list[int]] = {}
            pairs = [(f"{m} = scipy", "fuseboard", m, "scipy") for m in result["methods"][:1]] + \
                    [(f"{m} = evidently", "fuseboard", m, "evidently") for m in result["methods"]] + \
                    [("scipy = evidently", "scipy", None, "evidently")]
            for key, left, method, right in pairs:
                a = w[left][method]["features"] if method else w.get(left)
                b = w.get(right)
                if not a or not b:
                    continue
                same = [f for f in a if f in b and a[f]["drifted"] == b[f]["drifted"]]
                agree[key] = [len(same), len([f for f in a if f in b])]
                for f in a:
                    if f in b:
                        tally = per_feature.setdefault(f"{name}/{f}", {}).setdefault(key, [0, 0])
                        tally[0] += a[f]["drifted"] == b[f]["drifted"]
                        tally[1] += 1
            w["agreement"] = agree
            if w["control"]:
                for method in result["methods"]:
                    verdict = w["fuseboard"][method]
                    alarms.append({"case": name, "window": label, "tool": f"fuseboard {method}",
                                   "status": verdict["status"], "drifted": sorted(_drifted(verdict["features"]))})
                for tool in ("scipy", "evidently"):
                    if w.get(tool):
                        alarms.append({"case": name, "window": label, "tool": tool, "status": None,
                                       "drifted": sorted(_drifted(w[tool]))})
    order = [f"{name}/{f}" for name, case in result["cases"].items() for f in case["schema"]]
    result["agreement_per_feature"] = {key: per_feature[key] for key in order if key in per_feature}
    result["controls"] = alarms
    result["control_alerts"] = [a for a in alarms if a["tool"] == f"fuseboard {first}" and a["status"] != "ok"]


# -- output --------------------------------------------------------------------------------------

def _short(features: set[str]) -> str:
    return ", ".join(sorted(features)) or "-"


def _score(v: dict[str, Any] | None, key: str = "score") -> str:
    if not v:
        return "n/a"
    return f"{'D' if v['drifted'] else '.'} {v[key]:.3g}"


def print_text(result: dict[str, Any]) -> None:
    methods = result["methods"]
    for name, case in result["cases"].items():
        print(f"\n{name} ({case['task']}): {case['about']}")
        print(f"  reference {case['reference_rows']} rows; kinds as inferred: "
              + ", ".join(f"{f}={k}" for f, k in case["schema"].items()))
        for label, w in case["windows"].items():
            m = w["metric"]
            fb_metric = "n/a" if m["fuseboard"] is None else f"{m['fuseboard']:.4f}"
            print(f"\n  {label}: {w['rows']} rows ({w['stored_rows']} stored); "
                  + "; ".join(f"fuseboard {meth}: {w['fuseboard'][meth]['status']}" for meth in methods)
                  + f"; {m['name']} fuseboard {fb_metric}, exact {m['exact']:.4f}")
            header = "".join(f"  {'fuseboard ' + meth:<22}" for meth in methods)
            print(f"    {'feature':<24}{header}  {'scipy exact (p)':<22}  evidently")
            for f in case["schema"]:
                cells = "".join(f"  {_score(w['fuseboard'][meth]['features'].get(f)):<22}" for meth in methods)
                sp = w["scipy"].get(f)
                sp_cell = f"{sp['test']} {_score(sp, 'p')}" if sp else "n/a"
                ev = (w.get("evidently") or {}).get(f)
                ev_cell = f"{(ev['method'] or '').split(' ')[0]} {_score(ev)}" if ev else "n/a"
                print(f"    {f[:24]:<24}{cells}  {sp_cell:<22}  {ev_cell}")
            if w["agreement"]:
                print("    agreement: " + ", ".join(f"{k} {a}/{n}" for k, (a, n) in w["agreement"].items()))
    print("\nagreement per feature (windows where both say the same):")
    for feature, tallies in result["agreement_per_feature"].items():
        print(f"  {feature:<34}" + "  ".join(f"{k} {a}/{n}" for k, (a, n) in tallies.items()))
    print("\nno-shift controls:")
    for a in result["controls"]:
        status = f"check {a['status']}, " if a["status"] else ""
        print(f"  {a['case']:<14}{a['window']:<34}{a['tool']:<26}{status}drifted: {', '.join(a['drifted']) or '-'}")
    if "alarm_rate" in result:
        print("\n" + _alarm_rate_line(result))
    print("\nseconds: " + ", ".join(f"{k} {v:.1f}" for k, v in result["seconds"].items()))


def markdown(result: dict[str, Any]) -> str:
    """README's table: one row per window, then agreement per feature and the controls in figures."""
    methods = result["methods"]
    first = methods[0]
    has_ev = any(w.get("evidently") for c in result["cases"].values() for w in c["windows"].values())
    head = ["case", "window", "rows"] + [f"fuseboard {m}: drifted" for m in methods] + ["scipy exact: drifted"]
    head += ["Evidently 0.7: drifted"] if has_ev else []
    head += [f"{first} = scipy"] + ([f"{m} = Evidently" for m in methods] if has_ev else []) + ["metric: fuseboard / exact"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, case in result["cases"].items():
        for label, w in case["windows"].items():
            m = w["metric"]
            fb_metric = "n/a" if m["fuseboard"] is None else f"{m['fuseboard']:.3f}"
            cells = [name, label + (" *(control)*" if w["control"] else ""), str(w["rows"])]
            cells += [f"{_short(_drifted(w['fuseboard'][meth]['features']))} ({w['fuseboard'][meth]['status']})"
                      for meth in methods]
            cells += [_short(_drifted(w["scipy"]))]
            cells += [_short(_drifted(w["evidently"]))] if has_ev else []
            agree = w["agreement"]
            keys = [f"{first} = scipy"] + ([f"{meth} = evidently" for meth in methods] if has_ev else [])
            cells += [f"{agree[k][0]}/{agree[k][1]}" if k in agree else "n/a" for k in keys]
            cells += [f"{m['name']} {fb_metric} / {m['exact']:.3f}"]
            lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Agreement per feature (windows where both say the same, controls included):", ""]
    keys = [f"{first} = scipy"] + ([f"{meth} = evidently" for meth in methods] + ["scipy = evidently"] if has_ev else [])
    lines += ["| feature | " + " | ".join(keys) + " |", "|" + "---|" * (len(keys) + 1)]
    for feature, tallies in result["agreement_per_feature"].items():
        lines.append(f"| {feature} | " + " | ".join(
            f"{tallies[k][0]}/{tallies[k][1]}" if k in tallies else "n/a" for k in keys) + " |")
    controls = result["controls"]
    flagged = [a for a in controls if a["drifted"]]
    lines += ["", f"No-shift controls: {len({(a['case'], a['window']) for a in controls})} windows; "
              + ("no tool flagged a feature." if not flagged else "flagged: " + "; ".join(
                  f"{a['case']} {a['window']}, {a['tool']}: {', '.join(a['drifted'])}" for a in flagged) + ".")]
    if "alarm_rate" in result:
        lines += ["", _alarm_rate_line(result)]
    return "\n".join(lines)


def _alarm_rate_line(result: dict[str, Any]) -> str:
    rate = result["alarm_rate"]
    per_method = "; ".join(f"fuseboard {m}: " + " / ".join(f"{rates[m]:.0%}" for rates in rate["cases"].values())
                           for m in result["methods"])
    return (f"No-shift windows of {rate['rows']} rows drawn {rate['draws']} times from each reference "
            f"({' / '.join(rate['cases'])}): share with a drift alert, {per_method}.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evidently-python", default=os.environ.get("EVIDENTLY_PYTHON"),
                        help="python of the environment with evidently 0.7 and pandas < 3 (or $EVIDENTLY_PYTHON)")
    parser.add_argument("--only", default="fuseboard,scipy,evidently",
                        help="comma-separated sides (fuseboard always runs: it registers the models)")
    parser.add_argument("--methods", help="comma-separated fuseboard methods (default: auto or ks/chisquare, psi)")
    parser.add_argument("--cases", help=f"comma-separated cases (default: {', '.join(cases_mod.CASES)})")
    parser.add_argument("--seed", type=int, default=0, help="redraws the no-shift controls")
    parser.add_argument("--controls", default=",".join(map(str, cases_mod.CONTROL_SIZES)),
                        help="rows of each no-shift control (default 500,2000; e.g. 90,500,2000)")
    parser.add_argument("--alarm-rate", metavar="ROWS:DRAWS",
                        help="also draw DRAWS no-shift windows of ROWS rows per case and count fuseboard's drift "
                             "alerts (e.g. 90:200; no workspace, fast)")
    parser.add_argument("--markdown", action="store_true", help="print README's table instead of the details")
    parser.add_argument("--json", help="also write everything as JSON to this path ('-': stdout, nothing else)")
    parser.add_argument("--out", type=Path, help="keep the workspaces and files here (default: a temporary folder)")
    args = parser.parse_args()

    sides = set(args.only.split(",")) | {"fuseboard"}
    unknown = sides - {"fuseboard", "scipy", "evidently"}
    if unknown:
        parser.error(f"--only: unknown side(s) {', '.join(sorted(unknown))}")
    names = args.cases.split(",") if args.cases else None
    if names and set(names) - set(cases_mod.CASES):
        parser.error(f"--cases: the cases are {', '.join(cases_mod.CASES)}")
    if "evidently" in sides and not args.evidently_python:
        parser.error("--evidently-python (or $EVIDENTLY_PYTHON) is needed, or --only fuseboard,scipy")
    methods = args.methods.split(",") if args.methods else fb_side.default_methods()
    try:
        sizes = tuple(int(n) for n in args.controls.split(",") if n)
    except ValueError:
        parser.error("--controls takes whole numbers of rows, e.g. 500,2000")
    if any(n < 1 for n in sizes):
        parser.error("--controls: a control needs at least one row")
    built = cases_mod.build(names, args.seed, sizes)
    rate = None
    if args.alarm_rate:
        try:
            rate = tuple(int(v) for v in args.alarm_rate.split(":"))
        except ValueError:
            rate = ()
        if len(rate) != 2 or min(rate) < 1:
            parser.error("--alarm-rate takes ROWS:DRAWS, e.g. 90:200")
    with tempfile.TemporaryDirectory(prefix="fuseboard-real-data-") as tmp:
        out = args.out or Path(tmp)
        result = collect(built, methods, sides, args.evidently_python, out)
    if rate:
        result["alarm_rate"] = {"rows": rate[0], "draws": rate[1], "cases": {
            case.name: fb_side.alarm_rate(case, methods, rate[0], rate[1], args.seed) for case in built}}
    if args.json == "-":
        print(json.dumps(result, indent=2))
    else:
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2))
        print(markdown(result) if args.markdown else "", end="\n" if args.markdown else "")
        if not args.markdown:
            print_text(result)
    if result["control_alerts"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
