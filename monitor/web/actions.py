"""Desk actions, delegated to the translation workflow (`monitor.workflow`): the desk owns no status logic.

Every change goes through `workflow.mark`, which checks the move and appends the audit event with its time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from monitor import workflow
from monitor.workflow import Change

ACTIONS = {
    "select": "Selected for translation",
    "reject": "Rejected",
    "priority": "Set the priority of",
    "assign": "Assigned",
    "note": "Added a note to",
}
PRIORITIES = (0, 1, 2, 3)
MAX_NOTE = 2000
MAX_ASSIGNEE = 100


class ActionError(ValueError):
    """A posted action is malformed; the message names the field."""


@dataclass(slots=True, frozen=True)
class Action:
    """One posted action with its argument."""

    name: str
    priority: int | None = None
    assignee: str | None = None
    note: str | None = None

    @property
    def verb(self) -> str:
        """Past-tense description for the flash message."""
        return ACTIONS[self.name]


@dataclass(slots=True)
class ActionResult:
    """Which articles changed and which were refused (with the workflow's reason)."""

    done: list[int] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)


def _priority(raw: str | None) -> int:
    """A priority from the form."""
    if raw is None or not raw.strip().lstrip("-").isdigit() or int(raw) not in PRIORITIES:
        raise ActionError(f"priority={raw!r}: expected one of {', '.join(map(str, PRIORITIES))}")
    return int(raw)


def _text(form: MultiDict[str, str], name: str, limit: int) -> str:
    """A required, bounded text field."""
    value = (form.get(name) or "").strip()
    if not value:
        raise ActionError(f"{name}: empty")
    if len(value) > limit:
        raise ActionError(f"{name}: longer than {limit} characters")
    return value


def parse_action(form: MultiDict[str, str]) -> Action:
    """The action of a posted form; ActionError names the bad field."""
    name = form.get("action", "")
    if name not in ACTIONS:
        raise ActionError(f"action={name!r}: expected one of {', '.join(ACTIONS)}")
    if name == "priority":
        return Action(name, priority=_priority(form.get("priority")))
    if name == "assign":
        return Action(name, assignee=_text(form, "assignee", MAX_ASSIGNEE))
    if name == "note":
        return Action(name, note=_text(form, "note", MAX_NOTE))
    return Action(name, note=(form.get("note") or "").strip()[:MAX_NOTE] or None)


def change_for(action: Action) -> Change:
    """The workflow change an action asks for."""
    status = {"select": "selected", "reject": "rejected"}.get(action.name)
    return Change(status=status, note=action.note, priority=action.priority, assignee=action.assignee)


def apply(session: Session, article_ids: Sequence[int], action: Action, actor: str) -> ActionResult:
    """Apply an action to each article through `monitor.workflow.mark`, committed together.

    Each article gets a savepoint: one the workflow refuses (unknown id, a move not allowed) is reported with
    the workflow's reason and the others still change.
    """
    change, result = change_for(action), ActionResult()
    for article_id in article_ids:
        try:
            with session.begin_nested():
                workflow.mark(session, article_id, change, actor)
        except workflow.WorkflowError as exc:
            result.refused.append((article_id, str(exc)))
        else:
            result.done.append(article_id)
    session.commit()
    return result
