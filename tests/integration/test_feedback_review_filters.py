"""The feedback review's ``document_id`` filter, which the database applies first (SQLite ``json_each``,
PostgreSQL ``jsonb``), and the narrowed key's withheld answers, decided on light columns.

Bob (groups A and B) rated answers in five conversations. Document D is shared with B, S with A only,
E and F are public. The list for D must hold exactly the answers that depend on D: through their own
sources, through the history they were given only, and for answers stored before history documents
were recorded, through an earlier answer's sources — never an answer that merely shares a conversation
with a later one citing D. A key narrowed to B never gets the answer whose turn also drew on S.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.services.feedback_review import FeedbackQuery, may_depend_on, review_feedback
from app.services.golden import Narrowing
from core.db import new_id
from core.models import (
    Conversation,
    Document,
    DocumentVersion,
    Feedback,
    Group,
    Message,
    User,
    document_groups,
    user_groups,
)
from retrieval.chunk_store import visible_document_ids
from retrieval.types import AccessScope

pytestmark = pytest.mark.integration

START = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def sessions(sessions_on_each_database: sessionmaker[Session]) -> sessionmaker[Session]:
    return sessions_on_each_database


def _source(document_id: str) -> dict[str, Any]:
    return {"number": 1, "document_id": document_id, "title": "t", "snippet": "s", "cited": True}


class World:
    """Ids of the groups, documents and the feedback on each conversation's rated answer."""

    def __init__(self, session: Session) -> None:
        self.a, self.b = new_id(), new_id()
        session.execute(insert(Group), [{"id": self.a, "name": "재무팀"}, {"id": self.b, "name": "영업팀"}])
        self.bob = new_id()
        session.execute(insert(User), [{"id": self.bob, "username": "bob", "role": "employee"}])
        session.execute(insert(user_groups), [{"user_id": self.bob, "group_id": g} for g in (self.a, self.b)])
        self.d, self.s, self.e, self.f = (self._document(session, public) for public in (0, 0, 1, 1))
        session.execute(
            insert(document_groups),
            [{"document_id": self.d, "group_id": self.b}, {"document_id": self.s, "group_id": self.a}],
        )
        self.at = START
        self.feedback: dict[str, str] = {}
        # D only through the history the rated answer was given
        self._conversation(session, "history", [([self.d], [self.d]), ([self.e], [self.d, self.e])], 1)
        # the rated answer is on F; D is cited only later in the conversation
        self._conversation(session, "later", [([self.f], [self.f]), ([self.d], [self.f, self.d])], 0)
        # stored before history documents were recorded: D through the earlier answer's sources
        self._conversation(session, "old_history", [([self.d], None), ([self.e], None)], 1)
        # stored before they were recorded, D cited only after the rated answer
        self._conversation(session, "old_later", [([self.e], None), ([self.d], None)], 0)
        # D cited, but the same answer also drew on S (group A only) through its history
        self._conversation(session, "secret", [([self.s], [self.s]), ([self.d], [self.s, self.d])], 1)
        # D in its own sources
        self._conversation(session, "own", [([self.d], [self.d])], 0)

    def _document(self, session: Session, public: int) -> str:
        document_id, version_id = new_id(), new_id()
        session.execute(
            insert(Document),
            [{"id": document_id, "title": "t", "display_name": "t.md", "is_public": bool(public)}],
        )
        session.execute(
            insert(DocumentVersion),
            [
                {
                    "id": version_id,
                    "document_id": document_id,
                    "number": 1,
                    "content_hash": new_id(),
                    "file_key": new_id(),
                    "format": "md",
                    "size_bytes": 1,
                }
            ],
        )
        session.execute(
            update(Document).where(Document.id == document_id).values(current_version_id=version_id)
        )
        return document_id

    def _conversation(
        self, session: Session, name: str, answers: list[tuple[list[str], list[str] | None]], rated: int
    ) -> None:
        conversation_id = new_id()
        session.execute(insert(Conversation), [{"id": conversation_id, "user_id": self.bob, "title": name}])
        for number, (sources, context) in enumerate(answers):
            self.at += timedelta(minutes=1)
            question = {"id": new_id(), "role": "user", "content": f"{name} {number}?", "sources": []}
            answer: dict[str, Any] = {
                "id": new_id(),
                "role": "assistant",
                "content": f"{name} {number}",
                "sources": [_source(d) for d in sources],
            }
            if context is not None:  # older answers have none (SQL NULL)
                answer["context_document_ids"] = context
            for offset, row in enumerate((question, answer)):
                at = self.at + timedelta(seconds=offset)
                session.execute(
                    insert(Message), [{**row, "conversation_id": conversation_id, "created_at": at}]
                )
            if number == rated:
                self.feedback[name] = new_id()
                row = {
                    "id": self.feedback[name],
                    "message_id": answer["id"],
                    "user_id": self.bob,
                    "rating": 1,
                }
                session.execute(insert(Feedback), [{**row, "created_at": self.at}])


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> World:
    with sessions.begin() as session:
        return World(session)


def _names(world: World, ids: list[str]) -> list[str]:
    names = {i: n for n, i in world.feedback.items()}
    return [names[i] for i in ids]


def test_the_database_keeps_a_superset_exact_for_recorded_answers(
    sessions: sessionmaker[Session], world: World
) -> None:
    with sessions() as session:
        stmt = (
            select(Feedback.id)
            .join(Message, Message.id == Feedback.message_id)
            .where(may_depend_on(session, world.d))
        )
        found = set(_names(world, list(session.scalars(stmt))))
    # recorded answers exactly; an older one whenever its conversation cites D (the service decides)
    assert found == {"history", "old_history", "old_later", "secret", "own"}


def test_document_filter_for_the_full_admin(sessions: sessionmaker[Session], world: World) -> None:
    with sessions() as session:
        total, items = review_feedback(session, AccessScope.admin(), FeedbackQuery(document_id=world.d))
        assert total == 4
        assert _names(world, [i["id"] for i in items]) == ["own", "secret", "old_history", "history"]
        assert not any(i["withheld"] for i in items)
        total, page = review_feedback(
            session, AccessScope.admin(), FeedbackQuery(document_id=world.d, limit=2, offset=1)
        )
        assert (total, _names(world, [i["id"] for i in page])) == (4, ["secret", "old_history"])
        total, items = review_feedback(session, AccessScope.admin(), FeedbackQuery(document_id=world.e))
        assert set(_names(world, [i["id"] for i in items])) == {"history", "old_history", "old_later"}


def test_narrowed_key_never_gets_the_answer_that_drew_on_another_groups_document(
    sessions: sessionmaker[Session], world: World
) -> None:
    with sessions() as session:
        scope = AccessScope(group_ids=frozenset({world.b}))
        narrowing = Narrowing(frozenset({world.b}), visible_document_ids(session, scope))
        total, items = review_feedback(session, scope, FeedbackQuery(document_id=world.d), narrowing)
        assert (total, _names(world, [i["id"] for i in items])) == (3, ["own", "old_history", "history"])
        total, items = review_feedback(session, scope, FeedbackQuery(), narrowing)
        assert total == 5
        assert "secret" not in _names(world, [i["id"] for i in items])
        # a key narrowed to A does not get it either: the same answer drew on D, which A does not see
        scope_a = AccessScope(group_ids=frozenset({world.a}))
        narrowing_a = Narrowing(frozenset({world.a}), visible_document_ids(session, scope_a))
        total, items = review_feedback(session, scope_a, FeedbackQuery(document_id=world.s), narrowing_a)
        assert (total, _names(world, [i["id"] for i in items])) == (0, [])
