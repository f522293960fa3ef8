"""Feed parsing wrapped into typed records: good, bozo, not-a-feed, odd entries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.feeds import MAX_FEED_BYTES, parse_feed

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Outlet</title><ttl>30</ttl>
<item><title>One</title><link>https://example.org/1</link><guid isPermaLink="false">g1</guid>
<pubDate>Mon, 18 Nov 2024 09:00:00 +0300</pubDate><category>Syria</category><author>a@b.c (Jane Doe)</author></item>
<item><title>No link</title><guid isPermaLink="false">g2</guid></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:a</id><updated>2024-11-18T09:00:00Z</updated>
<entry><title>E</title><id>urn:e</id><link rel="alternate" href="https://example.org/e"/>
<updated>2024-11-18T10:00:00+02:00</updated><author><name>Sam Roe</name></author></entry></feed>"""


def test_rss_entries_are_typed() -> None:
    feed = parse_feed(RSS, "https://example.org/feed")
    assert feed.version == "rss20" and feed.is_feed and not feed.bozo
    first, second = feed.entries
    assert first.link == "https://example.org/1" and first.guid == "g1"
    assert first.published == datetime(2024, 11, 18, 6, 0, tzinfo=UTC)
    assert first.tags == ("Syria",)
    assert second.link is None
    assert feed.ttl_minutes == 30


def test_atom_entry_link_and_author() -> None:
    (entry,) = parse_feed(ATOM, "https://example.org/atom").entries
    assert entry.link == "https://example.org/e"
    assert entry.authors == ("Sam Roe",)
    assert entry.updated == datetime(2024, 11, 18, 8, 0, tzinfo=UTC)


def test_bozo_feed_still_yields_entries() -> None:
    body = RSS.replace(b"<title>One</title>", b"<title>One & two</title>")
    feed = parse_feed(body, "https://example.org/feed")
    assert feed.bozo and feed.bozo_message and feed.is_feed
    assert [e.guid for e in feed.entries] == ["g1", "g2"]


def test_html_page_is_not_a_feed() -> None:
    feed = parse_feed(
        b"<html><head><title>Home</title></head><body><p>hi</p></body></html>", "https://x/", "text/html"
    )
    assert not feed.is_feed and feed.bozo_message


def test_relative_links_are_resolved_against_the_feed_url() -> None:
    body = RSS.replace(b"https://example.org/1", b"/news/1")
    assert parse_feed(body, "https://example.org/feed").entries[0].link == "https://example.org/news/1"


def test_oversized_body_is_refused_before_parsing() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        parse_feed(b" " * (MAX_FEED_BYTES + 1), "https://example.org/feed")


def test_undeclared_windows_1256_feed() -> None:
    title = "أزمة مياه الشرب في ريف دمشق"
    body = f'<rss version="2.0"><channel><title>ش</title><item><title>{title}</title><link>https://x/1</link></item></channel></rss>'
    feed = parse_feed(body.encode("cp1256"), "https://x/feed", "text/xml")
    assert feed.entries and feed.entries[0].link == "https://x/1"


def test_syndication_update_period_and_frequency() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">'
        b"<channel><title>T</title><sy:updatePeriod> Hourly </sy:updatePeriod>"
        b"<sy:updateFrequency>2</sy:updateFrequency></channel></rss>"
    )
    feed = parse_feed(body, "https://example.org/feed")
    assert (feed.update_period, feed.update_frequency, feed.ttl_minutes) == ("hourly", 2, None)
    assert parse_feed(RSS, "https://example.org/feed").update_period is None
