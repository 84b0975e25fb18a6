"""The store: tables, sessions, migrations and the audit chain. Never imports Textual.

* ``models`` (the tables and their state words), ``db`` (opening a workspace: engine, sessions,
  the writer lock), with ``urls``, ``schema`` and ``revisions`` (migrations and the known
  revisions), ``permissions`` (shared folders and modes), ``failures`` (unreachable, damaged and
  unwritable databases), ``backup`` and ``files`` (checked copies);
* ``audit`` and ``anchor`` (the hash-chained audit trail and its anchor file), ``lookup`` (rows by
  name, with one clear line for a missing one);
* ``lite``: a read-only ``sqlite3`` connection for the light read path (no SQLAlchemy).
"""
