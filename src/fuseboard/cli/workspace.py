"""The workspace itself and its environments: ``backup``, ``workspace copy``, ``workspace identity``,
``compact`` and ``envs`` (list, ``set``, ``allow``)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import click

from fuseboard.cli.base import (Context, actor, confirm, emit_json, json_option, moment, pass_ctx, reason_option,
                                yes_option)
from fuseboard.errors import FuseboardError
from fuseboard.text import visible


@click.command("backup")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@json_option
@pass_ctx
def backup_cmd(ctx: Context, file: Path, force: bool, as_json: bool) -> None:
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



@click.group("workspace")
def workspace_group() -> None:
    """Move a workspace between databases; say where identity comes from."""


@workspace_group.command("copy")
@click.option("--from", "source", required=True, metavar="URL", help="The workspace to copy (any SQLAlchemy URL).")
@click.option("--to", "target", required=True, metavar="URL",
              help="Where to copy it, e.g. postgresql+psycopg://user@host/db (created and migrated if new).")
@click.option("--from-artifacts", type=click.Path(path_type=Path),
              help="The source's artifact folder (default: beside a SQLite file, else the data folder).")
@click.option("--force", is_flag=True, help="Replace whatever the target already holds (asks; --yes in scripts).")
@yes_option
@json_option
@pass_ctx
def workspace_copy(ctx: Context, source: str, target: str, from_artifacts: Path | None, force: bool, yes: bool,
                   as_json: bool) -> None:
    """Copy every table and artifact of a workspace into another database, then verify row counts and the audit chain."""
    from fuseboard.ops.connect import open_workspace
    from fuseboard.ops.workspace import copy_workspace

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



@workspace_group.command("identity")
@click.option("--allow-override/--no-override", "allow", default=None,
              help="Let FUSEBOARD_USER name the user (shared logins, the demo), or take it from the OS login.")
@reason_option
@yes_option
@json_option
@pass_ctx
def workspace_identity(ctx: Context, allow: bool | None, reason: str, yes: bool, as_json: bool) -> None:
    """Show or set where identity comes from: the OS login (default) or FUSEBOARD_USER (audited)."""
    from fuseboard.ops.audit import os_user
    from fuseboard.ops.environments import identity_override, set_identity_override

    if allow is None:
        now = identity_override(ctx.readable())
    else:
        ws = ctx.writable()
        confirm(("let FUSEBOARD_USER name the user" if allow else "take identity from the OS login") + "?", yes)
        now = set_identity_override(ws, allow, actor=actor(), origin="cli", reason=reason)
    if as_json:
        emit_json({"identity_override": now, "os_user": os_user(), "acting_as": actor()})
    else:
        click.echo(visible(("FUSEBOARD_USER names the user (override allowed)" if now else "identity is the OS login")
                           + f"; you act as {actor()}"))


@click.command("compact")
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
    from fuseboard.clock import utcnow
    from fuseboard.monitoring import retention as ret

    def age(text: str, option: str) -> timedelta:
        when = moment(text, option)
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
    counts = ret.compact(ws, now=now, retention=asked, actor=actor(), origin="cli", reason=reason,
                         audit_merges=True)
    if as_json:
        emit_json(counts)
    else:
        click.echo(f"compacted {counts['merged']} windows into {counts['created']}; deleted {counts['deleted']}")


@click.group("envs", invoke_without_command=True)
@click.option("--wide", is_flag=True, help="Whole hook descriptions, however wide.")
@json_option
@click.pass_context
def envs_cmd(click_ctx: click.Context, wide: bool, as_json: bool) -> None:
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
    from fuseboard.cli.table import Column, echo_table

    # who may change it first: the hook's description is the part a narrow terminal cuts
    echo_table([Column("order", right=True), Column("env"), Column("soak", right=True), Column("converge", right=True),
                Column("hook")],
               [[str(r["order"]), r["name"] + (" (protected)" if r["protected"] else ""), f"{r['soak_seconds'] // 60}m",
                 f"{r['converge_seconds']}s", (f"may change: {', '.join(r['allow'])}; " if r["allow"] is not None
                                               else "") + describe(r["hook"])] for r in rows], wide=wide)


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
    from fuseboard.inputs import duration
    from fuseboard.ops.environments import configure

    if sum(x is not None and x is not False for x in (hook_command, hook_webhook, no_hook or None)) > 1:
        raise FuseboardError("give one of --hook-command, --hook-webhook and --no-hook")
    hook: dict[str, object] | None = None  # as given: configure checks it (hooks.validate)
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

    after = configure(ctx.writable(), env, actor=actor(), origin="cli", reason=reason, hook=hook,
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



@envs_cmd.command("allow")
@click.argument("env")
@click.option("--users", help="Login names that may change ENV, comma-separated: alice,bob.")
@click.option("--anyone", is_flag=True, help="Remove the allow-list: anyone may change ENV.")
@reason_option
@yes_option
@json_option
@pass_ctx
def envs_allow(ctx: Context, env: str, users: str | None, anyone: bool, reason: str, yes: bool,
               as_json: bool) -> None:
    """Set who may deploy to, roll back in and reconfigure ENV (kept in the workspace; audited; only
    someone on the current list may change it)."""
    from fuseboard.ops.environments import set_allow

    if (users is None) == (not anyone):
        raise FuseboardError("give one of --users a,b and --anyone")
    names = None if anyone else [u.strip() for u in users.split(",")]
    if names is not None and names == [""]:
        raise FuseboardError("--users needs at least one login name (a list of nobody locks ENV for everyone)")
    ws = ctx.writable()
    confirm(visible(f"let {'anyone' if names is None else ', '.join(names)} change {env}?"), yes)
    after = set_allow(ws, env, names, actor=actor(), origin="cli", reason=reason)
    if as_json:
        emit_json({"name": env, "allow": after})
    else:
        who = "anyone may change it" if after is None else f"may change: {', '.join(after)}"
        click.echo(visible(f"{env}: {who}"))
