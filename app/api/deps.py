"""FastAPI dependency aliases (tests swap them with ``dependency_overrides``).

Every route that touches documents or answers depends on ``CurrentPrincipal`` (or a ``require``
variant), so an unauthenticated request never reaches a service: deny by default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.api.body_limit import PREAUTH_STATE_KEY
from app.api.ratelimit import Limiter, retry_after_header
from app.auth import principal as scopes
from app.auth.principal import Principal
from app.container import Container
from app.services.accounts import resolve_bearer
from app.services.chat import ChatService
from app.services.errors import AppError
from core.settings import Settings
from retrieval.search import HybridSearcher
from retrieval.types import AccessScope

bearer_scheme = HTTPBearer(
    auto_error=False,
    description="A login session token (`jks_…`, from `POST /api/v1/auth/login`) or an API key (`jk_…`).",
)


def get_container(request: Request) -> Container:
    """The container built by the lifespan."""
    container: Container = request.app.state.container
    return container


def get_db(request: Request) -> Iterator[Session]:
    """A SQL session for the request, committed when the route returns without error."""
    session = get_container(request).sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_searcher(request: Request) -> HybridSearcher:
    """The hybrid searcher."""
    return get_container(request).searcher


def get_chat_service(request: Request) -> ChatService:
    """The chat service."""
    return get_container(request).chat_service


def get_settings(request: Request) -> Settings:
    """The settings the application was built with."""
    return get_container(request).settings


def get_limiter(request: Request, name: str) -> Limiter:
    """One of the application's rate limiters (``api``, ``chat``, ``login``)."""
    limiter: Limiter = request.app.state.limiters[name]
    return limiter


def _unauthenticated() -> AppError:
    return AppError(
        401,
        "unauthenticated",
        "로그인이 필요하거나 토큰/API 키가 유효하지 않습니다.",
        "Authentication is required, or the token or API key is invalid or expired.",
        headers={"WWW-Authenticate": "Bearer"},
    )


def rate_limited_error(wait_s: float) -> AppError:
    return AppError(
        429,
        "rate_limited",
        "요청이 너무 많습니다. 잠시 후 다시 시도해 주세요.",
        "Too many requests; please retry later.",
        headers={"Retry-After": retry_after_header(wait_s)},
    )


def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    """The authenticated caller (401 otherwise), counted against its rate limit (429 beyond).

    A request with a body was authenticated from its headers before the body was read
    (:mod:`app.api.body_limit`); that principal is used rather than looked up again.
    """
    if credentials is None or not credentials.credentials:
        raise _unauthenticated()
    found = getattr(request.state, PREAUTH_STATE_KEY, None)
    if found is not None and found[0] == credentials.credentials:
        principal: Principal | None = found[1]
    else:
        with get_container(request).sessions.begin() as session:
            principal = resolve_bearer(session, credentials.credentials)
    if principal is None:
        raise _unauthenticated()
    check_rate(get_limiter(request, "api"), principal)
    request.state.principal = principal
    return principal


def get_principal(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
    """:func:`authenticate`, refusing (403) a user who must first change a password someone else chose."""
    if principal.must_change_password:
        raise AppError(
            403,
            "password_change_required",
            "먼저 비밀번호를 바꿔야 합니다: POST /api/v1/auth/password (지금 비밀번호와 새 비밀번호).",
            "You must change your password first: POST /api/v1/auth/password with the current and a new one.",
        )
    return principal


def check_rate(limiter: Limiter, principal: Principal) -> None:
    """Count the request against the key and against its owner (429 when either is over).

    Counting the owner too keeps a user's many keys from multiplying their limit.
    """
    for key in dict.fromkeys((principal.rate_key, f"user:{principal.user_id}")):
        wait = limiter.check(key)
        if wait:
            raise rate_limited_error(wait)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
# Signed in, even while a password change is pending (only /auth/me, /auth/logout, /auth/password).
PendingPrincipal = Annotated[Principal, Depends(authenticate)]


def require(scope: str) -> Callable[[Principal], Principal]:
    """A dependency that lets through only callers holding ``scope`` (403 otherwise)."""

    def dependency(principal: CurrentPrincipal) -> Principal:
        # The admin scope counts only where ``is_admin`` holds (not through a group-narrowed key).
        allowed = principal.is_admin if scope == scopes.ADMIN else principal.allows(scope)
        if not allowed:
            raise AppError(
                403,
                "insufficient_scope",
                f"이 작업에는 '{scope}' 권한이 필요합니다.",
                f"This needs the '{scope}' scope.",
            )
        return principal

    dependency.__name__ = f"require_{scope.replace(':', '_')}"
    return dependency


def admin_or_narrowed_admin(principal: CurrentPrincipal) -> Principal:
    """Admins, and admin keys narrowed to some groups (a department's tooling key): the routes that give
    such keys a view filtered to their groups (the release gate, golden items, feedback review) take
    this instead of the admin scope. Anyone else gets 403."""
    if principal.is_admin or (
        principal.role == scopes.ROLE_ADMIN and principal.allows(scopes.ADMIN) and principal.groups_narrowed
    ):
        return principal
    raise AppError(
        403,
        "insufficient_scope",
        f"이 작업에는 '{scopes.ADMIN}' 권한이 필요합니다.",
        f"This needs the '{scopes.ADMIN}' scope.",
    )


def get_scope(principal: CurrentPrincipal) -> AccessScope:
    """The document visibility of the caller."""
    return principal.access_scope()


def chat_rate_limit(request: Request, principal: CurrentPrincipal) -> None:
    """The stricter per-minute limit on chat completions (per key and per owner)."""
    check_rate(get_limiter(request, "chat"), principal)


ContainerDep = Annotated[Container, Depends(get_container)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
# Function scope: the session commits before the response is sent. With FastAPI's default (request
# scope) the commit ran after the response, so a client acting on it at once (a login token, a new
# conversation) could race the commit and get 401 or 404.
DbDep = Annotated[Session, Depends(get_db, scope="function")]
SearcherDep = Annotated[HybridSearcher, Depends(get_searcher)]
ChatServiceDep = Annotated[ChatService, Depends(get_chat_service)]
ScopeDep = Annotated[AccessScope, Depends(get_scope)]
SearchPrincipal = Annotated[Principal, Depends(require(scopes.SEARCH))]
ChatPrincipal = Annotated[Principal, Depends(require(scopes.CHAT))]
ReaderPrincipal = Annotated[Principal, Depends(require(scopes.DOCUMENTS_READ))]
WriterPrincipal = Annotated[Principal, Depends(require(scopes.DOCUMENTS_WRITE))]
AdminPrincipal = Annotated[Principal, Depends(require(scopes.ADMIN))]
GroupAdminPrincipal = Annotated[Principal, Depends(admin_or_narrowed_admin)]
"""An admin, or an admin key narrowed to groups (the route filters what it sees to those groups)."""
ChatLimit = Depends(chat_rate_limit)

# Paging parameters shared by every list endpoint (bounded: an unbounded offset overflows SQL integers).
PageLimit = Annotated[int, Query(ge=1, le=200, description="Items per page.")]
PageOffset = Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip.")]
