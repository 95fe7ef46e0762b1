"""Scans uploaded over the API become searchable and citable with page numbers (issue 21): a scanned
PDF and a photographed page (skewed, unevenly lit, speckled JPEG) through POST /api/v1/documents, the
embedded job worker, the parsing sandbox and real Tesseract, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from core.settings import IngestSettings, JobSettings, OcrMode, Settings
from ingest.ocr import parse_ocr_location, tesseract_available
from tests.api_harness import ApiHarness
from tests.integration.test_api_documents import search_documents, upload, wait_for_job
from tests.support.scans import GOTHIC, NOTICE, REGULATION, photographed, render_page, scanned_pdf

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not tesseract_available() or not GOTHIC.exists(),
        reason="needs tesseract-ocr, tesseract-ocr-kor and fonts-nanum (scripts/install-system-packages.sh)",
    ),
]


@pytest.fixture
def settings(settings_on_each_database: Settings) -> Settings:
    """OCR on, a fast-polling embedded worker, on each SQL store."""
    return settings_on_each_database.model_copy(
        update={"ingest": IngestSettings(ocr=OcrMode.AUTO), "jobs": JobSettings(poll_interval_s=0.05)}
    )


def finished(api: ApiHarness, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    """The job once done, polled once a second (OCR takes a while; faster polling meets the rate limit)."""
    return wait_for_job(api, headers, job_id, timeout=600, interval=1.0)


def test_a_scanned_pdf_and_a_photographed_page_become_searchable_and_citable(api: ApiHarness) -> None:
    admin = api.admin()
    scan = scanned_pdf([render_page(REGULATION[:2]), render_page(REGULATION[2:])])
    response = upload(
        api, admin, ("취업규칙_스캔.pdf", scan), ("주차공지_사진.jpg", photographed(NOTICE)), public=True
    )
    assert response.status_code == 202, response.text
    jobs = [finished(api, admin, job["id"]) for job in response.json()["jobs"]]
    assert [job["status"] for job in jobs] == ["succeeded", "succeeded"], jobs
    pdf_id, photo_id = (job["document_id"] for job in jobs)
    employee = api.user("kim")

    hit = search_documents(api, employee, "경조사비 50만 원")[pdf_id]
    assert hit["page"] == 2
    located = parse_ocr_location(hit["location"])
    assert located is not None and located[0] == 2 and located[1] > 50
    assert "(OCR " in hit["label"] and "50만 원" in hit["text"]

    hit = search_documents(api, employee, "월 주차비는 얼마")[photo_id]
    assert hit["page"] == 1 and "(OCR " in hit["label"]
    assert "4만 원" in hit["text"]
    hit = search_documents(api, employee, "공지는 언제부터 시행하나요")[photo_id]
    assert "2027년 1월 2일" in hit["text"] and hit["page"] == 1

    detail = api.client.get(f"/api/v1/documents/{pdf_id}", headers=admin).json()
    assert [page["page"] for page in detail["ocr_pages"]] == [1, 2]
