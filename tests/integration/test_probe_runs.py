"""A cycle's probes (``probe.Probes``): every endpoint asked once, each answer under its own key, and
nothing left running behind a cycle that stopped early."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from fuseboard.monitoring import probe as probing
from fuseboard.monitoring.probe import Probes
from tests.support.http import VersionEndpoint


class Slow(BaseHTTPRequestHandler):
    """Answers after ``server.release`` is set: a probe held in flight until the test lets it go."""

    def do_GET(self) -> None:  # noqa: N802
        self.server.hits.append(self.path)  # type: ignore[attr-defined]
        self.server.release.wait(10)  # type: ignore[attr-defined]
        body = b'{"version": "7"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_every_endpoint_is_asked_once_and_each_answer_is_its_own(http_server: Any) -> None:
    servers = [http_server(VersionEndpoint, version=str(v)) for v in (1, 2, 3)]
    jobs = [(k, servers[k % 3].url, "/health", 2.0, 200) for k in range(60)]
    with Probes(jobs, 8) as running:
        versions = {k: running.results[k].result(timeout=10).version for k in range(60)}
    assert versions == {k: str(k % 3 + 1) for k in range(60)}
    assert all(r.up for r in running.results.values() for r in [r.result()])


def test_leaving_early_cancels_the_probes_not_started_and_waits_for_the_one_in_flight(http_server: Any) -> None:
    release = threading.Event()
    server = http_server(Slow, release=release)
    jobs = [(k, server.url, f"/health/{k}", 5.0, 200) for k in range(5)]
    with pytest.raises(RuntimeError), Probes(jobs, 1) as running:
        def answer_once_given_up() -> None:  # the first probe answers only after the others were cancelled
            while not running.results[4].cancelled():
                threading.Event().wait(0.01)
            release.set()

        threading.Thread(target=answer_once_given_up, daemon=True).start()
        for _ in range(1000):  # the first probe in flight (at the server) when the cycle stops
            if server.hits:
                break
            threading.Event().wait(0.01)
        raise RuntimeError("the cycle stopped")
    assert running.results[0].result().version == "7"
    assert [k for k, found in running.results.items() if found.cancelled()] == [1, 2, 3, 4]
    assert server.hits == ["/health/0"]


def test_a_probe_that_raises_reaches_the_check_waiting_for_it(http_server: Any,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    server = http_server(VersionEndpoint, version="2")
    real = probing.probe

    def flaky(url: str, path: str, *args: Any) -> Any:
        if path == "/boom":
            raise OSError("no file descriptors left")
        return real(url, path, *args)

    monkeypatch.setattr(probing, "probe", flaky)
    with Probes([("a", server.url, "/boom", 2.0, 200), ("b", server.url, "/health", 2.0, 200)], 2) as running:
        with pytest.raises(OSError, match="no file descriptors"):
            running.results["a"].result(timeout=10)
        assert running.results["b"].result(timeout=10).up
