"""Dedup benchmark: near-duplicate quality on labelled pairs, and lookup+insert cost at scale.

Usage:
    python benchmarks/dedup.py CORPUS_DIR [--scale 10000,100000,1000000] [--samples 1000] [--db PATH]
                                          [--skip-quality]

CORPUS_DIR is the evaluation corpus (`../shared/eval`): the real duplicate page pairs of `dedup/page_pairs.tsv`,
and the gold article bodies of `aeb/` and `newspaper4k_article_dataset/`, from which the benchmark builds edited
copies (boilerplate, reordered/dropped/added paragraphs, changed headline, edited words, translation note) and
hard negatives (different articles of one outlet sharing its template, short items sharing a stock paragraph).
Each pair goes through the real code path: both texts are stored in an in-memory SQLite database and clustered
with `assign_cluster` (rolled back after each pair); a pair is "merged" when both end in one cluster.

The scale part fills a SQLite file with synthetic fingerprints level by level (bulk executemany in a child
process, real fingerprint functions) and times single operations at each level through the project's engine;
see `scale` for the modes. Peak memory is this process' VmHWM; the fill runs in a child process.
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import os
import random
import sqlite3
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations, pairwise
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import storage.dedup_models  # noqa: F401  (registers the dedup tables on Base.metadata)
from monitor import dedup
from monitor.dedup.fingerprint import band_hashes, combine_shingles, minhash, token_hash
from storage.db import BackgroundCheckpoints, make_engine, make_sessionmaker
from storage.models import ArticleRow, Base, Source, StoryCluster

SEED = 20241117
# Outlet furniture that extraction sometimes keeps (written for this benchmark).
BOILERPLATE = [
    "Subscribe to our daily newsletter to get the top stories of the day delivered to your inbox every morning.",
    "Follow us on Twitter, Facebook and Telegram for the latest updates, and download our app for breaking "
    "news alerts.",
    "All rights reserved. This material may not be published, broadcast, rewritten or redistributed without "
    "prior written permission.",
    "Read more: the full coverage of this story and related analysis is available on our website.",
    "Advertisement. Continue reading the main story below.",
    "Share this article. Copy link. Comments are closed for this story.",
]
TRANSLATION_NOTES = [
    "This article was translated from Arabic by our editorial team and first appeared in the partner outlet.",
    "Translated from Persian. The original version of this report was published by our sister newspaper.",
    "This story originally appeared in Turkish and has been edited for length and clarity.",
]
STOCK_PARAGRAPH = (
    "The agency is an independent news organisation founded in 1998. It publishes reports in six languages "
    "and relies on a network of correspondents across the region. Our journalists follow a strict code of "
    "ethics and corrections are published on this page when errors are found."
)
# Replacement words for "a few words edited".
FILLER = "officials said the measure would take effect next month after a vote while critics warned".split()  # noqa: SIM905


@dataclass(frozen=True)
class Doc:
    """One gold article of the corpus."""

    id: str
    domain: str
    title: str
    paragraphs: list[str]


@dataclass(frozen=True)
class Pair:
    """Two texts and whether they are the same story."""

    kind: str
    same: bool
    text_a: str
    text_b: str


def load_docs(corpus: Path) -> list[Doc]:
    """Gold bodies of AEB and the newspaper4k dataset, split into paragraphs."""
    docs = []
    aeb = json.loads((corpus / "aeb/ground-truth.json").read_text())
    n4k = json.loads((corpus / "newspaper4k_article_dataset/articles.json").read_text())
    for key, value in [*aeb.items(), *n4k.items()]:
        paragraphs = [p.strip() for p in value["articleBody"].split("\n") if p.strip()]
        host = (urlsplit(value.get("url") or "").hostname or key).removeprefix("www.")
        docs.append(Doc(str(key), host, value.get("title") or "", paragraphs))
    return [d for d in docs if d.paragraphs]


def _edit_words(text: str, rng: random.Random, share: float) -> str:
    """Replace a share of the words by other words (typos, house style, a changed figure)."""
    tokens = text.split()
    for i in rng.sample(range(len(tokens)), max(1, int(len(tokens) * share))):
        tokens[i] = rng.choice(FILLER)
    return " ".join(tokens)


def _drop(paragraphs: list[str], rng: random.Random) -> list[str]:
    """Drop one paragraph that is not the first (at most a fifth of the words)."""
    if len(paragraphs) < 3:
        return paragraphs
    total = sum(len(p.split()) for p in paragraphs)
    droppable = [i for i, p in enumerate(paragraphs) if i and len(p.split()) <= total / 5]
    if not droppable:
        return paragraphs
    gone = rng.choice(droppable)
    return [p for i, p in enumerate(paragraphs) if i != gone]


def _reorder(paragraphs: list[str], rng: random.Random) -> list[str]:
    """Move two paragraphs to other places."""
    out = list(paragraphs)
    for _ in range(2):
        if len(out) > 2:
            out.insert(rng.randrange(len(out)), out.pop(rng.randrange(len(out))))
    return out


def edits(doc: Doc, other: Doc, rng: random.Random) -> Iterator[tuple[str, list[str]]]:
    """Realistic edited copies of a document (kind, paragraphs)."""
    p = doc.paragraphs
    boiler = rng.sample(BOILERPLATE, 2)
    yield "boilerplate", [boiler[0], *p, boiler[1]]
    yield "reordered", _reorder(p, rng)
    yield "paragraph_dropped", _drop(p, rng)
    yield "headline_changed+words_edited", [_edit_words(x, rng, 0.02) for x in p]
    yield "translation_note", [*p, rng.choice(TRANSLATION_NOTES)]
    yield "paragraph_added", [*p[:1], " ".join(other.paragraphs[0].split()[:60]), *p[1:]]
    yield "syndicated_combo", [boiler[0], *_drop(p, rng), rng.choice(TRANSLATION_NOTES), boiler[1]]


def positive_pairs(docs: list[Doc], rng: random.Random) -> Iterator[Pair]:
    """Each document against its edited copies."""
    for i, doc in enumerate(docs):
        other = docs[(i + 7) % len(docs)]
        for kind, paragraphs in edits(doc, other, rng):
            yield Pair(kind, True, "\n\n".join(doc.paragraphs), "\n\n".join(paragraphs))
        if len(" ".join(doc.paragraphs).split()) >= 80:
            yield Pair(
                "short_copy_80_words+boilerplate",
                True,
                _short(doc, 80),
                f"{_short(doc, 80)}\n\n{BOILERPLATE[i % 6]}",
            )


def _short(doc: Doc, words: int) -> str:
    """The first `words` words of a document."""
    return " ".join(" ".join(doc.paragraphs).split()[:words])


def negative_pairs(docs: list[Doc], rng: random.Random) -> Iterator[Pair]:
    """Hard negatives: one outlet's template around different stories, and short items sharing stock text."""
    by_domain: dict[str, list[Doc]] = defaultdict(list)
    for doc in docs:
        by_domain[doc.domain].append(doc)
    for group in by_domain.values():
        footer = "\n\n".join(rng.sample(BOILERPLATE, 3))
        for a, b in combinations(group, 2):
            yield Pair("same_outlet_template", False, "\n\n".join([*a.paragraphs, footer]),
                       "\n\n".join([*b.paragraphs, footer]))  # fmt: skip
    for a, b in pairwise(docs):
        yield Pair("short_items_stock_paragraph", False, f"{_short(a, 45)}\n\n{STOCK_PARAGRAPH}",
                   f"{_short(b, 45)}\n\n{STOCK_PARAGRAPH}")  # fmt: skip
        yield Pair("short_items_mostly_stock_paragraph", False, f"{_short(a, 18)}\n\n{STOCK_PARAGRAPH}",
                   f"{_short(b, 18)}\n\n{STOCK_PARAGRAPH}")  # fmt: skip
        yield Pair("short_item_vs_article_stock_paragraph", False, f"{_short(a, 30)}\n\n{STOCK_PARAGRAPH}",
                   "\n\n".join([*b.paragraphs, STOCK_PARAGRAPH]))  # fmt: skip


def real_pairs(corpus: Path) -> Iterator[Pair]:
    """The corpus' pages saved twice (tracking parameters, http/https, archive copy, stripped meta)."""
    import trafilatura

    lines = (corpus / "dedup/page_pairs.tsv").read_text().splitlines()[1:]
    for line in lines:
        file_a, file_b, _, _, relation, *_ = line.split("\t")
        texts = [trafilatura.extract(gzip.decompress((corpus / "dedup" / f).read_bytes()).decode("utf-8", "replace"))
                 for f in (file_a, file_b)]  # fmt: skip
        yield Pair(f"real_page_pair ({relation.split()[0]})", True, texts[0] or "", texts[1] or "")


def _store(session: Session, text: str, n: int) -> ArticleRow:
    """Insert an article row with this text (flushed, not yet clustered)."""
    url = f"https://bench.example/{n}"
    row = ArticleRow(source_id="bench", canonical_url=url, url=url, title=f"headline {n}", text=text,
                     content_hash=dedup.content_hash(f"headline {n}", text), extractor_version="bench")  # fmt: skip
    session.add(row)
    session.flush()
    return row


def merged(sessions: sessionmaker[Session], pair: Pair) -> bool:
    """Store both texts, cluster them, and tell whether they share a cluster (all rolled back)."""
    with sessions() as session:
        session.begin()
        a, b = _store(session, pair.text_a, 1), _store(session, pair.text_b, 2)
        same = dedup.assign_cluster(session, a) == dedup.assign_cluster(session, b)
        session.rollback()
        return same


def quality(corpus: Path) -> None:
    """Pairwise precision/recall through `assign_cluster` on labelled pairs; prints a table."""
    engine = make_engine("sqlite://")
    Base.metadata.create_all(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        session.add(Source(id="bench", name="Bench", language="en"))
    docs, rng = load_docs(corpus), random.Random(SEED)
    pairs = [*real_pairs(corpus), *positive_pairs(docs, rng), *negative_pairs(docs, rng)]
    counts: dict[tuple[str, bool], list[int]] = defaultdict(lambda: [0, 0])
    for pair in pairs:
        counts[(pair.kind, pair.same)][0] += merged(sessions, pair)
        counts[(pair.kind, pair.same)][1] += 1
    print(f"\n{'pair kind':<48} {'label':<10} {'merged':>7} {'pairs':>6}")
    for (kind, same), (hits, total) in sorted(counts.items(), key=lambda kv: (not kv[0][1], kv[0][0])):
        print(f"{kind:<48} {'same' if same else 'different':<10} {hits:>7} {total:>6}")
    tp = sum(h for (_, same), (h, _) in counts.items() if same)
    pos = sum(t for (_, same), (_, t) in counts.items() if same)
    fp = sum(h for (_, same), (h, _) in counts.items() if not same)
    print(f"\nprecision {tp / max(1, tp + fp):.4f}  recall {tp / pos:.4f}  hard-negative merges {fp}"
          f"  ({pos} duplicate pairs, {len(pairs) - pos} hard negatives)")  # fmt: skip


# -- scale ------------------------------------------------------------------------------------------------------

SYNTH_VOCAB = 30_000
SYNTH_WORDS = (120, 220)
FILL_CHUNK = 20_000
FILL_PART = 2_000
EPOCH = "2024-01-01 00:00:00.000000"


@lru_cache(maxsize=1)
def _zipf_cdf() -> np.ndarray:
    """Cumulative Zipf distribution over the synthetic vocabulary (news text is Zipf-distributed)."""
    weights = 1 / np.arange(1, SYNTH_VOCAB + 1)
    return np.cumsum(weights) / weights.sum()


def synthetic_text(n: int) -> str:
    """A reproducible synthetic article of 120-220 Zipf-distributed words, in paragraphs."""
    rng = np.random.default_rng(n)
    ranks = np.searchsorted(_zipf_cdf(), rng.random(int(rng.integers(*SYNTH_WORDS))))
    tokens = [f"w{t}" for t in ranks.tolist()]
    return "\n\n".join(" ".join(tokens[i : i + 40]) for i in range(0, len(tokens), 40))


@lru_cache(maxsize=1)
def _vocab_hashes() -> np.ndarray:
    """`token_hash` of every synthetic word, by rank."""
    return np.array([token_hash(f"w{rank}") for rank in range(SYNTH_VOCAB)], dtype=np.uint64)


def _fill_chunk(start: int, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sizes, signatures and band hashes of `count` synthetic texts, in a pool worker.

    The texts are never written out: the synthetic words are already normalised ASCII, so `fingerprint` of the
    text equals the functions it calls applied to the word hashes (checked by `_check_fill_equivalence`).
    """
    settings, rng = dedup.DedupSettings(), np.random.default_rng(start)
    sizes = np.zeros((count, 2), dtype=np.int64)
    sigs = np.zeros((count, settings.num_perm), dtype=np.uint32)
    bands = np.zeros((count, settings.bands), dtype=np.int64)
    for i in range(count):
        ranks = np.searchsorted(_zipf_cdf(), rng.random(int(rng.integers(*SYNTH_WORDS))))
        hashes = combine_shingles(_vocab_hashes()[ranks], settings.shingle_words)
        sigs[i] = minhash(hashes, settings).hashvalues
        sizes[i] = (len(ranks), len(hashes))
        bands[i] = [h for _, h in band_hashes(sigs[i], settings)]
    return sizes, sigs, bands


def _check_fill_equivalence() -> None:
    """The fill shortcut gives the same fingerprint as `dedup.fingerprint` of the written-out text."""
    settings, rng = dedup.DedupSettings(), np.random.default_rng(7)
    ranks = np.searchsorted(_zipf_cdf(), rng.random(150))
    text = " ".join(f"w{r}" for r in ranks.tolist())
    direct = minhash(combine_shingles(_vocab_hashes()[ranks], settings.shingle_words), settings).hashvalues
    if not np.array_equal(direct, dedup.fingerprint(text, settings).signature):
        raise AssertionError("fill shortcut and fingerprint() disagree")


def _fill_rows(first_id: int, first_cluster: int, chunk: tuple) -> tuple[list, list, list, Iterator]:
    """Row tuples for articles, clusters, signatures and (sorted) bands of one chunk."""
    sizes, sigs, bands = chunk
    scheme, n = dedup.DedupSettings().scheme, len(sizes)
    ids = list(range(first_id, first_id + n))
    arts = [(a, "bench", f"https://fill.example/{a}", f"https://fill.example/{a}", "", "[]", "[]", "[]", "{}",
             "0" * 64, "bench", EPOCH, 1, first_cluster + k) for k, a in enumerate(ids)]  # fmt: skip
    clusters = [(first_cluster + k, a, "bench", EPOCH, 1) for k, a in enumerate(ids)]
    sig_rows = [(a, scheme, "0" * 64, int(w), int(sh), sigs[k].astype("<u4").tobytes(), EPOCH)
                for k, (a, (w, sh)) in enumerate(zip(ids, sizes, strict=True))]  # fmt: skip
    band_no = np.tile(np.arange(bands.shape[1]), n)
    article = np.repeat(np.array(ids), bands.shape[1])
    flat = bands.ravel()
    order = np.lexsort((article, flat, band_no))
    band_rows = zip(band_no[order].tolist(), flat[order].tolist(), article[order].tolist(), strict=True)
    return arts, clusters, sig_rows, band_rows


FILL_SQL = (
    "INSERT INTO articles (id, source_id, canonical_url, url, text, authors, tags, notes, meta, content_hash,"
    " extractor_version, fetched_at, revision, cluster_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    "INSERT INTO story_clusters (id, first_article_id, first_source_id, first_seen_at, size) VALUES (?,?,?,?,?)",
    "INSERT INTO dedup_signatures (article_id, scheme, content_hash, num_words, num_shingles, signature,"
    " computed_at) VALUES (?,?,?,?,?,?,?)",
    "INSERT INTO dedup_bands (band_no, band_hash, article_id) VALUES (?,?,?)",
)


def fill_in_child(db_path: str, count: int) -> None:
    """Run `fill` in a child process, so that its page cache and pool do not count in our memory figures."""
    child = multiprocessing.get_context("spawn").Process(target=fill, args=(db_path, count))
    child.start()
    child.join()
    if child.exitcode != 0:
        raise RuntimeError(f"fill of {count} fingerprints into {db_path} failed (exit code {child.exitcode})")


def fill(db_path: str, count: int) -> None:
    """Bulk-load `count` synthetic fingerprints (real fingerprint code, 2 worker processes, executemany)."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-400000")
    first_id = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM articles").fetchone()[0]
    first_cluster = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM story_clusters").fetchone()[0]
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        for start in range(0, count, FILL_CHUNK):
            size = min(FILL_CHUNK, count - start)
            parts = [(first_id + start + k, min(FILL_PART, size - k)) for k in range(0, size, FILL_PART)]
            results = pool.starmap(_fill_chunk, parts)
            chunk = tuple(np.concatenate([r[i] for r in results]) for i in range(3))
            rows = _fill_rows(first_id + start, first_cluster + start, chunk)
            conn.execute("BEGIN")
            conn.execute("PRAGMA defer_foreign_keys=ON")
            for sql, data in zip(FILL_SQL, rows, strict=True):
                conn.executemany(sql, data)
            conn.execute("COMMIT")
    conn.close()


def _edited(text: str, rng: random.Random) -> str:
    """A near-duplicate of a text: a paragraph added and two words changed."""
    tokens = text.split(" ")
    for i in rng.sample(range(len(tokens)), 2):
        tokens[i] = "edited"
    return " ".join(tokens) + "\n\nThis report was updated with comments from officials."


def timed_ops(
    sessions: sessionmaker[Session], count: int, first_n: int, *, whole: bool = False
) -> dict[str, list[float]]:
    """Time `count` single lookup+insert operations (half of them near-duplicates of earlier ones).

    Wall time runs from the lock to the commit; CPU time is this process' share of it (the machine is shared,
    so wall time also counts waiting for a core). The fingerprint is timed apart, unless `whole`: then the
    timed span is the writer's whole `assign_cluster` call (fingerprint included) and its commit.
    """
    rng, settings = random.Random(first_n), dedup.DedupSettings()
    times: dict[str, list[float]] = defaultdict(list)
    done: list[str] = []
    for i in range(count):
        text = _edited(done[-1], rng) if i % 2 and done else synthetic_text(first_n + i)
        with sessions() as session, session.begin():
            row = _store(session, text, first_n + i)
            t0 = time.perf_counter()
            fp = None if whole else dedup.fingerprint(text, settings)
            t1, c1 = time.perf_counter(), time.process_time()
            if fp is None:
                cluster_id = dedup.assign_cluster(session, row)
                joined = session.get_one(StoryCluster, cluster_id).first_article_id != row.id
            else:
                dedup.lock_for_assignment(session)
                match = dedup.find_match(session, row.id, fp, settings)
                dedup.store_fingerprint(session, row, fp, settings)
                dedup.place_in_cluster(session, row, match)
                joined = match is not None
            session.flush()
        times["wall"].append(time.perf_counter() - t1)
        times["cpu"].append(time.process_time() - c1)
        times["fingerprint"].append(t1 - t0)
        times["joined"].append(float(i % 2 == 1 and joined))
        done.append(text)
    return times


def _memory_mb() -> tuple[float, float]:
    """Current and peak resident memory of this process (MB)."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024


def _pct(values: list[float], q: float) -> float:
    """The q-quantile of values, in milliseconds."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


@contextmanager
def background_checkpoints(engine: Engine) -> Iterator[None]:
    """The crawler's set-up: storage.db.BackgroundCheckpoints (writers skip SQLite's automatic checkpoint)."""
    checkpoints = BackgroundCheckpoints(engine, every=0.5).start()
    try:
        yield
    finally:
        checkpoints.stop()


def _report(level: int, mode: str, fill_s: float, times: dict[str, list[float]], db_path: str) -> None:
    """One table row."""
    rss, peak = _memory_mb()
    size = sum(p.stat().st_size for p in Path(db_path).parent.glob(Path(db_path).name + "*")) / 2**20
    wall, cpu, half = times["wall"], times["cpu"], len(times["wall"]) // 2
    print(f"{level:>9} {mode:<6} {fill_s:>6.0f} {_pct(wall, 0.5):>7.2f} {_pct(wall, 0.99):>7.2f}"
          f" {max(wall) * 1000:>7.1f} {_pct(cpu, 0.5):>7.2f} {_pct(cpu, 0.99):>7.2f}"
          f" {_pct(times['fingerprint'], 0.5):>7.2f} {int(sum(times['joined'])):>4}/{half:<4} {rss:>6.0f}"
          f" {peak:>7.0f} {size:>7.0f} {os.getloadavg()[0]:>5.1f}", flush=True)  # fmt: skip


def scale(levels: list[int], db_path: str, samples: int) -> None:
    """Fill the database level by level and time individual operations at each level; prints a table.

    Mode `auto`: a bare engine (SQLite checkpoints the WAL inside some commits, as CLI commands do); mode `bg`:
    the crawler's set-up, checkpoints in a background thread (`storage.db.BackgroundCheckpoints`); mode `whole`: as `bg`, timing the writer's whole
    `assign_cluster` call (fingerprint included) and commit.
    """
    _check_fill_equivalence()
    for stale in Path(db_path).parent.glob(Path(db_path).name + "*"):
        stale.unlink()
    engine = make_engine(f"sqlite:///{db_path}")
    Base.metadata.create_all(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        session.add(Source(id="bench", name="Bench", language="en"))
    print(f"\n{'stored':>9} {'mode':<6} {'fill s':>6} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'cpu p50':>7}"
          f" {'cpu p99':>7} {'fp p50':>7} {'joined':>9} {'RSS MB':>6} {'peak MB':>7} {'db MB':>7} {'load':>5}")  # fmt: skip
    stored = 0
    for level in levels:
        t0 = time.perf_counter()
        fill_in_child(db_path, level - stored)
        fill_s = time.perf_counter() - t0
        _report(level, "auto", fill_s, timed_ops(sessions, samples, 10**9 + level), db_path)
        with background_checkpoints(engine):
            _report(level, "bg", fill_s, timed_ops(sessions, samples, 2 * 10**9 + level), db_path)
        with background_checkpoints(engine):
            whole = timed_ops(sessions, samples, 3 * 10**9 + level, whole=True)
        _report(level, "whole", fill_s, whole, db_path)
        stored = level + 3 * samples


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("corpus", type=Path, help="evaluation corpus folder (../shared/eval)")
    parser.add_argument("--scale", default="", help="comma-separated fill levels, e.g. 10000,100000,1000000")
    parser.add_argument(
        "--db", default="/tmp/monitor-dedup-bench.sqlite", help="SQLite file for the scale run"
    )
    parser.add_argument("--samples", type=int, default=1000, help="timed operations per level")
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args()
    if not args.skip_quality:
        quality(args.corpus)
    if args.scale:
        scale([int(x) for x in args.scale.split(",")], args.db, args.samples)


if __name__ == "__main__":
    main()
