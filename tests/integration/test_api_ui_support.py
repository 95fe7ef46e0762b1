"""API pieces the browser UI needs (issue 18): the first-run hint, duplicate uploads, titles, renaming.

On SQLite and on PostgreSQL, through the real app (FastAPI TestClient) over the test container.
"""

from __future__ import annotations

import pytest
from sqlalchemy import update

from core.models import User
from core.settings import JobSettings, Settings
from tests.api_harness import ApiHarness
from tests.integration.test_api_documents import ingest_over_http, upload, wait_for_job


@pytest.fixture
def settings(settings_on_each_database: Settings) -> Settings:
    """These tests run on SQLite and on PostgreSQL, with a fast-polling embedded worker."""
    return settings_on_each_database.model_copy(update={"jobs": JobSettings(poll_interval_s=0.05)})


def test_setup_status_says_only_whether_an_active_admin_exists(api: ApiHarness) -> None:
    response = api.client.get("/api/v1/auth/setup")  # no credentials: the sign-in page asks
    assert response.status_code == 200
    assert response.json() == {"needs_admin": True}
    api.user("kim")
    assert api.client.get("/api/v1/auth/setup").json() == {"needs_admin": True}, "an employee is no admin"
    api.admin()
    assert api.client.get("/api/v1/auth/setup").json() == {"needs_admin": False}
    with api.container.sessions.begin() as session:
        session.execute(update(User).where(User.role == "admin").values(is_active=False))
    assert api.client.get("/api/v1/auth/setup").json() == {"needs_admin": True}


# --- identical content at upload (item 3) ------------------------------------------------------------

RULES = "# 출장 정산 안내\n\n제3조(정산) 출장비는 복귀 후 7일 이내에 정산한다.\n".encode()
OTHER = "# 주차 안내\n\n제1조(주차) 방문객 주차는 2시간까지 무료로 한다.\n".encode()


def test_an_identical_upload_is_recognised_and_can_become_a_new_version(api: ApiHarness) -> None:
    admin = api.admin()
    [first] = ingest_over_http(api, admin, ("출장_정산.md", RULES), groups="인사팀")
    jobs_before = len(api.client.get("/api/v1/jobs", headers=admin).json()["items"])

    again = upload(api, admin, ("출장_정산(1).md", RULES), ("주차.md", OTHER), groups="인사팀")
    assert again.status_code == 409, again.text
    body = again.json()
    assert body["code"] == "duplicate_content" and "출장_정산(1).md" in body["message_ko"]
    assert [(d["filename"], d["document"]["id"]) for d in body["duplicates"]] == [("출장_정산(1).md", first)]
    assert [g["name"] for g in body["duplicates"][0]["document"]["groups"]] == ["인사팀"]
    assert len(api.client.get("/api/v1/jobs", headers=admin).json()["items"]) == jobs_before, "nothing queued"

    form = {"groups": "", "is_public": "true", "duplicates": "new_version"}
    parts = [
        ("files", ("출장_정산(1).md", RULES, "text/markdown")),
        ("files", ("주차.md", OTHER, "text/markdown")),
    ]
    response = api.client.post("/api/v1/documents", files=parts, data=form, headers=admin)
    assert response.status_code == 202, response.text
    jobs = [wait_for_job(api, admin, job["id"]) for job in response.json()["jobs"]]
    assert [job["status"] for job in jobs] == ["succeeded", "succeeded"]
    assert jobs[0]["document_id"] == first, "the identical file is a new version of the same document"
    assert jobs[1]["document_id"] != first
    detail = api.client.get(f"/api/v1/documents/{first}", headers=admin).json()
    assert detail["version_number"] == 2
    assert detail["is_public"] is False and [g["name"] for g in detail["groups"]] == ["인사팀"], "groups kept"
    assert api.client.get("/api/v1/documents", headers=admin).json()["total"] == 2


def test_a_document_the_uploader_may_not_see_is_not_revealed(api: ApiHarness) -> None:
    admin = api.admin()
    ingest_over_http(api, admin, ("출장_정산.md", RULES), groups="인사팀")
    sales = api.group("영업팀")
    writer = api.key(admin, ["documents:read", "documents:write"], group_ids=[sales])
    response = upload(api, writer, ("출장_정산.md", RULES), groups="영업팀")
    assert response.status_code == 202, response.text  # a new document: the 인사팀 one stays unknown


def test_an_unknown_duplicates_mode_is_422(api: ApiHarness) -> None:
    admin = api.admin()
    parts = [("files", ("a.md", RULES, "text/markdown"))]
    response = api.client.post("/api/v1/documents", files=parts, data={"duplicates": "merge"}, headers=admin)
    assert response.status_code == 422


# --- titles and renaming (item 4) ----------------------------------------------------------------

ROOMS = "[회의실 예약 및 이용 안내]\n\n작성: 총무팀\n\n1. 회의실 현황\n\n서울 본사에는 회의실이 12개 있다.\n".encode()


def test_titles_skip_numbered_lines_and_an_admin_rename_survives_new_versions(api: ApiHarness) -> None:
    admin = api.admin()
    [rooms] = ingest_over_http(api, admin, ("회의실_안내.txt", ROOMS), public=True)
    [plain] = ingest_over_http(
        api, admin, ("메모.txt", "1. 회의실 현황\n\n회의실은 12개다.\n".encode()), public=True
    )
    titles = {d["id"]: d["title"] for d in api.client.get("/api/v1/documents", headers=admin).json()["items"]}
    assert titles == {rooms: "회의실 예약 및 이용 안내", plain: "메모"}

    employee = api.user("kim")
    assert (
        api.client.patch(f"/api/v1/documents/{plain}", json={"title": "x"}, headers=employee).status_code
        == 403
    )
    assert (
        api.client.patch(f"/api/v1/documents/{plain}", json={"title": " "}, headers=admin).status_code == 422
    )
    renamed = api.client.patch(f"/api/v1/documents/{plain}", json={"title": "  회의실  메모 "}, headers=admin)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["title"] == "회의실 메모"
    hits = api.client.post("/api/v1/search", json={"query": "회의실 12개", "k": 5}, headers=employee).json()
    assert "회의실 메모" in {h["title"] for h in hits["results"]}, "search shows the new title at once"

    job = api.client.post(f"/api/v1/documents/{plain}/reingest", headers=admin).json()["job"]
    assert wait_for_job(api, admin, job["id"])["status"] == "succeeded"
    assert api.client.get(f"/api/v1/documents/{plain}", headers=admin).json()["title"] == "회의실 메모"
    missing = api.client.patch("/api/v1/documents/nope", json={"title": "x"}, headers=admin)
    assert missing.status_code == 404
