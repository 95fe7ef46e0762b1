"""Real clients of ``/v1/chat/completions``: the official ``openai`` SDK and LangChain's ``ChatOpenAI``,
against Jikji served by uvicorn and answering with the real embedded llama.cpp server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from langchain_openai import ChatOpenAI

from app.api.factory import create_app
from app.container import build_container
from core.settings import EmbeddingSettings, Settings
from ingest.pipeline import IngestRequest
from retrieval.embedder import HashingEmbedder
from retrieval.tokenizer import KiwiTokenizer
from tests.integration.llm_stack import bearer_token, llama_server
from tests.support.servers import serve

pytestmark = [pytest.mark.integration, pytest.mark.llm]

ANNUAL = """# 연차휴가 규정

제5조(연차휴가) ① 회사는 1년간 80% 이상 출근한 직원에게 15일의 유급휴가를 준다.
② 연차휴가는 사용 3일 전까지 전자결재로 신청하고 팀장의 승인을 받는다.
"""
SICK = """# 병가 규정

제7조(병가) 병가는 진단서를 첨부하여 인사팀에 신청하며, 연간 60일까지 쓸 수 있다.
"""
DOCUMENTS = {"연차휴가.md": ANNUAL, "병가.md": SICK}


@pytest.fixture(scope="module")
def jikji(tmp_path_factory: pytest.TempPathFactory, kiwi: KiwiTokenizer) -> Iterator[tuple[str, str]]:
    """(base URL, bearer token) of Jikji over the real llama.cpp server."""
    data_dir = tmp_path_factory.mktemp("clients")
    models_dir = tmp_path_factory.getbasetemp() / "models"
    # The `chat` layout: gemma-3-270m (a base model) then always writes something, which keeps the
    # "non-empty answer" checks meaningful; the protocol is the same for every layout.
    with llama_server(data_dir, models_dir, max_tokens=24, temperature=0.0, prompt_family="chat") as (
        _,
        llm,
        _,
    ):
        settings = Settings(data_dir=data_dir / "data", embedding=EmbeddingSettings(model="hashing"), llm=llm)
        container = build_container(settings, embedder=HashingEmbedder(), tokenizer=kiwi)
        for name, text in DOCUMENTS.items():
            container.pipeline.ingest(IngestRequest(data=text.encode(), filename=name, is_public=True))
        token = bearer_token(container)
        with serve(create_app(settings, container)) as base:
            yield base, token
        container.engine.dispose()


@pytest.fixture(scope="module")
def sdk(jikji: tuple[str, str]) -> openai.OpenAI:
    base, token = jikji
    return openai.OpenAI(base_url=f"{base}/v1", api_key=token, max_retries=0, timeout=120)


QUESTION: list[Any] = [{"role": "user", "content": "연차휴가는 며칠인가요?"}]


def all_sentences_come_from_the_documents(evidence: list[dict[str, Any]]) -> bool:
    compact = {"".join(text.split()) for text in DOCUMENTS.values()}
    return all(any("".join(item["sentence"].split()) in doc for doc in compact) for item in evidence)


def test_openai_non_streaming_reads_answer_sources_and_evidence(sdk: openai.OpenAI) -> None:
    completion = sdk.chat.completions.create(model="jikji", messages=QUESTION)
    choice = completion.choices[0]
    assert isinstance(choice.message.content, str) and choice.message.content.strip()
    assert choice.finish_reason in {"stop", "length"}
    assert completion.usage is not None and completion.usage.completion_tokens > 0
    extra = completion.model_extra or {}
    assert extra["sources"][0]["title"] == "연차휴가 규정"
    evidence = extra["evidence"]
    assert evidence, "the answer should carry supporting sentences"
    assert evidence[0]["source"] == 1
    assert any("15일의 유급휴가" in item["sentence"] for item in evidence)
    assert {item["source"] for item in evidence} <= {s["number"] for s in extra["sources"]}
    assert all_sentences_come_from_the_documents(evidence)


def test_openai_streaming_ends_with_sources_evidence_and_usage(sdk: openai.OpenAI) -> None:
    stream = sdk.chat.completions.create(
        model="jikji", messages=QUESTION, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    deltas = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(deltas) > 1, "the answer should arrive in several pieces"
    final = next(c for c in chunks if c.choices and c.choices[0].finish_reason)
    extra = final.model_extra or {}
    assert extra["sources"][0]["file_name"] == "연차휴가.md"
    assert any("15일의 유급휴가" in item["sentence"] for item in extra["evidence"])
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_openai_follow_up_is_answered_from_the_right_document(sdk: openai.OpenAI) -> None:
    messages: list[Any] = [
        {"role": "user", "content": "연차휴가 신청 절차는?"},
        {"role": "assistant", "content": "사용 3일 전까지 전자결재로 신청합니다 [1]."},
        {"role": "user", "content": "그럼 병가는요?"},
    ]
    completion = sdk.chat.completions.create(model="jikji", messages=messages)
    extra = completion.model_extra or {}
    assert extra["sources"][0]["title"] == "병가 규정"
    assert "진단서" in extra["evidence"][0]["sentence"]


def test_openai_lists_the_answering_model(sdk: openai.OpenAI) -> None:
    assert [model.id for model in sdk.models.list()] == ["gemma-3-270m"]


@pytest.fixture(scope="module")
def langchain_chat(jikji: tuple[str, str]) -> ChatOpenAI:
    base, token = jikji
    return ChatOpenAI(base_url=f"{base}/v1", api_key=token, model="jikji", max_retries=0, timeout=120)  # type: ignore[arg-type]


def test_langchain_invoke_gets_an_answer(langchain_chat: ChatOpenAI) -> None:
    reply = langchain_chat.invoke([HumanMessage("연차휴가는 며칠인가요?")])
    assert isinstance(reply, AIMessage)
    assert isinstance(reply.content, str) and reply.content.strip()
    assert reply.response_metadata["finish_reason"] in {"stop", "length"}
    assert reply.usage_metadata is not None and reply.usage_metadata["output_tokens"] > 0


def test_langchain_streams_a_multi_turn_conversation(langchain_chat: ChatOpenAI) -> None:
    conversation = [
        HumanMessage("연차휴가 신청 절차는?"),
        AIMessage("사용 3일 전까지 전자결재로 신청합니다 [1]."),
        HumanMessage("그럼 병가는요?"),
    ]
    chunks = list(langchain_chat.stream(conversation))
    assert all(isinstance(chunk, AIMessageChunk) for chunk in chunks)
    assert sum(1 for chunk in chunks if chunk.content) > 1
    assert "".join(str(chunk.content) for chunk in chunks).strip()
