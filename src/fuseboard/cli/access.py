"""Commands for who may change what and who is acting: environment allow-lists and identity."""

from __future__ import annotations

import click

from fuseboard.cli import Context, confirm, emit_json, json_option, pass_ctx, reason_option, yes_option
from fuseboard.cli.environments import envs_cmd, workspace_group
from fuseboard.errors import FuseboardError
from fuseboard.text import visible


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
    from fuseboard.ops.audit import current_actor
    from fuseboard.ops.environments import set_allow

    if (users is None) == (not anyone):
        raise FuseboardError("give one of --users a,b and --anyone")
    names = None if anyone else [u.strip() for u in users.split(",")]
    if names is not None and names == [""]:
        raise FuseboardError("--users needs at least one login name (a list of nobody locks ENV for everyone)")
    ws = ctx.writable()
    confirm(visible(f"let {'anyone' if names is None else ', '.join(names)} change {env}?"), yes)
    after = set_allow(ws, env, names, actor=current_actor(), origin="cli", reason=reason)
    if as_json:
        emit_json({"name": env, "allow": after})
    else:
        who = "anyone may change it" if after is None else f"may change: {', '.join(after)}"
        click.echo(visible(f"{env}: {who}"))


@workspace_group.command("identity")
@click.option("--allow-override/--no-override", "allow", default=None,
              help="Let FUSEBOARD_USER name the user (shared logins, the demo), or take it from the OS login.")
@reason_option
@yes_option
@json_option
@pass_ctx
def workspace_identity(ctx: Context, allow: bool | None, reason: str, yes: bool, as_json: bool) -> None:
    """Show or set where identity comes from: the OS login (default) or FUSEBOARD_USER (audited)."""
    from fuseboard.ops.audit import current_actor, os_user
    from fuseboard.ops.environments import identity_override, set_identity_override

    if allow is None:
        now = identity_override(ctx.readable())
    else:
        ws = ctx.writable()
        confirm(("let FUSEBOARD_USER name the user" if allow else "take identity from the OS login") + "?", yes)
        now = set_identity_override(ws, allow, actor=current_actor(), origin="cli", reason=reason)
    if as_json:
        emit_json({"identity_override": now, "os_user": os_user(), "acting_as": current_actor()})
    else:
        click.echo(visible(("FUSEBOARD_USER names the user (override allowed)" if now else "identity is the OS login")
                           + f"; you act as {current_actor()}"))
