"""``/api/v1/auth``: log in (session token), log out, change one's password, and who am I."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field
from sqlalchemy import select

from app.api.deps import (
    ContainerDep,
    DbDep,
    PendingPrincipal,
    bearer_scheme,
    rate_limited_error,
)
from app.api.ratelimit import LoginThrottle, PasswordSlots, retry_after_header
from app.auth.identity import normalise_username
from app.auth.principal import Principal
from app.services import accounts
from app.services.audit import record_event
from app.services.errors import AppError
from app.services.identity_sync import signs_in_with_directory
from core.models import Group, User
from core.settings import AuthSettings

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class LoginRequest(BaseModel):
    """User name and password of a local account."""

    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)


class PasswordChange(BaseModel):
    """The current password (proof) and the new one."""

    current_password: str = Field(min_length=1, max_length=1000)
    new_password: str = Field(min_length=1, max_length=1000, description="At least the configured length.")


class GroupOut(BaseModel):
    """A group (department)."""

    id: str
    name: str


class UserOut(BaseModel):
    """A user as the API shows it (never the password hash)."""

    id: str
    username: str
    display_name: str
    role: str
    is_active: bool
    must_change_password: bool = Field(
        description="Signed in with a password someone else chose: every route but /auth/password, "
        "/auth/me and /auth/logout answers 403 `password_change_required` until it is changed."
    )
    groups: list[GroupOut]
    created_at: datetime
    origin: str = Field(
        default="local", description="Where the account comes from: local, oidc, ldap or scim."
    )


class LoginResponse(BaseModel):
    """A new session: send ``token`` as ``Authorization: Bearer …``."""

    token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type name, not a secret
    expires_at: datetime
    user: UserOut


class MeResponse(BaseModel):
    """The caller, with the scopes it acts with."""

    user: UserOut
    scopes: list[str]
    api_key_id: str | None


def user_out(user: User) -> dict[str, Any]:
    """The public fields of a user."""
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "is_active": user.is_active,
        "must_change_password": user.must_change_password,
        "groups": [group_out(g) for g in sorted(user.groups, key=lambda g: g.name)],
        "created_at": user.created_at,
        "origin": user.origin,
    }


def group_out(group: Group) -> dict[str, str]:
    """The public fields of a group."""
    return {"id": group.id, "name": group.name}


def _bad_credentials() -> AppError:
    return AppError(
        401,
        "invalid_credentials",
        "사용자 이름 또는 비밀번호가 올바르지 않습니다.",
        "The user name or password is wrong.",
    )


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _refuse(db: DbDep, action: str, username: str, client: str | None, limit: str, error: AppError) -> None:
    """Audit a throttled attempt (committed: the error rolls the request's transaction back) and raise."""
    record_event(
        db,
        None,
        action,
        outcome="throttled",
        detail={"username": username[:200], "limit": limit},
        client_ip=client,
    )
    db.commit()
    raise error


def _busy() -> AppError:
    return AppError(
        503,
        "login_busy",
        "지금 로그인 요청이 많습니다. 잠시 후 다시 시도해 주세요.",
        "Too many sign-ins are being checked right now; please retry shortly.",
        headers={"Retry-After": retry_after_header(1)},
    )


def check_password(
    request: Request, db: DbDep, container: ContainerDep, action: str, body: LoginRequest
) -> User | None:
    """The active user these credentials prove, else None (recorded as a failure), under the login
    limits (429, audited) and the cap on concurrent password checks (503, audited)."""
    name = normalise_username(body.username)
    client = _client(request)
    throttle = LoginThrottle.from_limiters(request.app.state.limiters)
    refused = throttle.admit(name, client or "-")
    if refused:
        _refuse(db, action, body.username, client, refused[0], rate_limited_error(refused[1]))
    slots: PasswordSlots = request.app.state.password_slots
    if not slots.acquire():
        _refuse(db, action, body.username, client, "verify_concurrency", _busy())
    try:
        # Again with the slot held: attempts that waited for it see the failures recorded meanwhile.
        refused = throttle.refusal(name, client or "-")
        if refused:
            _refuse(db, action, body.username, client, refused[0], rate_limited_error(refused[1]))
        user = container.identity.authenticate(db, body.username, body.password)
    finally:
        slots.release()
    if user is None:
        throttle.failed(name, client or "-")
    return user


def _check_local_login_allowed(auth: AuthSettings, username: str) -> None:
    """403 ``local_login_disabled`` when password sign-in is off and the name is no break-glass admin."""
    if auth.local_login:
        return
    if normalise_username(username) in {normalise_username(n) for n in auth.break_glass_admins}:
        return
    raise AppError(
        403,
        "local_login_disabled",
        "비밀번호 로그인이 꺼져 있습니다. '회사 계정으로 로그인'을 이용해 주세요.",
        "Password sign-in is disabled; use 'Sign in with your company account'.",
    )


@router.post("/login", response_model=LoginResponse)
def login(body: LoginRequest, request: Request, db: DbDep, container: ContainerDep) -> dict[str, Any]:
    """Check a local account's password and open a session (the token is shown only now).

    429 past the login limits (per name and address, per address, and for a name under attack from
    many addresses only for addresses that failed it themselves); 503 while every password-check slot is
    busy. A user with ``must_change_password`` gets a session that can only change the password.
    """
    if not signs_in_with_directory(db, container.settings.auth.ldap, body.username):
        _check_local_login_allowed(container.settings.auth, body.username)
    user = check_password(request, db, container, "auth.login", body)
    client = _client(request)
    if user is None:
        record_event(
            db,
            None,
            "auth.login",
            outcome="denied",
            detail={"username": body.username[:200]},
            client_ip=client,
        )
        db.commit()
        raise _bad_credentials()
    ttl = timedelta(hours=container.settings.auth.session_ttl_hours)
    token, session_row = accounts.start_session(db, user, ttl)
    principal = accounts.resolve_bearer(db, token)
    record_event(db, principal, "auth.login", target_type="user", target_id=user.id, client_ip=client)
    return {"token": token, "expires_at": session_row.expires_at, "user": user_out(user)}


@router.post("/password", status_code=204)
def change_password(
    body: PasswordChange,
    request: Request,
    principal: PendingPrincipal,
    db: DbDep,
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> None:
    """Change your own password (a login session only, not an API key).

    The current password is checked under the login limits. This session stays signed in; every other
    session of the user ends and every API key of the user is revoked (the audit event counts them).
    """
    _session_only(principal)
    proof = LoginRequest(username=principal.username, password=body.current_password)
    user = check_password(request, db, container, "auth.password_change", proof)
    if user is None or user.id != principal.user_id or credentials is None:
        record_event(
            db,
            principal,
            "auth.password_change",
            target_type="user",
            outcome="denied",
            client_ip=_client(request),
        )
        db.commit()
        raise AppError(
            403, "invalid_credentials", "지금 비밀번호가 올바르지 않습니다.", "The current password is wrong."
        )
    revoked = accounts.change_own_password(
        db,
        user,
        body.new_password,
        container.settings.auth.min_password_length,
        current_token=credentials.credentials,
    )
    record_event(
        db,
        principal,
        "auth.password_change",
        target_type="user",
        target_id=user.id,
        detail=revoked.detail(),
        client_ip=_client(request),
    )


def _session_only(principal: Principal) -> None:
    if principal.api_key_id is not None:
        raise AppError(
            403,
            "insufficient_scope",
            "비밀번호는 로그인 세션으로만 바꿀 수 있습니다 (API 키로는 안 됩니다).",
            "A password can only be changed from a login session, not with an API key.",
        )


@router.post("/logout", status_code=204)
def logout(
    principal: PendingPrincipal,
    db: DbDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> None:
    """End the current session (an API key is revoked through ``/api/v1/keys`` instead)."""
    if credentials is not None and principal.api_key_id is None:
        accounts.end_session(db, credentials.credentials)
        record_event(db, principal, "auth.logout", target_type="user", target_id=principal.user_id)


@router.get("/me", response_model=MeResponse)
def me(principal: PendingPrincipal, db: DbDep) -> dict[str, Any]:
    """The signed-in user and the scopes of this token or key.

    Through a key narrowed to some groups, ``user.groups`` lists only the groups the key acts with
    (never the owner's others).
    """
    user = accounts.get_user(db, principal.user_id)
    shown = user_out(user)
    if principal.groups_narrowed:
        shown["groups"] = [g for g in shown["groups"] if g["id"] in principal.group_ids]
    return {"user": shown, "scopes": sorted(principal.scopes), "api_key_id": principal.api_key_id}


class SetupStatus(BaseModel):
    """Whether the first administrator still has to be created (``jikji users create-admin``)."""

    needs_admin: bool = Field(description="True only while no active admin account exists.")


@router.get("/setup", response_model=SetupStatus)
def setup_status(db: DbDep) -> dict[str, bool]:
    """Public, for the sign-in page's first-run hint: whether an active admin exists, and nothing else."""
    admin = db.scalar(select(User.id).where(User.role == "admin", User.is_active.is_(True)).limit(1))
    return {"needs_admin": admin is None}
