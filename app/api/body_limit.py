"""Authenticate before any request body is read, and reject oversized bodies with 413.

A request that carries a body (a ``Content-Length`` above 0, or ``Transfer-Encoding``) must present a
valid bearer token or API key in its headers, except on the few routes that take a body from anonymous
callers (login): otherwise it gets 401 at once and not one byte of its body is read. The principal
found is kept for the route's own authentication (no second lookup).

Then the body limit: the upload limit (files x file size) applies only to ``POST /api/v1/documents``
and only for a caller holding ``documents:write``; every other body, JSON routes under
``/api/v1/documents`` included, gets the small JSON limit. A declared ``Content-Length`` over the
limit is refused at once; a chunked body is counted as it streams in and cut off as soon as it passes.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth.principal import DOCUMENTS_WRITE, Principal
from app.services.accounts import resolve_bearer
from app.services.scim import SCIM_PREFIX, token_valid

UPLOAD_ROUTES = frozenset({("POST", "/api/v1/documents"), ("POST", "/api/v1/documents/")})
# Routes that read a body before anyone is signed in (small bodies only).
ANONYMOUS_BODY_ROUTES = frozenset({("POST", "/api/v1/auth/login"), ("POST", "/api/v1/auth/oidc/exchange")})
# ``request.state`` key under which the principal found from the headers is handed to the route.
PREAUTH_STATE_KEY = "preauthenticated"

_log = logging.getLogger(__name__)


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
    """ASGI middleware: authentication from the headers before a body is read, then ``json_limit``
    (``upload_limit`` on the upload route for callers allowed to upload)."""

    def __init__(self, app: ASGIApp, *, json_limit: int, upload_limit: int) -> None:
        self.app, self.json_limit, self.upload_limit = app, json_limit, upload_limit

    def _limit_for(self, scope: Scope, principal: Principal | None) -> int:
        route = (scope.get("method", ""), scope.get("path", ""))
        may_upload = principal is not None and principal.allows(DOCUMENTS_WRITE)
        return self.upload_limit if route in UPLOAD_ROUTES and may_upload else self.json_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        principal: Principal | None = None
        route = (scope.get("method", ""), scope.get("path", ""))
        if _has_body(scope) and str(route[1]).startswith(SCIM_PREFIX):
            known = token_valid(scope["app"].state.container.settings.auth.scim, _bearer(scope))
            if not known:
                await _send_401(send)
                return
        elif _has_body(scope) and route not in ANONYMOUS_BODY_ROUTES:
            known, principal = await _authenticate(scope)
            if not known:
                await _send_401(send)
                return
        limit = self._limit_for(scope, principal)
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


def _has_body(scope: Scope) -> bool:
    """Whether the request says it carries a body (a length above 0, or a transfer encoding)."""
    for name, value in scope.get("headers", []):
        if name == b"transfer-encoding":
            return True
        if name == b"content-length":
            return value.strip() not in (b"0", b"")
    return False


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, secret = value.decode("latin-1").partition(" ")
            return (secret.strip() or None) if scheme.lower() == "bearer" else None
    return None


async def _authenticate(scope: Scope) -> tuple[bool, Principal | None]:
    """``(False, None)`` for missing or invalid credentials; ``(True, principal)`` when valid.

    When the database cannot answer, ``(True, None)``: the request goes on to the route, whose own
    authentication reports the outage, under the small JSON limit (nothing large is read unchecked).
    """
    secret = _bearer(scope)
    if secret is None:
        return False, None
    container = scope["app"].state.container

    def resolve() -> Principal | None:
        with container.sessions.begin() as session:
            return resolve_bearer(session, secret)

    try:
        principal = await run_in_threadpool(resolve)
    except Exception:  # noqa: BLE001 - reported by the route's own authentication
        _log.debug("bearer check before the body failed; the route will report it", exc_info=True)
        return True, None
    if principal is None:
        return False, None
    scope.setdefault("state", {})[PREAUTH_STATE_KEY] = (secret, principal)
    return True, principal


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_413(send: Send, limit: int) -> None:
    await _send_problem(send, 413, _problem_body(limit))


async def _send_401(send: Send) -> None:
    body = json.dumps(
        {
            "type": "urn:jikji:error:unauthenticated",
            "title": UNAUTHENTICATED_EN,
            "status": 401,
            "code": "unauthenticated",
            "detail": UNAUTHENTICATED_KO,
            "message_ko": UNAUTHENTICATED_KO,
            "message_en": UNAUTHENTICATED_EN,
        },
        ensure_ascii=False,
    ).encode("utf-8")
    await _send_problem(send, 401, body, [(b"www-authenticate", b"Bearer")])


UNAUTHENTICATED_KO = "로그인이 필요하거나 토큰/API 키가 유효하지 않습니다."
UNAUTHENTICATED_EN = "Authentication is required, or the token or API key is invalid or expired."


async def _send_problem(send: Send, status: int, body: bytes, extra: list[Any] | None = None) -> None:
    """A problem+json answer that closes the connection (the unread body is never read)."""
    headers: list[Any] = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
