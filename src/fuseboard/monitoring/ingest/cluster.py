"""Ingest on a Dask cluster: a Parquet dataset folded file by file on the workers, written once here.

One job: list the dataset's files (a directory, a glob, or one file; local or shared paths every
worker reaches at the same place, or a URI pyarrow's filesystems read: ``s3://``, ``gs://``,
``hdfs://``), hand each file to a worker (``fold_file``: read with pyarrow, validated and folded with
the code of single-machine ingest, partial.py), merge the partial windows here, file order first,
and write them in ONE transaction (write.py's ``write_partials``).

Refusals: a file that cannot be read or does not validate refuses the whole batch, one line naming
the file, and nothing is written. Retry safety: each file's fingerprint (the sha256 of its size and
Parquet footer, which holds every column chunk's offsets, sizes and statistics) is recorded in the
transaction; a batch holding a file written before is refused naming it, so an ingest retried after
a timeout or a crash is not counted twice, whether the whole dataset or a part of it is sent again.

A worker that dies while folding a file: the scheduler runs the file again on another worker (up to
``distributed.scheduler.allowed-failures`` deaths), and the client merges exactly one result per
file, so the file is counted once. Dask is imported only here, when a cluster ingest runs.
"""

from __future__ import annotations

import fnmatch
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fuseboard.errors import FuseboardError
from fuseboard.monitoring.ingest.encode import _where
from fuseboard.monitoring.ingest.partial import Partial, ProfileSpec, fold_partition, merge_partials
from fuseboard.monitoring.ingest.read import _unreadable, open_file
from fuseboard.monitoring.ingest.write import REDEPLOY_ATTEMPTS, IngestResult, _Redeployed, profile_spec, write_partials
from fuseboard.store.db import Workspace
from fuseboard.store.models import utcnow

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

__all__ = ["DatasetFile", "fold_file", "ingest_dataset", "list_dataset"]

SUFFIXES = (".parquet", ".pq")
FILE_PRINT = b"fuseboard parquet file v1\x1e"  # hashed first: never equal to a request-id set's fingerprint
RETRIES = 2  # a task that raised (storage hiccups): run again before the batch is refused
CONNECT = "15s"  # to reach the scheduler


@dataclass(frozen=True)
class DatasetFile:
    """One file of a dataset: its path (local) or URI, and its size in bytes."""

    path: str
    size: int


@dataclass(frozen=True)
class Refused:
    """A file that does not validate: the batch's error line."""

    path: str
    message: str


def _filesystem(path: str) -> tuple[Any, str, bool]:
    """pyarrow's filesystem for a path or URI, the path inside it, and whether it is local."""
    from pyarrow import fs

    if "://" in path and not path.startswith("file://"):
        filesystem, inner = fs.FileSystem.from_uri(path)
        return filesystem, inner, False
    local = Path(path.removeprefix("file://")).expanduser().absolute()
    return fs.LocalFileSystem(), str(local), True


def list_dataset(path: str) -> list[DatasetFile]:
    """The Parquet files of a dataset, sorted by path: PATH itself, the files under a directory (hidden
    and ``_``-prefixed ones, such as ``_SUCCESS``, left out, as Spark and Hive leave them), or those a
    glob matches. Refused with one line when there are none."""
    from pyarrow import fs

    filesystem, inner, local = _filesystem(path)
    glob = any(c in inner for c in "*?[")
    base = inner[:min(inner.find(c) for c in "*?[" if c in inner)].rpartition("/")[0] if glob else inner
    try:
        info = filesystem.get_file_info(base)
        if info.type == fs.FileType.NotFound:
            raise FuseboardError(f"file not found: {path}")
        if info.type == fs.FileType.File and not glob:
            found = [info]
        else:
            found = [i for i in filesystem.get_file_info(fs.FileSelector(base, recursive=True))
                     if i.type == fs.FileType.File]
    except OSError as exc:
        raise FuseboardError(f"cannot list {path}: {str(exc).splitlines()[0][:200]}") from None
    prefix = "" if local else path[:path.find("://") + 3]
    files = []
    for i in found:
        relative = i.path[len(base):].lstrip("/")
        if glob and not fnmatch.fnmatchcase(i.path, inner):
            continue
        if not glob and i.path != inner and (any(part[:1] in "._" for part in relative.split("/"))
                                             or not i.path.lower().endswith(SUFFIXES)):
            continue
        files.append(DatasetFile(prefix + i.path, int(i.size)))
    if not files:
        raise FuseboardError(f"no Parquet files (.parquet, .pq) in {path}")
    return sorted(files, key=lambda f: f.path)


def _file_print(file: DatasetFile) -> str:
    """The file's fingerprint: the sha256 of its size and its Parquet footer (the footer holds every column
    chunk's offsets, sizes and statistics: two files that differ in a value differ there)."""
    filesystem, inner, _ = _filesystem(file.path)
    try:
        with filesystem.open_input_file(inner) as f:
            size = f.size()
            if size < 12:
                raise ValueError("too short to be Parquet")
            f.seek(size - 8)
            tail = f.read(8)
            length = int.from_bytes(tail[:4], "little")
            if tail[4:] != b"PAR1" or length > size - 12:
                raise ValueError("not a Parquet file (no PAR1 footer)")
            f.seek(size - 8 - length)
            footer = f.read(length)
    except (OSError, ValueError) as exc:
        raise _unreadable("parquet", exc, Path(file.path)) from None
    return hashlib.sha256(FILE_PRINT + size.to_bytes(8, "little") + footer).hexdigest()


def _open(file: DatasetFile) -> "pa.Table | Any":
    """A file's columns: a local file memory-mapped and read as it folds (read.py), a remote one whole."""
    filesystem, inner, local = _filesystem(file.path)
    if local:
        return open_file(Path(inner))
    from pyarrow import parquet

    try:
        with filesystem.open_input_file(inner) as f:
            return parquet.ParquetFile(f).read()
    except (OSError, ValueError) as exc:
        raise _unreadable("parquet", exc, Path(file.path)) from None


def fold_file(spec: ProfileSpec, file: DatasetFile, now: datetime) -> Partial | Refused:
    """A worker's task: one file read, validated and folded; a refusal (one line naming the file) when it
    does not validate. Other errors (storage) are raised, for Dask to run the task again."""
    try:
        fingerprint = _file_print(file)
        part = fold_partition(spec, _open(file), file.path, now)
    except FuseboardError as exc:
        return Refused(file.path, str(exc))
    part.fingerprint = fingerprint
    return part


def _client(scheduler: str) -> Any:
    try:
        from distributed import Client
    except ImportError:
        raise FuseboardError("a Dask cluster ingest needs dask[distributed]: pip install 'fuseboard[dask]'") from None
    try:
        return Client(scheduler, timeout=CONNECT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise FuseboardError(f"cannot reach the Dask scheduler at {scheduler}: "
                             f"{(str(exc).splitlines() or [type(exc).__name__])[0][:200]}", field="dask") from None


def _fold_all(client: Any, spec: ProfileSpec, files: list[DatasetFile], now: datetime) -> list[Partial]:
    """Every file folded on the workers, one result per file in file order; the first refusal (or a file
    whose task failed past its retries) refuses the batch and cancels the rest."""
    from distributed import as_completed

    token = uuid.uuid4().hex[:12]
    shared = client.scatter(spec, broadcast=True, hash=False)
    futures = [client.submit(fold_file, shared, f, now, key=f"fuseboard-fold-{i}-{token}", retries=RETRIES,
                             pure=False) for i, f in enumerate(files)]
    at = {future.key: i for i, future in enumerate(futures)}
    parts: list[Partial | None] = [None] * len(files)
    try:
        for future in as_completed(futures, loop=client.loop):
            file = files[at[future.key]]
            try:
                found = future.result()
            except Exception as exc:  # KilledWorker, storage errors past the retries, a worker's crash
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
                raise FuseboardError(f"cannot fold {file.path} on the cluster: {type(exc).__name__}: {first}; "
                                     f"nothing was written ({file.path})") from None
            if isinstance(found, Refused):
                raise FuseboardError(found.message)
            parts[at[future.key]] = found
    finally:
        client.cancel(futures + [shared], force=True)
    return [p for p in parts if p is not None]


def _fingerprints(parts: list[Partial]) -> list[tuple[str, int, str]]:
    """(fingerprint, rows, path) per file; the same file twice in one dataset is refused."""
    first: dict[str, str] = {}
    for p in parts:
        assert p.fingerprint is not None
        if p.fingerprint in first:
            raise FuseboardError(f"{p.source} holds the same rows as {first[p.fingerprint]}; nothing was written "
                                 f"({p.source})")
        first[p.fingerprint] = p.source
    return [(p.fingerprint, p.rows, p.source) for p in parts if p.fingerprint]


def _request_ids(parts: list[Partial]) -> dict[str, Partial]:
    """Each request id of the batch with its file; an id in two files is refused, as one twice in a file."""
    owner: dict[str, Partial] = {}
    for p in parts:
        for rid, row in p.named.items():
            other = owner.get(rid)
            if other is not None:
                raise FuseboardError(f"request_id {rid!r} appears twice ({_where(other.source, other.named[rid])} of "
                                     f"{other.source} and {_where(p.source, row)}) ({p.source})")
            owner[rid] = p
    return owner


def ingest_dataset(ws: Workspace, model: str, env: str, path: str, scheduler: str | None = None, *,
                   client: Any = None, now: datetime | None = None) -> IngestResult:
    """Ingest a Parquet dataset on a Dask cluster: each file folded on a worker, all written here at once.

    Parameters
    ----------
    ws : Workspace
    model, env : str
    path : str
        A Parquet file, a directory of them (searched recursively) or a glob; local paths must be
        where the workers see them too (shared storage), or a URI (``s3://bucket/prefix``).
    scheduler : str, optional
        The scheduler's address (``tcp://host:8786``); or pass ``client``.
    client : distributed.Client, optional
        A client already connected (left open).
    now : datetime, optional
        The time of rows without a ``timestamp`` (default: now).

    Returns
    -------
    result : IngestResult
        As ``ingest_file`` says it.

    Raises
    ------
    FuseboardError
        One line naming the file at fault; nothing was written.
    """
    now = now or utcnow()
    files = list_dataset(path)
    if client is None and scheduler is None:
        raise FuseboardError("a cluster ingest needs a scheduler address", field="dask")
    own = client is None
    client = client if client is not None else _client(scheduler or "")
    try:
        for _ in range(REDEPLOY_ATTEMPTS):
            spec = profile_spec(ws, model, env)
            parts = _fold_all(client, spec, files, now)
            owner = _request_ids(parts)
            windows = merge_partials(p.windows for p in parts)
            try:
                return write_partials(ws, spec, windows, _fingerprints(parts), now, request_ids=list(owner),
                                      awaiting_rows=[r for p in parts for r in p.awaiting],
                                      where=lambda rid: (_where(owner[rid].source, owner[rid].named[rid]),
                                                         owner[rid].source))
            except _Redeployed:
                continue
    finally:
        if own:
            client.close()
    raise FuseboardError(f"{model} in {env} was deployed {REDEPLOY_ATTEMPTS} times while the dataset was being "
                         f"folded; nothing was written, try again ({path})")
