"""The outbox under faults: a receiver down, 5xx, 429 with Retry-After, a redirect, a slow drip, dead
letters and their retry, and a kill -9 of the monitor mid-delivery: every event delivered, in order,
none lost, none doubled for a receiver that drops duplicates."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from fuseboard.monitoring import delivery, scheduler
from fuseboard.monitoring.receivers import build
from fuseboard.store.db import open_workspace
from fuseboard.store.models import utcnow

from tests.support.deploys import run
from tests.support.receivers import Recorder, outbox_events, record_alert, recorder_attrs, spec


def _ids(bodies: list[dict]) -> list[str]:
    return [b["id"] for b in bodies]


def test_a_receiver_that_is_down_gets_every_event_in_order_once_it_is_back(demo_url: str, http_server: Any) -> None:
    ws = open_workspace(demo_url)
    (down,) = build([spec("webhook", "http://127.0.0.1:9/in", name="ops", timeout=1)], {})
    scheduler.run_cycle(ws, "drift")
    record_alert(ws, "crit")
    assert delivery.deliver_to(ws, down) == 0
    (state,) = delivery.states(ws, [down])
    assert state.tries == 1 and state.next_at is not None and "connection refused" in state.last_error
    record_alert(ws, "ok")  # more events while it is down
    later = utcnow() + timedelta(minutes=5)
    assert delivery.deliver_to(ws, down, now=later) == 0
    assert delivery.states(ws, [down])[0].tries == 2
    server = http_server(Recorder, **recorder_attrs(status=200))
    (back,) = build([spec("webhook", f"{server.url}/in", name="ops")], {})  # the same receiver, reachable again
    sent = delivery.deliver_to(ws, back, now=later + timedelta(minutes=10))
    expected = [body for _, _, body in outbox_events(ws)][-sent:]
    assert sent >= 5 and _ids(server.kept) == _ids(expected)  # every event, in the outbox's order
    assert [b["event"] for b in server.kept][-2:] == ["fired", "resolved"]
    assert delivery.states(ws, [back])[0].pending == 0


def test_5xx_and_429_back_off_and_retry_after_is_honoured(demo_url: str, http_server: Any) -> None:
    server = http_server(Recorder, **recorder_attrs(answers=[(500, {}), (429, {"Retry-After": "120"})], status=200))
    (hook,) = build([spec("webhook", f"{server.url}/in")], {})
    ws = open_workspace(demo_url)
    record_alert(ws, "crit")
    t0 = utcnow()
    assert delivery.deliver_to(ws, hook, now=t0) == 0
    first = delivery.states(ws, [hook])[0]
    assert first.tries == 1 and "HTTP 500" in first.last_error
    assert timedelta(seconds=1) <= first.next_at - t0 <= timedelta(seconds=3)  # 2 s +- 20%
    assert delivery.deliver_to(ws, hook, now=first.next_at) == 0
    second = delivery.states(ws, [hook])[0]
    assert second.tries == 2 and "HTTP 429" in second.last_error
    assert second.next_at - first.next_at >= timedelta(seconds=120)  # what the receiver asked for
    assert delivery.deliver_to(ws, hook, now=second.next_at - timedelta(seconds=1)) == 0  # not before
    assert len(server.hits) == 2
    assert delivery.deliver_to(ws, hook, now=second.next_at) == 1
    assert len(server.kept) == 1 and server.hits[0]["body"]["id"] == server.hits[2]["body"]["id"]


def test_a_redirect_is_not_followed_and_the_event_becomes_a_dead_letter_naming_it(
        demo_url: str, http_server: Any) -> None:
    other = http_server(Recorder, **recorder_attrs(status=200))
    server = http_server(Recorder, **recorder_attrs(answers=[(307, {"Location": f"{other.url}/stolen"})]))
    (hook,) = build([spec("webhook", f"{server.url}/in")], {"FUSEBOARD_WEBHOOK_TOKEN": "tok-3r4ty8"})
    ws = open_workspace(demo_url)
    record_alert(ws, "crit")
    record_alert(ws, "ok")
    assert delivery.deliver_to(ws, hook) == 1  # the first a dead letter, the next one delivered
    assert other.hits == []
    (letter,) = delivery.dead_letters(ws, "webhook")
    assert letter.kind == "alert.fired" and letter.tries == 1
    assert f"HTTP 307 -> {other.url}/stolen" in letter.error and "tok-3r4ty8" not in letter.error
    assert delivery.states(ws, [hook])[0].dead == 1


def test_a_slow_drip_is_cut_at_the_deadline_and_tried_again(demo_url: str, http_server: Any) -> None:
    server = http_server(Recorder, **recorder_attrs(answers=[("drip", {})], status=200))
    (hook,) = build([spec("webhook", f"{server.url}/in", timeout=1)], {})
    ws = open_workspace(demo_url)
    record_alert(ws, "crit")
    began = time.monotonic()
    assert delivery.deliver_to(ws, hook) == 0
    assert time.monotonic() - began < 8  # the drip lasts 10 s; the deadline is 1 s (a generous bound)
    assert "timeout after 1s" in delivery.states(ws, [hook])[0].last_error
    assert delivery.deliver_to(ws, hook, now=utcnow() + timedelta(minutes=1)) == 1


def test_dead_letters_after_max_tries_are_shown_and_sent_again_by_outbox_retry(
        demo_url: str, http_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = http_server(Recorder, **recorder_attrs(answers=[(503, {}), (503, {})], status=200))
    config = tmp_path / "config" / "fuseboard" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[[notify.receiver]]\nname = "ops"\nkind = "webhook"\nurl = "{server.url}/in"\nmax_tries = 2\n')
    ws = open_workspace(demo_url)
    record_alert(ws, "crit")
    (hook,) = build([spec("webhook", f"{server.url}/in", name="ops", max_tries=2)], {})
    assert delivery.deliver_to(ws, hook) == 0
    assert delivery.deliver_to(ws, hook, now=utcnow() + timedelta(minutes=1)) == 0  # the second try: dead
    shown = json.loads(run("--db", demo_url, "outbox", "--json").output)
    (receiver,) = shown["receivers"]
    assert (receiver["name"], receiver["dead_letters"], receiver["pending"]) == ("ops", 1, 0)
    (letter,) = shown["dead_letters"]
    assert letter["kind"] == "alert.fired" and "HTTP 503" in letter["error"] and letter["tries"] == 2
    plain = run("--db", demo_url, "outbox").output
    assert "1 dead letter(s)" in plain and "outbox retry" in plain
    again = run("--db", demo_url, "outbox", "retry", "ops", "--yes")
    assert again.exit_code == 0 and "1 delivered, 0 still failing" in again.output
    assert [b["event"] for b in server.kept] == ["fired"]
    assert json.loads(run("--db", demo_url, "outbox", "--json").output)["dead_letters"] == []


@pytest.mark.slow
def test_kill_9_of_the_monitor_mid_delivery_loses_nothing_and_a_deduping_receiver_sees_each_event_once(
        demo_url: str, http_server: Any, tmp_path: Path) -> None:
    server = http_server(Recorder, **recorder_attrs(status=200, dedupe=True, delay=0.3))
    config = tmp_path / "config" / "fuseboard" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[[notify.receiver]]\nname = "ops"\nkind = "webhook"\nurl = "{server.url}/in"\n')
    ws = open_workspace(demo_url)
    for status in ("crit", "ok", "crit", "ok", "crit", "ok", "crit", "ok"):
        record_alert(ws, status, check="quality")  # events to deliver, before any monitor runs
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    command = [sys.executable, "-m", "fuseboard", "--db", demo_url, "monitor", "--lease-ttl", "3",
               "--health-every", "3600", "--drift-every", "3600", "--performance-every", "3600"]

    def start() -> subprocess.Popen:
        return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    first = start()
    try:
        deadline = time.monotonic() + 60
        while len(server.hits) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(server.hits) >= 2, "the monitor never started delivering"
        time.sleep(0.15)  # mid-request: the receiver has the body, the cursor has not moved
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    got_before = len(server.hits)
    second = start()
    try:
        deadline = time.monotonic() + 120  # a generous bound: the lease expires in 3 s, delivery every 2 s
        while time.monotonic() < deadline:
            if delivery.states(ws, build([spec("webhook", f"{server.url}/in", name="ops")], {}))[0].pending == 0:
                break
            time.sleep(0.2)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    assert delivery.states(ws, build([spec("webhook", f"{server.url}/in", name="ops")], {}))[0].pending == 0
    bodies = [body for _, _, body in outbox_events(ws)]
    start_at = _ids(bodies).index(server.kept[0]["id"])
    assert _ids(server.kept) == _ids(bodies[start_at:])  # each event once, in order, none lost
    assert len(server.hits) >= len(server.kept) and got_before < len(server.hits)


def test_the_outbox_keeps_30_days_and_what_a_receiver_has_not_passed(demo_url: str, http_server: Any) -> None:
    server = http_server(Recorder, **recorder_attrs(status=200))
    ws = open_workspace(demo_url)
    t0 = utcnow() - timedelta(days=40)
    mark = max([i for i, _, _ in outbox_events(ws)], default=0)  # the demo's own (recent) events stay
    record_alert(ws, "crit", now=t0)
    record_alert(ws, "ok", now=t0 + timedelta(minutes=5))
    (hook,) = build([spec("webhook", f"{server.url}/in")], {})
    delivery.deliver_to(ws, hook, now=t0 + timedelta(minutes=6))  # takes both (they are new to it then)
    (down,) = build([spec("webhook", "http://127.0.0.1:9/", name="late", timeout=0.5)], {})
    record_alert(ws, "crit", now=utcnow() - timedelta(days=35))
    delivery.deliver_to(ws, down, now=utcnow() - timedelta(days=35))  # stuck behind its first event
    old = [i for i, _, _ in outbox_events(ws, mark)]
    assert len(old) == 3
    assert delivery.prune(ws) == 2  # the two both receivers passed; "late" still waits for the third
    assert [i for i, _, _ in outbox_events(ws, mark)] == old[2:]
    for receiver in (hook, build([spec("webhook", f"{server.url}/in", name="late")], {})[0]):
        delivery.deliver_to(ws, receiver, now=utcnow() + timedelta(hours=1))
    assert delivery.prune(ws) == 1  # taken by both at last: it goes too
    assert [i for i, _, _ in outbox_events(ws, mark)] == []
    assert len(outbox_events(ws)) == mark


def test_an_event_a_receiver_cannot_format_is_a_dead_letter_not_a_stuck_queue(demo_url: str,
                                                                               http_server: Any) -> None:
    from fuseboard.store.models import OutboxEvent

    server = http_server(Recorder, **recorder_attrs(status=200))
    (slack,) = build([spec("slack")], {"FUSEBOARD_SLACK_WEBHOOK": f"{server.url}/services/x"})
    ws = open_workspace(demo_url)
    with ws.transaction() as s:  # a body from some other release: no fields Slack's message needs
        s.add(OutboxEvent(uid="evt_odd", kind="alert.fired", key="x", body={"event": "fired", "id": "evt_odd",
                                                                           "at": utcnow().isoformat(), "alert": {}}))
    record_alert(ws, "crit")
    assert delivery.deliver_to(ws, slack) == 1  # the next event goes
    (letter,) = delivery.dead_letters(ws, "slack")
    assert letter.key == "x" and "could not format this event for slack: KeyError" in letter.error
