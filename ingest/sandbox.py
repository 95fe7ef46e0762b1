"""Parsing in a child process with a time and an address-space limit.

A hostile or broken file (a PDF that loops, a decompression bomb that slips past the counters) can
then only exhaust its own process: the parent kills it on timeout and reports a clear error.
Children are forked from a forkserver that has the parsers preloaded, so each parse starts fast.
"""

from __future__ import annotations

import multiprocessing
import resource
from multiprocessing.connection import Connection
from typing import Any

from ingest.detect import FileType
from ingest.document import ParsedDocument, ParseLimits
from ingest.errors import IngestError, LimitExceededError, ParseError
from ingest.registry import PARSERS, parse_bytes

PRELOAD = ["ingest.registry", *sorted({target.partition(":")[0] for target in PARSERS.values()})]


def _context() -> Any:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def _child(conn: Connection, data: bytes, file_type: str, limits: ParseLimits, memory_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    try:
        conn.send(("ok", parse_bytes(data, FileType(file_type), limits)))
    except IngestError as exc:
        conn.send(("error", exc))
    except MemoryError:
        conn.send(("memory", None))
    except Exception as exc:  # noqa: BLE001 - any parser crash becomes a readable error for the parent
        conn.send(("crash", f"{type(exc).__name__}: {exc}"[:500]))
    finally:
        conn.close()


def parse_sandboxed(
    data: bytes, file_type: FileType, limits: ParseLimits, *, timeout_s: float, memory_mb: int
) -> ParsedDocument:
    """Parse ``data`` in a child process; raise an :class:`IngestError` on any failure or limit."""
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=_child, args=(sender, data, file_type.value, limits, memory_mb * 1024 * 1024), daemon=True
    )
    process.start()
    sender.close()
    try:
        if not receiver.poll(timeout_s):
            raise _timeout(timeout_s)
        status, payload = receiver.recv()
    except EOFError as exc:
        raise _died(process) from exc
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join(timeout=5)
    return _result(status, payload)


def _result(status: str, payload: Any) -> ParsedDocument:
    if status == "ok":
        parsed: ParsedDocument = payload
        return parsed
    if status == "error":
        raise payload
    if status == "memory":
        raise LimitExceededError(
            "parse_memory",
            "문서를 읽는 데 허용된 메모리를 넘었습니다.",
            "Reading the document exceeded the memory limit.",
        )
    raise ParseError(
        "parse_crash", f"문서를 읽는 중 오류가 발생했습니다: {payload}", f"The parser failed: {payload}"
    )


def _timeout(timeout_s: float) -> LimitExceededError:
    return LimitExceededError(
        "parse_timeout",
        f"문서를 읽는 데 {timeout_s:.0f}초를 넘겨 중단했습니다.",
        f"Parsing took longer than {timeout_s:.0f}s and was stopped.",
    )


def _died(process: Any) -> IngestError:
    process.join(timeout=5)
    return LimitExceededError(
        "parse_killed",
        f"문서를 읽던 프로세스가 비정상 종료되었습니다 (코드 {process.exitcode}). "
        "손상되었거나 너무 큰 파일일 수 있습니다.",
        f"The parsing process died (exit code {process.exitcode}); the file may be damaged or too large.",
    )
