"""A real Alertmanager (Debian's ``prometheus-alertmanager``) on a free loopback port, for one test.

``alertmanager(tmp_path)`` is a context manager yielding its base URL; clustering is off (no other
port is opened). When the binary is missing the test is skipped, unless FUSEBOARD_REQUIRE_SERVICES=1
(``.ci/run`` sets it after installing the package), where a missing server is a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

BINARIES = ("prometheus-alertmanager", "alertmanager")
CONFIG = """route:
  receiver: "null"
  group_wait: 1s
  group_interval: 1s
receivers:
  - name: "null"
"""


def binary() -> str:
    for name in BINARIES:
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("FUSEBOARD_REQUIRE_SERVICES") == "1":
        pytest.fail("Alertmanager is not installed (apt-get install prometheus-alertmanager)")
    pytest.skip("Alertmanager is not installed (apt-get install prometheus-alertmanager); .ci/run installs it")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310  (a loopback URL the test made)
        return json.loads(answer.read())


@contextlib.contextmanager
def alertmanager(folder: Path) -> Iterator[str]:
    exe = binary()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "am.yml").write_text(CONFIG)
    port = free_port()
    log = (folder / "am.log").open("wb")
    proc = subprocess.Popen([exe, f"--config.file={folder / 'am.yml'}", f"--storage.path={folder / 'data'}",
                             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # a generous start-up wait, not a speed bound
        while True:
            try:
                get_json(f"{url}/api/v2/status")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"Alertmanager did not start: {(folder / 'am.log').read_text()[-2000:]}")
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


def alerts(url: str, *, active_only: bool = True) -> list[dict]:
    """Alertmanager's own view: ``GET /api/v2/alerts`` (active ones; silenced and inhibited too)."""
    query = "?active=true&silenced=true&inhibited=true&unprocessed=true" if active_only else ""
    return get_json(f"{url}/api/v2/alerts{query}")  # type: ignore[return-value]
