"""Parsing in a child process with a time and an address-space limit.

A hostile or broken file (a PDF that loops, a decompression bomb that slips past the counters) can
then only exhaust its own process: it is killed on timeout and the caller gets a clear error.
Children are forked from a lean host process with the parsers preloaded
(:mod:`ingest.sandbox_host`), so each parse starts in milliseconds and never re-imports the
application. The host is started on first use, exits after ``idle_exit_s`` without work, and is
started again when needed (or if it ever dies).
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path
from types import TracebackType
from typing import Any

from ingest import document, errors
from ingest.detect import FileType
from ingest.document import ParsedDocument, ParseLimits
from ingest.errors import IngestError, LimitExceededError, ParseError
from ingest.ocr import PageProgress
from ingest.sandbox_host import (
    DIED,
    IDLE_EXIT_S,
    MEMORY_EXIT,
    PROGRESS,
    READY,
    RESULT,
    TIMEOUT,
    ParseRequest,
    read_frame,
    write_frame,
)

START_TIMEOUT_S = 120.0
REPLY_GRACE_S = 30.0  # beyond the parse timeout, for the host to fork, collect and answer
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _allowed_globals() -> frozenset[tuple[str, str]]:
    types = (ParsedDocument, document.Block, document.BlockKind)
    allowed = {(document.__name__, cls.__name__) for cls in types}
    allowed |= {
        (errors.__name__, name)
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, IngestError)
    }
    return frozenset(allowed)


class _ResultUnpickler(pickle.Unpickler):
    """Unpickles what a parsing child sent, allowing only the document and error types."""

    allowed = _allowed_globals()

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.allowed:
            msg = f"unexpected {module}.{name} in a parse result"
            raise pickle.UnpicklingError(msg)
        return super().find_class(module, name)


class ParseSandbox:
    """Parses files in short-lived children of one lean host process (thread-safe, one at a time)."""

    def __init__(self, start_timeout_s: float = START_TIMEOUT_S, idle_exit_s: float = IDLE_EXIT_S) -> None:
        self._start_timeout_s = start_timeout_s
        self._idle_exit_s = idle_exit_s
        self._lock = threading.Lock()
        self._host: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None

    def parse(
        self,
        data: bytes,
        file_type: FileType,
        limits: ParseLimits,
        *,
        timeout_s: float,
        memory_mb: int,
        on_pages: PageProgress | None = None,
    ) -> ParsedDocument:
        """Parse ``data`` in a child; raise an :class:`IngestError` on any failure or limit.

        ``on_pages(done, total)`` is called as the child OCRs pages (in this thread).
        """
        request = ParseRequest(data, file_type.value, limits, memory_mb * 1024 * 1024, timeout_s)
        frame = pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            reply = self._exchange(frame, timeout_s + REPLY_GRACE_S, on_pages)
        return _result(reply, timeout_s)

    def _exchange(self, frame: bytes, wait_s: float, on_pages: PageProgress | None = None) -> bytes:
        """Send a request and read the reply; a host that ended meanwhile is replaced once."""
        for attempt in range(2):
            host = self._running_host()
            try:
                write_frame(_fd(host.stdin), frame)
                deadline = time.monotonic() + wait_s
                reply = read_frame(_fd(host.stdout), deadline)
                while reply is not None and reply[:1] == PROGRESS:
                    _report_pages(reply[1:], on_pages)
                    reply = read_frame(_fd(host.stdout), deadline)
                if reply is None:
                    raise EOFError
            except (OSError, EOFError) as exc:  # it exited (idle, racing this request) or died
                self._stop_host()
                if attempt:
                    raise _host_failed() from exc
            except TimeoutError as exc:
                self._stop_host()
                raise _host_failed() from exc
            else:
                return reply
        raise _host_failed()  # not reached

    def close(self) -> None:
        """Stop the host process (a later parse starts a new one)."""
        with self._lock:
            self._stop_host()

    def __enter__(self) -> ParseSandbox:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def _running_host(self) -> subprocess.Popen[bytes]:
        if self._host is not None and self._host.poll() is None:
            return self._host
        self._stop_host()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in [str(PROJECT_ROOT), env.get("PYTHONPATH", "")] if p)
        host = subprocess.Popen(
            [sys.executable, "-m", "ingest.sandbox_host", str(self._idle_exit_s)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            start_new_session=True,  # its own process group: stopping it stops any child it forked
        )
        self._host = host
        self._finalizer = weakref.finalize(self, _kill_host, host)
        try:
            ready = read_frame(_fd(host.stdout), time.monotonic() + self._start_timeout_s)
        except (OSError, EOFError, TimeoutError):
            ready = None
        if ready != READY:
            self._stop_host()
            raise _host_failed()
        return host

    def _stop_host(self) -> None:
        if self._finalizer is not None:
            self._finalizer()  # kills the host (once) and detaches the finalizer
        self._host, self._finalizer = None, None


def _report_pages(body: bytes, on_pages: PageProgress | None) -> None:
    done, _, total = body.decode("ascii", "replace").partition("/")
    if on_pages is not None and done.isdigit() and total.isdigit():
        on_pages(int(done), int(total))


def _fd(stream: Any) -> int:
    return int(stream.fileno())


def _kill_host(host: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(host.pid, signal.SIGKILL)
    for stream in (host.stdin, host.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    with contextlib.suppress(subprocess.TimeoutExpired):
        host.wait(timeout=5)


def _result(reply: bytes, timeout_s: float) -> ParsedDocument:
    kind, body = reply[:1], reply[1:]
    if kind == TIMEOUT:
        raise _timeout(timeout_s)
    if kind == DIED:
        code = int(body or b"0")
        raise _out_of_memory() if code == MEMORY_EXIT else _died(code)
    if kind != RESULT:
        raise _host_failed()
    try:
        status, payload = _ResultUnpickler(io.BytesIO(body)).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise ParseError(
            "parse_crash",
            "문서를 읽은 결과를 해석하지 못했습니다.",
            f"The parser returned an unreadable result ({type(exc).__name__}).",
        ) from exc
    if status == "ok" and isinstance(payload, ParsedDocument):
        return payload
    if status == "error" and isinstance(payload, IngestError):
        raise payload
    if status == "memory":
        raise _out_of_memory()
    raise ParseError(
        "parse_crash", f"문서를 읽는 중 오류가 발생했습니다: {payload}", f"The parser failed: {payload}"
    )


def _out_of_memory() -> LimitExceededError:
    return LimitExceededError(
        "parse_memory",
        "문서를 읽는 데 허용된 메모리를 넘었습니다.",
        "Reading the document exceeded the memory limit.",
    )


def _timeout(timeout_s: float) -> LimitExceededError:
    return LimitExceededError(
        "parse_timeout",
        f"문서를 읽는 데 {timeout_s:.0f}초를 넘겨 중단했습니다.",
        f"Parsing took longer than {timeout_s:.0f}s and was stopped.",
    )


def _died(exit_code: int) -> IngestError:
    return LimitExceededError(
        "parse_killed",
        f"문서를 읽던 프로세스가 비정상 종료되었습니다 (코드 {exit_code}). "
        "손상되었거나 너무 큰 파일일 수 있습니다.",
        f"The parsing process died (exit code {exit_code}); the file may be damaged or too large.",
    )


def _host_failed() -> IngestError:
    return ParseError(
        "parse_host_failed",
        "문서를 읽는 보조 프로세스가 응답하지 않아 다시 시작합니다. 잠시 후 다시 시도해 주세요.",
        "The parsing helper process stopped responding and will be restarted; try again shortly.",
    )
