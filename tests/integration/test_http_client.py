"""fuseboard's HTTP client (fuseboard.http) against real local servers that misbehave: connections kept
alive and reused, a total deadline that a dripping server cannot stretch, no redirect followed, a capped
body, a connection cut by the deadline or the cap never reused, TLS checked, and ``Retry-After`` read.

Timing assertions leave a generous margin over the deadline (a busy machine may be slow); what they
rule out is waiting for the misbehaving server, which would go on for a minute.
"""

from __future__ import annotations

import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from fuseboard import http
from tests.support.drip import LONG, ClosesIdle, HangsUpOnSecond, Misbehaving, TLSServer, connections

DEADLINE = 1.0
MARGIN = 4.0  # far more than any machine needs past the deadline, far less than LONG
SECRET = "tok-3c1e9a-do-not-forward"


@pytest.fixture
def server(http_server: Any) -> Any:
    return http_server(Misbehaving)


def timed(method: str, url: str, **kwargs: Any) -> tuple[http.Response, float]:
    began = time.monotonic()
    answer = http.request(method, url, **kwargs)
    return answer, time.monotonic() - began


# -- connections are reused ------------------------------------------------------------------------------


def test_two_requests_to_the_same_server_share_one_connection(server: Any) -> None:
    first = http.request("GET", server.url + "/one")
    second = http.request("POST", server.url + "/two", body=b"{}")
    assert (first.ok, first.text(), second.ok, second.text()) == (True, "ok /one", True, "ok /two")
    assert [hit.path for hit in server.hits] == ["/one", "/two"]
    assert connections(server) == 1


def test_a_connection_the_server_closed_while_idle_is_replaced_without_a_failure(http_server: Any) -> None:
    server = http_server(ClosesIdle)
    assert http.request("GET", server.url + "/a").ok
    time.sleep(0.6)  # the server's keep-alive timeout (0.2 s) passes: it closes its end
    again = http.request("GET", server.url + "/b")
    assert again.ok and again.text() == "ok /b", again.describe()
    assert connections(server) == 2


def test_a_get_the_server_hung_up_on_is_sent_once_more_on_a_new_connection(http_server: Any) -> None:
    server = http_server(HangsUpOnSecond)
    assert http.request("GET", server.url + "/a").ok
    again = http.request("GET", server.url + "/b")
    assert again.ok and again.text() == "ok /b", again.describe()
    assert [hit.path for hit in server.hits] == ["/a", "/b", "/b"] and connections(server) == 2


def test_a_post_the_server_hung_up_on_is_not_sent_again(http_server: Any) -> None:
    """A deploy webhook must not run twice: the failure is reported instead."""
    server = http_server(HangsUpOnSecond)
    assert http.request("POST", server.url + "/deploy", body=b"{}").ok
    again = http.request("POST", server.url + "/deploy", body=b"{}")
    assert again.describe() == "failed: the server closed the connection without answering"
    assert [(hit.method, hit.path) for hit in server.hits] == [("POST", "/deploy")] * 2


def test_a_connection_idle_for_too_long_is_not_reused(server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Firewalls and NAT forget idle connections without a word: an old one is not trusted with a request."""
    monkeypatch.setattr(http, "REUSE_IDLE", 0.2)
    assert http.request("GET", server.url + "/a").ok
    assert http.request("GET", server.url + "/b").ok
    time.sleep(0.5)
    assert http.request("POST", server.url + "/c", body=b"{}").ok
    assert [hit.path for hit in server.hits] == ["/a", "/b", "/c"]
    assert len({hit.port for hit in server.hits[:2]}) == 1 and server.hits[2].port != server.hits[0].port


def test_requests_from_many_threads_at_once_each_get_their_own_answer(server: Any) -> None:
    answers: dict[int, http.Response] = {}

    def ask(i: int) -> None:
        answers[i] = http.request("GET", f"{server.url}/n{i}", deadline=10)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {i: (a.ok, a.text()) for i, a in answers.items()} == {i: (True, f"ok /n{i}") for i in range(24)}


# -- the total deadline ----------------------------------------------------------------------------------


def test_a_body_dripped_byte_by_byte_is_cut_at_the_deadline_and_its_connection_not_reused(server: Any) -> None:
    answer, elapsed = timed("GET", server.url + "/drip-body", deadline=DEADLINE)
    assert (answer.status, answer.error, answer.ok, answer.timed_out) == (200, "timeout after 1s", False, True)
    assert answer.describe() == "HTTP 200; timeout after 1s"
    assert elapsed < DEADLINE + MARGIN
    after = http.request("GET", server.url + "/after")
    assert after.ok and after.text() == "ok /after"
    assert connections(server) == 2  # a fresh connection: the cut one was not handed out again


@pytest.mark.parametrize("path", ["/drip-headers", "/silent"])
def test_headers_that_never_arrive_are_cut_at_the_deadline(server: Any, path: str) -> None:
    answer, elapsed = timed("POST", server.url + path, body=b"{}", deadline=DEADLINE)
    assert (answer.status, answer.error, answer.describe()) == (None, "timeout after 1s", "timeout after 1s")
    assert elapsed < DEADLINE + MARGIN
    assert answer.seconds < DEADLINE + MARGIN
    after = http.request("GET", server.url + "/after")
    assert after.ok and connections(server) == 2


def test_a_tls_server_that_never_shakes_hands_is_cut_at_the_deadline() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:  # accepts (the backlog does), never answers
        answer, elapsed = timed("GET", f"https://127.0.0.1:{listener.getsockname()[1]}/", deadline=DEADLINE)
    assert (answer.status, answer.error) == (None, "timeout after 1s")
    assert elapsed < DEADLINE + MARGIN


def test_the_deadline_counts_from_the_start_not_per_read(server: Any) -> None:
    """Several misbehaving requests in a row: each one is cut at its own deadline, none adds up."""
    began = time.monotonic()
    for path in ("/drip-body", "/drip-headers", "/silent"):
        assert http.request("GET", server.url + path, deadline=0.5).error == "timeout after 0.5s"
    assert time.monotonic() - began < 3 * 0.5 + MARGIN


# -- no redirects ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_an_answer_and_the_token_never_reaches_the_other_host(http_server: Any,
                                                                            status: int) -> None:
    elsewhere = http_server(Misbehaving)
    redirector = http_server(Misbehaving, status=status, target=elsewhere.url + "/stolen")
    answer = http.request("POST", redirector.url + "/redirect", body=b'{"event": "deploy"}',
                          headers={"Authorization": f"Bearer {SECRET}"})
    assert (answer.status, answer.location, answer.ok) == (status, elsewhere.url + "/stolen", False)
    assert answer.describe() == f"HTTP {status} -> {elsewhere.url}/stolen (redirects are not followed)"
    assert elsewhere.hits == []
    assert [(h.method, h.path, h.authorization) for h in redirector.hits] == [
        ("POST", "/redirect", f"Bearer {SECRET}")]


# -- the capped body -------------------------------------------------------------------------------------


def test_an_endless_body_is_cut_at_the_cap_without_reading_on(server: Any) -> None:
    answer, elapsed = timed("GET", server.url + "/endless", deadline=LONG, max_body=1000)
    assert (answer.status, answer.ok, answer.truncated, answer.body) == (200, True, True, b"y" * 1000)
    assert elapsed < MARGIN  # not read on (to a deadline of a minute) to keep the connection
    after = http.request("GET", server.url + "/after")
    assert after.ok and after.text() == "ok /after"
    assert connections(server) == 2  # the connection left mid-answer was closed, not reused


def test_a_long_body_with_a_length_is_cut_at_the_cap_and_the_next_request_still_succeeds(server: Any) -> None:
    answer = http.request("GET", server.url + "/big", max_body=100)
    assert (answer.ok, answer.truncated, len(answer.body)) == (True, True, 100)
    after = http.request("GET", server.url + "/after")
    assert after.ok and after.text() == "ok /after" and connections(server) == 2
    whole = http.request("GET", server.url + "/after", max_body=len(b"ok /after"))
    assert (whole.truncated, whole.body) == (False, b"ok /after")  # exactly at the cap is not cut


# -- TLS ---------------------------------------------------------------------------------------------


def test_a_certificate_nobody_trusts_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    try:
        tls = TLSServer(tmp_path)
    except FileNotFoundError:
        pytest.skip("needs the openssl command to make a certificate")
    try:
        answer = http.request("POST", tls.url + "/deploy", body=b"{}", headers={"Authorization": f"Bearer {SECRET}"},
                              deadline=5)
    finally:
        tls.close()
    assert answer.status is None and answer.error.startswith("TLS: "), answer.error
    assert "CERTIFICATE_VERIFY_FAILED" in answer.error
    assert tls.requests == 0


# -- Retry-After ---------------------------------------------------------------------------------------


NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


def after(value: str | None, now: datetime = NOW) -> float | None:
    return http.Response(503, headers={} if value is None else {"retry-after": value}).retry_after(now.timestamp())


def test_retry_after_in_seconds() -> None:
    assert after("120") == 120.0
    assert after(" 0 ") == 0.0
    assert after("99999999999") == http.RETRY_AFTER_MAX  # capped, not a wait of three thousand years


def test_retry_after_as_an_http_date() -> None:
    assert after(format_datetime(NOW + timedelta(seconds=90), usegmt=True)) == 90.0  # IMF-fixdate
    assert after("Sunday, 01-Mar-26 12:01:00 GMT") == 60.0  # the obsolete RFC 850 form
    assert after("Sun Mar  1 12:00:30 2026") == 30.0  # asctime
    assert after(format_datetime(NOW + timedelta(days=3), usegmt=True)) == http.RETRY_AFTER_MAX


def test_retry_after_in_the_past_is_no_wait_and_never_negative() -> None:
    assert after(format_datetime(NOW - timedelta(hours=1), usegmt=True)) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5e3", "12 seconds", "Tue, 99 Foo 2026 25:61:00 GMT"])
def test_retry_after_absent_negative_or_garbage_is_none(value: str | None) -> None:
    assert after(value) is None


def test_retry_after_without_now_counts_from_the_current_time() -> None:
    soon = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=600), usegmt=True)
    wait = http.Response(429, headers={"retry-after": soon}).retry_after()
    assert wait is not None and 500 < wait <= 600


def test_a_server_asking_to_come_back_later_is_read_not_obeyed(http_server: Any) -> None:
    busy = http_server(Misbehaving, retry_after=7)
    answer, elapsed = timed("GET", busy.url + "/busy")
    assert (answer.status, answer.ok, answer.retry_after(), answer.text()) == (503, False, 7.0, "busy")
    assert len(busy.hits) == 1 and elapsed < 7  # asked once, not again after the wait
