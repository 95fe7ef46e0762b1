"""A real PostgreSQL server for the tests that must run on both SQL stores.

``JIKJI_TEST_POSTGRES_URL`` (a SQLAlchemy URL to a server where the user may create databases) is
used when set. Otherwise a throwaway cluster is started from the local PostgreSQL binaries (Debian's
``postgresql`` package, which ``scripts/install-system-packages.sh`` installs) on a Unix socket in
a temporary directory, and removed at the end. PostgreSQL refuses to run as root, so as root the
cluster runs as the ``postgres`` system user. A test run killed outright leaves that server
running (``pg_ctl -D /tmp/jikji-pg-*/data stop``). An external server must be PostgreSQL 13 or
newer (databases are dropped ``WITH (FORCE)``).

With ``JIKJI_TEST_REQUIRE_POSTGRES=1`` (``.ci/run`` sets it) a server that cannot start fails
the PostgreSQL tests instead of skipping them, so CI never loses them silently.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

URL_ENV = "JIKJI_TEST_POSTGRES_URL"
REQUIRE_ENV = "JIKJI_TEST_REQUIRE_POSTGRES"
SERVER_USER = "postgres"


class PostgresUnavailableError(RuntimeError):
    """No server given and no local binaries to start one."""


def find_bin_dir() -> Path | None:
    """The directory of ``initdb``/``pg_ctl``: on PATH, or Debian's newest ``/usr/lib/postgresql/N/bin``."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    return versions[-1].parent if versions else None


@contextmanager
def postgres_server() -> Iterator[str]:
    """A SQLAlchemy URL (without database name) of a running server, for the test session."""
    given = os.environ.get(URL_ENV)
    if given:
        yield given
        return
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise PostgresUnavailableError(
            "no PostgreSQL binaries (apt-get install postgresql) and no " + URL_ENV
        )
    run_as: list[str] = []
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam(SERVER_USER)
        except KeyError as exc:
            raise PostgresUnavailableError(f"running as root and there is no {SERVER_USER!r} user") from exc
        run_as = ["runuser", "-u", SERVER_USER, "--"]
    # Under /tmp whatever TMPDIR says: the socket path must stay short (107 bytes) and reachable.
    root = Path(tempfile.mkdtemp(prefix="jikji-pg-", dir="/tmp"))
    data, sockets = root / "data", root / "sockets"
    pg_ctl = [*run_as, str(bin_dir / "pg_ctl"), "-D", str(data)]
    try:
        sockets.mkdir()
        if run_as:
            os.chown(root, account.pw_uid, account.pw_gid)
            os.chown(sockets, account.pw_uid, account.pw_gid)
        initdb = [*run_as, str(bin_dir / "initdb"), "-D", str(data), "-U", SERVER_USER, "--auth=trust"]
        subprocess.run([*initdb, "-E", "UTF8", "--locale=C"], check=True, capture_output=True)
        options = f"-k {sockets} -c listen_addresses='' -c fsync=off -c full_page_writes=off"
        start = [*pg_ctl, "-o", options, "-l", str(root / "log"), "-w", "start"]
        subprocess.run(start, check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
        detail = (
            exc.stderr.decode(errors="replace") if isinstance(exc, subprocess.CalledProcessError) else exc
        )
        raise PostgresUnavailableError(f"could not start PostgreSQL: {detail}") from exc
    try:
        yield f"postgresql+psycopg://{SERVER_USER}@/postgres?host={sockets}"
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _admin_connection(server_url: str) -> psycopg.Connection[tuple[object, ...]]:
    url = make_url(server_url).set(drivername="postgresql")
    return psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server for one test; its URL. Dropped afterwards."""
    name = f"jikji_test_{uuid.uuid4().hex[:12]}"
    with _admin_connection(server_url) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with _admin_connection(server_url) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
