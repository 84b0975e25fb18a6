"""Helpers shared by the test modules (not tests themselves): a test module never imports another
test module, it imports from here or uses the fixtures of ``tests/conftest.py``.

- ``tests.support.console``: the one console app factory and the keys-and-screens helpers;
- ``tests.support.rows``: inference rows and the ingest/check/register helpers built on them;
- ``tests.support.http``: the local HTTP server behind the ``http_server`` fixture;
- ``tests.support.processes``: reading a child process's output with a deadline;
- ``tests.support.deploys``: the CLI runner, workspace reads and deploy hooks of the environment tests;
- ``tests.support.ownership``: the CLI checks, reads and store setup of the ownership and handover tests;
- ``tests.support.incidents``: the alerts and monitoring-screen keys of the console's incident tests.
- ``tests.support.real_data``: real data sets shipped inside packages, cut into windows, and no-shift controls.
"""

from __future__ import annotations

import os
from pathlib import Path

# the server the workspace fixtures create their PostgreSQL databases on (unset: SQLite files)
PG_SERVER = os.environ.get("FUSEBOARD_TEST_POSTGRES") or None
ROOT = Path(__file__).resolve().parents[2]  # the repository (pyproject.toml, README.md, src/)
FIXTURES = ROOT / "tests" / "fixtures"  # data files the tests read (see its README.md)
