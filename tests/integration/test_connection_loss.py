"""Team mode: the database server goes away and comes back. The monitor says so once, backs off and
resumes; the console shows plainly that the database is unreachable, keeps the last known state and
recovers by itself. (PostgreSQL only: run with FUSEBOARD_TEST_POSTGRES.)"""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from fuseboard.monitoring.scheduler import Intervals, Monitor
from fuseboard.store.audit import verify
from fuseboard.store.db import open_workspace
from tests.support import PG_SERVER
from tests.support.console import make_app, screen_text, settle

pytestmark = pytest.mark.skipif(not PG_SERVER, reason="set FUSEBOARD_TEST_POSTGRES to a PostgreSQL server URL")


class Proxy:
    """A TCP proxy in front of the database server that can be cut (connections dropped, new ones
    refused) and restored on the same port."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.port = 0
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        self.open = True
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        assert self.listener is not None
        self.listener.close()
        with self.lock:
            self.open = False
            for sock in self.sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self.sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            with self.lock:
                if not self.open:  # cut while this one was being connected
                    client.close()
                    server.close()
                    continue
                self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.close()
            except OSError:
                pass


@pytest.fixture
def proxied(demo_url: str) -> tuple[str, Proxy]:
    url = make_url(demo_url)
    proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
    return url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False), proxy


def _wait(condition: Any, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_the_monitor_says_it_once_backs_off_and_resumes(proxied: tuple[str, Proxy], demo_url: str,
                                                        caplog: pytest.LogCaptureFixture,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    url, proxy = proxied
    cycles: list = []
    monitor = Monitor(open_workspace(url), Intervals(health=1, drift=600, performance=600, lease_ttl=6),
                      on_cycle=cycles.append)
    caplog.set_level(logging.INFO, logger="fuseboard")
    logger = logging.getLogger("fuseboard.monitor")
    monkeypatch.setattr(logger, "disabled", False)  # (a logging.config call elsewhere may have turned it off)
    monkeypatch.setattr(logger, "propagate", True)
    monitor.start()
    try:
        _wait(lambda: monitor.leading and any(c.kind == "health" and not c.failed for c in cycles), 20,
              "the monitor leads and runs the health check")
        proxy.cut()
        _wait(lambda: monitor.unreachable_since is not None and not monitor.leading, 20, "it notices the loss")
        time.sleep(4)  # several health intervals and lease renewals while the server is away
        said = [r for r in caplog.records if "database unreachable" in r.getMessage()]
        assert len(said) == 1 and not any(r.exc_info for r in caplog.records if r.levelno >= logging.ERROR)
        ran_while_down = [c for c in cycles if not c.failed]
        proxy.restore()
        _wait(lambda: monitor.unreachable_since is None and monitor.leading, 20, "it comes back by itself")
        _wait(lambda: len([c for c in cycles if not c.failed]) > len(ran_while_down), 20, "checks resume")
        assert any("reachable again" in r.getMessage() for r in caplog.records)
    finally:
        monitor.stop()
        proxy.cut()
    ws = open_workspace(demo_url)
    assert verify(ws).ok


async def test_the_console_shows_the_database_unreachable_and_recovers(proxied: tuple[str, Proxy],
                                                                       tmp_path: Path) -> None:
    url, proxy = proxied
    app = make_app(url, tmp_path, label="team")
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            assert "credit-risk" in screen_text(app)
            proxy.cut()
            app._refresh_tick()  # (the 15 s timer, without waiting for it)
            for _ in range(50):
                await pilot.pause(0.1)
                if app.db_unreachable:
                    break
            shown = screen_text(app)
            assert "DATABASE UNREACHABLE since" in shown  # first on the title line
            assert "credit-risk" in shown  # the last known state stays on screen
            assert any("Showing the last known state" in n.message for n in app._notifications)
            proxy.restore()
            app._refresh_tick()
            for _ in range(50):
                await pilot.pause(0.1)
                if not app.db_unreachable:
                    break
            assert app.db_unreachable is None and "DATABASE UNREACHABLE" not in screen_text(app)
            assert any(n.message == "database reachable again" for n in app._notifications)
    finally:
        proxy.cut()


async def test_a_console_started_while_the_database_is_down_comes_up_with_it(proxied: tuple[str, Proxy],
                                                                            tmp_path: Path) -> None:
    url, proxy = proxied
    proxy.cut()
    app = make_app(url, tmp_path, label="team", run_monitor=True)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            for _ in range(50):
                await pilot.pause(0.1)
                if app.db_unreachable:
                    break
            assert app.db_unreachable and app.is_running  # said, and still up (the monitor waits too)
            proxy.restore()
            app._refresh_tick()
            for _ in range(80):
                await pilot.pause(0.1)
                if getattr(app.screen, "loaded", False) and not app.db_unreachable:
                    break
            assert app.db_unreachable is None and "credit-risk" in screen_text(app)
    finally:
        proxy.cut()
