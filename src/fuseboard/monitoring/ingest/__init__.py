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
  ``ingest_labels_file``).

The names below are the package's public face (the CLI, the API, the demo); the underscored ones
are re-exported for the tests and benches that time or probe the steps one by one.
"""

from fuseboard.monitoring.ingest.encode import Encoded, _encode, _feature
from fuseboard.monitoring.ingest.fold import (WINDOW_SECONDS, ColumnQuality, _fold_encoded_windows, _window_starts,
                                              _windows, classes_of, fold_window, fold_windows, merge_profiles)
from fuseboard.monitoring.ingest.labels import LabelResult, ingest_labels_file, ingest_labels_table
from fuseboard.monitoring.ingest.read import ParquetColumns, as_table, open_file, read_file
from fuseboard.monitoring.ingest.validation import Batch, _timestamps, validate
from fuseboard.monitoring.ingest.write import REDEPLOY_ATTEMPTS, IngestResult, ingest_file, ingest_table

__all__ = [
    "REDEPLOY_ATTEMPTS", "WINDOW_SECONDS", "Batch", "ColumnQuality", "Encoded", "IngestResult", "LabelResult", "ParquetColumns",
    "as_table", "classes_of", "fold_window", "fold_windows", "ingest_file", "ingest_labels_file",
    "ingest_labels_table", "ingest_table", "merge_profiles", "open_file", "read_file", "validate",
    "_encode", "_feature", "_fold_encoded_windows", "_timestamps", "_window_starts", "_windows",
]
