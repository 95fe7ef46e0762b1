"""``/api/v1/auth/oidc``: single sign-on through OpenID Connect providers (authorization code + PKCE).

The browser goes ``/start`` → the provider's login → ``/callback`` (here) → back to the UI with a
one-time hand-off code in the URL (``?sso=…``, valid two minutes, usable once); the UI redeems it with
``POST /exchange`` for the same session token a password login gives, so no session token ever
appears in a URL. ``/start`` binds the sign-in to the browser with an HttpOnly cookie the callback
must present.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode, urlparse

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field

from app.api.auth import LoginResponse, user_out
from app.api.deps import (
    ContainerDep,
    DbDep,
    PendingPrincipal,
    bearer_scheme,
    get_limiter,
    rate_limited_error,
)
from app.auth import oidc_accounts
from app.auth.oidc import OidcClient, OidcError, OidcRegistry
from app.services import accounts
from app.services.audit import record_event
from app.services.errors import AppError, not_found
from core.settings import Settings

router = APIRouter(prefix="/api/v1/auth/oidc", tags=["auth"])

COOKIE_PREFIX = "jikji_oidc_"


class ProviderOut(BaseModel):
    """A provider users may sign in through."""

    name: str
    display_name: str
    start_url: str = Field(description="Open this in the browser (top-level navigation) to sign in.")


class ProvidersOut(BaseModel):
    """The sign-in options of this installation."""

    local_login: bool = Field(description="Whether local accounts may sign in with a password.")
    providers: list[ProviderOut]


class ExchangeRequest(BaseModel):
    """The one-time code the callback put in the UI's URL (``?sso=…``)."""

    code: str = Field(min_length=10, max_length=200)


class LogoutOut(BaseModel):
    """Where to send the browser to end the provider's session too (RP-initiated logout), if anywhere."""

    logout_url: str | None


def get_oidc(request: Request) -> OidcRegistry:
    """The process's OIDC clients (built by the application factory)."""
    registry: OidcRegistry = request.app.state.oidc
    return registry


OidcDep = Annotated[OidcRegistry, Depends(get_oidc)]


def ui_url(settings: Settings) -> str:
    """Where the browser returns after signing in or out."""
    return settings.auth.oidc.ui_url or f"http://{settings.ui.host}:{settings.ui.port}/"


def redirect_uri(settings: Settings, client: OidcClient) -> str:
    """The callback URL registered at the provider."""
    configured = client.settings.redirect_url
    return configured or f"{settings.api_url.rstrip('/')}/api/v1/auth/oidc/{client.name}/callback"


def _client(registry: OidcRegistry, provider: str) -> OidcClient:
    client = registry.get(provider)
    if client is None:
        raise not_found("로그인 제공자", "sign-in provider")
    return client


def _to_ui(settings: Settings, **params: str) -> RedirectResponse:
    base = ui_url(settings)
    return RedirectResponse(f"{base}{'&' if '?' in base else '?'}{urlencode(params)}", status_code=303)


@router.get("/providers", response_model=ProvidersOut)
def providers(container: ContainerDep, registry: OidcDep) -> dict[str, Any]:
    """The configured providers (for the login page's "회사 계정으로 로그인" buttons); no sign-in needed."""
    base = container.settings.api_url.rstrip("/")
    return {
        "local_login": container.settings.auth.local_login,
        "providers": [
            {
                "name": c.name,
                "display_name": c.settings.display_name or c.name,
                "start_url": f"{base}/api/v1/auth/oidc/{c.name}/start",
            }
            for c in registry.all()
        ],
    }


@router.get("/{provider}/start", status_code=302, response_class=RedirectResponse)
def start(
    provider: str, request: Request, db: DbDep, container: ContainerDep, registry: OidcDep
) -> RedirectResponse:
    """Send the browser to the provider's login (state, nonce, PKCE S256; a cookie binds the browser).

    503 ``sso_unavailable`` when the provider's discovery document cannot be read; 429 past
    ``auth.rate_limit_per_minute`` starts from one client address (each start stores a row).
    """
    client = _client(registry, provider)
    address = request.client.host if request.client else "-"
    wait = get_limiter(request, "api").check(f"oidc-start\n{address}")
    if wait:
        raise rate_limited_error(wait)
    settings = container.settings
    ttl = settings.auth.oidc.login_ttl_s
    started = oidc_accounts.begin_login(db, client.name, timedelta(seconds=ttl))
    try:
        url = client.authorization_url(
            state=started.state,
            nonce=started.nonce,
            pkce=started.pkce,
            redirect_uri=redirect_uri(settings, client),
        )
    except OidcError as exc:
        raise AppError(
            503,
            "sso_unavailable",
            "회사 계정 로그인 서버에 연결할 수 없습니다. 잠시 후 다시 시도해 주세요.",
            "The company sign-in provider cannot be reached; please retry shortly.",
        ) from exc
    response = RedirectResponse(url, status_code=302)
    response.set_cookie(
        COOKIE_PREFIX + client.name,
        started.browser_secret,
        max_age=ttl,
        path=f"/api/v1/auth/oidc/{client.name}/",
        secure=urlparse(settings.api_url).scheme == "https",
        httponly=True,
        samesite="lax",
    )
    return response


@router.get("/{provider}/callback", status_code=303, response_class=RedirectResponse)
def callback(
    provider: str,
    request: Request,
    db: DbDep,
    container: ContainerDep,
    registry: OidcDep,
    state: str = "",
    code: str = "",
    error: str = "",
) -> RedirectResponse:
    """Where the provider sends the browser back: checks state, browser, ID token (signature, issuer,
    audience, expiry, nonce), creates or updates the user, then returns to the UI with ``?sso=<code>``
    (or ``?sso_error=<reason>``)."""
    client = _client(registry, provider)
    settings = container.settings
    try:
        if error or not code or not state:
            raise OidcError("provider_error", error[:100])
        row = oidc_accounts.take_pending_login(
            db, client.name, state, request.cookies.get(COOKIE_PREFIX + client.name)
        )
        nonce, verifier = row.nonce or "", row.code_verifier or ""
        row.code_verifier, row.nonce = None, None  # consumed, whatever happens next
        db.flush()
        tokens = client.exchange_code(code, verifier=verifier, redirect_uri=redirect_uri(settings, client))
        claims = client.validate_id_token(str(tokens["id_token"]), nonce=nonce)
        if client.settings.groups_claim not in claims and isinstance(tokens.get("access_token"), str):
            extra = client.userinfo(tokens["access_token"])
            if extra.get("sub") == claims["sub"] and client.settings.groups_claim in extra:
                claims[client.settings.groups_claim] = extra[client.settings.groups_claim]
        user = oidc_accounts.provision_user(db, client, client.metadata().issuer, claims)
        handoff = oidc_accounts.complete_login(db, row, user)
    except OidcError as exc:
        record_event(
            db,
            None,
            "auth.oidc_callback",
            outcome="denied",
            detail={"provider": client.name, "reason": exc.reason, "detail": exc.detail[:200]},
            client_ip=request.client.host if request.client else None,
        )
        response = _to_ui(settings, sso_error=exc.reason)
    else:
        record_event(db, None, "auth.oidc_callback", target_type="user", target_id=user.id)
        response = _to_ui(settings, sso=handoff)
    response.delete_cookie(COOKIE_PREFIX + client.name, path=f"/api/v1/auth/oidc/{client.name}/")
    return response


@router.post("/exchange", response_model=LoginResponse)
def exchange(body: ExchangeRequest, request: Request, db: DbDep, container: ContainerDep) -> dict[str, Any]:
    """Redeem the one-time hand-off code for an API session (like ``POST /api/v1/auth/login``).

    401 ``invalid_handoff`` when the code is unknown, used or older than two minutes.
    """
    try:
        row, user = oidc_accounts.redeem_handoff(db, body.code)
    except OidcError as exc:
        record_event(
            db, None, "auth.login", outcome="denied", detail={"method": "oidc", "reason": exc.reason}
        )
        db.commit()
        raise AppError(
            401,
            "invalid_handoff",
            "로그인 확인 코드가 올바르지 않거나 만료되었습니다. 다시 로그인해 주세요.",
            "The sign-in code is invalid, used or expired; please sign in again.",
        ) from exc
    ttl = timedelta(hours=container.settings.auth.session_ttl_hours)
    token, session_row = accounts.start_session(db, user, ttl)
    row.session_id = session_row.id
    principal = accounts.resolve_bearer(db, token)
    record_event(
        db,
        principal,
        "auth.login",
        target_type="user",
        target_id=user.id,
        detail={"method": "oidc", "provider": row.provider},
        client_ip=request.client.host if request.client else None,
    )
    return {"token": token, "expires_at": session_row.expires_at, "user": user_out(user)}


@router.post("/logout", response_model=LogoutOut)
def logout(
    principal: PendingPrincipal,
    db: DbDep,
    container: ContainerDep,
    registry: OidcDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> dict[str, Any]:
    """End this session; for a session opened through a provider that advertises
    ``end_session_endpoint``, also the URL that ends the provider's session (open it in the browser)."""
    if credentials is None or principal.api_key_id is not None:
        return {"logout_url": None}
    session_id = oidc_accounts.session_id_of(db, credentials.credentials)
    provider = oidc_accounts.provider_of_session(db, session_id) if session_id else None
    accounts.end_session(db, credentials.credentials)
    record_event(db, principal, "auth.logout", target_type="user", target_id=principal.user_id)
    client = registry.get(provider) if provider else None
    if client is None:
        return {"logout_url": None}
    return {"logout_url": client.logout_url(post_logout_redirect_uri=ui_url(container.settings))}
