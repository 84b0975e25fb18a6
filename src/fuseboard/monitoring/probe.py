"""The health probe: one HTTP GET of a deployment's endpoint, timed.

One job: ask the endpoint and say what came back (``ProbeResult``); judging it (up long enough?
the right version?) is ``evaluate.evaluate_health``'s, keeping the history is the checks'.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Hashable, Sequence


@dataclass
class ProbeResult:
    up: bool
    status_code: int | None
    latency_ms: float | None
    version: str | None
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def probe(url: str, path: str = "/health", timeout: float = 2.0, expected_status: int = 200) -> ProbeResult:
    """GET the endpoint's health path; up when it answers ``expected_status`` within ``timeout`` (in all).

    Redirects are not followed: a 3xx is "not up, HTTP 302 -> Location" (unless it is the
    expected status). The version is read from a JSON body's ``version`` (or ``model_version``) field.
    """
    from fuseboard import http

    target = url.rstrip("/") + path
    answer = http.request("GET", target, deadline=timeout, max_body=65536)
    if answer.status is None:
        return ProbeResult(False, None, None, None, answer.error[:200])
    code = answer.status
    latency = answer.seconds * 1000
    if answer.error:  # the headers came, the body did not (in time)
        return ProbeResult(False, code, latency, None, answer.describe()[:200])
    version = None
    try:
        data = json.loads(answer.body)
        if isinstance(data, dict):
            found = data.get("version", data.get("model_version"))
            version = None if found is None else str(found)
    except (ValueError, UnicodeDecodeError):
        pass
    return ProbeResult(code == expected_status, code, latency, version,
                       "" if code == expected_status else answer.describe()[:200])



class Probes:
    """Probes run on ``workers`` threads, each taking the next from a queue filled before they start.

    A cycle probes every deployment at once (30,000 of them): submitting each to a thread pool made the
    checking thread contend with the probing threads for the pool's lock, 0.85 ms a submission, half of
    a health cycle. Here the checking thread only waits on the results it needs, in the order given.
    Used as a context manager: leaving it stops the probes not yet started (cancelled) and waits for
    those in flight (each bounded by its deadline).

    Parameters
    ----------
    jobs : sequence of (key, url, path, timeout, expected_status)
        One probe each (``probe``'s arguments), started in this order.
    workers : int
        Probes in flight at once.

    Attributes
    ----------
    results : dict of key to concurrent.futures.Future
        Each probe's ``ProbeResult`` (or what it raised).
    """

    def __init__(self, jobs: Sequence[tuple[Hashable, str, str, float, int]], workers: int) -> None:
        import queue
        import threading
        from concurrent.futures import Future

        self.results: dict[Hashable, Future[ProbeResult]] = {}
        self._queue: queue.SimpleQueue[tuple[Future[ProbeResult], tuple[str, str, float, int]]] = queue.SimpleQueue()
        for key, *args in jobs:
            found = self.results[key] = Future()
            self._queue.put((found, tuple(args)))  # type: ignore[arg-type]
        self._threads = [threading.Thread(target=self._work, name=f"fuseboard-probe-{k}", daemon=True)
                         for k in range(min(workers, len(jobs)))]
        for thread in self._threads:
            thread.start()

    def _work(self) -> None:
        import queue

        while True:
            try:
                found, args = self._queue.get_nowait()
            except queue.Empty:
                return
            if not found.set_running_or_notify_cancel():
                continue
            try:
                found.set_result(probe(*args))
            except BaseException as exc:  # noqa: BLE001 - the waiting check reads it as an error
                found.set_exception(exc)

    def __enter__(self) -> Probes:
        return self

    def __exit__(self, *exc: object) -> None:
        for found in self.results.values():
            found.cancel()  # (only those not started)
        for thread in self._threads:
            thread.join()
