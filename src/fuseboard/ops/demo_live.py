"""The live demo: sample endpoints and traffic, so the console has something to watch.

``DemoLive`` starts, on loopback only:

* an HTTP server answering ``/<model>/<env>/health`` for every demo deployment
  with the version it serves; it starts with what the workspace records and then
  follows deploys and rollbacks only through the built-in deploy hook, a webhook
  at ``/_hooks/deploy`` that every demo environment is set to call (so a rollback
  in the console visibly changes what the endpoint reports, and a failed hook
  visibly does not); ``demand-forecast`` in prod is flaky and fails most probes
  in bursts;
* a traffic generator that, every few seconds, sends each deployment a batch of
  rows drawn from the sample data, scored by the deployed artifact itself, and
  delivers their labels a little later. Scenarios: ``credit-risk`` in prod
  drifts (incomes climb and employment shifts over the first minute), and
  ``churn-propensity`` in prod performs worse than its baseline (its labels no
  longer follow the pattern it learned); everything else is healthy.

Both stop when ``stop()`` is called (the console calls it when it quits).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlmodel import select

from fuseboard.monitoring import ingest
from fuseboard.ops import deploy as deploy_ops
from fuseboard.ops.registry import artifact_file
from fuseboard.store.db import Workspace
from fuseboard.store.models import Deployment, Environment, Model, ModelVersion

log = logging.getLogger("fuseboard.demo")
DEFAULT_PORT = 18650
FLAKY = ("demand-forecast", "prod")
DRIFTING = ("credit-risk", "prod")
UNDERPERFORMING = ("churn-propensity", "prod")
HOOK_PATH = "/_hooks/deploy"
BATCH = 40
EVERY = 2.0  # seconds between batches
LABEL_DELAY = 6.0  # seconds before a batch's labels arrive


def serving_versions(ws: Workspace) -> dict[tuple[str, str], int]:
    with ws.session() as s:
        rows = s.exec(select(Model.name, Environment.name, ModelVersion.version)
                      .join(Deployment, Deployment.model_id == Model.id)
                      .join(Environment, Environment.id == Deployment.environment_id)
                      .join(ModelVersion, ModelVersion.id == Deployment.version_id)).all()
    return {(m, e): v for m, e, v in rows}


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def do_POST(self) -> None:  # noqa: N802
        """The built-in deploy hook: switch what an endpoint serves."""
        if self.path.rstrip("/") != HOOK_PATH:
            self._send(404, {"error": "not found"})
            return
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            key, version = (str(body["model"]), str(body["env"])), int(body["version"])
        except (ValueError, KeyError, TypeError):
            self._send(400, {"error": "expected JSON with model, env and version"})
            return
        self.server.live.serve(key, version)
        self._send(200, {"status": "deployed", "model": key[0], "env": key[1], "version": version})

    def do_GET(self) -> None:  # noqa: N802
        parts = self.path.strip("/").split("/")
        if len(parts) != 3 or parts[2] != "health":
            self._send(404, {"error": "not found"})
            return
        key = (parts[0], parts[1])
        version = self.server.live.versions().get(key)
        if version is None:
            self._send(404, {"error": f"{key[0]} is not deployed in {key[1]}"})
        elif key == FLAKY and self.server.live.flaky_down():
            self._send(503, {"status": "unavailable"})
        else:
            self._send(200, {"status": "ok", "model": key[0], "version": version})

    def _send(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # all fifteen endpoints are probed at once; the default 5 dropped connects (1 s)
    live: "DemoLive"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A probe that hung up early (its timeout) is no traceback on the console's terminal."""


@dataclass
class DemoLive:
    ws: Workspace
    port: int = DEFAULT_PORT
    seed: int = 11
    started_at: float = 0.0
    _server: _Server | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _versions: dict[tuple[str, str], int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _models: dict[int, Any] = field(default_factory=dict)

    # -- endpoints ---------------------------------------------------------------------------
    def versions(self) -> dict[tuple[str, str], int]:
        """What each endpoint serves: set at start, then changed only by the deploy hook."""
        with self._lock:
            return dict(self._versions)

    def serve(self, key: tuple[str, str], version: int) -> None:
        with self._lock:
            self._versions[key] = version

    def flaky_down(self) -> bool:
        """Down for 45 s out of every minute: long enough for an outage alert, then a recovery."""
        return (time.monotonic() - self.started_at) % 60 >= 15

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _serve(self) -> None:
        try:
            self._server = _Server(("127.0.0.1", self.port), _Handler)
        except OSError:  # the usual port is taken: any free one
            self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.live = self
        self._versions = serving_versions(self.ws)
        self._point_deployments_here()
        thread = threading.Thread(target=self._server.serve_forever, name="demo-endpoints", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _point_deployments_here(self) -> None:
        """Record each deployment's endpoint and each environment's hook on this server (audited when changed)."""
        from fuseboard.ops.environments import configure
        from fuseboard.ops.views import environments

        for env in environments(self.ws):
            hook = {"webhook": f"{self.url}{HOOK_PATH}", "timeout": 10.0}
            if env.hook != hook:
                configure(self.ws, env.name, actor="demo", origin="demo", reason="demo endpoints started", hook=hook)
        for (model, env), version in serving_versions(self.ws).items():
            url = f"{self.url}/{model}/{env}"
            deploy_ops.deploy(self.ws, model, version, env, actor="demo", origin="demo",
                              reason="demo endpoints started", endpoint_url=url)

    # -- traffic -----------------------------------------------------------------------------
    def _model(self, ws: Workspace, model: str, version: int) -> Any:
        import joblib

        from fuseboard.store import lookup

        with ws.session() as s:
            mv = lookup.version(s, lookup.model(s, model), version)
        if mv.id not in self._models:
            self._models[mv.id] = (joblib.load(artifact_file(ws, mv)), mv)
        return self._models[mv.id]

    def _traffic(self) -> None:
        import numpy as np

        from fuseboard.ops.demo import catalogue, reference_rows

        rng = np.random.default_rng(self.seed)
        specs = {spec.name: spec for spec in catalogue()}
        # Healthy traffic looks like the reference data: rows drawn (with replacement) from it.
        data = reference_rows()
        pending: list[tuple[float, str, str, Any]] = []
        counter = 0
        while not self._stop.is_set():
            tick = time.monotonic()
            for (model, env), version in self.versions().items():
                if env == "dev" or self._stop.is_set():
                    continue
                spec = specs.get(model)
                if spec is None:
                    continue
                counter += 1
                try:
                    batch, labels = self._batch(model, env, version, spec, data[model], rng, counter)
                    ingest.ingest_table(self.ws, model, env, ingest.as_table(batch), source="demo traffic")
                    pending.append((tick + LABEL_DELAY, model, env, labels))
                except Exception:  # noqa: BLE001  (the demo keeps going; the log says why)
                    log.exception("demo traffic for %s/%s failed", model, env)
            due = [p for p in pending if p[0] <= tick]
            pending = [p for p in pending if p[0] > tick]
            for _, model, env, labels in due:
                try:
                    ingest.ingest_labels_table(self.ws, model, env, ingest.as_table(labels), source="demo labels")
                except Exception:  # noqa: BLE001
                    log.exception("demo labels for %s/%s failed", model, env)
            self._stop.wait(max(0.0, EVERY - (time.monotonic() - tick)))

    def _batch(self, model: str, env: str, version: int, spec: Any, frame: Any, rng: Any,
               counter: int) -> tuple[Any, Any]:
        import numpy as np

        estimator, mv = self._model(self.ws, model, version)
        rows = frame.sample(BATCH, replace=True, random_state=int(rng.integers(1 << 31))).reset_index(drop=True)
        y = rows.pop(spec.target)
        elapsed = time.monotonic() - self.started_at
        if (model, env) == DRIFTING:
            strength = min(1.0, elapsed / 60)  # builds over the first minute
            rows["income"] = rows["income"] * (1 + 0.8 * strength)
            shift = rng.random(len(rows)) < 0.5 * strength
            rows.loc[shift, "employment"] = "self-employed"
        if (model, env) == UNDERPERFORMING:
            y = np.where(rng.random(len(y)) < 0.45, 1 - y, y)  # the world stopped following the pattern
        features = rows[[f["name"] for f in mv.feature_schema]]
        X = features if getattr(estimator, "feature_names_in_", None) is not None else features.to_numpy()
        out = features.copy()
        out["prediction"] = estimator.predict(X)
        if model in ("credit-risk", "churn-propensity", "tumour-screening"):
            out["score"] = estimator.predict_proba(X)[:, 1]
        out["request_id"] = [f"{model}-{env}-{counter}-{i}" for i in range(len(out))]
        labels = out[["request_id"]].copy()
        labels["label"] = np.asarray(y)
        return out, labels

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        self.started_at = time.monotonic()
        self._serve()
        thread = threading.Thread(target=self._traffic, name="demo-traffic", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
