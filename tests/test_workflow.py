"""Translation workflow: allowed moves, audit trail, story-cluster sharing, CLI marking (single and bulk), and
the workflow fields of the JSONL export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from monitor import workflow
from monitor.commands.items import export
from monitor.commands.workflow import mark
from monitor.workflow import Change, WorkflowError
from storage import migrate
from storage.models import ArticleRow
from storage.store import Store
from storage.workflow_models import WorkflowEvent, WorkflowRow
from tests.test_store_backends import FakeSource, body_text, make_item


def _store(url: str) -> Store:
    migrate.upgrade(url)
    store = Store.from_url(url)
    store.sync_sources(
        [FakeSource(), FakeSource(id="pars", name="Pars", feeds=["https://pars.example/feed.xml"])]
    )
    return store


@pytest.fixture
def store(db_url: str) -> Store:
    """Three articles: 1 and 2 are the same story from two outlets (one cluster), 3 stands alone."""
    store = _store(db_url)
    store.save_article(make_item(1, text=body_text(100)))
    store.save_article(make_item(2, source="pars", text=body_text(100)))
    store.save_article(make_item(3))
    return store


def ids(store: Store) -> dict[str, int]:
    """Article id by URL path number."""
    with store.sessions() as session:
        return {r.url.rsplit("/", 1)[1] + r.source_id[0]: r.id for r in session.scalars(select(ArticleRow))}


def apply(store: Store, article_id: int, change: Change, actor: str = "rana") -> WorkflowEvent:
    with store.transaction() as session:
        return workflow.mark(session, article_id, change, actor)


def status(store: Store, article_id: int) -> str:
    with store.sessions() as session:
        row = session.get_one(ArticleRow, article_id)
        found = workflow.status_of(session, [row]).get(article_id)
        return found.status if found else "new"


def test_full_path_with_audit_trail(store: Store) -> None:
    a = ids(store)["3l"]
    for target in ("selected", "in_translation", "translated", "published"):
        apply(store, a, Change(status=target, note=f"to {target}"))
    assert status(store, a) == "published"
    with store.sessions() as session:
        trail = workflow.history(session, a)
    assert [(e.from_status, e.to_status) for e in trail] == [
        ("new", "selected"),
        ("selected", "in_translation"),
        ("in_translation", "translated"),
        ("translated", "published"),
    ]
    assert all(e.actor == "rana" and e.at.tzinfo is not None for e in trail)
    assert trail[0].note == "to selected"


def test_invalid_transition_names_article_and_allowed_moves(store: Store) -> None:
    a = ids(store)["3l"]
    with pytest.raises(
        WorkflowError, match=rf"article {a}: cannot go from new to published \(allowed: rejected"
    ):
        apply(store, a, Change(status="published"))
    with pytest.raises(WorkflowError, match="unknown status 'done'"):
        apply(store, a, Change(status="done"))
    apply(store, a, Change(status="rejected"))
    apply(store, a, Change(status="selected"))  # a rejected story can be reconsidered
    for target in ("in_translation", "translated", "published"):
        apply(store, a, Change(status=target))
    with pytest.raises(WorkflowError, match="none: it is final"):
        apply(store, a, Change(status="new"))


def test_priority_assignee_and_note_without_status_change(store: Store) -> None:
    a = ids(store)["3l"]
    apply(store, a, Change(status="selected"))
    event = apply(store, a, Change(priority=3, assignee="omid", note="urgent"), actor="desk")
    assert (event.from_status, event.to_status, event.priority, event.assignee) == (
        "selected",
        "selected",
        3,
        "omid",
    )
    with store.sessions() as session:
        row = session.scalars(select(WorkflowRow)).one()
    assert (row.priority, row.assignee, row.note, row.updated_by) == (3, "omid", "urgent", "desk")


def test_marking_one_cluster_member_marks_the_story(store: Store) -> None:
    known = ids(store)
    first, second, alone = known["1l"], known["2p"], known["3l"]
    with store.sessions() as session:
        clusters = {r.id: r.cluster_id for r in session.scalars(select(ArticleRow))}
    assert clusters[first] == clusters[second] != clusters[alone]  # the dedup stage put 1 and 2 together
    apply(store, first, Change(status="selected"))
    assert status(store, second) == "selected" and status(store, alone) == "new"
    with store.sessions() as session:
        assert workflow.chosen_articles(session, "selected") == [first]
        assert workflow.chosen_articles(session, "new") == [alone]
    apply(store, second, Change(status="in_translation"))  # the desk translates the other outlet's copy
    assert status(store, first) == "in_translation"
    with store.sessions() as session:
        assert workflow.chosen_articles(session, "in_translation") == [second]
        assert session.scalar(select(WorkflowRow.story_key)) == f"cluster:{clusters[first]}"


def test_a_marked_article_that_joins_a_cluster_brings_its_status(store: Store) -> None:
    known = ids(store)
    alone, member = known["3l"], known["1l"]
    apply(store, alone, Change(status="selected"))
    with store.transaction() as session:  # the dedup stage later puts it into the story of 1 and 2
        cluster = session.get_one(ArticleRow, member).cluster_id
        session.get_one(ArticleRow, alone).cluster_id = cluster
    apply(store, alone, Change(note="same story as #1"))
    assert status(store, member) == "selected"
    with store.sessions() as session:
        assert session.scalars(select(WorkflowRow.story_key)).one() == f"cluster:{cluster}"


def test_actor_from_by_then_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "layla")
    assert workflow.actor_name(None) == "layla"
    assert workflow.actor_name("editor") == "editor"


def test_cli_mark_records_who_and_refuses_atomically(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(sqlite_url)
    a = store.save_article(make_item(5)).article_id
    b = store.save_article(make_item(6)).article_id
    runner = CliRunner()
    monkeypatch.setenv("USER", "layla")
    result = runner.invoke(
        mark, [str(a), "--status", "selected", "--note", "lead", "--priority", "2", "--db", sqlite_url]
    )
    assert result.exit_code == 0, result.output
    assert f"#{a}: new → selected" in result.output
    # a valid move for b and an invalid one for a: neither happens
    result = runner.invoke(mark, [str(b), str(a), "--status", "rejected", "--db", sqlite_url])
    assert result.exit_code == 0, result.output
    result = runner.invoke(mark, [str(b), str(a), "--status", "published", "--db", sqlite_url])
    assert result.exit_code == 1 and "cannot go from rejected to published" in result.output
    assert "nothing was changed" in result.output
    assert status(store, a) == "rejected" and status(store, b) == "rejected"
    with store.sessions() as session:
        actors = set(session.scalars(select(WorkflowEvent.actor)))
    assert actors == {"layla"}


def test_cli_mark_bulk_and_usage_errors(sqlite_url: str) -> None:
    store = _store(sqlite_url)
    for n in (7, 8):
        store.save_article(make_item(n))
    store.save_article(make_item(9, source="pars"))
    runner = CliRunner()
    result = runner.invoke(
        mark, ["--source", "levant", "--status", "selected", "--by", "bot", "--db", sqlite_url]
    )
    assert result.exit_code == 0, result.output
    with store.sessions() as session:
        assert len(workflow.chosen_articles(session, "selected")) == 2
    assert runner.invoke(mark, ["--status", "selected", "--db", sqlite_url]).exit_code == 2
    assert runner.invoke(mark, ["1", "--db", sqlite_url]).exit_code == 2  # nothing to change
    result = runner.invoke(mark, ["999", "--status", "selected", "--db", sqlite_url])
    assert result.exit_code == 1 and "no article with id 999" in result.output


def test_jsonl_export_carries_workflow_and_filters_by_status(sqlite_url: str, tmp_path: Path) -> None:
    store = _store(sqlite_url)
    a = store.save_article(make_item(11)).article_id
    store.save_article(make_item(12))
    apply(store, a, Change(status="selected", priority=4, assignee="omid"))
    out = tmp_path / "sel.jsonl"
    result = CliRunner().invoke(export, ["--status", "selected", "--output", str(out), "--db", sqlite_url])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["status"], r["priority"], r["assignee"]) for r in records] == [
        (a, "selected", 4, "omid")
    ]
    result = CliRunner().invoke(export, ["--status", "published", "--output", str(out), "--db", sqlite_url])
    assert result.exit_code == 0 and out.read_text() == ""
    result = CliRunner().invoke(export, ["--status", "bogus", "--db", sqlite_url])
    assert result.exit_code == 2 and "unknown status" in result.output
