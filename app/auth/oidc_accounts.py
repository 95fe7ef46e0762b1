"""OIDC sign-ins in SQL: the pending sign-in, the user created just in time, the one-time hand-off.

A sign-in row is created at ``/start`` (state, browser binding, nonce, PKCE verifier), completed once at
the callback (the verifier and nonce are erased, the user is provisioned and a one-time hand-off code
is issued), and redeemed once by the UI for an ordinary API session. Only hashes of the state, the
browser cookie and the hand-off code are stored.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app.auth.oidc import OidcClient, OidcError, PkcePair, new_pkce
from app.auth.principal import ROLE_ADMIN, ROLE_EMPLOYEE
from app.auth.tokens import hash_secret
from core.db import utcnow
from core.models import AuthSession, Group, OidcLogin, User

ORIGIN_OIDC = "oidc"
ORIGIN_SCIM = "scim"
# How long the UI has to redeem the hand-off code after the provider sent the browser back.
HANDOFF_TTL = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class StartedLogin:
    """What ``/start`` needs to send the browser on: the secrets appear only here."""

    state: str
    browser_secret: str
    nonce: str
    pkce: PkcePair


def begin_login(session: Session, provider: str, ttl: timedelta) -> StartedLogin:
    """A new pending sign-in at ``provider`` (stored hashed where it can be)."""
    started = StartedLogin(
        state=secrets.token_urlsafe(32),
        browser_secret=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        pkce=new_pkce(),
    )
    session.add(
        OidcLogin(
            provider=provider,
            state_hash=hash_secret(started.state),
            browser_hash=hash_secret(started.browser_secret),
            nonce=started.nonce,
            code_verifier=started.pkce.verifier,
            expires_at=utcnow() + ttl,
        )
    )
    session.flush()
    return started


def take_pending_login(session: Session, provider: str, state: str, browser_secret: str | None) -> OidcLogin:
    """The pending sign-in this callback belongs to, consumed (its verifier and nonce can't be reused).

    Refused when the state is unknown, belongs to another provider, was already used, expired, or was
    started in another browser (the cookie differs): that is a forged or replayed callback.
    """
    row = session.scalar(select(OidcLogin).where(OidcLogin.state_hash == hash_secret(state)))
    if row is None or row.provider != provider or row.code_verifier is None or row.nonce is None:
        raise OidcError("invalid_state")
    if browser_secret is None or not secrets.compare_digest(row.browser_hash, hash_secret(browser_secret)):
        raise OidcError("invalid_state", "started in another browser")
    if row.expires_at <= utcnow():
        raise OidcError("login_expired")
    return row


def complete_login(session: Session, row: OidcLogin, user: User) -> str:
    """Mark the sign-in done for ``user``; the one-time hand-off code (shown once) the UI redeems."""
    handoff = secrets.token_urlsafe(32)
    row.user_id = user.id
    row.handoff_hash = hash_secret(handoff)
    row.code_verifier = None
    row.nonce = None
    row.expires_at = utcnow() + HANDOFF_TTL
    session.flush()
    return handoff


def redeem_handoff(session: Session, code: str) -> tuple[OidcLogin, User]:
    """The sign-in and active user of an unused, unexpired hand-off code; the code is spent now."""
    row = session.scalar(select(OidcLogin).where(OidcLogin.handoff_hash == hash_secret(code)))
    if row is None or row.used_at is not None or row.expires_at <= utcnow() or row.user_id is None:
        raise OidcError("invalid_handoff")
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise OidcError("account_disabled")
    # Spent in one statement that only an unspent code matches: of two redemptions racing, the one
    # that read the code before the other spent it matches nothing here and is refused.
    now = utcnow()
    spent = session.execute(
        update(OidcLogin)
        .where(OidcLogin.id == row.id, OidcLogin.used_at.is_(None), OidcLogin.expires_at > now)
        .values(used_at=now)
    )
    if int(getattr(spent, "rowcount", 0) or 0) != 1:
        raise OidcError("invalid_handoff")
    session.flush()
    return row, user


def provider_of_session(session: Session, auth_session_id: str) -> str | None:
    """The provider an API session was opened through, if it came from an OIDC sign-in."""
    return session.scalar(select(OidcLogin.provider).where(OidcLogin.session_id == auth_session_id))


def session_id_of(session: Session, token: str) -> str | None:
    """The id of the API session a token belongs to."""
    return session.scalar(select(AuthSession.id).where(AuthSession.token_hash == hash_secret(token)))


def purge_stale_logins(session: Session) -> int:
    """Forget sign-ins that expired a day ago and never turned into a session."""
    cutoff = utcnow() - timedelta(days=1)
    result = session.execute(
        delete(OidcLogin).where(OidcLogin.expires_at < cutoff, OidcLogin.session_id.is_(None))
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- users created just in time ------------------------------------------------------------------


def claimed_groups(claims: dict[str, Any], claim: str) -> list[str] | None:
    """The provider groups in ``claim`` (None when the claim is absent)."""
    value = claims.get(claim)
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value if str(v).strip()]
    return []


def _mapped_groups(session: Session, client: OidcClient, provider_groups: Sequence[str]) -> list[Group]:
    """The Jikji groups the provider groups map to; unknown ones are ignored or created per setting."""
    settings = client.settings
    wanted = sorted({settings.group_mapping.get(g, g).strip() for g in provider_groups} - {""})
    if not wanted:
        return []
    found = {g.name: g for g in session.scalars(select(Group).where(Group.name.in_(wanted)))}
    if settings.unknown_groups == "create":
        for name in wanted:
            if name not in found and len(name) <= 200:
                group = Group(name=name, origin=ORIGIN_OIDC, external_id=f"{client.name}:{name}")
                session.add(group)
                found[name] = group
        session.flush()
    return [found[n] for n in wanted if n in found]


def _role(client: OidcClient, claims: dict[str, Any], provider_groups: Sequence[str]) -> str:
    settings = client.settings
    roles: list[str] = []
    if settings.role_claim:
        value = claims.get(settings.role_claim)
        roles = (
            [value] if isinstance(value, str) else [str(v) for v in value or [] if isinstance(value, list)]
        )
    if ROLE_ADMIN in roles or set(settings.admin_groups) & set(provider_groups):
        return ROLE_ADMIN
    return ROLE_EMPLOYEE


def _clean_name(raw: str) -> str:
    name = unicodedata.normalize("NFC", raw).strip().lower()
    return re.sub(r"\s+", "", name)[:150]


def _free_username(session: Session, client: OidcClient, claims: dict[str, Any]) -> str:
    """A user name for a new SSO user: ``preferred_username`` or the e-mail, else one scoped to the
    provider. An existing account with that name is never taken over (it may be a local admin)."""
    for raw in (claims.get("preferred_username"), claims.get("email")):
        if isinstance(raw, str) and _clean_name(raw):
            for candidate in (_clean_name(raw), f"{_clean_name(raw)}@{client.name}"):
                if session.scalar(select(User.id).where(User.username == candidate)) is None:
                    return candidate
    return f"{client.name}:{secrets.token_hex(8)}"


def scim_user_for_claims(session: Session, claims: dict[str, Any]) -> User | None:
    """The SCIM-provisioned user these claims are: ``externalId`` equal to the token's ``oid`` (Entra ID's
    object id, what its SCIM mapping sends) or ``sub`` (Okta's user id). Only for providers with
    ``link_scim_users``: the same company directory provisions and signs in."""
    ids = [v for v in (claims.get("oid"), claims.get("sub")) if isinstance(v, str) and v]
    if not ids:
        return None
    return session.scalar(
        select(User).where(User.origin == ORIGIN_SCIM, User.external_id.in_(ids)).order_by(User.created_at)
    )


def _active_admins(session: Session) -> int:
    stmt = select(func.count()).select_from(User).where(User.role == ROLE_ADMIN, User.is_active.is_(True))
    return int(session.scalar(stmt) or 0)


def provision_user(session: Session, client: OidcClient, issuer: str, claims: dict[str, Any]) -> User:
    """The Jikji user for these claims, created or updated now; groups and role replaced from them.

    A user whose token carries no groups claim (and no userinfo groups) belongs to no group: they see
    public documents only. A user an admin deactivated stays deactivated (refused).
    """
    external_id = f"{issuer}|{claims['sub']}"
    user = session.scalar(select(User).where(User.origin == ORIGIN_OIDC, User.external_id == external_id))
    if user is None and client.settings.link_scim_users:
        user = scim_user_for_claims(session, claims)  # provisioned by this provider through SCIM
    provider_groups = claimed_groups(claims, client.settings.groups_claim) or []
    if user is None:
        user = User(
            username=_free_username(session, client, claims),
            origin=ORIGIN_OIDC,
            external_id=external_id,
            password_hash=None,
        )
        session.add(user)
    elif not user.is_active:
        raise OidcError("account_disabled")
    name = claims.get("name")
    user.display_name = (name.strip() if isinstance(name, str) and name.strip() else user.username)[:200]
    email = claims.get("email")
    user.email = email[:320] if isinstance(email, str) and email else None
    if user.origin != ORIGIN_SCIM:  # a SCIM user's groups and role are what SCIM and admins set
        role = _role(client, claims, provider_groups)
        if not (user.role == ROLE_ADMIN and role != ROLE_ADMIN and _active_admins(session) <= 1):
            user.role = role  # never demote the last active admin: nobody could govern Jikji then
        user.groups = _mapped_groups(session, client, provider_groups)
    session.flush()
    return user
