"""`monitor items list|show`, `monitor export` and `monitor extract`: the first review and hand-off tools."""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from monitor.commands.common import console, db_option, json_option, open_store, parse_since, print_json
from monitor.urls import UnsupportedURL, check_fetchable

# `monitor extract URL` refuses pages larger than the crawler's DOWNLOAD_MAXSIZE.
MAX_PAGE_BYTES = 32 * 1024 * 1024


def _filter(source: tuple[str, ...], language: tuple[str, ...], since: str | None, limit: int | None) -> Any:
    """An ArticleFilter from CLI options."""
    from storage.queries import ArticleFilter

    return ArticleFilter(tuple(source), tuple(language), parse_since(since), limit)


filter_options = [
    click.option("--source", multiple=True, metavar="ID", help="Only these sources (repeatable)."),
    click.option(
        "--language", multiple=True, metavar="CODE", help="Only these languages, e.g. ar (repeatable)."
    ),
    click.option("--since", metavar="WHEN", help="Fetched since: 7d, 24h, or an ISO date (2024-11-17)."),
]


def with_filters(func: Any) -> Any:
    """Attach the shared filter options."""
    for option in reversed(filter_options):
        func = option(func)
    return func


@click.group()
def items() -> None:
    """Review stored articles."""


@items.command("list")
@db_option
@with_filters
@click.option("--limit", type=int, default=50, show_default=True, help="At most this many rows (0: all).")
@json_option
def list_items(
    db_url: str | None,
    source: tuple[str, ...],
    language: tuple[str, ...],
    since: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Stored articles, newest first.

    Example: monitor items list --source enab-baladi --since 24h --language ar
    """
    from monitor.export import export_records

    store = open_store(db_url)
    with store.sessions() as session:
        records = list(export_records(session, _filter(source, language, since, limit or None)))
    if as_json:
        print_json([{k: v for k, v in r.items() if k != "text"} for r in records])
        return
    table = Table(title=f"{len(records)} articles")
    for column in ("id", "published", "source", "lang", "title", "original source"):
        table.add_column(column, overflow="fold")
    for r in records:
        published = (r["published_at"] or r["fetched_at"] or "")[:16].replace("T", " ")
        table.add_row(
            str(r["id"]),
            published,
            r["source_id"],
            r["language"] or "-",
            r["title"] or "-",
            r["original_source"] or "-",
        )
    console.print(table)


@items.command("show")
@click.argument("article_id", type=int)
@db_option
@json_option
def show_item(article_id: int, db_url: str | None, as_json: bool) -> None:
    """Full text and metadata of one article, with the other members of its story cluster.

    Example: monitor items show 42
    """
    from monitor.export import export_records
    from storage.models import ArticleRow
    from storage.queries import ArticleFilter, cluster_members_brief

    store = open_store(db_url)
    with store.sessions() as session:
        row = session.get(ArticleRow, article_id)
        if row is None:
            raise click.ClickException(f"no article with id {article_id}")
        record = next(export_records(session, ArticleFilter(ids=(article_id,))))
        members = cluster_members_brief(session, row.cluster_id, exclude=article_id) if row.cluster_id else []
    record["cluster_members"] = members
    if as_json:
        print_json(record)
        return
    _print_record(record)


def _print_record(record: dict[str, Any]) -> None:
    """Human-readable article."""
    console.rule(record["title"] or "(no title)")
    for key in (
        "id",
        "url",
        "source_name",
        "published_at",
        "modified_at",
        "language",
        "authors",
        "original_source",
        "agency",
        "translator",
        "tags",
        "feed_urls",
        "aliases",
        "cluster_id",
        "revision",
    ):
        value = record.get(key)
        if value not in (None, [], ""):
            console.print(f"[bold]{key}[/bold]: {', '.join(value) if isinstance(value, list) else value}")
    if record.get("lede"):
        console.print(f"\n[italic]{record['lede']}[/italic]")
    console.print("\n" + (record["text"] or ""), markup=False)
    for note in record.get("notes") or []:
        console.print(f"\n[dim]note: {note}[/dim]")
    for member in record.get("cluster_members") or []:
        console.print(f"[bold]same story[/bold]: #{member['id']} {member['source_id']} — {member['title']}")


@click.command()
@click.option("--format", "fmt", type=click.Choice(["jsonl", "xliff"]), default="jsonl", show_default=True)
@db_option
@with_filters
@click.option("--status", metavar="STATUS", help="Only stories at this workflow status, e.g. selected.")
@click.option(
    "--output", "-o", type=click.Path(writable=True), help="File or, for XLIFF per article, directory."
)
@click.option(
    "--per",
    type=click.Choice(["article", "batch"]),
    default="article",
    show_default=True,
    help="XLIFF: one file per article (in the --output directory) or one file for the whole batch.",
)
@click.option("--target-lang", metavar="CODE", help="XLIFF trgLang, e.g. en (translators may set it).")
def export(
    fmt: str,
    db_url: str | None,
    source: tuple[str, ...],
    language: tuple[str, ...],
    since: str | None,
    status: str | None,
    output: str | None,
    per: str,
    target_lang: str | None,
) -> None:
    """Write stored articles for translation: JSON Lines (fields in the README) or XLIFF 2.0.

    Examples: monitor export --format jsonl --since 7d --output week.jsonl
              monitor export --format xliff --status selected --output to-translate/
    """
    from monitor.export import export_records, write_jsonl

    store = open_store(db_url)
    with store.sessions() as session:
        flt = _export_filter(session, source, language, since, status)
        records = export_records(session, flt) if flt is not None else iter(())
        if fmt == "xliff":
            count, written = _write_xliff(list(records), output, per, target_lang)
            click.echo(f"exported {count} articles to {written} XLIFF files", err=True)
            return
        if output:
            tmp = Path(output).with_suffix(Path(output).suffix + ".part")
            with open(tmp, "w", encoding="utf-8") as out:
                count = write_jsonl(records, out)
            tmp.replace(output)  # a reader never sees a half-written export
        else:
            count = write_jsonl(records, sys.stdout)
    click.echo(f"exported {count} articles" + (f" to {output}" if output else ""), err=True)


def _export_filter(
    session: Any, source: tuple[str, ...], language: tuple[str, ...], since: str | None, status: str | None
) -> Any:
    """The export filter; with --status, only the chosen copies of stories at that status (None: nothing)."""
    flt = _filter(source, language, since, None)
    if status is None:
        return flt
    from dataclasses import replace

    from monitor.workflow import WorkflowError, chosen_articles

    try:
        ids = chosen_articles(session, status)
    except WorkflowError as exc:
        raise click.BadParameter(str(exc), param_hint="--status") from None
    return replace(flt, ids=tuple(ids)) if ids else None


def _atomic_write(path: Path, data: bytes) -> None:
    """Write via a .part file so a reader never sees half a file."""
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)


def _write_xliff(
    records: list[dict[str, Any]], output: str | None, per: str, trg: str | None
) -> tuple[int, int]:
    """XLIFF files for the records: (articles, files written)."""
    from monitor.xliff import build_document, to_bytes

    if not output:
        raise click.UsageError("--format xliff needs --output (a directory, or a file with --per batch)")
    if per == "batch":
        langs = sorted({r["language"] or "und" for r in records})
        if len(langs) > 1:
            raise click.ClickException(
                f"articles in {len(langs)} languages ({', '.join(langs)}): one XLIFF file has one source "
                "language; add --language or use --per article"
            )
        if records:
            _atomic_write(Path(output), to_bytes(build_document(records, langs[0], trg)))
        return len(records), int(bool(records))
    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    for r in records:
        _atomic_write(
            folder / f"article-{r['id']}.xlf", to_bytes(build_document([r], r["language"] or "und", trg))
        )
    return len(records), len(records)


def _read_page(path_or_url: str) -> tuple[bytes, str | None, str]:
    """(bytes, header charset, URL) of a local file or an http(s) page."""
    if Path(path_or_url).exists():
        return Path(path_or_url).read_bytes(), None, Path(path_or_url).resolve().as_uri()
    try:
        url = check_fetchable(path_or_url)
    except UnsupportedURL as exc:
        raise click.ClickException(f"{path_or_url}: not a file here and not an http(s) URL ({exc})") from None
    request = urllib.request.Request(url, headers={"User-Agent": "monitor-extract (+debugging one page)"})
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read(MAX_PAGE_BYTES + 1)
        if len(body) > MAX_PAGE_BYTES:
            raise click.ClickException(f"{url}: page larger than {MAX_PAGE_BYTES} bytes")
        return body, response.headers.get_content_charset(), response.url


@click.command()
@click.argument("path_or_url")
@click.option("--url", "page_url", help="The page's real URL when extracting a saved file.")
@click.option(
    "--timezone", "tz", help="The outlet's time zone for dates without an offset, e.g. Asia/Damascus."
)
@json_option
def extract(path_or_url: str, page_url: str | None, tz: str | None, as_json: bool) -> None:
    """Run the article extractor on one page and print the result: how to debug an outlet.

    Example: monitor extract saved-page.html --url https://www.enabbaladi.net/archives/123 --json
    """
    from zoneinfo import ZoneInfo

    from monitor.extract import extract_article

    body, charset, fetched_url = _read_page(path_or_url)
    article = extract_article(
        body, page_url or fetched_url, default_tz=ZoneInfo(tz) if tz else None, headers_charset=charset
    )
    data = article.to_dict()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    _print_record({**data, "id": None, "source_name": None, "feed_urls": [], "aliases": []})
