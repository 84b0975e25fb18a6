"""Commands that change what serves where, and read its history: deploy, promote, rollback,
signoff, envs, history and audit."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

import click

from fuseboard.cli import Context, cli, confirm, console, emit_json, json_option, pass_ctx, reason_option, yes_option
from fuseboard.cli.params import VERSION, Number, Whole
from fuseboard.errors import FuseboardError


def _when(text: str, option: str) -> datetime:
    """ISO 8601 (local time when no zone is given) or an age such as ``2h``, ``3d`` or ``1w2d`` ago."""
    from fuseboard.inputs import when

    return when(text, option)


def _show_plan(plan: Any) -> None:
    """What the change will do, printed before the question (stderr keeps --json clean)."""
    lines = [f"{plan.action} {plan.describe()}", f"  hook: {plan.hook}", f"  on call: {plan.on_call}"]
    for alert in plan.open_alerts:
        lines.append(f"  open alert: {alert}")
    for gate in plan.gates:
        lines.append(f"  gate {'pass' if gate.ok else 'FAIL'}: {gate.name}: {gate.detail}")
    if plan.in_progress:
        lines.append(f"  in progress: {plan.in_progress}")
    click.echo("\n".join(lines), err=True)


def _confirm_change(plan: Any, yes: bool, reason: str) -> None:
    """Internal or unprotected: y/n. Mission-critical in a protected environment: type the name and give a reason."""
    if plan.typed_confirmation:
        if not reason.strip():
            raise FuseboardError(f"{plan.model} is mission-critical and {plan.environment} is protected: "
                                 "give a --reason")
        if yes:
            return
        if not sys.stdin.isatty():
            raise FuseboardError(f"{plan.action} of {plan.model} in {plan.environment} needs confirmation: pass --yes")
        typed = click.prompt(f"type the model's name ({plan.model}) to {plan.action}", default="", show_default=False)
        if typed.strip() != plan.model:
            raise FuseboardError("the name did not match; cancelled, nothing changed")
        return
    confirm(f"{plan.action} {plan.describe()}?", yes)


def _run_change(ctx: Context, plan: Any, *, reason: str, yes: bool, override: bool, as_json: bool,
                wait: float) -> None:
    from fuseboard.ops import deploy as ops
    from fuseboard.ops.audit import current_actor

    ws = ctx.writable()
    if not plan.changes:
        result = ops.ChangeResult(plan, "unchanged")
    else:
        if not as_json or not yes:
            _show_plan(plan)
        if plan.failing_gates and not override:
            raise FuseboardError("gates failing: " + "; ".join(f"{g.name}: {g.detail}" for g in plan.failing_gates)
                                 + " (fix them, or pass --override with a --reason)")
        _confirm_change(plan, yes, reason)
        result = ops.apply(ws, plan, actor=current_actor(), origin="cli", reason=reason, override=override,
                           allow=ctx.load_config().allow)
    converged = None
    if result.state == "succeeded" and wait > 0 and plan.from_version != plan.to_version:
        converged = ops.wait_converged(ws, plan.model, plan.environment, timeout=wait)
    if as_json:
        out = result.as_dict()
        if converged is not None:
            out["converged"] = {"ok": converged.ok, "reported": converged.reported, "detail": converged.detail}
        emit_json(out)
    else:
        click.echo(result.message())
        if result.state == "failed" and result.hook_output:
            click.echo("hook output (last lines):\n" + "\n".join(result.hook_output.strip().splitlines()[-10:]))
        if converged is not None:
            click.echo(("confirmed: " if converged.ok else "NOT CONFIRMED: ") + converged.detail)
    if result.state == "failed":
        sys.exit(1)


change_options = [
    click.option("--override", is_flag=True, help="Go ahead although gates fail (needs --reason; audited)."),
    click.option("--wait", type=Number(0, 86400), default=30, show_default=True,
                 help="Seconds to wait for the endpoint to report the new version (0: do not wait)."),
    reason_option, yes_option, json_option, pass_ctx,
]


def _with(options: list[Any]) -> Any:
    def wrap(fn: Any) -> Any:
        for option in reversed(options):
            fn = option(fn)
        return fn
    return wrap


@cli.command("deploy")
@click.argument("model")
@click.argument("version", type=VERSION)
@click.option("--env", "env", required=True, help="Environment (dev, staging, prod, ...).")
@click.option("--endpoint", "endpoint_url", help="URL the deployment serves on.")
@_with(change_options)
def deploy_cmd(ctx: Context, model: str, version: int, env: str, endpoint_url: str | None, override: bool,
               wait: float, reason: str, yes: bool, as_json: bool) -> None:
    """Put VERSION of MODEL into an environment, through its hook and gates (audited)."""
    from fuseboard.ops import deploy as ops

    plan = ops.plan_change(ctx.writable(), model, env, action="deploy", version=version, endpoint_url=endpoint_url)
    _run_change(ctx, plan, reason=reason, yes=yes, override=override, as_json=as_json, wait=wait)


@cli.command("promote")
@click.argument("model")
@click.option("--to", "env", required=True, help="The environment to promote into (from the one before it).")
@_with(change_options)
def promote_cmd(ctx: Context, model: str, env: str, override: bool, wait: float, reason: str, yes: bool,
                as_json: bool) -> None:
    """Promote MODEL into an environment: the version serving in the environment before it, through the gates."""
    from fuseboard.ops import deploy as ops

    plan = ops.plan_change(ctx.writable(), model, env, action="promote")
    _run_change(ctx, plan, reason=reason, yes=yes, override=override, as_json=as_json, wait=wait)


@cli.command("rollback")
@click.argument("model")
@click.option("--env", "env", required=True, help="The environment to roll back.")
@click.option("--to", "version", type=VERSION, help="Version to go back to (default: the last known-good).")
@click.option("--wait", type=Number(0, 86400), default=30, show_default=True,
              help="Seconds to wait for the endpoint to report the version (0: do not wait).")
@reason_option
@yes_option
@json_option
@pass_ctx
def rollback_cmd(ctx: Context, model: str, env: str, version: int | None, wait: float, reason: str, yes: bool,
                 as_json: bool) -> None:
    """Put the last known-good version of MODEL back in an environment, through its hook (audited)."""
    from fuseboard.ops import deploy as ops

    plan = ops.plan_change(ctx.writable(), model, env, action="rollback", version=version)
    _run_change(ctx, plan, reason=reason, yes=yes, override=False, as_json=as_json, wait=wait)


@cli.command("signoff")
@click.argument("model")
@click.argument("version", type=VERSION)
@click.option("--as", "side", required=True, type=click.Choice(["business", "it"]), help="Which side signs.")
@click.option("--note", default="", help="What was accepted (recorded with the sign-off).")
@json_option
@pass_ctx
def signoff_cmd(ctx: Context, model: str, version: int, side: str, note: str, as_json: bool) -> None:
    """Record user-acceptance sign-off of VERSION by the business or IT side (a promotion gate)."""
    from fuseboard.ops.audit import current_actor
    from fuseboard.ops.gates import signoff

    item = signoff(ctx.writable(), model, version, side, actor=current_actor(), origin="cli", note=note)
    if as_json:
        emit_json({"model": model, "version": version, "side": side, "signed_by": item.signed_by,
                   "signed_at": item.signed_at.isoformat(), "note": note})
    else:
        click.echo(f"signed off: {model} v{version} by {item.signed_by} for {side}")


@cli.group("envs", invoke_without_command=True)
@json_option
@click.pass_context
def envs_cmd(click_ctx: click.Context, as_json: bool) -> None:
    """List environments in promotion order, with protection, soak, convergence time and hook."""
    if click_ctx.invoked_subcommand is not None:
        return
    from fuseboard.ops.hooks import describe
    from fuseboard.store.queries import environments

    ctx: Context = click_ctx.obj
    allow = ctx.load_config().allow
    rows = [{"name": e.name, "order": e.order, "protected": e.protected, "soak_seconds": e.soak_seconds,
             "converge_seconds": e.converge_seconds, "hook": e.hook, "allow": allow.get(e.name)}
            for e in environments(ctx.readable())]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        click.echo(f"{r['order']}  {r['name']}{'  (protected)' if r['protected'] else ''}  soak "
                   f"{r['soak_seconds'] // 60}m, converge {r['converge_seconds']}s; {describe(r['hook'])}"
                   + (f"; may change: {', '.join(r['allow'])}" if r["allow"] is not None else ""))


@envs_cmd.command("set")
@click.argument("env")
@click.option("--hook-command", help='The hook as a JSON list, e.g. \'["deployer", "--model", "{model}", '
              '"--version", "{version}"]\' (run without a shell).')
@click.option("--hook-webhook", help="The hook as a webhook URL that receives the change as JSON.")
@click.option("--hook-timeout", type=click.FloatRange(min=0.1, max=3600), help="Seconds the hook may take.")
@click.option("--no-hook", is_flag=True, help="Remove the hook (fuseboard then only records changes).")
@click.option("--soak", help="How long a version must serve without a critical alert to be known-good (e.g. 1h).")
@click.option("--converge", help="How long the endpoint may take to report a new version (e.g. 2m).")
@click.option("--protected/--unprotected", default=None, help="Gates and typed confirmations apply to protected ones.")
@reason_option
@json_option
@pass_ctx
def envs_set(ctx: Context, env: str, hook_command: str | None, hook_webhook: str | None, hook_timeout: float | None,
             no_hook: bool, soak: str | None, converge: str | None, protected: bool | None, reason: str,
             as_json: bool) -> None:
    """Change an environment's settings (audited)."""
    from datetime import timedelta

    from fuseboard.inputs import duration
    from fuseboard.ops.audit import current_actor
    from fuseboard.ops.environments import configure

    if sum(x is not None and x is not False for x in (hook_command, hook_webhook, no_hook or None)) > 1:
        raise FuseboardError("give one of --hook-command, --hook-webhook and --no-hook")
    hook: dict[str, Any] | None = None
    if hook_command is not None:
        try:
            command = json.loads(hook_command)
        except ValueError:
            raise FuseboardError("--hook-command must be a JSON list of strings, e.g. '[\"deployer\", \"{model}\"]'") \
                from None
        hook = {"command": command}
    elif hook_webhook is not None:
        hook = {"webhook": hook_webhook}
    elif no_hook:
        hook = {}
    if hook_timeout is not None:
        if hook is None:
            ws = ctx.readable()
            from fuseboard.store.queries import environments

            current = next((e.hook for e in environments(ws) if e.name == env), None)
            if not current:
                raise FuseboardError(f"{env} has no hook to give a timeout to (--hook-command / --hook-webhook)")
            hook = {k: v for k, v in current.items() if k != "timeout"}
        hook["timeout"] = hook_timeout

    def seconds(text: str | None, option: str, longest: timedelta) -> int | None:
        if text is None:
            return None
        if text.strip() == "0":
            return 0
        return int(duration(text, option, maximum=longest).total_seconds())

    after = configure(ctx.writable(), env, actor=current_actor(), origin="cli", reason=reason, hook=hook,
                      allow=ctx.load_config().allow,
                      soak_seconds=seconds(soak, "--soak", timedelta(days=30)),
                      converge_seconds=seconds(converge, "--converge", timedelta(days=30)),
                      protected=protected)
    if as_json:
        emit_json({"name": env, **after})
    else:
        from fuseboard.ops.hooks import describe

        click.echo(f"{env}: {'protected' if after['protected'] else 'unprotected'}, soak "
                   f"{after['soak_seconds'] // 60}m, converge {after['converge_seconds']}s; {describe(after['hook'])}")


@cli.command("history")
@click.argument("model")
@click.option("--env", "env", required=True, help="The environment.")
@click.option("--at", "at", help="What was running at this time (ISO 8601, local unless a zone is given; or 2h, 3d ago).")
@click.option("--limit", default=30, show_default=True, type=Whole(1))
@json_option
@pass_ctx
def history_cmd(ctx: Context, model: str, env: str, at: str | None, limit: int, as_json: bool) -> None:
    """A deployment's rollouts, newest first, or what was running at a point in time."""
    from fuseboard.errors import NotFound
    from fuseboard.store.queries import rollout_history, serving_at

    ws = ctx.readable()
    if at is not None:
        when = _when(at, "--at")
        found = serving_at(ws, model, env, when)
        history = rollout_history(ws, model, env, 1)
        if history is None:
            raise NotFound(f"no model {model!r} or environment {env!r}")
        if as_json:
            emit_json({"model": model, "environment": env, "at": when.isoformat(),
                       "version": found.to_version if found else None, "rollout": found.as_dict() if found else None})
        elif found is None:
            click.echo(f"nothing of {model} was serving in {env} at {when.astimezone():%Y-%m-%d %H:%M %Z}")
        else:
            click.echo(f"{model} in {env} at {when.astimezone():%Y-%m-%d %H:%M %Z}: v{found.to_version} "
                       f"({found.action} by {found.requested_by}, since {found.finished_at.astimezone():%Y-%m-%d %H:%M})")
        return
    rows = rollout_history(ws, model, env, limit)
    if rows is None:
        raise NotFound(f"no model {model!r} or environment {env!r}")
    if as_json:
        emit_json([r.as_dict() for r in rows])
        return
    from rich.table import Table

    table = Table(title=f"{model} in {env}: rollouts, newest first", title_justify="left")
    for col in ("when", "action", "change", "state", "by", "hook", "known-good", "reason"):
        table.add_column(col, no_wrap=col in ("when", "change", "known-good"))
    for r in rows:
        change = f"v{r.from_version or '-'}→v{r.to_version}"
        table.add_row(r.requested_at.astimezone().strftime("%m-%d %H:%M"), r.action, change, r.state,
                      r.requested_by, r.hook_status or "-",
                      r.known_good_at.astimezone().strftime("%m-%d %H:%M") if r.known_good_at else "", r.reason)
    console().print(table)


@cli.group("audit", invoke_without_command=True)
@click.option("--model", help="Only this model's events (its versions and deployments too).")
@click.option("--env", "env", help="Only events of deployments in this environment.")
@click.option("--since", help="Only events since this time (ISO 8601, or an age such as 2h or 3d).")
@click.option("--target", help="Only events for this target (a model name also matches its versions and deployments).")
@click.option("--limit", default=50, show_default=True, type=Whole(1))
@json_option
@click.pass_context
def audit_cmd(click_ctx: click.Context, model: str | None, env: str | None, since: str | None, target: str | None,
              limit: int, as_json: bool) -> None:
    """Show the audit trail, newest first (`audit verify` checks its hash chain)."""
    if click_ctx.invoked_subcommand is not None:
        return
    from fuseboard.store.queries import audit_events

    ctx: Context = click_ctx.obj
    events = audit_events(ctx.readable(), target=target, limit=limit, model=model, env=env,
                          since=_when(since, "--since") if since is not None else None)
    if as_json:
        emit_json([e.as_dict() for e in events])
        return
    from rich.table import Table

    table = Table(title="audit trail (newest first)", title_justify="left")
    for col in ["at (UTC)", "actor", "from", "action", "target", "change", "reason"]:
        table.add_column(col)
    for e in events:
        table.add_row(e.at.strftime("%m-%d %H:%M:%S"), e.actor, f"{e.origin} {e.client}".strip(), e.action,
                      e.target, e.change(), e.reason)
    console().print(table)


@audit_cmd.command("verify")
@json_option
@pass_ctx
def audit_verify(ctx: Context, as_json: bool) -> None:
    """Check the audit trail's hash chain: exit 1 and name the first event that was altered or removed."""
    from fuseboard.ops.audit import verify

    report = verify(ctx.readable())
    if as_json:
        emit_json(report.as_dict())
    elif report.ok:
        click.echo(f"audit chain intact: {report.events} events")
    if not report.ok:
        if not as_json:
            click.echo(f"error: audit chain broken at {report.problem}", err=True)
        sys.exit(1)


@cli.command("backup")
@click.argument("file", type=click.Path(path_type=__import__("pathlib").Path))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@json_option
@pass_ctx
def backup_cmd(ctx: Context, file: Any, force: bool, as_json: bool) -> None:
    """A consistent copy of the (live) workspace in FILE, its artifacts beside it; open it with --db sqlite:///FILE."""
    from fuseboard.store.db import backup

    result = backup(ctx.readable(), file, force=force)
    if as_json:
        emit_json(result)
    else:
        click.echo(f"backed up to {result['database']} ({result['bytes']:,} bytes) and "
                   f"{result['artifact_files_copied']} artifact file(s) to {result['artifacts']}")


@cli.group("workspace")
def workspace_group() -> None:
    """Move a workspace between databases."""


@workspace_group.command("copy")
@click.option("--from", "source", required=True, metavar="URL", help="The workspace to copy (any SQLAlchemy URL).")
@click.option("--to", "target", required=True, metavar="URL",
              help="Where to copy it, e.g. postgresql+psycopg://user@host/db (created and migrated if new).")
@click.option("--from-artifacts", type=click.Path(path_type=__import__("pathlib").Path),
              help="The source's artifact folder (default: beside a SQLite file, else the data folder).")
@click.option("--force", is_flag=True, help="Replace whatever the target already holds.")
@json_option
@pass_ctx
def workspace_copy(ctx: Context, source: str, target: str, from_artifacts: Any, force: bool, as_json: bool) -> None:
    """Copy every table and artifact of a workspace into another database, then verify row counts and the audit chain."""
    from fuseboard.ops.workspace import copy_workspace
    from fuseboard.store.db import open_workspace

    cfg = ctx.load_config()
    src = open_workspace(source, artifact_dir=from_artifacts, create=False, read_only=True)
    dst = open_workspace(target, artifact_dir=cfg.artifacts if target == ctx.url else None, group=cfg.group)
    result = copy_workspace(src, dst, force=force)  # (an unwritable target refuses in its transaction)
    if as_json:
        emit_json(result.as_dict())
    else:
        total = sum(result.rows.values())
        click.echo(f"copied {total:,} rows in {sum(1 for n in result.rows.values() if n)} tables and "
                   f"{result.artifacts_copied} artifact file(s) from {result.source} to {result.target}; "
                   f"row counts match, audit chain intact ({result.audit_events} events)")


@cli.command("compact")
@click.option("--hourly-after", default="2d", show_default=True, help="Five-minute windows older than this become hours.")
@click.option("--daily-after", default="35d", show_default=True, help="Hourly windows older than this become days.")
@click.option("--delete-after", default=None, help="Delete windows older than this (default: keep them).")
@json_option
@pass_ctx
def compact_cmd(ctx: Context, hourly_after: str, daily_after: str, delete_after: str | None, as_json: bool) -> None:
    """Compact old monitoring windows into hourly and daily profiles (exact; the monitor does it hourly)."""
    from fuseboard.monitoring.retention import Retention, compact
    from fuseboard.store.models import utcnow

    def age(text: str, option: str) -> Any:
        return utcnow() - _when(text, option)

    counts = compact(ctx.writable(), retention=Retention(
        age(hourly_after, "--hourly-after"), age(daily_after, "--daily-after"),
        age(delete_after, "--delete-after") if delete_after else None))
    if as_json:
        emit_json(counts)
    else:
        click.echo(f"compacted {counts['merged']} windows into {counts['created']}; deleted {counts['deleted']}")
