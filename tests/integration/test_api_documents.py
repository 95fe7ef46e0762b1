"""``/api/v1/documents`` over HTTP: real multipart uploads, the embedded worker, SQL, Chroma and BM25."""

from __future__ import annotations

import time
import unicodedata
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from core.models import AuditEvent, Chunk, Document, DocumentVersion, IngestionJob
from core.settings import (
    ApiSettings,
    DatabaseSettings,
    DownloadPolicy,
    EmbeddingSettings,
    IngestSettings,
    JobSettings,
    PiiMode,
    Settings,
)
from tests.api_harness import ApiHarness
from tests.support.paths import HWPX_FIXTURES, SAMPLES_DIR

pytestmark = pytest.mark.integration

MAX_FILE_BYTES = 200_000
MAX_FILES = 3
MD = SAMPLES_DIR / "복리후생_안내.md"
PDF = SAMPLES_DIR / "재택근무규정.pdf"
HWPX = HWPX_FIXTURES / "ChangeTrack.hwpx"
HR, SALES = "인사팀", "영업팀"


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    """Small upload limits (so 413 is cheap to provoke) and a fast-polling embedded worker."""
    return Settings(
        data_dir=tmp_path / "data",
        embedding=EmbeddingSettings(model="hashing"),
        database=DatabaseSettings(url=database_url),
        ingest=IngestSettings(max_file_bytes=MAX_FILE_BYTES),
        api=ApiSettings(max_upload_files=MAX_FILES),
        jobs=JobSettings(poll_interval_s=0.05),
    )


# --- helpers (also used by test_api_jobs) ----------------------------------------------------------

FileSpec = Path | tuple[str, bytes]


def upload(
    api: ApiHarness, headers: dict[str, str], *files: FileSpec, groups: str = "", public: bool = False
) -> Any:
    """POST the files as one multipart request."""
    parts = []
    for spec in files:
        name, data = (spec.name, spec.read_bytes()) if isinstance(spec, Path) else spec
        parts.append(("files", (name, data, "application/octet-stream")))
    form = {"groups": groups, "is_public": "true" if public else "false"}
    return api.client.post("/api/v1/documents", files=parts, data=form, headers=headers)


def wait_for_job(
    api: ApiHarness, headers: dict[str, str], job_id: str, timeout: float = 120, interval: float = 0.1
) -> dict[str, Any]:
    """Poll ``GET /api/v1/jobs/{id}`` every ``interval`` seconds until the embedded worker has finished
    the job."""
    deadline = time.monotonic() + timeout
    while True:
        response = api.client.get(f"/api/v1/jobs/{job_id}", headers=headers)
        assert response.status_code == 200, response.text
        job = response.json()
        if job["status"] in {"succeeded", "failed"}:
            return job
        assert time.monotonic() < deadline, f"job still {job['status']} after {timeout}s"
        time.sleep(interval)


def ingest_over_http(
    api: ApiHarness, admin: dict[str, str], *files: FileSpec, groups: str = "", public: bool = False
) -> list[str]:
    """Create the groups, upload, wait for every job to succeed; the document ids in upload order."""
    for name in filter(None, (n.strip() for n in groups.split(","))):
        api.group(name)
    response = upload(api, admin, *files, groups=groups, public=public)
    assert response.status_code == 202, response.text
    jobs = [wait_for_job(api, admin, job["id"]) for job in response.json()["jobs"]]
    assert all(job["status"] == "succeeded" for job in jobs), jobs
    return [job["document_id"] for job in jobs]


def search_documents(api: ApiHarness, headers: dict[str, str], query: str) -> dict[str, dict[str, Any]]:
    """Document id → best hit of a search."""
    response = api.client.post("/api/v1/search", json={"query": query, "k": 10}, headers=headers)
    assert response.status_code == 200, response.text
    hits: dict[str, dict[str, Any]] = {}
    for hit in response.json()["results"]:
        hits.setdefault(hit["document_id"], hit)
    return hits


def user_id(api: ApiHarness, headers: dict[str, str]) -> str:
    """The id of the caller of ``headers``."""
    return str(api.client.get("/api/v1/auth/me", headers=headers).json()["user"]["id"])


def audit_actions(api: ApiHarness, target_id: str) -> list[str]:
    """Audit actions recorded against ``target_id``, oldest first."""
    with api.container.sessions() as session:
        rows = session.scalars(
            select(AuditEvent.action).where(AuditEvent.target_id == target_id).order_by(AuditEvent.at)
        )
        return list(rows)


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """A problem+json error with both messages."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["message_ko"] and body["message_en"]
    return body


# --- upload, ingestion and visibility ---------------------------------------------------------------


def test_uploaded_md_pdf_hwpx_are_searchable_by_their_group_only(api: ApiHarness) -> None:
    admin = api.admin()
    hr = api.user("hr-kim", groups=[HR])
    sales = api.user("sales-lee", groups=[SALES])
    api.group(SALES)

    response = upload(api, admin, MD, PDF, HWPX, groups=HR)
    assert response.status_code == 202, response.text
    queued = response.json()["jobs"]
    assert [j["filename"] for j in queued] == [MD.name, PDF.name, HWPX.name]
    assert {j["status"] for j in queued} <= {"queued", "running"}
    jobs = [wait_for_job(api, admin, j["id"]) for j in queued]
    assert [j["status"] for j in jobs] == ["succeeded"] * 3, jobs
    assert all(j["progress"] == 1.0 and j["stage"] == "added" and j["finished_at"] for j in jobs)
    md_id, pdf_id, hwpx_id = (j["document_id"] for j in jobs)

    for query, document_id in [
        ("경조사비 지급", md_id),
        ("재택근무 신청", pdf_id),
        ("변경 추적 인간은", hwpx_id),
    ]:
        assert document_id in search_documents(api, hr, query), query
        assert document_id not in search_documents(api, sales, query), query

    listed = api.client.get("/api/v1/documents", headers=hr).json()
    assert listed["total"] == 3
    by_id = {d["id"]: d for d in listed["items"]}
    assert {by_id[i]["format"] for i in (md_id, pdf_id, hwpx_id)} == {"markdown", "pdf", "hwpx"}
    md = by_id[md_id]
    assert md["display_name"] == MD.name
    assert md["groups"] == [{"id": api.group(HR), "name": HR}]
    assert md["is_public"] is False
    assert md["uploaded_by"] == user_id(api, admin)
    assert md["status"] == "ready"
    assert md["version_number"] == 1
    assert md["chunk_count"] > 0
    assert md["size_bytes"] == MD.stat().st_size
    assert api.client.get("/api/v1/documents", headers=sales).json() == {"total": 0, "items": []}
    for job in jobs:
        assert audit_actions(api, job["id"]) == ["document.upload"]


def test_display_names_are_nfc_and_never_paths(api: ApiHarness) -> None:
    admin = api.admin()
    nfd = unicodedata.normalize("NFD", "경조사_안내.md")
    text = "# 경조사 안내\n\n결혼 경조금은 100만원이다.\n".encode()
    response = upload(api, admin, (nfd, text), ("../../etc/비밀/../규정.md", text + b"\n2"), public=True)
    assert response.status_code == 202, response.text
    names = [job["filename"] for job in response.json()["jobs"]]
    assert names == ["경조사_안내.md", "규정.md"]
    assert unicodedata.is_normalized("NFC", names[0])
    ids = [wait_for_job(api, admin, job["id"])["document_id"] for job in response.json()["jobs"]]
    detail = api.client.get(f"/api/v1/documents/{ids[0]}", headers=admin).json()
    assert detail["display_name"] == "경조사_안내.md"
    assert detail["is_public"] is True


def test_a_document_of_another_group_answers_like_a_missing_one(api: ApiHarness) -> None:
    admin = api.admin()
    sales = api.user("sales-lee", groups=[SALES])
    (document_id,) = ingest_over_http(api, admin, MD, groups=HR)
    # An admin key narrowed to the sales group holds documents:write but may not see HR's document.
    narrowed = api.key(admin, ["documents:read", "documents:write"], group_ids=[api.group(SALES)])

    missing = api.client.get("/api/v1/documents/0123456789abcdef0123456789abcdef", headers=sales)
    expected = assert_problem(missing, 404, "not_found")
    for headers in (sales, narrowed):
        for method, path in [("GET", ""), ("GET", "/download")]:
            response = api.client.request(method, f"/api/v1/documents/{document_id}{path}", headers=headers)
            assert assert_problem(response, 404, "not_found") == expected
        assert api.client.get("/api/v1/documents", headers=headers).json()["total"] == 0
        filtered = api.client.get(f"/api/v1/documents?group={HR}&q=복리", headers=headers).json()
        assert filtered == {"total": 0, "items": []}
    writes = [
        ("PUT", "/groups", {"groups": [SALES], "is_public": True}),
        ("POST", "/reingest", None),
        ("DELETE", "", None),
    ]
    for method, path, body in writes:
        url = f"/api/v1/documents/{document_id}{path}"
        response = api.client.request(method, url, json=body, headers=narrowed)
        assert assert_problem(response, 404, "not_found") == expected
        assert_problem(api.client.request(method, url, json=body, headers=sales), 403, "insufficient_scope")
    # Nothing changed, and the document is still whole.
    document = api.client.get(f"/api/v1/documents/{document_id}", headers=admin).json()
    assert document["groups"] == [{"id": api.group(HR), "name": HR}]
    assert document["is_public"] is False


def test_without_groups_or_public_only_admins_see_it(api: ApiHarness) -> None:
    admin = api.admin()
    hr = api.user("hr-kim", groups=[HR])
    (document_id,) = ingest_over_http(api, admin, MD)
    assert api.client.get(f"/api/v1/documents/{document_id}", headers=admin).status_code == 200
    assert api.client.get(f"/api/v1/documents/{document_id}", headers=hr).status_code == 404
    assert document_id not in search_documents(api, hr, "경조사비 지급")
    assert document_id in search_documents(api, admin, "경조사비 지급")


# --- download --------------------------------------------------------------------------------------


def test_download_sends_the_exact_original_as_an_attachment(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api.container.settings.ingest, "download_policy", DownloadPolicy.ORIGINAL)
    admin = api.admin()
    hr = api.user("hr-kim", groups=[HR])
    md_id, pdf_id = ingest_over_http(api, admin, MD, PDF, groups=HR)

    response = api.client.get(f"/api/v1/documents/{md_id}/download", headers=hr)
    assert response.status_code == 200
    assert response.content == MD.read_bytes()
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["x-content-type-options"] == "nosniff"
    disposition = response.headers["content-disposition"]
    assert disposition == (
        f"attachment; filename=\"document.md\"; filename*=UTF-8''{quote(MD.name, safe='')}"
    )
    assert "no-store" in response.headers["cache-control"]

    response = api.client.get(f"/api/v1/documents/{pdf_id}/download", headers=hr)
    assert response.content == PDF.read_bytes()
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert audit_actions(api, md_id) == ["document.download"]


def test_a_large_original_streams_whole_even_if_a_new_version_replaces_it(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.api.documents.DOWNLOAD_CHUNK_BYTES", 4096)  # many pieces under the upload cap
    admin = api.admin()
    line = "제1조(목적) 이 규정은 대용량 원본 내려받기를 시험한다. 0123456789\n"
    first = "# 대용량 규정\n\n" + line * 1_500  # ~150 KB
    document_id = api.ingest(first, "대용량.md")
    response = api.client.get(f"/api/v1/documents/{document_id}/download", headers=admin)
    assert response.content == first.encode()
    assert response.headers["content-length"] == str(len(first.encode()))

    from app.services.accounts import resolve_bearer
    from app.services.documents import read_original

    with api.container.sessions() as session:
        principal = resolve_bearer(session, admin["Authorization"].removeprefix("Bearer "))
        assert principal is not None
        original = read_original(session, api.container.originals, principal, document_id)
        session.commit()
    with original.handle:
        assert api.ingest(first + "(개정)\n", "대용량.md") == document_id  # a new version
        with api.container.sessions() as session:
            assert session.scalar(select(func.count()).select_from(DocumentVersion)) == 2
        assert len(api.container.originals.all_keys()) == 1, "the first original was deleted"
        assert original.handle.read() == first.encode(), "the opened original outlived its replacement"


def test_html_is_never_served_as_html(api: ApiHarness) -> None:
    admin = api.admin()
    html = b"<!doctype html><html><head><title>Notice</title></head><body><p>Script test notice</p></body></html>"
    (document_id,) = ingest_over_http(api, admin, ("notice (draft).html", html))
    response = api.client.get(f"/api/v1/documents/{document_id}/download", headers=admin)
    assert response.content == html
    assert response.headers["content-type"] == "application/octet-stream"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="notice__draft.html"; ')
    assert disposition.endswith("filename*=UTF-8''notice%20%28draft%29.html")


# --- download policy (ingest.download_policy) -------------------------------------------------------

CONTACTS = (
    "# 비상연락망\n\n"
    "인사팀 김민준 과장: 휴대전화 010-2345-6789, 주민등록번호 900101-1234567, minjun.kim@example.co.kr\n\n"
    "야간 당직은 총무팀이 맡는다.\n"
).encode()


def test_employees_get_a_masked_text_export_admins_the_original(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PII detection off at ingestion: the indexed text holds the raw numbers, the export still masks them.
    monkeypatch.setattr(api.container.settings.ingest, "pii_mode", PiiMode.OFF)
    assert api.container.settings.ingest.download_policy is DownloadPolicy.MASKED  # the default
    admin = api.user("admin", role="admin", groups=[HR])
    hr = api.user("hr-kim", groups=[HR])
    (document_id,) = ingest_over_http(api, admin, ("비상연락망.md", CONTACTS), groups=HR)

    response = api.client.get(f"/api/v1/documents/{document_id}/download", headers=hr)
    assert response.status_code == 200, response.text
    assert response.headers["x-jikji-download"] == "masked"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-disposition"].endswith(
        "filename*=UTF-8''" + quote("비상연락망.masked.txt", safe="")
    )
    text = response.content.decode("utf-8-sig")
    for secret in ("010-2345-6789", "900101-1234567", "minjun.kim@example.co.kr"):
        assert secret not in text
    assert "[전화번호]" in text and "[주민등록번호]" in text and "[이메일]" in text
    assert "야간 당직은 총무팀이 맡는다." in text
    assert response.headers["content-length"] == str(len(response.content))

    key = api.key(admin, ["documents:read", "admin"], group_ids=[api.group(HR)])  # narrowed: not an admin
    assert (
        api.client.get(f"/api/v1/documents/{document_id}/download", headers=key).headers["x-jikji-download"]
        == "masked"
    )

    response = api.client.get(f"/api/v1/documents/{document_id}/download", headers=admin)
    assert (response.headers["x-jikji-download"], response.content) == ("original", CONTACTS)
    detail = {
        who: api.client.get(f"/api/v1/documents/{document_id}", headers=h).json()
        for who, h in [("hr", hr), ("admin", admin)]
    }
    assert (detail["hr"]["download"], detail["admin"]["download"]) == ("masked", "original")
    assert audit_actions(api, document_id)[-3:] == ["document.download"] * 3


def test_the_masked_export_reads_a_split_text_once(api: ApiHarness) -> None:
    sentences = [f"문장 {n:04d}번은 재택근무 신청 절차의 한 단계를 설명한다." for n in range(120)]
    api.user("hr-kim", groups=[HR])
    document_id = api.ingest("# 긴 규정\n\n" + " ".join(sentences), "긴규정.md", groups=[HR])
    with api.container.sessions() as session:
        pieces = session.scalar(select(func.count()).where(Chunk.document_id == document_id))
    assert pieces and pieces > 2, "the text must be split, with overlap, for this test"
    hr = api.login("hr-kim")
    text = api.client.get(f"/api/v1/documents/{document_id}/download", headers=hr).content.decode("utf-8-sig")
    for n in range(120):
        assert text.count(f"문장 {n:04d}번") == 1, n


def test_deny_policy_refuses_employees_but_not_admins(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api.container.settings.ingest, "download_policy", DownloadPolicy.DENY)
    admin = api.admin()
    hr = api.user("hr-kim", groups=[HR])
    sales = api.user("sales-lee", groups=[SALES])
    (document_id,) = ingest_over_http(api, admin, ("비상연락망.md", CONTACTS), groups=HR)

    response = api.client.get(f"/api/v1/documents/{document_id}/download", headers=hr)
    assert_problem(response, 403, "download_forbidden")
    assert api.client.get(f"/api/v1/documents/{document_id}", headers=hr).json()["download"] == "denied"
    response = api.client.get(f"/api/v1/documents/{document_id}/download", headers=sales)
    assert_problem(response, 404, "not_found")  # invisible stays indistinguishable from missing
    response = api.client.get(f"/api/v1/documents/{document_id}/download", headers=admin)
    assert (response.status_code, response.content) == (200, CONTACTS)


def test_an_uploaded_name_loses_its_right_to_left_override(api: ApiHarness) -> None:
    admin = api.admin()
    (document_id,) = ingest_over_http(api, admin, ("급여명세\u202eslx.md", "# 급여\n\n본문".encode()))
    detail = api.client.get(f"/api/v1/documents/{document_id}", headers=admin).json()
    assert detail["display_name"] == "급여명세slx.md"
    download = api.client.get(f"/api/v1/documents/{document_id}/download", headers=admin)
    assert download.headers["content-disposition"].endswith("''" + quote("급여명세slx.md", safe=""))


# --- changing who may see it -------------------------------------------------------------------------


def test_changing_groups_takes_effect_in_search_at_once(api: ApiHarness) -> None:
    admin = api.admin()
    hr = api.user("hr-kim", groups=[HR])
    sales = api.user("sales-lee", groups=[SALES])
    loner = api.user("loner")
    (document_id,) = ingest_over_http(api, admin, MD, groups=HR)
    query = "경조사비 지급"
    assert document_id in search_documents(api, hr, query)
    assert document_id not in search_documents(api, sales, query)  # caches sales' visibility

    response = api.client.put(
        f"/api/v1/documents/{document_id}/groups", json={"groups": [SALES], "is_public": False}, headers=admin
    )
    assert response.status_code == 200, response.text
    assert response.json()["groups"] == [{"id": api.group(SALES), "name": SALES}]
    # At once, in both legs: the granted group's hits carry a BM25 and a dense score.
    hit = search_documents(api, sales, query).get(document_id)
    assert hit is not None
    assert hit["lexical_score"] > 0 and hit["dense_score"] > 0
    assert document_id not in search_documents(api, hr, query)
    assert api.client.get(f"/api/v1/documents/{document_id}", headers=hr).status_code == 404
    assert api.client.get(f"/api/v1/documents/{document_id}", headers=sales).status_code == 200

    # ACL lives in SQL only: Chroma's vectors carry no permission that could go stale.
    collection = api.container.index.vectors._collection
    stored = collection.get(where={"document_id": document_id}, include=["metadatas"])
    assert stored["ids"]
    assert all(set(meta) == {"document_id", "version_id"} for meta in stored["metadatas"])

    api.client.put(
        f"/api/v1/documents/{document_id}/groups", json={"groups": [], "is_public": True}, headers=admin
    )
    assert document_id in search_documents(api, loner, query)
    api.client.put(
        f"/api/v1/documents/{document_id}/groups", json={"groups": [], "is_public": False}, headers=admin
    )
    for headers in (hr, sales, loner):
        assert document_id not in search_documents(api, headers, query)
    assert document_id in search_documents(api, admin, query)
    assert audit_actions(api, document_id).count("document.groups") == 3


def test_changing_groups_to_an_unknown_group_changes_nothing(api: ApiHarness) -> None:
    admin = api.admin()
    (document_id,) = ingest_over_http(api, admin, MD, groups=HR)
    response = api.client.put(
        f"/api/v1/documents/{document_id}/groups",
        json={"groups": [SALES, "없는팀"], "is_public": True},
        headers=admin,
    )
    body = assert_problem(response, 422, "invalid_request")
    assert "없는팀" in body["message_ko"] and "없는팀" in body["message_en"]
    document = api.client.get(f"/api/v1/documents/{document_id}", headers=admin).json()
    assert [g["name"] for g in document["groups"]] == [HR]
    assert document["is_public"] is False
    missing_flag = api.client.put(
        f"/api/v1/documents/{document_id}/groups", json={"groups": []}, headers=admin
    )
    assert_problem(missing_flag, 422, "invalid_request")


# --- delete and re-ingest ------------------------------------------------------------------------------


def _stored_counts(api: ApiHarness, document_id: str) -> dict[str, int]:
    container = api.container
    container.index.refresh()
    with container.sessions() as session:
        chunks = session.scalar(
            select(func.count()).select_from(Chunk).where(Chunk.document_id == document_id)
        )
        versions = session.scalar(
            select(func.count())
            .select_from(DocumentVersion)
            .where(DocumentVersion.document_id == document_id)
        )
        documents = session.scalar(
            select(func.count()).select_from(Document).where(Document.id == document_id)
        )
    vectors = container.index.vectors._collection.get(where={"document_id": document_id}, include=[])
    lexical = container.index.lexical
    return {
        "documents": documents or 0,
        "versions": versions or 0,
        "chunks": chunks or 0,
        "vectors": len(vectors["ids"]),
        "bm25": sum(1 for chunk_id in lexical.ids if lexical.document_of(chunk_id) == document_id),
    }


def _file_keys(api: ApiHarness, document_id: str) -> list[str]:
    with api.container.sessions() as session:
        return list(
            session.scalars(
                select(DocumentVersion.file_key).where(DocumentVersion.document_id == document_id)
            )
        )


def test_delete_removes_original_rows_vectors_and_bm25_entries(api: ApiHarness) -> None:
    admin = api.admin()
    hr = api.user("hr-kim", groups=[HR])
    keep_id, gone_id = ingest_over_http(api, admin, PDF, MD, groups=HR)
    before = _stored_counts(api, gone_id)
    assert before["documents"] == 1 and before["versions"] == 1
    assert before["chunks"] > 0 and before["vectors"] == before["chunks"] == before["bm25"]
    (file_key,) = _file_keys(api, gone_id)
    assert api.container.originals.exists(file_key)

    assert api.client.delete(f"/api/v1/documents/{gone_id}", headers=admin).status_code == 204

    assert _stored_counts(api, gone_id) == dict.fromkeys(before, 0)
    assert not api.container.originals.exists(file_key)
    assert _stored_counts(api, keep_id)["chunks"] > 0
    assert gone_id not in search_documents(api, hr, "경조사비 지급")
    assert api.client.get(f"/api/v1/documents/{gone_id}", headers=admin).status_code == 404
    assert_problem(api.client.delete(f"/api/v1/documents/{gone_id}", headers=admin), 404, "not_found")
    assert api.client.get("/api/v1/documents", headers=hr).json()["total"] == 1
    assert "document.delete" in audit_actions(api, gone_id)


def test_reingest_makes_a_new_version_and_jobs_in_flight_block_changes(api: ApiHarness) -> None:
    admin = api.admin()
    hr = api.user("hr-kim", groups=[HR])
    (document_id,) = ingest_over_http(api, admin, MD, groups=HR)
    (old_key,) = _file_keys(api, document_id)
    chunks_before = _stored_counts(api, document_id)["chunks"]

    # A job that is still running on the document blocks re-ingestion and deletion.
    with api.container.sessions.begin() as session:
        busy = IngestionJob(filename=MD.name, document_id=document_id, status="running", stage="parsing")
        session.add(busy)
    listed = api.client.get("/api/v1/documents?status=processing", headers=hr).json()
    assert [d["id"] for d in listed["items"]] == [document_id]
    for method, path in [("POST", "/reingest"), ("DELETE", "")]:
        response = api.client.request(method, f"/api/v1/documents/{document_id}{path}", headers=admin)
        assert_problem(response, 409, "conflict")
    with api.container.sessions.begin() as session:
        session.get_one(IngestionJob, busy.id).status = "failed"
    assert api.client.get(f"/api/v1/documents/{document_id}", headers=hr).json()["status"] == "failed"

    response = api.client.post(f"/api/v1/documents/{document_id}/reingest", headers=admin)
    assert response.status_code == 202, response.text
    job = response.json()["job"]
    assert job["document_id"] == document_id
    assert job["filename"] == MD.name
    done = wait_for_job(api, admin, job["id"])
    assert done["status"] == "succeeded" and done["stage"] == "updated"

    detail = api.client.get(f"/api/v1/documents/{document_id}", headers=hr).json()
    assert detail["version_number"] == 2
    assert detail["status"] == "ready"
    assert [(v["number"], v["is_current"]) for v in detail["versions"]] == [(2, True), (1, False)]
    counts = _stored_counts(api, document_id)
    assert counts["chunks"] == counts["vectors"] == counts["bm25"] == chunks_before
    assert not api.container.originals.exists(old_key)
    download = api.client.get(f"/api/v1/documents/{document_id}/download", headers=admin)
    assert download.content == MD.read_bytes()
    assert list(search_documents(api, hr, "경조사비 지급")) == [document_id]
    assert "document.reingest" in audit_actions(api, document_id)


# --- listing -----------------------------------------------------------------------------------------


def test_list_filters_only_narrow_and_page(api: ApiHarness) -> None:
    admin = api.admin()
    hr = api.user("hr-kim", groups=[HR])
    md_id, pdf_id = ingest_over_http(api, admin, MD, PDF, groups=f"{HR}, {SALES}")
    api.group(SALES)
    (sales_only,) = ingest_over_http(api, admin, HWPX, groups=SALES)

    def ids(headers: dict[str, str], query: str = "") -> tuple[int, list[str]]:
        body = api.client.get(f"/api/v1/documents{query}", headers=headers).json()
        return body["total"], [d["id"] for d in body["items"]]

    assert ids(admin)[0] == 3
    assert ids(hr)[0] == 2
    total, shared_with_sales = ids(hr, f"?group={SALES}")
    assert total == 2 and set(shared_with_sales) == {md_id, pdf_id}  # never sales_only
    assert ids(admin, f"?group={SALES}")[0] == 3
    assert ids(hr, "?q=복리후생") == (1, [md_id])
    assert ids(hr, "?q=재택") == (1, [pdf_id])
    assert ids(hr, "?format=pdf") == (1, [pdf_id])
    assert ids(hr, "?format=hwpx") == (0, [])
    assert ids(admin, "?format=hwpx") == (1, [sales_only])
    assert ids(hr, "?status=ready")[0] == 2
    assert ids(hr, "?status=failed") == (0, [])
    assert ids(hr, "?q=%25") == (0, [])  # a LIKE wildcard is matched literally
    first, second = ids(admin, "?limit=1&offset=0"), ids(admin, "?limit=1&offset=1")
    assert first[0] == second[0] == 3
    assert len(first[1]) == len(second[1]) == 1 and first[1] != second[1]
    assert_problem(api.client.get("/api/v1/documents?limit=0", headers=hr), 422, "invalid_request")
    assert_problem(api.client.get("/api/v1/documents?status=gone", headers=hr), 422, "invalid_request")


# --- rejected uploads and access ---------------------------------------------------------------------


def test_bad_files_fail_with_readable_errors(api: ApiHarness) -> None:
    admin = api.admin()
    response = upload(
        api, admin, ("보고서.pdf", b"%PDF-1.4\nthis is not really a pdf"), ("tool.exe", b"MZ\x90\x00")
    )
    assert response.status_code == 202, response.text
    for queued in response.json()["jobs"]:
        job = wait_for_job(api, admin, queued["id"])
        assert job["status"] == "failed"
        assert job["error_code"] and job["error_ko"] and job["error_en"]
        assert job["document_id"] is None
    assert api.client.get("/api/v1/documents", headers=admin).json()["total"] == 0


def test_invalid_uploads_are_refused_before_anything_is_queued(api: ApiHarness) -> None:
    admin = api.admin()
    api.group(HR)
    small = ("a.md", b"# a\n\ntext")
    body = assert_problem(upload(api, admin, small, ("빈파일.md", b"")), 422, "empty_file")
    assert "빈파일.md" in body["message_ko"] and "empty" in body["message_en"]
    assert_problem(upload(api, admin, small, small, small, small), 422, "too_many_files")
    body = assert_problem(upload(api, admin, small, groups=f"{HR},없는팀"), 422, "invalid_request")
    assert "없는팀" in body["message_ko"]
    assert_problem(
        api.client.post("/api/v1/documents", data={"groups": HR}, headers=admin), 422, "invalid_request"
    )
    big = ("큰파일.md", b"a" * (MAX_FILE_BYTES + 1))
    assert_problem(upload(api, admin, big), 413, "file_too_large")
    huge = ("huge.md", b"a" * (MAX_FILE_BYTES * MAX_FILES + 1))
    assert_problem(upload(api, admin, huge), 413, "body_too_large")
    with api.container.sessions() as session:
        assert session.scalar(select(func.count()).select_from(IngestionJob)) == 0


def test_authentication_and_scopes(api: ApiHarness) -> None:
    admin = api.admin()
    hr = api.user("hr-kim", groups=[HR])
    (document_id,) = ingest_over_http(api, admin, MD, groups=HR)
    requests = [
        ("GET", "/api/v1/documents"),
        ("GET", f"/api/v1/documents/{document_id}"),
        ("GET", f"/api/v1/documents/{document_id}/download"),
        ("PUT", f"/api/v1/documents/{document_id}/groups"),
        ("POST", f"/api/v1/documents/{document_id}/reingest"),
        ("DELETE", f"/api/v1/documents/{document_id}"),
    ]
    for method, path in requests:
        assert_problem(api.client.request(method, path), 401, "unauthenticated")
    assert_problem(upload(api, {}, MD), 401, "unauthenticated")
    assert_problem(upload(api, hr, MD, groups=HR), 403, "insufficient_scope")
    reader_key = api.key(admin, ["documents:read"])
    assert_problem(upload(api, reader_key, MD), 403, "insufficient_scope")
    # A documents:read key of an admin acts without the admin scope: it sees what its groups see.
    assert api.client.get(f"/api/v1/documents/{document_id}", headers=reader_key).status_code == 404
    hr_reader = api.key(hr, ["documents:read"])
    assert api.client.get(f"/api/v1/documents/{document_id}", headers=hr_reader).status_code == 200
    search_key = api.key(hr, ["search"])
    assert_problem(api.client.get("/api/v1/documents", headers=search_key), 403, "insufficient_scope")
