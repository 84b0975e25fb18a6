"""Commands that change what serves where, and read its history: deploy, promote, rollback,
signoff, envs, history and audit."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

import click

from fuseboard.cli import Context, cli, confirm, emit_json, json_option, pass_ctx, reason_option, yes_option
from fuseboard.cli.params import VERSION, Number, Whole
from fuseboard.errors import FuseboardError
from fuseboard.text import visible


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
    if plan.runbook:
        lines.append(f"  runbook: {plan.runbook.splitlines()[0]}"
                     + (" (more: fuseboard monitoring show)" if len(plan.runbook.splitlines()) > 1 else ""))
    if plan.advice:
        lines.append(f"  will it help: {plan.advice}")
    click.echo("\n".join(visible(line) for line in lines), err=True)


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
    if not plan.changes and not plan.in_progress:  # (with a change in flight, apply refuses and says how to clear it)
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
        click.echo(visible(result.message()))
        if result.state == "failed" and result.hook_output:
            click.echo("hook output (last lines):\n"
                       + visible("\n".join(result.hook_output.strip().splitlines()[-10:]), lines=True))
        if converged is not None and (converged.ok or not converged.probed):
            click.echo(("confirmed: " if converged.ok else "note: ") + visible(converged.detail))
    if not result.ok:
        sys.exit(1)
    if converged is not None and converged.probed and not converged.ok:
        raise FuseboardError(converged.detail)  # the change itself is recorded (said above)


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
@click.option("--to", "version", type=VERSION,
              help="Version to go back to (default: the newest known-good one older than the one serving).")
@click.option("--wait", type=Number(0, 86400), default=30, show_default=True,
              help="Seconds to wait for the endpoint to report the version (0: do not wait).")
@reason_option
@yes_option
@json_option
@pass_ctx
def rollback_cmd(ctx: Context, model: str, env: str, version: int | None, wait: float, reason: str, yes: bool,
                 as_json: bool) -> None:
    """Put back the newest known-good version of MODEL older than the one serving, through the environment's
    hook (audited); the version left stops being known-good there. Refuses when there is none."""
    from fuseboard.ops import deploy as ops

    plan = ops.plan_change(ctx.writable(), model, env, action="rollback", version=version)
    _run_change(ctx, plan, reason=reason, yes=yes, override=False, as_json=as_json, wait=wait)


@cli.group("changes")
def changes_cmd() -> None:
    """Changes in flight: clear one whose process crashed while its hook ran."""


@changes_cmd.command("clear")
@click.argument("model")
@click.option("--env", "env", required=True, help="The environment whose pending change to clear.")
@reason_option
@yes_option
@json_option
@pass_ctx
def changes_clear_cmd(ctx: Context, model: str, env: str, reason: str, yes: bool, as_json: bool) -> None:
    """Mark MODEL's pending change in ENV abandoned (only once its process is gone or its hook's deadline
    passed; the version on record stays; audited as rollout.abandoned)."""
    from fuseboard.ops import pending
    from fuseboard.ops.audit import current_actor

    ws = ctx.writable()
    if not reason.strip():
        raise FuseboardError("clearing a pending change needs a reason (--reason)")
    confirm(f"clear the pending change of {model} in {env} (it becomes abandoned; the version on record stays)?",
            yes)
    info = pending.clear_pending(ws, model, env, actor=current_actor(), origin="cli", reason=reason)
    if as_json:
        emit_json(info)
        return
    serving = f"v{info['serving']}" if info["serving"] is not None else "nothing"
    click.echo(visible(f"cleared: the {info['action']} of {model} to v{info['to_version']} in {env} (requested by "
                       f"{info['requested_by']}) is abandoned ({info['why']}); {serving} stays on record. If its hook "
                       "got through, the endpoint may serve the new version: check it, then deploy or roll back"))


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
        click.echo(visible(f"signed off: {model} v{version} by {item.signed_by} for {side}"))


@cli.group("envs", invoke_without_command=True)
@json_option
@click.pass_context
def envs_cmd(click_ctx: click.Context, as_json: bool) -> None:
    """List environments in promotion order, with protection, soak, convergence time and hook."""
    if click_ctx.invoked_subcommand is not None:
        return
    from fuseboard.ops.hooks import describe, shown
    from fuseboard.ops.views import environments

    ctx: Context = click_ctx.obj
    rows = [{"name": e.name, "order": e.order, "protected": e.protected, "soak_seconds": e.soak_seconds,
             "converge_seconds": e.converge_seconds, "hook": shown(e.hook), "allow": e.allow}
            for e in environments(ctx.readable())]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        click.echo(visible(f"{r['order']}  {r['name']}{'  (protected)' if r['protected'] else ''}  soak "
                           f"{r['soak_seconds'] // 60}m, converge {r['converge_seconds']}s; {describe(r['hook'])}"
                           + (f"; may change: {', '.join(r['allow'])}" if r["allow"] is not None else "")))


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
            from fuseboard.ops.views import environments

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

        click.echo(visible(f"{env}: {'protected' if after['protected'] else 'unprotected'}, soak "
                           f"{after['soak_seconds'] // 60}m, converge {after['converge_seconds']}s; "
                           f"{describe(after['hook'])}"))


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
    from fuseboard.ops.views import rollout_history, serving_at

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
            click.echo(visible(f"{model} in {env} at {when.astimezone():%Y-%m-%d %H:%M %Z}: v{found.to_version} "
                               f"({found.action} by {found.requested_by}, "
                               f"since {found.finished_at.astimezone():%Y-%m-%d %H:%M})"))
        return
    rows = rollout_history(ws, model, env, limit)
    if rows is None:
        raise NotFound(f"no model {model!r} or environment {env!r}")
    if as_json:
        emit_json([r.as_dict() for r in rows])
        return
    from fuseboard.cli.table import Column, echo_table

    table = []
    for r in rows:
        good = r.known_good_at.astimezone().strftime("%m-%d %H:%M") if r.known_good_at else ""
        if r.revoked_at is not None:
            good = f"revoked {r.revoked_at.astimezone():%m-%d %H:%M}"
        table.append([r.requested_at.astimezone().strftime("%m-%d %H:%M"), r.action,
                      f"v{r.from_version or '-'}→v{r.to_version}", r.state, r.requested_by, r.hook_status or "-",
                      good, r.reason])
    echo_table([Column("when"), Column("action"), Column("change"), Column("state"), Column("by"), Column("hook"),
                Column("known-good"), Column("reason")], table, title=f"{model} in {env}: rollouts, newest first")
    revoked = {(r.to_version, r.revoked_at, r.revoked_reason) for r in rows if r.revoked_at is not None}
    for version, when, why in sorted(revoked, key=lambda x: x[1]):
        click.echo(f"v{version} stopped being known-good in {env} at {when.astimezone():%Y-%m-%d %H:%M %Z}: "
                   + visible(why))


@cli.group("audit", invoke_without_command=True)
@click.option("--model", help="Only this model's events (its versions and deployments too).")
@click.option("--env", "env", help="Only events of deployments in this environment.")
@click.option("--since", help="Only events since this time (ISO 8601, or an age such as 2h or 3d).")
@click.option("--target", help="Only events for this target (a model name also matches its versions and deployments).")
@click.option("--limit", default=50, show_default=True, type=Whole(1))
@click.option("--wide", is_flag=True, help="Every column, each event's change and reason whole, however wide.")
@json_option
@click.pass_context
def audit_cmd(click_ctx: click.Context, model: str | None, env: str | None, since: str | None, target: str | None,
              limit: int, wide: bool, as_json: bool) -> None:
    """Show the audit trail, newest first (`audit verify` checks its hash chain)."""
    if click_ctx.invoked_subcommand is not None:
        return
    from fuseboard.ops.views import audit_events

    ctx: Context = click_ctx.obj
    events = audit_events(ctx.readable(), target=target, limit=limit, model=model, env=env,
                          since=_when(since, "--since") if since is not None else None)
    if as_json:
        emit_json([e.as_dict() for e in events])
        return
    from fuseboard.cli.table import Column, echo_table, short_time
    from fuseboard.clock import utcnow

    now = utcnow()
    rows = [[short_time(e.at, now), e.actor, *([f"{e.origin} {e.client}".strip()] if wide else []), e.action,
             e.target, " · ".join(part for part in (e.change(), e.reason) if part)] for e in events]
    echo_table([Column("at"), Column("actor"), *([Column("from")] if wide else []), Column("action"),
                Column("target"), Column("change · reason")], rows, wide=wide,
               title="audit trail, newest first (local time; --wide for where from, --json for all)")


@audit_cmd.command("verify")
@click.option("--anchor", "anchor_file", type=click.Path(path_type=__import__("pathlib").Path, dir_okay=False),
              help="Check against this copy of the anchor (one kept on another host) instead of the workspace's.")
@json_option
@pass_ctx
def audit_verify(ctx: Context, anchor_file: Any, as_json: bool) -> None:
    """Check the audit trail's hash chain and its anchor: exit 1 and name the first event that was
    altered or removed (also the newest ones, and a chain re-hashed after an edit)."""
    from fuseboard.ops.audit import verify

    if anchor_file is not None and not anchor_file.is_file():
        raise FuseboardError(f"no anchor file at {anchor_file} (--anchor)")
    report = verify(ctx.readable(), anchor_file)
    if as_json:
        emit_json(report.as_dict())
    elif report.ok:
        anchored = (f"; {report.checkpointed} checkpointed in {report.anchor}"
                    + (f", {report.beyond_anchor} newer than its last checkpoint" if report.beyond_anchor else "")
                    if report.checkpointed else "")
        click.echo(visible(f"audit chain intact: {report.events} events{anchored}"))
    if report.warning and not as_json:
        click.echo(visible(f"warning: {report.warning}"), err=True)
    if not report.ok:
        if not as_json:
            click.echo(visible(f"error: audit chain broken at {report.problem}"), err=True)
        sys.exit(1)


@cli.command("backup")
@click.argument("file", type=click.Path(path_type=__import__("pathlib").Path))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@json_option
@pass_ctx
def backup_cmd(ctx: Context, file: Any, force: bool, as_json: bool) -> None:
    """A consistent copy of the (live) workspace in FILE, its artifacts beside it; open it with --db sqlite:///FILE."""
    from fuseboard.ops.connect import backup

    result = backup(ctx.readable(), file, force=force)
    if as_json:
        emit_json(result)
    else:
        click.echo(visible(f"backed up to {result['database']} ({result['bytes']:,} bytes) and "
                           f"{result['artifact_files_copied']} artifact file(s) to {result['artifacts']}"
                           + (f" (replaced {result['artifact_files_replaced']} that did not match their sha256)"
                              if result["artifact_files_replaced"] else "")))
    for path in result["artifacts_not_matching_their_sha256"]:
        click.echo(visible(f"warning: the workspace's artifact does not match its sha256; copied as it is ({path})"),
                   err=True)


@cli.group("workspace")
def workspace_group() -> None:
    """Move a workspace between databases; say where identity comes from."""


@workspace_group.command("copy")
@click.option("--from", "source", required=True, metavar="URL", help="The workspace to copy (any SQLAlchemy URL).")
@click.option("--to", "target", required=True, metavar="URL",
              help="Where to copy it, e.g. postgresql+psycopg://user@host/db (created and migrated if new).")
@click.option("--from-artifacts", type=click.Path(path_type=__import__("pathlib").Path),
              help="The source's artifact folder (default: beside a SQLite file, else the data folder).")
@click.option("--force", is_flag=True, help="Replace whatever the target already holds (asks; --yes in scripts).")
@yes_option
@json_option
@pass_ctx
def workspace_copy(ctx: Context, source: str, target: str, from_artifacts: Any, force: bool, yes: bool,
                   as_json: bool) -> None:
    """Copy every table and artifact of a workspace into another database, then verify row counts and the audit chain."""
    from fuseboard.ops.workspace import copy_workspace
    from fuseboard.ops.connect import open_workspace

    cfg = ctx.load_config()
    mine = target == ctx.url  # the configured workspace: its configured artifacts and anchor
    src = open_workspace(source, artifact_dir=from_artifacts, create=False, read_only=True,
                         audit_anchor=cfg.audit_anchor if source == ctx.url else None)
    dst = open_workspace(target, artifact_dir=cfg.artifacts if mine else None, group=cfg.group,
                         audit_anchor=cfg.audit_anchor if mine else None)
    if force:  # it deletes every row the target holds
        confirm(f"replace everything in {dst.where} with a copy of {src.where}?", yes)
    result = copy_workspace(src, dst, force=force)  # (an unwritable target refuses in its transaction)
    if as_json:
        emit_json(result.as_dict())
    else:
        total = sum(result.rows.values())
        click.echo(visible(f"copied {total:,} rows in {sum(1 for n in result.rows.values() if n)} tables and "
                           f"{result.artifacts_copied} artifact file(s) from {result.source} to {result.target}; "
                           f"row counts match, audit chain intact ({result.audit_events} events)"))


@cli.command("compact")
@click.option("--hourly-after", default="2d", show_default=True, help="Five-minute windows older than this become hours.")
@click.option("--daily-after", default="35d", show_default=True, help="Hourly windows older than this become days.")
@click.option("--delete-after", default=None, help="Delete windows older than this, e.g. 400d (default: keep them; "
              "never under a day or a check's window; asks first, --yes without a terminal).")
@reason_option
@yes_option
@json_option
@pass_ctx
def compact_cmd(ctx: Context, hourly_after: str, daily_after: str, delete_after: str | None, reason: str, yes: bool,
                as_json: bool) -> None:
    """Compact old monitoring windows into hourly and daily profiles (exact; the monitor does it hourly)."""
    from fuseboard.monitoring import retention as ret
    from fuseboard.ops.audit import current_actor
    from fuseboard.clock import utcnow

    def age(text: str, option: str) -> Any:
        when = _when(text, option)
        return utcnow() - when  # (now taken after: 40m is at least 40 minutes)

    asked = ret.Retention(age(hourly_after, "--hourly-after"), age(daily_after, "--daily-after"),
                          age(delete_after, "--delete-after") if delete_after else None)
    ws, now = ctx.writable(), utcnow()
    floor = ret.floors(ws)
    for option, value, least in ret.below_floor(asked, floor):
        given = {"--hourly-after": hourly_after, "--daily-after": daily_after, "--delete-after": delete_after}[option]
        why = {"--hourly-after": f"{floor.why} reads five-minute windows that far back",
               "--daily-after": f"{floor.why} reads hourly windows that far back",
               "--delete-after": f"windows are kept at least a day, and as long as {floor.why}"}[option]
        raise FuseboardError(f"{option} {given} ({ret.span(value)}) is below the floor of {ret.span(least)}: "
                             f"{why}; nothing was changed ({option})")
    if asked.delete_after is not None:
        gone = ret.deletion(ws, asked.delete_after, now=now)
        if gone.windows:
            confirm(f"delete {gone.windows:,} monitoring window(s) ({gone.rows:,} rows of traffic, "
                    f"{gone.deployments} deployment(s)) older than {gone.cutoff.astimezone():%Y-%m-%d %H:%M %Z} "
                    f"({delete_after}: {ret.span(asked.delete_after)})", yes)
    counts = ret.compact(ws, now=now, retention=asked, actor=current_actor(), origin="cli", reason=reason,
                         audit_merges=True)
    if as_json:
        emit_json(counts)
    else:
        click.echo(f"compacted {counts['merged']} windows into {counts['created']}; deleted {counts['deleted']}")
