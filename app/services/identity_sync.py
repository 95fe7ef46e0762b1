"""Directory-managed accounts: LDAP sign-in (just in time), group sync, deprovisioning, sync state.

An LDAP user is a Jikji user with ``origin='ldap'`` and the directory's stable id as ``external_id``;
the groups of such a user follow the directory (every sign-in and every sync replaces them). Someone
who vanishes from the directory, leaves the user filter or is disabled there is deactivated at the
next sync: their sessions end and their API keys are revoked (:func:`accounts.deactivate_user`). A
deactivated LDAP user stays deactivated until an admin reactivates them in Jikji.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.identity import IdentityProvider, normalise_username
from app.auth.ldap import DirectoryPerson, LdapDirectory, LdapUnavailableError
from app.auth.principal import ROLE_ADMIN
from app.services import accounts
from app.services.audit import record_event
from app.services.errors import AppError
from core.db import utcnow
from core.models import Group, IdentitySync, User
from core.settings import LdapSettings

log = logging.getLogger(__name__)

LDAP = "ldap"


@dataclass(slots=True)
class SyncCounts:
    """What one sync changed."""

    seen: int = 0
    updated: int = 0
    deprovisioned: int = 0
    sessions_ended: int = 0
    api_keys_revoked: int = 0
    groups_created: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """The counts for the sync state and the audit log."""
        return {
            "seen": self.seen,
            "updated": self.updated,
            "deprovisioned": self.deprovisioned,
            "sessions_ended": self.sessions_ended,
            "api_keys_revoked": self.api_keys_revoked,
            "groups_created": self.groups_created,
        }


# --- groups and roles from the directory -----------------------------------------------------------


def _mapped_names(person: DirectoryPerson, settings: LdapSettings) -> dict[str, bool]:
    """Jikji group name → whether it was named in ``group_mapping`` (else: the directory group's name)."""
    mapping = {key.strip().lower(): value.strip() for key, value in settings.group_mapping.items()}
    names: dict[str, bool] = {}
    for group in person.groups:
        target = mapping.get(group.dn.lower()) or mapping.get(group.name.lower())
        if target:
            names[target] = True
        else:
            names.setdefault(group.name, False)
    return names


def directory_groups(
    session: Session, person: DirectoryPerson, settings: LdapSettings, counts: SyncCounts | None = None
) -> list[Group]:
    """The Jikji groups ``person``'s directory groups map to (created when mapped or allowed)."""
    wanted = _mapped_names(person, settings)
    existing = {g.name: g for g in session.scalars(select(Group).where(Group.name.in_(sorted(wanted))))}
    groups = []
    for name, mapped in sorted(wanted.items()):
        group = existing.get(name)
        if group is None and (mapped or settings.unknown_groups == "create"):
            group = accounts.create_group(session, name, "LDAP")
            group.origin = LDAP
            if counts is not None:
                counts.groups_created.append(name)
        if group is not None:
            groups.append(group)
    return groups


def _is_admin(person: DirectoryPerson, settings: LdapSettings) -> bool | None:
    """Whether the directory makes ``person`` an admin; None when roles are managed in Jikji."""
    if not settings.admin_groups:
        return None
    admins = {name.strip().lower() for name in settings.admin_groups}
    return any(g.dn.lower() in admins or g.name.lower() in admins for g in person.groups)


def apply_person(
    session: Session, user: User, person: DirectoryPerson, settings: LdapSettings, counts: SyncCounts
) -> bool:
    """Bring ``user`` in line with the directory (name, groups, role); whether anything changed."""
    changed = False
    if person.display_name and person.display_name[:200] != user.display_name:
        user.display_name = person.display_name[:200]
        changed = True
    groups = directory_groups(session, person, settings, counts)
    if {g.id for g in groups} != {g.id for g in user.groups}:
        user.groups = groups
        changed = True
    admin = _is_admin(person, settings)
    if admin is not None:
        role = ROLE_ADMIN if admin else "employee"
        last_admin = user.role == ROLE_ADMIN and accounts.count_active_admins(session) <= 1
        if role != user.role and not last_admin:
            user.role = role
            changed = True
    session.flush()
    return changed


# --- sign-in -------------------------------------------------------------------------------------


def ldap_user_for(session: Session, person: DirectoryPerson, settings: LdapSettings) -> User | None:
    """The active Jikji user for a person who just proved their password to the directory.

    Created on first sign-in; groups and role refreshed on every one. None when the account was
    deactivated in Jikji or the user name belongs to an account of another origin (a local account is
    never taken over by a directory entry of the same name).
    """
    user = session.scalar(select(User).where(User.origin == LDAP, User.external_id == person.external_id))
    if user is None:
        name = normalise_username(person.username)
        if not name or session.scalar(select(User.id).where(User.username == name)):
            log.warning("LDAP sign-in of %r refused: the user name belongs to another account", name)
            return None
        user = User(username=name, display_name=person.display_name[:200] or name, password_hash=None)
        user.origin, user.external_id = LDAP, person.external_id
        session.add(user)
        session.flush()
    if not user.is_active:
        return None
    apply_person(session, user, person, settings, SyncCounts())
    return user


def signs_in_with_directory(session: Session, settings: LdapSettings, username: str) -> bool:
    """Whether a password sign-in with this name goes to LDAP (configured, and no account of another
    origin holds the name): such sign-ins are not local logins, so ``auth.local_login=false`` allows them."""
    if not settings.enabled:
        return False
    name = normalise_username(username)
    origin = session.scalar(select(User.origin).where(User.username == name))
    return origin is None or origin == LDAP


class LdapPasswordProvider:
    """Signs in local accounts with their password, and everyone else against the directory."""

    def __init__(self, local: IdentityProvider, directory: LdapDirectory) -> None:
        self.local = local
        self.directory = directory

    def authenticate(self, session: Session, username: str, password: str) -> User | None:
        """A local account's password check, else a bind as the directory person of that name."""
        name = normalise_username(username)
        existing = session.scalar(select(User).where(User.username == name))
        if existing is not None and existing.origin != LDAP:
            return self.local.authenticate(session, username, password)
        try:
            person = self.directory.authenticate(username, password)
        except LdapUnavailableError as exc:
            log.exception("LDAP sign-in of %r: the directory is unavailable", name)
            raise AppError(
                503,
                "directory_unavailable",
                "회사 디렉터리(LDAP)에 연결할 수 없어 로그인할 수 없습니다. 잠시 후 다시 시도해 주세요.",
                "The company directory (LDAP) cannot be reached, so nobody can sign in with it; retry later.",
                headers={"Retry-After": "30"},
            ) from exc
        if person is None:
            return None
        if existing is not None and existing.external_id != person.external_id:
            return None
        return ldap_user_for(session, person, self.directory.settings)


# --- periodic sync -------------------------------------------------------------------------------


class MassDeprovisionError(RuntimeError):
    """A sync would deactivate more LDAP users than ``max_deprovision_share`` allows."""


def _check_deprovision_share(
    users: list[User], people: dict[str, DirectoryPerson], settings: LdapSettings
) -> None:
    """Refuse a sync that would deactivate a large share of the active LDAP users at once (a moved OU, a
    wrong base DN or filter): more than ``max_deprovision_share`` of them, and more than two."""
    active = [u for u in users if u.is_active]
    leaving = [u for u in active if (p := people.get(u.external_id or "")) is None or p.disabled]
    if len(leaving) > 2 and len(leaving) > settings.max_deprovision_share * len(active):
        raise MassDeprovisionError(
            f"the sync would deactivate {len(leaving)} of {len(active)} LDAP users (more than "
            f"{settings.max_deprovision_share:.0%}): check the user base and filter, then run "
            "`jikji identity sync --force`"
        )


def sync_ldap(session: Session, directory: LdapDirectory, *, force: bool = False) -> SyncCounts:
    """Refresh every LDAP user's name, groups and role; deprovision those gone or disabled.

    Refused (MassDeprovisionError, nothing changed) when it would deactivate more than
    ``max_deprovision_share`` of the LDAP users, unless ``force``.
    """
    people = directory.people()
    counts = SyncCounts(seen=len(people))
    users = list(session.scalars(select(User).where(User.origin == LDAP).order_by(User.username)))
    if not force:
        _check_deprovision_share(users, people, directory.settings)
    for user in users:
        person = people.get(user.external_id or "")
        if person is None or person.disabled:
            if user.is_active:
                reason = "disabled" if person else "gone"
                revoked = accounts.deprovision_user(session, user, source=LDAP, reason=reason)
                counts.deprovisioned += 1
                counts.sessions_ended += revoked.sessions
                counts.api_keys_revoked += revoked.api_keys
            continue
        if apply_person(session, user, person, directory.settings, counts):
            counts.updated += 1
    session.flush()
    return counts


def sync_state(session: Session, source: str) -> IdentitySync:
    """The sync state row of ``source`` (created on first use)."""
    state = session.get(IdentitySync, source)
    if state is None:
        state = IdentitySync(source=source, status="never", counts={})
        session.add(state)
        session.flush()
    return state


def run_ldap_sync(
    sessions: sessionmaker[Session], directory: LdapDirectory, *, force: bool = False
) -> SyncCounts:
    """One sync in its own transaction, its outcome recorded in ``identity_sync`` and the audit log.

    A directory that cannot be reached changes nothing (nobody is deprovisioned because the server
    is down) and is recorded as an error; the error is raised again for the caller.
    """
    started = utcnow()
    try:
        with sessions.begin() as session:
            counts = sync_ldap(session, directory, force=force)
            state = sync_state(session, LDAP)
            state.last_run_at = state.last_success_at = started
            state.status, state.counts, state.error = "ok", counts.as_dict(), None
            record_event(
                session, None, "identity.sync", target_type="source", target_id=LDAP, detail=state.counts
            )
    except Exception as exc:
        with sessions.begin() as session:
            state = sync_state(session, LDAP)
            state.last_run_at, state.status, state.error = (
                started,
                "error",
                f"{type(exc).__name__}: {exc}"[:2000],
            )
            record_event(
                session, None, "identity.sync", target_type="source", target_id=LDAP, outcome="error"
            )
        raise
    return counts


def ldap_sync_due(sessions: sessionmaker[Session], settings: LdapSettings) -> bool:
    """Whether the periodic sync should run now (configured, interval set and elapsed since the last)."""
    if not settings.enabled or settings.sync_interval_minutes <= 0:
        return False
    with sessions() as session:
        state = session.get(IdentitySync, LDAP)
        last = state.last_run_at if state else None
    return last is None or utcnow() - last >= timedelta(minutes=settings.sync_interval_minutes)


def sync_if_due(sessions: sessionmaker[Session], directory: LdapDirectory | None) -> SyncCounts | None:
    """The worker's idle-loop hook: sync when due; errors are logged (and recorded), not raised."""
    if directory is None or not ldap_sync_due(sessions, directory.settings):
        return None
    try:
        return run_ldap_sync(sessions, directory)
    except Exception:
        log.exception("LDAP sync failed")
        return None
