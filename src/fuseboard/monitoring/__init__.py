"""Monitoring: profiles, drift, performance, the checks, alerts, rollouts and the scheduler.

Pure (data, profiles or settings in, values out; no database, no network, no UI):

* ``profiles`` (reference profiles), ``windows`` (window profiles, folded and merged), ``drift``
  (drift methods), ``performance`` (performance profiles and metrics), ``metrics`` (validation
  metrics with scikit-learn);
* ``window_merge`` (merging window profiles exactly), ``shapes`` (the profiles' JSON shapes, as
  TypedDicts);
* ``evaluate`` (the checks' verdicts), ``details`` (what each check stores beside its verdict),
  ``alert_view`` (an alert as the faces show it);
* the ``ingest`` package's ``read``, ``encode``, ``validation`` and ``fold`` (files and rows in,
  window profiles out).

Touching the database (a ``Workspace`` or a session in, rows read or written):

* ``checks`` (runs the evaluations over every deployment), ``alerts`` (and ``alerts_quick``, the
  same list over a ``sqlite3`` connection), ``rollouts``,
  ``retention`` (compaction), ``scheduler`` (the monitor's cycles; it also calls webhooks);
* ``settings`` (``update`` and ``preview``; ``Policy``, ``policy_for`` and ``validate`` are pure);
* the ``ingest`` package's ``write`` and ``labels`` (its entry points ``ingest_table``,
  ``ingest_file``, ``ingest_labels_table`` and ``ingest_labels_file``).

Over HTTP: ``probe`` (the health probe; ``checks`` runs it).

numpy, pandas and pyarrow are imported inside the functions that need them.
"""
