"""``kill -9`` during ingestion, then restart: the job is retried and the three stores agree."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from core.db import make_engine, make_session_factory
from core.models import Chunk, Document, DocumentVersion, IngestionJob
from core.settings import ChromaSettings, EmbeddingSettings, Settings
from ingest.originals import OriginalStore
from ingest.pipeline import EMBED_END
from retrieval.lexical import LexicalIndex
from retrieval.vectors import open_vector_store
from tests.support.dependencies import ChromaServer

pytestmark = pytest.mark.integration

ARTICLE = "제{n}조(조항 {n}) ① 직원은 업무 {n}에 관하여 성실하게 근무하여야 한다. ② 회사는 규정 {n}을 공정하게 운영한다.\n\n"


def jikji(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def wait_for_half_written_version(sessions, deadline_s: float = 120) -> None:
    """Until a running job reports chunks written (its version exists, not yet current)."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            with sessions() as session:
                row = session.execute(
                    select(IngestionJob.stage, IngestionJob.progress).where(IngestionJob.status == "running")
                ).first()
        except OperationalError:  # the other process is still creating the schema
            row = None
        if row is not None and row[0] == "indexing" and row[1] > EMBED_END:
            return
        time.sleep(0.05)
    pytest.fail("ingestion never reached the writing of a version")


@pytest.mark.parametrize(
    "vectors_on",
    ["embedded", pytest.param("chroma-server", marks=[pytest.mark.chroma_server, pytest.mark.slow])],
)
def test_kill_during_ingestion_then_restart_leaves_consistent_stores(
    tmp_path: Path, vectors_on: str, request: pytest.FixtureRequest
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "big.md").write_text(
        "# 큰 규정\n\n" + "".join(ARTICLE.format(n=i) for i in range(1, 1500)), "utf-8"
    )
    (docs / "small.md").write_text("# 작은 문서\n\n회의실은 10명까지 쓸 수 있다.", "utf-8")
    data_dir = tmp_path / "data"
    env = {**os.environ, "JIKJI_DATA_DIR": str(data_dir), "JIKJI_EMBEDDING__MODEL": "hashing"}
    chroma = ChromaSettings()
    if vectors_on == "chroma-server":
        server: ChromaServer = request.getfixturevalue("chroma_server")
        chroma = ChromaSettings(mode="http", port=server.port, collection=f"crash_{uuid.uuid4().hex[:12]}")
        env |= {"JIKJI_CHROMA__MODE": "http", "JIKJI_CHROMA__PORT": str(server.port)}
        env["JIKJI_CHROMA__COLLECTION"] = chroma.collection
    process = jikji(["ingest", str(docs), "--public"], env)
    settings = Settings(data_dir=data_dir, embedding=EmbeddingSettings(model="hashing"), chroma=chroma)
    deadline = time.monotonic() + 60
    while not (data_dir / "jikji.db").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    wait_for_half_written_version(sessions)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)

    restart = jikji(["worker", "--until-idle"], env)
    output = restart.communicate(timeout=600)[0].decode()
    assert restart.returncode == 0, output

    with sessions() as session:
        statuses = session.scalars(select(IngestionJob.status)).all()
        assert set(statuses) == {"succeeded"}, statuses
        documents = session.scalar(select(func.count()).select_from(Document))
        assert documents == 2
        chunk_ids = set(session.scalars(select(Chunk.id)))
        current = session.scalar(
            select(func.count())
            .select_from(Chunk)
            .join(Document, Document.current_version_id == Chunk.version_id)
        )
        versions = session.scalar(select(func.count()).select_from(DocumentVersion))
        file_keys = set(session.scalars(select(DocumentVersion.file_key)))
    assert current == len(chunk_ids), "no chunks outside current versions"
    assert versions == 2, "the half-written version was removed"
    vectors = open_vector_store(settings.chroma, data_dir)
    assert set(vectors.all_ids()) == chunk_ids, "Chroma holds exactly the SQL chunks"
    lexical = LexicalIndex()
    assert lexical.load(settings.bm25_dir)
    assert set(lexical.ids) == chunk_ids, "BM25 holds exactly the SQL chunks"
    assert set(OriginalStore(settings.originals_dir).all_keys()) == file_keys, "no orphan files"
    engine.dispose()
