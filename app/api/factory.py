"""The FastAPI application factory (the HTTP face of the composition root)."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.api import (
    auth,
    conversations,
    dictionary,
    documents,
    health,
    jobs,
    keys,
    openai_compat,
    search,
    usage,
    users,
)
from app.api.adapters import router as adapters_router
from app.api.body_limit import BodyLimitMiddleware
from app.api.errors import AUTHENTICATED_ERRORS, install_error_handlers, problem_responses
from app.api.evaluation import router as evaluation_router
from app.api.golden import router as golden_router
from app.api.identity import router as identity_router
from app.api.oidc import router as oidc_router
from app.api.outages import install_outage_handlers
from app.api.ratelimit import PasswordSlots, build_limiters
from app.api.scim import router as scim_router
from app.auth.oidc import OidcRegistry
from app.container import Container, build_container
from app.services.admission import AnswerQueue
from core.settings import Settings
from ingest.chunker import CHUNKER_VERSION
from ingest.reindex import index_chunker_version

_log = logging.getLogger(__name__)


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
    """Build the API; the container (engine, index, model client) is created at start-up.

    Only the container and the rate limiters live on ``app.state``; routes reach them through the
    dependency aliases of :mod:`app.api.deps`.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        built = container or build_container(settings)
        built.index.refresh()
        if index_chunker_version(built.sessions) < CHUNKER_VERSION:  # also marks a fresh index current
            _log.warning(
                "문서가 이전 청크 기준으로 잘려 있습니다: `jikji rechunk` 를 실행하십시오 / "
                "the index was cut by an older chunker: run `jikji rechunk`"
            )
        app.state.container = built
        app.state.limiters = build_limiters(
            settings.auth, built.sessions, on_sqlite=built.engine.dialect.name == "sqlite"
        )
        stop = threading.Event()
        worker = _start_worker(built, stop) if settings.jobs.embedded_worker else None
        try:
            yield
        finally:
            stop.set()
            if worker is not None:
                worker.join(timeout=30)
            still_working = worker is not None and worker.is_alive()
            if container is None and not still_working:  # a container passed in belongs to the caller
                built.close()
            else:  # a job still running keeps its stores; the process is exiting anyway
                built.engine.dispose()

    app = FastAPI(
        title="Jikji API",
        version="0.1.0",
        description="사내 문서 기반 지식 도우미 API / Korean-first enterprise knowledge assistant API.",
        lifespan=lifespan,
    )
    app.add_middleware(
        BodyLimitMiddleware,
        json_limit=settings.api.max_json_bytes,
        upload_limit=settings.ingest.max_file_bytes * settings.api.max_upload_files,
    )
    install_error_handlers(app)
    app.state.password_slots = PasswordSlots(settings.auth.password_verify_concurrency)  # Argon2 at once
    install_outage_handlers(app)
    app.state.answer_queue = AnswerQueue(settings.answer_queue)  # answer generation admitted per process
    # One OIDC client per provider and process: discovery and JWKS are cached there.
    app.state.oidc = OidcRegistry(settings.auth.oidc.providers, cache_s=settings.auth.oidc.jwks_refresh_s)
    app.include_router(health.router, responses=problem_responses(404))
    app.include_router(scim_router)  # its own token and SCIM errors; not in the OpenAPI document
    for router in (
        auth.router,
        conversations.router,
        dictionary.router,
        search.router,
        documents.router,
        jobs.router,
        openai_compat.router,
        users.router,
        keys.router,
        usage.router,
        evaluation_router,
        golden_router,
        adapters_router,
        oidc_router,
        identity_router,
    ):
        app.include_router(router, responses=AUTHENTICATED_ERRORS | problem_responses(503))
    return app
