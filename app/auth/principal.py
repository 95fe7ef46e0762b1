"""Who is calling: a user through a login session, or an API key acting for its owner."""

from __future__ import annotations

from dataclasses import dataclass

from retrieval.types import AccessScope

SEARCH = "search"
CHAT = "chat"
DOCUMENTS_READ = "documents:read"
DOCUMENTS_WRITE = "documents:write"
ADMIN = "admin"
# Managing API keys: every login session has it; a key has it only when it was given explicitly.
KEYS = "keys"
ALL_SCOPES: tuple[str, ...] = (SEARCH, CHAT, DOCUMENTS_READ, DOCUMENTS_WRITE, ADMIN, KEYS)

ROLE_ADMIN = "admin"
ROLE_EMPLOYEE = "employee"
ROLES: tuple[str, ...] = (ROLE_ADMIN, ROLE_EMPLOYEE)

ROLE_SCOPES: dict[str, frozenset[str]] = {
    ROLE_ADMIN: frozenset(ALL_SCOPES),
    ROLE_EMPLOYEE: frozenset({SEARCH, CHAT, DOCUMENTS_READ, KEYS}),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller with the scopes and groups it acts with.

    For an API key, ``scopes`` is the key's scopes narrowed to its owner's role, and ``group_ids`` is
    the owner's groups narrowed to the key's groups when the key names any (never more than the owner).
    """

    user_id: str
    username: str
    role: str
    group_ids: frozenset[str]
    scopes: frozenset[str]
    api_key_id: str | None = None
    groups_narrowed: bool = False
    must_change_password: bool = False

    @property
    def is_admin(self) -> bool:
        """May use the admin endpoints (never through a key narrowed to some groups)."""
        return self.role == ROLE_ADMIN and ADMIN in self.scopes and not self.groups_narrowed

    @property
    def sees_all_documents(self) -> bool:
        """Admins see every document; a key narrowed to groups sees only those groups' and public ones."""
        return self.is_admin

    def allows(self, scope: str) -> bool:
        """Whether the caller holds ``scope``."""
        return scope in self.scopes

    def access_scope(self) -> AccessScope:
        """The document visibility retrieval enforces for this caller."""
        return AccessScope(group_ids=self.group_ids, is_admin=self.sees_all_documents)

    @property
    def rate_key(self) -> str:
        """What rate limits count against: the key, or the user."""
        return f"key:{self.api_key_id}" if self.api_key_id else f"user:{self.user_id}"
