"""Answering scrapes: a source that reads the workspace and the monitor for each one (a database error
becomes ``fuseboard_scrape_error``), the HTTP server (``serve``, ``MetricsServer``), one scrape's text
(``scrape``), the text file for node_exporter (``write_textfile``, ``Textfile``) and prometheus_client's
registry (``registry``; prometheus_client is imported only there and in its collector).
"""

from __future__ import annotations

import gzip
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fuseboard.errors import FuseboardError
from fuseboard.monitoring.exporter.reading import WorkspaceMetrics, _read, _RowSums
from fuseboard.monitoring.pauses import gc_paused
from fuseboard.monitoring.exporter.text import CONTENT_TYPE, Family, exposition, families
from fuseboard.store.db import Workspace

if TYPE_CHECKING:  # pragma: no cover
    from prometheus_client import CollectorRegistry
    from prometheus_client.core import Metric

    from fuseboard.monitoring.scheduler import Monitor

__all__ = ["ROWS_WAIT", "MetricsServer", "Textfile", "registry", "scrape", "serve", "write_textfile"]

log = logging.getLogger("fuseboard.monitor")

ROWS_WAIT = 1.0  # seconds a served scrape waits for the rows' sum before reporting the last one


# -- scraping: the server, the text, prometheus_client's registry ----------------------------------------

class _Source:
    """Reads the workspace and the monitor for each scrape; a database error becomes ``scrape_error``
    (logged once until a scrape works again) unless ``strict``."""

    def __init__(self, ws: Workspace, *, monitor: Monitor | None, per_feature: bool, strict: bool,
                 wait: float | None) -> None:
        self.ws = ws
        self.monitor = monitor
        self.per_feature = per_feature
        self.strict = strict
        self.sums = _RowSums(ws, wait=wait)
        self._failing = False

    def text(self) -> bytes:
        """One scrape's text."""
        with gc_paused():
            return exposition(self.families())

    def families(self) -> list[Family]:
        """One scrape's families."""
        began = time.perf_counter()
        try:
            snap: WorkspaceMetrics | None = _read(self.ws, self.per_feature, self.sums)
        except Exception as exc:  # noqa: BLE001  (the scrape says so; the server carries on)
            if self.strict:
                raise
            if not self._failing:
                first = (str(exc).strip().splitlines() or [""])[0][:300]
                log.warning("metrics: cannot read the workspace (%s): %s: %s", self.ws.where, type(exc).__name__,
                            first)
            self._failing, snap = True, None
        else:
            if self._failing:
                log.warning("metrics: the workspace can be read again (%s)", self.ws.where)
            self._failing = False
        return families(snap, per_feature=self.per_feature, monitor=self.monitor,
                        seconds=time.perf_counter() - began)


class _Collector:
    """A prometheus_client collector of a ``_Source``'s families."""

    def __init__(self, source: _Source) -> None:
        self.source = source

    def describe(self) -> list[Metric]:
        return []  # registering must not read the workspace

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily

        for family in self.source.families():
            if family.kind == "info":
                info = InfoMetricFamily(family.name, family.help, labels=family.labels[:-1])
                for values, _ in family.samples:
                    info.add_metric(list(values[:-1]), {family.labels[-1]: values[-1]})
                yield info
                continue
            kind = CounterMetricFamily if family.kind == "counter" else GaugeMetricFamily
            metric = kind(family.name, family.help, labels=family.labels)
            for values, value in family.samples:
                metric.add_metric(list(values), value)
            yield metric


def registry(ws: Workspace, *, monitor: Monitor | None = None, per_feature: bool = False) -> CollectorRegistry:
    """A ``CollectorRegistry`` of its own (the process-wide default is left alone) that reads the workspace
    at each collection.

    Parameters
    ----------
    ws : Workspace
    monitor : Monitor, optional
        The monitor this process runs: ``fuseboard_monitor_*`` report its lease and cycles.
    per_feature : bool, default=False
        Also ``fuseboard_feature_drift_score`` and ``fuseboard_feature_drifted``, a series per feature.

    Returns
    -------
    registry : prometheus_client.CollectorRegistry
        For ``generate_latest(registry)`` and the rest of prometheus_client (whose text writer takes
        about 8 microseconds a sample: ``serve`` and ``write_textfile`` write the text with ``exposition``).
    """
    from prometheus_client import CollectorRegistry

    out = CollectorRegistry(auto_describe=False)
    out.register(_Collector(_Source(ws, monitor=monitor, per_feature=per_feature, strict=False, wait=ROWS_WAIT)))
    return out


# -- serving and writing -----------------------------------------------------------------------------------

class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802
        if self.path.split("?", 1)[0] not in ("/metrics", "/"):
            self.send_error(404, "metrics are at /metrics")
            return
        try:
            body = self.server.render()
        except Exception:  # noqa: BLE001  (a bug, not the database: that is scrape_error; keep serving)
            log.exception("metrics: the scrape failed")
            self.send_error(500, "the scrape failed; see the log")
            return
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPE)
        if "gzip" in self.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body, compresslevel=1)  # 10,000 deployments: 17.7 MB in 70 ms to 1.3 MB
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # a scrape every few seconds is not news


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    render: Callable[[], bytes]

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A scraper that hung up early (its timeout) is no traceback on the monitor's stderr."""
        log.debug("metrics: the answer to %s was cut short", client_address, exc_info=True)


class _Server6(_Server):
    address_family = socket.AF_INET6


@dataclass
class MetricsServer:
    """The HTTP server ``serve`` started, answering from a daemon thread; ``close()`` stops it."""

    host: str
    port: int  # the port bound (the one asked for, or the one the system chose for 0)
    _server: _Server | None
    _thread: threading.Thread

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving and release the port; twice is harmless."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None

    shutdown = close

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()


def serve(ws: Workspace, port: int, *, host: str = "127.0.0.1", monitor: Monitor | None = None,
          per_feature: bool = False) -> MetricsServer:
    """Serve the workspace's metrics at ``http://HOST:PORT/metrics`` from a daemon thread.

    Parameters
    ----------
    ws : Workspace
    port : int
        0 lets the system choose a free port (``MetricsServer.port`` says which).
    host : str, default="127.0.0.1"
        The address to listen on: loopback unless asked (the metrics name every model and deployment).
    monitor : Monitor, optional
        The monitor this process runs (its lease and cycle timings).
    per_feature : bool, default=False
        Also a series per feature of every deployment.

    Returns
    -------
    server : MetricsServer
        ``close()`` (or ``shutdown()``) stops it.

    Raises
    ------
    FuseboardError
        The address cannot be listened on (in use, not this host's, a privileged port).
    """
    if not 0 <= port <= 65535:
        raise FuseboardError(f"the metrics port must be between 0 and 65535, not {port}", field="metrics_port")
    source = _Source(ws, monitor=monitor, per_feature=per_feature, strict=False, wait=ROWS_WAIT)
    try:
        server = (_Server6 if ":" in host else _Server)((host, port), _Handler)
    except OSError as exc:
        raise FuseboardError(f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}",
                             field="metrics_port") from None
    server.render = source.text
    thread = threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True)
    thread.start()
    return MetricsServer(host, int(server.server_address[1]), server, thread)


def scrape(ws: Workspace, *, per_feature: bool = False) -> bytes:
    """One scrape's text (what ``serve`` answers, without the monitor's metrics); a database error raises.

    Parameters
    ----------
    ws : Workspace
    per_feature : bool, default=False

    Returns
    -------
    text : bytes
        Prometheus's text format, version 0.0.4 (``CONTENT_TYPE``).
    """
    return _Source(ws, monitor=None, per_feature=per_feature, strict=True, wait=None).text()


@dataclass(frozen=True)
class Textfile:
    """What ``write_textfile`` wrote."""

    path: Path
    deployments: int
    samples: int
    bytes: int


def write_textfile(ws: Workspace, path: str | os.PathLike[str], *, per_feature: bool = False) -> Textfile:
    """Write the workspace's metrics for node_exporter's textfile collector, atomically.

    The text goes to a temporary file in the same folder (a name starting with a dot, not ending in
    ``.prom``: node_exporter skips it), which is then renamed over ``path``, so a reader sees the
    old file or the new one, never part of one. A database error raises and leaves the old file.

    Parameters
    ----------
    ws : Workspace
    path : path-like
        The file to write (node_exporter reads the folder's ``*.prom`` files).
    per_feature : bool, default=False

    Returns
    -------
    written : Textfile

    Raises
    ------
    FuseboardError
        The folder does not exist or cannot be written, or ``path`` is a folder.
    """
    target = Path(path)
    if target.is_dir():
        raise FuseboardError(f"{target} is a folder; name a file in it, e.g. {target / 'fuseboard.prom'}",
                             field="textfile")
    if not target.parent.is_dir():
        what = "not a folder" if target.parent.exists() else "no such folder"
        raise FuseboardError(f"{what}: {target.parent}", field="textfile")
    source = _Source(ws, monitor=None, per_feature=per_feature, strict=True, wait=None)
    with gc_paused():
        found = source.families()
        body = exposition(found)
    temporary = target.parent / f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as to any file
        with os.fdopen(fd, "wb") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise FuseboardError(f"cannot write {target}: {exc.strerror or exc}", field="textfile") from None
    deployments = next((len({s[0][:2] for s in f.samples}) for f in found if f.name == "fuseboard_deployed_version"),
                       0)
    return Textfile(target, deployments, sum(len(f.samples) for f in found), len(body))
