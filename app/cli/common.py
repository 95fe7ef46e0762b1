"""What every command shares: opening and closing the container, messages, progress lines."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from app.container import Container, build_container
from core.settings import Settings
from ingest.jobs import JobView
from llm.gguf import ensure_default_gguf
from llm.server import EmbeddedLlamaServer

STAGE_LABELS = {"added": "추가 / added", "updated": "갱신 / updated", "unchanged": "변경 없음 / unchanged"}


@contextmanager
def open_container(settings: Settings, *, recover: bool = False) -> Iterator[Container]:
    """The wired components for one command, closed (Chroma files, parsing helper, SQL) on the way out.

    ``recover`` first requeues jobs of dead workers and brings the stores back into agreement.
    """
    container = build_container(settings)
    try:
        if recover:
            container.recover()
        yield container
    finally:
        container.close()


def fail(message: str, code: int = 1) -> int:
    """Print a bilingual message to stderr and return the exit code."""
    print(message, file=sys.stderr)
    return code


def missing_paths(paths: list[Path | None]) -> int | None:
    """Exit code 2 with a message when a given path does not exist; None when all do."""
    missing = [str(p) for p in paths if p is not None and not p.exists()]
    if missing:
        return fail(f"경로를 찾을 수 없습니다 / path not found: {', '.join(missing)}", 2)
    return None


def print_file_progress(i: int, n: int, path: Path, job: JobView, seconds: float) -> None:
    """One line per finished file: what happened to it and how long it took."""
    if job.status == "failed":
        status = f"실패 / failed: {job.error_ko} / {job.error_en}"
    else:
        status = STAGE_LABELS.get(job.stage, job.stage)
    print(f"  [{i}/{n}] {path.name}: {status} ({seconds:.1f}s)", flush=True)


def start_embedded_llm(settings: Settings) -> EmbeddedLlamaServer:
    """Assemble/verify the GGUF if needed and start the llama.cpp server."""
    model_path = settings.llm.model_path or ensure_default_gguf(settings.models_dir)
    server = EmbeddedLlamaServer(settings.llm, model_path, log_path=settings.data_dir / "llama-server.log")
    print(f"LLM: starting llama.cpp server on {model_path.name} …", flush=True)
    server.start()
    return server


def llm_reachable(base_url: str) -> bool:
    """Whether an OpenAI-compatible server answers ``GET {base_url}/models``."""
    try:
        return httpx.get(f"{base_url}/models", timeout=1.5).status_code == 200
    except httpx.HTTPError:
        return False


def ensure_llm_server(settings: Settings, stack: ExitStack) -> None:
    """Start the embedded llama.cpp server, stopped when ``stack`` closes, unless a model server is
    configured (``llm.base_url``) or one already answers at the embedded server's address."""
    llm = settings.llm
    if not llm.base_url and not llm_reachable(f"http://{llm.host}:{llm.port}/v1"):
        stack.callback(start_embedded_llm(settings).stop)
