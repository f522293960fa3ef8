"""Measure the date and author layer alone against the evaluation corpus, beside bare trafilatura.

Usage: python benchmarks/dates_authors.py CORPUS_DIR [--show-misses]

CORPUS_DIR is the evaluation folder (e.g. ../shared/eval). Reads `newspaper4k_article_dataset` (dates and
authors) and `htmldate_mediacloud2020` (dates). Date accuracy compares YYYY-MM-DD of the publication date;
author F1 is the per-page set F1 of normalised names (`benchmarks.corpus.author_scores`, as in the extraction
benchmark; both empty = 1.0), averaged over pages. The baseline is
`trafilatura.bare_extraction(html, url=url, with_metadata=True)`'s date and author; our functions get its
metadata as hints, as in the extractor. CPU time is our three functions (dates, authors, attribution) alone (the page parse and trafilatura excluded); "bare ms" is trafilatura's in the
same run. The gold sometimes names an agency or outlet as author ("The Associated Press"), which our layer reports
as `agency` instead; the F1 on pages whose gold names only people is printed too. "pub|mod" counts a page right when the gold day is our published or our modified day (the newspaper4k
gold often holds the "Updated" date shown on the page).
Run from the repository root: python benchmarks/dates_authors.py ../shared/eval
"""

from __future__ import annotations

import argparse
import gc
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import lxml.html
import trafilatura
from trafilatura.utils import decode_file

from benchmarks.corpus import Page, author_scores, load_mediacloud, load_newspaper4k
from monitor.extract.attribution import extract_attribution
from monitor.extract.authors import extract_authors, split_byline
from monitor.extract.dates import extract_dates

_PARSER = lxml.html.HTMLParser(encoding="utf-8")
# The corpus' own loaders, under this benchmark's names for its two datasets.
DATASETS = (("newspaper4k", load_newspaper4k), ("mediacloud2020", load_mediacloud))


@dataclass
class Tally:
    """Running sums for one corpus."""

    pages: int = 0
    date_ok: int = 0
    base_date_ok: int = 0
    author_pages: int = 0
    author_f1: float = 0.0
    base_author_f1: float = 0.0
    cpu: float = 0.0
    base_cpu: float = 0.0
    either_ok: int = 0
    person_pages: int = 0
    person_f1: float = 0.0
    misses: list[str] = field(default_factory=list)


def measure(page: Page, tally: Tally) -> None:
    """Run the baseline and our functions on one page and add to the tally."""
    html = decode_file(page.read_html())
    base_start = time.process_time()
    hints = trafilatura.bare_extraction(html, url=page.url, with_metadata=True)
    tally.base_cpu += time.process_time() - base_start
    meta = hints.as_dict() if hasattr(hints, "as_dict") else dict(hints or {})
    doc = lxml.html.fromstring(html.encode("utf-8"), parser=_PARSER)
    gc.collect()  # do not bill trafilatura's garbage to our functions
    start = time.process_time()
    published, modified = extract_dates(doc, page.url, hints=meta, default_tz=None)
    authors = extract_authors(doc, text=meta.get("text") or "", hints=meta, site_name=meta.get("sitename"))
    extract_attribution(doc, text=meta.get("text") or "", notes=[], site_name=meta.get("sitename"))
    tally.cpu += time.process_time() - start
    tally.pages += 1
    ours = published.date().isoformat() if published else None
    gold = page.date or None  # "": the page has no publication date
    tally.date_ok += ours == gold
    tally.either_ok += ours == gold or (modified is not None and modified.date().isoformat() == gold)
    tally.base_date_ok += (meta.get("date") or None) == gold
    if ours != gold:
        tally.misses.append(f"DATE {page.url[:90]} gold={page.date} ours={ours} base={meta.get('date')}")
    if page.authors is not None:
        base = [a for a in re.split(r"\s*;\s*", meta.get("author") or "") if a]
        f1 = author_scores(authors, page.authors)[2]
        tally.author_pages += 1
        tally.author_f1 += f1
        tally.base_author_f1 += author_scores(base, page.authors)[2]
        if all(split_byline(name, set()) for name in page.authors):  # gold names people, not outlets/agencies
            tally.person_pages += 1
            tally.person_f1 += f1
        if f1 < 1:
            tally.misses.append(f"AUTH {page.url[:90]} gold={page.authors} ours={authors} base={base}")


def main() -> None:
    """Print a table of figures per corpus."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()
    tallies: dict[str, Tally] = {}
    for name, load in DATASETS:
        for page in load(args.corpus):
            measure(page, tallies.setdefault(name, Tally()))
    print(
        f"{'corpus':16} {'pages':>5} {'date acc':>9} {'pub|mod':>8} {'bare':>6} {'author F1':>10} {'bare':>6}"
        f" {'ms/page':>8} {'bare ms':>8}"
    )
    for name, t in tallies.items():
        authors = (
            f"{t.author_f1 / t.author_pages:10.3f} {t.base_author_f1 / t.author_pages:6.3f}"
            if t.author_pages
            else f"{'-':>10} {'-':>6}"
        )
        print(
            f"{name:16} {t.pages:5d} {t.date_ok / t.pages:9.3f} {t.either_ok / t.pages:8.3f}"
            f" {t.base_date_ok / t.pages:6.3f} {authors} {1000 * t.cpu / t.pages:8.2f} {1000 * t.base_cpu / t.pages:8.1f}"
        )
    for name, t in tallies.items():
        if t.person_pages:
            print(
                f"{name}: author F1 on the {t.person_pages} pages whose gold names only people: {t.person_f1 / t.person_pages:.3f}"
            )
    if args.show_misses:
        for t in tallies.values():
            print("\n".join(t.misses))


if __name__ == "__main__":
    main()
