"""Dependencies a fault test can really stop and start again: a Chroma server (``chroma run``) and a
private PostgreSQL cluster (the session-wide one of :mod:`tests.postgres` is shared, so it is never
stopped)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.postgres import SERVER_USER, PostgresUnavailableError, find_bin_dir
from tests.support.ports import free_port
from tests.support.servers import started_or_skipped

START_TIMEOUT_S = 90.0  # generous: each starts in a few seconds when all is well
CHROMA_REQUIRE_ENV = "JIKJI_TEST_REQUIRE_CHROMA"


def must_have_chroma() -> bool:
    """Whether a Chroma server that cannot start fails the tests that need it (``CI=true`` or
    ``JIKJI_TEST_REQUIRE_CHROMA=1``) instead of skipping them."""
    return os.environ.get("CI", "").lower() == "true" or bool(os.environ.get(CHROMA_REQUIRE_ENV))


class ChromaServer:
    """``chroma run`` on a data directory and a free port; :meth:`stop` kills it, :meth:`start` brings
    it back on the same directory and port."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._log = path.parent / "chroma.log"

    def start(self) -> None:
        """Start the server and wait until it answers its heartbeat."""
        executable = Path(sys.executable).parent / "chroma"
        command = [str(executable), "run", "--path", str(self.path), "--host", "127.0.0.1"]
        with self._log.open("ab") as log:
            self._process = subprocess.Popen([*command, "--port", str(self.port)], stdout=log, stderr=log)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.answers():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"chroma run did not start (see {self._log})")
            time.sleep(0.1)

    def answers(self) -> bool:
        """Whether the server answers its heartbeat now."""
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def drop_collection(self, name: str) -> None:
        """Delete collection ``name`` if the server is up and holds it (tests share one server)."""
        try:
            path = f"/api/v2/tenants/default_tenant/databases/default_database/collections/{name}"
            httpx.delete(self.url + path, timeout=10)
        except httpx.HTTPError:
            pass

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Kill the server (as a crash would) and wait until it is gone."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=30)


@contextmanager
def running_chroma(path: Path) -> Iterator[ChromaServer]:
    """A started :class:`ChromaServer` on ``path``, stopped afterwards. Without the ``chroma`` command,
    or when it does not start, the test is skipped, or fails where :func:`must_have_chroma`."""
    errors = (OSError, RuntimeError)  # no `chroma` command; it did not answer in time
    with started_or_skipped(
        ChromaServer(path), "Chroma server", required=must_have_chroma(), errors=errors
    ) as server:
        yield server


class PostgresCluster:
    """A throwaway PostgreSQL cluster on a Unix socket, which a test may stop and start again."""

    def __init__(self) -> None:
        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise PostgresUnavailableError("no PostgreSQL binaries (apt-get install postgresql)")
        self._run_as: list[str] = []
        self.root = Path(tempfile.mkdtemp(prefix="jikji-pgf-", dir="/tmp"))  # short socket path
        self._sockets = self.root / "sockets"
        self._sockets.mkdir()
        if os.geteuid() == 0:
            account = pwd.getpwnam(SERVER_USER)
            self._run_as = ["runuser", "-u", SERVER_USER, "--"]
            os.chown(self.root, account.pw_uid, account.pw_gid)
            os.chown(self._sockets, account.pw_uid, account.pw_gid)
        self._pg_ctl = [*self._run_as, str(bin_dir / "pg_ctl"), "-D", str(self.root / "data")]
        initdb = [*self._run_as, str(bin_dir / "initdb"), "-D", str(self.root / "data"), "-U", SERVER_USER]
        try:
            subprocess.run(
                [*initdb, "--auth=trust", "-E", "UTF8", "--locale=C"], check=True, capture_output=True
            )
        except (OSError, subprocess.CalledProcessError) as exc:
            shutil.rmtree(self.root, ignore_errors=True)
            raise PostgresUnavailableError(f"initdb failed: {exc}") from exc

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the cluster's ``postgres`` database."""
        return f"postgresql+psycopg://{SERVER_USER}@/postgres?host={self._sockets}"

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-k {self._sockets} -c listen_addresses='' -c fsync=off"
        log = str(self.root / "log")
        subprocess.run(
            [*self._pg_ctl, "-o", options, "-l", log, "-w", "start"], check=True, capture_output=True
        )

    def stop(self) -> None:
        """Stop the server at once (``immediate``: no clean shutdown, like a crash)."""
        subprocess.run([*self._pg_ctl, "-m", "immediate", "-w", "stop"], check=False, capture_output=True)

    def remove(self) -> None:
        """Stop the server and delete the cluster."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
