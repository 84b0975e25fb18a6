"""Ingest hardening (issue 13): a deploy landing mid-ingest, batches re-sent in another order, nested
values, and a reference too big for the memory it may use."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import func, select

from fuseboard.errors import FuseboardError
from fuseboard.monitoring import ingest
from fuseboard.store import lookup
from fuseboard.store.db import open_workspace
from fuseboard.store.models import Deployment, IngestedBatch, ModelVersion, WindowProfile

from tests.support.rows import credit_rows


def _rows_by_version(ws) -> dict[int, int]:  # noqa: ANN001
    with ws.session() as s:
        return {v: int(n) for v, n in s.exec(select(ModelVersion.version, func.sum(WindowProfile.rows))
                                             .join(ModelVersion, ModelVersion.id == WindowProfile.version_id)
                                             .group_by(ModelVersion.version))}


def test_a_deploy_landing_mid_ingest_refolds_outside_the_transaction(demo_url: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Another connection holds the write lock and deploys version 1 while the ingest starts: the
    ingest reads version 2, folds, waits for the lock, sees the deploy, rolls back and writes the
    batch once for version 1 in a fresh transaction (it used to retry inside the open transaction,
    wait 30 s for its own lock and fail "the workspace is busy")."""
    ws, other = open_workspace(demo_url), open_workspace(demo_url)
    before = _rows_by_version(ws)
    with ws.session() as s:
        m, e = lookup.model(s, "credit-risk"), lookup.environment(s, "prod")
        v1 = s.exec(select(ModelVersion).where(ModelVersion.model_id == m.id, ModelVersion.version == 1)).one()
    deploy = other.transaction()  # the write lock (BEGIN IMMEDIATE / the writers' advisory lock), held
    s2 = deploy.__enter__()
    s2.execute(update(Deployment).where(Deployment.model_id == m.id, Deployment.environment_id == e.id)
               .values(version_id=v1.id))
    validated = threading.Event()
    calls: list[int] = []
    real_validate = ingest.validate

    def validate(table, mv, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        calls.append(mv.version)
        validated.set()
        return real_validate(table, mv, *args, **kwargs)

    monkeypatch.setattr(ingest.write, "validate", validate)  # what write.py calls
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["result"] = ingest.ingest_table(ws, "credit-risk", "prod", ingest.as_table(credit_rows(300)))
        except BaseException as exc:  # noqa: BLE001
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    assert validated.wait(60)  # the ingest read the version serving before the deploy commits
    time.sleep(0.3)  # let it reach the lock (the outcome does not depend on it)
    deploy.__exit__(None, None, None)  # the deploy commits
    thread.join(120)
    other.close()
    assert "error" not in outcome, outcome.get("error")
    assert outcome["result"].version == 1 and outcome["result"].rows == 300
    assert calls == [2, 1]  # folded for version 2, then again for version 1
    after = _rows_by_version(ws)
    assert after.get(1, 0) - before.get(1, 0) == 300  # counted once, for the version serving
    assert after.get(2, 0) == before.get(2, 0)


def test_a_labelled_batch_resent_in_another_order_is_refused(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    batch = credit_rows(300, seed=7)
    assert ingest.ingest_table(ws, "credit-risk", "prod", ingest.as_table(batch)).labelled == 300
    before = _rows_by_version(ws)
    shuffled = batch.sample(frac=1.0, random_state=1).reset_index(drop=True)
    with pytest.raises(FuseboardError, match=r"already ingested at .* \(the same 300 request ids\); nothing was"):
        ingest.ingest_table(ws, "credit-risk", "prod", ingest.as_table(shuffled))
    assert _rows_by_version(ws) == before
    with ws.session() as s:
        assert s.exec(select(func.count()).select_from(IngestedBatch)).one() == 1


def test_a_fingerprint_stored_before_the_upgrade_still_refuses_its_batch(demo_url: str) -> None:
    """Fingerprints stored by earlier releases are the sha256 of the ids in order: still recognised."""
    import hashlib

    ws = open_workspace(demo_url)
    batch = credit_rows(200, seed=8)
    legacy = hashlib.sha256("\x1f".join(batch["request_id"]).encode()).hexdigest()
    with ws.transaction() as s:
        m, e = lookup.model(s, "credit-risk"), lookup.environment(s, "prod")
        s.add(IngestedBatch(model_id=m.id, environment_id=e.id, fingerprint=legacy, rows=200))
    before = _rows_by_version(ws)
    with pytest.raises(FuseboardError, match="already ingested"):
        ingest.ingest_table(ws, "credit-risk", "prod", ingest.as_table(batch))
    assert _rows_by_version(ws) == before


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
@pytest.mark.parametrize("column,value", [("purpose", ["car", "home"]), ("income", {"gross": 1}),
                                          ("prediction", [1]), ("request_id", {"id": "r1"})])
def test_nested_values_are_one_line_naming_the_column(column: str, value: object, suffix: str, demo_url: str,
                                                       tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from click.testing import CliRunner

    from fuseboard.cli import cli

    rows = credit_rows(50)
    rows[column] = [value] * len(rows)
    path = tmp_path / f"nested{suffix}"
    if suffix == ".jsonl":
        rows.to_json(path, orient="records", lines=True)
    else:
        pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), path)
    ws = open_workspace(demo_url)
    before = _rows_by_version(ws)
    result = CliRunner().invoke(cli, ["--db", demo_url, "ingest", "credit-risk", str(path), "--env", "prod"])
    assert result.exit_code == 1
    what = "features" if column in ("purpose", "income") else "its values"
    assert result.output == f"error: column {column!r} holds nested values (list/struct); {what} must be numbers " \
                            f"or text ({path})\n"
    assert _rows_by_version(ws) == before


def test_nested_values_from_serving_code_and_in_labels_are_refused_too(demo_url: str, tmp_path: Path) -> None:
    ws = open_workspace(demo_url)
    rows = credit_rows(20).to_dict("records")
    rows[3]["purpose"] = ["car"]
    rows = [{**r, "purpose": r["purpose"] if isinstance(r["purpose"], list) else [r["purpose"]]} for r in rows]
    with pytest.raises(FuseboardError, match=r"^column 'purpose' holds nested values \(list/struct\); features "
                                             r"must be numbers or text \(rows\)$"):
        ingest.ingest_table(ws, "credit-risk", "prod", ingest.as_table(rows))
    labels = tmp_path / "labels.jsonl"
    labels.write_text('{"request_id": "r0-1", "label": [1]}\n')
    with pytest.raises(FuseboardError, match=r"^column 'label' holds nested values .* \(.*labels.jsonl\)$"):
        ingest.ingest_labels_file(ws, "credit-risk", "prod", labels)


def test_deploys_landing_again_and_again_give_up_after_a_few_folds(demo_url: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    ws = open_workspace(demo_url)
    before = _rows_by_version(ws)
    folds: list[int] = []
    real_validate = ingest.validate

    def validate(table, mv, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        folds.append(mv.version)
        return real_validate(table, mv, *args, **kwargs)

    monkeypatch.setattr(ingest.write, "validate", validate)  # what write.py calls
    monkeypatch.setattr(ingest.write, "_serving", lambda s, model_id, env_id: -1)  # always another version by now
    with pytest.raises(FuseboardError, match=r"^credit-risk in prod was deployed 5 times while the batch was being "
                                             r"folded; nothing was written, try again \(rows\)$"):
        ingest.ingest_table(ws, "credit-risk", "prod", ingest.as_table(credit_rows(100)))
    assert len(folds) == ingest.REDEPLOY_ATTEMPTS == 5
    assert _rows_by_version(ws) == before
