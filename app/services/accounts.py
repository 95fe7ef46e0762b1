"""Accounts use cases: users, groups, login sessions and API keys (all secrets stored hashed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from app.auth.identity import normalise_username
from app.auth.passwords import hash_password, verify_password
from app.auth.principal import ALL_SCOPES, KEYS, ROLE_ADMIN, ROLE_SCOPES, ROLES, Principal
from app.auth.tokens import display_prefix, hash_secret, is_api_key, new_api_key, new_session_token
from app.services.audit import record_event
from app.services.errors import AppError, conflict, invalid, not_found
from core.db import utcnow
from core.models import ApiKey, AuthSession, Group, User, document_groups, user_groups

# last_seen/last_used are written at most this often, so reads do not turn into SQLite writes.
TOUCH_INTERVAL = timedelta(minutes=1)


# --- users and groups ----------------------------------------------------------------------------


def check_password_strength(password: str, min_length: int) -> None:
    """Reject passwords that are too short or too uniform."""
    if len(password) < min_length or len(set(password)) < 4:
        raise invalid(
            f"비밀번호는 {min_length}자 이상이어야 하고 너무 단순하면 안 됩니다.",
            f"The password must have at least {min_length} characters and not be trivial.",
        )


def create_user(
    session: Session,
    username: str,
    password: str,
    *,
    role: str = "employee",
    display_name: str = "",
    group_names: Sequence[str] = (),
    min_password_length: int = 10,
) -> User:
    """A new active user with a hashed password; the user name must be free."""
    name = normalise_username(username)
    if not name or len(name) > 200:
        raise invalid("사용자 이름이 올바르지 않습니다.", "The user name is not valid.")
    if role not in ROLES:
        raise invalid("역할은 admin 또는 employee여야 합니다.", "The role must be admin or employee.")
    check_password_strength(password, min_password_length)
    if session.scalar(select(User.id).where(User.username == name)):
        raise conflict("이미 있는 사용자 이름입니다.", "That user name is taken.")
    user = User(
        username=name,
        display_name=display_name.strip() or name,
        password_hash=hash_password(password),
        role=role,
        groups=groups_by_name(session, group_names),
    )
    session.add(user)
    session.flush()
    return user


def has_active_admin(session: Session) -> bool:
    """Whether any active admin account exists."""
    query = select(User.id).where(User.role == "admin", User.is_active.is_(True)).limit(1)
    return session.scalar(query) is not None


def get_user(session: Session, user_id: str) -> User:
    """A user by id, or 404."""
    user = session.get(User, user_id)
    if user is None:
        raise not_found("사용자", "user")
    return user


@dataclass(frozen=True, slots=True)
class Revoked:
    """How many sessions and API keys a password change or deactivation ended (for the audit log)."""

    sessions: int = 0
    api_keys: int = 0

    def detail(self) -> dict[str, int]:
        """The counts as audit detail."""
        return {"sessions_ended": self.sessions, "api_keys_revoked": self.api_keys}


def set_password(
    session: Session, user: User, password: str, min_length: int, *, keep_token: str | None = None
) -> Revoked:
    """Change a password and end the user's sessions and API keys everywhere.

    ``keep_token`` spares the session of a user changing their own password (it just proved the old
    one); every other session and every key ends, so whoever learned the old password or made a key
    with it is locked out. Clears ``must_change_password``.
    """
    if (user.origin or "local") != "local":  # None: a new row not flushed yet (local by default)
        raise AppError(
            409,
            "password_managed_elsewhere",
            "이 계정의 비밀번호는 회사 디렉터리나 통합 로그인에서 관리합니다.",
            "This account's password is managed by the company directory or single sign-on.",
        )
    check_password_strength(password, min_length)
    user.password_hash = hash_password(password)
    user.must_change_password = False
    return Revoked(
        revoke_sessions(session, user.id, except_token=keep_token), revoke_user_api_keys(session, user.id)
    )


def change_own_password(
    session: Session, user: User, new_password: str, min_length: int, *, current_token: str
) -> Revoked:
    """A user's own password change (the current one already checked); 422 when it is unchanged."""
    if verify_password(user.password_hash, new_password):
        raise invalid(
            "새 비밀번호가 지금 비밀번호와 같습니다.", "The new password is the same as the current one."
        )
    return set_password(session, user, new_password, min_length, keep_token=current_token)


def deactivate_user(session: Session, user: User) -> Revoked:
    """Block sign-in and every session and key of the user (history is kept)."""
    user.is_active = False
    return Revoked(revoke_sessions(session, user.id), revoke_user_api_keys(session, user.id))


def deprovision_user(session: Session, user: User, *, source: str, reason: str) -> Revoked:
    """Deactivate a user on behalf of an identity source (``ldap``, ``scim``) and audit it with what
    ended (``identity.deprovision``, detail: source, reason, sessions ended, keys revoked)."""
    revoked = deactivate_user(session, user)
    record_event(
        session,
        None,
        "identity.deprovision",
        target_type="user",
        target_id=user.id,
        detail={"source": source, "reason": reason, **revoked.detail()},
    )
    return revoked


def revoke_user_api_keys(session: Session, user_id: str) -> int:
    """Revoke every live key the user owns, and every key made through them; how many."""
    owned = list(
        session.scalars(select(ApiKey.id).where(ApiKey.owner_id == user_id, ApiKey.revoked_at.is_(None)))
    )
    return _revoke_key_trees(session, owned)


def groups_by_name(session: Session, names: Sequence[str]) -> list[Group]:
    """Existing groups by name; an unknown name is an error (typos must not drop permissions)."""
    wanted = sorted({n.strip() for n in names if n.strip()})
    if not wanted:
        return []
    found = list(session.scalars(select(Group).where(Group.name.in_(wanted))))
    missing = sorted(set(wanted) - {g.name for g in found})
    if missing:
        raise invalid(f"없는 그룹입니다: {', '.join(missing)}", f"Unknown groups: {', '.join(missing)}")
    return found


def group_ids_by_name(
    session: Session, names: Sequence[str], *, create_missing: bool = False
) -> tuple[str, ...]:
    """Ids of the named groups, for sharing documents: unknown names are refused with the list of
    known groups, unless ``create_missing`` creates them (an explicit choice, e.g. ``--create-groups``).
    """
    wanted = sorted({n.strip() for n in names if n.strip()})
    if create_missing:
        known = {g.name for g in session.scalars(select(Group).where(Group.name.in_(wanted)))}
        for name in wanted:
            if name not in known:
                create_group(session, name)
    try:
        return tuple(g.id for g in groups_by_name(session, wanted))
    except AppError as exc:
        existing = ", ".join(session.scalars(select(Group.name).order_by(Group.name))) or "-"
        raise invalid(
            f"{exc.message_ko} (있는 그룹: {existing})", f"{exc.message_en} (existing groups: {existing})"
        ) from exc


def groups_by_id(session: Session, ids: Sequence[str]) -> list[Group]:
    """Existing groups by id; an unknown id is an error."""
    wanted = set(ids)
    if not wanted:
        return []
    found = list(session.scalars(select(Group).where(Group.id.in_(wanted))))
    if len(found) != len(wanted):
        raise invalid("없는 그룹이 포함되어 있습니다.", "Some groups do not exist.")
    return found


def create_group(session: Session, name: str, description: str = "") -> Group:
    """A new group (department); names are unique."""
    clean = name.strip()
    if not clean or len(clean) > 200:
        raise invalid("그룹 이름이 올바르지 않습니다.", "The group name is not valid.")
    if session.scalar(select(Group.id).where(Group.name == clean)):
        raise conflict("이미 있는 그룹 이름입니다.", "That group name is taken.")
    group = Group(name=clean, description=description.strip())
    session.add(group)
    session.flush()
    return group


@dataclass(frozen=True, slots=True)
class UserChanges:
    """A partial update of a user; ``None`` leaves a field as it is."""

    display_name: str | None = None
    role: str | None = None
    group_names: Sequence[str] | None = None
    is_active: bool | None = None
    password: str | None = None


@dataclass(slots=True)
class UserUpdate:
    """What :func:`update_user` changed: field names (never secret values) and what it revoked."""

    changed: list[str]
    revoked: Revoked


def list_users(session: Session, q: str = "", *, limit: int = 50, offset: int = 0) -> tuple[int, list[User]]:
    """Users whose user name or display name contains ``q`` (all when empty), by user name."""
    conditions = []
    needle = q.strip().lower()
    if needle:
        pattern = f"%{_escape_like(needle)}%"
        conditions.append(
            or_(
                User.username.like(pattern, escape="\\"),
                func.lower(User.display_name).like(pattern, escape="\\"),
            )
        )
    total = session.scalar(select(func.count()).select_from(User).where(*conditions)) or 0
    rows = session.scalars(
        select(User).where(*conditions).order_by(User.username).limit(limit).offset(offset)
    )
    return int(total), list(rows)


def update_user(
    session: Session, user: User, changes: UserChanges, *, min_password_length: int
) -> UserUpdate:
    """Apply ``changes``; the names of the fields that changed and the sessions/keys that ended.

    A new password or deactivating ends the user's sessions and revokes their keys. The change is
    refused (409) when it would leave no active admin.
    """
    if changes.role is not None and changes.role not in ROLES:
        raise invalid("역할은 admin 또는 employee여야 합니다.", "The role must be admin or employee.")
    stays_admin = (changes.role or user.role) == ROLE_ADMIN and (
        user.is_active if changes.is_active is None else changes.is_active
    )
    if user.role == ROLE_ADMIN and user.is_active and not stays_admin and count_active_admins(session) <= 1:
        raise conflict(
            "마지막 활성 관리자는 역할을 바꾸거나 비활성화할 수 없습니다.",
            "The last active admin cannot be demoted or deactivated.",
        )
    changed: list[str] = []
    revoked = Revoked()
    if changes.display_name is not None and changes.display_name.strip() != user.display_name:
        user.display_name = changes.display_name.strip()[:200] or user.username
        changed.append("display_name")
    if changes.role is not None and changes.role != user.role:
        user.role = changes.role
        changed.append("role")
    if changes.group_names is not None:
        groups = groups_by_name(session, changes.group_names)
        if {g.id for g in groups} != {g.id for g in user.groups}:
            user.groups = groups
            changed.append("groups")
    if changes.password is not None:
        revoked = _add(revoked, set_password(session, user, changes.password, min_password_length))
        changed.append("password")
    if changes.is_active is not None and changes.is_active != user.is_active:
        if changes.is_active:
            user.is_active = True
        else:
            revoked = _add(revoked, deactivate_user(session, user))
        changed.append("is_active")
    session.flush()
    return UserUpdate(changed, revoked)


def _add(first: Revoked, second: Revoked) -> Revoked:
    return Revoked(first.sessions + second.sessions, first.api_keys + second.api_keys)


def count_active_admins(session: Session) -> int:
    """How many active admin accounts there are."""
    stmt = select(func.count()).select_from(User).where(User.role == ROLE_ADMIN, User.is_active.is_(True))
    return int(session.scalar(stmt) or 0)


def list_groups(session: Session, principal: Principal) -> list[Group]:
    """Every group for an admin; otherwise the groups the caller acts with."""
    stmt = select(Group).order_by(Group.name)
    if not principal.is_admin:
        stmt = stmt.where(Group.id.in_(sorted(principal.group_ids)))
    return list(session.scalars(stmt))


def group_member_counts(session: Session, group_ids: Sequence[str]) -> dict[str, int]:
    """Number of users in each of ``group_ids``."""
    if not group_ids:
        return {}
    rows = session.execute(
        select(user_groups.c.group_id, func.count())
        .where(user_groups.c.group_id.in_(list(group_ids)))
        .group_by(user_groups.c.group_id)
    )
    return {group_id: int(count) for group_id, count in rows}


def get_group(session: Session, group_id: str) -> Group:
    """A group by id, or 404."""
    group = session.get(Group, group_id)
    if group is None:
        raise not_found("그룹", "group")
    return group


def update_group(
    session: Session, group: Group, *, name: str | None = None, description: str | None = None
) -> list[str]:
    """Rename a group or change its description; the names of the fields that changed."""
    changed: list[str] = []
    if name is not None and name.strip() != group.name:
        clean = name.strip()
        if not clean or len(clean) > 200:
            raise invalid("그룹 이름이 올바르지 않습니다.", "The group name is not valid.")
        if session.scalar(select(Group.id).where(Group.name == clean, Group.id != group.id)):
            raise conflict("이미 있는 그룹 이름입니다.", "That group name is taken.")
        group.name = clean
        changed.append("name")
    if description is not None and description.strip() != group.description:
        group.description = description.strip()
        changed.append("description")
    session.flush()
    return changed


def delete_group(session: Session, group: Group) -> None:
    """Delete a group; its memberships and document shares go with it (documents stay)."""
    session.execute(delete(user_groups).where(user_groups.c.group_id == group.id))
    session.execute(delete(document_groups).where(document_groups.c.group_id == group.id))
    session.delete(group)
    session.flush()


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- login sessions ------------------------------------------------------------------------------


def start_session(session: Session, user: User, ttl: timedelta) -> tuple[str, AuthSession]:
    """A new login session; the token is returned once and only its hash is stored."""
    token = new_session_token()
    row = AuthSession(token_hash=hash_secret(token), user_id=user.id, expires_at=utcnow() + ttl)
    session.add(row)
    session.flush()
    return token, row


def end_session(session: Session, token: str) -> None:
    """Revoke the session this token belongs to (logout)."""
    session.execute(
        update(AuthSession)
        .where(AuthSession.token_hash == hash_secret(token), AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def revoke_sessions(session: Session, user_id: str, *, except_token: str | None = None) -> int:
    """End every session of a user (but the one of ``except_token``); how many ended."""
    conditions = [AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)]
    if except_token is not None:
        conditions.append(AuthSession.token_hash != hash_secret(except_token))
    result = session.execute(update(AuthSession).where(*conditions).values(revoked_at=utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)


def purge_expired_sessions(session: Session) -> int:
    """Delete sessions that expired or were revoked more than a day ago."""
    cutoff = utcnow() - timedelta(days=1)
    result = session.execute(
        delete(AuthSession).where((AuthSession.expires_at < cutoff) | (AuthSession.revoked_at < cutoff))
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- API keys ------------------------------------------------------------------------------------


def create_api_key(
    session: Session,
    *,
    owner: User,
    creator: Principal,
    name: str,
    scopes: Sequence[str],
    group_ids: Sequence[str] | None = None,
    expires_at: datetime | None = None,
    max_keys_per_user: int | None = None,
) -> tuple[str, ApiKey]:
    """A new key for ``owner``; returns the secret once. Never grants more than the owner has.

    Made through a key (which needs the ``keys`` scope), the new key is that key's child: its scopes
    and groups are within the parent's, it expires no later than the parent (by default with it), and
    revoking the parent revokes it.
    """
    require_key_management(creator)
    if creator.user_id != owner.id and not creator.is_admin:
        raise not_found("사용자", "user")
    if not name.strip():
        raise invalid("키 이름이 필요합니다.", "The key needs a name.")
    wanted = set(scopes)
    unknown = wanted - set(ALL_SCOPES)
    if unknown or not wanted:
        raise invalid(
            f"알 수 없는 권한 범위입니다: {', '.join(sorted(unknown)) or '(없음)'}",
            f"Unknown or missing scopes: {', '.join(sorted(unknown)) or '(none)'}",
        )
    if not wanted <= ROLE_SCOPES[owner.role] or not wanted <= creator.scopes:
        raise invalid(
            "소유자나 발급자가 가진 권한보다 넓은 키는 만들 수 없습니다.",
            "A key cannot have scopes its owner or creator does not have.",
        )
    narrowed = _check_key_groups(session, owner, creator, group_ids)
    if expires_at is not None and _aware(expires_at) <= utcnow():
        raise invalid("만료 시각이 이미 지났습니다.", "The expiry time is in the past.")
    expires_at = _within_parent_expiry(session, creator, expires_at)
    if max_keys_per_user is not None and count_live_keys(session, owner.id) >= max_keys_per_user:
        raise conflict(
            f"사용자 한 명의 활성 API 키는 {max_keys_per_user}개까지입니다. 쓰지 않는 키를 폐기하십시오.",
            f"A user may have at most {max_keys_per_user} active API keys; revoke unused ones first.",
        )
    secret = new_api_key()
    key = ApiKey(
        name=name.strip()[:200],
        prefix=display_prefix(secret),
        secret_hash=hash_secret(secret),
        owner_id=owner.id,
        created_by=creator.user_id,
        parent_id=creator.api_key_id,
        scopes=sorted(wanted),
        group_ids=narrowed,
        expires_at=expires_at,
    )
    session.add(key)
    session.flush()
    return secret, key


def _check_key_groups(
    session: Session, owner: User, creator: Principal, group_ids: Sequence[str] | None
) -> list[str] | None:
    """The key's group list: within the owner's groups, and within a narrowed creator's groups."""
    if group_ids is None:
        # A key made through a group-narrowed key inherits that narrowing (never widens it).
        return sorted(creator.group_ids) if creator.groups_narrowed else None
    wanted = set(group_ids)
    if owner.role != ROLE_ADMIN and not wanted <= {g.id for g in owner.groups}:
        raise invalid(
            "키에는 소유자가 속한 그룹만 지정할 수 있습니다.",
            "A key can only be limited to groups its owner belongs to.",
        )
    if creator.groups_narrowed and not wanted <= creator.group_ids:
        raise invalid(
            "키에는 발급자가 접근할 수 있는 그룹만 지정할 수 있습니다.",
            "A key can only be limited to groups its creator acts with.",
        )
    groups_by_id(session, sorted(wanted))
    return sorted(wanted)


def require_key_management(principal: Principal) -> None:
    """403 unless the caller may manage API keys: a login session, or a key given the ``keys`` scope."""
    if not principal.allows(KEYS):
        raise AppError(
            403,
            "insufficient_scope",
            "API 키 관리는 로그인 세션이나 'keys' 권한이 있는 키로만 할 수 있습니다.",
            "Managing API keys needs a login session or a key with the 'keys' scope.",
        )


def _within_parent_expiry(
    session: Session, creator: Principal, expires_at: datetime | None
) -> datetime | None:
    """A child key expires no later than the key it is made through (absent: with it)."""
    if creator.api_key_id is None:
        return expires_at
    parent = session.get(ApiKey, creator.api_key_id)
    if parent is None or parent.expires_at is None:
        return expires_at
    if expires_at is None:
        return parent.expires_at
    if _aware(expires_at) > parent.expires_at:
        raise invalid(
            "키로 만든 키는 그 키보다 늦게 만료될 수 없습니다.",
            "A key made through another key cannot expire after it.",
        )
    return expires_at


def count_live_keys(session: Session, owner_id: str) -> int:
    """The owner's keys that are neither revoked nor expired."""
    live = (
        ApiKey.owner_id == owner_id,
        ApiKey.revoked_at.is_(None),
        or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > utcnow()),
    )
    return int(session.scalar(select(func.count()).select_from(ApiKey).where(*live)) or 0)


def revoke_api_key(session: Session, key: ApiKey) -> int:
    """Revoke a key and every key made through it, at once (idempotent); how many were revoked."""
    count = _revoke_key_trees(session, [key.id])
    session.refresh(key)
    return count


def descendant_key_ids(session: Session, key_ids: Sequence[str]) -> list[str]:
    """``key_ids`` and every key made through them, directly or further down."""
    found: list[str] = []
    seen: set[str] = set()
    frontier = [k for k in key_ids if k not in seen]
    while frontier:
        found.extend(frontier)
        seen.update(frontier)
        children = session.scalars(select(ApiKey.id).where(ApiKey.parent_id.in_(frontier)))
        frontier = sorted({c for c in children if c not in seen})
    return found


def _revoke_key_trees(session: Session, key_ids: Sequence[str]) -> int:
    """Revoke the keys and their descendants that are still live; how many."""
    tree = descendant_key_ids(session, key_ids)
    if not tree:
        return 0
    result = session.execute(
        update(ApiKey)
        .where(ApiKey.id.in_(tree), ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)


def key_status(key: ApiKey) -> str:
    """``active``, ``revoked`` or ``expired``."""
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= utcnow():
        return "expired"
    return "active"


def list_api_keys(
    session: Session,
    owner_id: str | None,
    *,
    limit: int = 50,
    offset: int = 0,
    within: Sequence[str] | None = None,
) -> tuple[int, list[ApiKey]]:
    """Keys of ``owner_id`` (every key when ``None``; only ids in ``within`` when given), newest
    first, with the total count."""
    conditions = [] if owner_id is None else [ApiKey.owner_id == owner_id]
    if within is not None:
        conditions.append(ApiKey.id.in_(list(within)))
    total = session.scalar(select(func.count()).select_from(ApiKey).where(*conditions)) or 0
    rows = session.scalars(
        select(ApiKey)
        .where(*conditions)
        .order_by(ApiKey.created_at.desc(), ApiKey.id)
        .limit(limit)
        .offset(offset)
    )
    return int(total), list(rows)


def get_api_key_for(session: Session, principal: Principal, key_id: str) -> ApiKey:
    """A key the caller may manage, else the same 404 as a missing key.

    A login session manages its user's keys (an admin's: anyone's); a key with the ``keys`` scope
    manages only itself and the keys made through it, never its parent or siblings.
    """
    require_key_management(principal)
    key = session.get(ApiKey, key_id)
    if key is None or (key.owner_id != principal.user_id and not principal.is_admin):
        raise not_found("API 키", "API key")
    if principal.api_key_id is not None and key.id not in descendant_key_ids(session, [principal.api_key_id]):
        raise not_found("API 키", "API key")
    return key


def key_owner_for(session: Session, principal: Principal, owner_id: str | None) -> User:
    """Whom a new key is for: the caller, or (admins only) another active user; else 404/422."""
    if owner_id is None or owner_id == principal.user_id:
        return get_user(session, principal.user_id)
    if not principal.is_admin:
        raise not_found("사용자", "user")
    owner = get_user(session, owner_id)
    if not owner.is_active:
        raise invalid("비활성 사용자에게는 키를 만들 수 없습니다.", "Inactive users cannot get keys.")
    return owner


# --- resolving a bearer secret -------------------------------------------------------------------


def resolve_bearer(session: Session, secret: str) -> Principal | None:
    """The principal a session token or API key stands for, or ``None`` when invalid or expired."""
    if is_api_key(secret):
        return _resolve_key(session, secret)
    return _resolve_session(session, secret)


def _resolve_session(session: Session, token: str) -> Principal | None:
    row = session.scalar(select(AuthSession).where(AuthSession.token_hash == hash_secret(token)))
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    if row.last_seen_at is None or now - row.last_seen_at > TOUCH_INTERVAL:
        row.last_seen_at = now
    return Principal(
        user_id=user.id,
        username=user.username,
        role=user.role,
        group_ids=frozenset(g.id for g in user.groups),
        scopes=ROLE_SCOPES.get(user.role, frozenset()),
        must_change_password=user.must_change_password,
    )


def _resolve_key(session: Session, secret: str) -> Principal | None:
    key = session.scalar(select(ApiKey).where(ApiKey.secret_hash == hash_secret(secret)))
    now = utcnow()
    if key is None or key.revoked_at is not None:
        return None
    if key.expires_at is not None and key.expires_at <= now:
        return None
    owner = session.get(User, key.owner_id)
    if owner is None or not owner.is_active:
        return None
    if key.last_used_at is None or now - key.last_used_at > TOUCH_INTERVAL:
        key.last_used_at = now
    owner_groups = frozenset(g.id for g in owner.groups)
    narrowed = key.group_ids is not None
    if narrowed:
        allowed = frozenset(key.group_ids or ())
        groups = allowed if owner.role == "admin" else owner_groups & allowed
    else:
        groups = owner_groups
    return Principal(
        user_id=owner.id,
        username=owner.username,
        role=owner.role,
        group_ids=groups,
        scopes=frozenset(key.scopes) & ROLE_SCOPES.get(owner.role, frozenset()),
        api_key_id=key.id,
        groups_narrowed=narrowed,
        must_change_password=owner.must_change_password,
    )


def _aware(moment: datetime) -> datetime:
    """A client-sent time without an offset is taken as UTC (stored times are always aware)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)
