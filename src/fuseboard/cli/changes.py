"""Changes to what serves where, and their history: ``deploy``, ``promote``, ``rollback``, ``changes clear``
and ``history``."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from fuseboard.cli.base import (Context, actor, confirm, emit_json, json_option, moment, pass_ctx, reason_option,
                                with_options, yes_option)
from fuseboard.cli.params import VERSION, Number, Whole
from fuseboard.errors import FuseboardError
from fuseboard.text import visible

if TYPE_CHECKING:
    from fuseboard.ops.deploy import ChangePlan


def _show_plan(plan: ChangePlan) -> None:
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


def _confirm_change(plan: ChangePlan, yes: bool, reason: str) -> None:
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


def _run_change(ctx: Context, plan: ChangePlan, *, reason: str, yes: bool, override: bool, as_json: bool,
                wait: float, silence: bool = False) -> None:
    from fuseboard.ops import deploy as ops

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
        result = ops.apply(ws, plan, actor=actor(), origin="cli", reason=reason, override=override,
                           allow=ctx.load_config().allow, silence=silence)
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


silence_option = click.option("--silence", is_flag=True,
                              help="Mute the deployment's alerts for the environment's convergence time (audited).")
change_options = [
    silence_option,
    click.option("--override", is_flag=True, help="Go ahead although gates fail (needs --reason; audited)."),
    click.option("--wait", type=Number(0, 86400), default=30, show_default=True,
                 help="Seconds to wait for the endpoint to report the new version (0: do not wait)."),
    reason_option, yes_option, json_option, pass_ctx,
]


@click.command("deploy")
@click.argument("model")
@click.argument("version", type=VERSION)
@click.option("--env", "env", required=True, help="Environment (dev, staging, prod, ...).")
@click.option("--endpoint", "endpoint_url", help="URL the deployment serves on.")
@with_options(change_options)
def deploy_cmd(ctx: Context, model: str, version: int, env: str, endpoint_url: str | None, silence: bool,
               override: bool, wait: float, reason: str, yes: bool, as_json: bool) -> None:
    """Put VERSION of MODEL into an environment, through its hook and gates (audited)."""
    from fuseboard.ops import deploy as ops

    plan = ops.plan_change(ctx.writable(), model, env, action="deploy", version=version, endpoint_url=endpoint_url)
    _run_change(ctx, plan, reason=reason, yes=yes, override=override, as_json=as_json, wait=wait, silence=silence)


@click.command("promote")
@click.argument("model")
@click.option("--to", "env", required=True, help="The environment to promote into (from the one before it).")
@with_options(change_options)
def promote_cmd(ctx: Context, model: str, env: str, silence: bool, override: bool, wait: float, reason: str,
                yes: bool, as_json: bool) -> None:
    """Promote MODEL into an environment: the version serving in the environment before it, through the gates."""
    from fuseboard.ops import deploy as ops

    plan = ops.plan_change(ctx.writable(), model, env, action="promote")
    _run_change(ctx, plan, reason=reason, yes=yes, override=override, as_json=as_json, wait=wait, silence=silence)


@click.command("rollback")
@click.argument("model")
@click.option("--env", "env", required=True, help="The environment to roll back.")
@click.option("--to", "version", type=VERSION,
              help="Version to go back to (default: the newest known-good one older than the one serving).")
@click.option("--wait", type=Number(0, 86400), default=30, show_default=True,
              help="Seconds to wait for the endpoint to report the version (0: do not wait).")
@silence_option
@reason_option
@yes_option
@json_option
@pass_ctx
def rollback_cmd(ctx: Context, model: str, env: str, version: int | None, wait: float, silence: bool, reason: str,
                 yes: bool, as_json: bool) -> None:
    """Put back the newest known-good version of MODEL older than the one serving, through the environment's
    hook (audited); the version left stops being known-good there. Refuses when there is none."""
    from fuseboard.ops import deploy as ops

    plan = ops.plan_change(ctx.writable(), model, env, action="rollback", version=version)
    _run_change(ctx, plan, reason=reason, yes=yes, override=False, as_json=as_json, wait=wait, silence=silence)


@click.group("changes")
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

    ws = ctx.writable()
    if not reason.strip():
        raise FuseboardError("clearing a pending change needs a reason (--reason)")
    confirm(f"clear the pending change of {model} in {env} (it becomes abandoned; the version on record stays)?",
            yes)
    info = pending.clear_pending(ws, model, env, actor=actor(), origin="cli", reason=reason)
    if as_json:
        emit_json(info)
        return
    serving = f"v{info['serving']}" if info["serving"] is not None else "nothing"
    click.echo(visible(f"cleared: the {info['action']} of {model} to v{info['to_version']} in {env} (requested by "
                       f"{info['requested_by']}) is abandoned ({info['why']}); {serving} stays on record. If its hook "
                       "got through, the endpoint may serve the new version: check it, then deploy or roll back"))


@click.command("history")
@click.argument("model")
@click.option("--env", "env", required=True, help="The environment.")
@click.option("--at", "at", help="What was running at this time (ISO 8601, local unless a zone is given; or 2h, 3d ago).")
@click.option("--limit", default=30, show_default=True, type=Whole(1))
@json_option
@pass_ctx
def history_cmd(ctx: Context, model: str, env: str, at: str | None, limit: int, as_json: bool) -> None:
    """A deployment's rollouts, newest first, or what was running at a point in time."""
    from fuseboard.errors import NotFound
    from fuseboard.ops.quick import quick_history

    if at is not None:
        from fuseboard.ops.views import rollout_history, serving_at

        ws = ctx.readable()
        when = moment(at, "--at")
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
    quick = ctx.quick_read(quick_history, model, env, limit)  # SQLite: no SQLAlchemy to import
    if quick is not None:
        rows = quick.rollouts
    else:
        from fuseboard.ops.views import rollout_history

        rows = rollout_history(ctx.readable(), model, env, limit)
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

