"""What the environment tests share (tests/integration/test_hooks.py, test_change_safety.py,
test_convergence.py, test_audit_trail.py): the CLI runner, reads of the workspace (what serves where,
rollout history, audit events) and deploy hooks set on an environment.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Any

from click.testing import CliRunner

from fuseboard.cli import cli
from fuseboard.ops.environments import configure
from fuseboard.ops.views import audit_events, model_detail, rollout_history
from fuseboard.store.db import open_workspace

PY = sys.executable
HOUR = timedelta(hours=1)  # prod's soak
# hook scripts: no braces in them (a brace is a placeholder in hook.command)
OK_SCRIPT = "import sys; print('deploying', sys.argv[1], 'v' + sys.argv[2], 'to', sys.argv[3], 'as', sys.argv[4])"
FAIL_SCRIPT = ("import sys; print('pulling image for', sys.argv[1]); "
               "sys.stderr.write('boom: registry unreachable' + chr(10)); sys.exit(3)")


def run(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def serving(url: str, model: str) -> dict[str, int]:
    """environment -> the version recorded as serving there."""
    detail = model_detail(open_workspace(url), model)
    return {d.environment: d.version for d in detail.deployments}


def history(url: str, model: str, env: str) -> list[Any]:
    return rollout_history(open_workspace(url), model, env) or []


def events(url: str, **filters: Any) -> list[Any]:
    return audit_events(open_workspace(url), limit=1000, **filters)


def audit_count(url: str) -> int:
    return len(events(url))


def set_hook(url: str, env: str, hook: dict[str, Any], **settings: Any) -> None:
    configure(open_workspace(url), env, actor="tester", origin="cli", reason="test", hook=hook, **settings)


def command_hook(script: str, *extra: str, timeout: float = 10) -> dict[str, Any]:
    return {"command": [PY, "-c", script, *extra, "{model}", "{version}", "{env}", "{action}"], "timeout": timeout}
