"""LDAP / Active Directory access with ldap3: bind authentication, people, and (nested) group membership.

Only reads the directory; what it finds is turned into Jikji users and groups by
:mod:`app.services.identity_sync`. Every value put into a filter is escaped (RFC 4515); an empty
password is refused before any bind (an LDAP "unauthenticated bind" would succeed without one);
referrals are never followed (a search answered with one is a directory error).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ldap3 import BASE, NONE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

from core.settings import LdapSettings

# AD: membership through any chain of nested groups, evaluated by the server.
IN_CHAIN = "1.2.840.113556.1.4.1941"
# AD: userAccountControl's ACCOUNTDISABLE bit, matched with LDAP_MATCHING_RULE_BIT_AND.
AD_DISABLED_FILTER = "(userAccountControl:1.2.840.113556.1.4.803:=2)"
# Nested groups are followed this deep at most (a cycle ends earlier: each group is visited once).
MAX_NESTING = 32
PAGE_SIZE = 500


def in_chain_filter(settings: LdapSettings, dn: str) -> str:
    """AD: the groups ``dn`` belongs to through any chain of nested groups, evaluated by the server."""
    member = f"({settings.group_member_attribute}:{IN_CHAIN}:={escape_filter_chars(dn)})"
    return f"(&{settings.group_filter}{member})"


class LdapUnavailableError(RuntimeError):
    """The directory could not be reached or refused the service account (not a wrong user password)."""


class LdapIncompleteError(LdapUnavailableError):
    """The directory cut a listing short (size or time limit): nothing may be concluded from it."""


# timeLimitExceeded, sizeLimitExceeded, adminLimitExceeded: the listing is partial.
INCOMPLETE_RESULTS = frozenset({3, 4, 11})
# referral: the entries are on another server (never followed: see LdapDirectory._open).
REFERRAL_RESULT = 10


@dataclass(frozen=True, slots=True)
class DirectoryGroup:
    """A directory group a person belongs to (directly or through nesting)."""

    dn: str
    name: str


@dataclass(frozen=True, slots=True)
class DirectoryPerson:
    """A person as the directory describes them."""

    dn: str
    external_id: str
    username: str
    display_name: str
    disabled: bool
    groups: tuple[DirectoryGroup, ...] = field(default=())


def _first(value: Any) -> str:
    """One attribute value as text (the first of several; bytes, e.g. AD's objectGUID, as hex)."""
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    if isinstance(value, bytes):
        return value.hex()
    return "" if value is None else str(value)


def _normal_dn(dn: str) -> str:
    """A DN compared case-insensitively and without spaces around the separators."""
    return ",".join(part.strip() for part in dn.lower().split(","))


class LdapDirectory:
    """One configured directory; opens a short connection per operation (thread-safe by construction)."""

    def __init__(self, settings: LdapSettings) -> None:
        if not settings.url:
            raise ValueError("LDAP is not configured (auth.ldap.url)")
        self.settings = settings
        self._server = Server(
            settings.url,
            get_info=NONE,
            tls=self._tls(),
            connect_timeout=settings.timeout_s,
            allowed_referral_hosts=[],
        )

    def _tls(self) -> Tls | None:
        ldaps = (self.settings.url or "").lower().startswith("ldaps://")
        if not (ldaps or self.settings.start_tls):
            return None
        ca = str(self.settings.ca_file) if self.settings.ca_file else None
        return Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=ca, version=ssl.PROTOCOL_TLS_CLIENT)

    @property
    def disabled_filter(self) -> str:
        """The filter matching disabled people in this directory."""
        return AD_DISABLED_FILTER if self.settings.active_directory else self.settings.disabled_filter

    # --- connections -----------------------------------------------------------------------------

    def _open(self, user: str | None, password: str | None) -> Connection:
        """A bound connection (after StartTLS when configured); raises LDAPException on failure."""
        connection = Connection(
            self._server,
            user=user,
            password=password,
            receive_timeout=max(1, int(self.settings.timeout_s)),
            raise_exceptions=True,
            read_only=True,
            # Never follow a referral: ldap3 would bind at the host it names with the same DN and
            # password, without this connection's TLS checks (in plain text for an ldap:// referral).
            auto_referrals=False,
        )
        connection.open()
        if self.settings.start_tls and not (self.settings.url or "").lower().startswith("ldaps://"):
            connection.start_tls()
        connection.bind()
        return connection

    @contextmanager
    def service_connection(self) -> Iterator[Connection]:
        """A connection bound as the service account (or anonymous); LdapUnavailableError when not."""
        password = self.settings.bind_password.get_secret_value() if self.settings.bind_password else None
        try:
            connection = self._open(self.settings.bind_dn, password if self.settings.bind_dn else None)
        except LDAPException as exc:
            raise LdapUnavailableError(f"LDAP service bind failed: {type(exc).__name__}: {exc}") from exc
        try:
            yield connection
        finally:
            connection.unbind()

    # --- people ----------------------------------------------------------------------------------

    def _person_attributes(self) -> list[str]:
        s = self.settings
        return [s.username_attribute, s.id_attribute, s.display_name_attribute]

    def _person(
        self,
        connection: Connection,
        entry: dict[str, Any],
        disabled: bool,
        graph: dict[str, list[DirectoryGroup]] | None = None,
    ) -> DirectoryPerson:
        s = self.settings
        attributes = entry.get("attributes", {})
        raw = entry.get("raw_attributes", {})
        external = raw.get(s.id_attribute) if s.active_directory else attributes.get(s.id_attribute)
        username = _first(attributes.get(s.username_attribute))
        return DirectoryPerson(
            dn=entry["dn"],
            external_id=_first(external) or entry["dn"].lower(),
            username=username,
            display_name=_first(attributes.get(s.display_name_attribute)) or username,
            disabled=disabled,
            groups=tuple(
                self.groups_of(connection, entry["dn"])
                if graph is None
                else self._closure(graph, entry["dn"])
            ),
        )

    def _search(
        self, connection: Connection, base: str, search_filter: str, attributes: list[str]
    ) -> list[dict[str, Any]]:
        """Every entry under ``base`` matching the filter (paged), as ldap3 response dicts.

        A listing the server cut short (its size or time limit for our account) raises
        LdapIncompleteError: a sync must never take the people it did not get as gone.
        """
        try:
            found = connection.extend.standard.paged_search(
                base, search_filter, SUBTREE, attributes=attributes, paged_size=PAGE_SIZE, generator=False
            )
        except LDAPException as exc:  # e.g. a base DN that does not exist: a configuration error
            raise LdapUnavailableError(
                f"LDAP search under {base!r} failed: {type(exc).__name__}: {exc}"
            ) from exc
        result = connection.result or {}
        if result.get("result", 0) == REFERRAL_RESULT:
            raise LdapUnavailableError(
                f"the directory answered the search under {base!r} with a referral to "
                f"{result.get('referrals')}: point the base at the server that holds it"
            )
        if result.get("result", 0) in INCOMPLETE_RESULTS:
            raise LdapIncompleteError(
                f"the directory returned an incomplete listing ({result.get('description')}, "
                f"{len(found)} entries): raise the size/time limit of the service account"
            )
        return [e for e in found if e.get("type") == "searchResEntry"]

    def _is_disabled(self, connection: Connection, dn: str) -> bool:
        try:
            connection.search(dn, self.disabled_filter, BASE, attributes=["1.1"])
        except LDAPException as exc:
            raise LdapUnavailableError(f"LDAP search of {dn!r} failed: {type(exc).__name__}: {exc}") from exc
        return bool(connection.entries)

    def find_person(self, connection: Connection, username: str) -> dict[str, Any] | None:
        """The one entry whose login attribute is ``username`` within the user filter, else None."""
        s = self.settings
        wanted = f"(&{s.user_filter}({s.username_attribute}={escape_filter_chars(username)}))"
        entries = self._search(connection, s.user_base, wanted, self._person_attributes())
        return entries[0] if len(entries) == 1 else None

    def authenticate(self, username: str, password: str) -> DirectoryPerson | None:
        """The person these credentials prove (not disabled), with their groups; None otherwise.

        Raises LdapUnavailableError when the directory cannot be asked (so callers can tell an outage
        from a wrong password).
        """
        if not username.strip() or not password:
            return None
        with self.service_connection() as connection:
            entry = self.find_person(connection, username.strip())
            if entry is None:
                return None
            try:
                self._open(entry["dn"], password).unbind()
            except LDAPException:
                return None
            if self._is_disabled(connection, entry["dn"]):
                return None
            return self._person(connection, entry, disabled=False)

    def people(self) -> dict[str, DirectoryPerson]:
        """Everyone within the user filter, by external id, with groups and whether disabled."""
        s = self.settings
        with self.service_connection() as connection:
            entries = self._search(connection, s.user_base, s.user_filter, self._person_attributes())
            disabled_filter = f"(&{s.user_filter}{self.disabled_filter})"
            disabled = {
                e["dn"].lower() for e in self._search(connection, s.user_base, disabled_filter, ["1.1"])
            }
            # One read of every group, then membership walked in memory (AD mode: the server's chain rule).
            graph = None if s.active_directory and s.nested_groups else self._group_graph(connection)
            people = [self._person(connection, e, e["dn"].lower() in disabled, graph) for e in entries]
        return {p.external_id: p for p in people}

    def _group_graph(self, connection: Connection) -> dict[str, list[DirectoryGroup]]:
        """Member DN (normalised) → the groups that list it directly, from one search of all groups."""
        s = self.settings
        entries = self._search(
            connection, s.group_base, s.group_filter, [s.group_name_attribute, s.group_member_attribute]
        )
        graph: dict[str, list[DirectoryGroup]] = {}
        for entry in entries:
            name = _first(entry["attributes"].get(s.group_name_attribute)) or entry["dn"]
            group = DirectoryGroup(dn=entry["dn"], name=name)
            members = entry["attributes"].get(s.group_member_attribute) or []
            for member in members if isinstance(members, list) else [members]:
                graph.setdefault(_normal_dn(str(member)), []).append(group)
        return graph

    def _closure(self, graph: dict[str, list[DirectoryGroup]], dn: str) -> list[DirectoryGroup]:
        """The groups ``dn`` is in, directly and (when configured) through nesting, from the graph."""
        found: dict[str, DirectoryGroup] = {}
        frontier = [_normal_dn(dn)]
        for _depth in range(MAX_NESTING if self.settings.nested_groups else 1):
            direct = [g for member in frontier for g in graph.get(member, [])]
            frontier = sorted({_normal_dn(g.dn) for g in direct} - set(found))
            found.update({_normal_dn(g.dn): g for g in direct})
            if not frontier:
                break
        return sorted(found.values(), key=lambda g: g.dn.lower())

    # --- groups ----------------------------------------------------------------------------------

    def groups_of(self, connection: Connection, dn: str) -> list[DirectoryGroup]:
        """The groups ``dn`` belongs to: directly, and through nested groups when configured."""
        s = self.settings
        if s.active_directory and s.nested_groups:
            return self._groups(connection, in_chain_filter(s, dn))
        found: dict[str, DirectoryGroup] = {}
        frontier = [dn]
        for _depth in range(MAX_NESTING if s.nested_groups else 1):
            direct = self._groups_with_members(connection, frontier)
            frontier = [g.dn for g in direct if g.dn.lower() not in found]
            found.update({g.dn.lower(): g for g in direct})
            if not frontier:
                break
        return sorted(found.values(), key=lambda g: g.dn.lower())

    def _groups_with_members(self, connection: Connection, member_dns: Iterable[str]) -> list[DirectoryGroup]:
        s = self.settings
        members = "".join(f"({s.group_member_attribute}={escape_filter_chars(m)})" for m in member_dns)
        return self._groups(connection, f"(&{s.group_filter}(|{members}))")

    def _groups(self, connection: Connection, search_filter: str) -> list[DirectoryGroup]:
        s = self.settings
        entries = self._search(connection, s.group_base, search_filter, [s.group_name_attribute])
        return [
            DirectoryGroup(dn=e["dn"], name=_first(e["attributes"].get(s.group_name_attribute)) or e["dn"])
            for e in entries
        ]
