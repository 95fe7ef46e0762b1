"""``jikji serve``: the LLM server (unless one is configured), the API and the UI, as one command."""

from __future__ import annotations

import argparse
import secrets
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import uvicorn
from sqlalchemy import func, select

from app.api.factory import create_app
from app.cli.common import open_container, print_file_progress, start_embedded_llm
from app.container import Container
from app.services import accounts
from app.services.ingest_files import discover, ingest_paths
from core.models import Document
from core.settings import Settings

UI_SCRIPT = Path(__file__).resolve().parents[2] / "ui" / "app.py"


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    """``jikji serve``: everything until interrupted."""
    serve(settings, ingest_dir=Path(args.ingest) if args.ingest else None, with_ui=not args.no_ui)
    return 0


def start_ui(settings: Settings) -> subprocess.Popen[bytes]:
    """Start the Streamlit UI as a child process."""
    command = [
        sys.executable, "-m", "streamlit", "run", str(UI_SCRIPT),
        "--server.address", settings.ui.host,
        "--server.port", str(settings.ui.port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "minimal",  # no "Deploy" button or developer menu in a product
        "--server.maxUploadSize", str(max(1, settings.ingest.max_file_bytes // 2**20)),
        "--theme.base", "light",
        "--", "--api-url", settings.ui_api_url,
        "--link-hosts", ",".join(settings.ui.link_hosts),
        "--timezone", settings.ui.timezone,
    ]  # fmt: skip
    return subprocess.Popen(command)


def ingest_if_empty(container: Container, directory: Path) -> None:
    """Ingest a folder (the samples) on first start, when no document exists yet."""
    with container.sessions() as session:
        count = session.scalar(select(func.count()).select_from(Document)) or 0
    if count:
        return
    files = discover([directory])
    print(
        f"첫 실행: {directory} 의 문서 {len(files)}개를 색인합니다 / indexing {len(files)} sample files",
        flush=True,
    )
    summary = ingest_paths(container, files, is_public=True, on_file=print_file_progress)
    print(
        f"완료 / done: {summary.added} added, {len(summary.failed)} failed, {summary.seconds:.1f}s",
        flush=True,
    )


def serve(settings: Settings, *, ingest_dir: Path | None, with_ui: bool) -> None:
    """Run everything until interrupted, then stop the children."""
    with ExitStack() as stack:
        container = stack.enter_context(open_container(settings))
        first_admin = ensure_first_admin(settings, container)
        if ingest_dir is not None:
            ingest_if_empty(container, ingest_dir)
        if not settings.llm.base_url:
            server = start_embedded_llm(settings)
            stack.callback(server.stop)
        if with_ui:
            ui = start_ui(settings)
            stack.callback(_stop_process, ui)
        _print_urls(settings, container, with_ui=with_ui)
        if first_admin:
            print(first_admin, flush=True)
        app = create_app(settings, container)
        uvicorn.run(app, host=settings.api.host, port=settings.api.port, log_level="warning")


def ensure_first_admin(settings: Settings, container: Container) -> str:
    """With no admin yet: in development create ``admin`` with a random password and return the
    line that shows it (once); in production return how to create one. Empty when one exists."""
    with container.sessions.begin() as session:
        if accounts.has_active_admin(session):
            return ""
        if settings.environment == "production":
            return (
                "  관리자 계정이 없습니다. 만드십시오 / no admin account yet, create one:\n"
                "    jikji users create-admin NAME"
            )
        password = secrets.token_urlsafe(12)
        admin = accounts.create_user(session, "admin", password, role="admin", display_name="관리자")
        admin.must_change_password = True  # the password is in the run log: nothing works until it changes
    return (
        f"  처음 관리자 / first admin:  admin / {password}\n"
        "  (이번 한 번만 표시됩니다. 첫 로그인에서 바꿔야 합니다 / shown only now; "
        "it must be changed at the first login)"
    )


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def _print_urls(settings: Settings, container: Container, *, with_ui: bool) -> None:
    lines = [
        "",
        "Jikji 가 실행 중입니다 / Jikji is running:",
        f"  API       {settings.api_url}  (docs: {settings.api_url}/docs)",
        f"  OpenAI    {settings.api_url}/v1",
        f"  LLM       {container.llm_base_url}",
    ]
    if with_ui:
        lines.insert(2, f"  채팅 UI   http://{settings.ui.host}:{settings.ui.port}")
    lines.append(f"  데이터    {settings.data_dir.resolve()}")
    lines.append("  종료: Ctrl+C")
    print("\n".join(lines), flush=True)
