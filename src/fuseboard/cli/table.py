"""Plain tables for the command line's listings, fitted to the terminal (80 columns when unknown).

Short columns keep their full width (never ``class…``); the one long free-text column comes last and is
cut with ``…`` to what is left of the line, or, when too little is left (and some of it would not fit),
goes on a line of its own under the row. ``wide`` prints every cell whole. Text from outside is made visible (``fuseboard.text.visible``).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from typing import Any, Sequence

import click
from rich.cells import cell_len

from fuseboard.text import visible

GAP = "  "
LONG_MIN = 30  # fewer columns than this left for the long column: it goes on its own line
INDENT = 5


def width() -> int:
    """The terminal's width (``COLUMNS`` wins), 80 when there is none."""
    return max(40, shutil.get_terminal_size((80, 24)).columns)


def short_time(at: Any, now: Any) -> str:
    """A local time as a listing shows it: ``03:12`` today, ``12-01 03:12`` another day."""
    local = at.astimezone()
    return f"{local:%H:%M}" if local.date() == now.astimezone().date() else f"{local:%m-%d %H:%M}"


def cut(text: str, room: int) -> str:
    """``text`` within ``room`` cells, ending in ``…`` when it had to be cut."""
    if cell_len(text) <= room:
        return text
    out, used = [], 0
    for ch in text:
        w = cell_len(ch)
        if used + w > room - 1:
            break
        out.append(ch)
        used += w
    return "".join(out).rstrip() + "…"


def _pad(text: str, size: int, right: bool) -> str:
    space = " " * max(0, size - cell_len(text))
    return space + text if right else text + space


@dataclass(frozen=True)
class Column:
    name: str
    right: bool = False  # numbers line up on the right


def render(columns: Sequence[Column], rows: Sequence[Sequence[str]], *, wide: bool = False,
           columns_wide: int | None = None, long_min: int = LONG_MIN) -> list[str]:
    """The table's lines: ``columns[-1]`` is the long free-text column, the others are short."""
    total = columns_wide or width()
    short, long_col = columns[:-1], columns[-1]
    cells = [[visible(c) for c in row] for row in rows]
    sizes = [max([cell_len(c.name)] + [cell_len(r[i]) for r in cells]) for i, c in enumerate(short)]
    gap = GAP if wide or sum(sizes) + len(GAP) * (len(sizes) - 1) <= total else " "  # tighter before too wide
    used = sum(sizes) + len(gap) * len(sizes)
    inline = wide or total - used >= long_min or all(cell_len(r[-1]) <= total - used for r in cells)  # fits: stays

    def line(values: Sequence[str]) -> str:
        return gap.join(_pad(v, sizes[i], short[i].right) for i, v in enumerate(values))

    out = [(line([c.name for c in short]) + gap + long_col.name) if inline else line([c.name for c in short])]
    for r in cells:
        head, text = line(r[:-1]), r[-1]
        if inline:
            out.append((head + gap + (text if wide else cut(text, total - used))).rstrip())
        else:
            out.append(head.rstrip())
            if text:
                out.append(" " * INDENT + cut(text, total - INDENT))
    return [x.rstrip() for x in out]


def echo_table(columns: Sequence[Column], rows: Sequence[Sequence[str]], *, wide: bool = False,
               title: str | None = None, long_min: int = LONG_MIN) -> None:
    if title:
        click.echo(visible(title))
    for text in render(columns, rows, wide=wide, long_min=long_min):
        click.echo(text)
