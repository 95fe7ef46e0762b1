"""``/api/v1/users`` and ``/api/v1/groups``: accounts and departments (admin, except listing groups)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from app.api.auth import UserOut, user_out
from app.api.deps import (
    AdminPrincipal,
    ContainerDep,
    CurrentPrincipal,
    DbDep,
    PageLimit,
    PageOffset,
    SettingsDep,
)
from app.services import accounts
from app.services.audit import record_event
from core.models import Group

router = APIRouter(prefix="/api/v1", tags=["users"])

Role = Literal["admin", "employee"]


class UserCreate(BaseModel):
    """A new local account."""

    username: str = Field(min_length=1, max_length=200, description="Stored NFC, trimmed, lower-case.")
    password: str = Field(min_length=1, max_length=1000, description="At least the configured length.")
    role: Role = "employee"
    display_name: str = Field(default="", max_length=200)
    groups: list[str] = Field(default_factory=list, max_length=200, description="Group names.")


class UserPatch(BaseModel):
    """Fields to change; absent ones stay. A new password or deactivating ends the user's sessions
    and revokes their API keys (the audit event counts them)."""

    display_name: str | None = Field(default=None, max_length=200)
    role: Role | None = None
    groups: list[str] | None = Field(default=None, max_length=200, description="Group names (replaces).")
    is_active: bool | None = None
    password: str | None = Field(default=None, min_length=1, max_length=1000)


class UserList(BaseModel):
    """A page of users."""

    total: int
    items: list[UserOut]


class GroupCreate(BaseModel):
    """A new group (department)."""

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)


class GroupPatch(BaseModel):
    """Fields to change; absent ones stay."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)


class GroupDetail(BaseModel):
    """A group with its description and member count."""

    id: str
    name: str
    description: str
    member_count: int
    created_at: datetime


class GroupList(BaseModel):
    """Groups, by name."""

    total: int
    items: list[GroupDetail]


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _group_detail(group: Group, members: int) -> dict[str, Any]:
    return {
        "id": group.id,
        "name": group.name,
        "description": group.description,
        "member_count": members,
        "created_at": group.created_at,
    }


# --- users ---------------------------------------------------------------------------------------


@router.get("/users", response_model=UserList)
def list_users(
    _admin: AdminPrincipal,
    db: DbDep,
    q: Annotated[str, Query(max_length=200, description="Part of a user name or display name.")] = "",
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> dict[str, Any]:
    """Users by user name, optionally filtered."""
    total, users = accounts.list_users(db, q, limit=limit, offset=offset)
    return {"total": total, "items": [user_out(u) for u in users]}


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(
    body: UserCreate, admin: AdminPrincipal, db: DbDep, request: Request, settings: SettingsDep
) -> dict[str, Any]:
    """Create a local account (409 when the name is taken, 422 for a weak password or unknown group)."""
    user = accounts.create_user(
        db,
        body.username,
        body.password,
        role=body.role,
        display_name=body.display_name,
        group_names=body.groups,
        min_password_length=settings.auth.min_password_length,
    )
    record_event(
        db,
        admin,
        "user.create",
        target_type="user",
        target_id=user.id,
        detail={"username": user.username, "role": user.role, "groups": sorted(g.name for g in user.groups)},
        client_ip=_client_ip(request),
    )
    return user_out(user)


@router.get("/users/{user_id}", response_model=UserOut)
def get_user(user_id: str, _admin: AdminPrincipal, db: DbDep) -> dict[str, Any]:
    """One user."""
    return user_out(accounts.get_user(db, user_id))


@router.patch("/users/{user_id}", response_model=UserOut)
def patch_user(
    user_id: str, body: UserPatch, admin: AdminPrincipal, db: DbDep, request: Request, settings: SettingsDep
) -> dict[str, Any]:
    """Change a user; 409 when it would leave no active admin."""
    user = accounts.get_user(db, user_id)
    changes = accounts.UserChanges(
        display_name=body.display_name,
        role=body.role,
        group_names=body.groups,
        is_active=body.is_active,
        password=body.password,
    )
    update = accounts.update_user(db, user, changes, min_password_length=settings.auth.min_password_length)
    changed = update.changed
    if changed:
        detail: dict[str, Any] = {"changed": changed}
        if "password" in changed or ("is_active" in changed and not user.is_active):
            detail.update(update.revoked.detail())
        if "role" in changed:
            detail["role"] = user.role
        if "groups" in changed:
            detail["groups"] = sorted(g.name for g in user.groups)
        if "is_active" in changed:
            detail["is_active"] = user.is_active
        record_event(
            db,
            admin,
            "user.update",
            target_type="user",
            target_id=user.id,
            detail=detail,
            client_ip=_client_ip(request),
        )
    return user_out(user)


# --- groups --------------------------------------------------------------------------------------


@router.get("/groups", response_model=GroupList, tags=["groups"])
def list_groups(principal: CurrentPrincipal, db: DbDep) -> dict[str, Any]:
    """Every group for admins; the caller's own groups for everyone else."""
    groups = accounts.list_groups(db, principal)
    counts = accounts.group_member_counts(db, [g.id for g in groups])
    return {"total": len(groups), "items": [_group_detail(g, counts.get(g.id, 0)) for g in groups]}


@router.post("/groups", response_model=GroupDetail, status_code=201, tags=["groups"])
def create_group(body: GroupCreate, admin: AdminPrincipal, db: DbDep, request: Request) -> dict[str, Any]:
    """Create a group (409 when the name is taken)."""
    group = accounts.create_group(db, body.name, body.description)
    record_event(
        db,
        admin,
        "group.create",
        target_type="group",
        target_id=group.id,
        detail={"name": group.name},
        client_ip=_client_ip(request),
    )
    return _group_detail(group, 0)


@router.patch("/groups/{group_id}", response_model=GroupDetail, tags=["groups"])
def patch_group(
    group_id: str, body: GroupPatch, admin: AdminPrincipal, db: DbDep, request: Request
) -> dict[str, Any]:
    """Rename a group or change its description."""
    group = accounts.get_group(db, group_id)
    changed = accounts.update_group(db, group, name=body.name, description=body.description)
    if changed:
        record_event(
            db,
            admin,
            "group.update",
            target_type="group",
            target_id=group.id,
            detail={"changed": changed, "name": group.name},
            client_ip=_client_ip(request),
        )
    counts = accounts.group_member_counts(db, [group.id])
    return _group_detail(group, counts.get(group.id, 0))


@router.delete("/groups/{group_id}", status_code=204, tags=["groups"])
def delete_group(
    group_id: str, admin: AdminPrincipal, db: DbDep, request: Request, container: ContainerDep
) -> Response:
    """Delete a group: its members leave it and documents shared only with it become admin-only."""
    group = accounts.get_group(db, group_id)
    name = group.name
    accounts.delete_group(db, group)
    record_event(
        db,
        admin,
        "group.delete",
        target_type="group",
        target_id=group_id,
        detail={"name": name},
        client_ip=_client_ip(request),
    )
    db.commit()
    # Document visibility changed: every process drops its cached permissions.
    container.index.permissions_changed()
    return Response(status_code=204)
