"""The real API behind the Streamlit page tests (tests/integration/test_ui_pages.py).

:func:`running_backend` serves :func:`app.api.factory.create_app` with uvicorn in a thread, over a
temporary data directory: SQLite, embedded Chroma, Kiwi, the hashing embedder and the extractive
fake model (which a test may tell to say something else, see :class:`ScriptedModel`). The pages
reach it through a real :class:`ui.api_client.ApiClient`, over HTTP, exactly as in production.
:class:`UiBackend` seeds users and documents through the real services and reads back what the
pages did (conversations, feedback, sessions) from the database.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.factory import create_app
from app.container import Container
from app.services import accounts
from core.db import utcnow
from core.models import AuthSession, Conversation, Document, Feedback, Group, IngestionJob, Message, User
from core.settings import EmbeddingSettings, EvaluationSettings, JobSettings, Settings, UiSettings
from ingest.pipeline import IngestRequest
from llm.client import StreamChunk, Usage
from llm.fake import ExtractiveFakeModel
from retrieval.tokenizer import KiwiTokenizer
from tests.support.containers import make_container
from tests.support.servers import serve
from ui.api_client import ApiClient

PASSWORD = "correct-horse-battery-9"  # every test account's password
COMPANY = "테스트회사"
JOB_WAIT_S = 60.0


class ScriptedModel:
    """The extractive fake model; when :attr:`answer` is set, that text instead (streamed word by word)."""

    model = "fake-extractive"

    def __init__(self) -> None:
        self.answer: str | None = None
        self._extractive = ExtractiveFakeModel()

    def stream(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] = (),
    ) -> Iterator[StreamChunk]:
        """The fixed answer when one is set, else what the extractive fake says."""
        if self.answer is None:
            yield from self._extractive.stream(
                messages, max_tokens=max_tokens, temperature=temperature, stop=stop
            )
            return
        words = self.answer.split(" ")
        for i, word in enumerate(words):
            yield StreamChunk(text=word if i == 0 else " " + word)
        yield StreamChunk(finish_reason="stop", usage=Usage(1, len(words)))


class RequestLog:
    """ASGI middleware that notes the method and path of every HTTP request the API receives."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.requests: list[tuple[str, str]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Note the request, then hand it on."""
        if scope["type"] == "http":
            self.requests.append((str(scope["method"]), str(scope["path"])))
        await self.app(scope, receive, send)


def ui_settings(root: Path) -> Settings:
    """Settings for the page tests under ``root``: the test company, a logo path (absent until
    :meth:`UiBackend.set_logo`), a quick job worker and a question set at ``root/eval.jsonl``."""
    return Settings(
        data_dir=root / "data",
        embedding=EmbeddingSettings(model="hashing"),
        jobs=JobSettings(poll_interval_s=0.1),
        ui=UiSettings(company_name=COMPANY, logo_path=root / "logo.svg"),
        evaluation=EvaluationSettings(dataset=root / "eval.jsonl", answers_dataset=root / "answers.jsonl"),
    )


@dataclass
class UiBackend:
    """The running API: where it is, its container, the model it answers with and the requests it saw."""

    url: str
    container: Container
    model: ScriptedModel
    log: RequestLog

    @property
    def requests(self) -> list[tuple[str, str]]:
        """``(method, path)`` of every request so far, in order."""
        return self.log.requests

    # --- seeding ----------------------------------------------------------------------------

    def user(self, username: str, *, role: str = "employee", groups: Sequence[str] = ()) -> None:
        """A local account in ``groups`` (made when missing), password :data:`PASSWORD`."""
        self.groups(groups)
        with self.container.sessions.begin() as session:
            accounts.create_user(session, username, PASSWORD, role=role, group_names=tuple(groups))

    def groups(self, names: Sequence[str]) -> tuple[str, ...]:
        """The ids of groups ``names``, each made when missing."""
        ids = []
        with self.container.sessions.begin() as session:
            for name in names:
                group = session.scalar(select(Group).where(Group.name == name))
                ids.append(group.id if group else accounts.create_group(session, name).id)
        return tuple(ids)

    def document(self, text: str, filename: str, *, groups: Sequence[str] = (), public: bool = False) -> str:
        """Ingest a Markdown document through the real pipeline; its document id."""
        outcome = self.container.pipeline.ingest(
            IngestRequest(
                data=text.encode("utf-8"),
                filename=filename,
                source_key=f"test:{filename}",
                is_public=public,
                group_ids=self.groups(groups),
            )
        )
        self.container.index.refresh()
        return outcome.document_id

    def set_logo(self, image: bytes) -> None:
        """Configure a company logo (the file the settings point at)."""
        path = self.container.settings.ui.logo_path
        assert path is not None
        path.write_bytes(image)

    def write_eval_set(self, questions: Sequence[tuple[str, str]]) -> None:
        """The admin evaluation's question set: ``(question, gold file name)`` pairs."""
        path = self.container.settings.eval_dataset
        lines = [
            json.dumps({"id": f"q{i}", "question": q, "gold_files": [gold]}, ensure_ascii=False)
            for i, (q, gold) in enumerate(questions, start=1)
        ]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def write_answer_set(self, items: Sequence[tuple[str, str, str]]) -> None:
        """The admin answer evaluation's set: ``(question, expected answer, gold file name)``."""
        path = self.container.settings.evaluation.answers_dataset
        assert path is not None
        lines = [
            json.dumps({"id": f"a{i}", "question": q, "answers": [a], "gold_files": [g]}, ensure_ascii=False)
            for i, (q, a, g) in enumerate(items, start=1)
        ]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def record_answer(
        self,
        question: str,
        *,
        latency_ms: int,
        cited: str | None = None,
        rating: int | None = None,
        by: str = "admin",
    ) -> None:
        """Store one answered question, as the chat service would have (a conversation of ``by``, who also rates it)."""
        with self.container.sessions.begin() as session:
            user_id = session.scalars(select(User.id).where(User.username == by)).one()
            conversation = Conversation(user_id=user_id, title=question)
            session.add(conversation)
            session.flush()
            session.add(Message(conversation_id=conversation.id, role="user", content=question))
            sources = [{"number": 1, "document_id": cited, "cited": True}] if cited else []
            answer = Message(
                conversation_id=conversation.id,
                role="assistant",
                content="…",
                sources=sources,
                latency_ms=latency_ms,
                grounded=bool(cited),
            )
            session.add(answer)
            session.flush()
            if rating is not None:
                session.add(Feedback(message_id=answer.id, user_id=user_id, rating=rating))

    # --- clients ----------------------------------------------------------------------------

    def client(self, username: str | None = None) -> ApiClient:
        """A real API client on this server; signed in as ``username`` when given."""
        api = ApiClient(self.url)
        if username is not None:
            api.login(username, PASSWORD)
        return api

    def wait_for_jobs(self, timeout_s: float = JOB_WAIT_S) -> None:
        """Wait until the embedded worker has finished every queued ingestion job."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self.container.sessions() as session:
                active = session.scalar(
                    select(func.count())
                    .select_from(IngestionJob)
                    .where(IngestionJob.status.in_(("queued", "running")))
                )
            if not active:
                return
            assert time.monotonic() < deadline, f"{active} ingestion jobs still running"
            time.sleep(0.1)

    # --- reading back -----------------------------------------------------------------------

    def conversations(self, username: str) -> list[dict[str, Any]]:
        """``username``'s conversations, oldest first, each with its messages (oldest first)."""
        with self.container.sessions() as session:
            user_id = session.scalars(select(User.id).where(User.username == username)).one()
            rows = session.scalars(
                select(Conversation)
                .where(Conversation.user_id == user_id)
                .order_by(Conversation.created_at, Conversation.id)
            ).all()
            return [
                {
                    "id": c.id,
                    "title": c.title,
                    "messages": [
                        {"id": m.id, "role": m.role, "content": m.content}
                        for m in session.scalars(
                            select(Message)
                            .where(Message.conversation_id == c.id)
                            .order_by(Message.created_at, Message.id)
                        )
                    ],
                }
                for c in rows
            ]

    def document_ids(self) -> dict[str, str]:
        """File name → id of every document."""
        with self.container.sessions() as session:
            return {
                name: doc_id for doc_id, name in session.execute(select(Document.id, Document.display_name))
            }

    def feedback(self, message_id: str) -> dict[str, Any]:
        """The feedback stored for ``message_id``: its rating, and its comment when there is one."""
        with self.container.sessions() as session:
            row = session.scalars(select(Feedback).where(Feedback.message_id == message_id)).one()
            return {"rating": row.rating} | ({"comment": row.comment} if row.comment else {})

    def live_sessions(self) -> list[str]:
        """User names with a login session that is neither revoked nor expired."""
        with self.container.sessions() as session:
            rows = session.execute(
                select(User.username, AuthSession.expires_at, AuthSession.revoked_at).join(
                    User, User.id == AuthSession.user_id
                )
            )
            now: datetime = utcnow()
            return [name for name, expires, revoked in rows if revoked is None and expires > now]

    def end_sessions(self) -> None:
        """Forget every login session (as if they all expired)."""
        with self.container.sessions.begin() as session:
            session.execute(delete(AuthSession))


@pytest.fixture(name="keep_main_module", autouse=True)
def keep_main_module_fixture() -> Iterator[None]:
    """AppTest runs each script as ``__main__`` and leaves it in ``sys.modules``; a later
    multiprocessing child (the parsing sandbox) would re-run that script. Put the real one back.
    Import this fixture into a page-test module: it then applies to every test there."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@contextmanager
def running_backend(root: Path, kiwi: KiwiTokenizer) -> Iterator[UiBackend]:
    """The real API on a free port over a fresh data directory under ``root``."""
    model = ScriptedModel()
    container = make_container(ui_settings(root), kiwi, chat_model=model)
    log = RequestLog(create_app(container.settings, container))
    try:
        with serve(log) as url:
            yield UiBackend(url, container, model, log)
    finally:
        container.close()
