"""``jikji ask``: stream a cited answer in the terminal."""

from __future__ import annotations

from contextlib import ExitStack

import httpx

from app.container import build_container
from app.services.chat import ChatService
from core.settings import Settings
from retrieval.types import AccessScope


def _reachable(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/models", timeout=1.5).status_code == 200
    except httpx.HTTPError:
        return False


def ask(settings: Settings, question: str) -> int:
    """Answer ``question`` from all documents, starting the embedded LLM server if none is up."""
    container = build_container(settings)
    with ExitStack() as stack:
        if not settings.llm.base_url and not _reachable(container.llm_base_url):
            from app.serve import start_embedded_llm

            stack.callback(start_embedded_llm(settings).stop)
        service = ChatService(
            container.searcher, container.chat_model, settings.llm, settings.ingest.pii_mode
        )
        answer = service.answer([{"role": "user", "content": question}], AccessScope.admin())
        for text in answer:
            print(text, end="", flush=True)
        print()
        refs = answer.cited or answer.sources
        heading = "출처 / Sources" if answer.cited else "참고 문서 / Retrieved (not cited)"
        print(f"\n{heading}:")
        for ref in refs:
            print(f"  [{ref.number}] {ref.hit.citation_label} — {ref.hit.display_name}")
        if not answer.sources:
            print("  (관련 문서를 찾지 못했습니다 / no relevant documents found)")
    return 0
