"""Watches file: validation errors with file, line, watch and field; safe add/remove; the `watch` CLI."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.alerts.cli import watch as watch_cli
from monitor.alerts.watches import (
    Term,
    Watch,
    WatchesError,
    add_watch,
    load_watches,
    parse_duration,
    parse_watches,
    remove_watch,
)

GOOD = """\
# desk watches
watches:
  - name: iran-in-syria
    any: ["نصير زاده", "Nasirzadeh", "Nasir Zadeh", "نصیرزاده"]
    all: []
    none: ["كرة القدم"]
    channels: ["email:desk@example.org", "webhook:https://hooks.example.org/monitor"]

  # second one
  - name: damascus
    any: ["دمشق*", {term: Damascus, whole_word: false}]
    all: [["الأسد", "Assad"]]
    title_only: true
    languages: [ar, en]
    mode: digest
    digest_every: 6h
"""


def test_good_file_parses_with_shorthands() -> None:
    first, second = parse_watches(GOOD)
    assert first.name == "iran-in-syria" and len(first.any) == 4
    assert first.channels[1] == "webhook:https://hooks.example.org/monitor"
    assert second.any[0] == (Term(term="دمشق", prefix=True),)
    assert second.any[1][0].whole_word is False
    assert [t.term for t in second.all[0]] == ["الأسد", "Assad"]
    assert second.digest_interval == timedelta(hours=6)
    assert first.mode == "instant" and first.whole_word is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "watches:\n  - name: a\n    any: [x]\n    titel_only: true\n",
            "w.yaml:4: watch 'a': field 'titel_only': Extra inputs",
        ),
        (
            "watches:\n  - name: a\n    any: [x]\n    channels: [pager:1]\n",
            "w.yaml:4: watch 'a': field 'channels': unknown channel",
        ),
        (
            "watches:\n  - name: a\n    any: [x]\n    channels: ['email:nobody']\n",
            "field 'channels': invalid email",
        ),
        (
            "watches:\n  - name: a\n    any: [x]\n    channels: ['webhook:ftp://h/x']\n",
            "webhook URL must be http(s)",
        ),
        ("watches:\n  - name: a\n    none: [x]\n", "w.yaml:2: watch 'a': a watch needs at least one term"),
        (
            "watches:\n  - name: a\n    any: [x]\n    mode: digest\n    digest_every: soon\n",
            "w.yaml:5: watch 'a': field 'digest_every': invalid duration",
        ),
        ("watches:\n  - name: a\n    any: [x]\n    digest_every: 1h\n", "only used with mode: digest"),
        (
            "watches:\n  - name: a\n    any: [x, {term: y, prefx: true}]\n",
            "w.yaml:3: watch 'a': field 'any.1.0.prefx'",
        ),
        ("watches:\n  - name: a\n    any: ['ـــ']\n", "empty after normalisation"),
        ("watches:\n  - any: [x]\n", "w.yaml:2: watch #1: field 'name': Field required"),
        (
            "watches:\n  - {name: a, any: [x]}\n  - {name: a, any: [y]}\n",
            "w.yaml:3: watch 'a': duplicate name",
        ),
        ("watches:\n  - name: a\n    any: [x\n", "w.yaml:4: YAML syntax error"),
        ("watchs: []\n", "w.yaml:1: field 'watchs': Extra inputs"),
        ("- a\n", "expected a mapping"),
    ],
)
def test_errors_name_file_line_watch_and_field(text: str, expected: str) -> None:
    with pytest.raises(WatchesError) as caught:
        parse_watches(text, "w.yaml")
    assert expected in str(caught.value)


def test_all_errors_are_reported_together() -> None:
    text = "watches:\n  - name: a\n    any: [x]\n    bogus: 1\n  - name: b\n    any: [y]\n    mode: hourly\n"
    with pytest.raises(WatchesError) as caught:
        parse_watches(text, "w.yaml")
    message = str(caught.value)
    assert "w.yaml:4: watch 'a': field 'bogus'" in message
    assert "w.yaml:7: watch 'b': field 'mode'" in message


def test_empty_file_and_empty_list_mean_no_watches() -> None:
    assert parse_watches("") == []
    assert parse_watches("watches:\n") == []


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(WatchesError, match="cannot read watches file"):
        load_watches(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("text", "seconds"), [("30m", 1800), ("6h", 21600), ("7d", 604800), ("90s", 90), ("2w", 1209600)]
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["0m", "6", "h", "1y", "-1h"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


def test_add_keeps_comments_and_validates(tmp_path: Path) -> None:
    path = tmp_path / "watches.yaml"
    path.write_text(GOOD, encoding="utf-8")
    add_watch(path, Watch(name="new", any=[["طهران", "Tehran"]], none=["Tehran*"], channels=["log"]))
    text = path.read_text(encoding="utf-8")
    assert "# desk watches" in text and "# second one" in text
    watches = load_watches(path)
    assert [w.name for w in watches] == ["iran-in-syria", "damascus", "new"]
    assert watches[2].any[0][1].term == "Tehran" and watches[2].none[0][0].prefix


def test_add_duplicate_leaves_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "watches.yaml"
    path.write_text(GOOD, encoding="utf-8")
    with pytest.raises(WatchesError, match="already exists"):
        add_watch(path, Watch(name="damascus", any=["x"]))
    assert path.read_text(encoding="utf-8") == GOOD
    assert [p.name for p in tmp_path.iterdir()] == ["watches.yaml"]


def test_add_to_missing_or_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "watches.yaml"
    add_watch(path, Watch(name="one", any=["x"]))
    add_watch(path, Watch(name="two", any=["y"]))
    assert [w.name for w in load_watches(path)] == ["one", "two"]


def test_add_refuses_when_existing_file_is_invalid(tmp_path: Path) -> None:
    path = tmp_path / "watches.yaml"
    path.write_text("watches:\n  - name: a\n    bogus: 1\n", encoding="utf-8")
    with pytest.raises(WatchesError, match="bogus"):
        add_watch(path, Watch(name="b", any=["x"]))


def test_remove_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "watches.yaml"
    path.write_text(GOOD, encoding="utf-8")
    remove_watch(path, "iran-in-syria")
    assert [w.name for w in load_watches(path)] == ["damascus"]
    assert "# desk watches" in path.read_text(encoding="utf-8")
    remove_watch(path, "damascus")
    assert load_watches(path) == []
    with pytest.raises(WatchesError, match="no watch named"):
        remove_watch(path, "damascus")


def test_cli_add_list_remove(tmp_path: Path) -> None:
    path = str(tmp_path / "w.yaml")
    runner = CliRunner()
    added = runner.invoke(
        watch_cli,
        [
            "add",
            "syria",
            "--any",
            "دمشق|Damascus",
            "--any",
            "حلب*",
            "--none",
            "football",
            "--channel",
            "log",
            "--watches",
            path,
        ],
    )
    assert added.exit_code == 0, added.output
    listed = runner.invoke(watch_cli, ["list", "--json", "--watches", path])
    data = json.loads(listed.output)
    assert data == [
        {"name": "syria", "any": [["دمشق", "Damascus"], "حلب*"], "none": ["football"], "channels": ["log"]}
    ]
    table = runner.invoke(watch_cli, ["list", "--watches", path])
    assert "syria" in table.output
    removed = runner.invoke(watch_cli, ["remove", "syria", "--watches", path])
    assert removed.exit_code == 0
    assert json.loads(runner.invoke(watch_cli, ["list", "--json", "--watches", path]).output) == []


def test_cli_errors_are_click_exceptions(tmp_path: Path) -> None:
    path = str(tmp_path / "w.yaml")
    runner = CliRunner()
    bad = runner.invoke(watch_cli, ["add", "x", "--channel", "pager:1", "--any", "a", "--watches", path])
    assert bad.exit_code == 1 and "unknown channel" in bad.output
    empty = runner.invoke(watch_cli, ["add", "x", "--watches", path])
    assert empty.exit_code == 1 and "at least one term" in empty.output
    missing = runner.invoke(watch_cli, ["remove", "nope", "--watches", path])
    assert missing.exit_code == 1
    assert not Path(path).exists()


def test_example_watches_file_is_valid() -> None:
    example = Path(__file__).parent.parent / "monitor" / "alerts" / "watches.example.yaml"
    names = [w.name for w in load_watches(example)]
    assert names == ["iran-in-syria", "damascus-talks", "tehran-headlines"]


def test_add_to_unindented_list_keeps_its_style(tmp_path: Path) -> None:
    path = tmp_path / "watches.yaml"
    path.write_text("watches:\n- name: a\n  any: [x]\n# end\n", encoding="utf-8")
    add_watch(path, Watch(name="b", any=["y"]))
    assert path.read_text(encoding="utf-8").startswith("watches:\n- name: a\n  any: [x]\n- name: b\n")
    assert [w.name for w in load_watches(path)] == ["a", "b"]
