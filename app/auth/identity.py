"""The identity-provider interface; local accounts today, OIDC can be added beside them."""

from __future__ import annotations

import unicodedata
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.passwords import hash_password, needs_rehash, verify_password
from core.models import User


class IdentityProvider(Protocol):
    """Turns credentials into an active user, or ``None``."""

    def authenticate(self, session: Session, username: str, password: str) -> User | None:
        """The active user these credentials prove, else ``None``."""
        ...


def normalise_username(username: str) -> str:
    """User names are NFC, trimmed and case-insensitive (stored lower-case)."""
    return unicodedata.normalize("NFC", username).strip().lower()


class LocalPasswordProvider:
    """Accounts with Argon2id password hashes in SQL."""

    def authenticate(self, session: Session, username: str, password: str) -> User | None:
        """Check the password in constant-ish time whether or not the user exists."""
        user = session.scalar(select(User).where(User.username == normalise_username(username)))
        ok = verify_password(user.password_hash if user else None, password)
        if not ok or user is None or not user.is_active:
            return None
        if user.password_hash and needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        return user
