"""``GET /health``: is the API up, and can it reach its stores and the model?"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, Response
from fastapi.responses import FileResponse
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app.api.deps import ContainerDep
from app.api.outages import RETRY_AFTER_S
from app.services.errors import not_found

router = APIRouter(tags=["health"])


@router.get("/health", responses={503: {"description": "A part is down (`down` names it)"}})
def health(container: ContainerDep, response: Response) -> dict[str, Any]:
    """Whether the database, the vector store (Chroma) and the LLM server answer now (no counts: it is
    public). All up: 200, ``status`` ``ok``; otherwise 503 with ``Retry-After``, ``status``
    ``degraded`` and ``down`` listing the parts that do not answer (``database``, ``vectors``, ``llm``)."""
    parts = {
        "database": _database_up(container),
        "vectors": _vectors_up(container),
        "llm": _llm_reachable(container),
    }
    down = [name for name, up in parts.items() if not up]
    if down:
        response.status_code = 503
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
    body: dict[str, Any] = {"status": "degraded" if down else "ok", "down": down}
    return body | {name: {"reachable": up} for name, up in parts.items()}


@router.get("/api/v1/branding")
def branding(container: ContainerDep) -> dict[str, Any]:
    """Company name and whether a logo is configured, for the login page (public)."""
    ui = container.settings.ui
    return {"company_name": ui.company_name, "has_logo": bool(ui.logo_path and ui.logo_path.is_file())}


@router.get("/api/v1/branding/logo", response_model=None)
def logo(container: ContainerDep) -> FileResponse:
    """The configured logo image (404 when none)."""
    path = container.settings.ui.logo_path
    if path is None or not path.is_file() or path.suffix.lower() not in {".png", ".svg", ".jpg", ".jpeg"}:
        raise not_found("로고", "logo")
    media = {".svg": "image/svg+xml", ".png": "image/png"}.get(path.suffix.lower(), "image/jpeg")
    return FileResponse(path, media_type=media, headers=_STATIC_HEADERS)


# An SVG can carry script: never let it run, even when opened directly.
_STATIC_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'"}


def _database_up(container: ContainerDep) -> bool:
    try:
        with container.sessions() as session:
            session.execute(select(1))
    except SQLAlchemyError:
        return False
    return True


def _vectors_up(container: ContainerDep) -> bool:
    return container.index.vectors.ping()


def _llm_reachable(container: ContainerDep) -> bool:
    if container.chat_model_override is not None:
        return True
    try:
        return httpx.get(f"{container.llm_base_url}/models", timeout=1.5).status_code == 200
    except httpx.HTTPError:
        return False
