"""`monitor items mark`, `monitor import-translations`, `monitor reextract`, `monitor captures prune`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from monitor.commands.common import console, db_option, open_store, parse_since


def _targets(session: Any, ids: tuple[int, ...], source: tuple[str, ...], since: str | None) -> list[int]:
    """Article ids to mark: the given ids, else the bulk filter; one article per story."""
    from storage.queries import ArticleFilter, list_articles

    if not ids and not source and not since:
        raise click.UsageError("give article ids, or a bulk filter (--source / --since)")
    rows = list_articles(session, ArticleFilter(source_ids=source, since=parse_since(since), ids=ids))
    missing = set(ids) - {r.id for r in rows}
    if missing:
        raise click.ClickException(f"no article with id {', '.join(map(str, sorted(missing)))}")
    from monitor.workflow import story_key

    seen: dict[str, int] = {}
    for row in sorted(rows, key=lambda r: ids.index(r.id) if r.id in ids else r.id):
        seen.setdefault(story_key(row), row.id)
    return list(seen.values())


@click.command("mark")
@click.argument("ids", nargs=-1, type=int)
@click.option("--status", help="new, selected, in_translation, translated, published or rejected.")
@click.option("--note", help="Reviewer note kept in the audit trail.")
@click.option("--priority", type=int, help="Higher first.")
@click.option("--assignee", metavar="NAME", help="Who translates it.")
@click.option("--by", metavar="NAME", help="Who makes the change (default: $USER).")
@click.option("--source", multiple=True, metavar="ID", help="Bulk: every article of these sources.")
@click.option("--since", metavar="WHEN", help="Bulk: articles fetched since (7d, 24h, 2024-11-17).")
@db_option
def mark(
    ids: tuple[int, ...],
    status: str | None,
    note: str | None,
    priority: int | None,
    assignee: str | None,
    by: str | None,
    source: tuple[str, ...],
    since: str | None,
    db_url: str | None,
) -> None:
    """Set the translation status, priority, assignee or a note of articles (their whole story cluster).

    All changes happen together or not at all; each is recorded with who and when.

    Examples: monitor items mark 42 57 --status selected --note "lead story" --priority 2
              monitor items mark --source enab-baladi --since 1d --status rejected --note "sports"
    """
    from monitor.workflow import Change, WorkflowError, actor_name
    from monitor.workflow import mark as mark_article

    if status is None and note is None and priority is None and assignee is None:
        raise click.UsageError("nothing to change: give --status, --note, --priority or --assignee")
    change, actor = Change(status, note, priority, assignee), actor_name(by)
    store = open_store(db_url)
    try:
        with store.transaction() as session:
            targets = _targets(session, ids, source, since)
            events = [mark_article(session, article_id, change, actor) for article_id in targets]
            lines = [f"#{e.article_id}: {e.from_status} → {e.to_status}" for e in events]
    except WorkflowError as exc:
        raise click.ClickException(f"{exc}; nothing was changed") from None
    for line in lines:
        click.echo(line)
    click.echo(f"marked {len(lines)} stories (by {actor})", err=True)


@click.command("import-translations")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", metavar="NAME", help="Who imports (default: $USER).")
@db_option
def import_translations(file: Path, by: str | None, db_url: str | None) -> None:
    """Attach translated titles and texts (XLIFF 2 or JSONL keyed by article id) and mark them translated.

    Nothing changes unless every article id exists and every paragraph count matches.

    Example: monitor import-translations translated/article-42.xlf
    """
    from monitor.workflow import actor_name
    from monitor.xliff import TranslationFileError
    from monitor.xliff import import_translations as run_import

    store = open_store(db_url)
    try:
        with store.transaction() as session:
            done = run_import(session, file, actor_name(by))
    except TranslationFileError as exc:
        raise click.ClickException(f"{exc}\nnothing was imported") from None
    for t in done:
        click.echo(f"#{t.article_id}: {t.language} translation attached, status translated")
    click.echo(f"imported {len(done)} translations from {file}", err=True)


def _show(value: Any) -> str:
    """A short printable value for the change report."""
    text = value.isoformat() if hasattr(value, "isoformat") else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "…"


@click.command("reextract")
@click.option("--source", multiple=True, metavar="ID", help="Only these sources (repeatable).")
@click.option("--since", metavar="WHEN", help="Articles fetched since: 7d, 24h, or an ISO date.")
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per changed article.")
@db_option
def reextract_cmd(
    source: tuple[str, ...], since: str | None, dry_run: bool, as_json: bool, db_url: str | None
) -> None:
    """Rebuild articles from their raw captures with the current extractor (no network); report the changes.

    Changed texts are kept as revisions, as when an outlet edits a story.

    Example: monitor reextract --source enab-baladi --since 30d --dry-run
    """
    from monitor.reextract import reextract

    store = open_store(db_url)
    seen = changed = 0
    for change in reextract(store, parse_since(since), source, dry_run=dry_run):
        seen += 1
        if not change.changes and not change.not_article:
            continue
        changed += 1
        if as_json:
            data = {"id": change.article_id, "url": change.url, "revision": change.revision}
            data |= {
                "not_article": change.not_article,
                "changes": {k: list(v) for k, v in change.changes.items()},
            }
            click.echo(json.dumps(data, ensure_ascii=False, default=str))
            continue
        console.print(f"[bold]#{change.article_id}[/bold] {change.url}", markup=True)
        if change.not_article:
            console.print(f"  now not an article ({change.not_article}); left unchanged", markup=False)
        for name, (old, new) in change.changes.items():
            console.print(f"  {name}: {_show(old)} → {_show(new)}", markup=False)
    verb = "would change" if dry_run else "changed"
    click.echo(f"re-extracted {seen} articles from captures; {verb} {changed}", err=True)


@click.group()
def captures() -> None:
    """Raw captures of fetched pages."""


@captures.command("prune")
@click.option("--older-than", metavar="AGE", help="e.g. 90d (default: $MONITOR_CAPTURE_RETENTION).")
@db_option
def prune_cmd(older_than: str | None, db_url: str | None) -> None:
    """Delete captures fetched longer ago than AGE; their articles stay but cannot be re-extracted.

    Example: monitor captures prune --older-than 90d
    """
    from monitor import captures as caps
    from monitor.config import format_duration, parse_duration

    try:
        age = parse_duration(older_than) if older_than else caps.retention()
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--older-than") from None
    if age is None:
        raise click.UsageError(f"give --older-than or set {caps.RETENTION_ENV}")
    click.echo(f"pruned {caps.prune(open_store(db_url), age)} captures older than {format_duration(age)}")


@captures.command("stats")
@db_option
def stats_cmd(db_url: str | None) -> None:
    """How many captures are kept and how much space they take.

    Example: monitor captures stats
    """
    from monitor import captures as caps

    with open_store(db_url).sessions() as session:
        count, raw, stored = caps.capture_stats(session)
    ratio = f", {raw / stored:.1f}× smaller" if stored else ""
    click.echo(f"{count} captures, {raw / 1e6:.1f} MB fetched, {stored / 1e6:.1f} MB stored{ratio}")
