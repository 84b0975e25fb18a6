"""The audit chain's anchor: checkpoints of the chain kept outside the database.

The hash chain shows an event edited in place, but not the newest events removed, nor a chain
re-hashed from an edited event onwards: both leave a chain that links. The anchor is an
append-only file of JSON lines, one per event, ``{"id": 12, "hash": "...", "at": "..."}``, written
after the transaction that recorded the events has committed (so it never holds an event the
database does not), by every process that writes: ``O_APPEND``, under ``flock``, one ``write`` per
commit, then ``fsync``. Lines from processes that commit one after the other may land out of order;
readers key them by id.

Where it lives: ``audit_anchor`` in the config file if set; else beside a SQLite database
(``<name>-audit.jsonl``); else (PostgreSQL) in the artifact folder, ``audit-<database>.jsonl``.
The first write to a workspace without an anchor starts it with every event the database then holds;
when that is more than the write's own events (a workspace from before anchors, or an anchor deleted and
started again), a first line ``{"started": TIME, "earlier": N}`` says so, and ``verify`` warns from then
on that the N earlier events were only anchored at TIME.

``verify`` (store/audit.py) accepts a database that is at or ahead of its anchor (a process that died
between its commit and its anchor write), never behind it or different from it.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from sqlalchemy import select

from fuseboard.store.models import AuditEvent

PENDING = "fuseboard.anchor_pending"  # session.info: the events this transaction recorded
TORN = '\n{"torn":true}\n'  # follows a line a crash cut short


def stamp(at: datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _line(event_id: int, hash_: str, at: datetime | str) -> str:
    when = at if isinstance(at, str) else stamp(at)
    return json.dumps({"id": event_id, "hash": hash_, "at": when}, separators=(",", ":")) + "\n"


def _all_events(ws: Any) -> list[tuple[int, str, datetime]]:
    with ws.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(AuditEvent.id, AuditEvent.hash, AuditEvent.at)
                                                .order_by(AuditEvent.id))]


def _open(path: Path, group: str | None) -> int:
    """The anchor opened for appending (created owner-only, or shared like the database)."""
    fresh = not path.exists()
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    if fresh and group:
        from fuseboard.store.db import share

        try:
            share(path, group)
        except Exception:  # noqa: BLE001 (the file works owner-only; sharing is retried on the next open)
            pass
    return fd


def _write(fd: int, text: str) -> None:
    data = text.encode()
    while data:
        written = os.write(fd, data)
        data = data[written:]
    os.fsync(fd)


def append(ws: Any, events: Iterable[Any]) -> str | None:
    """Checkpoint ``events`` (just committed) in ``ws``'s anchor; returns why it could not, or None.

    A new (or empty) anchor starts with every event in the database, so the chain is anchored from
    the first write on; several processes appending take turns on the file lock.
    """
    path = ws.audit_anchor
    if path is None:
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = _open(path, ws.group)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            start = ""
            if size == 0:
                rows = _all_events(ws)
                own = {e.id for e in events}
                earlier = sum(1 for row in rows if row[0] not in own)
                if earlier:  # a history the anchor did not see being written
                    start = json.dumps({"started": stamp(datetime.now(timezone.utc)), "earlier": earlier},
                                       separators=(",", ":")) + "\n"
            else:
                rows = [(e.id, e.hash, e.at) for e in events]
            # a write cut short (a crash) left a line without its end: close it and say so, so that
            # readers skip it rather than take it for damage
            torn = size > 0 and os.pread(fd, 1, size - 1) != b"\n"
            if rows:
                _write(fd, (TORN if torn else "") + start + "".join(_line(*row) for row in rows))
        finally:
            os.close(fd)  # releases the lock
    except OSError as exc:
        return f"the audit anchor could not be written: {exc.strerror or exc} ({path})"
    return None


@dataclass
class Anchor:
    """What an anchor file holds: event id -> (hash, time checkpointed), and what is wrong with it."""

    path: Path
    exists: bool = False
    entries: dict[int, tuple[str, str]] = field(default_factory=dict)
    problem: str = ""
    problem_event: int | None = None
    started: tuple[str, int] | None = None  # (when, how many events it found): started on an existing history

    @property
    def last(self) -> int | None:
        return max(self.entries, default=None)


def read(path: Path) -> Anchor:
    """Read an anchor file (or a webhook receiver's file of the monitor's ``audit.checkpoint`` bodies,
    alert events beside them skipped). A last line cut short (a crash mid-write) is ignored; a damaged
    line before it, or two different hashes for one event, is a problem."""
    anchor = Anchor(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return anchor
    except OSError as exc:
        anchor.exists, anchor.problem = True, f"cannot read the audit anchor: {exc.strerror} ({path})"
        return anchor
    anchor.exists = True
    lines = data.split(b"\n")
    for number, raw in enumerate(lines, 1):
        if not raw.strip() or raw == TORN.strip().encode():
            continue
        try:
            item = json.loads(raw)
            if isinstance(item, dict) and item.get("event", "audit.checkpoint") != "audit.checkpoint":
                continue  # an alert event beside the monitor's checkpoints in a webhook receiver's file
            if isinstance(item, dict) and "started" in item and "id" not in item:
                anchor.started = anchor.started or (str(item["started"]), int(item.get("earlier", 0)))
                continue
            event_id, hash_, at = int(item["id"]), str(item["hash"]), str(item.get("at", ""))
        except (ValueError, KeyError, TypeError):
            if number == len(lines) or lines[number] == TORN.strip().encode():  # a write cut short
                continue
            anchor.problem = f"the audit anchor is damaged at line {number} ({path})"
            return anchor
        seen = anchor.entries.get(event_id)
        if seen is not None and seen[0] != hash_:
            anchor.problem = (f"the audit anchor holds two different hashes for event {event_id} (lines for "
                              f"{seen[1]} and {at}): it was written for two different chains ({path})")
            anchor.problem_event = event_id
            return anchor
        anchor.entries[event_id] = (hash_, at)
    return anchor


def carry(source: Any, target: Any) -> Path | None:
    """After ``source``'s rows were copied into ``target``: give the copy an anchor. The source's own
    checkpoints are carried over (so a source that lost events verifies as such in the copy too), then
    every copied event the source had not checkpointed. An anchor already at the target that belongs
    to another chain (``--force`` over another workspace) is moved aside as ``NAME.replaced-TIME``."""
    path = target.audit_anchor
    if path is None:
        return None
    carried = read(source.audit_anchor) if source.audit_anchor is not None else None
    entries = {i: (h, stamp(at)) for i, h, at in _all_events(target)}
    if carried is not None and carried.exists and not carried.problem:
        entries.update(carried.entries)  # the source's checkpoints win: verify compares the copy with them
    existing = read(path)
    if existing.exists and (existing.problem or any(i not in entries or entries[i][0] != h
                                                     for i, (h, _) in existing.entries.items())):
        moved = path.with_name(f"{path.name}.replaced-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}")
        os.replace(path, moved)
        existing = Anchor(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = _open(path, target.group)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        started = carried.started if carried is not None and not existing.entries else None
        head = "" if started is None else json.dumps({"started": started[0], "earlier": started[1]},
                                                       separators=(",", ":")) + "\n"  # the source's warning too
        _write(fd, head + "".join(_line(i, h, at) for i, (h, at) in sorted(entries.items())
                                  if i not in existing.entries))
    finally:
        os.close(fd)
    return path


def copy_file(ws: Any, dest: Path) -> Path | None:
    """Copy ``ws``'s anchor to ``dest`` (a backup's; the caller renames it into place), under the
    writers' lock so no line is torn; None when the workspace has no anchor."""
    import shutil

    src = ws.audit_anchor
    if src is None or not src.exists():
        return None
    with open(src, "rb") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
        with open(dest, "wb") as out:
            os.fchmod(out.fileno(), 0o600)
            shutil.copyfileobj(handle, out)
            out.flush()
            os.fsync(out.fileno())
    return dest
