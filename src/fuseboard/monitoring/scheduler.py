"""The monitor loop: APScheduler jobs per check kind, guarded by a lease in the database.

Any number of consoles and ``fuseboard monitor`` processes may share a
workspace; only the holder of the ``monitor`` lease runs checks, so each check
still runs once per interval. The holder renews the lease while alive; when it
stops (or dies), another process takes it over once it expires. The lease is a
conditional UPDATE, which the database makes atomic on SQLite and PostgreSQL
alike.

Jobs never touch a UI: results go to the database (check history and alerts),
and an optional ``on_cycle`` callback gets a small summary (a ``CycleSummary``). Shut down with
``stop()``, which does not wait for running jobs (see the known deadlock
between ``call_from_thread`` and ``shutdown(wait=True)``).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Callable

from sqlmodel import select

from fuseboard.errors import WorkspaceUnwritable
from fuseboard.monitoring import alerts, checks, leases, outbox, rollouts, shards
from fuseboard.monitoring.leases import LEASE, acquire_lease, lease_holder, release_lease  # noqa: F401  (named here too)
from fuseboard.monitoring.pauses import gc_paused
from fuseboard.status import Status
from fuseboard.store.audit import host_name
from fuseboard.store.db import Workspace, database_now, is_unreachable
from fuseboard.store.models import Deployment, utcnow

if TYPE_CHECKING:  # pragma: no cover
    from fuseboard.monitoring.receivers import Receiver
    from fuseboard.monitoring.retention import Retention

log = logging.getLogger("fuseboard.monitor")
DELIVER_EVERY = 2  # seconds between deliveries of the outbox
TICKS = 8  # looks for due shards per check interval (monitoring/shards.py spreads them over it)


def holder_id() -> str:
    return f"{host_name()}:{os.getpid()}:{threading.get_ident() % 100000}"


@dataclass
class Intervals:
    health: int = 30
    drift: int = 300
    performance: int = 300
    lease_ttl: int = 60


KINDS = {
    "health": ("health",),
    "drift": ("drift", "multivariate_drift", "prediction_drift", "estimated_performance", "quality", "staleness"),
    "performance": ("performance",),
}


class Outcome(StrEnum):
    """How a monitor cycle ended."""

    DONE = "done"  # the checks ran and their results and alerts were recorded
    FAILED = "failed"  # the cycle raised (``error`` says what); the next one tries again
    UNWRITABLE = "unwritable"  # the workspace refuses writes (a full disk): ``reason`` says why
    UNREACHABLE = "unreachable"  # the database could not be reached: nothing was written


@dataclass(frozen=True)
class AuditCheckpoint:
    """The audit chain's head as the monitor sends it off this host (``Monitor.checkpoint``)."""

    id: int
    hash: str
    at: str  # when the head event was recorded (``store.anchor.stamp``)
    workspace: str

    def as_event(self) -> dict[str, Any]:
        """The body the generic webhook receives (JSON; one line of an anchor file)."""
        return {"event": "audit.checkpoint", "id": self.id, "hash": self.hash, "at": self.at,
                "workspace": self.workspace}


@dataclass(frozen=True)
class CycleSummary:
    """What the ``on_cycle`` callback receives after each cycle (and each audit checkpoint)."""

    kind: str  # a key of KINDS (health, drift, performance), or "audit.checkpoint"
    outcome: Outcome = Outcome.DONE
    deployments: int = 0
    alerts_changed: int = 0  # alerts opened, reopened or resolved
    worst: Status = Status.NONE  # the worst status among the deployments checked
    error: str = ""  # what went wrong, one line (every outcome but DONE)
    reason: str = ""  # UNWRITABLE: why the workspace refuses writes
    checkpoint: AuditCheckpoint | None = None  # kind "audit.checkpoint": the head sent
    shards: tuple[int, ...] = ()  # the shards of the deployments (monitoring/shards.py) the cycle checked
    due_at: datetime | None = None  # when they were found due (the database's clock): their run's time

    @property
    def failed(self) -> bool:
        """The cycle did not record its results (``error`` says why)."""
        return self.outcome is not Outcome.DONE


@dataclass
class CycleTiming:
    """How long a kind's latest cycle took, and when one last finished well (the metrics exporter reads these)."""

    seconds: float = 0.0  # the latest cycle's duration, whatever its outcome
    last_success: float | None = None  # Unix time at which the latest DONE cycle finished


@dataclass(frozen=True)
class ShardClaim:
    """The shards a cycle checks on behalf of a monitor that shares the work (monitoring/leases.py)."""

    holder: str
    shards: frozenset[int]
    ttl: timedelta
    at: datetime  # when the shards were found due, by the database's clock: stamped as their run

    def covers(self, deployment_id: int) -> bool:
        return shards.shard_of(deployment_id) in self.shards


def run_cycle(ws: Workspace, kind: str, *, now: datetime | None = None,
              policy: checks.Policy | None = None, claim: ShardClaim | None = None) -> CycleSummary:
    """Run one kind of check on every deployment (or those of ``claim``'s shards) and record results
    and alerts in one transaction.

    The same transaction writes the outbox events of what changed (``outbox.sync_alerts``: alerts
    fired, resolved, refired; silences that began or ended), for ``delivery`` to send. With a
    ``claim``, it also confirms that the monitor still holds those shards and stamps their run, or
    writes nothing (``leases.ShardsLost``): another monitor that took a shard over checks it instead.
    """
    now = now or utcnow()
    wanted = set(KINDS[kind])
    select_ = claim.covers if claim is not None and len(claim.shards) < shards.SHARDS else None
    with gc_paused():
        results = checks.run_checks(ws, now=now, policy=policy, probe_endpoints="health" in wanted, only=wanted,
                                    select=select_)
        with ws.transaction() as s:
            if claim is not None:
                leases.confirm(s.connection(), claim.holder, claim.shards, claim.ttl)
            keys = None if select_ is None else {
                (m, e) for id_, m, e in s.exec(select(Deployment.id, Deployment.model_id, Deployment.environment_id))
                if select_(id_)}
            changed = alerts.record_results(s, results, now=now)
            outbox.sync_alerts(s, now, deployments=keys)
            if "health" in wanted:
                _follow_rollouts(s, results, now, keys)
            if claim is not None:
                leases.stamp(s.connection(), kind, claim.shards, claim.at, claim.holder)
    return CycleSummary(kind, deployments=len(results), alerts_changed=len(changed),
                        worst=Status.worst(r.status for r in results),
                        shards=tuple(sorted(claim.shards)) if claim is not None else tuple(range(shards.SHARDS)),
                        due_at=claim.at if claim is not None else None)


def _follow_rollouts(session: Any, results: list[checks.DeploymentChecks], now: datetime,
                     keys: set[tuple[int, int]] | None) -> None:
    """After the probes: note which endpoints now report their new version, and which versions became known-good
    (of the deployments checked: ``keys``, (model id, environment id) pairs, or all when None)."""
    from fuseboard.store.models import Environment, Model

    models = {m.name: m.id for m in session.exec(select(Model))}
    envs = {e.name: e.id for e in session.exec(select(Environment))}
    reported = {(models[r.model], envs[r.environment]): c.details.get("version")
                for r in results for c in r.checks if c.check == "health" and c.details}
    rollouts.mark_converged(session, reported, now)
    rollouts.mark_known_good(session, now, only=keys)


class Monitor:
    """Runs the checks of the shards it holds on their intervals; leads (deliveries, retention, audit
    checkpoints, housekeeping) while it holds the ``monitor`` lease.

    Monitors that share a workspace split its deployments: each holds an equal part of the shards
    (monitoring/shards.py), taken over from one that stops or dies once its leases expire. A monitor
    that does not share (``sharing=False``: a console's) is a standby: it checks every shard while it
    leads and no monitor that shares is alive, and none otherwise.
    """

    def __init__(self, ws: Workspace, intervals: Intervals | None = None,
                 on_cycle: Callable[[CycleSummary], None] | None = None, holder: str | None = None,
                 receivers: Sequence[Receiver] = (), retention: Retention | None = None,
                 housekeeping: list[Callable[[Workspace], Any]] | None = None, sharing: bool = True) -> None:
        self.ws = ws
        self.sharing = sharing
        self.shards: frozenset[int] = frozenset()  # the shards this monitor holds (their leases)
        self.members: list[str] = []  # the live monitors that share, as last seen
        self._busy: dict[int, int] = {}  # shard -> cycles checking it now (never let go of meanwhile)
        self._lock = threading.Lock()
        self._housekept = 0.0  # monotonic time of the last housekeeping
        self.retention = retention
        # run by the leader after each health cycle (the faces pass ops.deploy.reconcile: the monitor
        # layer cannot import ops)
        self.housekeeping = housekeeping or []
        self.receivers = list(receivers)  # where the outbox goes (monitoring/delivery.py), by the leader
        self.intervals = intervals or Intervals()
        self.on_cycle = on_cycle
        self.holder = holder or holder_id()
        self.leading = False
        self._scheduler: Any = None
        self.unreachable_since: datetime | None = None  # the database could not be reached from then on
        self._next_renew = 0.0  # monotonic time of the next lease renewal
        self._backoff = 1.0  # seconds before the next try while the database is unreachable
        self._checkpointed: tuple[int, str] | None = None  # the audit head last sent out
        self._deliverer: Any = None
        self.timings: dict[str, CycleTiming] = {}  # per kind of cycle (health, drift, performance)

    def _renew(self) -> None:
        """Take or renew the lease every third of its time; while the database cannot be reached, try
        again after 1, 2, 4 ... seconds (up to that third), then carry on where the checks left off."""
        import time

        if time.monotonic() < self._next_renew:
            return
        every = max(1, self.intervals.lease_ttl // 3)
        short = False
        try:
            ttl = timedelta(seconds=self.intervals.lease_ttl)
            self.leading = acquire_lease(self.ws, self.holder, ttl)
            self.members = leases.heartbeat(self.ws, self.holder, ttl, sharing=self.sharing)
            want = shards.quota(self.members, self.holder, sharing=self.sharing)
            if not self.sharing and not self.leading:
                want = 0
            with self._lock:
                busy = {k for k, n in self._busy.items() if n}
            self.shards = frozenset(leases.claim(self.ws, self.holder, ttl, want, members=self.members, busy=busy))
            short = len(self.shards) < want  # shards others are letting go of: look again in a second
        except Exception as exc:  # noqa: BLE001  (a locked or unreachable database: try again later)
            self.leading = False
            self.shards = frozenset()
            if is_unreachable(exc):
                self._lost(exc)
                self._next_renew = time.monotonic() + self._backoff
                self._backoff = min(self._backoff * 2, every)
                return
            log.exception("could not renew the monitor lease")
        else:
            if self.unreachable_since is not None:
                log.warning("database reachable again after %ds; monitoring resumes",
                            (utcnow() - self.unreachable_since).total_seconds())
                self.unreachable_since = None
        self._backoff = 1.0
        self._next_renew = time.monotonic() + (1 if short else every)

    def _lost(self, exc: BaseException) -> None:
        """Say once that the database went away (not a traceback a minute); stop leading until it is back."""
        self.leading = False
        self.shards = frozenset()
        if self.unreachable_since is None:
            self.unreachable_since = utcnow()
            first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0]
            log.error("database unreachable: %s; retrying with back-off", first[:200])

    def _due(self, kind: str) -> ShardClaim | None:
        """The shards this monitor holds whose period of ``kind`` has not had its check yet, marked busy."""
        with self._lock:
            held = self.shards
            if not held:
                return None
        with self.ws.engine.connect() as conn:
            at = database_now(conn)
            todo = shards.due(held, leases.last_runs(conn, kind, held), at, getattr(self.intervals, kind))
        if not todo:
            return None
        with self._lock:
            todo = [k for k in todo if k in self.shards]  # (one let go meanwhile stays with its next holder)
            for k in todo:
                self._busy[k] = self._busy.get(k, 0) + 1
        return ShardClaim(self.holder, frozenset(todo), timedelta(seconds=self.intervals.lease_ttl), at) if todo \
            else None

    def _job(self, kind: str) -> None:
        import time

        began = time.monotonic()
        claim = None
        try:
            claim = self._due(kind)
            if claim is None:
                return
            summary = run_cycle(self.ws, kind, claim=claim)
        except leases.ShardsLost as exc:  # nothing written: the shards' new holder checks them (nothing failed)
            log.info("monitor cycle %s: %s", kind, exc)
            return
        except WorkspaceUnwritable as exc:  # a full disk: checks resume by themselves once it has room
            log.error("monitor cycle %s: %s", kind, exc)
            summary = CycleSummary(kind, Outcome.UNWRITABLE, error=str(exc), reason=exc.reason)
        except Exception as exc:  # noqa: BLE001  (a failing cycle must never stop the loop)
            if is_unreachable(exc):  # the cycle wrote nothing (one transaction); the next one recomputes it
                self._lost(exc)
                self._next_renew = 0.0  # start the back-off now
                summary = CycleSummary(kind, Outcome.UNREACHABLE, error="database unreachable")
                if self.on_cycle is not None:
                    self.on_cycle(summary)
                return
            log.exception("monitor cycle %s failed", kind)
            summary = CycleSummary(kind, Outcome.FAILED, error=f"{type(exc).__name__}: {exc}")
        finally:
            if claim is not None:
                with self._lock:
                    for k in claim.shards:
                        self._busy[k] -= 1
        timing = self.timings.setdefault(kind, CycleTiming())
        timing.seconds = time.monotonic() - began
        if not summary.failed:
            timing.last_success = time.time()
        if self.on_cycle is not None:
            self.on_cycle(summary)

    def _housekeep(self) -> None:
        """Once a health interval, by the leader: the faces' housekeeping (escalation, reconciling changes)."""
        if not self.leading:
            return
        for task in self.housekeeping:
            try:
                task(self.ws)
            except Exception:  # noqa: BLE001  (retried next time)
                log.exception("monitor housekeeping %s failed", getattr(task, "__name__", task))

    def _compact(self) -> None:
        """Hourly: old windows into hourly and daily profiles (monitoring/retention.py), by the leader only."""
        if not self.leading:
            return
        from fuseboard.monitoring.retention import compact

        try:
            counts = compact(self.ws, retention=self.retention)
        except Exception:  # noqa: BLE001  (retried next hour)
            log.exception("window compaction failed")
            return
        if counts["merged"] or counts["deleted"]:
            log.info("compacted %(merged)d windows into %(created)d, deleted %(deleted)d", counts)
        from fuseboard.monitoring.delivery import prune

        try:
            pruned = prune(self.ws)
        except Exception:  # noqa: BLE001  (retried next hour)
            log.exception("outbox pruning failed")
            return
        if pruned:
            log.info("pruned %d outbox events older than 30 days", pruned)

    def checkpoint(self) -> AuditCheckpoint | None:
        """Hourly, by the leader: the audit chain's head, put in the outbox for the receivers (the generic
        webhook sends it as it is) and given to the ``on_cycle`` callback when it moved since the last
        one, so that a copy of the chain's anchor lives off this host (a receiver that keeps these
        bodies as JSON lines has a file ``audit verify --anchor`` reads). Returns the checkpoint, if any."""
        if not self.leading:
            return None
        from fuseboard.store.anchor import stamp
        from fuseboard.store.models import AuditEvent

        try:
            with self.ws.session() as s:
                head = s.exec(select(AuditEvent.id, AuditEvent.hash, AuditEvent.at)
                              .order_by(AuditEvent.id.desc()).limit(1)).first()
        except Exception:  # noqa: BLE001  (retried next hour)
            log.exception("audit checkpoint failed")
            return None
        if head is None or (head[0], head[1]) == self._checkpointed:
            return None
        self._checkpointed = (head[0], head[1])
        point = AuditCheckpoint(head[0], head[1], stamp(head[2]), self.ws.where)
        log.info("audit checkpoint: event %d %s", head[0], head[1])
        try:
            with self.ws.transaction() as s:
                outbox.checkpoint_event(s, point.as_event(), utcnow())
        except Exception:  # noqa: BLE001  (the next hour tries again)
            log.exception("audit checkpoint not queued")
            self._checkpointed = None
            return None
        if self.on_cycle is not None:
            self.on_cycle(CycleSummary("audit.checkpoint", checkpoint=point))
        return point

    def deliver(self) -> None:
        """Every few seconds, by the leader: the outbox to the receivers (monitoring/delivery.py)."""
        if not self.leading or not self.receivers:
            return
        from fuseboard.monitoring.delivery import Deliverer

        if self._deliverer is None:
            self._deliverer = Deliverer(self.ws, self.receivers)
        self._deliverer.run()

    def start(self) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        self._renew()
        scheduler = BackgroundScheduler(job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30})
        scheduler.add_job(self._renew, "interval", seconds=1, id="lease")  # (it keeps its own time)
        first = datetime.now().astimezone()
        for kind in KINDS:  # each shard is due once an interval, at its own phase: look a few times an interval
            scheduler.add_job(self._job, "interval", args=[kind], id=kind,
                              seconds=max(0.5, getattr(self.intervals, kind) / TICKS), next_run_time=first)
        if self.housekeeping:
            scheduler.add_job(self._housekeep, "interval", seconds=self.intervals.health, id="housekeeping",
                              next_run_time=first + timedelta(seconds=1))
        scheduler.add_job(self._compact, "interval", seconds=3600, id="retention",
                          next_run_time=first + timedelta(minutes=1))
        scheduler.add_job(self.checkpoint, "interval", seconds=3600, id="audit-checkpoint",
                          next_run_time=first + timedelta(minutes=2))
        if self.receivers:
            scheduler.add_job(self.deliver, "interval", seconds=DELIVER_EVERY, id="deliver", next_run_time=first)
        scheduler.start()
        self._scheduler = scheduler

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        try:
            leases.release_shards(self.ws, self.holder)  # others take them over now, not once they expire
            if self.leading:
                release_lease(self.ws, self.holder)
        except Exception:  # noqa: BLE001
            log.exception("could not release the monitor's leases")
        self.leading = False
        self.shards = frozenset()
