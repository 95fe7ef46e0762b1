"""Shared fixtures: isolated settings and containers on temporary data directories."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.api.factory import create_app
from app.container import Container
from core.db import make_engine, make_session_factory
from core.migrate import upgrade_to_head
from core.settings import ChromaSettings, DatabaseSettings, EmbeddingSettings, Settings
from retrieval.tokenizer import KiwiTokenizer
from tests.api_harness import ApiHarness
from tests.postgres import REQUIRE_ENV, PostgresUnavailableError, fresh_database, postgres_server
from tests.support.containers import make_container
from tests.support.dependencies import ChromaServer, running_chroma
from tests.support.paths import SAMPLES_DIR  # noqa: F401 (test_api_evaluation.py imports it from here)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Embedded-mode settings in a temporary data directory, with the fast fake embedder."""
    return Settings(data_dir=tmp_path / "data", embedding=EmbeddingSettings(model="hashing"))


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A PostgreSQL server for the session (see tests/postgres.py); skips when none can run here."""
    try:
        with postgres_server() as url:
            yield url
    except PostgresUnavailableError as exc:
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"{REQUIRE_ENV} is set: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """Each SQL store in turn: None (the embedded SQLite file), then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield None
        return
    with fresh_database(request.getfixturevalue("postgres_server_url")) as url:
        yield url


@pytest.fixture
def sessions_on_each_database(tmp_path: Path, database_url: str | None) -> Iterator[sessionmaker[Session]]:
    """A session factory on a migrated database: the SQLite file, then a fresh PostgreSQL database."""
    engine = make_engine(database_url or f"sqlite:///{tmp_path / 'jikji.db'}")
    upgrade_to_head(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def settings_on_each_database(tmp_path: Path, database_url: str | None) -> Settings:
    """:func:`settings` on SQLite and on PostgreSQL; a module opts in by overriding ``settings`` with it."""
    return Settings(
        data_dir=tmp_path / "data",
        embedding=EmbeddingSettings(model="hashing"),
        database=DatabaseSettings(url=database_url),
    )


def point_cli_at(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``jikji`` commands run in-process use ``settings``' data directory and database."""
    monkeypatch.setenv("JIKJI_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("JIKJI_EMBEDDING__MODEL", "hashing")
    if settings.database.url:
        monkeypatch.setenv("JIKJI_DATABASE__URL", settings.database.url)


@pytest.fixture(scope="session")
def kiwi() -> KiwiTokenizer:
    """One Kiwi analyser for the whole session (loading its model takes seconds)."""
    return KiwiTokenizer()


@pytest.fixture
def container(settings: Settings, kiwi: KiwiTokenizer) -> Iterator[Container]:
    """A migrated container with the hashing embedder and the extractive fake model."""
    built = make_container(settings, kiwi)
    yield built
    built.close()


@pytest.fixture
def api(container: Container, settings: Settings) -> Iterator[ApiHarness]:
    """The real API app over the test container, with helpers to make users, keys and documents."""
    with TestClient(create_app(settings, container)) as client:
        yield ApiHarness(container, client)


@pytest.fixture(autouse=True)
def _fresh_company_dictionary(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests share one Kiwi; terms a test adds to it must not change how later tests tokenize."""
    yield
    if "kiwi" in request.fixturenames:
        shared: KiwiTokenizer = request.getfixturevalue("kiwi")
        if shared.terms:
            shared.set_terms([])


# --- Chroma as a server: the third store setting (issue 20) ------------------------------------


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    """One ``chroma run`` server for the session on a throwaway path (each test uses its own collection).

    Without the ``chroma`` command, or when it does not start, the tests that need it skip, except
    under ``CI=true`` or ``JIKJI_TEST_REQUIRE_CHROMA=1``, where they fail.
    """
    with running_chroma(tmp_path_factory.mktemp("chroma-server") / "store") as server:
        yield server


@dataclass(frozen=True, slots=True)
class Store:
    """One store setting: where the SQL rows live and where the vectors live."""

    name: str
    database_url: str | None
    chroma: ChromaSettings


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("chroma-server", marks=[pytest.mark.postgres, pytest.mark.chroma_server]),
    ]
)
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """Each store setting in turn: SQLite + embedded Chroma, PostgreSQL + embedded Chroma, and the
    production pair, PostgreSQL + a Chroma server (a fresh collection per test, dropped afterwards)."""
    if request.param == "sqlite":
        yield Store("sqlite", None, ChromaSettings())
        return
    with fresh_database(request.getfixturevalue("postgres_server_url")) as url:
        if request.param == "postgresql":
            yield Store("postgresql", url, ChromaSettings())
            return
        server: ChromaServer = request.getfixturevalue("chroma_server")
        chroma = ChromaSettings(mode="http", port=server.port, collection=f"t_{uuid.uuid4().hex[:16]}")
        try:
            yield Store("chroma-server", url, chroma)
        finally:
            server.drop_collection(chroma.collection)


@pytest.fixture
def settings_on_each_store(tmp_path: Path, store: Store) -> Settings:
    """:func:`settings` on every store setting (:func:`store`); a module opts in by overriding
    ``settings`` with it."""
    return Settings(
        data_dir=tmp_path / "data",
        embedding=EmbeddingSettings(model="hashing"),
        database=DatabaseSettings(url=store.database_url),
        chroma=store.chroma,
    )
