"""Click parameter types for numbers people type: bounded, finite, and refused in one usage line.

``click.INT`` accepts 10**30 (which no database column holds) and ``click.FLOAT`` accepts ``nan`` and
``inf`` (which pass every range check); these do neither. Parsing is ``fuseboard.inputs``'s.
"""

from __future__ import annotations

from typing import Any

import click

from fuseboard.errors import FuseboardError
from fuseboard.inputs import MAX_WHOLE


class Whole(click.ParamType):
    """A whole number between ``minimum`` and ``maximum`` (default: what every database column holds)."""

    name = "integer"

    def __init__(self, minimum: int = 0, maximum: int = MAX_WHOLE) -> None:
        self.minimum, self.maximum = minimum, maximum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        from fuseboard.inputs import whole

        if isinstance(value, int) and not isinstance(value, bool) and self.minimum <= value <= self.maximum:
            return value  # a default
        try:
            return whole(value, "", minimum=self.minimum, maximum=self.maximum)
        except FuseboardError as exc:
            self.fail(str(exc).removesuffix(" ()"), param, ctx)


class Number(click.ParamType):
    """A finite number (no NaN, no infinity) between the bounds given."""

    name = "number"

    def __init__(self, minimum: float | None = None, maximum: float | None = None) -> None:
        self.minimum, self.maximum = minimum, maximum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        from fuseboard.inputs import number

        try:
            return number(value, "", minimum=self.minimum, maximum=self.maximum)
        except FuseboardError as exc:
            self.fail(str(exc).removesuffix(" ()"), param, ctx)


VERSION = Whole(1)  # a model version: v1 and up
ID = Whole(1)  # a row id (alerts)
