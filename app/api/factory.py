"""The FastAPI application factory (the HTTP face of the composition root)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.api import health, openai_compat, search
from app.api.errors import install_error_handlers
from app.container import Container, build_container
from app.services.chat import ChatService
from core.settings import Settings


def _start_worker(container: Container, stop: threading.Event) -> threading.Thread:
    """Recover from any crash, then run ingestion jobs in a background thread."""
    container.recover()
    runner = container.job_runner()
    thread = threading.Thread(
        target=runner.run_forever,
        args=(stop, container.settings.jobs.poll_interval_s),
        name="jikji-ingest-worker",
        daemon=True,
    )
    thread.start()
    return thread


def create_app(settings: Settings, container: Container | None = None) -> FastAPI:
    """Build the API; the container (engine, index, model client) is created at start-up."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        built = container or build_container(settings)
        built.index.refresh()
        app.state.container = built
        app.state.chat_service = ChatService(
            built.searcher, built.chat_model, settings.llm, settings.ingest.pii_mode
        )
        stop = threading.Event()
        worker = _start_worker(built, stop) if settings.jobs.embedded_worker else None
        try:
            yield
        finally:
            stop.set()
            if worker is not None:
                worker.join(timeout=30)
            built.engine.dispose()

    app = FastAPI(
        title="Jikji API",
        version="0.1.0",
        description="사내 문서 기반 지식 도우미 API / Korean-first enterprise knowledge assistant API.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(search.router)
    app.include_router(openai_compat.router)
    return app
