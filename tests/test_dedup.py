"""Dedup: content hashes, revisions, fingerprints (Arabic/Persian normalisation) and story clusters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import storage.dedup_models  # noqa: F401  (registers the dedup tables)
from monitor import dedup
from monitor.dedup.fingerprint import shingle_hashes
from storage.db import make_sessionmaker
from storage.dedup_models import DedupBand, DedupSignature
from storage.models import ArticleRevision, ArticleRow, Source, StoryCluster

T0 = datetime(2024, 11, 17, 8, 0, tzinfo=UTC)

# Test texts written for this project (not taken from any outlet).
STORY_PORT = [
    "Dockworkers at the northern port began a three-day strike on Monday after talks over night-shift pay "
    "collapsed late on Sunday, leaving dozens of container ships waiting at anchor outside the harbour.",
    "The union said its members had not received the allowance promised in the spring agreement and that the "
    "port authority had ignored two written warnings sent in September and October.",
    "A spokesperson for the port authority said the strike was unlawful because the mediation period had not "
    "ended, and that the authority would ask the labour court for an injunction on Tuesday morning.",
    "Shipping agents estimated that each day of the stoppage delays about four thousand containers, most of "
    "them carrying grain, fertiliser and spare parts for the region's farms and factories.",
    "Traders in the capital reported that wholesale prices of flour and cooking oil rose slightly on Monday "
    "afternoon as buyers rushed to secure stock before the weekend.",
]
STORY_FLOOD = [
    "Heavy rain flooded low-lying districts of the river city overnight, forcing about two hundred families "
    "to leave their homes and closing the main bridge to traffic until the water recedes.",
    "Civil defence teams used boats to reach residents trapped on rooftops in the old market quarter, where the "
    "water reached more than a metre in some streets before dawn on Wednesday.",
    "The mayor said the drainage network had been designed for half of the rainfall recorded in the past "
    "twenty-four hours and promised an inquiry into delays in a cleaning programme announced last year.",
    "Schools in three districts will stay closed until the end of the week, the education office said, and "
    "exams scheduled for Thursday have been postponed to next month.",
]
BOILERPLATE_A = (
    "Subscribe to the Morning Brief newsletter for the stories that matter, delivered before breakfast."
)
BOILERPLATE_B = "Download our app and follow us on social media for breaking news alerts around the clock."
TRANSLATION_NOTE = (
    "This report was translated from Arabic by the desk and first appeared in our partner paper."
)
STOCK_PARAGRAPH = (
    "The Coastal Times is an independent daily founded in 1987. It publishes in three languages and relies on "
    "correspondents across the region. Corrections are published on this page and readers can reach the "
    "standards editor by email at any time of day."
)
SHORT_A = "The central bank kept its main interest rate unchanged on Thursday, citing stable inflation and a firm currency."
SHORT_B = "A magnitude four earthquake shook the mountain villages on Friday evening without causing injuries or damage."

ARABIC = (
    "أعلنت وزارة الصحة يوم الأحد عن افتتاح مستشفى جديد في مدينة الإسكندرية بسعة ٢٥٠ سريرًا، "
    "وقال الوزير إن المستشفى سيخدم أكثر من مليون مواطن في المحافظة والمناطق المجاورة لها. "
    "وأضاف أن العمل في المبنى استغرق أربع سنوات وأن تكلفته بلغت ثلاثة مليارات جنيه، "
    "مشيرًا إلى أن الأطباء الجدد سيبدؤون العمل في الأسبوع المقبل بعد انتهاء التدريب. "
    "وأكدت الوزارة أن المستشفى يضم قسمًا للطوارئ ووحدة لعلاج الأطفال ومختبرًا حديثًا للتحاليل الطبية، "
    "وأن المرضى سيحصلون على الخدمة مجانًا خلال الأشهر الستة الأولى من التشغيل."
)
ARABIC_VARIANTS = {
    "diacritics": ARABIC.replace("أعلنت", "أَعْلَنَتْ").replace("الصحة", "الصِّحَّةِ").replace("مدينة", "مَدِينَةِ"),
    "tatweel": ARABIC.replace("الوزير", "الوزيــــر").replace("مستشفى", "مستشـفى"),
    "alef variants": ARABIC.replace("أعلنت", "اعلنت")
    .replace("الإسكندرية", "الاسكندرية")
    .replace("أربع", "اربع"),
    "alef maqsura and yaa": ARABIC.replace("مستشفى", "مستشفي").replace("إلى", "الي"),
    "taa marbuta and haa": ARABIC.replace("الصحة", "الصحه")
    .replace("مدينة", "مدينه")
    .replace("المحافظة", "المحافظه"),
    "persian letters": ARABIC.replace("ي", "ی").replace("ك", "ک"),
    "western digits": ARABIC.replace("٢٥٠", "250"),
    "persian digits": ARABIC.replace("٢٥٠", "۲۵۰"),
}


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """A fresh SQLite file database with the whole schema and two sources."""
    from storage.store import Store

    # The schema as the crawler makes it (migrations), so the CLI can open the same file.
    engine = Store.from_url(f"sqlite:///{tmp_path / 'dedup.sqlite'}").engine
    maker = make_sessionmaker(engine)
    with maker.begin() as session:
        session.add_all([Source(id="a", name="A", language="en"), Source(id="b", name="B", language="ar")])
    yield maker
    engine.dispose()


def add_article(
    maker: sessionmaker[Session], text: str, *, source: str = "a", title: str = "Headline", at: datetime = T0
) -> tuple[int, int]:
    """Store an article and cluster it in one transaction, as the storage writer does; (article id, cluster id)."""
    with maker.begin() as session:
        url = f"https://{source}.example/{abs(hash((text, title, at)))}"
        row = ArticleRow(
            source_id=source,
            canonical_url=url,
            url=url,
            title=title,
            text=text,
            content_hash=dedup.content_hash(title, text),
            extractor_version="test",
            fetched_at=at,
        )
        session.add(row)
        session.flush()
        return row.id, dedup.assign_cluster(session, row)


def paras(*parts: str) -> str:
    """Join paragraphs as extracted text."""
    return "\n\n".join(parts)


# -- content hash and revisions -------------------------------------------------------------------------------


def test_content_hash_ignores_whitespace_but_not_words() -> None:
    base = dedup.content_hash("Title", paras(*STORY_PORT))
    assert dedup.content_hash(" Title ", "\n\n\n".join(p.replace(" ", "  ") for p in STORY_PORT)) == base
    assert dedup.content_hash("Title", paras(*STORY_PORT) + "\u200b") == base
    assert dedup.content_hash("Title", paras(*STORY_PORT).replace("three-day", "four-day")) != base
    assert dedup.content_hash("Other title", paras(*STORY_PORT)) != base


def test_changed_text_creates_revision_two_with_diff_summary(sessions: sessionmaker[Session]) -> None:
    article_id, _ = add_article(sessions, paras(*STORY_PORT[:4]))
    new_text = paras(STORY_PORT[0], STORY_PORT[2], STORY_PORT[3], STORY_PORT[4], TRANSLATION_NOTE)
    later = T0 + timedelta(hours=3)
    with sessions.begin() as session:
        row = session.get_one(ArticleRow, article_id)
        new_hash = dedup.content_hash("New headline", new_text)
        revision = dedup.record_revision(
            session, row, title="New headline", text=new_text, new_hash=new_hash, fetched_at=later
        )
        assert revision is not None
        row.title, row.text, row.content_hash = "New headline", new_text, new_hash
    with sessions() as session:
        row = session.get_one(ArticleRow, article_id)
        stored = session.scalars(
            select(ArticleRevision).where(ArticleRevision.article_id == article_id)
        ).one()
        assert row.revision == 2
        assert row.fetched_at == later
        assert stored.revision == 1
        assert stored.text == paras(*STORY_PORT[:4])
        assert stored.title == "Headline"
        assert stored.fetched_at == T0
        assert stored.diff_summary == "+2 paragraphs, −1 paragraph, title changed"


@pytest.mark.parametrize(
    "new_text",
    [
        paras(*STORY_PORT),
        "\n".join(STORY_PORT),
        "  " + "\n\n\n".join(STORY_PORT) + "\n",
        paras(*STORY_PORT) + "\ufeff",
    ],
    ids=["identical", "single-newlines", "extra-whitespace", "invisible-bom"],
)
def test_unchanged_or_whitespace_only_text_creates_no_revision(
    sessions: sessionmaker[Session], new_text: str
) -> None:
    article_id, _ = add_article(sessions, paras(*STORY_PORT))
    with sessions.begin() as session:
        row = session.get_one(ArticleRow, article_id)
        new_hash = dedup.content_hash("Headline", new_text)
        assert (
            dedup.record_revision(
                session, row, title="Headline", text=new_text, new_hash=new_hash, fetched_at=T0
            )
            is None
        )
    with sessions() as session:
        assert session.get_one(ArticleRow, article_id).revision == 1
        assert session.scalar(select(func.count()).select_from(ArticleRevision)) == 0


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (["a", "b", "c"], ["a", "b", "c", "d"], "+1 paragraph"),
        (["a", "b", "c"], ["a", "c"], "−1 paragraph"),
        (["a", "b", "c"], ["a", "B changed", "c"], "1 paragraph edited"),
        (["a", "b"], ["a", "b"], "text changed"),
    ],
)
def test_diff_summary(old: list[str], new: list[str], expected: str) -> None:
    assert dedup.diff_summary("T", paras(*old), "T", paras(*new)) == expected


def test_diff_summary_title_only() -> None:
    assert dedup.diff_summary("Old", "same text", "New", "same text") == "title changed"


# -- fingerprints -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", sorted(ARABIC_VARIANTS))
def test_arabic_spelling_variants_give_the_same_fingerprint(variant: str) -> None:
    settings = dedup.DedupSettings()
    assert ARABIC_VARIANTS[variant] != ARABIC
    base, other = dedup.fingerprint(ARABIC, settings), dedup.fingerprint(ARABIC_VARIANTS[variant], settings)
    assert np.array_equal(base.signature, other.signature)
    assert (base.num_words, base.num_shingles) == (other.num_words, other.num_shingles)


def test_a_different_arabic_text_gives_a_different_fingerprint() -> None:
    settings = dedup.DedupSettings()
    edited = (
        ARABIC.replace("مستشفى جديد", "مصنع جديد").replace("الإسكندرية", "أسوان").replace("الأطباء", "العمال")
    )
    sim = dedup.similarity(dedup.fingerprint(ARABIC, settings), dedup.fingerprint(edited, settings))
    assert 0.5 < sim.jaccard < 1.0


def test_clustering_arabic_variant_keeps_stored_text(sessions: sessionmaker[Session]) -> None:
    _, first = add_article(sessions, ARABIC, source="b")
    article_id, second = add_article(sessions, ARABIC_VARIANTS["persian letters"], source="a")
    assert first == second
    with sessions() as session:
        assert session.get_one(ArticleRow, article_id).text == ARABIC_VARIANTS["persian letters"]


@given(
    st.lists(
        st.sampled_from(["news", "port", "strike", "ship", "rain", "قال", "الوزير", "۲۰۲۴"]),
        min_size=1,
        max_size=60,
    )
)
def test_fingerprint_ignores_whitespace_and_case(tokens: list[str]) -> None:
    settings = dedup.DedupSettings()
    a = dedup.fingerprint(" ".join(tokens), settings)
    b = dedup.fingerprint("\n\n  ".join(t.upper() for t in tokens), settings)
    assert np.array_equal(a.signature, b.signature)
    assert dedup.similarity(a, b).jaccard == 1.0


@given(st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f"]), max_size=40), st.integers(1, 5))
def test_shingle_hashes_are_one_per_distinct_shingle(tokens: list[str], size: int) -> None:
    windows = (
        {tuple(tokens[i : i + size]) for i in range(max(1, len(tokens) - size + 1))} if tokens else set()
    )
    assert len(shingle_hashes(tokens, size)) == len(windows)


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="must fit"):
        dedup.DedupSettings(num_perm=64, bands=40, rows=3)
    with pytest.raises(ValueError, match="jaccard_threshold"):
        dedup.DedupSettings(jaccard_threshold=1.5)


# -- clusters ---------------------------------------------------------------------------------------------------


def cluster(maker: sessionmaker[Session], cluster_id: int) -> StoryCluster:
    """A cluster row, freshly read."""
    with maker() as session:
        return session.get_one(StoryCluster, cluster_id)


def test_syndicated_copy_joins_the_original_cluster(sessions: sessionmaker[Session]) -> None:
    original_id, first = add_article(sessions, paras(*STORY_PORT), source="a")
    copy = paras(BOILERPLATE_A, *STORY_PORT[:2], *STORY_PORT[3:], "An extra paragraph of local reaction from "
                 "traders at the fish market, who said they feared losses.", TRANSLATION_NOTE, BOILERPLATE_B)  # fmt: skip
    copy_id, second = add_article(
        sessions, copy, source="b", title="Port strike strands ships", at=T0 + timedelta(hours=1)
    )
    assert second == first
    row = cluster(sessions, first)
    assert (row.size, row.first_article_id, row.first_source_id) == (2, original_id, "a")
    with sessions() as session:
        members = dedup.cluster_members(session, first)
        assert [m.id for m in members] == [original_id, copy_id]
        assert members[1].text == copy


def test_different_story_with_the_same_template_stays_apart(sessions: sessionmaker[Session]) -> None:
    _, first = add_article(sessions, paras(BOILERPLATE_A, *STORY_PORT, STOCK_PARAGRAPH, BOILERPLATE_B))
    _, second = add_article(sessions, paras(BOILERPLATE_A, *STORY_FLOOD, STOCK_PARAGRAPH, BOILERPLATE_B))
    assert first != second
    assert cluster(sessions, first).size == cluster(sessions, second).size == 1


def test_short_items_sharing_a_stock_paragraph_stay_apart(sessions: sessionmaker[Session]) -> None:
    _, a = add_article(sessions, paras(SHORT_A, STOCK_PARAGRAPH))
    _, b = add_article(sessions, paras(SHORT_B, STOCK_PARAGRAPH))
    _, long_ = add_article(sessions, paras(*STORY_FLOOD, STOCK_PARAGRAPH))
    assert len({a, b, long_}) == 3


def test_short_item_is_contained_but_too_short_to_merge() -> None:
    settings = dedup.DedupSettings()
    short = dedup.fingerprint(paras(SHORT_A, STOCK_PARAGRAPH), settings)
    long_ = dedup.fingerprint(paras(*STORY_FLOOD, SHORT_A, STOCK_PARAGRAPH), settings)
    sim = dedup.similarity(short, long_)
    assert sim.containment > 0.8
    assert not dedup.is_near_duplicate(sim, settings)


def test_texts_below_min_words_get_their_own_cluster(sessions: sessionmaker[Session]) -> None:
    id_a, a = add_article(sessions, SHORT_A)
    _, b = add_article(sessions, SHORT_A, source="b")
    assert a != b
    with sessions() as session:
        assert session.get(DedupSignature, id_a) is None
        assert session.scalar(select(func.count()).select_from(DedupBand)) == 0


def test_reassigning_and_revising_do_not_double_count(sessions: sessionmaker[Session]) -> None:
    _, first = add_article(sessions, paras(*STORY_PORT))
    copy_id, _ = add_article(sessions, paras(*STORY_PORT, TRANSLATION_NOTE), source="b")
    edited = paras(*STORY_PORT, TRANSLATION_NOTE, "Update: the labour court will hear the case on Friday.")
    with sessions.begin() as session:
        row = session.get_one(ArticleRow, copy_id)
        assert dedup.assign_cluster(session, row) == first
        new_hash = dedup.content_hash(row.title, edited)
        dedup.record_revision(session, row, title=row.title, text=edited, new_hash=new_hash, fetched_at=T0)
        row.text, row.content_hash = edited, new_hash
        assert dedup.assign_cluster(session, row) == first
        assert dedup.assign_cluster(session, row) == first
    assert cluster(sessions, first).size == 2
    with sessions() as session:
        bands = session.scalar(
            select(func.count()).select_from(DedupBand).where(DedupBand.article_id == copy_id)
        )
        assert bands == dedup.DedupSettings().bands
        assert session.get_one(DedupSignature, copy_id).content_hash == new_hash


def test_lone_article_revised_into_a_copy_moves_to_that_cluster(sessions: sessionmaker[Session]) -> None:
    _, port = add_article(sessions, paras(*STORY_PORT))
    lone_id, lone = add_article(sessions, paras(*STORY_FLOOD), source="b")
    with sessions.begin() as session:
        row = session.get_one(ArticleRow, lone_id)
        row.text = paras(*STORY_PORT, BOILERPLATE_A)
        row.content_hash = dedup.content_hash(row.title, row.text)
        assert dedup.assign_cluster(session, row) == port
    assert cluster(sessions, port).size == 2
    with sessions() as session:
        assert session.get(StoryCluster, lone) is None


def test_earlier_fetched_member_becomes_first(sessions: sessionmaker[Session]) -> None:
    _, first = add_article(sessions, paras(*STORY_PORT), source="a")
    early_id, _ = add_article(
        sessions, paras(*STORY_PORT, BOILERPLATE_A), source="b", at=T0 - timedelta(days=1)
    )
    row = cluster(sessions, first)
    assert (row.first_article_id, row.first_source_id, row.first_seen_at) == (
        early_id,
        "b",
        T0 - timedelta(days=1),
    )


def test_forget_article_removes_its_fingerprint(sessions: sessionmaker[Session]) -> None:
    article_id, _ = add_article(sessions, paras(*STORY_PORT))
    with sessions.begin() as session:
        dedup.forget_article(session, article_id)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(DedupBand)) == 0
        assert session.get(DedupSignature, article_id) is None
    _, other = add_article(sessions, paras(*STORY_PORT), source="b")
    assert other != article_id


# -- the clusters CLI ---------------------------------------------------------------------------------------------


def test_clusters_list_and_show_cli(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from monitor.commands.clusters import clusters as clusters_cli

    original_id, cluster_id = add_article(sessions, paras(*STORY_PORT), source="a")
    copy_id, _ = add_article(
        sessions, paras(*STORY_PORT, TRANSLATION_NOTE), source="b", at=T0 + timedelta(hours=1)
    )
    add_article(sessions, paras(*STORY_PORT[:1], "A different story about the harbour."), source="b")
    db = f"sqlite:///{tmp_path / 'dedup.sqlite'}"
    runner = CliRunner()
    listed = runner.invoke(clusters_cli, ["list", "--db", db, "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert [(r["id"], r["size"], r["first_article_id"], r["sources"]) for r in rows] == [
        (cluster_id, 2, original_id, ["a", "b"])
    ]
    shown = runner.invoke(clusters_cli, ["show", str(cluster_id), "--db", db, "--json"])
    members = json.loads(shown.output)["members"]
    assert [(m["id"], m["first_seen"]) for m in members] == [(original_id, True), (copy_id, False)]
    missing = runner.invoke(clusters_cli, ["show", "999", "--db", db])
    assert missing.exit_code != 0 and "no story cluster with id 999" in missing.output


def test_thresholds_are_crawler_settings_with_clear_errors() -> None:
    from monitor.pipelines import dedup_settings

    assert dedup_settings({}) == dedup.DedupSettings()
    tuned = dedup_settings({"jaccard_threshold": "0.7", "min_words": "60"})
    assert (tuned.jaccard_threshold, tuned.min_words) == (0.7, 60)
    with pytest.raises(ValueError, match="unknown setting jacard_threshold"):
        dedup_settings({"jacard_threshold": 0.7})
    with pytest.raises(ValueError, match=r"MONITOR_DEDUP: .*jaccard_threshold must be in \(0, 1\]"):
        dedup_settings({"jaccard_threshold": 1.5})


def _merged(path: Path, settings: dedup.DedupSettings, texts: list[str]) -> bool:
    """Store the texts in a fresh database with these settings: did they end in one cluster?"""
    from storage.store import Store

    engine = Store.from_url(f"sqlite:///{path}").engine
    clusters = set()
    with make_sessionmaker(engine).begin() as session:
        session.add(Source(id="a", name="A", language="en"))
        for n, text in enumerate(texts):
            url = f"https://a.example/{n}"
            row = ArticleRow(source_id="a", canonical_url=url, url=url, title="Port", text=text,
                             content_hash=dedup.content_hash("Port", text), extractor_version="test",
                             fetched_at=T0)  # fmt: skip
            session.add(row)
            session.flush()
            clusters.add(dedup.assign_cluster(session, row, settings))
    engine.dispose()
    return len(clusters) == 1


def test_stricter_threshold_keeps_an_edited_copy_apart(tmp_path: Path) -> None:
    from monitor.pipelines import dedup_settings

    pair = [paras(*STORY_PORT), paras(BOILERPLATE_A, *STORY_PORT[:2], *STORY_PORT[3:], TRANSLATION_NOTE)]
    assert _merged(tmp_path / "default.db", dedup_settings({}), pair)
    strict = dedup_settings({"jaccard_threshold": 0.99, "containment_threshold": 0.99})
    assert not _merged(tmp_path / "strict.db", strict, pair)
