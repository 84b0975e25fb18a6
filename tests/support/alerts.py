"""Check results to feed the alert machinery."""

from __future__ import annotations

from fuseboard.monitoring.checks import CheckResult, DeploymentChecks


def result(status: str, check: str = "drift", model: str = "credit-risk", env: str = "prod",
           version: int = 2) -> DeploymentChecks:
    """One deployment's checks with one check at ``status`` (mission-critical)."""
    return DeploymentChecks(model, env, version, "mission-critical", status,
                            [CheckResult(check, status, f"{check} is {status}")])
