"""Layers point one way (faces -> ops -> monitoring -> store) and the core never imports Textual."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold(capsys) -> None:  # noqa: ANN001
    from importlinter.cli import lint_imports

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        code = lint_imports(no_cache=True)
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Contracts: 2 kept, 0 broken" in out
