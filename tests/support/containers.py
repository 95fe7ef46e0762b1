"""Containers wired with the fast test components."""

from __future__ import annotations

from app.container import Container, build_container
from core.settings import Settings
from llm.client import ChatModel
from llm.fake import ExtractiveFakeModel
from retrieval.embedder import HashingEmbedder
from retrieval.tokenizer import KiwiTokenizer


def make_container(
    settings: Settings, kiwi: KiwiTokenizer | None = None, *, chat_model: ChatModel | None = None
) -> Container:
    """A migrated container with the hashing embedder and ``chat_model`` (default: the extractive fake).

    ``kiwi`` lets tests share one analyser (loading it takes seconds); without it a new one is made.
    The caller closes the container.
    """
    return build_container(
        settings,
        embedder=HashingEmbedder(),
        chat_model=chat_model if chat_model is not None else ExtractiveFakeModel(),
        tokenizer=kiwi if kiwi is not None else KiwiTokenizer(),
    )
