"""``jikji identity sync|status|scim-token``: directory sync now, the state of each source, a SCIM token."""

from __future__ import annotations

import argparse
import secrets

from sqlalchemy import select

from app.auth.ldap import LdapUnavailableError
from app.auth.tokens import hash_secret
from app.cli.common import fail, open_container
from app.services.identity_sync import MassDeprovisionError, run_ldap_sync
from core.models import IdentitySync
from core.settings import Settings


def cmd_sync(settings: Settings, args: argparse.Namespace) -> int:
    """Run the LDAP sync once (groups refreshed, vanished or disabled people deprovisioned)."""
    if not settings.auth.ldap.enabled:
        return fail("LDAP가 설정되지 않았습니다 (JIKJI_AUTH__LDAP__URL) / LDAP is not configured", 2)
    with open_container(settings) as container:
        assert container.ldap_directory is not None  # enabled above
        try:
            counts = run_ldap_sync(container.sessions, container.ldap_directory, force=args.force)
        except LdapUnavailableError as exc:
            return fail(f"디렉터리에 연결할 수 없습니다 / the directory is unavailable: {exc}")
        except MassDeprovisionError as exc:
            return fail(f"너무 많은 계정을 해지하게 되어 중단했습니다 / refused: {exc}")
    print(
        f"LDAP: 디렉터리 사용자 {counts.seen} · 갱신 {counts.updated} · 해지 {counts.deprovisioned} / "
        f"{counts.seen} people in the directory, {counts.updated} updated, {counts.deprovisioned} "
        f"deprovisioned ({counts.sessions_ended} sessions ended, {counts.api_keys_revoked} keys revoked)"
    )
    return 0


def cmd_status(settings: Settings, args: argparse.Namespace) -> int:
    """The last run of each sync source."""
    del args
    with open_container(settings) as container, container.sessions() as session:
        rows = list(session.scalars(select(IdentitySync).order_by(IdentitySync.source)))
    ldap = "on" if settings.auth.ldap.enabled else "off"
    scim = "on" if settings.auth.scim.token_sha256 else "off"
    print(f"LDAP {ldap} · SCIM {scim}")
    for row in rows:
        when = row.last_run_at.isoformat(timespec="seconds") if row.last_run_at else "-"
        print(f"{row.source}\t{row.status}\t{when}\t{row.counts}\t{row.error or ''}")
    return 0


def cmd_scim_token(settings: Settings, args: argparse.Namespace) -> int:
    """Print a new SCIM bearer token and the hash to configure (the token itself is never stored)."""
    del settings, args
    token = "scim_" + secrets.token_urlsafe(32)
    print(f"token (give it to the identity provider; shown once): {token}")
    print(f"JIKJI_AUTH__SCIM__TOKEN_SHA256={hash_secret(token)}")
    return 0
