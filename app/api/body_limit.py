"""Reject oversized request bodies with 413 before they are read in full.

A declared ``Content-Length`` over the limit is refused at once; a chunked body is counted as it
streams in and cut off as soon as it passes the limit. Uploads get a larger limit than JSON.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

UPLOAD_PATHS = ("/api/v1/documents",)


class BodyTooLargeError(Exception):
    """Raised inside ``receive`` when a streamed body passes the limit."""


def _problem_body(limit: int) -> bytes:
    mib = limit / (1024 * 1024)
    return json.dumps(
        {
            "type": "urn:jikji:error:body_too_large",
            "title": f"The request body is larger than {mib:.1f} MiB.",
            "status": 413,
            "code": "body_too_large",
            "detail": f"요청 본문이 {mib:.1f}MiB보다 큽니다.",
            "message_ko": f"요청 본문이 {mib:.1f}MiB보다 큽니다.",
            "message_en": f"The request body is larger than {mib:.1f} MiB.",
        },
        ensure_ascii=False,
    ).encode("utf-8")


class BodyLimitMiddleware:
    """ASGI middleware enforcing ``json_limit`` (and ``upload_limit`` on upload paths)."""

    def __init__(self, app: ASGIApp, *, json_limit: int, upload_limit: int) -> None:
        self.app, self.json_limit, self.upload_limit = app, json_limit, upload_limit

    def _limit_for(self, scope: Scope) -> int:
        path: str = scope.get("path", "")
        is_upload = scope.get("method") in {"POST", "PUT"} and path.startswith(UPLOAD_PATHS)
        return self.upload_limit if is_upload else self.json_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit_for(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _send_413(send, limit)
            return
        received = 0
        too_large = False
        app_started = False
        sent_413 = False

        async def counting_receive() -> Message:
            nonlocal received, too_large
            if too_large:
                raise BodyTooLargeError
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    raise BodyTooLargeError
            return message

        async def guarded_send(message: Message) -> None:
            # Once the body is over the limit, whatever the app answers (FastAPI turns an error
            # while reading the body into a 400) is replaced by the 413, and the connection closes.
            nonlocal app_started, sent_413
            if too_large and not app_started:
                if not sent_413:
                    sent_413 = True
                    await _send_413(send, limit)
                return
            if message["type"] == "http.response.start":
                app_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLargeError:
            if not app_started and not sent_413:
                await _send_413(send, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_413(send: Send, limit: int) -> None:
    body = _problem_body(limit)
    headers: list[Any] = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
