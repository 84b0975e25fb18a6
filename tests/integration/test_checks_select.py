"""``run_checks(select=...)``: a sharded monitor's deployments only, each as the full run checks it."""

from __future__ import annotations

from sqlmodel import select

from fuseboard.monitoring import checks
from fuseboard.store.db import open_workspace
from fuseboard.store.models import Deployment, Environment, Model, utcnow
from tests.support.rows import credit_rows, served
from tests.support.rows import ingest_rows as _ingest


def test_select_checks_exactly_the_selected_deployments_as_the_full_run_does(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    _ingest(ws, served(ws, credit_rows(800, seed=5)))
    with ws.session() as s:
        ids = {(m.name, e.name): d.id for d, m, e in s.exec(
            select(Deployment, Model, Environment).join(Model, Model.id == Deployment.model_id)
            .join(Environment, Environment.id == Deployment.environment_id))}
    now = utcnow()
    full = checks.run_checks(ws, now=now, probe_endpoints=False)
    chosen = {ids[(r.model, r.environment)] for r in full[::2]} | {ids[("credit-risk", "prod")]}
    asked: list[int] = []

    def accept(deployment_id: int) -> bool:
        asked.append(deployment_id)
        return deployment_id in chosen

    part = checks.run_checks(ws, now=now, probe_endpoints=False, select=accept)
    assert sorted(asked) == sorted(ids.values())  # asked once about every deployment
    expected = [r for r in full if ids[(r.model, r.environment)] in chosen]
    assert 0 < len(part) == len(expected) < len(full)
    assert [r.as_dict() for r in part] == [r.as_dict() for r in expected]
    assert any(c.check == "drift" and c.status != "none" for r in part for c in r.checks)  # windows were read
    assert checks.run_checks(ws, now=now, probe_endpoints=False, select=lambda _: False) == []
