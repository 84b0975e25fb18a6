"""Real services for a test, on free loopback ports: a Prometheus server (Debian's ``prometheus``).

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
def prometheus(config: str) -> Iterator[str]:
    """A Prometheus server scraping as ``config`` says, on a free loopback port; yields its base URL."""
    exe = binary("prometheus", "prometheus")
    with tempfile.TemporaryDirectory(prefix="fuseboard-prometheus-") as name:
        folder = Path(name)
        (folder / "prometheus.yml").write_text(config)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with (folder / "prometheus.log").open("wb") as log:
            proc = subprocess.Popen([exe, f"--config.file={folder / 'prometheus.yml'}",
                                     f"--storage.tsdb.path={folder / 'data'}",
                                     f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            try:
                deadline = time.monotonic() + 60  # a generous start-up wait, not a speed bound
                while True:
                    try:
                        get(f"{url}/-/ready", timeout=2)
                        break
                    except OSError:
                        if proc.poll() is not None or time.monotonic() > deadline:
                            raise RuntimeError("Prometheus did not start: "
                                               + (folder / "prometheus.log").read_text()[-2000:]) from None
                        time.sleep(0.1)
                yield url
            finally:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)


def query(url: str, promql: str) -> list[dict]:
    """An instant query's result vector (``GET /api/v1/query``): ``[{"metric": {...}, "value": [t, "v"]}]``."""
    answer = json.loads(get(f"{url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})))
    assert answer["status"] == "success", answer
    return answer["data"]["result"]
