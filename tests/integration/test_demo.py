"""The demo workspace: real models, both tasks and tiers, a prod history to roll back to."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fuseboard.ops.demo import build_demo
from fuseboard.ops import views as queries
from fuseboard.store.db import open_workspace


def test_demo_has_the_promised_shape(demo_url: str) -> None:
    ws = open_workspace(demo_url, read_only=True)
    rows = queries.model_rows(ws)
    assert len(rows) >= 4
    assert {r.task for r in rows} == {"classification", "regression"}
    assert {r.criticality for r in rows} == {"mission-critical", "internal"}
    assert all(r.latest_version and r.latest_version >= 2 for r in rows)
    assert all(set(r.deployed) == {"dev", "staging", "prod"} for r in rows)
    teams = {t.name: t for t in queries.team_rows(ws)}
    assert {t.kind for t in teams.values()} >= {"data-science", "it-operations"}
    assert all(t.members for t in teams.values())
    for row in rows:
        detail = queries.model_detail(ws, row.name)
        prod_deploys = [e for e in detail.audit if e.action == "deploy" and e.target.endswith("/prod")]
        # prod runs a newer version and an older one ran there before it
        assert len(prod_deploys) >= 2
        assert prod_deploys[0].after["version"] > prod_deploys[-1].after["version"]
        assert all(v.metrics for v in detail.versions)


@pytest.mark.slow
def test_demo_is_deterministic(demo_master: Path, tmp_path: Path) -> None:
    again = build_demo(tmp_path / "again")

    def fingerprint(path: Path) -> str:
        ws = open_workspace(f"sqlite:///{path / 'demo.db'}", read_only=True)
        out = []
        for row in queries.model_rows(ws):
            detail = queries.model_detail(ws, row.name)
            out.append((row.name, row.deployed, [(v.version, v.sha256, v.metrics) for v in detail.versions]))
        ws.close()
        return json.dumps(out, sort_keys=True)

    assert fingerprint(again) == fingerprint(demo_master)


@pytest.mark.slow
def test_existing_demo_is_reused_and_reset_rebuilds(demo_path: Path) -> None:
    from fuseboard.ops.deploy import deploy

    url = f"sqlite:///{demo_path / 'demo.db'}"

    def prod_version() -> int:
        ws = open_workspace(url, read_only=True)
        try:
            return {r.name: r.deployed["prod"] for r in queries.model_rows(ws)}["credit-risk"]
        finally:
            ws.close()

    ws = open_workspace(url)
    deploy(ws, "credit-risk", 1, "prod", actor="me", origin="cli", check_gates=False)
    ws.close()
    build_demo(demo_path)
    assert prod_version() == 1  # reused as it was
    build_demo(demo_path, reset=True)
    assert prod_version() == 2  # rebuilt from scratch
