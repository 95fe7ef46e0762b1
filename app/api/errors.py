"""Errors as RFC 9457 problem+json, with a Korean and an English message."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.services.errors import AppError
from ingest.errors import IngestError

PROBLEM = "application/problem+json"
_log = logging.getLogger(__name__)


def problem_body(status: int, code: str, message_ko: str, message_en: str) -> dict[str, object]:
    """The problem+json object (also sent inside SSE ``error`` events)."""
    return {
        "type": f"urn:jikji:error:{code}",
        "title": message_en,
        "status": status,
        "code": code,
        "detail": message_ko,
        "message_ko": message_ko,
        "message_en": message_en,
    }


def problem(
    status: int,
    code: str,
    message_ko: str,
    message_en: str,
    headers: dict[str, str] | None = None,
    **extra: object,
) -> JSONResponse:
    """A problem+json response."""
    body = {**problem_body(status, code, message_ko, message_en), **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Map known exceptions to problem responses."""

    @app.exception_handler(AppError)
    async def _api_error(_request: Request, exc: AppError) -> JSONResponse:
        return problem(exc.status, exc.code, exc.message_ko, exc.message_en, headers=exc.headers)

    @app.exception_handler(IngestError)
    async def _ingest_error(_request: Request, exc: IngestError) -> JSONResponse:
        return problem(422, exc.code, exc.message_ko, exc.message_en)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        return problem(
            422,
            "invalid_request",
            "요청 형식이 올바르지 않습니다.",
            "The request is not valid.",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        ko, en, code = _HTTP_MESSAGES.get(
            exc.status_code, ("요청을 처리할 수 없습니다.", str(exc.detail), "http_error")
        )
        return problem(exc.status_code, code, ko, en, headers=dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        _log.exception("unhandled error", exc_info=exc)
        return problem(
            500,
            "internal_error",
            "서버 내부 오류가 발생했습니다. 관리자에게 문의해 주세요.",
            "An internal error occurred; please contact the administrator.",
        )


_HTTP_MESSAGES: dict[int, tuple[str, str, str]] = {
    404: ("요청한 주소를 찾을 수 없습니다.", "No such endpoint.", "not_found"),
    405: ("허용되지 않는 메서드입니다.", "Method not allowed.", "method_not_allowed"),
    413: ("요청 본문이 너무 큽니다.", "The request body is too large.", "body_too_large"),
}


class Problem(BaseModel):
    """An RFC 9457 problem document with Korean and English messages."""

    type: str
    title: str
    status: int
    code: str
    detail: str
    message_ko: str
    message_en: str
    errors: list[dict[str, Any]] | None = None


_DESCRIPTIONS = {
    401: "Not signed in, or the token/key is invalid or expired",
    403: "The token or key lacks the scope this needs",
    404: "Not found, or not visible to the caller",
    409: "Conflicts with the current state",
    413: "Request body too large",
    422: "Invalid request",
    429: "Rate limited (see Retry-After)",
    503: "A dependency (model server, database, vector store) is down, or too many answers are being "
    "generated (see Retry-After)",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` documenting problem+json errors for ``statuses``."""
    schema = Problem.model_json_schema()
    return {
        status: {"description": _DESCRIPTIONS[status], "content": {PROBLEM: {"schema": schema}}}
        for status in statuses
    }


AUTHENTICATED_ERRORS = problem_responses(401, 403, 404, 409, 413, 422, 429)
