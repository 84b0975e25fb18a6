"""The root group loads a command's module only when that command runs.

``COMMANDS`` maps each top-level name to ``"module:attribute"`` and the first paragraph of the
command's docstring, so ``fuseboard --help`` lists every command without importing any of them
(``tests/integration/test_cli_lazy.py`` checks the summaries against the real docstrings).
A hidden name is an alias kept for scripts: it runs, it is not listed.
"""

from __future__ import annotations

import copy
import importlib
from dataclasses import dataclass

import click

from fuseboard.cli.base import FuseboardGroup


@dataclass(frozen=True)
class Lazy:
    target: str  # "fuseboard.cli.models:models"
    summary: str  # the first paragraph of its docstring, on one line
    hidden: bool = False


_M = "fuseboard.cli."
COMMANDS: dict[str, Lazy] = {
    "alerts": Lazy(_M + "alerts:alerts_cmd", "List open alerts (firing and acknowledged), worst first: who acknowledged "
                   "or silenced them, how often they flapped; --json adds each model's owner, who is on call and its "
                   "runbook."),
    "audit": Lazy(_M + "audit:audit_cmd", "Show the audit trail, newest first (`audit verify` checks its hash chain)."),
    "backup": Lazy(_M + "workspace:backup_cmd", "A consistent copy of the (live) workspace in FILE, its artifacts "
                   "beside it; open it with --db sqlite:///FILE."),
    "changes": Lazy(_M + "changes:changes_cmd", "Changes in flight: clear one whose process crashed while its hook "
                    "ran."),
    "check": Lazy(_M + "monitoring:check_cmd", "Run every check once on every deployment; exit 3 if anything is "
                  "critical."),
    "compact": Lazy(_M + "workspace:compact_cmd", "Compact old monitoring windows into hourly and daily profiles "
                    "(exact; the monitor does it hourly)."),
    "demo": Lazy(_M + "demo:demo", "Build the demo workspace (5 real models, teams, deployments) and open it, live."),
    "deploy": Lazy(_M + "changes:deploy_cmd", "Put VERSION of MODEL into an environment, through its hook and gates "
                   "(audited)."),
    "envs": Lazy(_M + "workspace:envs_cmd", "List environments in promotion order, with protection, soak, "
                 "convergence time and hook."),
    "handover": Lazy(_M + "ownership:handover_cmd", "Hand a model from its builders to its operators, by checklist."),
    "history": Lazy(_M + "changes:history_cmd", "A deployment's rollouts, newest first, or what was running at a point "
                    "in time."),
    "incident": Lazy(_M + "incident:incident_cmd", "MODEL in ENV as an incident: checks worst first, what changed "
                     "around the alert, owner and on-call, the runbook, and whether a rollback is likely to help (and "
                     "why)."),
    "ingest": Lazy(_M + "monitoring:ingest_cmd", "Fold a file of inference rows (CSV, Parquet or JSON Lines) into the "
                   "monitoring windows."),
    "ingest-labels": Lazy(_M + "monitoring:ingest_labels_cmd", "Join true labels (columns `request_id`, `label`) to "
                          "predictions ingested earlier."),
    "ingest-profiles": Lazy(_M + "monitoring:ingest_profiles_cmd", "Write window profiles folded elsewhere "
                            "(fuseboard.profile_batch) into the monitoring windows."),
    "metrics": Lazy(_M + "metrics:metrics_cmd", "Print the workspace's Prometheus metrics, or write them to a file "
                    "for node_exporter (--textfile)."),
    "models": Lazy(_M + "models:models", "List models: health, task, tier, owner, latest version, the version in each "
                   "environment, description."),
    "monitor": Lazy(_M + "monitoring:monitor_cmd", "Run the monitoring loop headless until stopped (SIGINT/SIGTERM), "
                    "e.g. under systemd."),
    "monitoring": Lazy(_M + "monitoring:monitoring_cmd", "How each model is monitored: show and change its settings."),
    "outbox": Lazy(_M + "outbox:outbox_cmd", "Notification receivers: events delivered, waiting and failed (dead "
                   "letters); `outbox retry` resends."),
    "ownership": Lazy(_M + "ownership:ownership_cmd", "The ownership policy."),
    "people": Lazy(_M + "ownership:people_cmd", "List people with their team and contact details."),
    "promote": Lazy(_M + "changes:promote_cmd", "Promote MODEL into an environment: the version serving in the "
                    "environment before it, through the gates."),
    "register": Lazy(_M + "models:register", "Register a new version of MODEL from a scikit-learn artifact."),
    "report": Lazy(_M + "report:report_cmd", "MODEL's checks in ENV period by period, from the stored windows: drift, "
                   "performance (estimated and measured), quality."),
    "rollback": Lazy(_M + "changes:rollback_cmd", "Put back the newest known-good version of MODEL older than the one "
                     "serving, through the environment's hook (audited); the version left stops being known-good "
                     "there. Refuses when there is none."),
    "rota": Lazy(_M + "ownership:rota_cmd", "A team's on-call rotation, shifts and overrides."),
    "shift": Lazy(_M + "ownership:shift_cmd", "What changed since the current on-call shift began: deploys, rollbacks, "
                  "alerts, handovers."),
    "signoff": Lazy(_M + "ownership:signoff_cmd", "Record user-acceptance sign-off of VERSION by the business or IT "
                    "side (a promotion gate)."),
    "silence": Lazy(_M + "alerts:silence_cmd", "Silence a deployment's alerts for a while (they still open and "
                    "resolve, muted).", hidden=True),  # `alerts silence`; kept for scripts
    "teams": Lazy(_M + "ownership:teams_cmd", "List teams: kind, who is on call now and next, members and how many "
                  "models they own."),
    "workspace": Lazy(_M + "workspace:workspace_group", "Move a workspace between databases; say where identity comes "
                      "from."),
}


_NO_SUCH = getattr(click.exceptions, "NoSuchCommand", None)  # Click 8.4 and later suggest close names


def load(name: str) -> click.Command:
    """The command registered as ``name``, its module imported now."""
    module, _, attr = COMMANDS[name].target.partition(":")
    command = getattr(importlib.import_module(module), attr)
    if not isinstance(command, click.Command):
        raise TypeError(f"{COMMANDS[name].target} is not a click command")
    return command


class LazyGroup(FuseboardGroup):
    """A ``FuseboardGroup`` whose commands are the ``COMMANDS`` table, each imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in COMMANDS:
            return self.commands.get(cmd_name)
        command = load(cmd_name)
        if COMMANDS[cmd_name].hidden:  # the alias runs the same command, unlisted (also in completion)
            command = copy.copy(command)
            command.hidden = True
        return command

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None,
                                                                          list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:  # "did you mean" from the table (Click looks in the empty self.commands)
            if _NO_SUCH is None or not isinstance(exc, _NO_SUCH):
                raise
            raise _NO_SUCH(exc.command_name, possibilities=[*COMMANDS, *self.commands], ctx=ctx) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The listing from the table: no command module is imported to print it."""
        shown = sorted([(name, entry.summary) for name, entry in COMMANDS.items() if not entry.hidden]
                       + [(name, c.get_short_help_str()) for name, c in self.commands.items() if not c.hidden])
        if not shown:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in shown)
        with formatter.section("Commands"):
            formatter.write_dl([(name, click.Command(name, help=summary).get_short_help_str(limit))
                                for name, summary in shown])
