"""A dependency that is down (the model server, PostgreSQL, Chroma) is a 503 with ``Retry-After``.

Each is answered at once with a Korean and an English message naming the part that is down, never a
500 with a stack trace or a hang, and nothing is cached about the outage: the next request tries the
dependency again, so Jikji recovers by itself once it is back (SQL connections are checked before
use, the model and Chroma clients reconnect). ``GET /health`` says which part is down.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sql_errors

from app.api.errors import problem
from llm.client import LLMUnavailableError
from retrieval.embedding_service import EmbeddingServiceUnavailableError
from retrieval.vectors import VectorStoreUnavailableError

_log = logging.getLogger(__name__)

RETRY_AFTER_S = 10
"""What ``Retry-After`` suggests: long enough for a restarted dependency to come back."""

LLM_DOWN = (
    "llm_unavailable",
    "언어 모델 서버에 연결할 수 없습니다. 잠시 후 다시 시도해 주세요.",
    "The language model server is unavailable; please try again shortly.",
)
DATABASE_DOWN = (
    "database_unavailable",
    "데이터베이스에 연결할 수 없습니다. 잠시 후 다시 시도해 주세요.",
    "The database is unavailable; please try again shortly.",
)
VECTORS_DOWN = (
    "vector_store_unavailable",
    "벡터 검색 저장소(Chroma)에 연결할 수 없습니다. 잠시 후 다시 시도해 주세요.",
    "The vector store (Chroma) is unavailable; please try again shortly.",
)

EMBEDDINGS_DOWN = (
    "embedding_service_unavailable",
    "임베딩 서비스에 연결할 수 없습니다. 잠시 후 다시 시도해 주세요.",
    "The embeddings service is unavailable; please try again shortly.",
)

DATABASE_ERRORS = (sql_errors.OperationalError, sql_errors.InterfaceError, sql_errors.TimeoutError)
"""SQLAlchemy errors that mean the database cannot be used now (connection refused or lost, server
shutting down, pool exhausted, SQLite file locked or unreadable) rather than a wrong statement."""


def unavailable(code: str, message_ko: str, message_en: str) -> JSONResponse:
    """The 503 problem response for a dependency that is down."""
    return problem(503, code, message_ko, message_en, headers={"Retry-After": str(RETRY_AFTER_S)})


def install_outage_handlers(app: FastAPI) -> None:
    """Map the errors of a dependency that is down to 503 problem responses."""

    @app.exception_handler(LLMUnavailableError)
    async def _llm_down(_request: Request, exc: LLMUnavailableError) -> JSONResponse:
        _log.warning("model server unavailable: %s", exc)
        return unavailable(*LLM_DOWN)

    @app.exception_handler(VectorStoreUnavailableError)
    async def _vectors_down(_request: Request, exc: VectorStoreUnavailableError) -> JSONResponse:
        _log.warning("vector store unavailable: %s", exc)
        return unavailable(*VECTORS_DOWN)

    @app.exception_handler(EmbeddingServiceUnavailableError)
    async def _embeddings_down(_request: Request, exc: EmbeddingServiceUnavailableError) -> JSONResponse:
        _log.warning("embeddings service unavailable: %s", exc)
        return unavailable(*EMBEDDINGS_DOWN)

    async def _database_down(_request: Request, exc: Exception) -> JSONResponse:
        _log.warning("database unavailable: %s", exc)
        return unavailable(*DATABASE_DOWN)

    for error in DATABASE_ERRORS:
        app.add_exception_handler(error, _database_down)
