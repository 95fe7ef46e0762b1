"""The HTTP API through FastAPI's TestClient, with the official ``openai`` client on top of it."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from fastapi.testclient import TestClient

from app.api.factory import create_app
from app.container import Container
from ingest.pipeline import IngestRequest

pytestmark = pytest.mark.integration

POLICY = """# 복리후생 안내

## 경조사비

본인 결혼 시 경조사비 100만원과 특별휴가 5일을 지급한다.
"""


@pytest.fixture
def client(container: Container, settings) -> Iterator[TestClient]:
    container.pipeline.ingest(
        IngestRequest(data=POLICY.encode(), filename="복리후생.md", source_key="b", is_public=True)
    )
    with TestClient(create_app(settings, container)) as test_client:
        yield test_client


def test_health_reports_documents(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["documents"] == 1


def test_search_returns_the_document_with_its_source(client: TestClient) -> None:
    response = client.post("/api/v1/search", json={"query": "결혼하면 경조사비 얼마", "k": 3})
    assert response.status_code == 200
    first = response.json()["results"][0]
    assert first["title"] == "복리후생 안내"
    assert first["file_name"] == "복리후생.md"
    assert "100만원" in first["text"]


def test_invalid_requests_get_problem_json_in_two_languages(client: TestClient) -> None:
    response = client.post("/api/v1/search", json={"query": ""})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["message_ko"] and body["message_en"]
    response = client.post("/v1/chat/completions", json={"messages": [{"role": "system", "content": "x"}]})
    assert response.status_code == 422
    assert response.json()["code"] == "no_question"


def test_openai_client_non_streaming_gets_answer_and_sources(client: TestClient) -> None:
    sdk = openai.OpenAI(base_url="http://testserver/v1", api_key="x", http_client=client)
    completion = sdk.chat.completions.create(
        model="jikji", messages=[{"role": "user", "content": "결혼 경조사비는?"}]
    )
    assert "100만원" in (completion.choices[0].message.content or "")
    sources = completion.model_extra["sources"]  # type: ignore[index]
    assert sources[0]["title"] == "복리후생 안내"
    assert sources[0]["cited"] is True


def test_openai_client_streaming_ends_with_sources_and_usage(client: TestClient) -> None:
    sdk = openai.OpenAI(base_url="http://testserver/v1", api_key="x", http_client=client)
    stream = sdk.chat.completions.create(
        model="jikji",
        messages=[{"role": "user", "content": "결혼 경조사비는?"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "100만원" in text
    final = next(c for c in chunks if c.choices and c.choices[0].finish_reason)
    assert final.model_extra["sources"][0]["file_name"] == "복리후생.md"  # type: ignore[index]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_models_lists_the_answering_model(client: TestClient) -> None:
    sdk = openai.OpenAI(base_url="http://testserver/v1", api_key="x", http_client=client)
    assert [m.id for m in sdk.models.list()] == ["fake-extractive"]
