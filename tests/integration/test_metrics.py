"""Prometheus metrics (monitoring/exporter/, `fuseboard metrics`): the values say what the workspace holds,
the served text and prometheus_client's agree, the text file is replaced atomically, per-feature series only
when asked, a database error is a scrape error and not a dead server, and bad paths are one error line."""

from __future__ import annotations

import gzip
import json
import logging
import math
import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func
from sqlmodel import select

from fuseboard.cli import cli
from fuseboard.errors import FuseboardError
from fuseboard.monitoring import alerts, exporter, ingest, retention, scheduler
from fuseboard.monitoring.checks import CheckResult, DeploymentChecks
from fuseboard.ops.deploy import deploy
from fuseboard.status import OPEN_ALERT_STATES
from fuseboard.store.db import open_workspace
from fuseboard.store.models import (Alert, CheckState, Deployment, Environment, Model, ModelVersion,
                                    WindowProfile)
from tests.support.metrics import kinds, named, samples, value
from tests.support.rows import credit_rows, ingest_rows, served

# the mapping the metric's HELP documents, written out again: the test does not read it from the code
DOCUMENTED = {"none": -1.0, "ok": 0.0, "warn": 1.0, "error": 1.5, "crit": 2.0}
CHECKS = ("drift", "multivariate_drift", "prediction_drift", "estimated_performance", "performance", "quality",
          "staleness", "health")
PER_FEATURE = {"fuseboard_feature_drift_score", "fuseboard_feature_drifted"}


@pytest.fixture
def checked_url(demo_url: str, endpoint) -> str:  # noqa: ANN001
    """The demo after real checks: drifted credit rows with labels in credit-risk/prod, its endpoint up
    (reporting version 2), a cycle of each kind recorded."""
    ws = open_workspace(demo_url)
    deploy(ws, "credit-risk", 2, "prod", actor="t", origin="cli", check_gates=False, endpoint_url=endpoint.url)
    shifted = credit_rows(1500, seed=2)
    shifted["income"] = shifted["income"] * 2.5
    shifted["employment"] = "unemployed"
    ingest_rows(ws, served(ws, shifted))
    for kind in ("health", "drift", "performance"):
        scheduler.run_cycle(ws, kind)
    ws.close()
    return demo_url


def expected(ws) -> dict[tuple[str, frozenset], float]:  # noqa: ANN001
    """What the metrics should say, read from the tables and the stored details directly."""
    out: dict[tuple[str, frozenset], float] = {}
    with ws.session() as s:
        models = {m.id: m.name for m in s.exec(select(Model))}
        envs = {e.id: e.name for e in s.exec(select(Environment))}
        deployed = {(d.model_id, d.environment_id): s.get(ModelVersion, d.version_id).version
                    for d in s.exec(select(Deployment))}
        states = {(c.model_id, c.environment_id, c.check): c for c in s.exec(select(CheckState))}
        rows = {(m, e): n for m, e, n in s.execute(select(WindowProfile.model_id, WindowProfile.environment_id,
                                                          func.sum(WindowProfile.rows))
                                                   .group_by(WindowProfile.model_id, WindowProfile.environment_id))}
        open_alerts = s.exec(select(Alert).where(Alert.state.in_(OPEN_ALERT_STATES))).all()

    def put(name: str, v: float, **labels: str) -> None:
        out[(name, frozenset(labels.items()))] = v

    for (m, e), version in deployed.items():
        where = {"model": models[m], "environment": envs[e]}
        put("fuseboard_deployed_version_info", 1.0, **where, version=str(version))
        put("fuseboard_ingested_rows_total", float(rows.get((m, e), 0)), **where)
        for check in CHECKS:
            state = states.get((m, e, check))
            put("fuseboard_check_status", DOCUMENTED[state.status] if state else -1.0, **where, check=check)
        drift = states.get((m, e, "drift"))
        if drift is not None and drift.details.get("features"):
            features = drift.details["features"]
            put("fuseboard_drift_share", sum(f["drifted"] for f in features) / len(features), **where)
            if "drifted_importance" in drift.details:
                put("fuseboard_drifted_importance_share", drift.details["drifted_importance"], **where)
        perf = states.get((m, e, "performance"))
        if perf is not None and perf.details:
            for metric, v in perf.details["metrics"].items():
                put("fuseboard_performance", v, **where, metric=metric)
            for graded in perf.details["checks"]:
                put("fuseboard_performance_baseline", graded["baseline"], **where, metric=graded["metric"])
        health = states.get((m, e, "health"))
        if health is not None and health.details:
            put("fuseboard_probe_up", float(health.details["up"]), **where)
            if health.details["latency_ms"] is not None:
                put("fuseboard_probe_latency_seconds", health.details["latency_ms"] / 1000, **where)
    for severity in ("warn", "error", "crit"):
        put("fuseboard_alerts_open", float(sum(a.severity == severity for a in open_alerts)), severity=severity)
    by_deployment: dict[tuple[int, int, str], int] = {}
    for a in open_alerts:
        by_deployment[(a.model_id, a.environment_id, a.severity)] = \
            by_deployment.get((a.model_id, a.environment_id, a.severity), 0) + 1
    for (m, e, severity), n in by_deployment.items():
        put("fuseboard_deployment_alerts_open", float(n), model=models[m], environment=envs[e], severity=severity)
    put("fuseboard_monitor_leader", 0.0)
    put("fuseboard_scrape_error", 0.0)
    return out


def test_the_metrics_say_what_the_database_holds(checked_url: str) -> None:
    ws = open_workspace(checked_url)
    found = samples(exporter.scrape(ws))
    duration = found.pop(("fuseboard_scrape_duration_seconds", frozenset()))
    assert duration >= 0
    want = expected(ws)
    assert set(found) == set(want)
    assert found == pytest.approx(want)
    prod = {"model": "credit-risk", "environment": "prod"}  # what the setup made, said plainly
    assert value(found, "fuseboard_check_status", **prod, check="drift") == 2  # mission-critical, drifted
    assert value(found, "fuseboard_check_status", **prod, check="health") == 0
    assert 0 < value(found, "fuseboard_drift_share", **prod) <= 1
    assert value(found, "fuseboard_probe_up", **prod) == 1
    assert 0 < value(found, "fuseboard_probe_latency_seconds", **prod) < 60
    assert value(found, "fuseboard_ingested_rows_total", **prod) == 1500
    assert value(found, "fuseboard_ingested_rows_total", model="credit-risk", environment="dev") == 0
    assert value(found, "fuseboard_performance_baseline", **prod, metric="roc_auc") == pytest.approx(0.782, abs=0.01)
    assert value(found, "fuseboard_performance", **prod, metric="roc_auc") is not None
    assert value(found, "fuseboard_deployed_version_info", **prod, version="2") == 1
    assert value(found, "fuseboard_alerts_open", severity="crit") >= 1
    assert value(found, "fuseboard_deployment_alerts_open", **prod, severity="crit") >= 1
    assert value(found, "fuseboard_check_status", model="credit-risk", environment="dev", check="drift") == -1
    assert kinds(exporter.scrape(ws))["fuseboard_ingested_rows"] == "counter"


def test_the_drift_share_counted_in_the_text_is_the_decoded_one() -> None:
    """The drift share is counted in the stored JSON text; names built to fool the count do not."""
    features = [{"feature": 'x","drifted":true', "method": "psi", "score": 0.3, "threshold": 0.1, "drifted": True,
                 "severity": "warn"},
                {"feature": "drifted", "method": "ks", "score": 0.5, "threshold": 0.05, "drifted": False,
                 "severity": "ok"},
                {"feature": '"feature":', "method": "psi", "score": 0.01, "threshold": 0.1, "drifted": False,
                 "severity": "ok"}]
    details = {"dataset_drift": False, "drift_share": 0.5, "key_features_drifted": ["drifted"], "features": features,
               "drifted_importance": 0.25}
    import orjson

    for text in (orjson.dumps(details).decode(), json.dumps(details), json.dumps(details, indent=1)):
        assert exporter.drift_counts(text) in (None, (1, 3))
        found = exporter.DeploymentMetrics("m", "prod", 1)
        exporter._drift(found, text, per_feature=False)
        assert (found.drift_share, found.drifted_importance) == (pytest.approx(1 / 3), 0.25)
    assert exporter.drift_counts(orjson.dumps(details).decode()) == (1, 3)
    assert exporter.drift_counts("{}") is None


def test_an_error_is_one_and_a_half_and_a_never_run_check_minus_one(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    with ws.transaction() as s:
        alerts.record_results(s, [DeploymentChecks("demand-forecast", "prod", 2, "mission-critical", "error", [
            CheckResult("health", "error", "check failed: ValueError"),
            CheckResult("staleness", "warn", "past its retrain-by date"),
            CheckResult("quality", "ok", "fine")])])
    found = samples(exporter.scrape(ws))
    where = {"model": "demand-forecast", "environment": "prod"}
    assert {c: value(found, "fuseboard_check_status", **where, check=c) for c in ("health", "staleness", "quality",
                                                                                   "drift")} == \
        {"health": 1.5, "staleness": 1, "quality": 0, "drift": -1}
    assert value(found, "fuseboard_probe_up", **where) is None  # a failed check stores no probe


def test_prometheus_client_and_the_served_text_say_the_same(checked_url: str) -> None:
    from prometheus_client import generate_latest

    ws = open_workspace(checked_url)
    for per_feature in (False, True):
        ours = samples(exporter.scrape(ws, per_feature=per_feature))
        theirs = samples(generate_latest(exporter.registry(ws, per_feature=per_feature)))
        for found in (ours, theirs):
            del found[("fuseboard_scrape_duration_seconds", frozenset())]
        assert ours == theirs
        assert kinds(exporter.scrape(ws, per_feature=per_feature)) == \
            kinds(generate_latest(exporter.registry(ws, per_feature=per_feature)))


def test_label_values_are_escaped_as_prometheus_reads_them() -> None:
    nasty = 'a "quoted" \\ back\nslash, \x1b[31m ünïcode'
    family = exporter.Family("fuseboard_feature_drifted", "gauge", "help with \\ and\nnewline", ("feature",),
                             [((nasty,), 1.0), (("plain",), float("nan")), (("inf",), float("inf"))])
    found = samples(exporter.exposition([family]))
    assert value(found, "fuseboard_feature_drifted", feature=nasty) == 1
    assert value(found, "fuseboard_feature_drifted", feature="inf") == float("inf")
    assert math.isnan(value(found, "fuseboard_feature_drifted", feature="plain"))


def test_per_feature_scores_only_when_asked(checked_url: str) -> None:
    ws = open_workspace(checked_url)
    assert not PER_FEATURE & set(kinds(exporter.scrape(ws)))
    found = samples(exporter.scrape(ws, per_feature=True))
    with ws.session() as s:
        drift = s.exec(select(CheckState).join(Model, Model.id == CheckState.model_id)
                       .join(Environment, Environment.id == CheckState.environment_id)
                       .where(CheckState.check == "drift", Model.name == "credit-risk",
                              Environment.name == "prod")).one()
    prod = {"model": "credit-risk", "environment": "prod"}
    scores = {dict(labels)["feature"]: v for labels, v in named(found, "fuseboard_feature_drift_score").items()
              if labels >= frozenset(prod.items())}
    assert scores == {f["feature"]: pytest.approx(f["score"]) for f in drift.details["features"]}
    flags = {f["feature"]: value(found, "fuseboard_feature_drifted", **prod, feature=f["feature"])
             for f in drift.details["features"]}
    assert flags == {f["feature"]: float(f["drifted"]) for f in drift.details["features"]} and 1.0 in flags.values()
    method = drift.details["features"][0]
    assert value(found, "fuseboard_feature_drift_score", **prod, feature=method["feature"],
                 method=method["method"]) == pytest.approx(method["score"])


def test_compaction_keeps_the_rows_ingested(demo_url: str) -> None:
    """Rows four days old are compacted into an hourly profile: the counter does not move."""
    ws = open_workspace(demo_url)
    rows = served(ws, credit_rows(900, seed=5))  # timestamps four days before the test machine's now
    ingest.ingest_table(ws, "credit-risk", "prod", ingest.as_table(rows))
    ingest_rows(ws, served(ws, credit_rows(100, seed=6)))  # and now
    where = {"model": "credit-risk", "environment": "prod"}
    before = value(samples(exporter.scrape(ws)), "fuseboard_ingested_rows_total", **where)
    compacted = retention.compact(ws)
    with ws.session() as s:
        hourly = s.exec(select(func.count()).select_from(WindowProfile)
                        .where(WindowProfile.window_seconds == 3600)).one()
    assert compacted["merged"] > 1 and hourly >= 1
    assert before == value(samples(exporter.scrape(ws)), "fuseboard_ingested_rows_total", **where) == 1000


def test_the_monitor_reports_its_lease_and_cycles(demo_url: str) -> None:
    import time

    ws = open_workspace(demo_url)
    monitor = scheduler.Monitor(ws, scheduler.Intervals(health=30, drift=300, performance=300), holder="metrics-test")
    monitor.start()
    try:
        deadline = time.monotonic() + 60  # bounded wait for the first cycle of each kind, not a speed bound
        while time.monotonic() < deadline and not (len(monitor.timings) == 3 and all(
                t.last_success for t in monitor.timings.values())):
            time.sleep(0.05)
        found = samples(exporter.exposition(exporter.families(exporter.read(ws), monitor=monitor)))
    finally:
        monitor.stop()
    assert value(found, "fuseboard_monitor_leader") == 1
    assert value(found, "fuseboard_monitor_shards") == 64  # alone: it checks every shard
    durations = named(found, "fuseboard_monitor_cycle_duration_seconds")
    successes = named(found, "fuseboard_monitor_last_success_timestamp_seconds")
    assert {dict(k)["kind"] for k in durations} == {dict(k)["kind"] for k in successes} == \
        {"health", "drift", "performance"}
    assert all(v >= 0 for v in durations.values())
    assert all(abs(v - time.time()) < 600 for v in successes.values())
    after = samples(exporter.exposition(exporter.families(exporter.read(ws), monitor=monitor)))
    assert value(after, "fuseboard_monitor_leader") == 0  # stopped: the lease is released
    assert value(after, "fuseboard_monitor_shards") == 0  # and its shards, for the others to take


def test_the_text_file_is_replaced_atomically(checked_url: str, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    ws = open_workspace(checked_url)
    target = tmp_path / "node" / "fuseboard.prom"
    target.parent.mkdir()
    target.write_text("# the previous scrape\n")
    seen: list[tuple[str, str, str]] = []
    real_replace = os.replace

    def replace(src, dst) -> None:  # noqa: ANN001
        # at the moment of the rename: the new text is whole in the same folder, the old file untouched
        seen.append((Path(src).parent.name, Path(src).read_text(), Path(dst).read_text()))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    written = exporter.write_textfile(ws, target)
    monkeypatch.undo()
    ((folder, new, old),) = seen
    assert folder == "node" and old == "# the previous scrape\n" and new == target.read_text()
    assert samples(target.read_text()) and written.path == target and written.deployments == 15
    assert written.bytes == len(target.read_bytes()) and written.samples == len(samples(target.read_text()))
    assert sorted(p.name for p in target.parent.iterdir()) == ["fuseboard.prom"]  # no temporary left
    assert not PER_FEATURE & set(kinds(target.read_text()))
    exporter.write_textfile(ws, target, per_feature=True)
    assert PER_FEATURE <= set(kinds(target.read_text()))


def test_a_failed_write_leaves_the_old_file_and_no_temporary(checked_url: str, tmp_path: Path,
                                                             monkeypatch) -> None:  # noqa: ANN001
    ws = open_workspace(checked_url)
    target = tmp_path / "node" / "fuseboard.prom"
    target.parent.mkdir()
    target.write_text("old\n")

    def full_disk(src, dst) -> None:  # noqa: ANN001
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(FuseboardError, match="cannot write .*fuseboard.prom: No space left on device"):
        exporter.write_textfile(ws, target)
    monkeypatch.undo()
    with ws.engine.begin() as conn:  # the database fails: nothing is written at all
        conn.exec_driver_sql("DROP TABLE checkstate")
    with pytest.raises(Exception):  # noqa: B017  (the database's own error)
        exporter.write_textfile(ws, target)
    assert target.read_text() == "old\n" and [p.name for p in target.parent.iterdir()] == ["fuseboard.prom"]


def test_the_cli_prints_or_writes_the_metrics(checked_url: str, tmp_path: Path) -> None:
    out = CliRunner().invoke(cli, ["--db", checked_url, "metrics"])
    assert out.exit_code == 0, out.output
    found = samples(out.stdout)
    assert value(found, "fuseboard_check_status", model="credit-risk", environment="prod", check="drift") == 2
    assert not PER_FEATURE & set(kinds(out.stdout))
    assert PER_FEATURE <= set(kinds(CliRunner().invoke(cli, ["--db", checked_url, "metrics", "--per-feature"]).stdout))
    target = tmp_path / "fuseboard.prom"
    wrote = CliRunner().invoke(cli, ["--db", checked_url, "metrics", "--textfile", str(target)])
    assert wrote.exit_code == 0, wrote.output
    assert wrote.stdout.startswith("wrote ") and wrote.stdout.count("\n") == 1 and str(target) in wrote.stdout
    assert "for 15 deployments" in wrote.stdout and wrote.stderr == ""
    assert samples(target.read_text()).keys() - {("fuseboard_scrape_duration_seconds", frozenset())} == \
        found.keys() - {("fuseboard_scrape_duration_seconds", frozenset())}
    odd = CliRunner().invoke(cli, ["--db", checked_url, "metrics", "--textfile", str(tmp_path / "metrics.txt")])
    assert odd.exit_code == 0 and "reads only files named *.prom" in odd.stderr


@pytest.mark.parametrize("where", ["missing/fuseboard.prom", ".", "a-file/fuseboard.prom"])
def test_a_bad_path_is_one_error_line(demo_url: str, tmp_path: Path, where: str) -> None:
    (tmp_path / "a-file").write_text("")
    result = CliRunner().invoke(cli, ["--db", demo_url, "metrics", "--textfile", str(tmp_path / where)])
    assert result.exit_code == 1
    assert result.stdout == "" and result.stderr.count("\n") == 1, result.output
    assert result.stderr.startswith("error: ") and result.stderr.rstrip().endswith("(--textfile)")
    assert "Traceback" not in result.output


def test_an_unwritable_folder_is_one_error_line(demo_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    if os.geteuid() == 0:  # root writes into any folder, but not into sysfs
        folder = Path("/sys")
    result = CliRunner().invoke(cli, ["--db", demo_url, "metrics", "--textfile", str(folder / "f.prom")])
    assert result.exit_code == 1 and result.stderr.startswith("error: cannot write ")
    assert "Permission denied" in result.stderr and result.stderr.count("\n") == 1


def scrape_http(url: str, **headers: str) -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310  (loopback)
            return answer.status, answer.read(), dict(answer.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def test_a_database_error_is_a_scrape_error_and_the_server_carries_on(demo_url: str,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    ws = open_workspace(demo_url)
    server = exporter.serve(ws, 0)
    try:
        status, body, headers = scrape_http(server.url)
        assert status == 200 and headers["Content-Type"] == exporter.CONTENT_TYPE
        assert value(samples(body), "fuseboard_scrape_error") == 0
        status, packed, headers = scrape_http(server.url, **{"Accept-Encoding": "gzip"})
        assert headers.get("Content-Encoding") == "gzip" and b"fuseboard_check_status{" in gzip.decompress(packed)
        assert scrape_http(server.url.replace("/metrics", "/other"))[0] == 404
        with ws.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE checkstate RENAME TO checkstate_away")
        with caplog.at_level(logging.WARNING, logger="fuseboard.monitor"):
            broken = [scrape_http(server.url) for _ in range(2)]
            assert [s for s, _, _ in broken] == [200, 200]
            for _, body, _ in broken:
                found = samples(body)
                assert value(found, "fuseboard_scrape_error") == 1 and value(found, "fuseboard_monitor_leader") == 0
                assert not named(found, "fuseboard_check_status")
            with ws.engine.begin() as conn:
                conn.exec_driver_sql("ALTER TABLE checkstate_away RENAME TO checkstate")
            status, body, _ = scrape_http(server.url)
        assert status == 200 and value(samples(body), "fuseboard_scrape_error") == 0
        said = [r.getMessage() for r in caplog.records if r.name == "fuseboard.monitor"]
        assert len(said) == 2 and "cannot read the workspace" in said[0] and "checkstate" in said[0]
        assert "can be read again" in said[1]
    finally:
        server.close()
    server.close()  # twice is harmless


def test_a_slow_sum_of_the_rows_holds_up_no_scrape(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rows' sum grows with the history kept: a scrape waits for it only ROWS_WAIT, and reports it later."""
    import threading
    import time

    from fuseboard.monitoring.exporter import serving
    release = threading.Event()
    summing = exporter._RowSums._sum

    def held(self, run) -> None:  # noqa: ANN001
        release.wait(60)
        summing(self, run)

    monkeypatch.setattr(exporter._RowSums, "_sum", held)
    monkeypatch.setattr(serving, "ROWS_WAIT", 0.05)  # where serve() reads it
    ws = open_workspace(demo_url)
    ingest_rows(ws, served(ws, credit_rows(300, seed=7)))
    where = {"model": "credit-risk", "environment": "prod"}
    with exporter.serve(ws, 0) as server:
        first = samples(scrape_http(server.url)[1])
        assert value(first, "fuseboard_scrape_error") == 0 and named(first, "fuseboard_check_status")
        assert not named(first, "fuseboard_ingested_rows_total")  # not summed yet: absent, never a false 0
        release.set()
        deadline = time.monotonic() + 30  # a bound on the wait, not a speed test
        while value(samples(scrape_http(server.url)[1]), "fuseboard_ingested_rows_total", **where) != 300:
            assert time.monotonic() < deadline, "the rows' sum never reached a scrape"
            time.sleep(0.05)


def test_the_registry_is_its_own(demo_url: str) -> None:
    from prometheus_client import REGISTRY, generate_latest

    registry = exporter.registry(open_workspace(demo_url))
    assert not [m.name for m in REGISTRY.collect() if m.name.startswith("fuseboard")]  # the default is left alone
    assert {name.split("_")[0] for name in kinds(generate_latest(registry))} == {"fuseboard"}  # and holds no other


def test_a_port_in_use_is_one_error(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    with exporter.serve(ws, 0) as first:
        with pytest.raises(FuseboardError, match=f"cannot serve metrics on 127.0.0.1:{first.port}") as caught:
            exporter.serve(ws, first.port)
        assert caught.value.field == "metrics_port"
