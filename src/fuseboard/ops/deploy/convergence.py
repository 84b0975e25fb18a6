"""After a change: waiting for the endpoint to report the recorded version, and settling the changes
whose process died while their hook ran (``reconcile``)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import select

from fuseboard.errors import FuseboardError
from fuseboard.monitoring import rollouts
from fuseboard.ops import hooks
from fuseboard.ops.deploy.applying import _finish
from fuseboard.ops.deploy.planning import _deployment
from fuseboard.ops.deploy.records import STALE_AFTER, ChangePlan, ChangeResult, ChangeState
from fuseboard.store import lookup
from fuseboard.store.db import Workspace
from fuseboard.store.models import Environment, Model, ModelVersion, Rollout, RolloutAction, RolloutState, utcnow


@dataclass
class Convergence:
    ok: bool
    expected: int
    reported: str | None
    seconds: float
    detail: str
    probed: bool = True  # False: no endpoint recorded, nothing to ask


def _probe_settings(m: Model) -> tuple[str, float, int]:
    """The model's own probe path, timeout and expected status (``monitoring set``)."""
    from fuseboard.monitoring.settings import policy_for

    policy = policy_for(m.monitoring or {})
    return policy.probe_path, float(policy.probe_timeout), int(policy.expected_status)


def _as_version(reported: str) -> str:
    number = reported.lstrip("v")
    return f"v{number}" if number.isdigit() else f"version {reported!r}"


def wait_converged(ws: Workspace, model: str, env: str, *, timeout: float = 30.0,
                   interval: float = 1.0) -> Convergence:
    """Probe the deployment's endpoint (with the model's probe settings) until it reports the
    recorded version, or ``timeout`` passes."""
    from fuseboard.monitoring.checks import probe

    start = time.monotonic()
    with ws.session() as s:
        m = lookup.model(s, model)
        e = lookup.environment(s, env)
        dep = _deployment(s, m, e)
        if dep is None:
            raise FuseboardError(f"nothing of {model} runs in {env}")
        expected = s.get(ModelVersion, dep.version_id).version
        url = dep.endpoint_url
        path, probe_timeout, status = _probe_settings(m)
    if not url:
        return Convergence(False, expected, None, 0.0, "no endpoint recorded; cannot confirm what it serves",
                           probed=False)
    reported: str | None = None
    while True:
        left = timeout - (time.monotonic() - start)
        result = probe(url, path, timeout=max(0.5, min(probe_timeout, left)), expected_status=status)
        reported = result.version
        if result.up and reported is not None and reported.lstrip("v") == str(expected):
            with ws.transaction() as s:
                rollouts.mark_converged(s, {(m.id, e.id): reported}, utcnow())
            return Convergence(True, expected, reported, time.monotonic() - start,
                               f"endpoint reports v{expected}")
        if time.monotonic() - start + interval > timeout:
            what = f"it reports {_as_version(reported)}" if reported is not None else (
                f"it is down ({result.error or f'HTTP {result.status_code}'})" if not result.up
                else "it reports no version")
            return Convergence(False, expected, reported, time.monotonic() - start,
                               f"the endpoint did not report v{expected} within {timeout:g} s; {what} "
                               f"({url.rstrip('/')}{path}); the monitor opens a version-mismatch alert if it does "
                               "not converge")
        time.sleep(interval)


def reconcile(ws: Workspace, *, now: datetime | None = None) -> list[ChangeResult]:
    """Settle the changes whose process died while their hook ran (``kill -9``, a lost SSH session).

    A pending rollout older than its hook's timeout (plus a minute) is finished from what the
    endpoint reports: the new version -> succeeded (the hook got through); anything else, or no
    endpoint -> failed, and the previous version stays recorded as serving. Never recorded as
    done when it was not. Audited as origin ``monitor``; safe to run from any process, any time.
    """
    from fuseboard.monitoring.checks import probe

    now = now or utcnow()
    with ws.session() as s:
        stale = []
        for r in s.exec(select(Rollout).where(Rollout.state == RolloutState.PENDING)):
            e = s.get(Environment, r.environment_id)
            timeout = timedelta(seconds=float(e.hook.get("timeout", hooks.DEFAULT_TIMEOUT)))
            if now - r.requested_at < timeout + STALE_AFTER:
                continue
            m = s.get(Model, r.model_id)
            dep = _deployment(s, m, e)
            to = s.get(ModelVersion, r.to_version_id).version
            was = s.get(ModelVersion, r.from_version_id).version if r.from_version_id else None
            url = dep.endpoint_url if dep else ""
            plan = ChangePlan(action=RolloutAction(r.action), model=m.name, environment=e.name, protected=e.protected,
                              criticality=m.criticality, from_version=was, to_version=to,
                              revision=dep.revision if dep else None, from_endpoint=url, endpoint_url=url)
            stale.append((r.id, e.id, plan, r.requested_at, url, _probe_settings(m)))
    results = []
    for rollout_id, env_id, plan, requested_at, url, (path, probe_timeout, status) in stale:
        reported = probe(url, path, timeout=probe_timeout, expected_status=status).version if url else None
        if reported is not None and reported.lstrip("v") == str(plan.to_version):
            outcome = hooks.HookResult(True, f"reconciled: the process running the hook stopped; the endpoint "
                                             f"reports v{plan.to_version}", "", "", 0.0)
        else:
            seen = f"the endpoint reports {reported}" if reported is not None else (
                "no endpoint to ask" if not url else "the endpoint reports no version")
            outcome = hooks.HookResult(False, f"abandoned: the process running the hook stopped; {seen}", "", "",
                                       0.0)
        with ws.session() as s:  # another process may have settled it meanwhile (_finish checks again)
            if s.get(Rollout, rollout_id).state != RolloutState.PENDING:
                continue
        settled = _finish(ws, plan, rollout_id, env_id, outcome, actor="monitor", origin="monitor",
                          reason="reconciled after the requesting process stopped", overridden=[],
                          started=requested_at, now=None)
        if settled.state != ChangeState.LATE:
            results.append(settled)
    return results
