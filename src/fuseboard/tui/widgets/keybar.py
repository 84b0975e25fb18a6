"""One line of key hints at the bottom of a screen.

A single Static instead of Textual's Footer (a widget per key): it costs a
fraction of the start-up time, which matters for the first frame over SSH.
Keys that cannot apply right now are dimmed; ``?`` explains why.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class KeyBar(Static):
    COMPONENT_CLASSES = {"keybar--key", "keybar--description", "keybar--disabled"}

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        background: $panel;
        color: $foreground;
        & > .keybar--key { color: $accent; text-style: bold; }
        & > .keybar--description { color: $foreground; }
        & > .keybar--disabled { color: $text-disabled; }
    }
    """

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _screen: object) -> None:
        self.update(self.hints())

    def hints(self) -> Text:
        """`key description` for each shown binding, in binding order, then the palette key."""
        key_style = self.get_component_rich_style("keybar--key")
        text_style = self.get_component_rich_style("keybar--description")
        off_style = self.get_component_rich_style("keybar--disabled")
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        seen: set[str] = set()
        for active in self.screen.active_bindings.values():
            binding = active.binding
            if not binding.show or not binding.description or binding.action in seen:
                continue
            seen.add(binding.action)
            line.append(f" {self.app.get_key_display(binding)} ", key_style if active.enabled else off_style)
            line.append(f"{binding.description} ", text_style if active.enabled else off_style)
        if self.app.ENABLE_COMMAND_PALETTE:
            line.append(" : ", key_style)
            line.append("palette", text_style)
        return line
