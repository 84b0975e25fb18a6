"""Reading a workspace for a scrape: the typed records (``WorkspaceMetrics``, a ``DeploymentMetrics`` per
deployment) from the model, deployment, check-state and alert tables, the few values the metrics need found
in the checks' details as stored (JSON text), and the rows of the stored windows summed in a thread of their
own. It writes nothing and knows nothing of the text format.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Text, case, cast, func, select

from fuseboard.monitoring.pauses import gc_paused
from fuseboard.status import OPEN_ALERT_STATES, Status
from fuseboard.store.db import Workspace
from fuseboard.store.models import Alert, CheckState, Deployment, Environment, Model, ModelVersion, WindowProfile

__all__ = ["CHECKS", "STATUS_VALUES", "DeploymentMetrics", "FeatureScore", "WorkspaceMetrics", "drift_counts", "read"]

#: The checks every deployment reports a status for, -1 until one is stored (checks.CHECKS, spelled out
#: here: a scrape need not import the checks and their numpy and scipy).
CHECKS = ("drift", "multivariate_drift", "prediction_drift", "estimated_performance", "performance", "quality",
          "staleness", "health")

#: ``fuseboard_check_status``'s value for each status (an unknown stored word reads as none).
STATUS_VALUES: dict[Status, float] = {Status.NONE: -1.0, Status.OK: 0.0, Status.WARN: 1.0, Status.ERROR: 1.5,
                                      Status.CRIT: 2.0}

SEVERITIES = (Status.WARN, Status.ERROR, Status.CRIT)  # always in fuseboard_alerts_open, 0 when none


# -- what a scrape reads ------------------------------------------------------------------------------

@dataclass(frozen=True)
class FeatureScore:
    """One feature's drift, as the deployment's latest drift check scored it."""

    feature: str
    method: str  # the method that scored it: psi, ks, ...
    score: float
    drifted: bool


@dataclass
class DeploymentMetrics:
    """What a scrape reports about one deployment (a model in an environment)."""

    model: str
    environment: str
    version: int
    statuses: dict[str, Status] = field(default_factory=dict)  # every check in CHECKS, and any other stored
    drift_share: float | None = None  # share of the scored features that drifted (None: no drift verdict)
    drifted_importance: float | None = None  # share of the importance they carry (None: not measured)
    performance: dict[str, float] = field(default_factory=dict)  # metric -> value over the performance window
    baselines: dict[str, float] = field(default_factory=dict)  # metric -> the baseline it was graded against
    probe_up: bool | None = None  # None: no probe result (no endpoint, never probed, the check failed)
    probe_latency_seconds: float | None = None
    ingested_rows: int | None = None  # None: not summed (yet)
    features: list[FeatureScore] = field(default_factory=list)  # only when read with per_feature


@dataclass
class WorkspaceMetrics:
    """One scrape's reading of a workspace."""

    deployments: list[DeploymentMetrics]  # by model name, then environment order
    alerts_open: dict[str, int]  # severity -> open alerts (warn, error and crit always present)
    deployment_alerts: dict[tuple[str, str, str], int]  # (model, environment, severity) -> open alerts
    seconds: float = 0.0  # how long the reading took


def read(ws: Workspace, *, per_feature: bool = False) -> WorkspaceMetrics:
    """Read what the metrics report from the workspace, in six queries whatever the number of deployments.

    Parameters
    ----------
    ws : Workspace
    per_feature : bool, default=False
        Also each feature's drift score (``DeploymentMetrics.features``).

    Returns
    -------
    metrics : WorkspaceMetrics
        A ``DeploymentMetrics`` per deployment, with its rows summed.
    """
    return _read(ws, per_feature, _RowSums(ws, wait=None))


def _read(ws: Workspace, per_feature: bool, sums: _RowSums) -> WorkspaceMetrics:
    began = time.perf_counter()
    pending = sums.start()  # beside the other queries: its own connection, and SQLite lets go of the GIL
    with gc_paused(), ws.engine.connect() as conn:
        models = dict(conn.execute(select(Model.id, Model.name)).all())
        envs = {id_: (name, order) for id_, name, order in conn.execute(
            select(Environment.id, Environment.name, Environment.order))}
        by_key: dict[tuple[int, int], DeploymentMetrics] = {}
        for model_id, env_id, version in conn.execute(
                select(Deployment.model_id, Deployment.environment_id, ModelVersion.version)
                .join(ModelVersion, ModelVersion.id == Deployment.version_id)):
            by_key[(model_id, env_id)] = DeploymentMetrics(models[model_id], envs[env_id][0], version,
                                                           dict.fromkeys(CHECKS, Status.NONE))
        _check_states(conn, by_key, per_feature)
        alerts_open = {str(severity): 0 for severity in SEVERITIES}
        deployment_alerts: dict[tuple[str, str, str], int] = {}
        for model_id, env_id, severity, count in conn.execute(
                select(Alert.model_id, Alert.environment_id, Alert.severity, func.count())
                .where(Alert.state.in_(OPEN_ALERT_STATES))
                .group_by(Alert.model_id, Alert.environment_id, Alert.severity)):
            alerts_open[severity] = alerts_open.get(severity, 0) + count
            if model_id in models and env_id in envs:
                deployment_alerts[(models[model_id], envs[env_id][0], severity)] = count
    totals = sums.result(pending)
    if totals is not None:
        for key, found in by_key.items():
            found.ingested_rows = totals.get(key, 0)
    order = {name: rank for name, rank in envs.values()}
    deployments = sorted(by_key.values(), key=lambda d: (d.model, order[d.environment], d.environment))
    return WorkspaceMetrics(deployments, alerts_open, deployment_alerts, time.perf_counter() - began)


def _check_states(conn: Any, by_key: dict[tuple[int, int], DeploymentMetrics], per_feature: bool) -> None:
    """Every check's status, and the details of the drift, performance and health checks as stored (JSON
    text, decoded here only as far as needed): one row per deployment, in one pass over the table."""
    check, details = CheckState.check, CheckState.details

    def text_of(name: str) -> Any:
        return func.max(case((check == name, cast(details, Text))))

    for model_id, env_id, statuses, drift, perf, health in conn.execute(
            select(CheckState.model_id, CheckState.environment_id,
                   func.aggregate_strings(check + "=" + CheckState.status, ","),
                   text_of("drift"), text_of("performance"), text_of("health"))
            .group_by(CheckState.model_id, CheckState.environment_id)).fetchall():
        found = by_key.get((model_id, env_id))
        if found is None:  # check states left by a deployment that no longer exists
            continue
        for pair in statuses.split(","):  # (check names and status words are code's: no commas, no "=")
            name, _, status = pair.partition("=")
            found.statuses[name] = _STATUS.get(status, Status.NONE)
        if drift:
            _drift(found, drift, per_feature)
        if perf:
            _performance(found, perf)
        if health:
            _health(found, health)


# -- the details, read from their JSON text --------------------------------------------------------------
#
# A scrape reads 10,000 drift checks' details (25 features each, 54 MB) and as many health checks' (a
# history of 120 probes each, 46 MB). Decoding them takes 0.4 s and 0.2 s (SQL's JSON functions no less),
# so the few values the metrics need are found in the text instead, where the details' contract
# (details.py) makes that exact: a key followed by its colon can only be a key, since inside a string
# every quote is escaped (a feature named ``x","drifted":true`` is stored as ``"x\\",\\"drifted\\":true"``),
# and the keys read here occur once in a HealthDetails, once in a DriftDetails (``drifted_importance``)
# or once per feature entry (``drifted``, beside its ``feature``). Anything unexpected is decoded whole.

_STATUS = {status.value: status for status in Status}  # (Status.of, without its call: 80,000 a scrape)
_NUMBER = r"(-?[0-9][0-9.eE+-]*|null)"
_IMPORTANCE = re.compile(r'"drifted_importance":' + _NUMBER)
_UP = re.compile(r'"up":\s?(true|false)')
_LATENCY = re.compile(r'"latency_ms":\s?' + _NUMBER)  # (both near the start of the health details)


def _number(value: object) -> float | None:
    return float(value) if type(value) in (int, float) else None  # (not bool)


def _scalar(text: str | None) -> float | None:
    try:
        return None if text is None or text == "null" else float(text)
    except ValueError:
        return None


def _loads(text: str) -> dict[str, Any]:
    import orjson

    try:
        found = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}
    return found if isinstance(found, dict) else {}


def drift_counts(text: str) -> tuple[int, int] | None:
    """How many features a drift check's details (JSON text, as stored) say drifted, and how many it scored,
    counted in the text; None when the text does not say so plainly (then it is decoded).

    Each feature's entry has one ``"drifted":`` key and one ``"feature":`` key, so their counts must
    agree. The text must be compact JSON, as orjson (fuseboard's writer) writes it: ``json.dumps``'s
    ``": "`` is left to the decoder.
    """
    first = text.find('"drifted":')
    if first < 0 or text[first + 10:first + 11] not in ("t", "f"):
        return None
    scored = text.count('"drifted":')
    if scored != text.count('"feature":'):
        return None
    return text.count('"drifted":t'), scored


def _drift(found: DeploymentMetrics, text: str, per_feature: bool) -> None:
    counts = None if per_feature else drift_counts(text)
    if counts is not None:
        found.drift_share = counts[0] / counts[1]
        at = text.rfind('"drifted_importance":')  # (after the features: from the end is quicker)
        carried = _IMPORTANCE.match(text, at) if at >= 0 else None
        found.drifted_importance = _scalar(carried.group(1)) if carried else None
        return
    details = _loads(text)
    scored = [f for f in details.get("features") or () if isinstance(f, dict)]
    if not scored:
        return
    found.drift_share = sum(bool(f.get("drifted")) for f in scored) / len(scored)
    found.drifted_importance = _number(details.get("drifted_importance"))
    if per_feature:
        found.features = [FeatureScore(str(f.get("feature", "")), str(f.get("method", "")), score,
                                       bool(f.get("drifted")))
                          for f in scored if (score := _number(f.get("score"))) is not None]


def _performance(found: DeploymentMetrics, text: str) -> None:
    details = _loads(text)  # (small: a few metrics)
    metrics = details.get("metrics")
    if isinstance(metrics, dict):
        found.performance = {k: float(v) for k, v in metrics.items() if type(v) in (int, float)}
    for graded in details.get("checks") or ():
        if isinstance(graded, dict) and (base := _number(graded.get("baseline"))) is not None:
            found.baselines[str(graded.get("metric"))] = base


def _health(found: DeploymentMetrics, text: str) -> None:
    up = _UP.search(text)
    if up is not None:
        latency = _LATENCY.search(text)
        latency_ms = _scalar(latency.group(1)) if latency else None
        found.probe_up = up.group(1) == "true"
    else:  # no probe (no endpoint, or the check failed: "{}"), or details this reading does not know
        details = _loads(text)
        if type(details.get("up")) is not bool:
            return
        found.probe_up, latency_ms = details["up"], _number(details.get("latency_ms"))
    found.probe_latency_seconds = None if latency_ms is None else latency_ms / 1000


@dataclass
class _Sum:
    """One run of ``_RowSums``: done once it has finished, with the error that ended it, if any."""

    done: threading.Event = field(default_factory=threading.Event)
    error: Exception | None = None


class _RowSums:
    """The rows of the stored windows summed per deployment, in a thread of its own.

    ``wait`` None (``read``, ``scrape``, the text file): every ``start`` sums afresh and ``result``
    waits for it. Otherwise (the server) a sum starts only when none is running and the last one is
    ten times its own duration old; the scrape that started it waits for it at most ``wait`` seconds,
    and every scrape reports the last sum that finished (None before the first).
    """

    def __init__(self, ws: Workspace, *, wait: float | None) -> None:
        self.ws = ws
        self.wait = wait
        self._lock = threading.Lock()
        self._running: _Sum | None = None
        self._totals: dict[tuple[int, int], int] | None = None
        self._finished = 0.0  # monotonic time the last sum finished
        self._took = 0.0  # how long it took

    def start(self) -> _Sum | None:
        """A sum started now, or None when none is due."""
        with self._lock:
            if self._running is not None or (self.wait is not None and self._totals is not None
                                             and time.monotonic() - self._finished < 10 * self._took):
                return None
            run = self._running = _Sum()
        threading.Thread(target=self._sum, args=(run,), name="metrics-rows", daemon=True).start()
        return run

    def _sum(self, run: _Sum) -> None:
        began = time.monotonic()
        try:
            with self.ws.engine.connect() as conn:
                totals = {(m, e): int(rows or 0) for m, e, rows in conn.execute(
                    select(WindowProfile.model_id, WindowProfile.environment_id, func.sum(WindowProfile.rows))
                    .group_by(WindowProfile.model_id, WindowProfile.environment_id))}
        except Exception as exc:  # noqa: BLE001  (raised in the scrape that waits for it)
            run.error = exc
        else:
            with self._lock:
                self._totals, self._finished, self._took = totals, time.monotonic(), time.monotonic() - began
        finally:
            with self._lock:
                self._running = None
            run.done.set()

    def result(self, run: _Sum | None) -> dict[tuple[int, int], int] | None:
        """The last sums finished, after waiting for ``run`` (at most ``wait`` seconds); raises its error."""
        if run is not None and run.done.wait(self.wait) and run.error is not None:
            raise run.error
        with self._lock:
            return self._totals
