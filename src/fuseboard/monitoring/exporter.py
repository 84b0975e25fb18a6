"""Prometheus metrics of a workspace, read at scrape time: ``fuseboard monitor --metrics-port`` serves them,
``fuseboard metrics`` writes them for node_exporter's textfile collector.

Each scrape reads the workspace afresh in six queries, whatever the number of deployments: the model
and environment names, the deployments with their versions, one pass over the check states (a row per
deployment), the open alerts counted, and the rows of the stored windows summed per deployment (in a
thread beside the others). It writes nothing.

=======================================================  ===========================================================
metric                                                   what it reads
=======================================================  ===========================================================
``fuseboard_check_status{model,environment,check}``      ``CheckState.status`` of every deployment and check in
                                                         ``CHECKS`` (and any other stored): -1 none (no verdict yet,
                                                         or never run), 0 ok, 1 warn, 1.5 error (the check could
                                                         not run: between warn and crit, as ``Status`` orders
                                                         them), 2 crit. ``>= 1`` is warn or worse, ``>= 2`` crit
``fuseboard_drift_share{model,environment}``             the drift check's details: the share of the features it
                                                         scored that drifted (what the model's ``drift_share``
                                                         setting is compared with); absent without a drift verdict
``fuseboard_drifted_importance_share{...}``              the same details: the share of the model's permutation
                                                         importance that the drifted features carry (versions whose
                                                         importance was measured)
``fuseboard_performance{model,environment,metric}``      the performance check's details: each metric measured on
                                                         the labelled rows of its window
``fuseboard_performance_baseline{...,metric}``           the same details: the validation baseline each tolerated
                                                         metric was graded against
``fuseboard_probe_up{model,environment}``                the health check's details: 1 when the last probe got the
                                                         expected answer, else 0 (absent without an endpoint)
``fuseboard_probe_latency_seconds{...}``                 the same details: the last probe's latency (absent when it
                                                         got no answer)
``fuseboard_deployed_version_info{...,version}``         ``Deployment``: the version serving, always 1
``fuseboard_alerts_open{severity}``                      open alerts (firing or acknowledged) by severity; warn,
                                                         error and crit always present (0 when none)
``fuseboard_deployment_alerts_open{...,severity}``       the same per deployment, for those with open alerts
``fuseboard_ingested_rows_total{model,environment}``     ``WindowProfile.rows`` summed over every stored window of
                                                         the deployment, all versions (see below)
``fuseboard_feature_drift_score{...,feature,method}``    with ``per_feature`` only (a series per feature): each
                                                         feature's score in the latest drift check (a p-value for
                                                         ks, chisquare and ztest, lower is more drift; a distance
                                                         otherwise), and ``fuseboard_feature_drifted`` (1 or 0)
``fuseboard_monitor_leader``                             1 while the process serving the metrics holds the monitor
                                                         lease (its ``monitor.leading``); 0 otherwise, and always 0
                                                         without a monitor (``fuseboard metrics``)
``fuseboard_monitor_cycle_duration_seconds{kind}``       with a monitor: ``Monitor.timings``, the latest cycle's
                                                         length per kind (health, drift, performance)
``fuseboard_monitor_last_success_timestamp_seconds{..}`` with a monitor: when a cycle of that kind last finished
                                                         well (Unix time; absent until one has)
``fuseboard_scrape_error``                               1 when this scrape could not read the workspace, else 0
``fuseboard_scrape_duration_seconds``                    how long this scrape took to read the workspace
=======================================================  ===========================================================

**Rows ingested.** No table records ingests as they happen (raw rows are never stored, and
``IngestedBatch`` keeps only labelled batches with request ids, to refuse repeats), so the counter is
the sum of ``WindowProfile.rows`` over the stored windows. Compaction into hourly and daily profiles
keeps that sum exactly; only ``fuseboard compact --delete-after`` lowers it, which Prometheus reads as
a counter reset (one spurious ``rate()`` spike). It is the one query whose cost grows with the history
kept rather than with the deployments, so the server runs it beside the others and waits for it at
most ``ROWS_WAIT`` seconds: a slower sum finishes in the background and the next scrapes report it
(a new one starts once the last is ten times its own duration old). ``fuseboard metrics`` waits for it.

**Errors.** A database error during a scrape does not stop the server: the scrape reports
``fuseboard_scrape_error 1`` with the monitor's metrics (which need no database), the workspace's are
absent, and the error is logged once until a scrape works again. ``write_textfile`` raises instead
and leaves the file it would have replaced as it was (node_exporter reports its age).

**Speed** (bench/metrics_scrape.py: 10,002 deployments, 200,000 samples, 17.7 MB of text, 1.3 MB
gzipped; an hour of windows each). A scrape over HTTP takes 0.6 to 0.8 s on two cores: reading the
workspace 0.5 s (the rows' sum 0.2 s of it, beside the rest), writing the text 0.3 s. prometheus_client's
own writer spends about 8 microseconds a sample (``generate_latest`` on ``registry``: 2.1 s), so the
server, ``scrape`` and the text file write it with ``exposition``; ``registry`` is for programs that
embed the families in prometheus_client. ``per_feature`` decodes every drift check's details and adds
500,000 samples: about 2 s.
"""

from __future__ import annotations

import contextlib
import gc
import gzip
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Text, case, cast, func, select

from fuseboard.errors import FuseboardError
from fuseboard.status import OPEN_ALERT_STATES, Status
from fuseboard.store.db import Workspace
from fuseboard.store.models import Alert, CheckState, Deployment, Environment, Model, ModelVersion, WindowProfile

if TYPE_CHECKING:  # pragma: no cover
    from prometheus_client import CollectorRegistry
    from prometheus_client.core import Metric

    from fuseboard.monitoring.scheduler import Monitor

__all__ = ["CHECKS", "CONTENT_TYPE", "ROWS_WAIT", "STATUS_VALUES", "DeploymentMetrics", "Family", "FeatureScore",
           "MetricsServer", "Textfile", "WorkspaceMetrics", "exposition", "families", "read", "registry", "scrape",
           "serve", "write_textfile"]

log = logging.getLogger("fuseboard.monitor")

#: The checks every deployment reports a status for, -1 until one is stored (checks.CHECKS, spelled out
#: here: a scrape need not import the checks and their numpy and scipy).
CHECKS = ("drift", "multivariate_drift", "prediction_drift", "estimated_performance", "performance", "quality",
          "staleness", "health")

#: ``fuseboard_check_status``'s value for each status (an unknown stored word reads as none).
STATUS_VALUES: dict[Status, float] = {Status.NONE: -1.0, Status.OK: 0.0, Status.WARN: 1.0, Status.ERROR: 1.5,
                                      Status.CRIT: 2.0}

SEVERITIES = (Status.WARN, Status.ERROR, Status.CRIT)  # always in fuseboard_alerts_open, 0 when none
ROWS_WAIT = 1.0  # seconds a served scrape waits for the rows' sum before reporting the last one
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # Prometheus's text format


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
    with _gc_paused(), ws.engine.connect() as conn:
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


# -- metric families ------------------------------------------------------------------------------------

Kind = Literal["gauge", "counter", "info"]


@dataclass
class Family:
    """One metric family as exposed: ``name`` (a counter's without ``_total``, an info's without ``_info``,
    as prometheus_client names them), its samples as label values in ``labels``' order and a value."""

    name: str
    kind: Kind
    help: str
    labels: tuple[str, ...]
    samples: list[tuple[tuple[str, ...], float]]

    @property
    def exposed(self) -> str:
        """The name its samples carry."""
        return self.name + {"counter": "_total", "info": "_info"}.get(self.kind, "")


_DEP = ("model", "environment")


def families(snap: WorkspaceMetrics | None, *, per_feature: bool = False, monitor: Monitor | None = None,
             seconds: float = 0.0) -> list[Family]:
    """The metric families of a reading and of the monitor, as the module's table lists them.

    Parameters
    ----------
    snap : WorkspaceMetrics or None
        ``read``'s; None when the workspace could not be read (``fuseboard_scrape_error`` 1, and only
        the monitor's families).
    per_feature : bool, default=False
        Also the per-feature families (from ``DeploymentMetrics.features``).
    monitor : Monitor, optional
        The monitor of the process serving them: its lease and cycle timings.
    seconds : float, default=0.0
        ``fuseboard_scrape_duration_seconds``.

    Returns
    -------
    families : list of Family
    """
    out = _workspace_families(snap, per_feature) if snap is not None else []
    out.append(Family("fuseboard_monitor_leader", "gauge", "1 while the process serving these metrics holds the "
                      "workspace's monitor lease (it runs the checks), else 0 (also when it runs no monitor).", (),
                      [((), float(monitor is not None and bool(monitor.leading)))]))
    if monitor is not None:
        timings = sorted(dict(monitor.timings).items())  # (a copy: the monitor's thread adds kinds)
        out.append(Family("fuseboard_monitor_cycle_duration_seconds", "gauge", "Seconds the latest monitor cycle "
                          "of each kind took, whatever its outcome.", ("kind",),
                          [((kind,), float(t.seconds)) for kind, t in timings]))
        out.append(Family("fuseboard_monitor_last_success_timestamp_seconds", "gauge", "Unix time at which the "
                          "latest successful monitor cycle of each kind finished (absent until one has).", ("kind",),
                          [((kind,), float(t.last_success)) for kind, t in timings if t.last_success is not None]))
    out.append(Family("fuseboard_scrape_error", "gauge", "1 when this scrape could not read the workspace (its "
                      "metrics are then absent), else 0.", (), [((), float(snap is None))]))
    out.append(Family("fuseboard_scrape_duration_seconds", "gauge", "Seconds this scrape took to read the "
                      "workspace.", (), [((), seconds)]))
    return out


def _workspace_families(snap: WorkspaceMetrics, per_feature: bool) -> list[Family]:
    deps = snap.deployments
    out = [
        Family("fuseboard_check_status", "gauge", "Latest verdict of each check on each deployment: -1 none (no "
               "verdict yet), 0 ok, 1 warn, 1.5 error (the check could not run), 2 crit.", (*_DEP, "check"),
               [((d.model, d.environment, check), STATUS_VALUES[status])
                for d in deps for check, status in d.statuses.items()]),
        Family("fuseboard_drift_share", "gauge", "Share of the features the latest drift check scored that "
               "drifted (what the model's drift_share is compared with).", _DEP,
               [((d.model, d.environment), d.drift_share) for d in deps if d.drift_share is not None]),
        Family("fuseboard_drifted_importance_share", "gauge", "Share of the model's permutation importance that "
               "the features drifted in the latest drift check carry.", _DEP,
               [((d.model, d.environment), d.drifted_importance) for d in deps if d.drifted_importance is not None]),
        Family("fuseboard_performance", "gauge", "Each metric measured on the labelled rows of the latest "
               "performance check's window.", (*_DEP, "metric"),
               [((d.model, d.environment, m), v) for d in deps for m, v in d.performance.items()]),
        Family("fuseboard_performance_baseline", "gauge", "The validation baseline each tolerated metric was "
               "graded against in the latest performance check.", (*_DEP, "metric"),
               [((d.model, d.environment, m), v) for d in deps for m, v in d.baselines.items()]),
        Family("fuseboard_probe_up", "gauge", "1 when the latest health probe of the endpoint got the expected "
               "answer, else 0.", _DEP,
               [((d.model, d.environment), float(d.probe_up)) for d in deps if d.probe_up is not None]),
        Family("fuseboard_probe_latency_seconds", "gauge", "Latency of the latest health probe, when it got an "
               "answer.", _DEP, [((d.model, d.environment), d.probe_latency_seconds) for d in deps
                                 if d.probe_latency_seconds is not None]),
        Family("fuseboard_deployed_version", "info", "The version serving in each deployment.",
               (*_DEP, "version"), [((d.model, d.environment, str(d.version)), 1.0) for d in deps]),
        Family("fuseboard_alerts_open", "gauge", "Open alerts (firing or acknowledged) by severity.", ("severity",),
               [((severity,), float(n)) for severity, n in sorted(snap.alerts_open.items())]),
        Family("fuseboard_deployment_alerts_open", "gauge", "Open alerts (firing or acknowledged) of each "
               "deployment that has any, by severity.", (*_DEP, "severity"),
               [(key, float(n)) for key, n in sorted(snap.deployment_alerts.items())]),
        Family("fuseboard_ingested_rows", "counter", "Inference rows ingested, summed over the stored windows "
               "of every version served in the deployment (compaction keeps the sum; compact --delete-after "
               "lowers it, read as a counter reset).", _DEP,
               [((d.model, d.environment), float(d.ingested_rows)) for d in deps if d.ingested_rows is not None]),
    ]
    if per_feature:
        out.append(Family("fuseboard_feature_drift_score", "gauge", "Each feature's score in the latest drift "
                          "check: a p-value for ks, chisquare and ztest (lower is more drift), else a distance.",
                          (*_DEP, "feature", "method"),
                          [((d.model, d.environment, f.feature, f.method), f.score) for d in deps for f in d.features]))
        out.append(Family("fuseboard_feature_drifted", "gauge", "1 when the feature drifted in the latest drift "
                          "check, else 0.", (*_DEP, "feature"),
                          [((d.model, d.environment, f.feature), float(f.drifted)) for d in deps for f in d.features]))
    return out


class _Escaped(dict[str, str]):
    """Label values escaped for the text format, each once (looked up in C, computed on a miss)."""

    def __missing__(self, value: str) -> str:
        out = self[value] = value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
        return out


def exposition(found: Sequence[Family]) -> bytes:
    """The families in Prometheus's text format, as ``prometheus_client.generate_latest`` writes them.

    Numbers are written as Python's ``repr`` writes them (``1.0``, ``0.25``, ``inf``, ``nan``: Prometheus
    reads them as Go does) and each label value is escaped once, so a sample costs about a microsecond
    rather than prometheus_client's eight.

    Parameters
    ----------
    found : sequence of Family
        Their samples' values floats.

    Returns
    -------
    text : bytes
        UTF-8, Prometheus's text format version 0.0.4 (``CONTENT_TYPE``).
    """
    esc = _Escaped().__getitem__
    lines: list[str] = []
    for family in found:
        name = family.exposed
        help_ = family.help.replace("\\", "\\\\").replace("\n", "\\n")
        lines.append(f"# HELP {name} {help_}\n# TYPE {name} {'gauge' if family.kind == 'info' else family.kind}\n")
        template = name + "{" + ",".join(f'{label}="%s"' for label in family.labels) + "} %r\n"
        samples = family.samples
        match len(family.labels):  # (unpacked in place: a third quicker than map() over 200,000 samples)
            case 0:
                lines += [f"{name} {value!r}\n" for _, value in samples]
            case 2:
                lines += [template % (esc(a), esc(b), value) for (a, b), value in samples]
            case 3:
                lines += [template % (esc(a), esc(b), esc(c), value) for (a, b, c), value in samples]
            case _:
                lines += [template % (*map(esc, values), value) for values, value in samples]
    return "".join(lines).encode()


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Hold off cyclic garbage collection while a scrape builds its 200,000 samples (as a monitor cycle
    does while it decodes profiles): the collector, triggered by those allocations, would scan the
    whole heap of the process serving them, a monitor's included, again and again."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# -- scraping: the server, the text, prometheus_client's registry ----------------------------------------

class _Source:
    """Reads the workspace and the monitor for each scrape; a database error becomes ``scrape_error``
    (logged once until a scrape works again) unless ``strict``."""

    def __init__(self, ws: Workspace, *, monitor: Monitor | None, per_feature: bool, strict: bool,
                 wait: float | None) -> None:
        self.ws = ws
        self.monitor = monitor
        self.per_feature = per_feature
        self.strict = strict
        self.sums = _RowSums(ws, wait=wait)
        self._failing = False

    def text(self) -> bytes:
        """One scrape's text."""
        with _gc_paused():
            return exposition(self.families())

    def families(self) -> list[Family]:
        """One scrape's families."""
        began = time.perf_counter()
        try:
            snap: WorkspaceMetrics | None = _read(self.ws, self.per_feature, self.sums)
        except Exception as exc:  # noqa: BLE001  (the scrape says so; the server carries on)
            if self.strict:
                raise
            if not self._failing:
                first = (str(exc).strip().splitlines() or [""])[0][:300]
                log.warning("metrics: cannot read the workspace (%s): %s: %s", self.ws.where, type(exc).__name__,
                            first)
            self._failing, snap = True, None
        else:
            if self._failing:
                log.warning("metrics: the workspace can be read again (%s)", self.ws.where)
            self._failing = False
        return families(snap, per_feature=self.per_feature, monitor=self.monitor,
                        seconds=time.perf_counter() - began)


class _Collector:
    """A prometheus_client collector of a ``_Source``'s families."""

    def __init__(self, source: _Source) -> None:
        self.source = source

    def describe(self) -> list[Metric]:
        return []  # registering must not read the workspace

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily

        for family in self.source.families():
            if family.kind == "info":
                info = InfoMetricFamily(family.name, family.help, labels=family.labels[:-1])
                for values, _ in family.samples:
                    info.add_metric(list(values[:-1]), {family.labels[-1]: values[-1]})
                yield info
                continue
            kind = CounterMetricFamily if family.kind == "counter" else GaugeMetricFamily
            metric = kind(family.name, family.help, labels=family.labels)
            for values, value in family.samples:
                metric.add_metric(list(values), value)
            yield metric


def registry(ws: Workspace, *, monitor: Monitor | None = None, per_feature: bool = False) -> CollectorRegistry:
    """A ``CollectorRegistry`` of its own (the process-wide default is left alone) that reads the workspace
    at each collection.

    Parameters
    ----------
    ws : Workspace
    monitor : Monitor, optional
        The monitor this process runs: ``fuseboard_monitor_*`` report its lease and cycles.
    per_feature : bool, default=False
        Also ``fuseboard_feature_drift_score`` and ``fuseboard_feature_drifted``, a series per feature.

    Returns
    -------
    registry : prometheus_client.CollectorRegistry
        For ``generate_latest(registry)`` and the rest of prometheus_client (whose text writer takes
        about 8 microseconds a sample: ``serve`` and ``write_textfile`` write the text with ``exposition``).
    """
    from prometheus_client import CollectorRegistry

    out = CollectorRegistry(auto_describe=False)
    out.register(_Collector(_Source(ws, monitor=monitor, per_feature=per_feature, strict=False, wait=ROWS_WAIT)))
    return out


# -- serving and writing -----------------------------------------------------------------------------------

class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802
        if self.path.split("?", 1)[0] not in ("/metrics", "/"):
            self.send_error(404, "metrics are at /metrics")
            return
        try:
            body = self.server.render()
        except Exception:  # noqa: BLE001  (a bug, not the database: that is scrape_error; keep serving)
            log.exception("metrics: the scrape failed")
            self.send_error(500, "the scrape failed; see the log")
            return
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPE)
        if "gzip" in self.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body, compresslevel=1)  # 10,000 deployments: 17.7 MB in 70 ms to 1.3 MB
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # a scrape every few seconds is not news


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    render: Callable[[], bytes]

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A scraper that hung up early (its timeout) is no traceback on the monitor's stderr."""
        log.debug("metrics: the answer to %s was cut short", client_address, exc_info=True)


class _Server6(_Server):
    address_family = socket.AF_INET6


@dataclass
class MetricsServer:
    """The HTTP server ``serve`` started, answering from a daemon thread; ``close()`` stops it."""

    host: str
    port: int  # the port bound (the one asked for, or the one the system chose for 0)
    _server: _Server | None
    _thread: threading.Thread

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving and release the port; twice is harmless."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None

    shutdown = close

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()


def serve(ws: Workspace, port: int, *, host: str = "127.0.0.1", monitor: Monitor | None = None,
          per_feature: bool = False) -> MetricsServer:
    """Serve the workspace's metrics at ``http://HOST:PORT/metrics`` from a daemon thread.

    Parameters
    ----------
    ws : Workspace
    port : int
        0 lets the system choose a free port (``MetricsServer.port`` says which).
    host : str, default="127.0.0.1"
        The address to listen on: loopback unless asked (the metrics name every model and deployment).
    monitor : Monitor, optional
        The monitor this process runs (its lease and cycle timings).
    per_feature : bool, default=False
        Also a series per feature of every deployment.

    Returns
    -------
    server : MetricsServer
        ``close()`` (or ``shutdown()``) stops it.

    Raises
    ------
    FuseboardError
        The address cannot be listened on (in use, not this host's, a privileged port).
    """
    if not 0 <= port <= 65535:
        raise FuseboardError(f"the metrics port must be between 0 and 65535, not {port}", field="metrics_port")
    source = _Source(ws, monitor=monitor, per_feature=per_feature, strict=False, wait=ROWS_WAIT)
    try:
        server = (_Server6 if ":" in host else _Server)((host, port), _Handler)
    except OSError as exc:
        raise FuseboardError(f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}",
                             field="metrics_port") from None
    server.render = source.text
    thread = threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True)
    thread.start()
    return MetricsServer(host, int(server.server_address[1]), server, thread)


def scrape(ws: Workspace, *, per_feature: bool = False) -> bytes:
    """One scrape's text (what ``serve`` answers, without the monitor's metrics); a database error raises.

    Parameters
    ----------
    ws : Workspace
    per_feature : bool, default=False

    Returns
    -------
    text : bytes
        Prometheus's text format, version 0.0.4 (``CONTENT_TYPE``).
    """
    return _Source(ws, monitor=None, per_feature=per_feature, strict=True, wait=None).text()


@dataclass(frozen=True)
class Textfile:
    """What ``write_textfile`` wrote."""

    path: Path
    deployments: int
    samples: int
    bytes: int


def write_textfile(ws: Workspace, path: str | os.PathLike[str], *, per_feature: bool = False) -> Textfile:
    """Write the workspace's metrics for node_exporter's textfile collector, atomically.

    The text goes to a temporary file in the same folder (a name starting with a dot, not ending in
    ``.prom``: node_exporter skips it), which is then renamed over ``path``, so a reader sees the
    old file or the new one, never part of one. A database error raises and leaves the old file.

    Parameters
    ----------
    ws : Workspace
    path : path-like
        The file to write (node_exporter reads the folder's ``*.prom`` files).
    per_feature : bool, default=False

    Returns
    -------
    written : Textfile

    Raises
    ------
    FuseboardError
        The folder does not exist or cannot be written, or ``path`` is a folder.
    """
    target = Path(path)
    if target.is_dir():
        raise FuseboardError(f"{target} is a folder; name a file in it, e.g. {target / 'fuseboard.prom'}",
                             field="textfile")
    if not target.parent.is_dir():
        what = "not a folder" if target.parent.exists() else "no such folder"
        raise FuseboardError(f"{what}: {target.parent}", field="textfile")
    source = _Source(ws, monitor=None, per_feature=per_feature, strict=True, wait=None)
    with _gc_paused():
        found = source.families()
        body = exposition(found)
    temporary = target.parent / f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as to any file
        with os.fdopen(fd, "wb") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise FuseboardError(f"cannot write {target}: {exc.strerror or exc}", field="textfile") from None
    deployments = next((len({s[0][:2] for s in f.samples}) for f in found if f.name == "fuseboard_deployed_version"),
                       0)
    return Textfile(target, deployments, sum(len(f.samples) for f in found), len(body))
