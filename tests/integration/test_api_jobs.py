"""``/api/v1/jobs`` over HTTP: admins see every job; others only their own, never another group's document."""

from __future__ import annotations

import pytest

from tests.api_harness import ApiHarness
from tests.integration.test_api_documents import (
    HR,
    MD,
    SALES,
    assert_problem,
    settings,  # noqa: F401  (the same small limits and fast worker)
    upload,
    user_id,
    wait_for_job,
)

pytestmark = pytest.mark.integration

NOTE = "# 공지\n\n사내 식당은 12시에 연다.\n".encode()


def _enqueue_as(api: ApiHarness, owner: str, data: bytes, name: str, groups: tuple[str, ...] = ()) -> str:
    """Queue a job created by ``owner`` (employees cannot upload over HTTP; other tools can)."""
    group_ids = tuple(api.group(group) for group in groups)
    return api.container.jobs.enqueue(
        data, name, source_key=f"test:{name}", group_ids=group_ids, created_by=owner
    )


def test_a_job_reports_status_progress_and_times(api: ApiHarness) -> None:
    admin = api.admin()
    api.group(HR)
    queued = upload(api, admin, MD, groups=HR).json()["jobs"][0]
    assert queued["progress"] < 1 and queued["created_by"] == user_id(api, admin)
    job = wait_for_job(api, admin, queued["id"])
    assert job["status"] == "succeeded"
    assert job["progress"] == 1.0
    assert job["attempts"] == 1
    assert job["error_code"] is job["error_ko"] is job["error_en"] is None
    assert job["created_at"] <= job["started_at"] <= job["finished_at"]
    assert set(job) == {
        "id", "filename", "status", "progress", "stage", "error_code", "error_ko", "error_en",
        "attempts", "document_id", "created_by", "created_at", "started_at", "finished_at",
    }  # fmt: skip
    assert api.client.get(f"/api/v1/documents/{job['document_id']}", headers=admin).status_code == 200


def test_employees_see_only_their_own_jobs_on_documents_they_may_see(api: ApiHarness) -> None:
    admin = api.admin()
    sales = api.user("sales-lee", groups=[SALES])
    other = api.user("sales-park", groups=[SALES])
    sales_id = user_id(api, sales)
    api.group(HR)
    admin_job = upload(api, admin, MD, groups=HR).json()["jobs"][0]["id"]
    own_visible = _enqueue_as(api, sales_id, NOTE, "공지.md", (SALES,))
    own_hidden = _enqueue_as(api, sales_id, NOTE + b"\n2", "인사공지.md", (HR,))
    own_failed = _enqueue_as(api, sales_id, b"\x00\x01 not a document", "깨진.hwp")
    for job_id in (admin_job, own_visible, own_hidden, own_failed):
        wait_for_job(api, admin, job_id)

    listed = api.client.get("/api/v1/jobs", headers=sales).json()
    assert listed["total"] == 2
    assert {job["id"] for job in listed["items"]} == {own_visible, own_failed}
    failed = api.client.get(f"/api/v1/jobs/{own_failed}", headers=sales).json()
    assert failed["status"] == "failed" and failed["error_ko"] and failed["error_en"]
    missing = assert_problem(api.client.get("/api/v1/jobs/0123456789abcdef", headers=sales), 404, "not_found")
    for hidden in (admin_job, own_hidden):  # another's job; own job whose document is HR's
        response = api.client.get(f"/api/v1/jobs/{hidden}", headers=sales)
        assert assert_problem(response, 404, "not_found") == missing
    assert api.client.get("/api/v1/jobs", headers=other).json() == {"total": 0, "items": []}
    assert api.client.get("/api/v1/jobs", headers=admin).json()["total"] == 4


def test_job_list_filters_and_pages(api: ApiHarness) -> None:
    admin = api.admin()
    response = upload(
        api, admin, ("a.md", b"# A\n\nalpha text"), ("b.exe", b"MZ\x90\x00"), ("c.md", b"# C\n\ngamma")
    )
    ids = [job["id"] for job in response.json()["jobs"]]
    for job_id in ids:
        wait_for_job(api, admin, job_id)

    def listing(query: str) -> dict:
        result = api.client.get(f"/api/v1/jobs{query}", headers=admin)
        assert result.status_code == 200, result.text
        return result.json()

    assert listing("?status=failed")["total"] == 1
    assert listing("?status=failed")["items"][0]["filename"] == "b.exe"
    assert listing("?status=succeeded")["total"] == 2
    assert listing("?status=queued") == {"total": 0, "items": []}
    pages = [listing(f"?limit=1&offset={i}") for i in range(3)]
    assert all(page["total"] == 3 for page in pages)
    assert sorted(page["items"][0]["id"] for page in pages) == sorted(ids)
    assert_problem(api.client.get("/api/v1/jobs?status=done", headers=admin), 422, "invalid_request")
    assert_problem(api.client.get("/api/v1/jobs?limit=500", headers=admin), 422, "invalid_request")


def test_jobs_need_a_token_and_documents_read(api: ApiHarness) -> None:
    admin = api.admin()
    job_id = upload(api, admin, MD).json()["jobs"][0]["id"]
    assert_problem(api.client.get("/api/v1/jobs"), 401, "unauthenticated")
    assert_problem(api.client.get(f"/api/v1/jobs/{job_id}"), 401, "unauthenticated")
    search_only = api.key(admin, ["search"])
    assert_problem(api.client.get(f"/api/v1/jobs/{job_id}", headers=search_only), 403, "insufficient_scope")
    # An admin key narrowed to a group is no longer "all jobs": it sees its owner's jobs on documents
    # it may see, and this one (visible to admins only) is not among them.
    narrowed = api.key(admin, ["documents:read", "admin"], group_ids=[api.group(SALES)])
    wait_for_job(api, admin, job_id)
    assert api.client.get(f"/api/v1/jobs/{job_id}", headers=narrowed).status_code == 404
    assert api.client.get("/api/v1/jobs", headers=narrowed).json()["total"] == 0


def test_a_narrowed_admin_key_sees_only_the_jobs_inside_its_groups(api: ApiHarness) -> None:
    """Jobs without a document (queued, running, failed) count by the permissions they were queued with."""
    admin = api.admin()
    api.group(HR), api.group(SALES)
    hr_failed = upload(api, admin, ("인사기밀.exe", b"MZ\x90\x00 hr"), groups=HR).json()["jobs"][0]["id"]
    sales_failed = upload(api, admin, ("영업.exe", b"MZ\x90\x00 sales"), groups=SALES).json()["jobs"][0]["id"]
    public_failed = upload(api, admin, ("공지.exe", b"MZ\x90\x00 all"), public=True).json()["jobs"][0]["id"]
    admin_only = upload(api, admin, ("관리.exe", b"MZ\x90\x00 admin")).json()["jobs"][0]["id"]
    for job_id in (hr_failed, sales_failed, public_failed, admin_only):
        assert wait_for_job(api, admin, job_id)["status"] == "failed"
    narrowed = api.key(admin, ["documents:read", "documents:write", "admin"], group_ids=[api.group(SALES)])

    listed = api.client.get("/api/v1/jobs", headers=narrowed).json()
    assert {job["id"] for job in listed["items"]} == {sales_failed, public_failed}
    assert listed["total"] == 2
    assert "인사기밀.exe" not in str(listed)
    assert api.client.get("/api/v1/jobs?status=failed", headers=narrowed).json()["total"] == 2
    missing = assert_problem(
        api.client.get("/api/v1/jobs/0123456789abcdef", headers=narrowed), 404, "not_found"
    )
    for hidden in (hr_failed, admin_only):
        assert (
            assert_problem(api.client.get(f"/api/v1/jobs/{hidden}", headers=narrowed), 404, "not_found")
            == missing
        )
    assert api.client.get(f"/api/v1/jobs/{sales_failed}", headers=narrowed).status_code == 200
    assert api.client.get("/api/v1/jobs", headers=admin).json()["total"] == 4
