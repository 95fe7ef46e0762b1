"""``jikji search`` and ``jikji ask``: ranked sources, and a streamed cited answer, in the terminal."""

from __future__ import annotations

import argparse
from contextlib import ExitStack

from app.cli.common import ensure_llm_server, open_container
from core.settings import Settings
from retrieval.types import AccessScope


def cmd_search(settings: Settings, args: argparse.Namespace) -> int:
    """Print the ranked sources for a query (admin scope: the command line sees every document)."""
    with open_container(settings) as container:
        hits = container.searcher.search(args.query, AccessScope.admin(), k=args.k)
    if not hits:
        print("검색 결과가 없습니다 / no results")
        return 0
    for rank, hit in enumerate(hits, start=1):
        snippet = " ".join(hit.text.split())[:160]
        print(f"{rank}. [{hit.score:.3f}] {hit.citation_label}  ({hit.display_name})\n   {snippet}")
    return 0


def cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    """Answer a question from all documents, starting the embedded LLM server if none is up."""
    with ExitStack() as stack:
        container = stack.enter_context(open_container(settings))
        if container.chat_service.needs_model:
            ensure_llm_server(settings, stack)
        answer = container.chat_service.answer(
            [{"role": "user", "content": args.question}], AccessScope.admin()
        )
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
