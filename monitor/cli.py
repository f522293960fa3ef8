"""The `monitor` command line: one click group, a subcommand per task, each with an example in its help."""

from __future__ import annotations

import click

from monitor.commands.crawl import crawl, demo
from monitor.commands.items import export, extract, items
from monitor.commands.run import run
from monitor.commands.sources import sources


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="monitor")
def cli() -> None:
    """Media monitoring for regional news outlets: poll feeds, extract articles with attribution,
    deduplicate, store, alert.

    Start with `monitor demo`, then `monitor crawl --sources sources.yaml`.
    """


for command in (demo, crawl, run, sources, items, export, extract):
    cli.add_command(command)


def main() -> None:
    """Console-script entry point."""
    cli()
