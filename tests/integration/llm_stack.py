"""Helpers for tests against the real embedded llama.cpp server: start it, put a misbehaving proxy in
front of it, and log in without a browser (serving Jikji itself: :mod:`tests.support.servers`)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

from app.container import Container
from core.settings import LLMSettings
from llm.gguf import ensure_default_gguf
from llm.server import EmbeddedLlamaServer
from tests.support.ports import free_port

WAIT_S = 90.0  # a generous bound for things that happen within a second or two when all is well


def wait_for(condition: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    """Poll ``condition`` until it holds; fail the test with ``what`` when it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


@contextlib.contextmanager
def llama_server(
    data_dir: Path, models_dir: Path, **llm: object
) -> Iterator[tuple[EmbeddedLlamaServer, LLMSettings, Path]]:
    """The real embedded server on gemma-3-270m, with its log file (stdout unbuffered)."""
    model_path = ensure_default_gguf(models_dir)
    settings = LLMSettings.model_validate({"port": free_port(), "model_path": model_path, **llm})
    log_path = data_dir / "llama.log"
    server = EmbeddedLlamaServer(settings, model_path, log_path=log_path)
    server.start(watch=False)
    try:
        yield server, settings, log_path
    finally:
        server.stop()


def bearer_token(container: Container, username: str = "tester") -> str:
    """A login session token for a new employee account (the same token a browser login returns)."""
    from app.services import accounts

    with container.sessions.begin() as session:
        user = accounts.create_user(session, username, "correct-horse-battery-9")
        token, _ = accounts.start_session(session, user, timedelta(hours=1))
    return token


class MisbehavingProxy:
    """A TCP proxy in front of the model server that breaks one streamed response on cue.

    It forwards the request untouched and the response's chunked frames one by one; after
    ``after_events`` frames carrying ``data:`` it applies ``mode``:

    - ``cut``: closes both connections (the server crashed or the network dropped);
    - ``stall``: forwards nothing more and holds the connection open (the server hung);
    - ``error``: sends an OpenAI-style error event and ends the response (vLLM does this);
    - ``stall_headers`` ignores ``after_events``: the response never starts.
    """

    def __init__(self, target_port: int, mode: str, after_events: int = 2) -> None:
        self.target_port = target_port
        self.mode = mode
        self.after_events = after_events
        self.port = free_port()
        self.broke = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._sockets: list[socket.socket] = []
        self._closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible endpoint through the proxy."""
        return f"http://127.0.0.1:{self.port}/v1"

    def close(self) -> None:
        """Stop accepting and drop every connection."""
        self._closing = True
        for sock in [self._listener, *self._sockets]:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._respond, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)

    def _respond(self, upstream: socket.socket, client: socket.socket) -> None:
        reader = upstream.makefile("rb")
        with contextlib.suppress(OSError, ValueError):
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                line = reader.readline()
                if not line:
                    return
                head += line
            if self.mode == "stall_headers":
                self.broke.set()
                return
            client.sendall(head)
            events = 0
            while True:
                size_line = reader.readline()
                size = int(size_line.split(b";")[0], 16)
                frame = reader.read(size) + reader.read(2)
                if events >= self.after_events:
                    self._break(client, upstream)
                    return
                client.sendall(size_line + frame)
                if size == 0:
                    return
                events += frame.count(b"data:")

    def _break(self, client: socket.socket, upstream: socket.socket) -> None:
        self.broke.set()
        if self.mode == "cut":
            for sock in (client, upstream):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                    sock.close()
        elif self.mode == "error":
            event = b'data: {"error": {"message": "upstream exploded", "type": "server_error"}}\n\n'
            client.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(event), event))
        # "stall": forward nothing more; the sockets stay open until close()
