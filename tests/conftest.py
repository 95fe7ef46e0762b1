"""Shared fixtures: isolated settings and containers on temporary data directories."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api.factory import create_app
from app.container import Container, build_container
from core.settings import EmbeddingSettings, Settings
from llm.fake import ExtractiveFakeModel
from retrieval.embedder import HashingEmbedder
from retrieval.tokenizer import KiwiTokenizer
from tests.api_harness import ApiHarness

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLES_DIR = REPO_ROOT / "samples" / "documents"
SHARED_FIXTURES = REPO_ROOT.parent / "shared" / "fixtures"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Embedded-mode settings in a temporary data directory, with the fast fake embedder."""
    return Settings(data_dir=tmp_path / "data", embedding=EmbeddingSettings(model="hashing"))


@pytest.fixture(scope="session")
def kiwi() -> KiwiTokenizer:
    """One Kiwi analyser for the whole session (loading its model takes seconds)."""
    return KiwiTokenizer()


def make_container(settings: Settings, kiwi: KiwiTokenizer) -> Container:
    """A migrated container with the hashing embedder and the extractive fake model (caller closes it)."""
    return build_container(
        settings, embedder=HashingEmbedder(), chat_model=ExtractiveFakeModel(), tokenizer=kiwi
    )


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


@pytest.fixture
def unused_port() -> int:
    """A TCP port free on localhost right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(autouse=True)
def _fresh_company_dictionary(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests share one Kiwi; terms a test adds to it must not change how later tests tokenize."""
    yield
    if "kiwi" in request.fixturenames:
        shared: KiwiTokenizer = request.getfixturevalue("kiwi")
        if shared.terms:
            shared.set_terms([])
