"""The sources file and environment settings: what loads, and what each mistake says (file:line, field)."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config import (
    PROJECT_URL,
    AppConfig,
    ConfigError,
    SourceConfig,
    dump_source_entry,
    format_duration,
    load_app_config,
    load_sources,
    parse_duration,
    parse_sources,
)

FIXTURES = Path(__file__).parent / "fixtures" / "config"
SHIPPED = Path(__file__).parent.parent / "sources.yaml"


def errors_of(text: str, origin: str = "sources.yaml") -> list[str]:
    """The error lines ConfigError reports for a sources text."""
    with pytest.raises(ConfigError) as info:
        parse_sources(textwrap.dedent(text), origin)
    assert str(info.value) == "\n".join(info.value.errors)
    return list(info.value.errors)


def one_source(**fields: str) -> str:
    """A sources text with one valid source (starting on line 2) whose YAML lines are replaced or added."""
    lines = {
        "id": "id: x",
        "name": "name: X",
        "language": "language: ar",
        "feeds": "feeds: [https://x.example/f]",
    }
    lines.update(fields)
    body = "\n".join(f"    {line}" for line in lines.values() if line)
    return "sources:\n" + "  - " + body.lstrip() + "\n"


# --- loading ---


def test_minimum_shape_loads_with_defaults() -> None:
    config = load_sources(FIXTURES / "minimal.yaml")
    (source,) = config.sources
    assert (source.id, source.name, source.language, source.country) == (
        "enab-baladi",
        "Enab Baladi",
        "ar",
        "SY",
    )
    assert source.feeds == ("https://www.enabbaladi.net/feed/",)
    assert (source.enabled, source.verified, source.timezone) == (True, False, None)
    assert source.tzinfo == ZoneInfo("Asia/Damascus")  # no timezone: the zone of its country, SY
    assert source.extract.body_selector is None and source.poll.interval is None
    assert config.by_id("enab-baladi") is source
    assert config.line_of("enab-baladi") == 2


@pytest.mark.parametrize(
    ("country", "timezone", "zone"),
    [
        ("GB", None, "Europe/London"),  # GB's domain is .uk
        ("CA", None, "America/Toronto"),  # several zones: the one most national outlets use
        ("US", None, None),  # several zones, none dominant: say `timezone`
        ("SY", "Europe/Istanbul", "Europe/Istanbul"),  # an exile outlet: the setting wins
        (None, None, None),
    ],
)
def test_zone_defaults_to_the_country(country: str | None, timezone: str | None, zone: str | None) -> None:
    source = SourceConfig(
        id="s", name="S", language="ar", country=country, timezone=timezone, feeds=("https://e.org/f",)
    )
    assert source.zone_name == zone
    assert source.tzinfo == (ZoneInfo(zone) if zone else None)


def test_full_schema_loads() -> None:
    config = load_sources(FIXTURES / "full.yaml")
    full = config.by_id("full_example-1")
    assert full.name == "مثال كامل" and full.tzinfo == ZoneInfo("Asia/Beirut")
    assert full.feeds == ("https://news.example.org/feed/", "https://news.example.org/feed/atom/")
    assert full.sitemaps == ("https://news.example.org/sitemap_news.xml",)
    assert [(item.url, item.link_selector, item.link_pattern) for item in full.listings] == [
        ("https://news.example.org/latest/", "div.list h2 > a", r"/\d{4}/\d{2}/"),
        ("https://news.example.org/politics/", "a.story", None),
    ]
    assert (full.enabled, full.verified, full.tags) == (False, True, ("lebanon", "test"))
    assert full.extract.drop_selectors == (".related", "div.ad", "aside")
    assert (full.extract.date_format, full.extract.language) == ("%d/%m/%Y %H:%M", "en")
    assert full.poll.interval == timedelta(minutes=30) and full.poll.max_interval == timedelta(days=1)
    assert (full.poll.min_interval, full.poll.conditional_get, full.poll.disabled) == (
        timedelta(minutes=10),
        False,
        True,
    )
    assert config.by_id("sitemap-only").feeds == ()
    assert config.ids() == ("full_example-1", "sitemap-only")


def test_sources_are_frozen_and_hashable() -> None:
    source = load_sources(FIXTURES / "minimal.yaml").sources[0]
    with pytest.raises(ValueError, match="frozen"):
        source.name = "Other"  # type: ignore[misc]
    assert hash(source) == hash(load_sources(FIXTURES / "minimal.yaml").sources[0])


def test_by_id_suggests_the_closest_id() -> None:
    with pytest.raises(KeyError, match="did you mean 'enab-baladi'"):
        load_sources(FIXTURES / "minimal.yaml").by_id("enab-balady")


# --- every error names file, line, source and field ---


def test_unsupported_scheme() -> None:
    text = """\
        sources:
          - id: enab-baladi
            name: Enab Baladi
            language: ar
            feeds:
              - ftp://www.enabbaladi.net/feed/
        """
    [error] = errors_of(text)
    assert error.startswith(
        "sources.yaml:6: source 'enab-baladi': field 'feeds[0]': unsupported scheme 'ftp'"
    )


def test_missing_id_names_the_position() -> None:
    text = """\
        sources:
          - id: a
            name: A
            language: ar
            feeds: [https://a.example/feed]
          - name: B
            language: ar
            feeds: [https://b.example/feed]
        """
    assert errors_of(text) == ["sources.yaml:6: source #2: missing required field 'id'"]


def test_unknown_field_suggests_the_known_one() -> None:
    errors = errors_of(one_source(feeds="feed: [https://x.example/f]"))
    assert "sources.yaml:5: source 'x': unknown field 'feed' (did you mean 'feeds'?)" in errors


def test_unknown_nested_field_suggests_the_nested_one() -> None:
    text = one_source(extract="extract:\n      body_selecter: div.body")
    assert errors_of(text) == [
        "sources.yaml:7: source 'x': unknown field 'extract.body_selecter'"
        " (did you mean 'extract.body_selector'?)"
    ]


def test_duplicate_id_names_both_lines() -> None:
    text = """\
        sources:
          - id: x
            name: X
            language: ar
            feeds: [https://a.example/feed]
          - id: x
            name: X again
            language: ar
            feeds: [https://b.example/feed]
        """
    assert errors_of(text) == ["sources.yaml:6: duplicate id 'x' (lines 2 and 6)"]


def test_duplicate_feed_url_names_both_sources() -> None:
    text = """\
        sources:
          - id: first
            name: First
            language: ar
            feeds: [https://a.example/feed]
          - id: second
            name: Second
            language: ar
            sitemaps: [https://b.example/sitemap.xml]
            feeds:
              - HTTPS://A.example/feed?utm_source=x
        """
    [error] = errors_of(text)
    assert error.startswith("sources.yaml:11: source 'second': field 'feeds[0]': URL ")
    assert error.endswith("is also feeds[0] of source 'first' (line 5)")


def test_invalid_yaml_gives_the_parser_line() -> None:
    text = "sources:\n  - id: x\n    name: X\n   language: ar\n"
    [error] = errors_of(text, "my.yaml")
    assert error.startswith("my.yaml:4: invalid YAML: ")


def test_forbidden_character_gives_its_line() -> None:
    assert errors_of("sources:\n  - id: x\n    name: \x07bell\n") == [
        "sources.yaml:3: invalid YAML: character 0x0007 is not allowed"
    ]


def test_duplicate_key_in_a_source_is_an_error() -> None:
    errors = errors_of(one_source(extra="feeds: [https://y.example/f]"))
    assert errors == ["sources.yaml:6: source 'x': duplicate key 'feeds' (lines 5 and 6)"]


@pytest.mark.parametrize(
    ("replace", "line", "expected"),
    [
        ({"id": "id: Enab Baladi"}, 2, "source 'Enab Baladi': field 'id': 'Enab Baladi' is not a slug"),
        ({"language": "language: arabic"}, 4, "field 'language': 'arabic' is not an ISO 639-1 code"),
        ({"extra": "country: sy"}, 6, "field 'country': 'sy' is not an ISO 3166-1 alpha-2 code"),
        ({"extra": "country: NO"}, 6, "field 'country': expected a string, but YAML read the value as bool False: quote it"),
        ({"extra": "timezone: Asia"}, 6, "field 'timezone': unknown IANA time zone 'Asia'"),
        ({"id": 'id: "abc\\n"'}, 2, "source 'abc\\n': field 'id': 'abc\\n' is not a slug"),
        ({"extra": "timezone: Asia/Damas"}, 6, "field 'timezone': unknown IANA time zone 'Asia/Damas' (did you mean 'Asia/Damascus'?)"),
        ({"extra": "homepage: javascript:alert(1)"}, 6, "field 'homepage': unsupported scheme 'javascript'"),
        ({"feeds": "feeds: ['https:///feed']"}, 5, "field 'feeds[0]': no host in 'https:///feed'"),
        ({"feeds": ""}, 2, "source 'x': needs at least one of 'feeds', 'sitemaps' or 'listings'"),
        ({"feeds": "feeds: https://x.example/f"}, 5, "field 'feeds': expected a list, got str 'https://x.example/f'"),
        ({"extra": "extract: div.body"}, 6, "field 'extract': expected a mapping of fields, got str 'div.body'"),
        ({"name": "name: [a]"}, 3, "field 'name': Input should be a valid string"),
        ({"extra": "enabled: maybe"}, 6, "field 'enabled': Input should be a valid boolean"),
        ({"extra": "notes: 2024-01-01"}, 6, "field 'notes': expected a string, but YAML read the value as date"),
        ({"extra": "listings:\n      - url: https://l.example/\n        link_selector: 'a[['"}, 8,
         "field 'listings[0].link_selector': invalid CSS selector 'a[['"),
        ({"extra": "listings:\n      - url: https://l.example/\n        link_selector: a\n        link_pattern: '(('"},
         9, "field 'listings[0].link_pattern': invalid regular expression '(('"),
        ({"extra": "listings:\n      - link_selector: a"}, 7, "missing required field 'listings[0].url'"),
        ({"extra": "extract:\n      byline_pattern: 'by (\\w+)'"}, 7,
         "field 'extract.byline_pattern': regular expression 'by ("),
        ({"extra": "extract:\n      date_format: '%d %Q'"}, 7, "field 'extract.date_format': invalid date format"),
        ({"extra": "extract:\n      drop_selectors: [.ad, '>>']"}, 7,
         "field 'extract.drop_selectors[1]': invalid CSS selector '>>'"),
        ({"extra": "poll:\n      interval: 10 minutes"}, 7,
         "field 'poll.interval': '10 minutes' is not a duration like '10m'"),
        ({"extra": "poll:\n      min_interval: 6h\n      max_interval: 1h"}, 6,
         "field 'poll': min_interval 6h exceeds max_interval 1h"),
        ({"extra": "poll:\n      interval: 2d\n      max_interval: 1d"}, 6,
         "field 'poll': interval 2d is outside min_interval..max_interval"),
    ],
)  # fmt: skip
def test_field_errors_name_file_line_source_and_field(
    replace: dict[str, str], line: int, expected: str
) -> None:
    [error] = errors_of(one_source(**replace))
    prefix = f"sources.yaml:{line}: "
    assert error.startswith(prefix), error
    assert expected in error, error
    if "byline_pattern" in expected:
        assert error.endswith("needs a named group (?P<name>...)"), error
    if "source '" not in expected:
        assert error.startswith(prefix + "source 'x': "), error


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "sources.yaml:1: the file must be a mapping with a 'sources' list"),
        ("- id: x\n", "sources.yaml:1: the file must be a mapping with a 'sources' list"),
        ("sourcs: []\n", "sources.yaml:1: unknown top-level key 'sourcs' (did you mean 'sources'?)"),
        ("sources:\n  id: x\n", "sources.yaml:2: 'sources' must be a list of sources"),
        ("sources:\n  - just a string\n", "sources.yaml:2: source #1: must be a mapping of fields"),
    ],
)
def test_top_level_shape_errors(text: str, expected: str) -> None:
    assert expected in errors_of(text)


def test_positions_count_every_entry() -> None:
    text = "sources:\n  - just a string\n  - name: B\n    language: ar\n    feeds: [https://b.example/f]\n"
    assert errors_of(text) == [
        "sources.yaml:2: source #1: must be a mapping of fields",
        "sources.yaml:3: source #2: missing required field 'id'",
    ]


def test_empty_source_list_is_allowed() -> None:
    assert parse_sources("sources: []\n", "s.yaml").sources == ()


def test_all_errors_are_collected_in_line_order() -> None:
    text = """\
        sources:
          - id: a
            name: A
            language: ar
            feed: [https://a.example/feed]
            feeds: [ftp://a.example/feed]
          - name: B
            language: xyz
            sitemaps: [https://b.example/s.xml]
          - id: a
            name: A2
            language: ar
            feeds: [https://c.example/feed]
            timezone: Mars/Olympus
        """
    errors = errors_of(text)
    assert [error.split(":")[1] for error in errors] == ["5", "6", "7", "8", "10", "14"]
    assert errors[2] == "sources.yaml:7: source #2: missing required field 'id'"
    assert errors[4] == "sources.yaml:10: duplicate id 'a' (lines 2 and 10)"


def test_unreadable_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match=r"nope\.yaml: cannot read sources file"):
        load_sources(missing)


# --- durations ---


def test_durations_parse() -> None:
    assert parse_duration("10m") == timedelta(minutes=10)
    assert parse_duration("6h") == timedelta(hours=6)
    assert parse_duration("1d") == timedelta(days=1)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    for bad in ("0m", "10", "m", "1y", "-5m", 600):
        with pytest.raises(ValueError):
            parse_duration(bad)


@given(st.integers(min_value=1, max_value=10**8))
def test_duration_spelling_round_trips(seconds: int) -> None:
    spelled = format_duration(timedelta(seconds=seconds))
    assert parse_duration(spelled) == timedelta(seconds=seconds)


# --- environment settings ---


def test_environment_defaults_ignore_other_variables() -> None:
    config = load_app_config({"PATH": "/usr/bin", "HOME": "/root"})
    assert config == AppConfig()
    assert config.database_url == "sqlite:///monitor.db" and config.sources_path == Path("sources.yaml")
    assert (config.user_agent_contact, config.smtp_url, config.log_level) == (PROJECT_URL, None, "INFO")


def test_environment_variables_are_read() -> None:
    config = load_app_config(
        {
            "MONITOR_DATABASE_URL": "postgresql+psycopg://u:p@db/monitor",
            "MONITOR_SOURCES": "/etc/monitor/sources.yaml",
            "MONITOR_CONTACT_URL": "https://example.org/about-our-crawler",
            "MONITOR_SMTP_URL": "smtp://alerts:s3cret@mail.example.org:587",
            "MONITOR_LOG_LEVEL": "debug",
            "MONITOR_TEST_POSTGRES_URL": "postgresql+psycopg://localhost/test",
            "MONITOR_TEST_REDIS_URL": "redis://localhost:6379/0",
            "MONITOR_REQUIRE_SERVICES": "1",
            "MONITOR_EVAL_DIR": "../shared/eval",
            "MONITOR_WATCHES": "watches.yaml",
            "MONITOR_WEBHOOK_SECRET": "hook-key",
            "MONITOR_OUTLETS_FILE": "/etc/monitor/outlets.yaml",
        }
    )
    assert config.database_url == "postgresql+psycopg://u:p@db/monitor"
    assert config.sources_path == Path("/etc/monitor/sources.yaml")
    assert config.user_agent_contact == "https://example.org/about-our-crawler"
    assert config.log_level == "DEBUG"
    assert config.smtp_url is not None
    assert config.smtp_url.get_secret_value() == "smtp://alerts:s3cret@mail.example.org:587"
    assert (config.watches_path, config.outlets_path) == (
        Path("watches.yaml"),
        Path("/etc/monitor/outlets.yaml"),
    )
    assert config.webhook_secret is not None and config.webhook_secret.get_secret_value() == "hook-key"
    assert "hook-key" not in repr(config) and "s3cret" not in repr(config)


def test_unknown_monitor_variable_is_refused_with_a_suggestion() -> None:
    with pytest.raises(ConfigError) as info:
        load_app_config({"MONITOR_DATABSE_URL": "sqlite://", "MONITOR_SMTP": "smtp://h"})
    assert info.value.errors == (
        "unknown environment variable MONITOR_DATABSE_URL (did you mean 'MONITOR_DATABASE_URL'?)",
        "unknown environment variable MONITOR_SMTP (did you mean 'MONITOR_SMTP_URL'?)",
    )


def test_bad_values_are_all_reported() -> None:
    with pytest.raises(ConfigError) as info:
        load_app_config(
            {
                "MONITOR_LOG_LEVEL": "verbose",
                "MONITOR_SMTP_URL": "http://u:hunter2@mail.example.org",
                "MONITOR_REQUIRE_SERVICES": "sometimes",
                "MONITOR_DATABASE_URL": "not a url",
            }
        )
    message = str(info.value)
    assert len(info.value.errors) == 4
    assert "MONITOR_LOG_LEVEL: unknown log level 'verbose'" in message
    assert "MONITOR_SMTP_URL: expected smtp://" in message
    assert "MONITOR_REQUIRE_SERVICES: expected 1/0" in message
    assert "MONITOR_DATABASE_URL: not an SQLAlchemy database URL" in message
    assert "hunter2" not in message


def test_empty_variable_means_unset() -> None:
    assert load_app_config({"MONITOR_SMTP_URL": "", "MONITOR_LOG_LEVEL": " "}) == AppConfig()


def test_smtp_password_is_masked_in_repr_and_str() -> None:
    config = load_app_config({"MONITOR_SMTP_URL": "smtps://alerts:s3cret@mail.example.org:465"})
    assert config.smtp_url is not None
    for shown in (
        repr(config),
        str(config),
        repr(config.smtp_url),
        str(config.smtp_url),
        f"{config.smtp_url}",
    ):
        assert "s3cret" not in shown
    assert str(config.smtp_url) == "smtps://alerts:***@mail.example.org:465"
    assert "mail.example.org" in repr(config)


# --- the shipped sources.yaml ---


def test_shipped_sources_file_loads() -> None:
    config = load_sources(SHIPPED)
    assert len(config.sources) >= 20
    assert len(set(config.ids())) == len(config.sources)
    assert all(source.verified is False for source in config.sources)
    assert all(source.timezone and source.country and source.feeds for source in config.sources)
    assert {source.language for source in config.sources} >= {"ar", "fa", "tr", "he", "en"}


def test_shipped_sources_file_says_it_is_unverified() -> None:
    header = SHIPPED.read_text(encoding="utf-8").split("sources:")[0]
    assert "not verified" in header.lower() or "NOT VERIFIED" in header
    assert "monitor sources check" in header


# --- writing entries ---


def test_dump_source_entry_is_ready_to_paste() -> None:
    source = load_sources(FIXTURES / "minimal.yaml").sources[0]
    assert dump_source_entry(source) == textwrap.indent(
        textwrap.dedent(
            """\
            - id: enab-baladi
              name: Enab Baladi
              language: ar
              country: SY
              feeds:
                - https://www.enabbaladi.net/feed/
              verified: false
            """
        ),
        "  ",
    )


def test_dump_source_entry_accepts_a_dict_and_validates_it() -> None:
    entry = {"id": "new-outlet", "name": "New", "language": "tr", "feeds": ["https://n.example/rss"]}
    assert parse_sources("sources:\n" + dump_source_entry(entry), "x").sources[0].feeds == (
        "https://n.example/rss",
    )
    with pytest.raises(
        ConfigError, match="source 'new-outlet': field 'feeds\\[0\\]': unsupported scheme 'ftp'"
    ):
        dump_source_entry(entry | {"feeds": ["ftp://n.example/rss"]})


def test_full_fixture_round_trips_through_dump() -> None:
    config = load_sources(FIXTURES / "full.yaml")
    text = "sources:\n" + "".join(dump_source_entry(source) for source in config.sources)
    assert parse_sources(text, "dumped").sources == config.sources


SELECTORS = [
    "a",
    "div.list h2 > a",
    "article .content",
    "time[datetime]",
    "#main p:nth-child(2)",
    "ul li a[href]",
]
PATTERNS = [r"/\d{4}/", r"^https://x\.example/news/", r"(?i)story-\d+"]
TIMEZONES = [*sorted(available_timezones())[:50], "Asia/Damascus", "Asia/Tehran", "Asia/Jerusalem"]
text_value = st.text(max_size=40)
url_path = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_~", max_size=20)
durations = st.lists(st.integers(min_value=1, max_value=10**7), min_size=3, max_size=3).map(sorted)


@st.composite
def sources(draw: st.DrawFn, source_id: str) -> dict[str, object]:
    """A valid source dict whose URLs live under a path named after its (unique) id."""
    base = f"https://src.example/{source_id}/{draw(url_path)}"
    entry: dict[str, object] = {
        "id": source_id,
        "name": draw(st.text(min_size=1, max_size=60)),
        "language": draw(st.from_regex(r"[a-z]{2}", fullmatch=True)),
        "feeds": [f"{base}?feed={i}" for i in range(draw(st.integers(0, 3)))],
        "sitemaps": [f"{base}?sitemap={i}" for i in range(draw(st.integers(0, 2)))],
        "listings": [
            {"url": f"{base}?listing={i}", "link_selector": draw(st.sampled_from(SELECTORS))}
            | ({"link_pattern": draw(st.sampled_from(PATTERNS))} if draw(st.booleans()) else {})
            for i in range(draw(st.integers(0 if draw(st.booleans()) else 1, 2)))
        ],
        "enabled": draw(st.booleans()),
        "verified": draw(st.booleans()),
        "notes": draw(st.text(max_size=80)),
        "tags": draw(st.lists(text_value, max_size=3)),
    }
    if not (entry["feeds"] or entry["sitemaps"] or entry["listings"]):
        entry["feeds"] = [base]
    if draw(st.booleans()):
        entry |= {
            "country": draw(st.from_regex(r"[A-Z]{2}", fullmatch=True)),
            "timezone": draw(st.sampled_from(TIMEZONES)),
        }
    if draw(st.booleans()):
        entry["extract"] = {
            "body_selector": draw(st.sampled_from(SELECTORS)),
            "drop_selectors": draw(st.lists(st.sampled_from(SELECTORS), max_size=3)),
            "date_format": draw(st.sampled_from(["%Y-%m-%d", "%d/%m/%Y %H:%M", "%B %d, %Y"])),
            "byline_pattern": draw(st.sampled_from([r"^By (?P<name>.+)$", r"(?P<name>\w+) writes"])),
        }
    if draw(st.booleans()):
        low, mid, high = draw(durations)
        entry["poll"] = {
            "min_interval": timedelta(seconds=low),
            "interval": timedelta(seconds=mid),
            "max_interval": timedelta(seconds=high),
            "conditional_get": draw(st.booleans()),
        }
    return entry


source_lists = st.lists(
    st.from_regex(r"[a-z0-9][a-z0-9-_]{0,20}", fullmatch=True), min_size=1, max_size=4, unique=True
).flatmap(lambda ids: st.tuples(*(sources(source_id) for source_id in ids)))


@settings(max_examples=150, deadline=None)
@given(source_lists)
def test_any_valid_source_list_round_trips_through_dump(entries: tuple[dict[str, object], ...]) -> None:
    expected = tuple(SourceConfig.model_validate(entry) for entry in entries)
    text = "sources:\n" + "".join(dump_source_entry(source) for source in expected)
    assert parse_sources(text, "generated.yaml").sources == expected


def test_extract_workers_variable_is_known_and_checked() -> None:
    assert load_app_config({"MONITOR_EXTRACT_WORKERS": "0"}) == load_app_config({})
    with pytest.raises(ConfigError, match="MONITOR_EXTRACT_WORKERS: expected a whole number"):
        load_app_config({"MONITOR_EXTRACT_WORKERS": "two"})
