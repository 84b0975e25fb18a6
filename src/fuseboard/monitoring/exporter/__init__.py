"""Prometheus metrics of a workspace, read at scrape time: ``fuseboard monitor --metrics-port`` serves them,
``fuseboard metrics`` writes them for node_exporter's textfile collector.

Each scrape reads the workspace afresh in six queries, whatever the number of deployments: the model
and environment names, the deployments with their versions, one pass over the check states (a row per
deployment), the open alerts counted, and the rows of the stored windows summed per deployment (in a
thread beside the others). It writes nothing.

=======================================================  ===========================================================
metric                                                   what it reads
=======================================================  ===========================================================
``fuseboard_check_status{model,environment,check}``      ``CheckState.status`` of every deployment and check in
                                                         ``CHECKS`` (and any other stored): -1 none (no verdict yet,
                                                         or never run), 0 ok, 1 warn, 1.5 error (the check could
                                                         not run: between warn and crit, as ``Status`` orders
                                                         them), 2 crit. ``>= 1`` is warn or worse, ``>= 2`` crit
``fuseboard_drift_share{model,environment}``             the drift check's details: the share of the features it
                                                         scored that drifted (what the model's ``drift_share``
                                                         setting is compared with); absent without a drift verdict
``fuseboard_drifted_importance_share{...}``              the same details: the share of the model's permutation
                                                         importance that the drifted features carry (versions whose
                                                         importance was measured)
``fuseboard_performance{model,environment,metric}``      the performance check's details: each metric measured on
                                                         the labelled rows of its window
``fuseboard_performance_baseline{...,metric}``           the same details: the validation baseline each tolerated
                                                         metric was graded against
``fuseboard_probe_up{model,environment}``                the health check's details: 1 when the last probe got the
                                                         expected answer, else 0 (absent without an endpoint)
``fuseboard_probe_latency_seconds{...}``                 the same details: the last probe's latency (absent when it
                                                         got no answer)
``fuseboard_deployed_version_info{...,version}``         ``Deployment``: the version serving, always 1
``fuseboard_alerts_open{severity}``                      open alerts (firing or acknowledged) by severity; warn,
                                                         error and crit always present (0 when none)
``fuseboard_deployment_alerts_open{...,severity}``       the same per deployment, for those with open alerts
``fuseboard_ingested_rows_total{model,environment}``     ``WindowProfile.rows`` summed over every stored window of
                                                         the deployment, all versions (see below)
``fuseboard_feature_drift_score{...,feature,method}``    with ``per_feature`` only (a series per feature): each
                                                         feature's score in the latest drift check (a p-value for
                                                         ks, chisquare and ztest, lower is more drift; a distance
                                                         otherwise), and ``fuseboard_feature_drifted`` (1 or 0)
``fuseboard_monitor_leader``                             1 while the process serving the metrics holds the monitor
                                                         lease (its ``monitor.leading``); 0 otherwise, and always 0
                                                         without a monitor (``fuseboard metrics``)
``fuseboard_monitor_shards``                             with a monitor: how many of the 64 shards it holds
``fuseboard_monitor_cycle_duration_seconds{kind}``       with a monitor: ``Monitor.timings``, the latest cycle's
                                                         length per kind (health, drift, performance)
``fuseboard_monitor_last_success_timestamp_seconds{..}`` with a monitor: when a cycle of that kind last finished
                                                         well (Unix time; absent until one has)
``fuseboard_scrape_error``                               1 when this scrape could not read the workspace, else 0
``fuseboard_scrape_duration_seconds``                    how long this scrape took to read the workspace
=======================================================  ===========================================================

**Rows ingested.** No table records ingests as they happen (raw rows are never stored, and
``IngestedBatch`` keeps only labelled batches with request ids, to refuse repeats), so the counter is
the sum of ``WindowProfile.rows`` over the stored windows. Compaction into hourly and daily profiles
keeps that sum exactly; only ``fuseboard compact --delete-after`` lowers it, which Prometheus reads as
a counter reset (one spurious ``rate()`` spike). It is the one query whose cost grows with the history
kept rather than with the deployments, so the server runs it beside the others and waits for it at
most ``ROWS_WAIT`` seconds: a slower sum finishes in the background and the next scrapes report it
(a new one starts once the last is ten times its own duration old). ``fuseboard metrics`` waits for it.

**Errors.** A database error during a scrape does not stop the server: the scrape reports
``fuseboard_scrape_error 1`` with the monitor's metrics (which need no database), the workspace's are
absent, and the error is logged once until a scrape works again. ``write_textfile`` raises instead
and leaves the file it would have replaced as it was (node_exporter reports its age).

**Speed** (bench/metrics_scrape.py: 10,002 deployments, 200,000 samples, 17.7 MB of text, 1.3 MB
gzipped; an hour of windows each). A scrape over HTTP takes 0.6 to 0.8 s on two cores: reading the
workspace 0.5 s (the rows' sum 0.2 s of it, beside the rest), writing the text 0.3 s. prometheus_client's
own writer spends about 8 microseconds a sample (``generate_latest`` on ``registry``: 2.1 s), so the
server, ``scrape`` and the text file write it with ``exposition``; ``registry`` is for programs that
embed the families in prometheus_client. ``per_feature`` decodes every drift check's details and adds
500,000 samples: about 2 s.

One job per module: ``reading`` reads the workspace into the typed records (``WorkspaceMetrics``);
``text`` turns a reading into the metric families and writes them as Prometheus's text; ``serving``
answers scrapes (the HTTP server, ``scrape``, the text file and prometheus_client's registry).
"""

from fuseboard.monitoring.exporter.reading import (CHECKS, STATUS_VALUES, DeploymentMetrics, FeatureScore,
                                                   WorkspaceMetrics, _drift, _RowSums, drift_counts, read)
from fuseboard.monitoring.exporter.serving import (ROWS_WAIT, MetricsServer, Textfile, registry, scrape, serve,
                                                   write_textfile)
from fuseboard.monitoring.exporter.text import CONTENT_TYPE, Family, exposition, families

__all__ = ["CHECKS", "CONTENT_TYPE", "ROWS_WAIT", "STATUS_VALUES", "DeploymentMetrics", "Family", "FeatureScore",
           "MetricsServer", "Textfile", "WorkspaceMetrics", "exposition", "families", "read", "registry", "scrape",
           "serve", "write_textfile"]
# also here, outside __all__ as before: drift_counts, and _drift and _RowSums for the tests and the bench that
# probe them (tests/integration/test_metrics.py, bench/metrics_scrape.py)
