"""Canary suite: group A's documents must not leak to group B in any form, through any endpoint.

Documents of group A carry unique tokens. A user of group B, an API key of that user and an admin
key narrowed to group B then call every route in the OpenAPI schema (with A's ids where a route takes
an id), ask the chat APIs near-copies of A's text, and probe ids. No canary token, title, file name,
id or count of A's documents may appear in any response body or header.

History: a user of both groups talks about A's document, then reads and continues those conversations
through a key narrowed to group B, and again after being removed from group A (on SQLite and
PostgreSQL, with a generative model that records its prompts). The turns that drew on A's document —
and those whose answers had them as history — are withheld: not listed, not read, not given to the
model, not answered again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.services.turn_access import WITHHELD_TEXT, WITHHELD_TITLE
from core.models import Chunk, DocumentVersion
from core.settings import DatabaseSettings, EmbeddingSettings, LLMSettings, Settings
from llm.client import StreamChunk
from llm.fake import ExtractiveFakeModel
from retrieval.tokenizer import KiwiTokenizer
from tests.api_harness import ApiHarness, served_api
from tests.conftest import Store

pytestmark = pytest.mark.integration

CANARY_TOKENS = ("QZXVORTEX", "블루펭귄프로젝트", "캐너리알파")
SECRET_TEXT = f"""# 캐너리알파 기밀 보고서

## 제1조(목적)

① {CANARY_TOKENS[1]}의 예산은 {CANARY_TOKENS[0]} 코드로 관리하며 총 987억원이다.
② 이 문서는 재무팀만 열람한다.
"""
OPEN_TEXT = """# 사내 식당 안내

점심은 11시 30분부터 13시까지 제공한다. 예산 관련 문의는 총무팀으로 한다.
"""
B_TEXT = """# 영업팀 주간 보고

이번 주 영업 예산 집행률은 80퍼센트이며 다음 주 고객 방문이 예정되어 있다.
"""
NEAR_COPIES = (
    "블루펭귄프로젝트 예산은 얼마야?",
    "QZXVORTEX 코드로 관리하는 예산 총액",
    "캐너리알파 기밀 보고서 제1조 내용 알려줘",
    "재무팀만 열람하는 문서의 예산 987억원",
)


@pytest.fixture
def settings(settings_on_each_store: Settings) -> Settings:
    """The canaries run on every store setting: SQLite, PostgreSQL, PostgreSQL with a Chroma server."""
    return settings_on_each_store


@pytest.fixture
def world(api: ApiHarness) -> dict[str, Any]:
    """Group A's secret document, a public one, group B's own, and B's three kinds of caller."""
    secret_id = api.ingest(SECRET_TEXT, "canary_alpha_secret.md", groups=["재무팀"])
    api.ingest(OPEN_TEXT, "식당.md", public=True)
    api.ingest(B_TEXT, "영업보고.md", groups=["영업팀"])
    group_b = api.group("영업팀")
    finance_user = api.user("finance", groups=["재무팀"])
    b_user = api.user("sales", groups=["영업팀"])
    b_key = api.key(b_user, ["search", "chat", "documents:read"])
    admin = api.admin()
    narrowed_admin_key = api.key(admin, ["search", "chat", "documents:read"], group_ids=[group_b])
    with api.container.sessions() as session:
        version_ids = list(
            session.scalars(select(DocumentVersion.id).where(DocumentVersion.document_id == secret_id))
        )
        chunk_ids = list(session.scalars(select(Chunk.id).where(Chunk.document_id == secret_id)))
    # A conversation and message of the finance user, to probe with as well.
    conversation = api.client.post("/api/v1/conversations", json={}, headers=finance_user).json()["id"]
    message = api.client.post(
        f"/api/v1/conversations/{conversation}/messages",
        json={"content": NEAR_COPIES[0]},
        headers=finance_user,
    ).json()
    assert any(s["document_id"] == secret_id for s in message["sources"]), "setup: finance must see it"
    secrets = [*CANARY_TOKENS, secret_id, *version_ids, *chunk_ids, conversation, message["id"]]
    return {
        "callers": {"user": b_user, "key": b_key, "narrowed-admin-key": narrowed_admin_key},
        "ids": {
            "document_id": secret_id,
            "version_id": version_ids[0],
            "chunk_id": chunk_ids[0],
            "conversation_id": conversation,
            "message_id": message["id"],
        },
        "secrets": secrets,
    }


def _leaks(response_text: str, headers: dict[str, str], secrets: list[str]) -> list[str]:
    haystack = _without_echo(response_text) + " ".join(f"{k}: {v}" for k, v in headers.items())
    return [s for s in secrets if s in haystack]


def _without_echo(response_text: str) -> str:
    """Drop the search response's echo of the caller's own query (the caller's words, not A's)."""
    try:
        body = json.loads(response_text)
    except ValueError:
        return response_text
    if isinstance(body, dict) and "results" in body and "query" in body:
        body.pop("query")
    return json.dumps(body, ensure_ascii=False)


def _fill(path: str, ids: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in ids:
            return ids[name]
        if name == "id" and "/documents" in path:
            return ids["document_id"]
        if name == "id" and "/conversations" in path:
            return ids["conversation_id"]
        if name == "id" and "/messages" in path:
            return ids["message_id"]
        return ids["document_id"]

    return re.sub(r"\{([^}]+)\}", value, path)


BODIES: dict[str, Any] = {
    "/api/v1/search": {"query": NEAR_COPIES[0], "k": 20},
    "/v1/chat/completions": {"messages": [{"role": "user", "content": NEAR_COPIES[1]}]},
}


def _body_for(path: str) -> Any:
    if path in BODIES:
        return BODIES[path]
    if path.endswith("/messages"):
        return {"content": NEAR_COPIES[2]}
    if path.endswith("/feedback"):
        return {"rating": -1, "comment": "x"}
    if path.endswith("/groups"):
        return {"groups": ["영업팀"], "is_public": True}
    return {"title": "x", "name": "x", "query": NEAR_COPIES[3]}


def test_no_route_leaks_group_a_to_group_b(api: ApiHarness, world: dict[str, Any]) -> None:
    schema = api.client.get("/openapi.json").json()
    checked = 0
    for path, operations in schema["paths"].items():
        if path.startswith(("/api/v1/auth/logout", "/api/v1/auth/oidc/logout")):  # would end the session
            continue
        for method in operations:
            for caller, headers in world["callers"].items():
                url = _fill(path, world["ids"])
                body = _body_for(path) if method in {"post", "put", "patch"} else None
                response = api.client.request(method.upper(), url, json=body, headers=headers)
                assert response.status_code < 500, (method, url, caller, response.text)
                leaked = _leaks(response.text, dict(response.headers), world["secrets"])
                assert not leaked, (method, url, caller, leaked)
                checked += 1
    assert checked >= 30


def test_chat_with_near_copies_finds_nothing_of_group_a(api: ApiHarness, world: dict[str, Any]) -> None:
    for caller, headers in world["callers"].items():
        for question in NEAR_COPIES:
            response = api.client.post(
                "/v1/chat/completions",
                json={"messages": [{"role": "user", "content": question}]},
                headers=headers,
            )
            assert response.status_code == 200, (caller, response.text)
            assert not _leaks(response.text, dict(response.headers), world["secrets"]), (caller, question)
            found = api.client.post("/api/v1/search", json={"query": question, "k": 50}, headers=headers)
            assert not _leaks(found.text, {}, world["secrets"]), (caller, question)


def test_probing_a_hidden_id_looks_exactly_like_a_missing_one(api: ApiHarness, world: dict[str, Any]) -> None:
    hidden = world["ids"]["document_id"]
    missing = "0" * 32
    for headers in world["callers"].values():
        for template in ("/api/v1/documents/{}", "/api/v1/documents/{}/download"):
            seen = api.client.get(template.format(hidden), headers=headers)
            absent = api.client.get(template.format(missing), headers=headers)
            assert (seen.status_code, seen.json()) == (absent.status_code, absent.json())
            assert seen.status_code in {403, 404}


def test_list_counts_do_not_include_group_a(api: ApiHarness, world: dict[str, Any]) -> None:
    for headers in world["callers"].values():
        listed = api.client.get("/api/v1/documents", headers=headers).json()
        assert listed["total"] == len(listed["items"]) == 2
        assert {item["display_name"] for item in listed["items"]} == {"식당.md", "영업보고.md"}


# --- conversation history under a narrowed scope ---------------------------------------------------

FINANCE, SALES = "재무팀", "영업팀"
PUBLIC_QUESTION = "점심은 몇 시부터 제공해?"
SALES_QUESTION = "영업 예산 집행률은 얼마야?"


class RecordingModel(ExtractiveFakeModel):
    """The extractive fake (first sentence of source 1, cited) that keeps every prompt it is sent."""

    model = "fake-recording"

    def __init__(self) -> None:
        super().__init__()
        self.prompts: list[str] = []

    def stream(
        self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float, stop: Sequence[str] = ()
    ) -> Iterator[StreamChunk]:
        """Record the prompt, then answer like the fake."""
        self.prompts.append("\n".join(m["content"] for m in messages))
        return super().stream(messages, max_tokens=max_tokens, temperature=temperature, stop=stop)


@pytest.fixture
def recording() -> RecordingModel:
    """The model the history tests answer with."""
    return RecordingModel()


@pytest.fixture
def history_api(
    tmp_path: Path, store: Store, kiwi: KiwiTokenizer, recording: RecordingModel
) -> Iterator[ApiHarness]:
    """The API on each store setting, answering generatively with :class:`RecordingModel`."""
    settings = Settings(
        data_dir=tmp_path / "data",
        embedding=EmbeddingSettings(model="hashing"),
        database=DatabaseSettings(url=store.database_url),
        chroma=store.chroma,
        llm=LLMSettings(answer_mode="generative"),
    )
    with served_api(settings, kiwi, chat_model=recording) as api:
        yield api


@pytest.fixture
def talked(history_api: ApiHarness) -> dict[str, Any]:
    """A user of both groups with two conversations on A's secret document, asked in a login session.

    ``mixed``: the secret question, then a public one (whose answer had the secret turn as history).
    ``secret_only``: just the secret question (its last turn is the secret one).
    """
    api = history_api
    secret_id = api.ingest(SECRET_TEXT, "canary_alpha_secret.md", groups=[FINANCE])
    api.ingest(OPEN_TEXT, "식당.md", public=True)
    api.ingest(B_TEXT, "영업보고.md", groups=[SALES])
    both = api.user("fin-kim", groups=[FINANCE, SALES])
    conversations = {}
    for name, questions in {
        "mixed": (NEAR_COPIES[0], PUBLIC_QUESTION),
        "secret_only": (NEAR_COPIES[0],),
    }.items():
        conversation = api.client.post("/api/v1/conversations", json={}, headers=both).json()["id"]
        for question in questions:
            _ask(api, both, conversation, question)
        conversations[name] = conversation
    full = api.client.get(f"/api/v1/conversations/{conversations['mixed']}", headers=both).json()
    first_answer = full["messages"][1]
    assert any(s["document_id"] == secret_id for s in first_answer["sources"]), "setup: it must cite A"
    assert any(token in first_answer["content"] for token in CANARY_TOKENS), "setup: it must quote A"
    assert full["title"] == NEAR_COPIES[0]
    return {"user": both, "secret_id": secret_id, "secrets": [*CANARY_TOKENS, secret_id], **conversations}


def _ask(api: ApiHarness, headers: dict[str, str], conversation: str, question: str) -> dict[str, Any]:
    response = api.client.post(
        f"/api/v1/conversations/{conversation}/messages", json={"content": question}, headers=headers
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def _assert_history_withheld(
    api: ApiHarness, recording: RecordingModel, headers: dict[str, str], talked: dict[str, Any]
) -> None:
    """What ``headers`` (a caller of the same user who may no longer see A) gets from the history."""
    secrets, mixed = talked["secrets"], talked["mixed"]
    # The list: titles hidden, and a title filter does not find the secret question.
    listed = api.client.get("/api/v1/conversations", headers=headers)
    assert not _leaks(listed.text, dict(listed.headers), secrets)
    assert {item["title"] for item in listed.json()["items"]} == {WITHHELD_TITLE}
    found = api.client.get("/api/v1/conversations", params={"q": "블루펭귄"}, headers=headers).json()
    assert found == {"total": 0, "items": []}

    # Reading: both turns of `mixed` are placeholders (the public answer had the secret turn as history).
    read = api.client.get(f"/api/v1/conversations/{mixed}", headers=headers)
    assert read.status_code == 200 and not _leaks(read.text, dict(read.headers), secrets)
    messages = read.json()["messages"]
    assert [(m["role"], m["withheld"], m["content"]) for m in messages] == [
        (role, True, WITHHELD_TEXT) for role in ("user", "assistant", "user", "assistant")
    ]
    assert all(m["sources"] == [] and m["evidence"] == [] for m in messages)

    # A follow-up: the model is given none of the withheld turns; the new turn is the caller's own.
    recording.prompts.clear()
    answer = _ask(api, headers, mixed, SALES_QUESTION)
    assert recording.prompts and not any(_leaks(p, {}, secrets) for p in recording.prompts)
    assert not any(NEAR_COPIES[0] in p or PUBLIC_QUESTION in p for p in recording.prompts)
    assert not _leaks(json.dumps(answer, ensure_ascii=False), {}, secrets)
    after = api.client.get(f"/api/v1/conversations/{mixed}", headers=headers).json()["messages"]
    assert [m["withheld"] for m in after] == [True] * 4 + [False, False]
    assert after[-2]["content"] == SALES_QUESTION and after[-1]["content"] == answer["content"]

    # Regenerating the caller's own last turn works, again without the withheld turns.
    recording.prompts.clear()
    again = api.client.post(f"/api/v1/conversations/{mixed}/regenerate", json={}, headers=headers)
    assert again.status_code == 200, again.text
    assert recording.prompts and not any(_leaks(p, {}, secrets) for p in recording.prompts)
    assert not any(NEAR_COPIES[0] in p for p in recording.prompts)

    # Regenerating a withheld question is refused, and the answer stays for the full scope.
    refused = api.client.post(
        f"/api/v1/conversations/{talked['secret_only']}/regenerate", json={}, headers=headers
    )
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "turn_withheld" and refused.json()["message_ko"]
    assert not _leaks(refused.text, dict(refused.headers), secrets)


def test_a_narrowed_key_does_not_read_or_continue_history_built_on_hidden_documents(
    history_api: ApiHarness, recording: RecordingModel, talked: dict[str, Any]
) -> None:
    api = history_api
    narrowed = api.key(talked["user"], ["chat"], group_ids=[api.group(SALES)])
    _assert_history_withheld(api, recording, narrowed, talked)

    # The login session still sees every turn, the narrowed key's own included, and the secret answer
    # that the key could not regenerate is still there.
    full = api.client.get(f"/api/v1/conversations/{talked['mixed']}", headers=talked["user"]).json()
    assert full["title"] == NEAR_COPIES[0]
    assert [m["withheld"] for m in full["messages"]] == [False] * 6
    kept = api.client.get(f"/api/v1/conversations/{talked['secret_only']}", headers=talked["user"]).json()
    assert [m["role"] for m in kept["messages"]] == ["user", "assistant"]
    assert any(token in kept["messages"][1]["content"] for token in CANARY_TOKENS)
    listed = api.client.get("/api/v1/conversations", params={"q": "블루펭귄"}, headers=talked["user"])
    assert listed.json()["total"] == 2


def test_a_user_removed_from_a_group_does_not_read_or_continue_that_history(
    history_api: ApiHarness, recording: RecordingModel, talked: dict[str, Any]
) -> None:
    api = history_api
    admin = api.admin()
    user_id = api.client.get("/api/v1/auth/me", headers=talked["user"]).json()["user"]["id"]
    removed = api.client.patch(f"/api/v1/users/{user_id}", json={"groups": [SALES]}, headers=admin)
    assert removed.status_code == 200, removed.text
    _assert_history_withheld(api, recording, api.login("fin-kim"), talked)


def test_history_turns_on_documents_still_visible_are_shown_and_given_to_the_model(
    history_api: ApiHarness, recording: RecordingModel, talked: dict[str, Any]
) -> None:
    """Only what the narrowed scope cannot see is withheld: a conversation whose answers drew on the
    sales report and the public notice reads and continues in full through a key narrowed to sales.

    (Asked in the login session, the same question would also have been offered A's document as a
    source: that answer would be withheld from the key even though it cites only the sales report.)
    """
    api = history_api
    narrowed = api.key(talked["user"], ["chat"], group_ids=[api.group(SALES)])
    conversation = api.client.post("/api/v1/conversations", json={}, headers=narrowed).json()["id"]
    first = _ask(api, narrowed, conversation, SALES_QUESTION)
    recording.prompts.clear()
    _ask(api, narrowed, conversation, "다음 주에는 무엇이 예정되어 있어?")
    assert first["content"] in recording.prompts[-1]  # the visible answer is the model's history
    read = api.client.get(f"/api/v1/conversations/{conversation}", headers=narrowed).json()
    assert read["title"] == SALES_QUESTION
    assert [m["withheld"] for m in read["messages"]] == [False] * 4
    assert read["messages"][1]["content"] == first["content"]
    listed = api.client.get("/api/v1/conversations", params={"q": "영업"}, headers=narrowed).json()
    assert [item["id"] for item in listed["items"]] == [conversation]
