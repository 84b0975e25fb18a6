"""Layers point one way (faces -> ops -> monitoring -> store) and the core never imports Textual."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support import ROOT



def test_import_contracts_hold() -> None:
    # in a process of its own: import-linter configures logging, which disables the loggers that
    # exist already (fuseboard.monitor's warnings went missing for every later test)
    done = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--no-cache"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 3 kept, 0 broken" in done.stdout
