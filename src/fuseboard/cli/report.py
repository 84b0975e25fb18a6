"""``report``: a deployment's checks period by period from its stored windows; and the times that it and
``check --at`` read (UTC unless a zone is given)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import click

from fuseboard.cli.base import Context, emit_json, glyph, json_option, pass_ctx
from fuseboard.text import visible

if TYPE_CHECKING:  # pragma: no cover
    from fuseboard.monitoring.replay import DeploymentHistory, PeriodChecks

COLUMNS = (("drift", "drift"), ("multivariate_drift", "mv"), ("prediction_drift", "preds"),
           ("estimated_performance", "est"), ("performance", "perf"), ("quality", "quality"))


def utc_moment(text: str, option: str) -> datetime:
    """ISO 8601 date or time, UTC unless it names a zone (``2026-03-01``, ``2026-03-01T14:00``,
    ``2026-03-01T15:00+01:00``), or an age such as ``2h`` or ``30d`` ago; one error line otherwise."""
    from fuseboard.inputs import when

    value = (text or "").strip()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is not None and parsed.tzinfo is None:
        value = parsed.replace(tzinfo=timezone.utc).isoformat()
    return when(value, option)


def period_length(text: str) -> timedelta:
    """``--every``: a duration such as ``1h``, ``1d`` or ``1w`` (whole five-minute windows)."""
    from fuseboard.inputs import duration

    return duration(text, "--every", minimum=timedelta(minutes=5), maximum=timedelta(days=366))


@click.command("report")
@click.argument("model")
@click.option("--env", "env", required=True, help="The environment.")
@click.option("--from", "start", required=True,
              help="First period's start: ISO 8601 date or time (UTC unless a zone is given) or an age like 30d.")
@click.option("--to", "end", help="Last period's end (default: now); the last period stops there.")
@click.option("--every", default="1d", show_default=True, help="Period length: 1h, 1d, 1w (any whole 5m).")
@click.option("--wide", is_flag=True, help="Print each row whole instead of fitting 80 columns.")
@json_option
@pass_ctx
def report_cmd(ctx: Context, model: str, env: str, start: str, end: str | None, every: str, wide: bool,
               as_json: bool) -> None:
    """MODEL's checks in ENV period by period, from the stored windows: drift, performance (estimated and measured), quality.

    One row per period (--every) from --from to --to: each check's verdict over the windows that
    start in the period, the drifted features with their scores, and performance with its labelled
    rows. Read-only: nothing is recorded, no alert opens. Backfill past traffic with timestamps
    (`fuseboard ingest`), then report it to evaluate a model on it. The JSON has the periods with
    the same checks as `check --json`.
    """
    from fuseboard.ops.report import report

    now = datetime.now(timezone.utc)
    begin = utc_moment(start, "--from")
    finish = utc_moment(end, "--to") if end is not None else now
    history = report(ctx.readable(), model, env, begin, finish, period_length(every))
    if as_json:
        emit_json(history.as_dict())
        return
    _print(history, wide)


def _label(at: str, daily: bool, years: bool) -> str:
    """A period's start as the table shows it: ``02-15`` (``2026-02-15`` when the range spans years) for
    whole days, ``02-15 13:00`` otherwise; UTC, as the title says."""
    moment = datetime.fromisoformat(at).astimezone(timezone.utc)
    if daily:
        return f"{moment:%Y-%m-%d}" if years else f"{moment:%m-%d}"
    return f"{moment:%Y-%m-%d %H:%M}" if years else f"{moment:%m-%d %H:%M}"


def _findings(period: PeriodChecks, deployed: int) -> str:
    """The drifted features with their scores and the performance (``n``: labelled rows), as one line."""
    if not period.rows:
        return "no rows"
    parts = [f"v{period.version}"] if period.version != deployed else []
    by_check = {c.check: c for c in period.checks}
    drift = by_check.get("drift")
    if drift is not None and drift.status not in ("none", "error"):
        parts.extend(f"{f['feature']} {f['method']} {f['score']:.3g}"
                     for f in drift.details.get("features", []) if f.get("drifted"))
    perf = by_check.get("performance")
    if perf is not None:
        metrics: list[dict[str, Any]] = perf.details.get("checks", []) if perf.status not in ("none", "error") else []
        shown = [m for m in metrics if m.get("degraded")] or metrics[:1]
        said = [f"{m['metric']} {m['current']:.3f}" + (f" vs {m['baseline']:.3f}" if m.get("degraded") else "")
                for m in shown]
        parts.append(f"{', '.join(said)} (n={perf.rows:,})" if said else f"n={perf.rows:,} labelled")
    est = by_check.get("estimated_performance")
    if est is not None and est.status not in ("none", "error"):
        graded: list[dict[str, Any]] = est.details.get("checks", [])
        shown = [m for m in graded if m.get("degraded")] or graded[:1]
        parts.extend(f"est {m['metric']} {m['current']:.3f}" + (f" vs {m['baseline']:.3f}" if m.get("degraded") else "")
                     for m in shown)
    if period.unread_rows:
        parts.append(f"{period.unread_rows:,} rows of another version not read")
    return "; ".join(parts)


def _print(history: DeploymentHistory, wide: bool) -> None:
    from fuseboard.cli.table import Column, echo_table

    begin, end = (datetime.fromisoformat(x).astimezone(timezone.utc) for x in (history.start, history.end))
    daily = all(datetime.fromisoformat(p.start).astimezone(timezone.utc).time() == datetime.min.time()
                for p in history.periods) and history.every[-1] in "dw"
    years = begin.year != (end - timedelta(microseconds=1)).year
    rows = []
    for p in history.periods:
        by_check = {c.check: c.status for c in p.checks}
        rows.append([_label(p.start, daily, years) + ("" if p.span == history.every else f" ({p.span})"),
                     f"{p.rows:,}", *[f"{glyph(by_check[c])} {by_check[c]}" if c in by_check else "-"
                                      for c, _ in COLUMNS], _findings(p, history.version)])
    click.echo(visible(f"{history.model} v{history.version} in {history.environment}"))
    title = f"every {history.every} from {begin:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC (read-only)"
    echo_table([Column("period"), Column("rows", right=True), *[Column(h) for _, h in COLUMNS],
                Column("drifted, performance")], rows, wide=wide, title=title, long_min=40)
    empty = sum(1 for p in history.periods if not p.rows)
    if empty:
        click.echo(f"{empty} of {len(history.periods)} periods have no rows")
    breached = [p for p in history.periods if p.status in ("warn", "crit", "error")]
    if breached:
        first = breached[0]
        which = ", ".join(c.check for c in first.checks if c.status in ("warn", "crit", "error"))
        click.echo(f"{len(breached)} of {len(history.periods)} periods breached, the first {_label(first.start, daily, years)} "
                   f"({which})")
