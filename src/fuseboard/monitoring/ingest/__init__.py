"""Inference rows in: read, validate against the serving version's schema, fold into windows, write.

A batch (a CSV, Parquet or JSON Lines file, or rows handed over by serving code) is checked whole
before anything is written: missing or unknown columns, text where numbers are expected,
unreadable timestamps and empty batches are one error line naming the file, column and row. Nulls
and categories the reference never saw are not errors; they are counted in the window profiles
and reported as data-quality findings.

Rows are folded into five-minute window profiles (see windows.py) and merged into the windows
already stored, in one transaction. Raw rows are not kept; only rows with a ``request_id`` and no
label yet leave a small pending record (prediction and score) so a label arriving later can be
joined to them.

One job per module, in the order a batch goes through them:

* ``read``: files and rows as columns (pyarrow; Parquet read column by column in the background);
* ``encode``: a column as floats or as integer codes (shared by validation and folding);
* ``validation``: the batch's columns against the model (a ``Batch``, or one error line);
* ``fold``: windows by time, and each column folded over them (no database);
* ``write``: the transaction that merges the folded windows into the stored ones (``ingest_table``,
  ``ingest_file``);
* ``labels``: pending-label records, and labels arriving later (``ingest_labels_table``,
  ``ingest_labels_file``);
* ``partial``: a part of a batch folded without the workspace (``ProfileSpec``, ``profile_batch``), and
  parts merged (``merge_partials``); write.py's ``write_partials`` writes them;
* ``cluster``: a Parquet dataset folded file by file on a Dask cluster (``cluster.ingest_dataset``; not
  imported here, nor is Dask until it runs);
* ``exchange``: partial windows as Arrow records for other engines, and ``ingest_profiles_file``.

The names below are the package's public face (the CLI, the API, the demo); the underscored ones
are re-exported for the tests and benches that time or probe the steps one by one.
"""

from fuseboard.monitoring.ingest.encode import Encoded, _encode, _feature
from fuseboard.monitoring.ingest.fold import (WINDOW_SECONDS, ColumnQuality, _fold_encoded_windows, _window_starts,
                                              _windows, classes_of, fold_window, fold_windows, merge_profiles)
from fuseboard.monitoring.ingest.labels import LabelResult, ingest_labels_file, ingest_labels_table
from fuseboard.monitoring.ingest.read import ParquetColumns, as_table, open_file, read_file
from fuseboard.monitoring.ingest.validation import Batch, _timestamps, validate
from fuseboard.monitoring.ingest.partial import (Partial, PartialWindow, ProfileSpec, fold_partition, merge_partials,
                                                 profile_batch)
from fuseboard.monitoring.ingest.write import (REDEPLOY_ATTEMPTS, IngestResult, ingest_file, ingest_table, profile_spec,
                                               write_partials)
from fuseboard.monitoring.ingest.exchange import (PROFILE_DDL, BadRecords, ingest_profiles_file, profile_schema,
                                                  profiles_table, read_profiles)

__all__ = [
    "PROFILE_DDL", "REDEPLOY_ATTEMPTS", "WINDOW_SECONDS", "BadRecords", "Batch", "ColumnQuality", "Encoded",
    "IngestResult", "LabelResult", "ParquetColumns", "Partial", "PartialWindow", "ProfileSpec",
    "as_table", "classes_of", "fold_partition", "fold_window", "fold_windows", "ingest_file", "ingest_labels_file",
    "ingest_labels_table", "ingest_profiles_file", "ingest_table", "merge_partials", "merge_profiles", "open_file",
    "profile_batch", "profile_schema", "profile_spec", "profiles_table", "read_file", "read_profiles", "validate",
    "write_partials",
    "_encode", "_feature", "_fold_encoded_windows", "_timestamps", "_window_starts", "_windows",
]
