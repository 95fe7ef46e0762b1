"""Bearer secrets: session tokens and API keys, stored only as SHA-256 hashes.

Both are 256-bit random values, so a fast hash is safe for them (passwords use Argon2). The prefix
tells the two apart: ``jks_`` for login sessions, ``jk_`` for API keys.
"""

from __future__ import annotations

import hashlib
import secrets

SESSION_PREFIX = "jks_"
API_KEY_PREFIX = "jk_"
# The visible part of a key shown in listings, e.g. ``jk_Ab3dE9xQ`` (never enough to use it).
KEY_DISPLAY_CHARS = 11


def hash_secret(secret: str) -> str:
    """Hex SHA-256 of a bearer secret."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_session_token() -> str:
    """A fresh login-session token."""
    return SESSION_PREFIX + secrets.token_urlsafe(32)


def new_api_key() -> str:
    """A fresh API key secret."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def is_api_key(secret: str) -> bool:
    """Whether a bearer secret is an API key (rather than a session token)."""
    return secret.startswith(API_KEY_PREFIX) and not secret.startswith(SESSION_PREFIX)


def display_prefix(secret: str) -> str:
    """The non-secret leading part of a key, for listings."""
    return secret[:KEY_DISPLAY_CHARS]
