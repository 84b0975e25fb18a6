"""Hardening of changes that destroy or create: confirmation, floors, audit, and no accidental workspaces."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from fuseboard.cli import cli
from tests.support.windows import drop_demo_history, traffic_windows


@pytest.fixture(autouse=True)
def _only_the_tests_own_traffic(request: pytest.FixtureRequest) -> None:
    """Compaction and deletion count every window: the demo's week of history is taken out first."""
    if "demo_url" in request.fixturenames:
        drop_demo_history(request.getfixturevalue("demo_url"))


def run(*args: str, input: str | None = None):  # noqa: ANN201
    return CliRunner().invoke(cli, list(args), input=input)


@pytest.mark.parametrize("command", [["models"], ["models", "show", "credit-risk"], ["alerts"],
                                     ["alerts", "ack", "1"], ["silence", "credit-risk", "--env", "prod", "--for",
                                                              "1h", "--comment", "x", "--yes"],
                                     ["monitoring", "set", "credit-risk", "--min-rows", "5", "--yes"],
                                     ["compact"], ["backup", "copy.db"], ["audit"], ["envs", "set", "prod",
                                                                                     "--soak", "1h"]])
def test_a_mistyped_db_path_creates_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            command: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("--db", "sqlite:///typo.db", *command)
    assert result.exit_code == 1, result.output
    assert result.output.strip() == (f"error: no workspace at {tmp_path / 'typo.db'} (--db); create one with "
                                     "fuseboard register ... or fuseboard demo")
    assert sorted(os.listdir(tmp_path)) == []  # no database, no -wal/-shm, no artifact folder, no backup


def test_a_workspace_named_by_the_environment_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUSEBOARD_DB", f"sqlite:///{tmp_path / 'typo.db'}")
    result = run("models")
    assert result.exit_code == 1 and f"no workspace at {tmp_path / 'typo.db'} (FUSEBOARD_DB)" in result.output
    assert not (tmp_path / "typo.db").exists()


def test_register_and_teams_add_create_a_workspace_and_say_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    made = run("--db", url, "teams", "add", "ops", "--kind", "it-operations")
    assert made.exit_code == 0, made.output
    assert made.stderr.strip() == f"created a new workspace at {tmp_path / 'new.db'}"
    again = run("--db", url, "teams", "add", "ds", "--kind", "data-science")
    assert again.exit_code == 0 and again.stderr == ""  # only the first one created it


# -- compact: floors, confirmation, audit -------------------------------------------------------------

def _traffic(ws, ago: list, seed: int = 0) -> None:  # noqa: ANN001
    """600 rows of credit-risk traffic in prod in each of the given ages (timedeltas before now)."""
    import pandas as pd

    from fuseboard.monitoring import ingest
    from fuseboard.store.models import utcnow
    from tests.support.rows import credit_rows

    for i, delta in enumerate(ago):
        rows = credit_rows(600, seed + i)
        start = (utcnow() - delta).replace(minute=7, second=0, microsecond=0)  # three windows of one hour
        rows["timestamp"] = [(start + pd.Timedelta(seconds=s)).isoformat() for s in range(0, 600)]
        ingest.ingest_table(ws, "credit-risk", "prod", ingest.as_table(rows))


def _windows(ws) -> list[tuple[int, int]]:  # noqa: ANN001
    from sqlmodel import select

    from fuseboard.store.models import WindowProfile

    with ws.session() as s:
        return sorted((w.window_seconds, w.rows) for w in s.exec(traffic_windows()))


def _events(ws, action: str) -> list:  # noqa: ANN001
    from sqlmodel import select

    from fuseboard.store.models import AuditEvent

    with ws.session() as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == action)))


@pytest.fixture
def traffic_ws(demo_url: str):  # noqa: ANN201
    from datetime import timedelta

    from fuseboard.store.db import open_workspace

    ws = open_workspace(demo_url)
    _traffic(ws, [timedelta(days=10), timedelta(minutes=20)])
    yield demo_url, ws
    ws.close()


@pytest.mark.parametrize("args, message", [
    (["--delete-after", "40m"], "--delete-after 40m (40 minutes) is below the floor of 1 day"),
    (["--delete-after", "0d"], "--delete-after 0d (0 minutes) is below the floor of 1 day"),
    (["--hourly-after", "30m"], "--hourly-after 30m (30 minutes) is below the floor of 1 day: the default "
                                "performance window reads five-minute windows that far back"),
    (["--daily-after", "3h"], "--daily-after 3h (3 hours) is below the floor of 1 day"),
])
def test_compact_below_the_floor_is_refused_and_changes_nothing(traffic_ws, args: list[str], message: str) -> None:
    url, ws = traffic_ws
    before = _windows(ws)
    result = run("--db", url, "compact", *args, "--yes")
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"error: {message}") and line.endswith(f"nothing was changed ({args[0]})")
    assert _windows(ws) == before and not _events(ws, "workspace.compacted")


def test_compact_delete_needs_yes_without_a_terminal(traffic_ws) -> None:
    url, ws = traffic_ws
    before = _windows(ws)
    result = run("--db", url, "compact", "--delete-after", "2d")
    assert result.exit_code == 1
    assert result.output.strip().startswith("error: delete 3 monitoring window(s) (600 rows of traffic, "
                                            "1 deployment(s)) older than ")
    assert result.output.strip().endswith("(2d: 2 days) needs confirmation: pass --yes")
    assert _windows(ws) == before


def test_compact_delete_asks_at_a_terminal_and_is_audited(traffic_ws, monkeypatch: pytest.MonkeyPatch) -> None:
    import click.testing

    url, ws = traffic_ws
    monkeypatch.setattr(click.testing._NamedTextIOWrapper, "isatty", lambda self: True, raising=False)
    before = _windows(ws)
    no = run("--db", url, "compact", "--delete-after", "2d", "--reason", "disk", input="n\n")
    assert no.exit_code == 1 and "delete 3 monitoring window(s) (600 rows of traffic" in no.output
    assert _windows(ws) == before and not _events(ws, "workspace.compacted")
    yes = run("--db", url, "compact", "--delete-after", "2d", "--reason", "disk", input="y\n")
    assert yes.exit_code == 0, yes.output
    assert yes.output.strip().splitlines()[-1] == "compacted 0 windows into 0; deleted 3"
    assert sum(rows for _, rows in _windows(ws)) == sum(rows for _, rows in before) - 600  # the recent 600 stay
    [event] = _events(ws, "workspace.compacted")
    assert (event.actor, event.origin, event.reason) == ("tester", "cli", "disk")
    assert {k: event.after[k] for k in ("deleted", "rows", "delete_after", "hourly_after", "daily_after")} == {
        "deleted": 3, "rows": 600, "delete_after": "2 days", "hourly_after": "2 days", "daily_after": "35 days"}


def test_compact_that_only_merges_needs_no_confirmation_and_is_audited(traffic_ws) -> None:
    url, ws = traffic_ws
    result = run("--db", url, "compact", "--json")
    assert result.exit_code == 0, result.output  # merging is exact: nothing to confirm
    import json

    assert json.loads(result.output) == {"merged": 3, "created": 1, "deleted": 0}
    [event] = _events(ws, "workspace.compacted")
    assert event.after["merged"] == 3 and event.after["created"] == 1 and event.after["delete_after"] is None


def test_a_models_long_drift_window_raises_the_floor_for_the_cli_and_the_monitor(traffic_ws) -> None:
    from datetime import timedelta

    from fuseboard.monitoring import retention

    url, ws = traffic_ws
    _traffic(ws, [timedelta(days=2, hours=12)], seed=5)  # older than the default 2 days, inside 3 days
    assert run("--db", url, "monitoring", "set", "credit-risk", "--drift-window-minutes", "4320",
               "--yes").exit_code == 0
    refused = run("--db", url, "compact")  # the defaults themselves are below this model's need now
    assert refused.exit_code == 1 and refused.output.strip() == (
        "error: --hourly-after 2d (2 days) is below the floor of 3 days: credit-risk's drift window reads "
        "five-minute windows that far back; nothing was changed (--hourly-after)")
    counts = retention.compact(ws)  # the monitor's hourly pass with the defaults: raised to the floor
    assert counts == {"merged": 3, "created": 1, "deleted": 0}  # only the 10-day-old windows
    assert sorted(s for s, _ in _windows(ws)).count(300) == 6  # the 2.5-day-old ones kept their five minutes
    assert not _events(ws, "workspace.compacted")  # the monitor's merges are routine, not audited
    floor = retention.clamped(retention.Retention(delete_after=timedelta(hours=1)), retention.floors(ws))
    assert floor.delete_after == floor.hourly_after == timedelta(days=3)


# -- --yes: a change that is destructive or touches a protected environment asks; the rest take no --yes ----

@pytest.mark.parametrize("command", [["alerts", "ack"], ["teams", "add"]])
def test_changes_that_never_ask_take_no_yes(command: list[str]) -> None:
    assert "--yes" not in run(*command, "--help").output
    assert run(*command, "--yes", "--help").exit_code == 2  # no such option, rather than silently ignored


def _alert(url: str) -> int:
    from fuseboard.monitoring import checks
    from fuseboard.monitoring.alerts import record_results
    from fuseboard.store.db import open_workspace

    ws = open_workspace(url)
    result = checks.DeploymentChecks("credit-risk", "prod", 2, "mission-critical", "crit",
                                     [checks.CheckResult("drift", "crit", "income drifted")])
    with ws.transaction() as s:
        [alert] = record_results(s, [result])
    ws.close()
    return alert.id


def _state(url: str, alert_id: int) -> str:
    import json

    return {a["id"]: a["state"] for a in json.loads(run("--db", url, "alerts", "--all", "--json").output)}[alert_id]


def test_resolving_an_alert_asks_and_needs_yes_without_a_terminal(demo_url: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    alert_id = _alert(demo_url)
    refused = run("--db", demo_url, "alerts", "resolve", str(alert_id), "--note", "fixed")
    assert refused.exit_code == 1 and refused.output.strip() == (
        f"error: resolve alert {alert_id} (credit-risk/prod/drift, crit) by hand needs confirmation: pass --yes")
    assert _state(demo_url, alert_id) == "firing"
    import click.testing

    monkeypatch.setattr(click.testing._NamedTextIOWrapper, "isatty", lambda self: True, raising=False)
    no = run("--db", demo_url, "alerts", "resolve", str(alert_id), "--note", "fixed", input="n\n")
    assert no.exit_code == 1 and _state(demo_url, alert_id) == "firing"
    yes = run("--db", demo_url, "alerts", "resolve", str(alert_id), "--note", "fixed", input="y\n")
    assert yes.exit_code == 0 and _state(demo_url, alert_id) == "resolved"


def test_silencing_a_protected_deployment_needs_yes_and_others_do_not(demo_url: str) -> None:
    import json

    def silences() -> list[str]:
        return [e["target"] for e in json.loads(run("--db", demo_url, "audit", "--json").output)
                if e["action"] == "alert.silence"]

    prod = ["--db", demo_url, "silence", "credit-risk", "--env", "prod", "--for", "2h", "--comment", "upgrade"]
    refused = run(*prod)
    assert refused.exit_code == 1 and refused.output.strip() == (
        "error: silence all checks of credit-risk in prod (protected) for 2h needs confirmation: pass --yes")
    assert silences() == []
    assert run("--db", demo_url, "silence", "credit-risk", "--env", "staging", "--for", "2h",
               "--comment", "upgrade").exit_code == 0  # not protected: no question
    assert run(*prod, "--yes").exit_code == 0
    assert silences() == ["credit-risk/prod", "credit-risk/staging"]


def test_monitoring_set_asks_for_a_model_serving_in_prod_only(demo_url: str, credit_files) -> None:
    from sqlmodel import select

    from fuseboard.store.db import open_workspace
    from fuseboard.store.models import Model

    refused = run("--db", demo_url, "monitoring", "set", "credit-risk", "--min-rows", "5")
    assert refused.exit_code == 1 and refused.output.strip() == (
        "error: change how credit-risk is monitored where it serves in prod (protected) needs confirmation: "
        "pass --yes")
    bad = run("--db", demo_url, "monitoring", "set", "credit-risk", "--method", "nope=ks")
    assert bad.exit_code == 1 and "the model has no feature 'nope'" in bad.output  # checked before asking
    assert run("--db", demo_url, "register", "scoring", "--artifact", str(credit_files["artifact"]), "--reference",
               str(credit_files["reference"]), "--target", "default").exit_code == 0
    assert run("--db", demo_url, "monitoring", "set", "scoring", "--min-rows", "5").exit_code == 0  # serves nowhere
    assert run("--db", demo_url, "monitoring", "set", "credit-risk", "--min-rows", "5", "--yes").exit_code == 0
    ws = open_workspace(demo_url)
    with ws.session() as s:
        assert {m.name: m.monitoring.get("min_rows") for m in s.exec(select(Model))
                if m.name in ("credit-risk", "scoring")} == {"credit-risk": 5, "scoring": 5}


def test_register_asks_before_changing_how_a_prod_model_is_protected(ws_url: str, credit_files) -> None:
    files = ["--artifact", str(credit_files["artifact"]), "--reference", str(credit_files["reference"]),
             "--target", "default"]
    assert run("--db", ws_url, "register", "credit", *files, "--criticality", "mission-critical").exit_code == 0
    assert run("--db", ws_url, "register", "credit", *files).exit_code == 0  # nothing of prod changes
    assert run("--db", ws_url, "deploy", "credit", "2", "--env", "prod", "--override", "--reason", "first",
               "--yes", "--wait", "0").exit_code == 0
    refused = run("--db", ws_url, "register", "credit", *files, "--criticality", "internal")
    assert refused.exit_code == 1 and refused.output.strip() == (
        "error: register credit and change criticality mission-critical -> internal of credit, which serves in "
        "prod (protected) needs confirmation: pass --yes")
    assert run("--db", ws_url, "register", "credit", *files).exit_code == 0  # v3: same criticality, no question
    done = run("--db", ws_url, "register", "credit", *files, "--criticality", "internal", "--yes", "--json")
    assert done.exit_code == 0, done.output
    import json

    assert json.loads(done.stdout)["version"] == 4 and json.loads(done.stdout)["changed"] == {"criticality": "internal"}


def test_the_console_on_a_mistyped_db_path_opens_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fuseboard.cli

    opened: list[str] = []
    monkeypatch.setattr(fuseboard.cli, "launch_console", lambda ctx, url, **kw: opened.append(url))
    monkeypatch.chdir(tmp_path)
    result = run("--db", "sqlite:///typo.db")
    assert result.exit_code == 1 and opened == [] and os.listdir(tmp_path) == []
    assert result.output.strip() == (f"error: no workspace at {tmp_path / 'typo.db'} (--db); create one with "
                                     "fuseboard register ... or fuseboard demo")
    assert run().exit_code == 0 and len(opened) == 1  # the default workspace: a first run opens the empty console
