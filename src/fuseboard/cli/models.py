"""Models and their versions: ``register``, ``models`` and ``models show``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from fuseboard.cli.base import (Context, actor, confirm, emit_json, glyph, json_option, pass_ctx, reason_option,
                                yes_option)
from fuseboard.errors import FuseboardError
from fuseboard.text import visible

if TYPE_CHECKING:
    from fuseboard.ops.connect import Workspace

TASK_WORDS = {"classification": "class", "regression": "regr"}  # as the console says them
TIER_WORDS = {"mission-critical": "mission", "internal": "internal"}


def _feature_kinds(values: tuple[str, ...]) -> dict[str, str]:
    kinds = {}
    for item in values:
        name, sep, kind = item.partition("=")
        if not sep or not name:
            raise FuseboardError(f"--feature takes NAME=numeric or NAME=categorical, not {item!r}")
        kinds[name] = kind
    return kinds


@click.command()
@click.argument("model")
@click.option("--artifact", required=True, type=click.Path(path_type=Path),
              help="The fitted estimator saved with joblib.dump. Loading it RUNS CODE from the file: trusted files only.")
@click.option("--reference", required=True, type=click.Path(path_type=Path),
              help="CSV or Parquet of reference data: the feature columns and the target.")
@click.option("--target", required=True, help="The target column in the reference (and validation) files.")
@click.option("--validation", type=click.Path(path_type=Path),
              help="CSV or Parquet to measure the baseline metrics on (default: cross-validation on the reference "
                   "data).")
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
             description: str | None, retrain_by: datetime | None, features: tuple[str, ...], note: str,
             runbook: str | None, reason: str, yes: bool, as_json: bool) -> None:
    """Register a new version of MODEL from a scikit-learn artifact.

    Loads the estimator with joblib (this runs code from the file: only
    register artifacts you trust), checks it predicts the reference columns,
    computes validation metrics, profiles the reference data for drift checks,
    copies the artifact into the workspace by its sha256 and records version
    N+1. Nothing is written if any check fails.
    """
    from fuseboard.ops import registry

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
    result = registry.commit(ws, prepared, actor=actor(), origin="cli")
    if runbook is not None:  # the model's monitoring settings, audited like `monitoring set --runbook`
        from fuseboard.monitoring.settings import update

        update(ws, model, {"runbook": runbook}, actor=actor(), origin="cli", reason=reason)
    if as_json:
        emit_json({**result.as_dict(), **({"runbook": runbook.strip()} if runbook is not None else {})})
        return
    made = "created model and registered" if result.created_model else "registered"
    metrics = ", ".join(f"{k} {v:.3f}" for k, v in result.metrics.items())
    click.echo(visible(f"{made} {result.model} v{result.version} ({result.estimator_class}, "
                       f"sha256 {result.sha256[:12]})"))
    click.echo(f"baseline metrics {result.baseline['text']}: {metrics}")
    if result.baseline["method"] == "in-sample":  # loudly: every window will look degraded
        click.echo(visible(f"warning: the baseline is IN-SAMPLE: cross-validation could not run "
                           f"({result.baseline['note']}); if the model was fitted on the reference, its performance "
                           f"checks compare with an optimistic baseline (register with --validation FILE)"), err=True)
    if result.importance:
        click.echo(visible(f"importance: {importance_text(result.importance)}"))
    else:
        click.echo("importance: not measured (the model could not be scored on those rows)")
    click.echo(f"before the labels: {estimators_text(result.estimators)}")
    for said in result.not_fitted:
        click.echo(visible(said))
    for feature in result.features:  # numbers profiled as categories: say so, and how to keep them numeric
        if feature.get("inferred"):
            click.echo(visible(f"{feature['name']}: {feature['inferred']}, profiled as categorical "
                               f"(--feature {feature['name']}=numeric to override)"))
    for key, value in result.changed.items():
        click.echo(visible(f"changed {result.model} {key} to {value}"))


ESTIMATOR_WORDS = {"pca": "multivariate drift (PCA)", "cbpe": "estimated performance (CBPE)",
                   "dle": "estimated performance (DLE)"}


def estimators_text(fitted: list[str]) -> str:
    """``multivariate drift (PCA), estimated performance (CBPE)``, or what is missing."""
    if not fitted:
        return "nothing fitted (`fuseboard models refit MODEL VERSION --reference FILE`)"
    return ", ".join(ESTIMATOR_WORDS[k] for k in fitted)


def importance_text(found: Any, shown: int = 6) -> str:
    """``income 38%, loan_amount 34%, ... (permutation, roc_auc on 1,000 validation rows)``."""
    if not found:
        return "not measured (registered before it was kept: `fuseboard models importance MODEL VERSION --data FILE`)"
    ranked = sorted(found["share"].items(), key=lambda kv: -kv[1])
    text = ", ".join(f"{name} {share:.0%}" for name, share in ranked[:shown])
    rest = len(ranked) - shown
    return (text + (f", {rest} more" if rest > 0 else "")
            + f" (permutation, {found['scoring']} on {found['rows']:,} {found['on']} rows)")


def _env_columns(ws: Workspace) -> list[str]:
    from fuseboard.ops.views import environments

    return [e.name for e in environments(ws)]


@click.group(invoke_without_command=True)
@click.option("--wide", is_flag=True, help="Full words and whole descriptions, however wide.")
@json_option
@click.pass_context
def models(click_ctx: click.Context, wide: bool, as_json: bool) -> None:
    """List models: health, task, tier, owner, latest version, the version in each environment, description."""
    if click_ctx.invoked_subcommand is not None:
        return
    from fuseboard.ops.quick import quick_environment_names, quick_models

    ctx: Context = click_ctx.obj
    rows = ctx.quick_read(quick_models)  # SQLite at the current schema: no SQLAlchemy to import
    envs = ctx.quick_read(quick_environment_names) if rows is not None and not as_json else None
    if rows is None:
        from fuseboard.ops.views import model_rows

        rows = model_rows(ctx.readable())
    if as_json:
        emit_json([r.as_dict() for r in rows])
        return
    from fuseboard.cli.table import Column, echo_table

    if envs is None:
        envs = _env_columns(ctx.readable())
    columns = [Column("health"), Column("model"), Column("task"), Column("tier"), Column("owner"),
               Column("latest", right=True), *[Column(e, right=True) for e in envs], Column("description")]
    table = [[f"{glyph(r.health)} {r.health}", r.name, r.task if wide else TASK_WORDS.get(r.task, r.task),
              r.criticality if wide else TIER_WORDS.get(r.criticality, r.criticality), r.owner or "-",
              f"v{r.latest_version}" if r.latest_version else "-",
              *[f"v{r.deployed[e]}" if e in r.deployed else "-" for e in envs], r.description]
             for r in rows]
    echo_table(columns, table, wide=wide, title=f"{len(rows)} models", long_min=12)


@models.command("importance")
@click.argument("model")
@click.argument("version", type=int)
@click.option("--data", required=True, type=click.Path(path_type=Path),
              help="CSV or Parquet of the version's rows with their target: its validation file, or its reference file "
                   "(fuseboard keeps profiles, not rows).")
@click.option("--on", "on", type=click.Choice(["validation", "reference"]), default="validation", show_default=True,
              help="Which rows --data holds, as the version's importance will say.")
@reason_option
@json_option
@pass_ctx
def models_importance(ctx: Context, model: str, version: int, data: Path, on: str, reason: str, as_json: bool) -> None:
    """Measure VERSION's permutation importance again from a file of its rows, and keep it.

    For versions registered before importance was measured (their drift table then has no weight
    column); audited as version.importance. Loads the version's stored artifact, which runs code
    from it, as registering did.
    """
    from fuseboard.ops.importance import remeasure

    found = remeasure(ctx.writable(), model, version, data, on, actor=actor(), origin="cli", reason=reason)
    if as_json:
        emit_json(found)
        return
    click.echo(visible(f"{model} v{version}'s importance: {importance_text(found)}"))


@models.command("refit")
@click.argument("model")
@click.argument("version", type=int)
@click.option("--reference", required=True, type=click.Path(path_type=Path),
              help="CSV or Parquet of the version's reference rows with their target (fuseboard keeps profiles, not rows).")
@click.option("--validation", type=click.Path(path_type=Path),
              help="CSV or Parquet of labelled rows to calibrate scores and learn losses on (default: the reference's).")
@reason_option
@json_option
@pass_ctx
def models_refit(ctx: Context, model: str, version: int, reference: Path, validation: Path | None, reason: str,
                 as_json: bool) -> None:
    """Fit VERSION's importance, PCA and estimators again, from its files.

    For versions registered before fuseboard estimated without labels: the multivariate drift
    check's PCA, CBPE's calibration (classifiers with scores) or DLE's loss models (regressors),
    and permutation importance. fuseboard keeps profiles, not rows: it reads --reference (and
    --validation) again. Windows ingested from now on carry estimates; earlier ones do not.
    Audited as version.refit. Loads the version's stored artifact, which runs code from it.
    """
    from fuseboard.ops.estimators import refit

    found = refit(ctx.writable(), model, version, reference, validation, actor=actor(), origin="cli", reason=reason)
    if as_json:
        emit_json(found.as_dict())
        return
    fitted = [k for k in found.fitted if k != "importance"]
    click.echo(visible(f"{model} v{version} refitted on its {found.on} rows: "
                       f"{estimators_text(fitted)}{', importance' if 'importance' in found.fitted else ''}"))
    for said in found.said:
        click.echo(visible(said))


@models.command("show")
@click.argument("model")
@json_option
@pass_ctx
def models_show(ctx: Context, model: str, as_json: bool) -> None:
    """Show one model: versions with metrics, deployments and recent audit events."""
    from fuseboard.ops import baseline
    from fuseboard.ops.views import model_detail

    detail = model_detail(ctx.readable(), model)
    if detail is None:
        raise FuseboardError(f"no model named {model!r} (see `fuseboard models`)")
    baselines = {v.version: baseline.of(v.metrics) for v in detail.versions}  # how each one's metrics were measured
    if as_json:
        shown = detail.as_dict()
        for v in shown["versions"]:
            v["baseline"] = baselines[v["version"]].as_dict()
        emit_json(shown)
        return
    from fuseboard.cli.table import Column, echo_table
    from fuseboard.monitoring.metrics import SHOWN, format_metric

    click.echo(visible(f"{detail.name}  {detail.task} · {detail.criticality} · owner {detail.owner or '-'}"
                       f" · built by {detail.builder or '-'} · retrain by {detail.retrain_by or '-'}"))
    if detail.description:
        click.echo(visible(detail.description))
    names = SHOWN.get(detail.task, ())
    click.echo()
    echo_table([Column("ver", right=True), *[Column(n, right=True) for n in names], Column("baseline"),
                Column("registered by"), Column("registered at"), Column("estimator")],
               [[f"v{v.version}", *[format_metric(v.metrics.get(n)) for n in names], baselines[v.version].short(),
                 v.registered_by, v.registered_at.strftime("%Y-%m-%d %H:%M UTC"), v.estimator_class]
                for v in detail.versions], title="versions", long_min=20)
    for v in detail.versions[:1]:  # the latest: the one a new deployment is checked against
        click.echo(visible(f"v{v.version}'s baseline: {baselines[v.version].text()}"))
        click.echo(visible(f"v{v.version}'s importance: {importance_text(v.importance)}"))
    in_sample = [f"v{v.version}" for v in detail.versions if baselines[v.version].method == "in-sample"]
    if in_sample:
        click.echo(f"in-sample baseline ({', '.join(in_sample)}): optimistic if the model was fitted on the reference")
    click.echo()
    echo_table([Column("env"), Column("version", right=True), Column("deployed by"), Column("deployed at"),
                Column("endpoint")],
               [[d.environment + (" (protected)" if d.protected else ""), f"v{d.version}", d.deployed_by,
                 d.deployed_at.strftime("%Y-%m-%d %H:%M UTC"), d.endpoint_url or "-"] for d in detail.deployments],
               title="deployments", long_min=20)
    click.echo()
    echo_table([Column("at"), Column("actor"), Column("action"), Column("target"), Column("reason")],
               [[e.at.strftime("%Y-%m-%d %H:%M"), e.actor, e.action, e.target, e.reason] for e in detail.audit[:15]],
               title="recent audit events")
