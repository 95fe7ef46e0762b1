"""Errors as RFC 9457 problem+json, with a Korean and an English message."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ingest.errors import IngestError
from llm.client import LLMUnavailableError

PROBLEM = "application/problem+json"


class ApiError(Exception):
    """An error a client caused or must know about."""

    def __init__(self, status: int, code: str, message_ko: str, message_en: str) -> None:
        super().__init__(message_en)
        self.status, self.code, self.message_ko, self.message_en = status, code, message_ko, message_en


def problem(status: int, code: str, message_ko: str, message_en: str, **extra: object) -> JSONResponse:
    """A problem+json response."""
    body = {
        "type": f"urn:jikji:error:{code}",
        "title": message_en,
        "status": status,
        "code": code,
        "detail": message_ko,
        "message_ko": message_ko,
        "message_en": message_en,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def install_error_handlers(app: FastAPI) -> None:
    """Map known exceptions to problem responses."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return problem(exc.status, exc.code, exc.message_ko, exc.message_en)

    @app.exception_handler(IngestError)
    async def _ingest_error(_request: Request, exc: IngestError) -> JSONResponse:
        return problem(422, exc.code, exc.message_ko, exc.message_en)

    @app.exception_handler(LLMUnavailableError)
    async def _llm_down(_request: Request, _exc: LLMUnavailableError) -> JSONResponse:
        return problem(
            503,
            "llm_unavailable",
            "언어 모델 서버에 연결할 수 없습니다. 잠시 후 다시 시도해 주세요.",
            "The language model server is unavailable; please try again shortly.",
        )

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
