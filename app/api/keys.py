"""``/api/v1/keys``: API keys for internal tools (shown once, stored hashed, scoped, revocable)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from app.api.deps import CurrentPrincipal, DbDep, PageLimit, PageOffset, SettingsDep
from app.services import accounts
from app.services.audit import record_event
from app.services.errors import AppError
from core.models import ApiKey

router = APIRouter(prefix="/api/v1/keys", tags=["keys"])

Scope = Literal["search", "chat", "documents:read", "documents:write", "admin", "keys"]


class KeyCreate(BaseModel):
    """A new key; it never gets more than its owner (or a key creating it) has."""

    name: str = Field(min_length=1, max_length=200, description="What the key is for.")
    scopes: list[Scope] = Field(
        min_length=1,
        max_length=6,
        description="`keys` lets the key manage keys: create children (never wider, never outliving it) "
        "and revoke itself or them. Without it a key cannot create, list or revoke keys.",
    )
    group_ids: list[str] | None = Field(
        default=None,
        max_length=200,
        description="Limit the key to these of its owner's groups; absent: all the owner's groups.",
    )
    expires_at: datetime | None = Field(
        default=None,
        description="Must be in the future; naive is UTC. A key made through a key expires no later than "
        "it (absent: with it).",
    )
    owner_id: str | None = Field(default=None, description="Admins only: make the key for another user.")


class KeyOut(BaseModel):
    """A key as listings show it (never the secret)."""

    id: str
    name: str
    prefix: str = Field(description="The first characters of the secret, to recognise it.")
    owner_id: str
    created_by: str | None
    parent_id: str | None = Field(description="The key this one was made through; revoking it revokes this.")
    scopes: list[str]
    group_ids: list[str] | None
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime
    status: Literal["active", "revoked", "expired"]


class KeyCreated(BaseModel):
    """The new key and its secret: the only time the secret is shown."""

    key: KeyOut
    secret: str


class KeyList(BaseModel):
    """A page of keys, newest first."""

    total: int
    items: list[KeyOut]


def key_out(key: ApiKey) -> dict[str, Any]:
    """The public fields of a key."""
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "owner_id": key.owner_id,
        "created_by": key.created_by,
        "parent_id": key.parent_id,
        "scopes": list(key.scopes),
        "group_ids": None if key.group_ids is None else list(key.group_ids),
        "expires_at": key.expires_at,
        "revoked_at": key.revoked_at,
        "last_used_at": key.last_used_at,
        "created_at": key.created_at,
        "status": accounts.key_status(key),
    }


@router.get("", response_model=KeyList)
def list_keys(
    principal: CurrentPrincipal,
    db: DbDep,
    all_keys: Annotated[bool, Query(alias="all", description="Admins: every user's keys.")] = False,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> dict[str, Any]:
    """The caller's keys (through a key: that key and the keys made through it); admins may ask for
    every key."""
    accounts.require_key_management(principal)
    if all_keys and not principal.is_admin:
        raise AppError(
            403,
            "insufficient_scope",
            "모든 키를 보려면 'admin' 권한이 필요합니다.",
            "Listing every key needs the 'admin' scope.",
        )
    owner = None if all_keys else principal.user_id
    within = None if principal.api_key_id is None else accounts.descendant_key_ids(db, [principal.api_key_id])
    total, keys = accounts.list_api_keys(db, owner, limit=limit, offset=offset, within=within)
    return {"total": total, "items": [key_out(k) for k in keys]}


@router.post("", response_model=KeyCreated, status_code=201)
def create_key(
    body: KeyCreate, principal: CurrentPrincipal, db: DbDep, request: Request, settings: SettingsDep
) -> dict[str, Any]:
    """Make a key for yourself (admins: for anyone); 422 for scopes or groups beyond the owner's (or
    the parent key's), 403 through a key without the `keys` scope, 409 past the per-user key cap."""
    accounts.require_key_management(principal)
    owner = accounts.key_owner_for(db, principal, body.owner_id)
    expires = body.expires_at
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    secret, key = accounts.create_api_key(
        db,
        owner=owner,
        creator=principal,
        name=body.name,
        scopes=body.scopes,
        group_ids=body.group_ids,
        expires_at=expires,
        max_keys_per_user=settings.auth.max_keys_per_user,
    )
    record_event(
        db,
        principal,
        "key.create",
        target_type="api_key",
        target_id=key.id,
        detail={
            "name": key.name,
            "owner_id": key.owner_id,
            "scopes": list(key.scopes),
            "group_ids": key.group_ids,
            "prefix": key.prefix,
            "parent_id": key.parent_id,
            "expires_at": key.expires_at.isoformat() if key.expires_at else None,
        },
        client_ip=request.client.host if request.client else None,
    )
    return {"key": key_out(key), "secret": secret}


@router.delete("/{key_id}", status_code=204)
def revoke_key(key_id: str, principal: CurrentPrincipal, db: DbDep, request: Request) -> Response:
    """Revoke a key and every key made through it, at once (its owner or an admin; through a key:
    only that key or its descendants; anyone else gets 404)."""
    key = accounts.get_api_key_for(db, principal, key_id)
    revoked = accounts.revoke_api_key(db, key)
    record_event(
        db,
        principal,
        "key.revoke",
        target_type="api_key",
        target_id=key.id,
        detail={"name": key.name, "owner_id": key.owner_id, "revoked": revoked},
        client_ip=request.client.host if request.client else None,
    )
    return Response(status_code=204)
