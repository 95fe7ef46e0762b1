"""How long one LDAP sync takes against a real slapd: N people in nested groups, all known to Jikji.

A throwaway slapd (tests/support/slapd.py) gets ``--people`` people spread over ``--groups`` groups,
each group inside one of ten department groups (so every membership is nested once). Jikji users for
all of them are created as after their first sign-in, then :func:`run_ldap_sync` runs ``--rounds``
times (nothing changed, then one person moved per round). Also times one sign-in's directory part.

    python -m bench.ldap_sync [--people 2000] [--groups 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from app.auth.ldap import LdapDirectory
from app.services.identity_sync import directory_groups, run_ldap_sync
from core.migrate import upgrade_to_head
from core.models import User
from core.settings import LdapSettings
from tests.support.slapd import GROUPS, PEOPLE, PLACEHOLDER_MEMBER, SERVICE_DN, SERVICE_PASSWORD, Slapd


def _seed(server: Slapd, people: int, groups: int) -> list[str]:
    """People and nested groups, added over one admin connection."""
    conn = server.admin()
    dns = []
    for i in range(people):
        dns.append(f"uid=user{i:05d},{PEOPLE}")
        attributes = {
            "uid": f"user{i:05d}",
            "cn": f"사용자 {i}",
            "sn": "x",
            "userPassword": f"pw-{i:05d}-secret",
        }
        conn.add(dns[-1], ["inetOrgPerson"], attributes)
    teams = [f"cn=team{g:03d},{GROUPS}" for g in range(groups)]
    for g, dn in enumerate(teams):
        conn.add(
            dn, ["groupOfNames"], {"cn": f"team{g:03d}", "member": [PLACEHOLDER_MEMBER, *dns[g::groups]]}
        )
    for d in range(10):
        dept = {"cn": f"dept{d}", "member": [PLACEHOLDER_MEMBER, *teams[d::10]]}
        conn.add(f"cn=dept{d},{GROUPS}", ["groupOfNames"], dept)
    conn.unbind()
    return dns


def main() -> None:
    """Seed, sync, print the timings."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = Slapd(Path(tmp) / "slapd")
        server.start()
        try:
            started = time.perf_counter()
            dns = _seed(server, args.people, args.groups)
            print(
                f"seeded {args.people} people, {args.groups + 10} groups in {time.perf_counter() - started:.1f}s"
            )
            settings = LdapSettings(
                url=server.url,
                bind_dn=SERVICE_DN,
                bind_password=SERVICE_PASSWORD,  # type: ignore[arg-type]
                user_base=PEOPLE,
                group_base=GROUPS,
                unknown_groups="create",
            )
            directory = LdapDirectory(settings)
            engine = create_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
            upgrade_to_head(engine)
            sessions = sessionmaker(engine, expire_on_commit=False)
            with sessions.begin() as session:
                for person in directory.people().values():
                    user = User(
                        username=person.username, display_name=person.display_name, password_hash=None
                    )
                    user.origin, user.external_id = "ldap", person.external_id
                    user.groups = directory_groups(session, person, settings)
                    session.add(user)
            timings = []
            for round_number in range(args.rounds):
                if round_number:
                    server.remove_member(f"cn=team{round_number:03d},{GROUPS}", dns[round_number])
                started = time.perf_counter()
                counts = run_ldap_sync(sessions, directory)
                timings.append(time.perf_counter() - started)
                print(f"sync {round_number + 1}: {timings[-1]:.2f}s, {counts.as_dict()}")
            logins = []
            for i in range(20):
                started = time.perf_counter()
                assert directory.authenticate(f"user{i:05d}", f"pw-{i:05d}-secret") is not None
                logins.append((time.perf_counter() - started) * 1000)
            print(
                f"people {args.people}: sync median {statistics.median(timings):.2f}s; "
                f"sign-in (search, bind, nested groups) median {statistics.median(logins):.1f} ms"
            )
            engine.dispose()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
