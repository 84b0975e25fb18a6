"""Real services for a test, on free loopback ports: Prometheus and Alertmanager (Debian's packages).

``prometheus(config)`` is a context manager that starts ``prometheus`` with the scrape configuration
``config`` (YAML text) and storage in a temporary folder, waits until it is ready, yields its base URL,
and stops it (and reaps the process) at the end. When the binary is missing the test is skipped,
unless FUSEBOARD_REQUIRE_SERVICES=1, where a missing server fails it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest


def binary(name: str, package: str) -> str:
    """The path of ``name``; skips the test when it is missing (fails it under FUSEBOARD_REQUIRE_SERVICES=1)."""
    found = shutil.which(name)
    if found:
        return found
    why = f"{name} is not installed (apt-get install {package})"
    if os.environ.get("FUSEBOARD_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{why}; FUSEBOARD_REQUIRE_SERVICES=1 requires it")
    pytest.skip(why)


def free_port() -> int:
    """A port free on 127.0.0.1 now (the caller binds it next)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, timeout: float = 5) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310  (a loopback URL the test made)
        return answer.read()


@contextlib.contextmanager
def running(command: list[str], ready: str, log_path: Path, what: str) -> Iterator[None]:
    """``command`` running until the block ends (then stopped and reaped), once GET ``ready`` answers."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60  # a generous start-up wait, not a speed bound
            while True:
                try:
                    get(ready, timeout=2)
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"{what} did not start: " + log_path.read_text()[-2000:]) from None
                    time.sleep(0.1)
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


@contextlib.contextmanager
def prometheus(config: str) -> Iterator[str]:
    """A Prometheus server scraping as ``config`` says, on a free loopback port; yields its base URL."""
    exe = binary("prometheus", "prometheus")
    with tempfile.TemporaryDirectory(prefix="fuseboard-prometheus-") as name:
        folder = Path(name)
        (folder / "prometheus.yml").write_text(config)
        url = f"http://127.0.0.1:{free_port()}"
        with running([exe, f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={folder / 'data'}",
                      f"--web.listen-address={url.removeprefix('http://')}", "--log.level=warn"],
                     f"{url}/-/ready", folder / "prometheus.log", "Prometheus"):
            yield url


ALERTMANAGER = """route:
  receiver: "null"
  group_wait: 1s
  group_interval: 1s
receivers:
  - name: "null"
"""


@contextlib.contextmanager
def alertmanager() -> Iterator[str]:
    """An Alertmanager (Debian's ``prometheus-alertmanager``) on a free loopback port, clustering off (no
    other port opened); yields its base URL."""
    exe = shutil.which("alertmanager") or binary("prometheus-alertmanager", "prometheus-alertmanager")
    with tempfile.TemporaryDirectory(prefix="fuseboard-alertmanager-") as name:
        folder = Path(name)
        (folder / "am.yml").write_text(ALERTMANAGER)
        url = f"http://127.0.0.1:{free_port()}"
        with running([exe, f"--config.file={folder / 'am.yml'}", f"--storage.path={folder / 'data'}",
                      f"--web.listen-address={url.removeprefix('http://')}", "--cluster.listen-address="],
                     f"{url}/api/v2/status", folder / "am.log", "Alertmanager"):
            yield url


def am_alerts(url: str) -> list[dict]:
    """Alertmanager's own view: ``GET /api/v2/alerts`` of the active ones (silenced and inhibited too)."""
    return json.loads(get(f"{url}/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true"))


def query(url: str, promql: str) -> list[dict]:
    """An instant query's result vector (``GET /api/v1/query``): ``[{"metric": {...}, "value": [t, "v"]}]``."""
    answer = json.loads(get(f"{url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})))
    assert answer["status"] == "success", answer
    return answer["data"]["result"]
