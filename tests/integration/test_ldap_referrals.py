"""LDAP referrals against a real slapd: a search that meets a referral never follows it, so the service
account's password is never sent to the server a referral names (ldap3 follows referrals by default,
binding there with the same DN and password, in plain text for an ``ldap://`` referral)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest

from app.auth.ldap import LdapDirectory, LdapUnavailableError
from core.settings import LdapSettings
from tests.support.slapd import (
    GROUPS,
    PEOPLE,
    SERVICE_DN,
    SERVICE_PASSWORD,
    Slapd,
    slapd_fixture,  # noqa: F401 - provides the `slapd` fixture
)

pytestmark = pytest.mark.integration


class Listener:
    """A TCP port that records what anyone sends it (the host a hostile referral would name)."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.received = bytearray()
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                peer, _ = self.socket.accept()
            except TimeoutError:
                continue
            self.connections += 1
            with peer:
                peer.settimeout(1.0)
                with contextlib.suppress(OSError):
                    self.received += peer.recv(65536)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.socket.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    """The elsewhere host."""
    running = Listener()
    yield running
    running.close()


def test_a_referral_in_the_directory_is_not_followed_with_the_service_password(
    slapd: Slapd, listener: Listener
) -> None:
    slapd.add_person("kim", "kim-directory-pw-1", "김민수")
    with slapd.admin() as admin:
        admin.add(
            f"ou=branch,{PEOPLE}",
            ["referral", "extensibleObject"],
            {"ou": "branch", "ref": f"ldap://127.0.0.1:{listener.port}/ou=people,dc=elsewhere"},
        )
    settings = LdapSettings(
        url=slapd.url,
        bind_dn=SERVICE_DN,
        bind_password=SERVICE_PASSWORD,  # type: ignore[arg-type]
        user_base=PEOPLE,
        group_base=GROUPS,
        timeout_s=3,
    )
    directory = LdapDirectory(settings)
    people = directory.people()
    assert [p.username for p in people.values()] == ["kim"]
    person = directory.authenticate("kim", "kim-directory-pw-1")
    assert person is not None and person.username == "kim"
    assert listener.connections == 0, "a referral was followed"

    # A base the directory answers with a referral (another domain's DC in a forest, a moved OU): an
    # error to fix in the settings, not a bind elsewhere with the service password.
    elsewhere = LdapDirectory(settings.model_copy(update={"user_base": f"ou=branch,{PEOPLE}"}))
    with pytest.raises(LdapUnavailableError, match="ou=branch"):
        elsewhere.people()
    with pytest.raises(LdapUnavailableError):
        elsewhere.authenticate("kim", "kim-directory-pw-1")
    assert listener.connections == 0, "a referral was followed"
    assert SERVICE_PASSWORD.encode() not in bytes(listener.received)
