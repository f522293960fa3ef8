"""Evaluation corpus loading and the scoring functions shared by the extraction benchmark and quality tests.

The corpus is read by path at run time (its page text is licensed for evaluation only). Layout: see
`shared/eval/README.md`; the loaders below read `aeb/`, `newspaper4k_article_dataset/`,
`htmldate_mediacloud2020/`, `readability_testpages/` and `pages_rtl/`.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

# The README's body metric: Unicode word tokens, lower-cased, 4-token shingles.
WORD = re.compile(r"\w+")
SHINGLE = 4
_SPACES = re.compile(r"\s+")
# Author-name noise for the set F1: a leading "By", trailing punctuation.
_BY = re.compile(r"^\s*by\s+", re.I)


@dataclass(frozen=True, slots=True)
class Page:
    """One corpus page with whatever gold its dataset provides (None = not annotated; a `date` of "" = the
    gold says the page has no publication date, so only "no date" is right)."""

    dataset: str
    page_id: str
    url: str
    path: Path
    body: str | None = None
    title: str | None = None
    authors: tuple[str, ...] | None = None
    date: str | None = None
    is_article: bool | None = None

    def read_html(self) -> bytes:
        """The raw page bytes (gunzipped when the file ends in .gz)."""
        data = self.path.read_bytes()
        return gzip.decompress(data) if self.path.suffix == ".gz" else data


def tokens(text: str) -> list[str]:
    """Lower-cased `\\w+` tokens."""
    return WORD.findall(text.lower())


def shingles(text: str, size: int = SHINGLE) -> Counter[tuple[str, ...]]:
    """Multiset of consecutive `size`-token shingles (empty for a text shorter than `size` tokens)."""
    toks = tokens(text)
    return Counter(tuple(toks[i : i + size]) for i in range(len(toks) - size + 1))


def prf(tp: int, n_pred: int, n_gold: int) -> tuple[float, float, float]:
    """Precision, recall, F1 with the corpus convention: both empty = 1.0, one empty = 0.0."""
    if n_pred == 0 and n_gold == 0:
        return 1.0, 1.0, 1.0
    if n_pred == 0 or n_gold == 0:
        return 0.0, 0.0, 0.0
    precision, recall = tp / n_pred, tp / n_gold
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return precision, recall, f1


def body_scores(predicted: str, gold: str) -> tuple[float, float, float]:
    """Per-page body precision, recall, F1 over 4-shingle multisets."""
    pred, ref = shingles(predicted or ""), shingles(gold or "")
    tp = sum((pred & ref).values())
    return prf(tp, sum(pred.values()), sum(ref.values()))


def normalize_title(title: str | None) -> str:
    """Whitespace-normalised, NFKC title for exact-match comparison."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", title or "")).strip()


def normalize_name(name: str) -> str:
    """Comparable author name: NFKC, casefolded, no leading "By", single spaces, no edge punctuation."""
    name = _BY.sub("", unicodedata.normalize("NFKC", name))
    return _SPACES.sub(" ", name).strip(" ,.;:-").casefold()


def author_scores(predicted: Iterable[str], gold: Iterable[str]) -> tuple[float, float, float]:
    """Set precision, recall, F1 over normalised author names."""
    pred = {normalize_name(n) for n in predicted} - {""}
    ref = {normalize_name(n) for n in gold} - {""}
    return prf(len(pred & ref), len(pred), len(ref))


def load_aeb(root: Path) -> Iterator[Page]:
    """Article Extraction Benchmark: `ground-truth.json` + `html/<id>.html.gz` (bodies only)."""
    folder = root / "aeb"
    gold = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    for page_id, item in sorted(gold.items()):
        path = folder / "html" / f"{page_id}.html.gz"
        if path.exists():
            yield Page("aeb", page_id, item["url"], path, body=item["articleBody"], is_article=True)


def _split_authors(value: str) -> tuple[str, ...]:
    """newspaper4k's dataset lists authors as one comma-separated string."""
    return tuple(a.strip() for a in value.split(",") if a.strip())


def load_newspaper4k(root: Path) -> Iterator[Page]:
    """newspaper4k article dataset: body, title, authors and date per page."""
    folder = root / "newspaper4k_article_dataset"
    gold = json.loads((folder / "articles.json").read_text(encoding="utf-8"))
    for page_id, item in sorted(gold.items()):
        path = folder / "html" / f"{page_id}.html.gz"
        if path.exists():
            authors = _split_authors(item.get("authors") or "")
            yield Page(
                "newspaper4k", page_id, item["url"], path, body=item["articleBody"], title=item["title"],
                authors=authors, date=(item.get("date") or "")[:10] or None, is_article=True,
            )  # fmt: skip


def gold_date(value: object) -> str:
    """A Media Cloud gold date: "YYYY-MM-DD", or "" where the gold is NaN (a page with no publication date:
    a home page, a registry entry)."""
    return value if isinstance(value, str) else ""


def load_mediacloud(root: Path) -> Iterator[Page]:
    """Media Cloud 2020 sample (htmldate's test set): publication dates only."""
    folder = root / "htmldate_mediacloud2020"
    gold = json.loads((folder / "eval_mediacloud_2020.json").read_text(encoding="utf-8"))
    for url, item in sorted(gold.items()):
        path = folder / "html" / f"{item['file']}.gz"
        if path.exists():
            yield Page("mediacloud", item["file"], url, path, date=gold_date(item["date"]))


def load_readability(root: Path) -> Iterator[Page]:
    """Mozilla Readability test pages: title (and byline) from `expected-metadata.json`."""
    folder = root / "readability_testpages" / "pages"
    for case in sorted(p for p in folder.iterdir() if p.is_dir()):
        meta_path = case / "expected-metadata.json.gz"
        if not (case / "source.html.gz").exists() or not meta_path.exists():
            continue
        meta = json.loads(gzip.decompress(meta_path.read_bytes()))
        url = f"http://fakehost/test/{case.name}/"  # the URL Readability's own test runner uses
        yield Page("readability", case.name, url, case / "source.html.gz", title=meta.get("title"))


def load_rtl(root: Path) -> Iterator[Page]:
    """RTL pages with full gold text (`gold/<name>.txt` + `.metadata.json`); others are skipped."""
    folder = root / "pages_rtl"
    with (folder / "index.tsv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    for row in rows:
        path = folder / row["file"]
        stem = Path(row["file"]).name.removesuffix(".html")
        text_path, meta_path = folder / "gold" / f"{stem}.txt", folder / "gold" / f"{stem}.metadata.json"
        if path.exists() and text_path.exists() and meta_path.exists():
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            body = text_path.read_text(encoding="utf-8")
            yield Page("rtl", stem, row["url"], path, body=body, title=meta.get("title"), is_article=True)


LOADERS = {
    "aeb": load_aeb,
    "newspaper4k": load_newspaper4k,
    "rtl": load_rtl,
    "readability": load_readability,
    "mediacloud": load_mediacloud,
}


def load_corpus(root: Path, datasets: Iterable[str] = tuple(LOADERS)) -> list[Page]:
    """All pages of the named datasets under `root`, in a stable order."""
    return [page for name in datasets for page in LOADERS[name](root)]
