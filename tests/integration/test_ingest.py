"""Inference rows in: every format, every bad file, windows that merge, labels that join later."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn import metrics as skm
from sqlmodel import func, select

from fuseboard.cli import cli
from fuseboard.config import resource_dir
from fuseboard.errors import FuseboardError
from fuseboard.monitoring import ingest, performance
from fuseboard.store.db import open_workspace
from fuseboard.store.models import PendingLabel, WindowProfile
from tests.support.rows import T0, credit_rows
from tests.support.windows import traffic_windows


def counts(ws) -> tuple[int, int]:  # noqa: ANN001
    with ws.session() as s:
        return (s.exec(select(func.count()).select_from(WindowProfile)).one(),
                s.exec(select(func.count()).select_from(PendingLabel)).one())


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_every_format_folds_into_five_minute_windows(suffix: str, demo_url: str, tmp_path: Path) -> None:
    rows = credit_rows()
    path = tmp_path / f"batch{suffix}"
    if suffix == ".csv":
        rows.to_csv(path, index=False)
    elif suffix == ".parquet":
        rows.to_parquet(path, index=False)
    else:
        rows.to_json(path, orient="records", lines=True)
    ws = open_workspace(demo_url)
    result = ingest.ingest_file(ws, "credit-risk", "prod", path)
    assert (result.rows, result.windows, result.version, result.labelled) == (600, 3, 2, 600)
    with ws.session() as s:
        windows = s.exec(traffic_windows().order_by(WindowProfile.window_start)).all()
    assert [w.window_start for w in windows] == [T0, T0 + pd.Timedelta(minutes=5), T0 + pd.Timedelta(minutes=10)]
    assert sum(w.rows for w in windows) == 600
    assert sum(w.features["income"]["count"] + w.features["income"]["nulls"] for w in windows) == 600
    assert sum(w.features["purpose"]["value_counts"]["car"] for w in windows) == int((rows["purpose"] == "car").sum())
    # labelled in the same batch: performance folded, nothing left waiting
    merged = windows[0].performance
    for w in windows[1:]:
        merged = performance.merge(merged, w.performance)
    got = performance.metrics(merged)
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(rows["label"], rows["score"]), abs=0.005)
    assert got["f1"] == pytest.approx(skm.f1_score(rows["label"], rows["prediction"]))
    assert counts(ws)[1] == 0


def test_a_second_batch_merges_into_the_same_windows(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    ingest.ingest_table(ws, "credit-risk", "prod", ingest.as_table(credit_rows(300, seed=1)))
    ingest.ingest_table(ws, "credit-risk", "prod", ingest.as_table(credit_rows(300, seed=2)))
    with ws.session() as s:
        windows = s.exec(traffic_windows()).all()
    assert len(windows) == 3 and sum(w.rows for w in windows) == 600


def test_labels_arriving_later_join_by_request_id(demo_url: str, tmp_path: Path) -> None:
    rows = credit_rows(400)
    labels = rows[["request_id", "label"]].iloc[:250]
    ws = open_workspace(demo_url)
    result = ingest.ingest_table(ws, "credit-risk", "prod", ingest.as_table(rows.drop(columns="label")))
    assert (result.labelled, result.awaiting_labels) == (0, 400)
    labels_path = tmp_path / "labels.csv"
    pd.concat([labels, pd.DataFrame({"request_id": ["nope"], "label": [1]})]).to_csv(labels_path, index=False)
    joined = ingest.ingest_labels_file(ws, "credit-risk", "prod", labels_path)
    assert (joined.joined, joined.unmatched) == (250, 1)
    assert counts(ws)[1] == 150
    with ws.session() as s:
        windows = s.exec(traffic_windows()).all()
    total: dict = {}
    for w in windows:
        if w.performance:
            total = performance.merge(total, w.performance) if total else w.performance
    assert total["labelled"] == 250
    first = rows.iloc[:250]
    assert performance.metrics(total)["accuracy"] == pytest.approx(skm.accuracy_score(first["label"],
                                                                                         first["prediction"]))
    again = ingest.ingest_labels_file(ws, "credit-risk", "prod", labels_path)
    assert again.joined == 0  # a label is joined once


def test_regression_rows_and_quality_findings(demo_url: str) -> None:
    frame = pd.read_csv(resource_dir("sample_data") / "retail_demand.csv").head(200).copy()
    frame["prediction"] = frame.pop("units_sold") * 1.1
    frame.loc[0, "price"] = None
    frame.loc[1:3, "day_of_week"] = "holiday"
    frame.loc[4, "temperature_c"] = 500.0
    ws = open_workspace(demo_url)
    result = ingest.ingest_table(ws, "demand-forecast", "prod", ingest.as_table(frame), now=T0)
    assert result.quality["price"] == {"nulls": 1}
    assert result.quality["day_of_week"] == {"unseen": {"holiday": 3}, "unseen_rows": 3}
    assert result.quality["temperature_c"] == {"out_of_range": 1}
    with ws.session() as s:
        (window,) = s.exec(traffic_windows()).all()
    assert window.window_start == T0 and window.features["day_of_week"]["value_counts"]["__unseen__"] == 3


def _bad(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


BAD = {
    "empty file": (lambda t, r: _bad(t, "e.csv", ""), "file is empty"),
    "header only": (lambda t, r: _bad(t, "h.csv", ",".join(r.columns) + "\n"), "no rows to ingest"),
    "missing feature": (lambda t, r: _write(t, r.drop(columns="income")), "missing column(s) the model needs: 'income'"),
    "unknown column": (lambda t, r: _write(t, r.assign(shoe_size=1)), "unknown column(s): 'shoe_size'"),
    "text in a number": (lambda t, r: _write(t, r.assign(age=r["age"].astype(object)).pipe(_set, 3, "age", "old")),
                         "column 'age' must be numeric but row 4, line 5 holds 'old'"),
    "bad timestamp": (lambda t, r: _write(t, r.pipe(_set, 2, "timestamp", "yesterday")),
                      "column 'timestamp' row 3, line 4 holds 'yesterday', not a time"),
    "milliseconds": (lambda t, r: _write(t, r.assign(timestamp=1_796_040_000.0).pipe(_set, 4, "timestamp", 1.79604e12)),
                     "column 'timestamp' row 5, line 6 holds 1796040000000.0, not a time between the years 1 and 9999"),
    "repeated request id": (lambda t, r: _write(t, r.pipe(_set, 5, "request_id", "r0-0")),
                            "request_id 'r0-0' appears twice (row 1, line 2 and row 6, line 7)"),
    "wrong suffix": (lambda t, r: _bad(t, "rows.xlsx", "x"), "unknown file type '.xlsx'"),
    "truncated parquet": (lambda t, r: _bad(t, "rows.parquet", "PAR1 not really"), "cannot read PARQUET"),
    "not json lines": (lambda t, r: _bad(t, "rows.jsonl", "{\"a\": 1,,}\n"), "cannot read JSON Lines"),
}


def _write(tmp: Path, frame: pd.DataFrame) -> Path:
    path = tmp / "rows.csv"
    frame.to_csv(path, index=False)
    return path


def _set(frame: pd.DataFrame, row: int, column: str, value: object) -> pd.DataFrame:
    frame = frame.copy()
    frame[column] = frame[column].astype(object)
    frame.loc[row, column] = value
    return frame


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_files_are_one_error_line_and_write_nothing(case: str, demo_url: str, tmp_path: Path) -> None:
    ws = open_workspace(demo_url)
    ingest.ingest_table(ws, "credit-risk", "prod", ingest.as_table(credit_rows(50, seed=9)))
    before = counts(ws)
    make, message = BAD[case]
    with pytest.raises(FuseboardError) as info:
        ingest.ingest_file(ws, "credit-risk", "prod", make(tmp_path, credit_rows(40)))
    assert message in str(info.value) and "\n" not in str(info.value)
    assert counts(ws) == before


def test_retrying_a_batch_with_request_ids_is_refused_whole(demo_url: str) -> None:
    ws = open_workspace(demo_url)
    batch = credit_rows(100).drop(columns="label")
    ingest.ingest_table(ws, "credit-risk", "prod", ingest.as_table(batch))
    before = counts(ws)
    with pytest.raises(FuseboardError, match="was already ingested; nothing was written"):
        ingest.ingest_table(ws, "credit-risk", "prod", ingest.as_table(batch))
    assert counts(ws) == before


def test_retrying_a_labelled_batch_is_refused_whole_and_a_new_one_goes_in(demo_url: str, tmp_path: Path) -> None:
    """Labelled rows leave no pending record: the batch's request ids, in order, recognise a retry."""
    ws = open_workspace(demo_url)
    path = tmp_path / "labelled.parquet"
    credit_rows(300, seed=4).to_parquet(path, index=False)
    assert ingest.ingest_file(ws, "credit-risk", "prod", path).labelled == 300
    before = counts(ws), _rows(ws)
    with pytest.raises(FuseboardError) as info:
        ingest.ingest_file(ws, "credit-risk", "prod", path)
    assert "this batch was already ingested at " in str(info.value) and "(the same 300 request ids); nothing was " \
        "written" in str(info.value) and "\n" not in str(info.value)
    assert (counts(ws), _rows(ws)) == before
    other = credit_rows(300, seed=5)  # other request ids: counted
    assert ingest.ingest_table(ws, "credit-risk", "prod", ingest.as_table(other)).rows == 300
    assert _rows(ws) == before[1] + 300
    unnamed = credit_rows(50, seed=4).drop(columns="request_id")  # no ids: nothing to recognise it by
    ingest.ingest_table(ws, "credit-risk", "prod", ingest.as_table(unnamed))
    ingest.ingest_table(ws, "credit-risk", "prod", ingest.as_table(unnamed))
    assert _rows(ws) == before[1] + 400


def _rows(ws) -> int:  # noqa: ANN001
    with ws.session() as s:
        return int(s.exec(select(func.coalesce(func.sum(WindowProfile.rows), 0))).one())


def test_cli_ingest_reports_quality_and_json(demo_url: str, tmp_path: Path) -> None:
    rows = credit_rows(100)
    rows.loc[0, "purpose"] = "yacht"
    path = tmp_path / "rows.csv"
    rows.to_csv(path, index=False)
    result = CliRunner().invoke(cli, ["--db", demo_url, "ingest", "credit-risk", str(path), "--env", "prod"])
    assert result.exit_code == 0, result.output
    assert "ingested 100 rows into credit-risk v2 in prod" in result.output
    assert "purpose: 1 unseen categories (yacht 1)" in result.output
    rows["request_id"] = rows["request_id"] + "-b"
    rows.to_csv(path, index=False)
    as_json = CliRunner().invoke(cli, ["--db", demo_url, "ingest", "credit-risk", str(path), "--env", "prod", "--json"])
    assert json.loads(as_json.output)["rows"] == 100


def test_python_api_takes_a_list_of_dicts(demo_url: str) -> None:
    import fuseboard

    rows = credit_rows(20).drop(columns=["timestamp"]).to_dict(orient="records")
    recorded = fuseboard.log_predictions("credit-risk", "staging", rows, db=demo_url)
    assert recorded["rows"] == 20 and recorded["version"] == 3 and recorded["environment"] == "staging"
    with pytest.raises(FuseboardError, match="rows must be"):
        fuseboard.log_predictions("credit-risk", "staging", "not rows", db=demo_url)


def test_encoded_categories_count_as_their_values_do() -> None:
    import numpy as np

    from fuseboard.monitoring import windows
    from fuseboard.monitoring.ingest import Encoded, _fold_encoded_windows

    rng = np.random.default_rng(5)
    column = Encoded(rng.integers(-1, 4, 1000), ["a", "b", "c", "zz"])  # -1: null; "zz" unseen
    reference = {"value_counts": {"a": 5, "b": 3, "c": 1}}
    windows_idx = [slice(0, 10), slice(10, 400), slice(400, 401), slice(401, 1000), np.arange(0, 1000, 7)]
    assert _fold_encoded_windows(column, windows_idx, reference) == [
        windows.fold_categorical(column.values()[idx], reference) for idx in windows_idx]


@pytest.mark.parametrize("values, arrow_type", [
    ([1, 0, 1, 1], "int64"),                      # binary class numbers
    ([2, 7, 2, 5], "int64"),                      # gaps between the classes
    ([-100, 100, 0, -100], "int8"),               # negative, in a narrow type
    ([3_288_334_337, 3_288_334_300], "uint32"),   # big numbers close together
    ([2**63 + 5, 2**63 + 1], "uint64"),           # beyond int64
    ([0, 70_000, 1], "int32"),                    # too wide for a counting table: hashed
    ([8, 7, 7], "int64"),                         # two neighbours away from 0: no counting needed
    ([-3, -2, -3], "int16"),                      # the same below 0
    ([5, 5, 5], "int64"),                         # one class only
])
def test_integer_columns_encode_as_their_text(values: list[int], arrow_type: str) -> None:
    import pyarrow as pa

    from fuseboard.monitoring.ingest import _encode

    table = pa.table({"c": pa.array(values, type=getattr(pa, arrow_type)())})
    encoded = _encode(table, "c")
    assert encoded.values().tolist() == [str(v) for v in values]
    assert sorted(encoded.dictionary) == sorted({str(v) for v in values})


def _windows_row_by_row(seconds: np.ndarray) -> list[tuple[int, list[int]]]:
    starts = ingest._window_starts(seconds)
    return [(int(start), np.flatnonzero(starts == start).tolist()) for start in np.unique(starts)]


def test_windows_cut_where_each_rows_own_window_says() -> None:
    """Rows in time order are cut at the boundaries (no per-row work); the windows are exactly those
    of each row's own start, also for rows a hair below a boundary, gaps and times before 1970."""
    rng = np.random.default_rng(3)
    boundaries = 1_800_000_000.0 + 300.0 * np.arange(6)
    hair = np.concatenate([boundaries, np.nextafter(boundaries, -np.inf), np.nextafter(boundaries, np.inf),
                           boundaries - 1e-7, boundaries + 3_600.0 * 24 * 40])  # 40 days later: empty windows between
    cases = {"a hair either side": np.sort(hair), "one row": np.array([1_800_000_123.5]),
             "before 1970": np.sort(rng.uniform(-2_000.0, 700.0, 500)),
             "the usual": np.sort(1_800_000_000 + rng.uniform(0, 3_600, 10_000)),
             "out of order": rng.uniform(0, 3_000, 1_000),
             "centuries apart": np.array([-3e10, 0.0, 1.8e9, 1.8e9 + 1, 3e11])}  # more boundaries than rows
    for name, seconds in cases.items():
        starts, rows, sizes = ingest._windows(seconds)
        got = [(int(start), np.arange(seconds.size)[idx].tolist()) for start, idx in zip(starts, rows)]
        assert got == _windows_row_by_row(seconds), name
        assert sizes == [len(r) for _, r in got], name
        if name != "out of order":
            assert all(isinstance(idx, slice) for idx in rows), name


def test_codes_map_each_row_to_its_class_position() -> None:
    """-1 a null, -2 a value of no class; the same whether or not the values are the classes in order."""
    encoded = ingest.Encoded(np.array([0, 1, -1, 1]), ["a", "b"])
    assert encoded.codes_for(["a", "b"]).tolist() == [0, 1, -1, 1]
    assert encoded.codes_for(["a", "b", "c"]).tolist() == [0, 1, -1, 1]
    assert encoded.codes_for(["b", "a"]).tolist() == [1, 0, -1, 0]
    assert encoded.codes_for(["a"]).tolist() == [0, -2, -1, -2]


def test_a_native_timestamp_past_the_year_9999_is_one_line(demo_url: str, tmp_path: Path) -> None:
    """Parquet timestamps can hold times no calendar date does: the number is named, not a traceback."""
    rows = credit_rows(20)
    rows["timestamp"] = pd.to_datetime(rows["timestamp"]).astype("datetime64[us, UTC]")
    path = tmp_path / "far.parquet"
    rows.to_parquet(path, index=False)
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    far = pa.array([3 * 10**17] * len(rows), type=pa.timestamp("us", tz="UTC"))  # the year ~11,500
    pq.write_table(table.set_column(table.column_names.index("timestamp"), "timestamp", far), path)
    ws = open_workspace(demo_url)
    before = counts(ws)
    with pytest.raises(FuseboardError) as info:
        ingest.ingest_file(ws, "credit-risk", "prod", path)
    assert "column 'timestamp' row 1 holds 300000000000000000 us since 1970, not a time between the years 1 and 9999" \
        in str(info.value) and "\n" not in str(info.value) and counts(ws) == before


def test_a_parquet_file_damaged_past_its_first_columns_writes_nothing(demo_url: str, tmp_path: Path) -> None:
    """Parquet is read a few columns at a time while the first ones fold: damage found late is still
    one line, and nothing of the batch is written."""
    import pyarrow.parquet as pq

    rows = credit_rows()
    path = tmp_path / "rows.parquet"
    rows.to_parquet(path, index=False, compression="snappy")
    chunk = pq.ParquetFile(path).metadata.row_group(0)
    last_feature = max(range(chunk.num_columns), key=lambda i: chunk.column(i).data_page_offset
                       if chunk.column(i).path_in_schema in {"income", "purpose", "age"} else -1)
    offset = chunk.column(last_feature).data_page_offset
    data = bytearray(path.read_bytes())
    data[offset:offset + 16] = b"\xff" * 16  # the page header of a column read after others
    path.write_bytes(bytes(data))
    ws = open_workspace(demo_url)
    before = counts(ws)
    with pytest.raises(FuseboardError) as info:
        ingest.ingest_file(ws, "credit-risk", "prod", path)
    assert str(info.value).startswith("cannot read PARQUET: ") and str(path) in str(info.value)
    assert "\n" not in str(info.value) and counts(ws) == before
