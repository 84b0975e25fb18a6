"""Delivering the outbox: each receiver gets every event, in order, at least once, never lost.

Each receiver has a cursor (``ReceiverCursor``): the last event it got (or that was given up). The
monitor that holds the lease calls ``deliver`` every few seconds; for each receiver it sends the
events after the cursor one by one, moving the cursor after each success in a transaction of its own.
A failure stops that receiver where it is (later events wait: order is kept) and schedules the next
try after a back-off (2 s doubling up to 10 min, or the receiver's ``Retry-After`` if longer). After
``max_tries`` failures, or at once when the receiver refuses the event for good (a 4xx), the event
becomes a dead letter (``DeadLetter``, shown by the console and ``fuseboard outbox``; ``outbox retry``
sends them again) and the cursor moves past it.

A process killed between sending an event and moving the cursor sends that event again when the
monitor comes back: at least once. Each event carries the same id on every try (``webhook-id``, the
body's ``id``, PagerDuty's dedup_key per alert), so a receiver that drops duplicates sees it exactly once.

A new receiver starts with the events of the last ``CATCH_UP`` (not the whole history).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Sequence

from sqlalchemy import func, update
from sqlmodel import select

from fuseboard.monitoring.outbox import AlertBody, Event, Lookups, alert_body
from fuseboard.monitoring.receivers import Attempt, Receiver
from fuseboard.status import OPEN_ALERT_STATES
from fuseboard.store.db import Workspace
from fuseboard.store.models import Alert, DeadLetter, OutboxEvent, ReceiverCursor, utcnow

log = logging.getLogger("fuseboard.monitor")

CATCH_UP = timedelta(minutes=15)
FIRST_WAIT = 2.0  # seconds before the first retry
MAX_WAIT = 600.0  # the longest back-off
MAX_RETRY_AFTER = 3600.0
BATCH = 100  # events read at a time
BUDGET = 20.0  # seconds one receiver may spend in one call of ``deliver``


def backoff(tries: int, retry_after: float | None = None, *, jitter: float | None = None) -> float:
    """Seconds before try ``tries + 1``: 2, 4, 8 ... up to 10 min, +-20% jitter; at least ``Retry-After``."""
    wait = min(FIRST_WAIT * 2 ** max(0, tries - 1), MAX_WAIT)
    wait *= 1 + (jitter if jitter is not None else random.uniform(-0.2, 0.2))
    if retry_after is not None:
        wait = max(wait, min(retry_after, MAX_RETRY_AFTER))
    return wait


@dataclass(frozen=True)
class ReceiverState:
    """Where one receiver stands: what ``fuseboard outbox`` and the console show."""

    name: str
    kind: str
    delivered: int  # events delivered since its cursor was made
    pending: int  # events still to send
    tries: int  # failed tries of the next event
    last_error: str
    next_at: datetime | None  # the next try, when it is waiting
    dead: int  # dead letters not yet delivered
    problem: str  # what keeps it from sending (a missing secret), "" if nothing


@dataclass(frozen=True)
class Letter:
    """A dead letter: an event one receiver could not take."""

    id: int
    receiver: str
    event_id: int
    kind: str
    key: str
    tries: int
    error: str
    at: datetime
    retried_at: datetime | None


def _start(s: Any, now: datetime) -> int:
    """Where a new receiver's cursor starts: after every event older than ``CATCH_UP``."""
    return s.exec(select(func.max(OutboxEvent.id)).where(OutboxEvent.at < now - CATCH_UP)).one() or 0


def _cursor(ws: Workspace, name: str, now: datetime) -> ReceiverCursor:
    """The receiver's cursor; a new one starts with the events of the last ``CATCH_UP``."""
    with ws.transaction() as s:
        row = s.get(ReceiverCursor, name)
        if row is None:
            row = ReceiverCursor(receiver=name, event_id=_start(s, now), updated_at=now)
            s.add(row)
        s.flush()
        s.expunge(row)
    return row


def _advance(ws: Workspace, cursor: ReceiverCursor, event_id: int, *, delivered: int, dead: tuple[int, Attempt] | None,
             tries: int, now: datetime) -> bool:
    """Move the cursor past ``event_id`` if it is still where we read it (another monitor may have moved it)."""
    with ws.transaction() as s:
        moved = s.exec(update(ReceiverCursor).where(ReceiverCursor.receiver == cursor.receiver,
                                                    ReceiverCursor.event_id == cursor.event_id)
                       .values(event_id=event_id, tries=0, next_at=None, last_error="", updated_at=now,
                               delivered=ReceiverCursor.delivered + delivered)).rowcount
        if moved and dead is not None:
            s.add(DeadLetter(receiver=cursor.receiver, event_id=dead[0], tries=tries, error=dead[1].error[:500], at=now))
    if moved:
        cursor.event_id, cursor.tries, cursor.next_at, cursor.last_error = event_id, 0, None, ""
    return bool(moved)


def _failed(ws: Workspace, cursor: ReceiverCursor, attempt: Attempt, now: datetime, max_tries: int) -> None:
    tries = cursor.tries + 1
    wait = backoff(tries, attempt.retry_after)
    with ws.transaction() as s:
        s.exec(update(ReceiverCursor).where(ReceiverCursor.receiver == cursor.receiver,
                                            ReceiverCursor.event_id == cursor.event_id)
               .values(tries=tries, next_at=now + timedelta(seconds=wait), last_error=attempt.error[:500],
                       updated_at=now))
    log.warning("receiver %s: event %d not delivered (try %d of %d, next in %.0fs): %s", cursor.receiver,
                cursor.event_id + 1, tries, max_tries, wait, attempt.error)


def firing(ws: Workspace, now: datetime) -> list[AlertBody]:
    """Every open alert the receivers were told is open (not silenced), as its current body."""
    with ws.session() as s:
        rows = s.exec(select(Alert).where(Alert.state.in_(OPEN_ALERT_STATES), Alert.told == "open")
                      .order_by(Alert.id)).all()
        lookups = Lookups(s, rows, now)
        return [{**alert_body(s, a, actor="monitor", note="", at=now, lookups=lookups),
                 **({"escalated_to": a.escalated_to} if a.escalated_to else {})} for a in rows]  # type: ignore[typeddict-item]


def _send(receiver: Receiver, body: Event) -> Attempt:
    """One try; an event the receiver cannot even format (a bug, a body from an older release) is a dead
    letter naming why, never a loop that holds every later event back."""
    try:
        return receiver.send(body)
    except Exception as exc:  # noqa: BLE001
        log.exception("receiver %s could not format an event", receiver.name)
        return Attempt(False, f"fuseboard could not format this event for {receiver.kind}: "
                              f"{type(exc).__name__}: {exc}"[:300], permanent=True)


def deliver_to(ws: Workspace, receiver: Receiver, *, now: datetime | None = None, budget: float = BUDGET) -> int:
    """Send ``receiver`` the events after its cursor, in order, until one fails or ``budget`` seconds pass.

    Returns how many it took. A waiting receiver (back-off) is left alone until its time comes.
    """
    began = time.monotonic()
    fixed = now
    now = now or utcnow()

    def clock() -> datetime:  # the time each step happens at (``now`` throughout, when given)
        return fixed or utcnow()

    cursor = _cursor(ws, receiver.name, now)
    if cursor.next_at is not None and cursor.next_at > now:
        return 0
    problem = receiver.problem()
    if problem:  # a missing secret: the events wait (no try is spent) until it is set
        if cursor.last_error != problem:
            with ws.transaction() as s:
                s.exec(update(ReceiverCursor).where(ReceiverCursor.receiver == receiver.name)
                       .values(last_error=problem, updated_at=now))
            log.error("receiver %s: %s; its events wait", receiver.name, problem)
        return 0
    sent = 0
    while time.monotonic() - began < budget:
        with ws.session() as s:
            rows = s.exec(select(OutboxEvent.id, OutboxEvent.body).where(OutboxEvent.id > cursor.event_id)
                          .order_by(OutboxEvent.id).limit(BATCH)).all()
        if not rows:
            break
        skipped_to = None
        for event_id, body in rows:
            attempt = _send(receiver, body)
            if attempt.ok and attempt.skipped:
                skipped_to = event_id
                continue
            if skipped_to is not None:  # the events it does not take, passed in one step
                if not _advance(ws, cursor, skipped_to, delivered=0, dead=None, tries=0, now=clock()):
                    return sent
                skipped_to = None
            if attempt.ok:
                if not _advance(ws, cursor, event_id, delivered=1, dead=None, tries=0, now=clock()):
                    return sent
                sent += 1
            elif attempt.permanent or cursor.tries + 1 >= receiver.spec.max_tries:
                log.error("receiver %s: event %d is a dead letter after %d tries: %s", receiver.name, event_id,
                          cursor.tries + 1, attempt.error)
                if not _advance(ws, cursor, event_id, delivered=0, dead=(event_id, attempt), tries=cursor.tries + 1,
                                now=clock()):
                    return sent
            else:
                _failed(ws, cursor, attempt, clock(), receiver.spec.max_tries)
                return sent
            if time.monotonic() - began >= budget:
                return sent
        if skipped_to is not None and not _advance(ws, cursor, skipped_to, delivered=0, dead=None, tries=0,
                                                   now=clock()):
            return sent
    return sent


class Deliverer:
    """What the monitor runs every few seconds: the outbox to every receiver, each in a thread of its own
    (a slow one holds up no other), and Alertmanager's re-sends of what is firing."""

    def __init__(self, ws: Workspace, receivers: Sequence[Receiver]) -> None:
        self.ws = ws
        self.receivers = list(receivers)
        self._resent: dict[str, float] = {}

    def run(self) -> None:
        threads = [threading.Thread(target=self._one, args=(r,), name=f"deliver-{r.name}", daemon=True)
                   for r in self.receivers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(BUDGET + 60)

    def _one(self, receiver: Receiver) -> None:
        from fuseboard.monitoring.receivers.alertmanager import RESEND

        try:
            deliver_to(self.ws, receiver)
            every = RESEND if receiver.kind == "alertmanager" else None
            if every is not None and time.time() - self._resent.get(receiver.name, 0.0) >= every:
                now = utcnow()
                attempt = receiver.resend(firing(self.ws, now), now.timestamp())
                if attempt.ok:
                    self._resent[receiver.name] = time.time()
                else:
                    log.warning("receiver %s: re-sending what is firing failed: %s", receiver.name, attempt.error)
        except Exception:  # noqa: BLE001  (a failing receiver must never stop the loop)
            log.exception("delivery to %s failed", receiver.name)


def states(ws: Workspace, receivers: Sequence[Receiver], *, now: datetime | None = None) -> list[ReceiverState]:
    """Where each configured receiver stands."""
    now = now or utcnow()
    with ws.session() as s:
        head = s.exec(select(func.max(OutboxEvent.id))).one() or 0
        cursors = {c.receiver: c for c in s.exec(select(ReceiverCursor))}
        dead = dict(s.exec(select(DeadLetter.receiver, func.count()).where(DeadLetter.delivered_at.is_(None))
                           .group_by(DeadLetter.receiver)).all())
        out = []
        for r in receivers:
            c = cursors.get(r.name)
            after = _start(s, now) if c is None else c.event_id
            pending = s.exec(select(func.count()).where(OutboxEvent.id > after)).one() if head > after else 0
            out.append(ReceiverState(r.name, r.kind, c.delivered if c else 0, pending, c.tries if c else 0,
                                     c.last_error if c else "", c.next_at if c else None, dead.get(r.name, 0),
                                     r.problem()))
    return out


def dead_letters(ws: Workspace, receiver: str | None = None, *, include_delivered: bool = False,
                 limit: int = 200) -> list[Letter]:
    with ws.session() as s:
        stmt = select(DeadLetter, OutboxEvent.kind, OutboxEvent.key).join(OutboxEvent,
                                                                         OutboxEvent.id == DeadLetter.event_id)
        if receiver:
            stmt = stmt.where(DeadLetter.receiver == receiver)
        if not include_delivered:
            stmt = stmt.where(DeadLetter.delivered_at.is_(None))
        rows = s.exec(stmt.order_by(DeadLetter.id.desc()).limit(limit)).all()
    return [Letter(d.id, d.receiver, d.event_id, kind, key, d.tries, d.error, d.at, d.retried_at)
            for d, kind, key in rows]


def retry_dead(ws: Workspace, receiver: Receiver, *, now: datetime | None = None) -> tuple[int, int]:
    """Send ``receiver``'s dead letters again, oldest first; (delivered, still failing)."""
    done = failed = 0
    with ws.session() as s:
        rows = s.exec(select(DeadLetter.id, OutboxEvent.body).join(OutboxEvent, OutboxEvent.id == DeadLetter.event_id)
                      .where(DeadLetter.receiver == receiver.name, DeadLetter.delivered_at.is_(None))
                      .order_by(DeadLetter.event_id)).all()
    for letter_id, body in rows:
        attempt = _send(receiver, body)  # type: ignore[arg-type]
        at = now or utcnow()
        with ws.transaction() as s:
            letter = s.get(DeadLetter, letter_id)
            letter.retried_at = at
            if attempt.ok:
                letter.delivered_at = at
                done += 1
            else:
                letter.tries += 1
                letter.error = attempt.error[:500]
                failed += 1
            s.add(letter)
    return done, failed


def event_body(ws: Workspace, event_id: int) -> Event | None:
    with ws.session() as s:
        row = s.get(OutboxEvent, event_id)
        return dict(row.body) if row is not None else None  # type: ignore[return-value]


KEEP = timedelta(days=30)  # events (and dead letters) older than this are pruned


def prune(ws: Workspace, *, now: datetime | None = None, keep: timedelta = KEEP) -> int:
    """Hourly, by the monitor's leader: forget events older than ``keep`` that every receiver has passed
    (and any older than twice that, whoever is behind: a receiver gone from the config file holds
    nothing back for ever), with their dead letters. Returns how many events went."""
    from sqlalchemy import delete

    now = now or utcnow()
    with ws.transaction() as s:
        behind = s.exec(select(func.min(ReceiverCursor.event_id))).one()
        cut = select(OutboxEvent.id).where(OutboxEvent.at < now - keep)
        if behind is not None:
            cut = cut.where((OutboxEvent.id <= behind) | (OutboxEvent.at < now - 2 * keep))
        ids = list(s.exec(cut))
        if not ids:
            return 0
        s.exec(delete(DeadLetter).where(DeadLetter.event_id.in_(ids)))
        s.exec(delete(OutboxEvent).where(OutboxEvent.id.in_(ids)))
    return len(ids)
