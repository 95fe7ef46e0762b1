"""``/api/v1/auth``: log in (session token), log out, and who am I."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field

from app.api.deps import (
    ContainerDep,
    CurrentPrincipal,
    DbDep,
    bearer_scheme,
    get_limiter,
    rate_limited_error,
)
from app.auth.identity import normalise_username
from app.services import accounts
from app.services.audit import record_event
from app.services.errors import AppError
from core.models import Group, User

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class LoginRequest(BaseModel):
    """User name and password of a local account."""

    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)


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
    groups: list[GroupOut]
    created_at: datetime


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
        "groups": [group_out(g) for g in sorted(user.groups, key=lambda g: g.name)],
        "created_at": user.created_at,
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


@router.post("/login", response_model=LoginResponse)
def login(body: LoginRequest, request: Request, db: DbDep, container: ContainerDep) -> dict[str, Any]:
    """Check a local account's password and open a session (the token is shown only now)."""
    wait = get_limiter(request, "login").check(normalise_username(body.username))
    if wait:
        raise rate_limited_error(wait)
    user = container.identity.authenticate(db, body.username, body.password)
    client = request.client.host if request.client else None
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


@router.post("/logout", status_code=204)
def logout(
    principal: CurrentPrincipal,
    db: DbDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> None:
    """End the current session (an API key is revoked through ``/api/v1/keys`` instead)."""
    if credentials is not None and principal.api_key_id is None:
        accounts.end_session(db, credentials.credentials)
        record_event(db, principal, "auth.logout", target_type="user", target_id=principal.user_id)


@router.get("/me", response_model=MeResponse)
def me(principal: CurrentPrincipal, db: DbDep) -> dict[str, Any]:
    """The signed-in user and the scopes of this token or key.

    Through a key narrowed to some groups, ``user.groups`` lists only the groups the key acts with
    (never the owner's others).
    """
    user = accounts.get_user(db, principal.user_id)
    shown = user_out(user)
    if principal.groups_narrowed:
        shown["groups"] = [g for g in shown["groups"] if g["id"] in principal.group_ids]
    return {"user": shown, "scopes": sorted(principal.scopes), "api_key_id": principal.api_key_id}
