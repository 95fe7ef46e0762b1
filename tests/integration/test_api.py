"""The HTTP API through FastAPI's TestClient, with the official ``openai`` client on top of it."""

from __future__ import annotations

import openai
import pytest

from core.settings import Settings
from tests.api_harness import ApiHarness

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(settings_on_each_database: Settings) -> Settings:
    """These tests run on SQLite and on PostgreSQL."""
    return settings_on_each_database


POLICY = """# 복리후생 안내

## 경조사비

본인 결혼 시 경조사비 100만원과 특별휴가 5일을 지급한다.
"""


@pytest.fixture
def harness(api: ApiHarness) -> ApiHarness:
    api.ingest(POLICY, "복리후생.md", public=True)
    return api


@pytest.fixture
def employee(harness: ApiHarness) -> dict[str, str]:
    return harness.user("kim")


def _sdk(harness: ApiHarness, headers: dict[str, str]) -> openai.OpenAI:
    token = headers["Authorization"].removeprefix("Bearer ")
    return openai.OpenAI(base_url="http://testserver/v1", api_key=token, http_client=harness.client)


def test_health_is_public_and_reveals_no_counts(harness: ApiHarness) -> None:
    body = harness.client.get("/health").json()
    assert body["status"] == "ok"
    assert "documents" not in body


def test_every_content_endpoint_needs_authentication(harness: ApiHarness) -> None:
    client = harness.client
    for method, path, body in [
        ("POST", "/api/v1/search", {"query": "경조사비"}),
        ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "경조사비"}]}),
        ("GET", "/v1/models", None),
        ("GET", "/api/v1/conversations", None),
        ("GET", "/api/v1/auth/me", None),
    ]:
        response = client.request(method, path, json=body)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["code"] == "unauthenticated"
        bogus = client.request(method, path, json=body, headers={"Authorization": "Bearer jks_forged"})
        assert bogus.status_code == 401, path


def test_search_returns_the_document_with_its_source(harness: ApiHarness, employee: dict[str, str]) -> None:
    client = harness.client
    response = client.post(
        "/api/v1/search", json={"query": "결혼하면 경조사비 얼마", "k": 3}, headers=employee
    )
    assert response.status_code == 200
    first = response.json()["results"][0]
    assert first["title"] == "복리후생 안내"
    assert first["file_name"] == "복리후생.md"
    assert "100만원" in first["text"]


def test_invalid_requests_get_problem_json_in_two_languages(
    harness: ApiHarness, employee: dict[str, str]
) -> None:
    client = harness.client
    response = client.post("/api/v1/search", json={"query": ""}, headers=employee)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["message_ko"] and body["message_en"]
    response = client.post(
        "/v1/chat/completions", json={"messages": [{"role": "system", "content": "x"}]}, headers=employee
    )
    assert response.status_code == 422
    assert response.json()["code"] == "no_question"
    long_question = [{"role": "user", "content": "연차 " * 2001}]
    response = client.post("/v1/chat/completions", json={"messages": long_question}, headers=employee)
    assert response.status_code == 422
    assert response.json()["code"] == "question_too_long" and "4,000" in response.json()["message_en"]


def test_openai_client_non_streaming_gets_answer_and_sources(
    harness: ApiHarness, employee: dict[str, str]
) -> None:
    sdk = _sdk(harness, employee)
    completion = sdk.chat.completions.create(
        model="jikji", messages=[{"role": "user", "content": "결혼 경조사비는?"}]
    )
    assert "100만원" in (completion.choices[0].message.content or "")
    sources = completion.model_extra["sources"]  # type: ignore[index]
    assert sources[0]["title"] == "복리후생 안내"
    assert sources[0]["cited"] is True


def test_openai_client_streaming_ends_with_sources_and_usage(
    harness: ApiHarness, employee: dict[str, str]
) -> None:
    sdk = _sdk(harness, employee)
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


def test_models_lists_the_answering_model(harness: ApiHarness, employee: dict[str, str]) -> None:
    assert [m.id for m in _sdk(harness, employee).models.list()] == ["fake-extractive"]


def test_openai_client_with_an_api_key_is_metered_and_audited(harness: ApiHarness) -> None:
    key = harness.key(harness.user("lee"), ["chat"])
    completion = _sdk(harness, key).chat.completions.create(
        model="jikji", messages=[{"role": "user", "content": "결혼 경조사비는?"}]
    )
    assert "100만원" in (completion.choices[0].message.content or "")
    admin = harness.admin()
    usage = harness.client.get("/api/v1/usage", headers=admin).json()["items"]
    assert any(row["kind"] == "chat" and row["api_key_id"] for row in usage)
    audit = harness.client.get("/api/v1/audit", params={"action": "chat.ask"}, headers=admin).json()
    assert audit["total"] >= 1
