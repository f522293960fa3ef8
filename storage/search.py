"""Full-text search over article titles and bodies, native on each backend.

SQLite: an FTS5 external-content table `articles_fts` (rowid = `articles.id`) kept in sync by three triggers.
PostgreSQL: a GIN expression index on `to_tsvector('simple', title || ' ' || text)` queried with
`websearch_to_tsquery`. The 'simple' configuration and FTS5's unicode61 tokenizer neither stem nor drop stop
words, which is what Arabic, Persian, Turkish and Hebrew need from a language-agnostic index.

`ensure_fulltext(engine)` is idempotent; the same statements (`SQLITE_DDL`, `POSTGRES_DDL`) go into the Alembic
migration.
"""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, Engine, bindparam, func, inspect, literal_column, select, text
from sqlalchemy.orm import Session

from storage.models import ArticleRow

# Token characters: letters, numbers, private use (the unicode61 default) plus combining marks, so Arabic
# harakat and Hebrew niqqud stay inside their word instead of splitting it (SQLite FTS5 docs, "categories").
FTS5_TOKENIZE = "unicode61 remove_diacritics 2 categories 'L* N* Co Mn Mc'"

SQLITE_DDL: tuple[str, ...] = (
    f"""CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5(
    title, text, content='articles', content_rowid='id', tokenize="{FTS5_TOKENIZE}")""",
    """CREATE TRIGGER IF NOT EXISTS articles_fts_ai AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
END""",
    """CREATE TRIGGER IF NOT EXISTS articles_fts_ad AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);
END""",
    """CREATE TRIGGER IF NOT EXISTS articles_fts_au AFTER UPDATE OF title, text ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);
    INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
END""",
)
# Indexes the rows that existed before the table did (run once, right after creating it).
SQLITE_REBUILD = "INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')"

# The indexed expression; queries must repeat it verbatim for the planner to use the index.
POSTGRES_DOCUMENT = "to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(text, ''))"
POSTGRES_DDL: tuple[str, ...] = (
    f"CREATE INDEX IF NOT EXISTS ix_articles_fulltext ON articles USING gin ({POSTGRES_DOCUMENT})",
)

# Search-box syntax of PostgreSQL's websearch_to_tsquery: "a phrase", -excluded, OR; plus FTS5's `word*` prefix.
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
# A search-box word: a run of anything but white space, double quotes and stars.
_WORD = re.compile(r'[^\s"*]+')


def _fts5_term(text: str, prefix: bool) -> str | None:
    """One quoted FTS5 phrase (no operator can be injected), or None when nothing is left to search."""
    words = _WORD.findall(text)
    return f'"{" ".join(words)}"' + ("*" if prefix else "") if words else None


def _fts5_groups(query: str) -> list[tuple[list[str], list[str]]]:
    """The query as OR-separated groups of (required, excluded) FTS5 phrases."""
    groups: list[tuple[list[str], list[str]]] = [([], [])]
    for m in _TOKEN.finditer(query):
        neg, phrase, word = m.group(1) == "-", m.group(2), m.group(3)
        if word == "OR":
            groups.append(([], []))
            continue
        if word is not None:
            neg, phrase = word.startswith("-") and len(word) > 1, word.removeprefix("-")
        term = _fts5_term(phrase or "", prefix=word is not None and word.endswith("*"))
        if term:
            groups[-1][1 if neg else 0].append(term)
    return groups


def fts5_query(query: str) -> str:
    """websearch_to_tsquery-style text as an FTS5 query: `a b` AND, `OR`, `-x` NOT x, `"a b"` phrase, `ab*`."""
    parts = [
        " ".join(required) + "".join(f" NOT {t}" for t in excluded)
        for required, excluded in _fts5_groups(query)
        if required  # a group of exclusions alone cannot be said in FTS5 (NOT needs a left side)
    ]
    return " OR ".join(parts)


def ensure_fulltext(engine: Engine) -> None:
    """Create the backend's full-text index if missing (SQLite also indexes existing rows once)."""
    with engine.begin() as conn:
        if not inspect(conn).has_table("articles"):
            raise RuntimeError(
                f"{engine.url!r}: no articles table; create the schema before the full-text index"
            )
        if engine.dialect.name == "sqlite":
            exists = conn.scalar(text("SELECT 1 FROM sqlite_master WHERE name = 'articles_fts'"))
            for statement in SQLITE_DDL:
                conn.exec_driver_sql(statement)
            if not exists:
                conn.exec_driver_sql(SQLITE_REBUILD)
        elif engine.dialect.name == "postgresql":
            for statement in POSTGRES_DDL:
                conn.exec_driver_sql(statement)
        else:
            raise NotImplementedError(f"full-text search: unsupported database {engine.dialect.name!r}")


def match_condition(dialect: str, query: str) -> ColumnElement[bool]:
    """A WHERE condition on `articles` that is true for rows matching the free-text query."""
    if dialect == "sqlite":
        hits = text("SELECT rowid FROM articles_fts WHERE articles_fts MATCH :fts_q").bindparams(
            fts_q=fts5_query(query)
        )
        return ArticleRow.id.in_(hits.columns(literal_column("rowid")))
    if dialect == "postgresql":
        tsquery = func.websearch_to_tsquery("simple", bindparam("ts_q", query))
        return literal_column(POSTGRES_DOCUMENT).bool_op("@@")(tsquery)
    raise NotImplementedError(f"full-text search: unsupported database {dialect!r}")


def searchable(query: str) -> bool:
    """Whether the query has at least one word to look for."""
    return bool(fts5_query(query))


def search_ids(session: Session, query: str, limit: int = 100) -> list[int]:
    """Ids of the articles matching the query, best match first (FTS5 bm25 rank / ts_rank)."""
    if not searchable(query):
        return []
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        stmt = text(
            "SELECT rowid FROM articles_fts WHERE articles_fts MATCH :q ORDER BY rank, rowid DESC LIMIT :n"
        )
        return list(session.scalars(stmt, {"q": fts5_query(query), "n": limit}))
    tsquery = func.websearch_to_tsquery("simple", query)
    rank = func.ts_rank(literal_column(POSTGRES_DOCUMENT), tsquery)
    rows = select(ArticleRow.id).where(match_condition(dialect, query))
    return list(session.scalars(rows.order_by(rank.desc(), ArticleRow.id.desc()).limit(limit)))
