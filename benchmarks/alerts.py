"""Benchmark: articles matched per second against 10,000 watched terms (target ≥ 1,000/s on one core).

Generates (seeded) Arabic, Persian and English names, places and two- or three-word phrases as terms spread
over watches with any/all/none groups, and ~2,000-word articles drawn from a Zipf-distributed multi-script
vocabulary with some watched terms planted (with Arabic clitics). Times the full `Matcher.match`, normalisation
included, in CPU time of this process: a first pass with a cold token cache, then the best of --repeats warm
passes (as timeit does). Side by side, a naive baseline: one compiled regex per term on the normalised text,
timed on a subset of terms and scaled to the full term count.

    .venv/bin/python -m benchmarks.alerts [--terms 10000] [--articles 300] [--words 2000] [--baseline-terms 300]
"""

from __future__ import annotations

import argparse
import random
import re
import time
from collections.abc import Sequence

from monitor.alerts.matcher import _TOKEN_CACHE, CLITICS, Document, Matcher, normalize_fast
from monitor.alerts.watches import Watch

# Syllables for made-up names (terms) and, separately, for the filler vocabulary, so that terms occur where
# planted and as substrings of longer words now and then, as real names do (not real people or places).
AR_SYLL = [
    "عبد",
    "حمود",
    "ناصر",
    "خالد",
    "رياض",
    "سعيد",
    "كريم",
    "فاطم",
    "زينب",
    "مروان",
    "طارق",
    "يوسف",
    "حلب",
    "دير",
]
FA_SYLL = [
    "پور",
    "زاده",
    "نژاد",
    "مهر",
    "داد",
    "گل",
    "شیر",
    "آزاد",
    "کیان",
    "فر",
    "بخش",
    "رستم",
    "نیک",
    "بهرام",
]
EN_SYLL = [
    "al",
    "ber",
    "cor",
    "dan",
    "far",
    "gan",
    "jor",
    "ka",
    "lin",
    "mor",
    "nas",
    "pet",
    "ra",
    "son",
    "ton",
]
AR_FILL = ["كت", "ب", "سل", "م", "عل", "ق", "شر", "ح", "ت", "ن", "و", "ا", "ي", "ل", "س", "ر"]
FA_FILL = ["خو", "اه", "ش", "ند", "گا", "ن", "می", "رف", "ت", "ها", "ری", "ست"]
EN_FILL = ["ex", "pe", "ri", "ment", "qu", "ick", "vi", "sion", "tu", "re", "ly", "ing", "ex", "wh", "at"]
AR_WORDS = [
    "قال",
    "في",
    "من",
    "على",
    "إلى",
    "أن",
    "التي",
    "الذي",
    "وزير",
    "الحكومة",
    "الرئيس",
    "مجلس",
    "الأمن",
    "اليوم",
    "أمس",
    "بعد",
    "قبل",
    "خلال",
    "مع",
    "عن",
    "هذا",
    "هذه",
    "وفد",
    "مدينة",
    "منطقة",
    "قوات",
    "الجيش",
    "المعارضة",
    "اتفاق",
    "محادثات",
]
FA_WORDS = [
    "در",
    "به",
    "از",
    "که",
    "این",
    "با",
    "را",
    "است",
    "برای",
    "تهران",
    "وزیر",
    "دولت",
    "مجلس",
    "امروز",
    "دیروز",
    "گفت",
    "نیروهای",
    "سپاه",
    "توافق",
    "مذاکرات",
    "شهر",
    "استان",
]
EN_WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "said",
    "on",
    "for",
    "with",
    "government",
    "minister",
    "president",
    "council",
    "security",
    "today",
    "talks",
    "forces",
    "city",
    "region",
    "agreement",
]


def _name(rng: random.Random, syllables: Sequence[str], parts: tuple[int, int]) -> str:
    """A made-up word from syllables."""
    return "".join(rng.choice(syllables) for _ in range(rng.randint(*parts)))


def make_terms(rng: random.Random, count: int) -> list[str]:
    """Distinct multi-language terms: single names and 2-3 word phrases."""
    makers = [(AR_SYLL, (1, 2)), (FA_SYLL, (2, 3)), (EN_SYLL, (2, 4))]
    terms: set[str] = set()
    while len(terms) < count:
        syllables, parts = rng.choice(makers)
        words = [_name(rng, syllables, parts) for _ in range(rng.choice((1, 1, 2, 3)))]
        term = " ".join(words)
        if syllables is EN_SYLL:
            term = term.title()
        terms.add(term)
    return sorted(terms)


def make_watches(rng: random.Random, terms: list[str]) -> list[Watch]:
    """Watches of five `any` terms each; every fourth also has an `all` and a `none` term."""
    watches = []
    for index in range(0, len(terms), 5):
        chunk = terms[index : index + 5]
        extra: dict[str, object] = {}
        if index % 20 == 0 and len(chunk) == 5:
            extra = {"all": [chunk[3]], "none": [chunk[4]]}
            chunk = chunk[:3]
        watches.append(
            Watch.model_validate({"name": f"w{index}", "any": chunk, "channels": ["log"], **extra})
        )
    return watches


def make_vocabulary(rng: random.Random, size: int) -> list[str]:
    """Function words plus many made-up content words in three scripts."""
    vocab = AR_WORDS + FA_WORDS + EN_WORDS
    makers = [(AR_FILL, (2, 5)), (FA_FILL, (2, 4)), (EN_FILL, (2, 4))]
    while len(vocab) < size:
        syllables, parts = rng.choice(makers)
        vocab.append(_name(rng, syllables, parts))
    return vocab


def make_article(
    rng: random.Random, vocab: list[str], weights: list[float], terms: list[str], words: int
) -> str:
    """~`words` words in lines of ~15, with a few watched terms planted (Arabic ones with clitics)."""
    body = rng.choices(vocab, weights=weights, k=words)
    for _ in range(rng.randint(0, 4)):
        term = rng.choice(terms)
        if "\u0600" <= term[0] <= "\u06ff" and rng.random() < 0.5:
            term = rng.choice(sorted(CLITICS - {""})) + term
        body[rng.randrange(words)] = term
    lines = [" ".join(body[i : i + 15]) for i in range(0, words, 15)]
    return "\n".join(lines)


def bench_matcher(matcher: Matcher, articles: list[str], repeats: int) -> tuple[float, float, int]:
    """(cold articles/s, best warm articles/s over `repeats` passes, matches), CPU time of this process."""
    _TOKEN_CACHE.clear()
    start = time.process_time()
    found = sum(len(matcher.match(Document("", text))) for text in articles)
    cold = len(articles) / (time.process_time() - start)
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        for text in articles:
            matcher.match(Document("", text))
        best = min(best, time.process_time() - start)
    return cold, len(articles) / best, found


def bench_regex(terms: list[str], articles: list[str]) -> float:
    """Articles/s for one regex per term (whole word, clitics allowed) on normalised text."""
    clitics = "|".join(sorted(CLITICS - {""}, key=len, reverse=True))
    patterns = [re.compile(rf"(?<!\w)(?:{clitics})?{re.escape(normalize_fast(t))}(?!\w)") for t in terms]
    start = time.process_time()
    for text in articles:
        norm = normalize_fast(text)
        for pattern in patterns:
            pattern.search(norm)
    return len(articles) / (time.process_time() - start)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terms", type=int, default=10_000)
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--words", type=int, default=2_000)
    parser.add_argument("--baseline-terms", type=int, default=300)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3, help="warm passes; the best one counts (as timeit)")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    terms = make_terms(rng, args.terms)
    vocab = make_vocabulary(rng, 30_000)
    weights = [1 / (rank + 1) for rank in range(len(vocab))]
    articles = [make_article(rng, vocab, weights, terms, args.words) for _ in range(args.articles)]
    start = time.process_time()
    matcher = Matcher(make_watches(rng, terms))
    build = time.process_time() - start
    cold, warm, found = bench_matcher(matcher, articles, args.repeats)
    subset = max(1, min(args.baseline_terms, len(terms)))
    regex_rate = bench_regex(terms[:subset], articles[: max(10, args.articles // 10)])
    scaled = regex_rate * subset / len(terms)
    chars = sum(map(len, articles)) / len(articles)
    print(
        f"terms {len(terms):,} ({matcher.size:,} automaton keys, {len(matcher.watches):,} watches), build {build:.2f} s"
    )
    print(f"articles {len(articles)} × ~{args.words} words (~{chars:,.0f} chars), {found} watch matches")
    print(f"{'method':<40}{'articles/s':>14}")
    print(f"{'aho-corasick, cold token cache':<40}{cold:>14,.0f}")
    print(f"{'aho-corasick, warm token cache (best)':<40}{warm:>14,.0f}")
    print(f"{f'regex per term, {subset} terms (measured)':<40}{regex_rate:>14,.1f}")
    print(f"{f'regex per term, scaled to {len(terms):,} terms':<40}{scaled:>14,.1f}")


if __name__ == "__main__":
    main()
