"""The ``fuseboard`` command line.

Global options come before the command (``fuseboard --db URL models``).
Every listing takes ``--json``; every change takes ``--reason`` and ``--yes``.
Errors are one line on stderr and a non-zero exit (``--debug`` for a traceback).

Heavy modules (SQLModel, scikit-learn, Textual) are imported inside the
commands that need them, so ``--help`` and the console start fast.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import click

from fuseboard import __version__
from fuseboard.cli.params import ID, Whole
from fuseboard.errors import FuseboardError
from fuseboard.text import cells, markup_safe, visible


@dataclass
class Context:
    db: str | None
    read_only: bool
    theme: str | None
    debug: bool
    config: Any = None
    _ws: Any = None

    def load_config(self) -> Any:
        if self.config is None:
            from fuseboard.config import Config

            self.config = Config.load()
            self.read_only = self.read_only or self.config.read_only  # read_only = true in config.toml
        return self.config

    @property
    def url(self) -> str:
        from fuseboard.config import resolve_db_url

        return resolve_db_url(self.db, self.load_config())

    @property
    def named_by(self) -> str:
        """Where the workspace URL came from, as an error line names it."""
        import os

        if self.db:
            return "--db"
        if os.environ.get("FUSEBOARD_DB"):
            return "FUSEBOARD_DB"
        return "config db" if self.load_config().db else "the default workspace"

    def workspace(self, *, create: bool = False) -> Any:
        self.load_config()
        if self._ws is None:
            from fuseboard.ops.connect import open_workspace

            cfg = self.load_config()
            self._ws = open_workspace(self.url, artifact_dir=cfg.artifacts, create=create, read_only=self.read_only,
                                      group=cfg.group, named_by=self.named_by,
                                      audit_anchor=cfg.audit_anchor)
            if self._ws.created:  # said, so that a mistyped --db is seen at once
                click.echo(visible(f"created a new workspace at {self._ws.where}"), err=True)
        return self._ws

    def readable(self) -> Any:
        """The workspace for a command that only reads; a workspace that cannot be written is said so."""
        ws = self.workspace()
        if ws.degraded:
            saved = "; showing it as last saved" if ws.saved_copy else ""
            click.echo(visible(f"warning: read-only: {ws.degraded}{saved} ({ws.where})"), err=True)
        return ws

    def writable(self, *, create: bool = False) -> Any:
        """The workspace for a change; only commands that create one (register) pass ``create``."""
        self.load_config()
        if self.read_only:
            raise FuseboardError("this command changes the workspace; it is not allowed with --read-only")
        ws = self.workspace(create=create)
        if ws.degraded:
            from fuseboard.errors import WorkspaceUnwritable

            raise WorkspaceUnwritable(ws.degraded, ws.where)
        return ws


# Core fields whose flag is not simply --field-with-dashes.
FLAG_FOR_FIELD = {"duration": "--for", "db": "--db / FUSEBOARD_DB / config db"}


def with_flag(exc: FuseboardError) -> str:
    """The error's message naming the flag for the field at fault: the core names fields
    (``field="env"``), the command line speaks flags (``(--env)``)."""
    text = str(exc)
    field = getattr(exc, "field", None)
    if not field:
        return text
    flag = FLAG_FOR_FIELD.get(field) or f"--{field.replace('_', '-')}"
    return text if flag in text else f"{text} ({flag})"


class FuseboardGroup(click.Group):
    """Turns FuseboardError (and, without --debug, any crash) into one error line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
            _anchor_warning(ctx)
            return result
        except FuseboardError as exc:
            _anchor_warning(ctx)
            click.echo(visible(f"error: {with_flag(exc)}"), err=True)
            sys.exit(exc.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:  # `fuseboard ... | head`: the reader left; stop quietly
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(141)
        except Exception as exc:  # noqa: BLE001
            obj = ctx.obj
            if obj is not None and getattr(obj, "debug", False):
                raise
            ws = getattr(obj, "_ws", None)
            if ws is not None:  # damaged pages show up at the first query that reads them, in any command
                from fuseboard.ops.connect import damaged

                found = damaged(exc, ws.where)
                if found is not None:
                    click.echo(visible(f"error: {found}"), err=True)
                    sys.exit(found.exit_code)
            first = (str(exc).strip().splitlines() or [""])[0][:300]
            click.echo(visible(f"error: unexpected {type(exc).__name__}: {first} (run with --debug for details)"),
                       err=True)
            sys.exit(1)


def _anchor_warning(ctx: click.Context) -> None:
    """A change went into the database but its audit checkpoint could not be written: say so."""
    ws = getattr(ctx.obj, "_ws", None)
    if ws is not None and ws.anchor_problem:
        click.echo(visible(f"warning: {ws.anchor_problem}"), err=True)


def emit_json(value: Any) -> None:
    def default(obj: Any) -> Any:
        if isinstance(obj, (date,)):
            return obj.isoformat()
        if isinstance(obj, Path):
            return str(obj)
        raise TypeError(type(obj).__name__)

    click.echo(json.dumps(value, indent=2, default=default))


def console() -> Any:
    from rich.console import Console

    return Console()


def confirm(question: str, yes: bool) -> None:
    """Ask before a change; ``--yes`` skips it; no terminal and no ``--yes`` is an error."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise FuseboardError(f"{question} needs confirmation: pass --yes")
    if not click.confirm(visible(question), default=False):
        raise FuseboardError("cancelled; nothing changed")


def launch_console(ctx: Context, url: str, *, workspace_label: str | None = None, live_demo: bool = False) -> None:
    from fuseboard.tui.app import run

    config = ctx.load_config()
    services, intervals = None, None
    if live_demo and not ctx.read_only:
        from fuseboard.monitoring.scheduler import Intervals

        def demo_live(ws: Any) -> Any:
            from fuseboard.ops.demo_live import DemoLive

            return DemoLive(ws)

        services = [demo_live]
        intervals = Intervals(health=5, drift=15, performance=15)  # see the scenarios within a minute
    run(url=url, config=config, read_only=ctx.read_only, theme=ctx.theme,
        workspace_label=workspace_label, monitor_intervals=intervals, services=services)


pass_ctx = click.make_pass_decorator(Context)
json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of a table.")
reason_option = click.option("--reason", default="", help="Why; recorded in the audit trail.")
yes_option = click.option("--yes", is_flag=True, help="Do not ask for confirmation.")


@click.group(cls=FuseboardGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", metavar="URL", help="Workspace database (any SQLAlchemy URL). "
              "Default: $FUSEBOARD_DB, else `db` in config.toml, else $XDG_DATA_HOME/fuseboard/fuseboard.db.")
@click.option("--read-only", is_flag=True, help="Open the workspace without changing it; change commands are refused.")
@click.option("--theme", metavar="NAME", help="Console theme (fuseboard-dark, fuseboard-light, fuseboard-high-contrast, "
              "or one of yours in $XDG_CONFIG_HOME/fuseboard/themes/).")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(__version__, prog_name="fuseboard")
@click.pass_context
def cli(click_ctx: click.Context, db: str | None, read_only: bool, theme: str | None, debug: bool) -> None:
    """fuseboard: operate machine-learning models in production from the terminal.

    With no command, opens the console on your workspace. Try `fuseboard demo`
    for a ready-made workspace with real models.
    """
    click_ctx.obj = Context(db=db, read_only=read_only, theme=theme, debug=debug)
    if click_ctx.invoked_subcommand is None:
        ctx = click_ctx.obj
        if ctx.named_by != "the default workspace":  # a mistyped --db opens no new, empty console
            _require_sqlite_file(ctx)
        launch_console(ctx, ctx.url)


def _require_sqlite_file(ctx: Context) -> None:
    """Refuse a named SQLite workspace file that does not exist (without importing SQLAlchemy: the
    console paints before that import)."""
    from urllib.parse import unquote

    url = ctx.url
    if not url.startswith("sqlite:///"):
        return
    name = unquote(url[len("sqlite:///"):].split("?", 1)[0])
    if name and name != ":memory:" and not name.startswith("file:") and not Path(name).expanduser().exists():
        raise FuseboardError(f"no workspace at {Path(name).expanduser().absolute()} ({ctx.named_by}); create one "
                             "with fuseboard register ... or fuseboard demo")


@cli.command()
@click.option("--path", type=click.Path(path_type=Path), help="Where to build it (default: $XDG_DATA_HOME/fuseboard/demo).")
@click.option("--no-tui", is_flag=True, help="Build the demo and print where it is instead of opening the console.")
@click.option("--reset", is_flag=True, help="Throw away an existing demo workspace and build it again.")
@pass_ctx
def demo(ctx: Context, path: Path | None, no_tui: bool, reset: bool) -> None:
    """Build the demo workspace (5 real models, teams, deployments) and open it, live.

    The demo lives in its own folder and never touches your workspace; an existing demo is reused
    unless --reset. While the console is open, sample endpoints on 127.0.0.1 serve the deployed
    versions and a traffic generator feeds rows and delayed labels: within a minute credit-risk
    drifts in prod, demand-forecast's prod endpoint turns flaky and churn-propensity performs
    worse than its baseline. All of it stops when the console quits.
    """
    if ctx.db:
        raise FuseboardError("the demo builds its own workspace; use --path instead of --db")
    from fuseboard.ops import demo as demo_ops

    target = (path or demo_ops.default_path()).expanduser().resolve()
    ctx.load_config()
    fresh = reset or not (target / demo_ops.DB_NAME).exists()
    if ctx.read_only and fresh:
        raise FuseboardError(f"--read-only: no demo to open at {target}; build it once without --read-only")
    if target.exists() and not target.is_dir():
        raise FuseboardError(f"--path must be a folder, and {target} is a file")
    if ctx.read_only:
        launch_console(ctx, demo_ops.demo_url(target), workspace_label="demo")
        return
    if fresh:
        click.echo(f"building the demo workspace in {target} ...", err=True)
    built = demo_ops.build_demo(target, reset=reset)
    url = demo_ops.demo_url(built)
    if no_tui:
        click.echo(f"demo workspace: {built / demo_ops.DB_NAME}")
        click.echo(f"open it with:   fuseboard --db {url}")
        return
    launch_console(ctx, url, workspace_label="demo", live_demo=True)


def _feature_kinds(values: tuple[str, ...]) -> dict[str, str]:
    kinds = {}
    for item in values:
        name, sep, kind = item.partition("=")
        if not sep or not name:
            raise FuseboardError(f"--feature takes NAME=numeric or NAME=categorical, not {item!r}")
        kinds[name] = kind
    return kinds


@cli.command()
@click.argument("model")
@click.option("--artifact", required=True, type=click.Path(path_type=Path),
              help="The fitted estimator saved with joblib.dump. Loading it RUNS CODE from the file: trusted files only.")
@click.option("--reference", required=True, type=click.Path(path_type=Path),
              help="CSV of reference data: the feature columns and the target.")
@click.option("--target", required=True, help="The target column in the CSV files.")
@click.option("--validation", type=click.Path(path_type=Path),
              help="CSV to measure the metrics on (default: the reference data).")
@click.option("--task", type=click.Choice(["classification", "regression"]), help="Default: from the estimator.")
@click.option("--criticality", type=click.Choice(["mission-critical", "internal"]), help="Default for a new model: internal.")
@click.option("--owner", metavar="TEAM", help="Team that operates the model.")
@click.option("--builder", metavar="TEAM", help="Team that built the model.")
@click.option("--description", help="What the model is for.")
@click.option("--retrain-by", type=click.DateTime(formats=["%Y-%m-%d"]), help="Date (YYYY-MM-DD) it must be retrained by.")
@click.option("--feature", "features", multiple=True, metavar="NAME=KIND",
              help="Override an inferred feature type (numeric or categorical); repeatable.")
@click.option("--note", default="", help="A note kept with the version.")
@click.option("--runbook", help="What to do when it alerts: a URL or text (the model's; see `monitoring set`).")
@reason_option
@yes_option
@json_option
@pass_ctx
def register(ctx: Context, model: str, artifact: Path, reference: Path, target: str, validation: Path | None,
             task: str | None, criticality: str | None, owner: str | None, builder: str | None,
             description: str | None, retrain_by: Any, features: tuple[str, ...], note: str, runbook: str | None,
             reason: str, yes: bool, as_json: bool) -> None:
    """Register a new version of MODEL from a scikit-learn artifact.

    Loads the estimator with joblib (this runs code from the file: only
    register artifacts you trust), checks it predicts the reference columns,
    computes validation metrics, profiles the reference data for drift checks,
    copies the artifact into the workspace by its sha256 and records version
    N+1. Nothing is written if any check fails.
    """
    from fuseboard.ops import registry
    from fuseboard.ops.audit import current_actor

    if ctx.read_only:
        ctx.writable()  # refuses with the read-only error
    if runbook is not None:  # refused before anything is read or written
        from fuseboard.monitoring.settings import validate

        validate({"runbook": runbook}, {})
    prepared = registry.prepare(  # every check on the files runs before the workspace is opened
        registry.RegisterRequest(
            model=model, artifact=artifact, reference=reference, target=target, validation=validation, task=task,
            criticality=criticality, owner=owner, builder=builder, description=description,
            retrain_by=retrain_by.date() if retrain_by else None, feature_kinds=_feature_kinds(features),
            note=note, reason=reason))
    ws = ctx.writable(create=True)
    change = registry.protected_changes(ws, prepared)
    if change:  # the gates, typed confirmations and ownership policy of prod follow these
        confirm(f"register {model} and change {change}", yes)
    result = registry.commit(ws, prepared, actor=current_actor(), origin="cli")
    if runbook is not None:  # the model's monitoring settings, audited like `monitoring set --runbook`
        from fuseboard.monitoring.settings import update

        update(ws, model, {"runbook": runbook}, actor=current_actor(), origin="cli", reason=reason)
    if as_json:
        emit_json({**result.as_dict(), **({"runbook": runbook.strip()} if runbook is not None else {})})
        return
    made = "created model and registered" if result.created_model else "registered"
    metrics = ", ".join(f"{k} {v:.3f}" for k, v in result.metrics.items())
    click.echo(visible(f"{made} {result.model} v{result.version} ({result.estimator_class}, "
                       f"sha256 {result.sha256[:12]})"))
    click.echo(f"metrics on {result.metrics_on} data: {metrics}")
    for key, value in result.changed.items():
        click.echo(visible(f"changed {result.model} {key} to {value}"))


def _env_columns(ws: Any) -> list[str]:
    from fuseboard.ops.views import environments

    return [e.name for e in environments(ws)]


TASK_WORDS = {"classification": "class", "regression": "regr"}  # as the console says them
TIER_WORDS = {"mission-critical": "mission", "internal": "internal"}


@cli.group(invoke_without_command=True)
@click.option("--wide", is_flag=True, help="Full words and whole descriptions, however wide.")
@json_option
@click.pass_context
def models(click_ctx: click.Context, wide: bool, as_json: bool) -> None:
    """List models: health, task, tier, owner, latest version, the version in each environment, description."""
    if click_ctx.invoked_subcommand is not None:
        return
    from fuseboard.cli.table import Column, echo_table
    from fuseboard.ops.views import model_rows

    ctx: Context = click_ctx.obj
    ws = ctx.readable()
    rows = model_rows(ws)
    if as_json:
        emit_json([r.as_dict() for r in rows])
        return
    envs = _env_columns(ws)
    columns = [Column("health"), Column("model"), Column("task"), Column("tier"), Column("owner"),
               Column("latest", right=True), *[Column(e, right=True) for e in envs], Column("description")]
    table = [[f"{glyph(r.health)} {r.health}", r.name, r.task if wide else TASK_WORDS.get(r.task, r.task),
              r.criticality if wide else TIER_WORDS.get(r.criticality, r.criticality), r.owner or "-",
              f"v{r.latest_version}" if r.latest_version else "-",
              *[f"v{r.deployed[e]}" if e in r.deployed else "-" for e in envs], r.description]
             for r in rows]
    echo_table(columns, table, wide=wide, title=f"{len(rows)} models", long_min=12)


@models.command("show")
@click.argument("model")
@json_option
@pass_ctx
def models_show(ctx: Context, model: str, as_json: bool) -> None:
    """Show one model: versions with metrics, deployments and recent audit events."""
    from fuseboard.ops.views import model_detail

    detail = model_detail(ctx.readable(), model)
    if detail is None:
        raise FuseboardError(f"no model named {model!r} (see `fuseboard models`)")
    if as_json:
        emit_json(detail.as_dict())
        return
    from rich.table import Table

    from fuseboard.monitoring.metrics import SHOWN, format_metric

    out = console()
    out.print(f"[bold]{markup_safe(detail.name)}[/]  "
              + markup_safe(f"{detail.task} · {detail.criticality} · owner {detail.owner or '-'}"
                            f" · built by {detail.builder or '-'} · retrain by {detail.retrain_by or '-'}"))
    if detail.description:
        out.print(visible(detail.description), markup=False)
    names = SHOWN.get(detail.task, ())
    versions = Table(title="versions", title_justify="left")
    for col in ["ver", *names, "estimator", "registered by", "registered at"]:
        versions.add_column(col)
    for v in detail.versions:
        versions.add_row(*cells(f"v{v.version}", *[format_metric(v.metrics.get(n)) for n in names], v.estimator_class,
                                v.registered_by, v.registered_at.strftime("%Y-%m-%d %H:%M UTC")))
    out.print(versions)
    deps = Table(title="deployments", title_justify="left")
    for col in ["env", "version", "deployed by", "deployed at", "endpoint"]:
        deps.add_column(col)
    for d in detail.deployments:
        deps.add_row(*cells(d.environment + (" (protected)" if d.protected else ""), f"v{d.version}", d.deployed_by,
                            d.deployed_at.strftime("%Y-%m-%d %H:%M UTC"), d.endpoint_url or "-"))
    out.print(deps)
    events = Table(title="recent audit events", title_justify="left")
    for col in ["at", "actor", "action", "target", "reason"]:
        events.add_column(col)
    for e in detail.audit[:15]:
        events.add_row(*cells(e.at.strftime("%Y-%m-%d %H:%M"), e.actor, e.action, e.target, e.reason))
    out.print(events)


def _quality_lines(quality: dict[str, dict[str, Any]]) -> list[str]:
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


@cli.command("ingest")
@click.argument("model")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--env", "env", required=True, help="Environment the rows were served in.")
@json_option
@pass_ctx
def ingest_cmd(ctx: Context, model: str, file: Path, env: str, as_json: bool) -> None:
    """Fold a file of inference rows (CSV, Parquet or JSON Lines) into the monitoring windows.

    Columns: the model's features, `prediction`, and optionally `timestamp` (ISO 8601 or epoch
    seconds; default now), `score` (binary: probability of the positive class) or `score_<class>`
    per class, `request_id` (to join labels later) and `label`. The whole file is checked first;
    any error writes nothing. Nulls and unseen categories are reported, not refused.
    """
    from fuseboard.monitoring.ingest import ingest_file

    result = ingest_file(ctx.writable(), model, env, file)
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


@cli.command("ingest-labels")
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


def glyph(status: str) -> str:
    """The status glyph the console uses too (conventions.md)."""
    from fuseboard.tui.status import STATES

    return STATES.get(status, STATES["error"])[0]


@cli.command("check")
@click.option("--no-probe", is_flag=True, help="Skip the HTTP probes of the endpoints.")
@json_option
@pass_ctx
def check_cmd(ctx: Context, no_probe: bool, as_json: bool) -> None:
    """Run every check once on every deployment; exit 3 if anything is critical.

    Checks: data drift (PSI by default, per feature), prediction drift, performance against the
    validation baseline once labels exist, data quality, staleness (retrain-by date) and health
    (HTTP probe of the endpoint). For cron and CI. The JSON lists each deployment with its
    checks; drift has one object per feature with feature, method, score, threshold, drifted.
    """
    from fuseboard.monitoring.checks import run_checks

    results = run_checks(ctx.readable(), probe_endpoints=not no_probe)
    if as_json:
        emit_json([r.as_dict() for r in results])
    else:
        for r in results:
            waiting = [c.check for c in r.checks if c.status == "none"]
            note = f"  (no verdict yet: {', '.join(waiting)})" if waiting else ""
            click.echo(visible(f"{glyph(r.status)} {r.status:<5} {r.model} v{r.version} in {r.environment}{note}"))
            for c in r.checks:
                if c.status not in ("ok", "none"):
                    click.echo(visible(f"    {glyph(c.status)} {c.check}: {c.summary}"))
        if not results:
            click.echo("no deployments to check")
    if any(r.status == "crit" for r in results):
        sys.exit(3)


@cli.group("alerts", invoke_without_command=True)
@click.option("--all", "include_resolved", is_flag=True, help="Include resolved alerts.")
@click.option("--wide", is_flag=True, help="Whole summaries and who acted when, however wide.")
@json_option
@click.pass_context
def alerts_cmd(click_ctx: click.Context, include_resolved: bool, wide: bool, as_json: bool) -> None:
    """List open alerts (firing and acknowledged), worst first: who acknowledged or silenced them, how
    often they flapped; --json adds each model's owner, who is on call and its runbook."""
    if click_ctx.invoked_subcommand is not None:
        return
    from fuseboard.cli.incident import alert_who
    from fuseboard.cli.table import Column, echo_table, short_time
    from fuseboard.ops.incident import alert_views
    from fuseboard.clock import utcnow

    now = utcnow()
    views = alert_views(click_ctx.obj.readable(), include_resolved=include_resolved, now=now)
    if as_json:
        emit_json([v.as_dict() for v in views])
        return
    if not views:
        click.echo("no open alerts")
        return
    columns = [Column("id", right=True), Column("sev"), Column("deployment"), Column("check"), Column("since"),
               Column("flaps", right=True), Column("state"), Column("summary")]
    rows = [[str(v.id), f"{glyph(v.severity)} {v.severity}", f"{v.model}/{v.environment}", v.check,
             short_time(v.opened_at, now), f"×{v.flaps}" if v.flaps else "",
             "silenced" if v.silenced and v.state != "resolved" else "acked" if v.state == "acknowledged" else v.state,
             alert_who(v, now) + v.summary]
            for v in views]
    if not any(v.flaps for v in views):
        columns.pop(5)
        for row in rows:
            row.pop(5)
    echo_table(columns, rows, wide=wide, title=f"{len(views)} alert(s)")


@alerts_cmd.command("ack")
@click.argument("alert_id", type=ID)
@reason_option
@pass_ctx
def alerts_ack(ctx: Context, alert_id: int, reason: str) -> None:
    """Acknowledge an alert: you are on it."""
    from fuseboard.monitoring.alerts import acknowledge
    from fuseboard.ops.audit import current_actor

    alert = acknowledge(ctx.writable(), alert_id, actor=current_actor(), origin="cli", reason=reason)
    click.echo(visible(f"alert {alert.id} ({alert.fingerprint}) acknowledged by {alert.acknowledged_by}"))


@alerts_cmd.command("resolve")
@click.argument("alert_id", type=ID)
@click.option("--note", required=True, help="What was done; kept with the alert and audited.")
@yes_option
@pass_ctx
def alerts_resolve(ctx: Context, alert_id: int, note: str, yes: bool) -> None:
    """Resolve an alert by hand, with a note."""
    from fuseboard.monitoring.alerts import resolve
    from fuseboard.ops.audit import current_actor
    from fuseboard.ops.views import alert_brief

    ws = ctx.writable()
    found = alert_brief(ws, alert_id)
    if found is not None and found.state != "resolved" and note.strip():  # (else resolve() says why not)
        confirm(f"resolve alert {alert_id} ({found.fingerprint}, {found.severity}) by hand", yes)
    alert = resolve(ws, alert_id, actor=current_actor(), origin="cli", note=note)
    click.echo(visible(f"alert {alert.id} ({alert.fingerprint}) resolved by {alert.resolved_by}"))


@cli.command("silence")
@click.argument("model")
@click.option("--env", "env", required=True)
@click.option("--for", "duration", required=True, help="How long: 30m, 2h, 1d (at most 30d).")
@click.option("--comment", required=True, help="Why; shown with the silenced alerts and audited.")
@click.option("--check", type=click.Choice(["drift", "prediction_drift", "performance", "quality", "staleness",
                                             "health"]), help="Only this check (default: all).")
@yes_option
@pass_ctx
def silence_cmd(ctx: Context, model: str, env: str, duration: str, comment: str, check: str | None,
                yes: bool) -> None:
    """Silence a deployment's alerts for a while (they still open and resolve, muted)."""
    from fuseboard.monitoring.alerts import parse_duration, silence
    from fuseboard.ops.audit import current_actor
    from fuseboard.ops.views import serves_protected

    ws, length = ctx.writable(), parse_duration(duration)
    protected = serves_protected(ws, model, env)
    if protected and comment.strip():  # muting prod's alerts: asked (else silence() says why not)
        confirm(f"silence {check or 'all checks'} of {model} in {env} (protected) for {duration}", yes)
    item = silence(ws, model, env, length, comment=comment, actor=current_actor(), origin="cli", check=check)
    click.echo(f"silenced {check or 'all checks'} of {model} in {env} until "
               f"{item.ends_at.astimezone().strftime('%Y-%m-%d %H:%M %Z')}")


@cli.command("monitor")
@click.option("--health-every", default=30, show_default=True, type=Whole(5, 86400), help="Seconds.")
@click.option("--drift-every", default=300, show_default=True, type=Whole(10, 86400), help="Seconds.")
@click.option("--performance-every", default=300, show_default=True, type=Whole(10, 86400), help="Seconds.")
@click.option("--lease-ttl", default=60, show_default=True, type=Whole(3, 86400),
              help="Seconds a silent monitor keeps the lease before a standby takes over.")
@pass_ctx
def monitor_cmd(ctx: Context, health_every: int, drift_every: int, performance_every: int, lease_ttl: int) -> None:
    """Run the monitoring loop headless until stopped (SIGINT/SIGTERM), e.g. under systemd.

    Only one process at a time runs the checks (a lease in the database); start a second one on
    another host as a hot standby: it takes over within a minute when the first stops.
    """
    import signal
    import threading

    from fuseboard.monitoring.scheduler import CycleSummary, Intervals, Monitor

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    import logging

    from fuseboard.text import log_handler

    if not logging.getLogger("fuseboard").handlers:  # warnings to stderr as before, controls made visible
        logging.getLogger("fuseboard").addHandler(log_handler())

    def report(summary: CycleSummary) -> None:
        if summary.checkpoint is not None:
            click.echo(f"audit checkpoint: event {summary.checkpoint.id} {summary.checkpoint.hash}")  # (numbers, hex)
        elif summary.failed:
            click.echo(visible(f"{summary.kind}: cycle failed: {summary.error}"), err=True)
        else:
            click.echo(f"{summary.kind}: {summary.deployments} deployments, worst {summary.worst}, "
                       f"{summary.alerts_changed} alert change(s)")
        sys.stdout.flush()

    from fuseboard.config import webhook_token
    from fuseboard.monitoring.scheduler import webhook_notifier

    config = ctx.load_config()
    notify = webhook_notifier(config.webhook, token=webhook_token(config)) if config.webhook else None
    from fuseboard.ops.deploy import reconcile

    monitor = Monitor(ctx.writable(), Intervals(health_every, drift_every, performance_every, lease_ttl),
                      on_cycle=report, notify=notify, housekeeping=[reconcile])
    monitor.start()
    click.echo(visible(f"monitoring {ctx.url} as {monitor.holder}") + ("" if monitor.leading else
               " (standby: another process holds the lease)"), err=True)
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        monitor.stop()
        click.echo("monitor stopped", err=True)


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    out = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise FuseboardError(f"{option} takes NAME=VALUE, not {item!r}")
        out[name] = value
    return out


@cli.group("monitoring")
def monitoring_cmd() -> None:
    """How each model is monitored: show and change its settings."""


@monitoring_cmd.command("show")
@click.argument("model")
@json_option
@click.pass_context
def monitoring_show(click_ctx: click.Context, model: str, as_json: bool) -> None:
    """Show how MODEL is monitored: drift method and threshold per feature, key features, tolerances."""
    from dataclasses import asdict

    from fuseboard.monitoring.settings import policy_for
    from fuseboard.ops.views import model_settings

    ws = click_ctx.obj.readable()
    m = model_settings(ws, model)
    policy = policy_for(m.monitoring)
    from fuseboard.monitoring.alerts import flap_period

    shown = {"model": m.name, "settings": m.monitoring, "effective": {
        **{k: v for k, v in asdict(policy).items() if k not in ("drift_window", "performance_window")},
        "drift_window_minutes": int(policy.drift_window.total_seconds() // 60),
        "performance_window_hours": int(policy.performance_window.total_seconds() // 3600),
        "flap_period_minutes": int(flap_period(m.monitoring).total_seconds() // 60),
        "runbook": str((m.monitoring or {}).get("runbook", ""))}}
    if as_json:
        emit_json(shown)
        return
    eff = shown["effective"]
    click.echo(f"{m.name}: drift over the last {eff['drift_window_minutes']} min, default method psi; "
               f"dataset drift at {eff['drift_share']:.0%} of features")
    for feature, method in sorted(eff["methods"].items()):
        click.echo(visible(f"  {feature}: {method}") + (f" (threshold {eff['thresholds'][feature]:g})"
                                                        if feature in eff["thresholds"] else ""))
    for feature, value in sorted(eff["thresholds"].items()):
        if feature not in eff["methods"]:
            click.echo(visible(f"  {feature}: psi (threshold {value:g})"))
    if eff["key_features"]:
        click.echo(visible(f"  key features: {', '.join(eff['key_features'])}"))
    for metric, (kind, tol) in eff["tolerances"].items():
        click.echo(f"  performance: {metric} tolerance {tol:g} ({kind}); verdict from {eff['min_labelled']} labels")
    click.echo(f"  health: GET {visible(eff['probe_path'])} within {eff['probe_timeout']:g}s, expecting "
               f"{eff['expected_status']}; outage after {eff['failures_to_alert']} failures")
    flap = eff["flap_period_minutes"]
    click.echo(f"  alerts: a check firing again within {flap} min of recovering reopens its alert" if flap
               else "  alerts: a check firing again after recovering opens a new alert (no flap period)")
    lines = eff["runbook"].replace("\r\n", "\n").split("\n") if eff["runbook"] else []
    click.echo(f"  runbook: {visible(lines[0])}" if lines else
               f"  runbook: none (fuseboard monitoring set {m.name} --runbook URL)")
    for line in lines[1:]:
        click.echo(f"           {visible(line)}")


@monitoring_cmd.command("set")
@click.argument("model")
@click.option("--method", "methods", multiple=True, metavar="FEATURE=METHOD",
              help="Drift method for a feature: psi, ks, wasserstein, chisquare or jensenshannon.")
@click.option("--threshold", "thresholds", multiple=True, metavar="FEATURE=VALUE", help="Drift threshold for a feature.")
@click.option("--key", "keys", multiple=True, metavar="FEATURE", help="A key feature: its drift alone raises the alert.")
@click.option("--drift-share", type=float, help="Share of drifted features that makes dataset drift (default 0.5).")
@click.option("--tolerance", "tolerances", multiple=True, metavar="METRIC=KIND:VALUE",
              help="Performance tolerance, e.g. roc_auc=abs:0.05 or rmse=rel:0.1.")
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
@click.option("--reset", is_flag=True, help="Forget every setting first (back to the defaults).")
@reason_option
@yes_option
@pass_ctx
def monitoring_set(ctx: Context, model: str, methods: tuple[str, ...], thresholds: tuple[str, ...],
                   keys: tuple[str, ...], drift_share: float | None, tolerances: tuple[str, ...],
                   gate_values: tuple[str, ...],
                   drift_window_minutes: int | None, min_rows: int | None, min_labelled: int | None,
                   probe_path: str | None, failures_to_alert: int | None, runbook: str | None, flap_period: str | None,
                   reset: bool, reason: str, yes: bool) -> None:
    """Change how MODEL is monitored (validated against its features; audited)."""
    from fuseboard.monitoring.alerts import parse_flap_period
    from fuseboard.monitoring.settings import preview, update
    from fuseboard.ops.audit import current_actor

    tol = {}
    for metric, value in _pairs(tolerances, "--tolerance").items():
        kind, sep, amount = value.partition(":")
        if not sep:
            raise FuseboardError(f"--tolerance takes METRIC=KIND:VALUE, e.g. roc_auc=abs:0.05, not {metric}={value}")
        tol[metric] = (kind, amount)
    changes = {"methods": _pairs(methods, "--method"), "thresholds": _pairs(thresholds, "--threshold"),
               "key_features": list(keys), "tolerances": tol, "drift_share": drift_share,
               "gates": _pairs(gate_values, "--gate"),
               "drift_window_minutes": drift_window_minutes, "min_rows": min_rows, "min_labelled": min_labelled,
               "probe_path": probe_path, "failures_to_alert": failures_to_alert, "runbook": runbook,
               "flap_period_minutes": parse_flap_period(flap_period) if flap_period is not None else None}
    ws = ctx.writable()
    protected = preview(ws, model, changes)  # checked before asking
    if protected:  # prod's alerts and gates follow these settings
        confirm(f"change how {model} is monitored{' (back to the defaults)' if reset else ''} where it serves in "
                f"{', '.join(protected)} (protected)", yes)
    merged = update(ws, model, changes, actor=current_actor(), origin="cli", reason=reason, reset=reset)
    click.echo(f"monitoring settings of {model}: "
               + (visible(json.dumps(merged, sort_keys=True, ensure_ascii=False)) if merged else "the defaults"))


@cli.group("teams", invoke_without_command=True)
@json_option
@click.pass_context
def teams_cmd(click_ctx: click.Context, as_json: bool) -> None:
    """List teams: kind, who is on call now and next, members and how many models they own."""
    if click_ctx.invoked_subcommand is not None:
        return
    from dataclasses import asdict

    from fuseboard.ops.oncall import on_call
    from fuseboard.ops.views import team_rows

    ws = click_ctx.obj.readable()
    rows = team_rows(ws)
    calls = {c.team: c for c in on_call(ws)}
    if as_json:
        emit_json([{**asdict(r), **{k: v for k, v in calls[r.name].as_dict().items() if k != "name"}}
                   for r in rows])
        return
    from rich.table import Table

    def who(turn: Any) -> str:
        if turn is None:
            return "-"
        return f"{turn.person} until {turn.end.astimezone():%a %H:%M}" if turn.source != "override" else \
            f"{turn.person} (override) until {turn.end.astimezone():%a %H:%M}"

    table = Table(title=f"{len(rows)} teams", title_justify="left")
    for col in ["team", "kind", "on call now", "next", "members", "models"]:
        table.add_column(col)
    for r in rows:
        c = calls[r.name]
        table.add_row(*cells(r.name, r.kind, who(c.now) if c.has_rota else "no rota",
                             who(c.next) if c.has_rota else "-", ", ".join(r.members) or "-", str(r.models_owned)))
    console().print(table)


@teams_cmd.command("add")
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(["data-science", "ml-engineering", "it-operations"]))
@click.option("--description", default="")
@reason_option
@pass_ctx
def teams_add(ctx: Context, name: str, kind: str, description: str, reason: str) -> None:
    """Add a team."""
    from fuseboard.ops.audit import current_actor
    from fuseboard.ops.teams import add_team

    add_team(ctx.writable(create=True), name, kind, description=description, actor=current_actor(), origin="cli",
             reason=reason)
    click.echo(visible(f"added team {name} ({kind})"))


def main() -> None:
    """The console script: Click's usage errors become one ``error:`` line with exit code 2."""
    try:
        code = cli.main(prog_name="fuseboard", standalone_mode=False)
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "fuseboard"
        click.echo(visible(f"error: {exc.format_message()} (see `{where} --help`)"), err=True)
        sys.exit(2)
    except click.Abort:
        click.echo("error: cancelled; nothing changed", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        click.echo(visible(f"error: {exc.format_message()}"), err=True)
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


from fuseboard.cli import environments as _environments  # noqa: E402,F401  (registers its commands)
from fuseboard.cli import ownership as _ownership  # noqa: E402,F401
from fuseboard.cli import access as _access  # noqa: E402,F401
from fuseboard.cli import incident as _incident  # noqa: E402,F401
