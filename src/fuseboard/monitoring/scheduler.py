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

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from fuseboard.errors import WorkspaceUnwritable
from fuseboard.monitoring import alerts, checks, outbox, rollouts
from fuseboard.monitoring.pauses import gc_paused
from fuseboard.status import Status
from fuseboard.store.audit import host_name
from fuseboard.store.db import Workspace, database_now, is_unreachable
from fuseboard.store.models import Lease, utcnow

if TYPE_CHECKING:  # pragma: no cover
    from fuseboard.monitoring.receivers import Receiver
    from fuseboard.monitoring.retention import Retention

log = logging.getLogger("fuseboard.monitor")
LEASE = "monitor"
DELIVER_EVERY = 2  # seconds between deliveries of the outbox


def holder_id() -> str:
    return f"{host_name()}:{os.getpid()}:{threading.get_ident() % 100000}"


def acquire_lease(ws: Workspace, holder: str, ttl: timedelta, *, now: datetime | None = None) -> bool:
    """Take or renew the lease; True when ``holder`` holds it afterwards."""
    with ws.engine.begin() as conn:
        now = now or database_now(conn)
        result = conn.execute(
            update(Lease)
            .where(Lease.name == LEASE, (Lease.holder == holder) | (Lease.expires_at < now))
            .values(holder=holder, expires_at=now + ttl, acquired_at=now)
        )
        if result.rowcount:
            return True
        exists = conn.execute(select(Lease.name).where(Lease.name == LEASE)).first()
    if exists:
        return False
    try:
        with ws.engine.begin() as conn:
            conn.execute(Lease.__table__.insert().values(name=LEASE, holder=holder, acquired_at=now,
                                                         expires_at=now + ttl))
        return True
    except IntegrityError:  # another process inserted it first
        return False


def release_lease(ws: Workspace, holder: str) -> None:
    with ws.engine.begin() as conn:
        conn.execute(update(Lease).where(Lease.name == LEASE, Lease.holder == holder)
                     .values(expires_at=database_now(conn) - timedelta(seconds=1)))


def lease_holder(ws: Workspace, *, now: datetime | None = None) -> str | None:
    """The live holder, or None when nobody holds an unexpired lease."""
    with ws.session() as s:
        now = now or database_now(s.connection())
        lease = s.get(Lease, LEASE)
    return lease.holder if lease and lease.expires_at > now else None


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

    @property
    def failed(self) -> bool:
        """The cycle did not record its results (``error`` says why)."""
        return self.outcome is not Outcome.DONE


@dataclass
class CycleTiming:
    """How long a kind's latest cycle took, and when one last finished well (the metrics exporter reads these)."""

    seconds: float = 0.0  # the latest cycle's duration, whatever its outcome
    last_success: float | None = None  # Unix time at which the latest DONE cycle finished


def run_cycle(ws: Workspace, kind: str, *, now: datetime | None = None,
              policy: checks.Policy | None = None) -> CycleSummary:
    """Run one kind of check on every deployment and record results and alerts in one transaction.

    The same transaction writes the outbox events of what changed (``outbox.sync_alerts``: alerts
    fired, resolved, refired; silences that began or ended), for ``delivery`` to send.
    """
    now = now or utcnow()
    wanted = set(KINDS[kind])
    with gc_paused():
        results = checks.run_checks(ws, now=now, policy=policy, probe_endpoints="health" in wanted, only=wanted)
        with ws.transaction() as s:
            changed = alerts.record_results(s, results, now=now)
            outbox.sync_alerts(s, now)
            if "health" in wanted:
                _follow_rollouts(s, results, now)
    return CycleSummary(kind, deployments=len(results), alerts_changed=len(changed),
                        worst=Status.worst(r.status for r in results))


def _follow_rollouts(session: Any, results: list[checks.DeploymentChecks], now: datetime) -> None:
    """After the probes: note which endpoints now report their new version, and which versions became known-good."""
    from fuseboard.store.models import Environment, Model

    models = {m.name: m.id for m in session.exec(select(Model))}
    envs = {e.name: e.id for e in session.exec(select(Environment))}
    reported = {(models[r.model], envs[r.environment]): c.details.get("version")
                for r in results for c in r.checks if c.check == "health" and c.details}
    rollouts.mark_converged(session, reported, now)
    rollouts.mark_known_good(session, now)


class Monitor:
    """Runs the checks on their intervals while this process holds the lease."""

    def __init__(self, ws: Workspace, intervals: Intervals | None = None,
                 on_cycle: Callable[[CycleSummary], None] | None = None, holder: str | None = None,
                 receivers: Sequence[Receiver] = (), retention: Retention | None = None,
                 housekeeping: list[Callable[[Workspace], Any]] | None = None) -> None:
        self.ws = ws
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
        try:
            self.leading = acquire_lease(self.ws, self.holder, timedelta(seconds=self.intervals.lease_ttl))
        except Exception as exc:  # noqa: BLE001  (a locked or unreachable database: try again later)
            self.leading = False
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
        self._next_renew = time.monotonic() + every

    def _lost(self, exc: BaseException) -> None:
        """Say once that the database went away (not a traceback a minute); stop leading until it is back."""
        self.leading = False
        if self.unreachable_since is None:
            self.unreachable_since = utcnow()
            first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0]
            log.error("database unreachable: %s; retrying with back-off", first[:200])

    def _job(self, kind: str) -> None:
        if not self.leading:
            return
        import time

        began = time.monotonic()
        try:
            summary = run_cycle(self.ws, kind)
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
        timing = self.timings.setdefault(kind, CycleTiming())
        timing.seconds = time.monotonic() - began
        if not summary.failed:
            timing.last_success = time.time()
        if kind == "health":
            for task in self.housekeeping:
                try:
                    task(self.ws)
                except Exception:  # noqa: BLE001  (retried after the next health cycle)
                    log.exception("monitor housekeeping %s failed", getattr(task, "__name__", task))
        if self.on_cycle is not None:
            self.on_cycle(summary)

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
        for kind in KINDS:
            scheduler.add_job(self._job, "interval", args=[kind], id=kind,
                              seconds=getattr(self.intervals, kind), next_run_time=first)
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
        if self.leading:
            try:
                release_lease(self.ws, self.holder)
            except Exception:  # noqa: BLE001
                log.exception("could not release the monitor lease")
            self.leading = False
