"""``/api/v1/identity``: which identity sources are configured, whether they answer, when they last synced.

For the admin page: local accounts, each OIDC provider (discovery and JWKS fetched now), LDAP and SCIM
(their last run from the ``identity_sync`` table), with the group mapping and how many users come from
each source.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.api.deps import AdminPrincipal, ContainerDep, DbDep
from app.api.oidc import OidcDep
from app.auth.oidc import OidcClient
from core.models import IdentitySync, User
from core.settings import Settings

router = APIRouter(prefix="/api/v1/identity", tags=["identity"])


class SyncOut(BaseModel):
    """The last run of a directory sync source."""

    status: str = Field(description="never, ok, error or running.")
    last_run_at: datetime | None
    last_success_at: datetime | None
    counts: dict[str, Any]
    error: str | None


class SourceOut(BaseModel):
    """One identity source."""

    kind: Literal["local", "oidc", "ldap", "scim"]
    name: str
    display_name: str
    configured: bool = Field(description="Whether it is set up (local: whether password sign-in is on).")
    healthy: bool | None = Field(description="Whether it answers now / its last sync worked; None: unknown.")
    detail: str = ""
    users: int = Field(description="Users whose origin is this source.")
    group_mapping: dict[str, str] = Field(default_factory=dict)
    unknown_groups: str | None = None
    admin_groups: list[str] = Field(default_factory=list)
    last_sync: SyncOut | None = None


class SourcesOut(BaseModel):
    """Every identity source and the number of users of each origin."""

    sources: list[SourceOut]
    users_by_origin: dict[str, int]


def _users_by_origin(db: Session) -> dict[str, int]:
    rows = db.execute(select(User.origin, func.count()).group_by(User.origin))
    return {str(origin): int(count) for origin, count in rows}


def _oidc_users(db: Session, issuer: str) -> int:
    prefix = issuer + "|"
    query = select(func.count()).where(
        User.origin == "oidc", func.substr(User.external_id, 1, len(prefix)) == prefix
    )
    return int(db.scalar(query) or 0)


def _oidc_source(db: Session, client: OidcClient) -> dict[str, Any]:
    health = client.health()
    settings = client.settings
    return {
        "kind": "oidc",
        "name": client.name,
        "display_name": settings.display_name or client.name,
        "configured": True,
        "healthy": health["healthy"],
        "detail": health["detail"],
        "users": _oidc_users(db, settings.issuer),
        "group_mapping": settings.group_mapping,
        "unknown_groups": settings.unknown_groups,
        "admin_groups": settings.admin_groups,
    }


def _sync(db: Session, source: str) -> dict[str, Any] | None:
    row = db.get(IdentitySync, source)
    if row is None:
        return None
    return {
        "status": row.status,
        "last_run_at": row.last_run_at,
        "last_success_at": row.last_success_at,
        "counts": row.counts or {},
        "error": row.error,
    }


def _directory_source(
    db: Session, settings: Settings, kind: Literal["ldap", "scim"], users: int
) -> dict[str, Any]:
    """LDAP or SCIM: configured when its settings say so; healthy when its last sync worked."""
    section = getattr(settings.auth, kind, None)
    if kind == "ldap":
        configured = bool(getattr(section, "url", None))
        detail = str(getattr(section, "url", "") or "")
    else:
        configured = bool(getattr(section, "token_sha256", None))
        detail = "/scim/v2" if configured else ""
    sync = _sync(db, kind)
    healthy = None if sync is None or sync["status"] in {"never", "running"} else sync["status"] == "ok"
    return {
        "kind": kind,
        "name": kind,
        "display_name": {"ldap": "LDAP / Active Directory", "scim": "SCIM 2.0"}[kind],
        "configured": configured,
        "healthy": healthy if configured else None,
        "detail": detail,
        "users": users,
        "group_mapping": dict(getattr(section, "group_mapping", {}) or {}),
        "unknown_groups": getattr(section, "unknown_groups", None),
        "admin_groups": list(getattr(section, "admin_groups", []) or []),
        "last_sync": sync,
    }


@router.get("/sources", response_model=SourcesOut)
def sources(_admin: AdminPrincipal, db: DbDep, container: ContainerDep, registry: OidcDep) -> dict[str, Any]:
    """Every identity source with its health and last sync (admins only; OIDC providers are asked now)."""
    settings = container.settings
    auth = settings.auth
    counts = _users_by_origin(db)
    local = {
        "kind": "local",
        "name": "local",
        "display_name": "Jikji",
        "configured": auth.local_login,
        "healthy": True,
        "detail": "" if auth.local_login else "break-glass: " + ", ".join(auth.break_glass_admins),
        "users": counts.get("local", 0),
    }
    found = [local, *(_oidc_source(db, c) for c in registry.all())]
    found += [_directory_source(db, settings, kind, counts.get(kind, 0)) for kind in ("ldap", "scim")]
    return {"sources": found, "users_by_origin": counts}
