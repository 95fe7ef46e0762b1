"""End to end on the embedded defaults: samples → real embedder + Chroma + Kiwi-BM25 → real llama.cpp
server on the bundled model → the API served by uvicorn → the official ``openai`` client, streaming.

At the defaults the bundled small model does not write answers (``answer_mode=auto``): the answer is
the evidence, quoted with citations, so the figures an employee asks about are right."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from app.api.factory import create_app
from app.container import Container, build_container
from app.services import accounts
from app.services.ingest_files import discover, ingest_paths
from core.settings import LLMSettings, Settings
from llm.gguf import ensure_default_gguf
from llm.server import EmbeddedLlamaServer
from tests.api_harness import PASSWORD
from tests.support.paths import SAMPLES_DIR
from tests.support.ports import free_port
from tests.support.servers import serve

pytestmark = [pytest.mark.integration, pytest.mark.llm]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Container, str, str]]:
    data_dir = tmp_path_factory.mktemp("e2e")
    settings = Settings(data_dir=data_dir, llm=LLMSettings(port=free_port(), max_tokens=48))
    model_path = ensure_default_gguf(settings.models_dir)  # what `jikji serve` starts by default
    container = build_container(settings)
    with container.sessions.begin() as session:
        accounts.create_user(session, "kim", PASSWORD)
    summary = ingest_paths(container, discover([SAMPLES_DIR]), is_public=True)
    assert summary.added >= 15, summary.failed
    llm_server = EmbeddedLlamaServer(settings.llm, model_path, log_path=data_dir / "llama.log")
    llm_server.start(watch=False)
    try:
        with serve(create_app(settings, container)) as base:
            login = httpx.post(f"{base}/api/v1/auth/login", json={"username": "kim", "password": PASSWORD})
            token = login.json()["token"]
            yield settings, container, base, token
    finally:
        llm_server.stop()


def test_search_for_a_sample_topic_returns_its_document_first(
    stack: tuple[Settings, Container, str, str],
) -> None:
    _, _, base, token = stack
    results = httpx.post(
        f"{base}/api/v1/search",
        json={"query": "연차휴가는 며칠 주나요?"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,  # the first search loads BM25 and may build the e5 ONNX query graph
    ).json()
    assert results["results"][0]["file_name"] == "취업규칙.md"


def test_streamed_answer_through_the_openai_client_cites_the_expected_document(
    stack: tuple[Settings, Container, str, str],
) -> None:
    _, _, base, token = stack
    client = openai.OpenAI(base_url=f"{base}/v1", api_key=token, max_retries=0, timeout=120)
    stream = client.chat.completions.create(
        model="jikji", messages=[{"role": "user", "content": "연차휴가는 며칠인가요?"}], stream=True
    )
    deltas: list[str] = []
    sources: list[dict[str, object]] = []
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            deltas.append(chunk.choices[0].delta.content)
        if chunk.model_extra and "sources" in chunk.model_extra:
            sources = chunk.model_extra["sources"]
    assert len(deltas) > 1, "the answer should arrive in several streamed pieces"
    assert "".join(deltas).strip()
    assert any(source["file_name"] == "취업규칙.md" for source in sources)


ACCEPTANCE = [
    ("연차휴가는 며칠인가요?", "취업규칙.md", "제24조", ["15일"]),
    ("해외 출장 일비는 얼마인가요?", "출장경비규정.pdf", "제12조", ["[별표 2]", "90", "50"]),
    ("재택근무 신청은 어떻게 하나요?", "재택근무규정.pdf", "제5조", ["그룹웨어 근태 메뉴", "승인"]),
]


@pytest.mark.parametrize(("question", "file_name", "article", "expected"), ACCEPTANCE)
def test_the_sample_questions_are_answered_with_the_figure_and_its_citation(
    stack: tuple[Settings, Container, str, str],
    question: str,
    file_name: str,
    article: str,
    expected: list[str],
) -> None:
    _, _, base, token = stack
    client = openai.OpenAI(base_url=f"{base}/v1", api_key=token, max_retries=0, timeout=120)
    reply = client.chat.completions.create(model="jikji", messages=[{"role": "user", "content": question}])
    content = reply.choices[0].message.content or ""
    extra = reply.model_extra or {}
    for text in expected:
        assert text in content, content
    cited = [source for source in extra["sources"] if source["cited"]]
    assert cited and cited[0]["file_name"] == file_name and article in (cited[0]["label"] or ""), cited
    assert extra["faithfulness"]["grounded"] and extra["faithfulness"]["mode"] == "extractive"


def test_health_sees_the_real_llm_server(stack: tuple[Settings, Container, str, str]) -> None:
    _, _, base, _ = stack
    body = httpx.get(f"{base}/health", timeout=10).json()
    assert body["llm"]["reachable"] is True


def test_gguf_is_verified_by_sha256(tmp_path: Path) -> None:
    path = ensure_default_gguf(tmp_path)
    path.write_bytes(b"corrupted")
    assert ensure_default_gguf(tmp_path).stat().st_size > 100_000_000
