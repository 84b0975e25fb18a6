"""Triage: is this drift hurting the model? One verdict per deployment, with its reasons.

From the deployment's window checks (``checks.WINDOW_CHECKS``' results):

===========  =====================================================================================
verdict      when
===========  =====================================================================================
harmful      measured performance is past its warn level; or estimated performance is (CBPE, DLE);
             or the drifted features carry at least the importance floor (the policy's
             ``importance_floor``, by default ``HARMFUL_SHARE``) of the model's importance
watch        drift without any of the above: in features carrying little of the importance (or
             importance not measured), in the features' joint distribution (multivariate), or in
             the predictions
ok           none of these
===========  =====================================================================================

``escalate`` applies the rule that goes with it: drift on a mission-critical model found harmful is
``crit``, whatever the drift check graded it (the drift checks that drifted are raised). Drift in
features under the importance floor stays at most ``warn`` (drift_verdict.py) unless the performance,
measured or estimated, says it hurts. One floor decides both, so the verdict and the drift check's
severity never disagree (watch beside a critical drift alert).

A verdict is only as good as its inputs: without estimators or labels, drift in important features is
the only sign of harm there is, and concept shift (labels change, inputs do not) is invisible until the
labels arrive (README, "Before the labels arrive").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Sequence

from fuseboard.monitoring.result import CheckResult
from fuseboard.status import Status

__all__ = ["HARMFUL_SHARE", "Triage", "escalate", "triage"]

HARMFUL_SHARE = 0.25  # the default importance floor (settings.Policy's): drift carrying as much is harmful on its own
Verdict = Literal["harmful", "watch", "ok"]
BAD = (Status.WARN, Status.CRIT)
DRIFT_CHECKS = ("drift", "multivariate_drift", "prediction_drift")


@dataclass
class Triage:
    verdict: Verdict
    reasons: list[str] = field(default_factory=list)  # the harmful ones first

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        """``harmful: estimated roc_auc 0.801 vs 0.912 (warn); ...``."""
        return f"{self.verdict}: {'; '.join(self.reasons)}" if self.reasons else self.verdict


def _degraded(result: CheckResult, what: str) -> str:
    graded = [c for c in result.details.get("checks", []) if c.get("degraded")]  # type: ignore[union-attr]
    if not graded:
        return f"{what} {result.status}"
    return ", ".join(f"{what} {c['metric']} {c['current']:.3f} vs {c['baseline']:.3f} ({c.get('grade', 'warn')})"
                     for c in graded)


def triage(checks: Sequence[CheckResult]) -> Triage:
    """The verdict of a deployment's checks (any of them; those absent count as quiet)."""
    found = {c.check: c for c in checks}
    harmful: list[str] = []
    watch: list[str] = []
    perf = found.get("performance")
    if perf is not None and perf.status in BAD:
        harmful.append(_degraded(perf, "measured"))
    est = found.get("estimated_performance")
    if est is not None and est.status in BAD:
        harmful.append(_degraded(est, "estimated"))
    drift = found.get("drift")
    if drift is not None and drift.status in BAD:
        drifted = [f["feature"] for f in drift.details.get("features", []) if f.get("drifted")]  # type: ignore[union-attr]
        names = ", ".join(drifted[:3]) + (f" and {len(drifted) - 3} more" if len(drifted) > 3 else "")
        carried = drift.details.get("drifted_importance")  # type: ignore[union-attr]
        if carried is None:
            watch.append(f"drift in {names} (importance not measured)")
        elif carried >= drift.details.get("importance_floor", HARMFUL_SHARE):  # type: ignore[union-attr]
            harmful.append(f"drift in {names}, {carried:.0%} of the model's importance")
        else:
            watch.append(f"drift in {names}, {carried:.0%} of the model's importance")
    for name, said in (("multivariate_drift", "the features moved together as they did not before"),
                       ("prediction_drift", "the predictions' distribution moved")):
        result = found.get(name)
        if result is not None and result.status in BAD:
            watch.append(said)
    if harmful:
        return Triage("harmful", harmful + watch)
    return Triage("watch", watch) if watch else Triage("ok")


def escalate(checks: Sequence[CheckResult], verdict: Triage, criticality: str) -> None:
    """Harmful drift on a mission-critical model is critical: the drift checks that drifted become ``crit``."""
    if verdict.verdict != "harmful" or criticality != "mission-critical":
        return
    for result in checks:
        if result.check in DRIFT_CHECKS and result.status == Status.WARN:
            result.status = Status.CRIT
            result.summary += "; crit: harmful on a mission-critical model"
