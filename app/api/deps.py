"""FastAPI dependency aliases (tests swap them with ``dependency_overrides``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.container import Container
from app.services.chat import ChatService
from retrieval.search import HybridSearcher
from retrieval.types import AccessScope


def get_container(request: Request) -> Container:
    """The container built by the lifespan."""
    container: Container = request.app.state.container
    return container


def get_searcher(request: Request) -> HybridSearcher:
    """The hybrid searcher."""
    return get_container(request).searcher


def get_chat_service(request: Request) -> ChatService:
    """The chat service."""
    service: ChatService = request.app.state.chat_service
    return service


def get_scope() -> AccessScope:
    """What the caller may see. Until accounts exist: public documents only (deny by default)."""
    return AccessScope()


ContainerDep = Annotated[Container, Depends(get_container)]
SearcherDep = Annotated[HybridSearcher, Depends(get_searcher)]
ChatServiceDep = Annotated[ChatService, Depends(get_chat_service)]
ScopeDep = Annotated[AccessScope, Depends(get_scope)]
