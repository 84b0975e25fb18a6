"""``metrics``: the workspace's Prometheus metrics, printed or written for node_exporter's textfile collector
(``fuseboard monitor --metrics-port`` serves the same over HTTP)."""

from __future__ import annotations

from pathlib import Path

import click

from fuseboard.cli.base import Context, pass_ctx
from fuseboard.text import visible


@click.command("metrics")
@click.option("--textfile", type=click.Path(path_type=Path), metavar="PATH",
              help="Write them to PATH (atomically: a temporary file renamed into place) instead of printing "
                   "them; node_exporter's textfile collector reads *.prom files.")
@click.option("--per-feature", is_flag=True,
              help="Also each feature's drift score per deployment (a series per feature: many more).")
@pass_ctx
def metrics_cmd(ctx: Context, textfile: Path | None, per_feature: bool) -> None:
    """Print the workspace's Prometheus metrics, or write them to a file for node_exporter (--textfile).

    Check statuses, drift share, performance against its baseline, probes, deployed versions, open
    alerts and rows ingested, per model and environment, in Prometheus's text format; the same as
    `fuseboard monitor --metrics-port` serves, without the monitor's own. Run it from cron with
    --textfile into node_exporter's --collector.textfile.directory: a scrape reads the old file or
    the new one, never part of one, and a failed run leaves the old file (its age shows it).
    Nothing is written to the workspace.
    """
    from fuseboard.monitoring import exporter

    ws = ctx.readable()
    if textfile is None:
        click.echo(exporter.scrape(ws, per_feature=per_feature), nl=False)
        return
    written = exporter.write_textfile(ws, textfile, per_feature=per_feature)
    click.echo(visible(f"wrote {written.samples:,} samples for {written.deployments:,} deployments to "
                       f"{written.path} ({written.bytes:,} bytes)"))
    if not written.path.name.endswith(".prom"):
        click.echo(visible(f"warning: node_exporter's textfile collector reads only files named *.prom, not "
                           f"{written.path.name}"), err=True)
