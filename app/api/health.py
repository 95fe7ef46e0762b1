"""``GET /health``: is the API up, and can it reach its stores and the model?"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter
from sqlalchemy import func, select

from app.api.deps import ContainerDep
from core.models import Document

router = APIRouter(tags=["health"])


@router.get("/health")
def health(container: ContainerDep) -> dict[str, Any]:
    """Liveness plus a summary of the stores and whether the LLM server answers."""
    with container.sessions() as session:
        documents = session.scalar(
            select(func.count()).select_from(Document).where(Document.current_version_id.is_not(None))
        )
    return {
        "status": "ok",
        "documents": documents or 0,
        "llm": {"base_url": container.llm_base_url, "reachable": _llm_reachable(container)},
    }


def _llm_reachable(container: ContainerDep) -> bool:
    if container.chat_model_override is not None:
        return True
    try:
        return httpx.get(f"{container.llm_base_url}/models", timeout=1.5).status_code == 200
    except httpx.HTTPError:
        return False
