"""Window profiles folded by another engine (Spark, Ray): as Arrow records, read back, checked and written.

One job: the file format between ``fuseboard.profile_batch`` on any engine's workers and
``fuseboard ingest-profiles``. One record per partial window (``PROFILE_SCHEMA``; ``PROFILE_DDL`` is the
same for Spark's ``mapInArrow``): the model, version and reference digest it was folded for, the
window's start and rows, and its profiles as the compact blobs windows are stored as
(store/window_codec.py: integers and floats read back exactly). Records of the same window, from
any number of partitions, are merged when written (partial.py).

A file (Parquet, Arrow IPC/Feather, or a directory of Parquet part files as Spark writes them) is
checked whole: every bad record is one line naming it (``BadRecords``), and nothing is written. Each
part file's fingerprint (the sha256 of its records, in any order) is recorded, so the same profiles
written twice are refused.
"""

from __future__ import annotations

import hashlib
import zlib
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fuseboard.errors import FuseboardError
from fuseboard.monitoring.ingest.fold import WINDOW_SECONDS
from fuseboard.monitoring.ingest.partial import PartialWindow, ProfileSpec, merge_partials
from fuseboard.monitoring.ingest.read import _unreadable
from fuseboard.monitoring.ingest.validation import FIRST_TIME, LAST_TIME
from fuseboard.monitoring.ingest.write import IngestResult, _Redeployed, profile_spec, write_partials
from fuseboard.store import window_codec
from fuseboard.store.db import Workspace
from fuseboard.store.models import utcnow

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

__all__ = ["PROFILE_DDL", "BadRecords", "ingest_profiles_file", "profile_schema", "profiles_table", "read_profiles"]

PROFILE_DDL = ("model string, version int, reference string, window_start bigint, rows bigint, labelled bigint, "
               "features binary, predictions binary, performance binary, estimated binary")
BLOBS = ("features", "predictions", "performance", "estimated")
RECORDS_PRINT = b"fuseboard window profiles v1\x1e"
MAX_LINES = 20  # bad records listed one by one; the rest counted


class BadRecords(FuseboardError):
    """Records of a profiles file that cannot be written: one line each (``lines``), the first as the message."""

    def __init__(self, lines: list[str], more: int) -> None:
        super().__init__(lines[0] + (f" (and {len(lines) - 1 + more} more bad record(s))" if len(lines) > 1 or more
                                     else ""))
        self.lines = lines + ([f"... and {more} more bad record(s)"] if more else [])


def profile_schema() -> "pa.Schema":
    """The Arrow schema of a profiles file (``PROFILE_DDL`` in Spark's words)."""
    import pyarrow as pa

    return pa.schema([("model", pa.string()), ("version", pa.int32()), ("reference", pa.string()),
                      ("window_start", pa.int64()), ("rows", pa.int64()), ("labelled", pa.int64()),
                      *[(name, pa.binary()) for name in BLOBS]])


def profiles_table(spec: ProfileSpec, windows: list[PartialWindow]) -> "pa.Table":
    """Partial windows as Arrow records (``profile_schema``), for an engine to return or write.

    Parameters
    ----------
    spec : ProfileSpec
        What they were folded for.
    windows : list of PartialWindow
        From ``profile_batch``.

    Returns
    -------
    table : pyarrow.Table
        One row per window; ``performance`` and ``estimated`` null where there are none.
    """
    import pyarrow as pa

    n = len(windows)
    columns = {"model": [spec.model] * n, "version": [spec.version] * n, "reference": [spec.reference] * n,
               "window_start": [w.window_start for w in windows], "rows": [w.rows for w in windows],
               "labelled": [w.labelled for w in windows],
               "features": [window_codec.encode(w.features) for w in windows],
               "predictions": [window_codec.encode(w.predictions) for w in windows],
               "performance": [window_codec.encode(w.performance) if w.performance else None for w in windows],
               "estimated": [window_codec.encode(w.estimated) if w.estimated else None for w in windows]}
    return pa.table(columns, schema=profile_schema())


def _tables(path: Path) -> list[tuple[str, "pa.Table"]]:
    """The profiles file's records, per part file (a directory's Parquet files, sorted)."""
    import pyarrow as pa

    if not path.exists():
        raise FuseboardError(f"file not found: {path}")
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in (".parquet", ".pq")
                   and not any(part[:1] in "._" for part in p.relative_to(path).parts)) if path.is_dir() else [path]
    if not files:
        raise FuseboardError(f"no Parquet files (.parquet, .pq) in {path}")
    out = []
    for f in files:
        kind = "parquet" if f.suffix.lower() in (".parquet", ".pq") else "arrow"
        try:
            if kind == "parquet":
                from pyarrow import parquet

                table = parquet.read_table(f)
            elif f.suffix.lower() in (".arrow", ".feather", ".ipc"):
                from pyarrow import feather

                table = feather.read_table(f)
            else:
                raise FuseboardError(f"unknown file type {f.suffix or '(none)'!r}: use .parquet or .arrow ({f})")
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise _unreadable(kind, exc, f) from None
        missing = [n for n in profile_schema().names if n not in table.column_names]
        if missing:
            raise FuseboardError(f"missing column(s) of a profiles file: {', '.join(map(repr, missing))} ({f})")
        try:
            table = table.select(profile_schema().names).cast(profile_schema())
        except (pa.ArrowException, ValueError) as exc:
            raise FuseboardError(f"columns of the wrong type for a profiles file: {str(exc).splitlines()[0][:200]} "
                                 f"({f})") from None
        out.append((str(f), table))
    return out


def _check(spec: ProfileSpec, record: dict[str, Any]) -> tuple[PartialWindow | None, str | None]:
    """A record as a partial window, or what is wrong with it."""
    if record["model"] != spec.model:
        return None, f"folded for model {record['model']!r}, not {spec.model!r}"
    if record["version"] != spec.version:
        return None, (f"folded for {spec.model} v{record['version']}, but v{spec.version} serves in "
                      f"{spec.environment}: fold again with a spec of v{spec.version}")
    if record["reference"] != spec.reference:
        return None, f"folded on another reference than {spec.model} v{spec.version}'s"
    start, rows, labelled = record["window_start"], record["rows"], record["labelled"]
    if start is None or start % WINDOW_SECONDS or not FIRST_TIME <= start <= LAST_TIME:
        return None, f"window_start {start!r} is not the start of a five-minute window (epoch seconds)"
    if rows is None or rows <= 0 or labelled is None or not 0 <= labelled <= rows:
        return None, f"rows {rows!r} and labelled {labelled!r}: need rows > 0 and 0 <= labelled <= rows"
    profiles: dict[str, Any] = {}
    for name in BLOBS:
        blob = record[name]
        if blob is None:
            if name in ("features", "predictions"):
                return None, f"{name} is null"
            continue
        try:
            profiles[name] = window_codec.decode(blob)
        except (ValueError, zlib.error, KeyError, IndexError, TypeError):
            return None, f"{name} is not a window profile (fuseboard.profiles_table writes them)"
    wrong = _shape(spec, profiles, rows, labelled)
    if wrong:
        return None, wrong
    return PartialWindow(int(start), int(rows), int(labelled), profiles["features"], profiles["predictions"],
                         profiles.get("performance") or {}, profiles.get("estimated")), None


def _shape(spec: ProfileSpec, profiles: dict[str, Any], rows: int, labelled: int) -> str | None:
    """What does not fit the version in a record's profiles: features, bins, row counts, task."""
    features, ref = profiles["features"], spec.reference_profile["features"]
    names = [f["name"] for f in spec.feature_schema]
    if not isinstance(features, dict) or sorted(features) != sorted(names):
        return f"features are not {spec.model} v{spec.version}'s ({', '.join(names[:5])}...)"
    for f in spec.feature_schema:
        got = features[f["name"]]
        if not isinstance(got, dict) or got.get("kind") != f["kind"]:
            return f"feature {f['name']!r} is not {f['kind']}"
        if got.get("count", -1) + got.get("nulls", 0) != rows:
            return f"feature {f['name']!r} counts {got.get('count', 0) + got.get('nulls', 0)} rows, not {rows}"
        if f["kind"] == "numeric":
            edges = ref[f["name"]].get("edges") or []
            if len(got.get("counts") or []) != (len(edges) + 1 if edges else 3):
                return f"feature {f['name']!r} is binned on other edges than the reference's"
    prediction = profiles["predictions"].get("prediction") if isinstance(profiles["predictions"], dict) else None
    if not isinstance(prediction, dict) or prediction.get("count", -1) + prediction.get("nulls", 0) != rows:
        return f"predictions do not count {rows} rows"
    perf = profiles.get("performance")
    if perf:
        if perf.get("task") != spec.task or (spec.task == "classification" and perf.get("classes") != spec.classes):
            return f"performance is not of {spec.model} v{spec.version}'s task and classes"
        if perf.get("labelled") != labelled:
            return f"performance counts {perf.get('labelled')} labelled rows, not {labelled}"
    return None


def read_profiles(path: Path, spec: ProfileSpec) -> tuple[list[list[PartialWindow]], list[tuple[str, int, str]]]:
    """The records of a profiles file, per part file, checked against the version; and each part file's
    (fingerprint, rows, path).

    Raises
    ------
    BadRecords
        One line per bad record (``record N of FILE``), at most ``MAX_LINES``.
    FuseboardError
        A file that cannot be read, or lacks the columns.
    """
    parts, prints, bad, more = [], [], [], 0
    for source, table in _tables(path):
        windows, digests = [], []
        for i, record in enumerate(table.to_pylist()):
            window, wrong = _check(spec, record)
            if wrong:
                if len(bad) < MAX_LINES:
                    bad.append(f"record {i + 1}: {wrong} ({source})")
                else:
                    more += 1
                continue
            windows.append(window)
            digests.append(hashlib.sha256(b"\x1f".join(
                [str(record[k]).encode() for k in ("window_start", "rows", "labelled")] +
                [record[k] or b"" for k in BLOBS])).digest())
        if not table.num_rows:
            bad.append(f"no records ({source})")
        parts.append(windows)
        rows = sum(w.rows for w in windows)
        prints.append((hashlib.sha256(RECORDS_PRINT + b"".join(sorted(digests))).hexdigest(), rows, source))
    if bad:
        raise BadRecords(bad, more)
    return parts, prints


def ingest_profiles_file(ws: Workspace, model: str, env: str, path: Path, now: datetime | None = None) -> IngestResult:
    """Write window profiles folded elsewhere (``profile_batch``) into the serving version's windows.

    Parameters
    ----------
    ws : Workspace
    model, env : str
    path : Path
        A Parquet or Arrow file of ``profile_schema`` records, or a directory of Parquet part files.
    now : datetime, optional

    Returns
    -------
    result : IngestResult
        ``awaiting_labels`` is 0: profiles carry no pending records.

    Raises
    ------
    BadRecords
        One line per bad record; nothing written.
    FuseboardError
        The file unreadable, written before, or folded for a version no longer serving.
    """
    now = now or utcnow()
    spec = profile_spec(ws, model, env, loss_models=False)
    parts, prints = read_profiles(path, spec)
    seen: dict[str, str] = {}
    for fingerprint, _, source in prints:
        if fingerprint in seen:
            raise FuseboardError(f"{source} holds the same records as {seen[fingerprint]}; nothing was written "
                                 f"({source})")
        seen[fingerprint] = source
    try:
        return write_partials(ws, spec, merge_partials(parts), prints, now)
    except _Redeployed:
        raise FuseboardError(f"another version of {model} was deployed in {env} while the profiles were read; "
                             f"nothing was written, fold again for it ({path})") from None
