"""The live demo: endpoints that report the serving version, traffic with delayed labels, clean stop."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from sqlmodel import func, select

from fuseboard.ops import demo_live
from fuseboard.ops.deploy import deploy
from fuseboard.store.db import open_workspace
from fuseboard.store.models import Deployment, WindowProfile


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.slow
def test_endpoints_traffic_and_labels_then_a_clean_stop(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo_live, "EVERY", 0.2)
    monkeypatch.setattr(demo_live, "LABEL_DELAY", 0.4)
    ws = open_workspace(demo_url)
    live = demo_live.DemoLive(ws, port=0)
    live.start()
    try:
        base = live.url
        assert _get(f"{base}/credit-risk/prod/health") == (200, {"status": "ok", "model": "credit-risk", "version": 2})
        assert _get(f"{base}/credit-risk/moon/health")[0] == 404
        # a deploy recorded in the workspace shows at the endpoint
        deploy(ws, "credit-risk", 3, "prod", actor="t", origin="cli", check_gates=False)
        time.sleep(1.1)
        assert _get(f"{base}/credit-risk/prod/health")[1]["version"] == 3
        deadline = time.time() + 20
        while time.time() < deadline:
            with ws.session() as s:
                labelled = sum(w.performance.get("labelled", 0) for w in s.exec(select(WindowProfile)))
            if labelled >= 40:
                break
            time.sleep(0.2)
        assert labelled >= 40
        with ws.session() as s:
            rows = s.exec(select(func.sum(WindowProfile.rows))).one()
        assert rows >= 80
    finally:
        live.stop()
    assert all(not t.is_alive() for t in live._threads)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{base}/credit-risk/prod/health", timeout=1)
    with ws.session() as s:  # every deployment points at the demo server
        urls = s.exec(select(Deployment.endpoint_url)).all()
    assert len(urls) == 15 and all(u.startswith(base + "/") for u in urls)


def test_flaky_endpoint_is_down_most_of_each_cycle(demo_url: str) -> None:
    live = demo_live.DemoLive(open_workspace(demo_url), port=0)
    live.started_at = time.monotonic() - 5
    assert not live.flaky_down()
    live.started_at = time.monotonic() - 30
    assert live.flaky_down()
    live.started_at = time.monotonic() - 65
    assert not live.flaky_down()
