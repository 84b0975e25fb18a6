"""The ``:`` palette: jump to any model, run any console action."""

from __future__ import annotations

from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider


class ModelCommands(Provider):
    """``open <model>`` for every model in the workspace."""

    async def startup(self) -> None:
        self.names: list[tuple[str, str]] = []
        app: Any = self.app
        rows = await app.run_in_thread(_model_names, app)
        self.names = rows

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, summary in self.names:
            text = f"open {name}"
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(self.app.open_model, name), help=summary)

    async def discover(self) -> Hits:
        for name, summary in self.names[:20]:
            yield DiscoveryHit(f"open {name}", partial(self.app.open_model, name), help=summary)


def _model_names(app: Any) -> list[tuple[str, str]]:
    from fuseboard.ops.views import model_rows

    return [(r.name, f"{r.criticality} · {r.task} · owner {r.owner or '-'}") for r in model_rows(app.workspace())]


class ActionCommands(Provider):
    """Screens, refresh, filter, themes, help and quit; in the demo, whom to act as."""

    def _commands(self) -> list[tuple[str, Any, str]]:
        app: Any = self.app
        commands = [
            ("go to Models", partial(app.action_goto, "models"), "screen 1 (key 1)"),
            ("go to Environments", partial(app.action_goto, "environments"),
             "screen 2: what runs where; rollback, promote, deploy (key 2)"),
            ("go to Monitoring", partial(app.action_goto, "monitoring"), "screen 3: open alerts (key 3)"),
            ("go to Ownership", partial(app.action_goto, "ownership"),
             "screen 4: on call, policy violations, handovers (key 4)"),
            ("audit trail", app.open_audit, "every change of state, newest first; the hash chain verified"),
            ("refresh", app.action_refresh, "reload this screen from the workspace (ctrl+r)"),
            ("filter models", app.action_filter_models, "type to narrow the list (/)"),
            ("help", app.action_help, "every key of this screen (?)"),
            ("quit", app.action_quit, "leave fuseboard (q, ctrl+c)"),
        ]
        screen: Any = self.screen  # the screen the palette was opened over
        focus = getattr(screen, "deployment_focus", None)
        if focus is not None and hasattr(screen, "action_rollback"):  # the alert list, the incident view
            commands.append((f"rollback {focus[0]} in {focus[1]}", partial(_rollback, screen),
                             "roll back to the last known-good older version (r)"))
        elif getattr(screen, "selected_cell", None) is not None:  # Environments
            commands.append((f"rollback {screen.selected_row.model} in {screen.selected_env}",
                             partial(_rollback, screen, "change", "rollback"), "roll back the selected deployment (r)"))
        for person in app.demo_people:  # the demo only: play one of its people, on either side of a handover
            if person.handle != app.actor:
                commands.append((f"act as: {person.handle}", partial(app.act_as, person.handle),
                                 f"demo: play {person.name} ({person.team or 'no team'})"))
        for name in sorted(app.fuseboard_themes):
            commands.append((f"theme: {name}", partial(app.choose_theme, name), "switch theme and remember it"))
        return commands

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, callback, help_text in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), callback, help=help_text)

    async def discover(self) -> Hits:
        for text, callback, help_text in self._commands():
            yield DiscoveryHit(text, callback, help=help_text)


def _rollback(screen: Any, action: str = "rollback", *parameters: str) -> None:
    """The screen's rollback, or why it cannot roll back now (in its status line)."""
    reason = screen.unavailable_reason(action, *parameters)
    if reason:
        screen.say(f"rollback is unavailable: {reason}")
    else:
        getattr(screen, f"action_{action}")(*parameters)
