"""The `monitor` command line: one click group, a subcommand per task, each with an example in its help."""

from __future__ import annotations

import click

from monitor.alerts.cli import alerts, watch
from monitor.commands.clusters import clusters
from monitor.commands.crawl import crawl, demo
from monitor.commands.db import db, init
from monitor.commands.items import export, extract, items
from monitor.commands.run import run
from monitor.commands.serve import serve
from monitor.commands.sources import sources
from monitor.commands.worker import worker
from monitor.commands.workflow import captures, import_translations, mark, reextract_cmd


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="monitor")
def cli() -> None:
    """Media monitoring for regional news outlets: poll feeds, extract articles with attribution,
    deduplicate, store, alert.

    Start with `monitor demo`, then `monitor crawl --sources sources.yaml`.
    """


items.add_command(mark)
for command in (
    demo,
    init,
    crawl,
    run,
    sources,
    items,
    clusters,
    export,
    import_translations,
    extract,
    reextract_cmd,
    captures,
    watch,
    alerts,
    serve,
    db,
    worker,
):
    cli.add_command(command)


def main() -> None:
    """Console-script entry point."""
    cli()
