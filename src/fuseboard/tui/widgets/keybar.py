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

    def on_resize(self) -> None:
        self.update(self.hints())

    # Given up first when the line does not fit (each stays in ``?``): quitting, then the filter.
    DROP_FIRST = ("quit", "app.quit", "filter")

    def hints(self) -> Text:
        """`key description` for each shown binding, in binding order, then the palette key.

        Too wide for the bar, it closes up the spacing, then leaves out ``q`` and ``/`` (both in ``?``),
        so the screen's own keys, ``?`` and ``:`` always show.
        """
        key_style = self.get_component_rich_style("keybar--key")
        text_style = self.get_component_rich_style("keybar--description")
        off_style = self.get_component_rich_style("keybar--disabled")
        items: list[tuple[str, str, bool, str]] = []
        seen: set[str] = set()
        for active in self.screen.active_bindings.values():
            binding = active.binding
            if not binding.show or not binding.description or binding.action in seen:
                continue
            seen.add(binding.action)
            items.append((self.app.get_key_display(binding), binding.description, active.enabled, binding.action))
        if self.app.ENABLE_COMMAND_PALETTE:
            items.append((":", "palette", True, "command_palette"))
        width = self.size.width or self.app.size.width or 80

        def build(shown: list[tuple[str, str, bool, str]], gap: str) -> Text:
            line = Text(no_wrap=True, overflow="ellipsis", end="")
            for i, (key, description, enabled, _) in enumerate(shown):
                line.append(f" {key} ", key_style if enabled else off_style)
                line.append(description + (gap if i < len(shown) - 1 else ""), text_style if enabled else off_style)
            return line

        line = build(items, " ")
        if line.cell_len <= width:
            return line
        for drop in (None, *self.DROP_FIRST):
            items = [i for i in items if i[3] != drop]
            line = build(items, "")
            if line.cell_len <= width:
                return line
        return line
