"""The whole stack for browser tests: the real API (uvicorn, in a thread) and the real Streamlit UI.

The API runs over a temporary data directory with the hashing embedder and the extractive fake
model (fast, deterministic, no model server), Kiwi for BM25, SQLite and embedded Chroma. The UI is
``streamlit run ui/app.py`` as a child process pointed at that API with ``--api-url``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import select

from app.api.factory import create_app
from app.container import Container
from app.services import accounts
from app.services.ingest_files import ingest_paths
from core.models import Group, User
from core.settings import AuthSettings, EmbeddingSettings, JobSettings, Settings
from llm.client import StreamChunk, Usage
from llm.fake import ExtractiveFakeModel
from tests.support.containers import make_container
from tests.support.paths import REPO_ROOT
from tests.support.ports import free_port
from tests.support.servers import serve

PASSWORD = "correct-horse-battery-9"


def wait_until_up(url: str, timeout_s: float) -> None:
    """Poll ``url`` until it answers 200, or fail with what was last seen."""
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=2.0)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        time.sleep(0.25)
    msg = f"{url} did not come up in {timeout_s:.0f}s ({last})"
    raise RuntimeError(msg)


@dataclass
class Stack:
    """Where the running API and UI are, and the container behind the API."""

    api_url: str
    ui_url: str
    container: Container


class SlowFakeModel:
    """A fake model for the browser: answers with the first words of source 1, cited as [1], one word
    every ``delay_s`` seconds, so a test can watch the answer stream and stop it midway."""

    model = "fake-slow-extractive"

    def __init__(self, delay_s: float = 0.15, words: int = 30) -> None:
        self.delay_s, self.words = delay_s, words

    def stream(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] = (),
    ) -> Iterator[StreamChunk]:
        """Each word of the answer, after a pause; the fake's "not found" answer without sources."""
        prompt = "\n".join(message["content"] for message in messages)
        match = _SOURCE_RE.search(prompt)
        if match is None:
            yield from ExtractiveFakeModel().stream(
                messages, max_tokens=max_tokens, temperature=temperature, stop=stop
            )
            return
        words = [*match.group(1).split()[: self.words], "[1]"]
        for i, word in enumerate(words):
            time.sleep(self.delay_s)
            yield StreamChunk(text=word if i == 0 else " " + word)
        yield StreamChunk(finish_reason="stop", usage=Usage(len(prompt) // 2, len(words)))


_SOURCE_RE = re.compile(r'<source id="1"[^>]*>(.*?)</source>', re.DOTALL)


def browser_container(data_dir: Path) -> Container:
    """A container on ``data_dir`` with the fast test components, the slow fake model and a quick-polling
    worker."""
    settings = Settings(
        data_dir=data_dir,
        embedding=EmbeddingSettings(model="hashing"),
        jobs=JobSettings(poll_interval_s=0.1),
        # One admin clicks through every admin page in all the browser tests of a run, faster than a
        # person: over 100 API requests a minute, which met the 120/min limit in full runs (the limit
        # itself is tested in tests/integration/test_api_*).
        auth=AuthSettings(rate_limit_per_minute=2000),
    )
    return make_container(settings, chat_model=SlowFakeModel())


def add_user(
    container: Container, username: str, *, role: str = "employee", groups: tuple[str, ...] = ()
) -> None:
    """Create a local account (and its groups) through the account services."""
    with container.sessions.begin() as session:
        for name in groups:
            if session.scalar(select(Group).where(Group.name == name)) is None:
                accounts.create_group(session, name)
    with container.sessions.begin() as session:
        if session.scalar(select(User.id).where(User.username == username)) is None:
            accounts.create_user(session, username, PASSWORD, role=role, group_names=groups)


def ingest(container: Container, files: list[Path], *, public: bool, groups: tuple[str, ...] = ()) -> None:
    """Index files the way ``jikji ingest`` does (the groups must exist)."""
    with container.sessions.begin() as session:
        group_ids = accounts.group_ids_by_name(session, groups)
    summary = ingest_paths(container, files, is_public=public, group_ids=group_ids)
    assert not summary.failed, summary.failed


@contextmanager
def running_api(container: Container) -> Iterator[str]:
    """Serve the API in a thread on a free port; yields its base URL."""
    with serve(create_app(container.settings, container)) as url:
        yield url


@contextmanager
def running_ui(api_url: str, log_path: Path) -> Iterator[str]:
    """``streamlit run ui/app.py`` on a free port against ``api_url``; yields the UI's URL."""
    port = free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "ui" / "app.py"),
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "minimal",
        "--client.showErrorDetails", "full",
        "--server.maxUploadSize", "100",
        "--", "--api-url", api_url,
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_up(f"{url}/_stcore/health", 90)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
