"""The sandbox host: a lean process that forks one short-lived child per file to parse.

:class:`ingest.sandbox.ParseSandbox` runs it as ``python -m ingest.sandbox_host``. It imports the
parsers and nothing of the application, so forking it is cheap and a child never loads torch,
Chroma or SQLAlchemy. (multiprocessing's forkserver re-imports the parent's ``__main__`` module in
every child, which in a process running the whole application cost 1-1.5 s per file.)

Protocol, length-prefixed frames: the parent writes a pickled request on the host's stdin; the
host answers on its stdout with one kind byte and a body — ``R`` and the child's pickled result,
``T`` when the child overran its time and was killed, ``D`` and the child's exit code when it died —
after any number of ``P`` frames (``done/total`` OCR pages) passed on from the child as they come.
The host answers ``H`` once when its parsers are loaded. Each child parses under an address-space
limit and reports through its own pipe; the host never unpickles what a child sends.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import os
import pickle
import resource
import select
import signal
import struct
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

HEADER = struct.Struct(">Q")
READY, RESULT, TIMEOUT, DIED, PROGRESS = b"H", b"R", b"T", b"D", b"P"
MEMORY_EXIT = 71  # the child ran out of memory while sending its result
CRASH_EXIT = 70
PR_SET_PDEATHSIG = 1
# Legacy Korean encodings are imported lazily by codecs; load them once here, not in every child.
CODECS = ["encodings.cp949", "encodings.euc_kr", "encodings.utf_16", "encodings.utf_8_sig"]
READ_CHUNK = 1 << 20
IDLE_EXIT_S = 30.0


@dataclass(frozen=True, slots=True)
class ParseRequest:
    """One file for the host to parse in a child."""

    data: bytes
    file_type: str
    limits: Any  # ingest.document.ParseLimits (kept untyped so this module imports nothing heavy)
    memory_bytes: int
    timeout_s: float


def preload_modules() -> list[str]:
    """The registry and every parser module, so children start with them imported."""
    from ingest.registry import PARSERS

    return ["ingest.registry", *sorted({target.partition(":")[0] for target in PARSERS.values()}), *CODECS]


def write_frame(fd: int, *parts: bytes) -> None:
    """Write one frame (the parts back to back) to ``fd``."""
    _write_all(fd, HEADER.pack(sum(len(part) for part in parts)))
    for part in parts:
        _write_all(fd, part)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def read_frame(fd: int, deadline: float | None = None) -> bytes | None:
    """Read one frame from ``fd``; None on a clean end of stream, TimeoutError past ``deadline``."""
    header = read_exact(fd, HEADER.size, deadline)
    if header is None:
        return None
    body = read_exact(fd, HEADER.unpack(header)[0], deadline)
    if body is None:
        msg = "stream ended inside a frame"
        raise EOFError(msg)
    return body


def wait_readable(fds: list[int], timeout_s: float) -> list[int]:
    """The descriptors among ``fds`` readable (or closed) within ``timeout_s``.

    ``poll`` rather than ``select``: a long-lived process can hold descriptors above 1024, which
    ``select`` cannot watch.
    """
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    return [fd for fd, _event in poller.poll(max(0.0, timeout_s) * 1000)]


def read_exact(fd: int, size: int, deadline: float | None = None) -> bytes | None:
    """Exactly ``size`` bytes from ``fd`` (None if the stream ends first)."""
    parts: list[bytes] = []
    left = size
    while left:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not wait_readable([fd], remaining):
                raise TimeoutError
        part = os.read(fd, min(left, READ_CHUNK))
        if not part:
            return None
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _child(out_fd: int, request: ParseRequest) -> None:
    """In the forked child: limit memory, parse, send the pickled outcome, exit (never returns)."""
    code = 0
    try:
        _own_group()
        resource.setrlimit(resource.RLIMIT_AS, (request.memory_bytes, request.memory_bytes))
        _report_pages(out_fd)
        payload = pickle.dumps(_outcome(request), protocol=pickle.HIGHEST_PROTOCOL)
        write_frame(out_fd, RESULT, payload)
    except MemoryError:
        code = MEMORY_EXIT
    except BaseException:  # noqa: BLE001 - whatever happens, the child must end here
        code = CRASH_EXIT
    os._exit(code)


def _report_pages(out_fd: int) -> None:
    """Stream OCR page progress (``P`` and ``done/total``) to the host ahead of the result."""
    from ingest.ocr import report_pages_to

    report_pages_to(lambda done, total: write_frame(out_fd, PROGRESS, f"{done}/{total}".encode()))


def _own_group() -> None:
    """Lead a process group of its own (so a kill reaches what it runs, e.g. Tesseract) and die with
    the host (Linux ``PR_SET_PDEATHSIG``), which no longer reaches it through the host's group."""
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _outcome(request: ParseRequest) -> tuple[str, Any]:
    from ingest.detect import FileType
    from ingest.errors import IngestError
    from ingest.registry import parse_bytes

    try:
        return "ok", parse_bytes(request.data, FileType(request.file_type), request.limits)
    except IngestError as exc:
        return "error", exc
    except MemoryError:
        return "memory", None
    except Exception as exc:  # noqa: BLE001 - any parser crash becomes a readable error for the parent
        return "crash", f"{type(exc).__name__}: {exc}"[:500]


def serve_one(
    request: ParseRequest, control_fd: int, inherited: Iterable[int], reply_fd: int | None = None
) -> list[bytes]:
    """Parse ``request`` in a forked child; the reply parts for the parent.

    ``control_fd`` is the parent's request stream: if it becomes readable while a child runs, the
    parent has gone, so the child is killed and the host exits. Progress frames the child sends
    are passed on to ``reply_fd`` as they come (dropped without one).
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_fd)
        for fd in inherited:
            os.close(fd)
        _child(write_fd, request)
    os.close(write_fd)
    with contextlib.suppress(OSError):  # also here: the child may not have run yet when it is killed
        os.setpgid(pid, pid)
    try:
        body, timed_out = _collect(read_fd, control_fd, time.monotonic() + request.timeout_s, pid, reply_fd)
    finally:
        os.close(read_fd)
    if timed_out:
        _kill(pid)
    _, status = os.waitpid(pid, 0)
    if timed_out:
        return [TIMEOUT]
    if body is not None:
        return [RESULT, body]
    return [DIED, str(os.waitstatus_to_exitcode(status)).encode()]


def _collect(
    read_fd: int, control_fd: int, deadline: float, pid: int, reply_fd: int | None
) -> tuple[bytes | None, bool]:
    """The child's result (None if it ended without one) and whether it ran out of time.

    The child sends frames: ``P`` progress, forwarded to ``reply_fd`` at once, then ``R`` and its
    pickled outcome.
    """
    received = bytearray()
    result: bytes | None = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None, True
        ready = wait_readable([read_fd, control_fd], remaining)
        if control_fd in ready:  # the parent closed its end (or broke the protocol): stop everything
            _kill(pid)
            os._exit(0)
        if read_fd not in ready:
            continue
        part = os.read(read_fd, READ_CHUNK)
        if not part:
            break
        received += part
        for frame in _complete_frames(received):
            if frame[:1] == PROGRESS:
                if reply_fd is not None:
                    write_frame(reply_fd, frame)
            else:
                result = frame
    return (result[1:] if result is not None and result[:1] == RESULT else None), False


def _complete_frames(received: bytearray) -> list[bytes]:
    """Take the complete frames off the front of ``received`` (a partial one stays)."""
    frames = []
    while len(received) >= HEADER.size:
        end = HEADER.size + HEADER.unpack_from(received)[0]
        if len(received) < end:
            break
        frames.append(bytes(received[HEADER.size : end]))
        del received[:end]
    return frames


def _kill(pid: int) -> None:
    """Kill the child and its process group (a Tesseract it started)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def main(idle_exit_s: float = IDLE_EXIT_S) -> None:
    """Serve parse requests from stdin until it closes or none comes for ``idle_exit_s`` seconds."""
    control_fd, reply_fd = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # a stray print from a parser must not corrupt the protocol
    os.close(devnull)
    for module in preload_modules():
        importlib.import_module(module)
    write_frame(reply_fd, READY)
    # Idle: exit, so a host whose owner is gone but not yet garbage-collected does not linger; the
    # parent starts a new one when it needs one (and retries a request that raced the exit).
    while wait_readable([control_fd], idle_exit_s):
        frame = read_frame(control_fd)
        if frame is None:
            break
        request = pickle.loads(frame)  # noqa: S301 - the parent is trusted; children never write here
        write_frame(reply_fd, *serve_one(request, control_fd, (control_fd, reply_fd), reply_fd))


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else IDLE_EXIT_S)
