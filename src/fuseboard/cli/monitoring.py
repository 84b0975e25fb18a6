"""Monitoring: ``ingest`` and ``ingest-labels`` feed it, ``check`` runs it once, ``monitor`` runs it headless,
``monitoring show`` and ``monitoring set`` say and change how each model is monitored."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from fuseboard.cli.base import (Context, actor, confirm, emit_json, glyph, json_option, pass_ctx, reason_option,
                                yes_option)
from fuseboard.cli.params import Whole
from fuseboard.errors import FuseboardError
from fuseboard.text import visible

if TYPE_CHECKING:  # pragma: no cover
    from fuseboard.monitoring.ingest import ColumnQuality, IngestResult
    from fuseboard.monitoring.settings import SettingsChanges


def _quality_lines(quality: dict[str, ColumnQuality]) -> list[str]:
    lines = []
    for name, found in quality.items():
        parts = []
        if found.get("nulls"):
            parts.append(f"{found['nulls']} nulls")
        if found.get("out_of_range"):
            parts.append(f"{found['out_of_range']} outside the reference range")
        if found.get("unseen"):
            seen = ", ".join(f"{k} {v}" for k, v in found["unseen"].items())
            parts.append(f"{found['unseen_rows']} unseen categories ({seen})")
        if found.get("unknown_classes"):
            parts.append(f"{found['unknown_classes']} predictions of classes the model does not have")
        lines.append(visible(f"  {name}: {'; '.join(parts)}"))
    return lines


@click.command("ingest")
@click.argument("model")
@click.argument("file")
@click.option("--env", "env", required=True, help="Environment the rows were served in.")
@click.option("--dask", "dask", metavar="SCHEDULER",
              help="Fold a Parquet dataset (FILE: a file, a directory or a glob, where every worker reads it, or an "
              "s3:// gs:// hdfs:// URI) on the Dask cluster whose scheduler is at SCHEDULER (tcp://host:8786), file "
              "by file; written here in one transaction. Needs dask[distributed] (pip install 'fuseboard[dask]').")
@json_option
@pass_ctx
def ingest_cmd(ctx: Context, model: str, file: str, env: str, dask: str | None, as_json: bool) -> None:
    """Fold a file of inference rows (CSV, Parquet or JSON Lines) into the monitoring windows.

    Columns: the model's features, `prediction`, and optionally `timestamp` (ISO 8601 or epoch
    seconds; default now), `score` (binary: probability of the positive class) or `score_<class>`
    per class, `request_id` (to join labels later) and `label`. The whole file is checked first;
    any error writes nothing. Nulls and unseen categories are reported, not refused. With --dask, a
    Parquet dataset is folded on a Dask cluster: any bad file refuses the whole dataset, naming it,
    and a dataset holding a file ingested before is refused (a retry is not counted twice).
    """
    if dask:
        from fuseboard.monitoring.ingest.cluster import ingest_dataset

        result = ingest_dataset(ctx.writable(), model, env, file, dask)
    else:
        from fuseboard.monitoring.ingest import ingest_file

        result = ingest_file(ctx.writable(), model, env, Path(file))
    _say_ingested(result, as_json)


@click.command("ingest-profiles")
@click.argument("model")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--env", "env", required=True, help="Environment the rows were served in.")
@json_option
@pass_ctx
def ingest_profiles_cmd(ctx: Context, model: str, file: Path, env: str, as_json: bool) -> None:
    """Write window profiles folded elsewhere (fuseboard.profile_batch) into the monitoring windows.

    FILE: a Parquet or Arrow file of `fuseboard.PROFILE_DDL` records (`fuseboard.profiles_table`), or a
    directory of Parquet part files. Records of one window are merged, and written in one
    transaction; every bad record is one error line, and nothing is written. The same records sent
    again are refused.
    """
    from fuseboard.monitoring.ingest import BadRecords, ingest_profiles_file

    try:
        result = ingest_profiles_file(ctx.writable(), model, env, file)
    except BadRecords as exc:
        for line in exc.lines:
            click.echo(visible(f"error: {line}"), err=True)
        sys.exit(exc.exit_code)
    _say_ingested(result, as_json)


def _say_ingested(result: IngestResult, as_json: bool) -> None:
    if as_json:
        emit_json(result.as_dict())
        return
    click.echo(f"ingested {result.rows:,} rows into {result.model} v{result.version} in {result.environment}: "
               f"{result.windows} window(s) from {result.first_window} to {result.last_window}; "
               f"{result.labelled:,} labelled, {result.awaiting_labels:,} awaiting labels")
    if result.quality:
        click.echo("data quality:")
        for line in _quality_lines(result.quality):
            click.echo(line)
    outside = result.outside_check_windows
    if outside.get("older_than_drift_window") or outside.get("older_than_performance_window"):
        click.echo(visible(f"{outside['older_than_drift_window']:,} of {result.rows:,} rows are older than the drift "
                           f"window ({outside['drift_window']}), {outside['older_than_performance_window']:,} older "
                           f"than the performance window ({outside['performance_window']}): `fuseboard check` does "
                           f"not read them; `fuseboard report {result.model} --env {result.environment} --from "
                           f"{result.first_window[:10]}` shows them"))


@click.command("ingest-labels")
@click.argument("model")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--env", "env", required=True, help="Environment the predictions were served in.")
@json_option
@pass_ctx
def ingest_labels_cmd(ctx: Context, model: str, file: Path, env: str, as_json: bool) -> None:
    """Join true labels (columns `request_id`, `label`) to predictions ingested earlier."""
    from fuseboard.monitoring.ingest import ingest_labels_file

    result = ingest_labels_file(ctx.writable(), model, env, file)
    if as_json:
        emit_json(result.as_dict())
        return
    click.echo(f"joined {result.joined:,} of {result.rows:,} labels to {result.model} predictions in "
               f"{result.environment} ({result.windows} window(s)); {result.unmatched:,} matched no pending prediction")
    outside = result.outside_check_windows
    if outside.get("older_than_performance_window"):
        click.echo(visible(f"{outside['older_than_performance_window']:,} of them are for predictions older than the "
                           f"performance window ({outside['performance_window']}): `fuseboard check` does not read "
                           f"them; `fuseboard report {result.model} --env {result.environment} --from "
                           f"{outside['oldest_window'][:10]}` shows them"))


@click.command("check")
@click.option("--no-probe", is_flag=True, help="Skip the HTTP probes of the endpoints.")
@click.option("--at", "at", metavar="TIME",
              help="The verdicts as they would have been at TIME, from the stored windows: ISO 8601 (UTC unless a "
              "zone is given) or an age like 2h. Read-only: no probe (health as recorded then), no alert, nothing "
              "recorded.")
@json_option
@pass_ctx
def check_cmd(ctx: Context, no_probe: bool, at: str | None, as_json: bool) -> None:
    """Run every check once on every deployment; exit 3 if anything is critical.

    Checks: data drift (per feature; the method chosen by type and size unless set), multivariate
    drift (PCA reconstruction error), prediction drift, performance estimated without labels (CBPE,
    DLE) and against the validation baseline once labels exist, data quality, staleness (retrain-by
    date) and health (HTTP probe of the endpoint). For cron and CI. Each deployment gets a triage
    verdict first: harmful, watch or ok, with its reasons. The JSON lists each deployment with its
    checks and `triage`; drift has one object per feature with feature, method, score, threshold, drifted.
    Each summary names the window it read; `windows` in the JSON gives each window's bounds.
    With --at, the checks read the windows before that time and write nothing.
    """
    if at is not None:
        from fuseboard.cli.report import utc_moment
        from fuseboard.ops.report import checks_at

        when = utc_moment(at, "--at")
        results = checks_at(ctx.readable(), when)
    else:
        from fuseboard.monitoring.checks import run_checks

        results = run_checks(ctx.readable(), probe_endpoints=not no_probe)
    if as_json:
        emit_json([r.as_dict() for r in results])
    else:
        if at is not None:
            click.echo(f"as at {when:%Y-%m-%d %H:%M} UTC, from the stored windows (read-only; health as recorded)")
        for r in results:
            waiting = [c.check for c in r.checks if c.status == "none"]
            note = f"  (no verdict yet: {', '.join(waiting)})" if waiting else ""
            click.echo(visible(f"{glyph(r.status)} {r.status:<5} {r.model} v{r.version} in {r.environment}{note}"))
            if r.triage and r.triage["verdict"] != "ok":  # is the drift hurting the model: first, with its reasons
                click.echo(visible(f"    triage {r.triage['verdict']}: {'; '.join(r.triage['reasons'])}"))
            for c in r.checks:
                if c.status not in ("ok", "none"):
                    click.echo(visible(f"    {glyph(c.status)} {c.check}: {c.summary}"))
        if not results:
            click.echo("no deployments to check")
    if any(r.status == "crit" for r in results):
        sys.exit(3)


@click.command("monitor")
@click.option("--health-every", default=30, show_default=True, type=Whole(5, 86400), help="Seconds.")
@click.option("--drift-every", default=300, show_default=True, type=Whole(10, 86400), help="Seconds.")
@click.option("--performance-every", default=300, show_default=True, type=Whole(10, 86400), help="Seconds.")
@click.option("--lease-ttl", default=60, show_default=True, type=Whole(3, 86400),
              help="Seconds a silent monitor keeps its leases before the others take its shards over.")
@click.option("--metrics-port", type=Whole(1, 65535), default=None,
              help="Serve Prometheus metrics on this port (/metrics).")
@click.option("--metrics-host", default="127.0.0.1", show_default=True,
              help="The address the metrics listen on (0.0.0.0: every interface).")
@json_option
@pass_ctx
def monitor_cmd(ctx: Context, health_every: int, drift_every: int, performance_every: int, lease_ttl: int,
                metrics_port: int | None, metrics_host: str, as_json: bool) -> None:
    """Run the monitoring loop headless until stopped (SIGINT/SIGTERM), e.g. under systemd.

    Monitors on several hosts share the checks: each holds an equal part of the deployments' 64
    shards (leases in the database) and checks them, spread over each interval; when one stops or
    dies, the others take its shards over once its leases expire (--lease-ttl). One of them leads:
    it sends notifications, compacts windows and writes audit checkpoints. With --json, each cycle
    is one JSON object on a line of its own.
    """
    import signal
    import threading

    from datetime import datetime, timezone

    from fuseboard.monitoring.scheduler import CycleSummary, Intervals, Monitor
    from fuseboard.monitoring.shards import SHARDS

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    import logging

    from fuseboard.text import log_handler

    if not logging.getLogger("fuseboard").handlers:  # warnings to stderr as before, controls made visible
        logging.getLogger("fuseboard").addHandler(log_handler())

    def report(summary: CycleSummary) -> None:
        if as_json:
            import json

            click.echo(json.dumps({
                "kind": summary.kind, "outcome": str(summary.outcome), "deployments": summary.deployments,
                "shards": list(summary.shards), "alerts_changed": summary.alerts_changed, "worst": str(summary.worst),
                "error": summary.error, "holder": monitor.holder,
                "at": (summary.due_at or datetime.now(timezone.utc)).isoformat(),
                "checkpoint": None if summary.checkpoint is None else {"id": summary.checkpoint.id,
                                                                       "hash": summary.checkpoint.hash}}))
        elif summary.checkpoint is not None:
            click.echo(f"audit checkpoint: event {summary.checkpoint.id} {summary.checkpoint.hash}")  # (numbers, hex)
        elif summary.failed:
            click.echo(visible(f"{summary.kind}: cycle failed: {summary.error}"), err=True)
        else:
            click.echo(f"{summary.kind}: {summary.deployments} deployments ({len(summary.shards)} shards), "
                       f"worst {summary.worst}, {summary.alerts_changed} alert change(s)")
        sys.stdout.flush()

    from fuseboard.ops import notify

    config = ctx.load_config()
    receivers = notify.receivers(config)
    ws = ctx.writable()
    monitor = Monitor(ws, Intervals(health_every, drift_every, performance_every, lease_ttl),
                      on_cycle=report, receivers=receivers, housekeeping=notify.housekeeping())
    server = None
    if metrics_port is not None:
        from fuseboard.monitoring import exporter

        try:
            server = exporter.serve(ws, metrics_port, host=metrics_host, monitor=monitor)
        except OSError as exc:
            raise FuseboardError(f"--metrics-port {metrics_port}: cannot listen on {metrics_host}:{metrics_port} "
                                 f"({exc.strerror or exc})", field="metrics_port") from None
    monitor.start()
    others = len([m for m in monitor.members if m != monitor.holder])
    click.echo(visible(f"monitoring {ctx.url} as {monitor.holder}: {len(monitor.shards)} of {SHARDS} shards") +
               (f", shared with {others} other monitor(s)" if others else "") +
               ("" if monitor.leading else "; another process leads (notifications, retention)"), err=True)
    for r in receivers:
        problem = r.problem()
        click.echo(visible(f"receiver {r.name} ({r.kind})" + (f": {problem}; its events wait" if problem else "")),
                   err=True)
    if server is not None:
        click.echo(f"metrics on http://{metrics_host}:{metrics_port}/metrics", err=True)
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        monitor.stop()
        if server is not None:
            server.close()
        click.echo("monitor stopped", err=True)


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    out = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise FuseboardError(f"{option} takes NAME=VALUE, not {item!r}")
        out[name] = value
    return out


@click.group("monitoring")
def monitoring_cmd() -> None:
    """How each model is monitored: show and change its settings."""


@monitoring_cmd.command("show")
@click.argument("model")
@json_option
@click.pass_context
def monitoring_show(click_ctx: click.Context, model: str, as_json: bool) -> None:
    """Show how MODEL is monitored: drift method and threshold per feature, key features, tolerances."""
    from dataclasses import asdict

    from fuseboard.monitoring.intervals import MIN_ROWS
    from fuseboard.monitoring.settings import policy_for
    from fuseboard.monitoring.tolerance import resolve
    from fuseboard.ops.views import model_settings

    ws = click_ctx.obj.readable()
    m = model_settings(ws, model)
    policy = policy_for(m.monitoring)
    from fuseboard.monitoring.alerts import flap_period
    from fuseboard.ops.escalation import escalate_after

    shown = {"model": m.name, "settings": m.monitoring, "effective": {
        **{k: v for k, v in asdict(policy).items() if k not in ("drift_window", "performance_window")},
        "tolerances": {k: {"kind": t.kind, "warn": t.warn, "crit": t.crit, "text": t.text()}
                       for k, t in resolve(policy.tolerances, m.criticality).items()},
        "drift_window_minutes": int(policy.drift_window.total_seconds() // 60),
        "performance_window_hours": int(policy.performance_window.total_seconds() // 3600),
        "flap_period_minutes": int(flap_period(m.monitoring).total_seconds() // 60),
        "escalate_after_minutes": escalate_after(m.criticality, m.monitoring),
        "runbook": str((m.monitoring or {}).get("runbook", ""))}}
    if as_json:
        emit_json(shown)
        return
    eff = shown["effective"]
    default = eff["default_method"]
    click.echo(visible(f"{m.name}: drift over the last {eff['drift_window_minutes']} min, default method {default}; "
                       f"dataset drift at {eff['drift_share']:.0%} of features; drift in features carrying under "
                       f"{eff['importance_floor']:.0%} of the importance at most warn"))
    if default == "auto":
        click.echo("  auto: per feature and window, a test up to 1,000 values, a distance above")
    for feature, method in sorted(eff["methods"].items()):
        click.echo(visible(f"  {feature}: {method}") + (f" (threshold {eff['thresholds'][feature]:g})"
                                                        if feature in eff["thresholds"] else ""))
    for feature, value in sorted(eff["thresholds"].items()):
        if feature not in eff["methods"]:
            click.echo(visible(f"  {feature}: {default} (threshold {value:g})"))
    if eff["key_features"]:
        click.echo(visible(f"  key features: {', '.join(eff['key_features'])}"))
    for metric, tol in eff["tolerances"].items():
        click.echo(f"  performance: {metric} {tol['text']}")
    click.echo(f"  performance verdict from {eff['min_labelled']} labels" + (
        f" (from {MIN_ROWS}: on the 95% interval)" if eff["min_labelled"] > MIN_ROWS else ""))
    click.echo(f"  health: GET {visible(eff['probe_path'])} within {eff['probe_timeout']:g}s, expecting "
               f"{eff['expected_status']}; outage after {eff['failures_to_alert']} failures")
    flap = eff["flap_period_minutes"]
    click.echo(f"  alerts: a check firing again within {flap} min of recovering reopens its alert" if flap
               else "  alerts: a check firing again after recovering opens a new alert (no flap period)")
    wait = eff["escalate_after_minutes"]
    click.echo(f"  escalation: a crit alert unacknowledged for {wait} min goes to the next person on call" if wait
               else "  escalation: none")
    lines = eff["runbook"].replace("\r\n", "\n").split("\n") if eff["runbook"] else []
    click.echo(f"  runbook: {visible(lines[0])}" if lines else
               f"  runbook: none (fuseboard monitoring set {m.name} --runbook URL)")
    for line in lines[1:]:
        click.echo(f"           {visible(line)}")


@monitoring_cmd.command("set")
@click.argument("model")
@click.option("--method", "methods", multiple=True, metavar="FEATURE=METHOD",
              help="Drift method for a feature: psi, ks, wasserstein, chisquare, jensenshannon, ztest or auto.")
@click.option("--default-method", metavar="METHOD",
              help="Drift method of the features without their own: auto (new models), psi (older ones), or any above.")
@click.option("--threshold", "thresholds", multiple=True, metavar="FEATURE=VALUE", help="Drift threshold for a feature.")
@click.option("--key", "keys", multiple=True, metavar="FEATURE", help="A key feature: its drift alone raises the alert.")
@click.option("--drift-share", type=float, help="Share of drifted features that makes dataset drift (default 0.5).")
@click.option("--importance-floor", type=float,
              help="Drift only in features carrying less than this share of the model's importance is at most a "
                   "warning, whatever the tier, and triaged as watch; at or past it, harmful (default 0.25; 0 "
                   "turns the cap off).")
@click.option("--tolerance", "tolerances", multiple=True, metavar="METRIC=warn:A,crit:B",
              help="Performance levels, e.g. rmse=warn:10%,crit:50% or roc_auc=warn:0.02,crit:0.05 (a drop); "
              "the older roc_auc=abs:0.05 still works.")
@click.option("--gate", "gate_values", multiple=True, metavar="METRIC=VALUE",
              help="Promotion gate on a validation metric, e.g. roc_auc=0.8 (a minimum; for rmse/mae a maximum).")
@click.option("--drift-window-minutes", type=Whole(5, 43200))
@click.option("--min-rows", type=Whole(1), help="Rows needed before a drift verdict (default 100).")
@click.option("--min-labelled", type=Whole(1), help="Labels needed before a performance verdict (200).")
@click.option("--probe-path", help="Health path on the endpoint (default /health).")
@click.option("--failures-to-alert", type=Whole(1, 1000), help="Failed probes in a row before an outage (3).")
@click.option("--runbook", help="What to do when it alerts: a URL or text (at most 2,000 characters; \"\" removes it).")
@click.option("--flap-period", help="A check that fires again this soon after recovering reopens its alert "
              "(default 30m; 0: never).")
@click.option("--escalate-after", help="A critical alert nobody acknowledges this long goes to the next person on "
              "call (mission-critical 15m, internal never; 0: never).")
@click.option("--reset", is_flag=True, help="Forget every setting first (back to what a newly registered model starts with).")
@reason_option
@yes_option
@pass_ctx
def monitoring_set(ctx: Context, model: str, methods: tuple[str, ...], thresholds: tuple[str, ...],
                   keys: tuple[str, ...], drift_share: float | None, importance_floor: float | None,
                   tolerances: tuple[str, ...],
                   default_method: str | None,
                   gate_values: tuple[str, ...],
                   drift_window_minutes: int | None, min_rows: int | None, min_labelled: int | None,
                   probe_path: str | None, failures_to_alert: int | None, runbook: str | None, flap_period: str | None,
                   escalate_after: str | None, reset: bool, reason: str, yes: bool) -> None:
    """Change how MODEL is monitored (validated against its features; audited)."""
    from fuseboard.monitoring.alerts import parse_flap_period
    from fuseboard.monitoring.settings import preview, update

    tol = _pairs(tolerances, "--tolerance")  # parsed by the core: warn:10%,crit:50% or the older KIND:AMOUNT
    changes: SettingsChanges = {
        "methods": _pairs(methods, "--method"), "default_method": default_method,
        "thresholds": _pairs(thresholds, "--threshold"),
        "key_features": list(keys), "tolerances": tol, "drift_share": drift_share,
        "importance_floor": importance_floor,
        "gates": _pairs(gate_values, "--gate"),
        "drift_window_minutes": drift_window_minutes, "min_rows": min_rows, "min_labelled": min_labelled,
        "probe_path": probe_path, "failures_to_alert": failures_to_alert, "runbook": runbook,
        "flap_period_minutes": parse_flap_period(flap_period) if flap_period is not None else None,
        "escalate_after_minutes": parse_flap_period(escalate_after, "escalate_after")
        if escalate_after is not None else None}
    ws = ctx.writable()
    protected = preview(ws, model, changes)  # checked before asking
    if protected:  # prod's alerts and gates follow these settings
        confirm(f"change how {model} is monitored{' (back to the defaults)' if reset else ''} where it serves in "
                f"{', '.join(protected)} (protected)", yes)
    merged = update(ws, model, changes, actor=actor(), origin="cli", reason=reason, reset=reset)
    click.echo(f"monitoring settings of {model}: "
               + (visible(json.dumps(merged, sort_keys=True, ensure_ascii=False)) if merged else "the defaults")
               + (" (the defaults a newly registered model starts with)" if reset else ""))
