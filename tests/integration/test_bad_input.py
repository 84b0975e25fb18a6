"""Property-based: whatever file arrives, ingest succeeds or says one clear line, and never half-writes.

Random column sets and cell types (numbers, NaN, infinities, empty and huge strings, None),
written as CSV, Parquet or JSON Lines, sometimes truncated or in a wrong encoding; and random
command lines. (Random checklist templates, config and theme files: tests/unit/test_bad_files.py.)
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import func, select

from fuseboard.errors import FuseboardError
from fuseboard.monitoring import ingest
from fuseboard.store.db import open_workspace
from fuseboard.store.models import PendingLabel, WindowProfile

FEATURES = ["age", "income", "loan_amount", "term_months", "credit_history_years", "employment", "home_ownership",
            "purpose"]
EXTRA = ["prediction", "score", "label", "request_id", "timestamp", "surprise"]
NUMERIC = FEATURES[:5]

cells = st.one_of(
    st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True), st.none(),
    st.sampled_from(["", "owner", "rent", "car", "full-time", "x" * 5000, "1e308", "nan", "2026-11-29T12:00:00Z",
                     "ünïcødé", "0", "1"]),
    st.text(max_size=12))
# derandomized (hypothesis's fixed seed), FUSEBOARD_RANDOM_EXAMPLES=N explores N new examples; the
# draw still varies with what else the session imported, so no test counts on what it holds
EXPLORE = int(__import__("os").environ.get("FUSEBOARD_RANDOM_EXAMPLES", "0"))
SETTINGS = settings(max_examples=EXPLORE or 40, deadline=None, derandomize=not EXPLORE,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def one_line(exc: FuseboardError) -> bool:
    text = str(exc)
    return bool(text) and "\n" not in text and "Traceback" not in text


def stored(ws) -> tuple[int, int, int]:  # noqa: ANN001
    with ws.session() as s:
        return (s.exec(select(func.count()).select_from(WindowProfile)).one(),
                s.exec(select(func.coalesce(func.sum(WindowProfile.rows), 0))).one(),
                s.exec(select(func.count()).select_from(PendingLabel)).one())


def ingested_or_refused(shared_demo_url: str, path: Path, rows: int) -> bool:
    """Ingest the file: either every row counted exactly once, or one error line and nothing written."""
    ws = open_workspace(shared_demo_url)
    before = stored(ws)
    try:
        result = ingest.ingest_file(ws, "credit-risk", "prod", path)
    except FuseboardError as exc:
        assert one_line(exc), str(exc)
        assert stored(ws) == before  # nothing half-written
        return False
    else:
        assert result.rows == rows > 0
        after = stored(ws)
        assert after[1] == before[1] + rows  # every row counted exactly once
        return True
    finally:
        ws.close()


@pytest.mark.slow
@SETTINGS
@given(columns=st.one_of(  # half the time every column the model needs (plus random extras), else anything
    st.lists(st.sampled_from(EXTRA[1:]), max_size=4, unique=True).map(lambda extra: FEATURES + ["prediction"] + extra),
    st.lists(st.sampled_from(FEATURES + EXTRA), min_size=0, max_size=14, unique=True)),
       rows=st.integers(0, 6), data=st.data(), fmt=st.sampled_from(["csv", "parquet", "jsonl"]),
       damage=st.sampled_from([None, None, "truncate", "latin1", "garbage"]))
def test_any_file_is_ingested_or_refused_in_one_line_with_nothing_written(shared_demo_url: str, tmp_path_factory, columns,
                                                                           rows, data, fmt, damage) -> None:  # noqa: ANN001
    typed = data.draw(st.booleans())  # well-typed cells (with NaN, infinities, None, odd text) or anything

    def cell(column: str):  # noqa: ANN202
        if not typed:
            return data.draw(cells)
        if column in NUMERIC:
            return data.draw(st.one_of(st.integers(0, 10**6), st.floats(allow_nan=True, allow_infinity=True)))
        if column in ("prediction", "label"):
            return data.draw(st.sampled_from([0, 1]))
        if column == "score":
            return data.draw(st.floats(0, 1))
        return data.draw(st.one_of(st.none(), st.text(max_size=10), st.sampled_from(["rent", "car", "x" * 5000])))

    frame = pd.DataFrame({c: [cell(c) for _ in range(rows)] for c in columns})
    path = tmp_path_factory.mktemp("f") / f"rows.{fmt}"
    try:
        if fmt == "csv":
            frame.to_csv(path, index=False)
        elif fmt == "jsonl":
            frame.to_json(path, orient="records", lines=True)
        else:
            frame.astype(str).to_parquet(path, index=False)  # Parquet needs one type per column
    except (ValueError, OverflowError, UnicodeEncodeError):
        return  # pandas cannot write this frame: not a file a user could have
    raw = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(raw[: max(1, len(raw) * 2 // 3)])
    elif damage == "latin1":
        path.write_bytes(raw.decode("utf-8", "replace").encode("latin-1", "replace") + b"\xff\xfe")
    elif damage == "garbage":
        path.write_bytes(b"\x00\x01PAR1\x00" + raw[::-1])
    ingested_or_refused(shared_demo_url, path, rows)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_well_formed_files_go_in_through_the_same_path(shared_demo_url: str, tmp_path: Path, fmt: str) -> None:
    # the property's other branch, for certain: a random draw may hold no file that goes in
    frame = pd.DataFrame({"age": [30, 41, 52], "income": [1000.0, 2500.5, 4000.0], "loan_amount": [500, 900, 100],
                          "term_months": [12, 24, 36], "credit_history_years": [1.5, 7.0, 20.0],
                          "employment": ["full-time", "self", "full-time"], "home_ownership": ["rent", "own", "rent"],
                          "purpose": ["car", "home", "car"], "prediction": [0, 1, 0]})
    path = tmp_path / f"rows.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path, index=False)
    assert ingested_or_refused(shared_demo_url, path, 3)


def test_nan_and_infinity_count_as_nulls_not_errors(shared_demo_url: str, tmp_path: Path) -> None:
    frame = pd.DataFrame({"age": [30, math.nan, math.inf], "income": [1.0, 2.0, -math.inf], "loan_amount": [1.0] * 3,
                          "term_months": [12] * 3, "credit_history_years": [3] * 3, "employment": ["full-time"] * 3,
                          "home_ownership": ["rent"] * 3, "purpose": ["car"] * 3, "prediction": [0, 1, 0]})
    path = tmp_path / "rows.parquet"
    frame.to_parquet(path, index=False)
    ws = open_workspace(shared_demo_url)
    result = ingest.ingest_file(ws, "credit-risk", "prod", path)
    assert result.rows == 3 and result.quality["age"]["nulls"] == 2


def test_values_near_float_max_fold_and_merge_without_overflowing(shared_demo_url: str, tmp_path: Path) -> None:
    """Found by the property test: 1e308 + 1e308 overflowed, was stored as JSON null, and the next merge crashed."""
    frame = pd.DataFrame({"age": [1.7e308, 1.7e308, -1.7e308], "income": [1.0, 2.0, 3.0], "loan_amount": [1.0] * 3,
                          "term_months": [12] * 3, "credit_history_years": [3] * 3, "employment": ["full-time"] * 3,
                          "home_ownership": ["rent"] * 3, "purpose": ["car"] * 3, "prediction": [0, 1, 0],
                          "timestamp": ["2026-11-29T12:01:00Z"] * 3})
    path = tmp_path / "huge.csv"
    frame.to_csv(path, index=False)
    ws = open_workspace(shared_demo_url)
    for _ in range(2):  # the second batch merges into the window the first one wrote
        assert ingest.ingest_file(ws, "credit-risk", "prod", path).rows == 3
    with ws.session() as s:
        window = s.exec(select(WindowProfile).where(  # (its own window: other tests of the module write theirs)
            WindowProfile.rows == 6, WindowProfile.window_start == pd.Timestamp("2026-11-29T12:00Z").to_pydatetime())).one()
    age = window.features["age"]
    assert age["count"] == 6 and all(math.isfinite(age[k]) for k in ("mean", "m2"))
    assert all(math.isfinite(t) for t in age["tails"])


words = st.one_of(st.sampled_from(["credit-risk", "prod", "dev", "1", "2", "99", "-1", "2h", "0s", "forever", "--json",
                                   "--env", "--for", "--comment", "--yes", "--to", "--reason", "x;rm -rf /",
                                   "$(touch /tmp/pwned)", "'", '"', "../../etc", "", " ", "ünï", "9" * 30]),
                  st.text(max_size=8))
COMMANDS = [["silence"], ["alerts", "ack"], ["alerts", "resolve"], ["rollback"], ["deploy"], ["promote"],
            ["signoff"], ["history"], ["audit"], ["envs", "set"], ["rota", "set"], ["handover", "start"],
            ["monitoring", "set"], ["ingest-labels"], ["teams"], ["models"], ["shift"]]


@pytest.mark.slow
@settings(SETTINGS, max_examples=int(__import__("os").environ.get("FUSEBOARD_CLI_EXAMPLES", "80")))
@given(command=st.sampled_from(COMMANDS), args=st.lists(words, max_size=7))
def test_any_command_line_succeeds_or_says_one_line_and_changes_nothing(shared_demo_url: str, command: list[str],
                                                                         args: list[str]) -> None:
    from click.testing import CliRunner

    from fuseboard.cli import cli
    from fuseboard.ops.workspace import _counts
    from fuseboard.store.audit import verify

    ws = open_workspace(shared_demo_url)
    before = _counts(ws)
    result = CliRunner().invoke(cli, ["--db", shared_demo_url, *command, *args], input="n\n")
    out = result.output
    assert "Traceback" not in out and "error: unexpected " not in out, out  # (the crash line)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    if result.exit_code != 0:
        errors = [line for line in out.splitlines() if line.startswith("error:") or line.startswith("Error:")]
        assert len(errors) == 1, out
        after = _counts(ws)
        changed = {t for t in before if before[t] != after[t] and t not in ("checkstate", "checkrun", "lease")}
        assert not changed, (changed, out)  # refused: nothing written
    assert verify(ws).ok
    ws.close()
