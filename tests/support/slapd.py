"""A real OpenLDAP server (Debian's ``slapd``) for the LDAP tests, on a throwaway directory and port.

The configuration (cn=config) is written with ``slapadd -n0``, checked with ``slaptest``, and the
server runs in the foreground on 127.0.0.1 until :meth:`Slapd.stop`. It loads the ppolicy overlay so
an account can be locked the way OpenLDAP admins do it (``pwdAccountLockedTime``). The tree is
seeded by the tests through the root DN with ldap3; a read-only service account
(:data:`SERVICE_DN`) is what Jikji searches with, as in production.

With ``CI=true`` or ``JIKJI_TEST_REQUIRE_SLAPD=1`` a missing or failing slapd fails the tests that
need it; otherwise they are skipped (``apt-get install slapd ldap-utils``; see
scripts/install-system-packages.sh).
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ldap3 import MODIFY_ADD, MODIFY_DELETE, MODIFY_REPLACE, Connection, Server

from tests.support.ports import free_port
from tests.support.servers import started_or_skipped

REQUIRE_ENV = "JIKJI_TEST_REQUIRE_SLAPD"
SUFFIX = "dc=jikji,dc=test"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "root-secret-123"
SERVICE_DN = f"cn=jikji-reader,{SUFFIX}"
SERVICE_PASSWORD = "reader-secret-123"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
PLACEHOLDER_MEMBER = f"cn=nobody,{SUFFIX}"  # groupOfNames must keep one member
SLAPD = "/usr/sbin/slapd"
SCHEMAS = ("core", "cosine", "inetorgperson")


class SlapdUnavailableError(RuntimeError):
    """slapd is not installed or did not start."""


def must_have_slapd() -> bool:
    """Whether a slapd that cannot start fails the tests (CI) instead of skipping them."""
    return os.environ.get("CI", "").lower() == "true" or bool(os.environ.get(REQUIRE_ENV))


def write_certificates(folder: Path, common_name: str = "Jikji Test CA") -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it: (ca, cert, key) PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return ca_file, cert_file, key_file


def _config_ldif(root: Path, tls: tuple[Path, Path, Path] | None, service_size_limit: int | None) -> str:
    schemas = "\n".join(f"include: file:///etc/ldap/schema/{name}.ldif" for name in SCHEMAS)
    tls_lines = ""
    if tls is not None:
        tls_lines = (
            f"olcTLSCACertificateFile: {tls[0]}\nolcTLSCertificateFile: {tls[1]}\n"
            f"olcTLSCertificateKeyFile: {tls[2]}\n"
        )
    return f"""dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {root}/slapd.pid
{tls_lines}
dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: ppolicy

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

{schemas}

dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by * none

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcDbDirectory: {root}/db
olcDbMaxSize: 67108864
olcSuffix: {SUFFIX}
olcRootDN: {ROOT_DN}
olcRootPW: {ROOT_PASSWORD}
olcAccess: {{0}}to attrs=userPassword by self read by anonymous auth by * none
olcAccess: {{1}}to * by dn.exact="{SERVICE_DN}" read by self read by * none
olcLimits: dn.exact="{SERVICE_DN}" size={service_size_limit or "unlimited"} time=unlimited

dn: olcOverlay={{0}}ppolicy,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {{0}}ppolicy
"""


class Slapd:
    """A running slapd seeded with the base tree and the service account."""

    def __init__(self, root: Path, *, tls: bool = False, service_size_limit: int | None = None) -> None:
        self.root = root
        self.port = 0
        # How many entries one search of the service account may return (slapd's default is 500;
        # production directories lift it for sync accounts, as this does unless a limit is given).
        self.service_size_limit = service_size_limit
        # With ``tls``: a CA and a certificate for 127.0.0.1, for StartTLS (``ca_file`` verifies it).
        self.tls = write_certificates(root / "tls") if tls else None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``ldap://127.0.0.1:port``."""
        return f"ldap://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Write the configuration, start the server and add the base entries."""
        if not (Path(SLAPD).exists() and shutil.which("slapadd")):
            raise SlapdUnavailableError("slapd is not installed (apt-get install slapd ldap-utils)")
        config, data = self.root / "slapd.d", self.root / "db"
        config.mkdir(parents=True)
        data.mkdir()
        ldif = self.root / "config.ldif"
        ldif.write_text(_config_ldif(self.root, self.tls, self.service_size_limit), encoding="utf-8")
        self._run(["slapadd", "-n0", "-F", str(config), "-l", str(ldif)])
        self._run(["slaptest", "-Q", "-u", "-F", str(config)])
        self.port = free_port()
        log = (self.root / "slapd.log").open("wb")
        self._process = subprocess.Popen(
            [SLAPD, "-F", str(config), "-h", self.url + "/", "-d", "0"], stdout=log, stderr=log
        )
        self._wait_ready()
        self._seed()

    def _run(self, command: list[str]) -> None:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SlapdUnavailableError(f"{command[0]} failed: {done.stderr.strip()[-2000:]}")

    def _wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            if self._process is not None and self._process.poll() is not None:
                log = (self.root / "slapd.log").read_text(errors="replace")[-2000:]
                raise SlapdUnavailableError(f"slapd exited with {self._process.returncode}: {log}")
            try:
                self.admin().unbind()
                return
            except Exception as exc:
                if time.monotonic() > deadline:
                    raise SlapdUnavailableError(f"slapd did not answer within {timeout_s:.0f}s") from exc
                time.sleep(0.1)

    def stop(self) -> None:
        """Stop the server (its files go with the test's temporary directory)."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)

    # --- seeding and changing the tree -------------------------------------------------------------

    def admin(self) -> Connection:
        """A connection bound as the root DN (the directory admin)."""
        return Connection(Server(self.url), ROOT_DN, ROOT_PASSWORD, auto_bind=True, raise_exceptions=True)

    def _seed(self) -> None:
        with self._bound() as conn:
            conn.add(SUFFIX, ["dcObject", "organization"], {"dc": "jikji", "o": "Jikji Test"})
            for ou in ("people", "groups"):
                conn.add(f"ou={ou},{SUFFIX}", ["organizationalUnit"], {"ou": ou})
            conn.add(
                SERVICE_DN,
                ["person"],
                {"cn": "jikji-reader", "sn": "reader", "userPassword": SERVICE_PASSWORD},
            )
            conn.add(PLACEHOLDER_MEMBER, ["person"], {"cn": "nobody", "sn": "nobody"})

    def _bound(self) -> _Admin:
        return _Admin(self.admin())

    def add_person(self, uid: str, password: str, name: str) -> str:
        """A person under ou=people who can sign in; their DN."""
        dn = f"uid={uid},{PEOPLE}"
        with self._bound() as conn:
            conn.add(
                dn,
                ["inetOrgPerson"],
                {"uid": uid, "cn": name, "sn": name.rsplit(maxsplit=1)[-1], "userPassword": password},
            )
        return dn

    def add_group(self, name: str, members: list[str]) -> str:
        """A groupOfNames under ou=groups with these member DNs (people or groups); its DN."""
        dn = f"cn={name},{GROUPS}"
        with self._bound() as conn:
            conn.add(dn, ["groupOfNames"], {"cn": name, "member": [PLACEHOLDER_MEMBER, *members]})
        return dn

    def remove_member(self, group_dn: str, member_dn: str) -> None:
        """Take ``member_dn`` out of the group."""
        with self._bound() as conn:
            conn.modify(group_dn, {"member": [(MODIFY_DELETE, [member_dn])]})

    def add_member(self, group_dn: str, member_dn: str) -> None:
        """Put ``member_dn`` into the group."""
        with self._bound() as conn:
            conn.modify(group_dn, {"member": [(MODIFY_ADD, [member_dn])]})

    def lock(self, dn: str) -> None:
        """Disable an account the ppolicy way (locked for good)."""
        with self._bound() as conn:
            conn.modify(dn, {"pwdAccountLockedTime": [(MODIFY_REPLACE, ["000001010000Z"])]})

    def unlock(self, dn: str) -> None:
        """Enable a locked account again."""
        with self._bound() as conn:
            conn.modify(dn, {"pwdAccountLockedTime": [(MODIFY_DELETE, [])]})

    def delete(self, dn: str) -> None:
        """Remove an entry."""
        with self._bound() as conn:
            conn.delete(dn)


class _Admin:
    """``with`` support that unbinds the admin connection afterwards."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def __enter__(self) -> Connection:
        return self.connection

    def __exit__(self, *exc: object) -> None:
        self.connection.unbind()


@contextmanager
def running_slapd(root: Path, *, tls: bool = False, service_size_limit: int | None = None) -> Iterator[Slapd]:
    """A started :class:`Slapd` under ``root``, stopped afterwards. When it cannot start, the test is
    skipped, or fails where slapd is required (:func:`must_have_slapd`)."""
    server = Slapd(root, tls=tls, service_size_limit=service_size_limit)
    with started_or_skipped(server, "slapd", required=must_have_slapd(), errors=(SlapdUnavailableError,)):
        yield server


@pytest.fixture(name="slapd")
def slapd_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    """A fresh slapd for one test (import this fixture into a test module to use it)."""
    with running_slapd(tmp_path_factory.mktemp("slapd")) as server:
        yield server
