"""`monitor clusters list|show`: stories carried by several outlets, with where each was seen first."""

from __future__ import annotations

import click
from rich.table import Table

from monitor.commands.common import console, db_option, json_option, open_store, parse_since, print_json


@click.group()
def clusters() -> None:
    """Story clusters: copies of one story across outlets (near-duplicates grouped by dedup)."""


@clusters.command("list")
@db_option
@click.option("--since", metavar="WHEN", help="First seen after this: 24h, 7d, or an ISO date.")
@click.option("--min-size", type=int, default=2, show_default=True, help="Only clusters of this many copies.")
@click.option("--limit", type=int, default=50, show_default=True, help="At most this many rows (0: all).")
@json_option
def list_clusters_cmd(
    db_url: str | None, since: str | None, min_size: int, limit: int, as_json: bool
) -> None:
    """Story clusters, newest first: size, the first-seen copy and the outlets that carried it.

    Example: monitor clusters list --since 7d --min-size 3
    """
    from storage.queries import list_clusters

    store = open_store(db_url)
    with store.sessions() as session:
        rows = list_clusters(session, parse_since(since), max(min_size, 1), limit or None)
    if as_json:
        print_json([row.to_dict() for row in rows])
        return
    table = Table(title=f"{len(rows)} story clusters")
    for column in ("id", "size", "first seen", "first source", "title", "sources"):
        table.add_column(column, overflow="fold")
    for row in rows:
        first = row.first_seen_at.isoformat(timespec="minutes")
        table.add_row(str(row.id), str(row.size), first, row.first_source_id, row.title or "-",
                      ", ".join(row.sources))  # fmt: skip
    console.print(table)


@clusters.command("show")
@click.argument("cluster_id", type=int)
@db_option
@json_option
def show_cluster(cluster_id: int, db_url: str | None, as_json: bool) -> None:
    """Every copy of one story: article id, source, title, URL and fetch time, first-seen copy marked.

    Example: monitor clusters show 12
    """
    from storage.models import StoryCluster
    from storage.queries import cluster_members_brief

    store = open_store(db_url)
    with store.sessions() as session:
        cluster = session.get(StoryCluster, cluster_id)
        if cluster is None:
            raise click.ClickException(f"no story cluster with id {cluster_id}")
        first_id = cluster.first_article_id
        members = cluster_members_brief(session, cluster_id)
    for member in members:
        member["first_seen"] = member["id"] == first_id
    if as_json:
        print_json({"id": cluster_id, "size": len(members), "members": members})
        return
    table = Table(title=f"story cluster {cluster_id}: {len(members)} copies")
    for column in ("article", "first", "source", "fetched", "title", "url"):
        table.add_column(column, overflow="fold")
    for m in members:
        table.add_row(str(m["id"]), "*" if m["first_seen"] else "", m["source_id"], m["fetched_at"][:16],
                      m["title"] or "-", m["url"])  # fmt: skip
    console.print(table)
