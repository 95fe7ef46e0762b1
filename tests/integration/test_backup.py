"""``jikji backup``, ``jikji restore`` and ``jikji reindex`` through the real CLI, on SQLite and PostgreSQL.

A backup taken while the API serves (and writes audit rows) restores into a destroyed data directory
(and a dropped database) with the same search results and the same permissions; a deleted Chroma
directory is rebuilt by ``jikji reindex``; an interrupted reindex resumes where it stopped.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import threading
from pathlib import Path

import httpx2
import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from app.api.factory import create_app
from app.cli import main as cli_main
from app.container import Container
from app.services import accounts
from app.services.backup import REINDEX_STATE, reindex
from core.models import Document, DocumentVersion
from core.settings import DatabaseSettings, EmbeddingSettings, Settings
from ingest.pipeline import IngestRequest
from retrieval.rebuild import current_chunk_ids
from retrieval.tokenizer import KiwiTokenizer
from retrieval.types import AccessScope
from tests.api_harness import ApiHarness
from tests.conftest import point_cli_at
from tests.postgres import fresh_database
from tests.support.containers import make_container
from tests.support.servers import serve

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(settings_on_each_database: Settings) -> Settings:
    """These tests run on SQLite and on PostgreSQL."""
    return settings_on_each_database


PUBLIC = "# 식당 안내\n\n사내 식당은 12시에 연다. 메뉴는 매주 월요일에 공지한다.\n"
SECRET = "# 인사 기밀\n\n청록고래 연봉 테이블은 인사팀만 본다. 성과급 지급 기준도 여기에 있다.\n"
FINANCE = "# 재무 보고\n\n분기 예산 집행률은 재무팀이 관리한다. 식당 운영비도 예산에 포함한다.\n"
QUERIES = ("식당", "청록고래 연봉 테이블", "예산", "성과급")

Results = dict[str, list[tuple[str, str]]]


def _api_results(client: httpx2.Client, headers: dict[str, str]) -> Results:
    results = {}
    for query in QUERIES:
        response = client.post("/api/v1/search", json={"query": query, "k": 10}, headers=headers)
        assert response.status_code == 200, response.text
        results[query] = [(r["document_id"], r["chunk_id"]) for r in response.json()["results"]]
    return results


def _index_results(container: Container, scopes: dict[str, AccessScope]) -> dict[str, Results]:
    return {
        name: {
            q: [(h.document_id, h.chunk_id) for h in container.searcher.search(q, scope, k=10)]
            for q in QUERIES
        }
        for name, scope in scopes.items()
    }


def _recreate_database(url: str) -> None:
    """Drop the test's PostgreSQL database and create it again, empty, under the same name."""
    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE "{parsed.database}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{parsed.database}"')


def _destroy(settings: Settings) -> None:
    shutil.rmtree(settings.data_dir)
    if settings.database.url:
        _recreate_database(settings.database.url)


@pytest.fixture
def archive_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "backups"
    folder.mkdir()
    return folder


def _seed(harness: ApiHarness) -> tuple[str, dict[str, dict[str, str]]]:
    """Three documents (public, 인사팀 only, 재무팀 only) and three people; the secret document's id."""
    harness.ingest(PUBLIC, "식당.md", public=True)
    secret = harness.ingest(SECRET, "인사기밀.md", groups=["인사팀"])
    harness.ingest(FINANCE, "재무.md", groups=["재무팀"])
    people = {
        "admin": harness.admin(),
        "hr": harness.user("hr-kim", groups=["인사팀"]),
        "outsider": harness.user("dev-lee"),
    }
    return secret, people


def _logins(harness: ApiHarness) -> dict[str, dict[str, str]]:
    return {
        name: harness.login(user)
        for name, user in (("admin", "admin"), ("hr", "hr-kim"), ("outsider", "dev-lee"))
    }


def test_backup_while_serving_then_restore_into_a_destroyed_data_directory(
    settings: Settings,
    kiwi: KiwiTokenizer,
    archive_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_cli_at(settings, monkeypatch)
    container = make_container(settings, kiwi)
    try:
        with (
            serve(create_app(settings, container)) as base,
            httpx2.Client(base_url=base, timeout=60) as client,
        ):
            harness = ApiHarness(container, client)
            secret, people = _seed(harness)
            before = {name: _api_results(client, headers) for name, headers in people.items()}
            stop = threading.Event()

            def keep_serving() -> None:  # searches write audit and usage rows while the backup runs
                with httpx2.Client(base_url=base, timeout=60) as other:
                    while not stop.is_set():
                        _api_results(other, people["hr"])

            traffic = threading.Thread(target=keep_serving)
            traffic.start()
            try:
                assert cli_main(["backup", str(archive_dir)]) == 0
            finally:
                stop.set()
                traffic.join()
    finally:
        container.close()
    assert "백업 완료 / backup written" in capsys.readouterr().out
    (archive,) = archive_dir.glob("jikji-backup-*.tar.gz")
    assert archive.stat().st_mode & 0o077 == 0  # password hashes and documents: owner only
    assert not [p for p in archive_dir.iterdir() if p != archive]  # no temporary file left behind
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert manifest["index"]["current_documents"] == 3 and manifest["originals"]["count"] == 3
    assert manifest["database"]["method"] == (
        "sqlite-online-backup" if settings.database.url is None else "sqlalchemy-repeatable-read"
    )

    _destroy(settings)
    assert cli_main(["restore", str(archive)]) == 0
    assert "복원 완료 / restored" in capsys.readouterr().out

    container = make_container(settings, kiwi)
    try:
        with (
            serve(create_app(settings, container)) as base,
            httpx2.Client(base_url=base, timeout=60) as client,
        ):
            harness = ApiHarness(container, client)
            after = {name: _api_results(client, headers) for name, headers in _logins(harness).items()}
            assert after == before
            outsider = after["outsider"]["청록고래 연봉 테이블"]
            assert secret not in {document for document, _ in outsider}  # still restricted to 인사팀
            assert secret in {document for document, _ in after["hr"]["청록고래 연봉 테이블"]}
            assert (
                client.get(f"/api/v1/documents/{secret}", headers=harness.login("dev-lee")).status_code == 404
            )
            download = client.get(f"/api/v1/documents/{secret}/download", headers=harness.login("admin"))
            assert download.status_code == 200 and download.content == SECRET.encode()
    finally:
        container.close()


def test_restore_refuses_a_non_empty_target_and_a_damaged_archive(
    settings: Settings,
    kiwi: KiwiTokenizer,
    archive_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_cli_at(settings, monkeypatch)
    container = make_container(settings, kiwi)
    try:
        container.pipeline.ingest(IngestRequest(PUBLIC.encode(), "식당.md", is_public=True))
    finally:
        container.close()
    archive = archive_dir / "jikji.tar.gz"
    assert cli_main(["backup", str(archive)]) == 0
    assert cli_main(["backup", str(archive)]) == 2  # never overwrites
    capsys.readouterr()

    assert cli_main(["restore", str(archive)]) == 2
    err = capsys.readouterr().err
    assert "비어 있지 않습니다" in err and "not empty" in err and "--force" in err

    damaged = archive_dir / "damaged.tar.gz"
    with tarfile.open(archive) as source, tarfile.open(damaged, "w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name.startswith("originals/"):
                data = data.replace("식당".encode(), "금고".encode())
            member.size = len(data)
            target.addfile(member, io.BytesIO(data))
    _destroy(settings)
    assert cli_main(["restore", str(damaged)]) == 1
    err = capsys.readouterr().err
    assert "체크섬" in err and "checksums do not match" in err
    assert not (settings.data_dir / "jikji.db").exists() and not settings.originals_dir.exists()

    assert cli_main(["restore", str(archive)]) == 0
    assert cli_main(["restore", "--force", str(archive)]) == 0  # replaces what is there
    container = make_container(settings, kiwi)
    try:
        hits = container.searcher.search("식당", AccessScope())
        assert [h.title for h in hits] == ["식당 안내"]
    finally:
        container.close()


def _index_documents(settings: Settings, kiwi: KiwiTokenizer) -> tuple[dict[str, AccessScope], str]:
    """Twelve documents (one restricted to 인사팀) indexed; the scopes to compare and the secret's id."""
    container = make_container(settings, kiwi)
    try:
        with container.sessions.begin() as session:
            (hr,) = accounts.group_ids_by_name(session, ["인사팀"], create_missing=True)
        pipeline = container.pipeline
        secret = pipeline.ingest(IngestRequest(SECRET.encode(), "인사기밀.md", group_ids=(hr,))).document_id
        pipeline.ingest(IngestRequest(PUBLIC.encode(), "식당.md", is_public=True))
        for n in range(10):
            text = f"# 공지 {n}\n\n제{n}회 안전 교육은 {n + 1}층 회의실에서 한다. 예산 {n}백만 원.\n"
            pipeline.ingest(IngestRequest(text.encode(), f"공지{n}.md", is_public=True))
    finally:
        container.close()
    scopes = {
        "admin": AccessScope.admin(),
        "hr": AccessScope(group_ids=frozenset({hr})),
        "outsider": AccessScope(),
    }
    return scopes, secret


@pytest.fixture
def indexed(settings: Settings, kiwi: KiwiTokenizer) -> tuple[dict[str, AccessScope], str]:
    """:func:`_index_documents` in the test's data directory and database."""
    return _index_documents(settings, kiwi)


def _results_and_counts(settings: Settings, kiwi: KiwiTokenizer, scopes: dict[str, AccessScope]):  # type: ignore[no-untyped-def]
    container = make_container(settings, kiwi)
    try:
        return (
            _index_results(container, scopes),
            container.index.vectors.count(),
            len(current_chunk_ids(container.sessions)),
        )
    finally:
        container.close()


def test_reindex_rebuilds_a_deleted_chroma_directory_with_the_same_results(
    settings: Settings,
    kiwi: KiwiTokenizer,
    indexed: tuple[dict[str, AccessScope], str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    scopes, secret = indexed
    before, vectors, chunks = _results_and_counts(settings, kiwi, scopes)
    assert vectors == chunks == 12
    shutil.rmtree(settings.chroma_dir)
    shutil.rmtree(settings.bm25_dir, ignore_errors=True)
    point_cli_at(settings, monkeypatch)

    assert cli_main(["reindex"]) == 0

    out = capsys.readouterr().out
    assert "벡터 / vectors [12/12]" in out and "새로 임베딩 12" in out
    after, vectors, chunks = _results_and_counts(settings, kiwi, scopes)
    assert after == before
    assert vectors == chunks == 12
    assert secret not in {d for d, _ in after["outsider"]["청록고래 연봉 테이블"]}
    assert secret in {d for d, _ in after["hr"]["청록고래 연봉 테이블"]}


class ReindexInterruptedError(Exception):
    """Stands for Ctrl-C or a crash in the middle of a reindex."""


def test_an_interrupted_reindex_resumes_where_it_stopped(
    settings: Settings,
    kiwi: KiwiTokenizer,
    indexed: tuple[dict[str, AccessScope], str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    scopes, _ = indexed
    before, _, _ = _results_and_counts(settings, kiwi, scopes)

    def stop_after_two_batches(done: int, _total: int) -> None:
        if done >= 4:
            raise ReindexInterruptedError

    container = make_container(settings, kiwi)
    try:
        with pytest.raises(ReindexInterruptedError):
            reindex(container, fresh=True, progress=stop_after_two_batches, batch=2)
        assert container.index.vectors.count() == 4  # the collection was dropped, two batches written
    finally:
        container.close()
    assert (settings.data_dir / REINDEX_STATE).exists()
    point_cli_at(settings, monkeypatch)

    assert cli_main(["reindex"]) == 0

    out = capsys.readouterr().out
    assert "resuming" in out and "(resumed)" in out
    assert "새로 임베딩 8, 이미 있음 4" in out  # not dropped again: only the missing ones embedded
    assert not (settings.data_dir / REINDEX_STATE).exists()
    after, vectors, chunks = _results_and_counts(settings, kiwi, scopes)
    assert after == before and vectors == chunks == 12


def test_a_backup_records_an_original_missing_from_storage(
    settings: Settings,
    kiwi: KiwiTokenizer,
    indexed: tuple[dict[str, AccessScope], str],
    archive_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, secret = indexed
    container = make_container(settings, kiwi)
    try:
        with container.sessions() as session:
            key = session.scalar(
                select(DocumentVersion.file_key)
                .join(Document, Document.current_version_id == DocumentVersion.id)
                .where(Document.id == secret)
            )
        assert key is not None
        container.originals.delete(key)
    finally:
        container.close()
    point_cli_at(settings, monkeypatch)
    archive = archive_dir / "b.tar.gz"

    assert cli_main(["backup", str(archive)]) == 0

    assert "missing from storage" in capsys.readouterr().out
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert manifest["originals"]["missing"] == [key] and manifest["originals"]["count"] == 11


@pytest.mark.postgres
def test_a_sqlite_backup_restores_into_postgresql_and_back(
    tmp_path: Path,
    kiwi: KiwiTokenizer,
    postgres_server_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    on_sqlite = Settings(data_dir=tmp_path / "sqlite", embedding=EmbeddingSettings(model="hashing"))
    scopes, _ = _index_documents(on_sqlite, kiwi)
    before, _, _ = _results_and_counts(on_sqlite, kiwi, scopes)
    point_cli_at(on_sqlite, monkeypatch)
    assert cli_main(["backup", str(tmp_path / "from-sqlite.tar.gz")]) == 0
    with fresh_database(postgres_server_url) as url:
        on_postgres = Settings(
            data_dir=tmp_path / "postgres",
            embedding=EmbeddingSettings(model="hashing"),
            database=DatabaseSettings(url=url),
        )
        point_cli_at(on_postgres, monkeypatch)
        assert cli_main(["restore", str(tmp_path / "from-sqlite.tar.gz")]) == 0
        assert _results_and_counts(on_postgres, kiwi, scopes)[0] == before
        assert cli_main(["backup", str(tmp_path / "from-postgres.tar.gz")]) == 0
    monkeypatch.delenv("JIKJI_DATABASE__URL")  # Settings() reads the environment too
    again = Settings(data_dir=tmp_path / "sqlite-again", embedding=EmbeddingSettings(model="hashing"))
    point_cli_at(again, monkeypatch)
    assert cli_main(["restore", str(tmp_path / "from-postgres.tar.gz")]) == 0
    assert _results_and_counts(again, kiwi, scopes)[0] == before
