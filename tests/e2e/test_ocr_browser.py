"""Scans uploaded in the browser become searchable and citable with page numbers (issue 21): an admin
uploads a scanned PDF (two image-only pages) and a photographed page (2° off, lit unevenly, speckled
JPEG) on the documents page, follows the jobs' progress to done, and asks in the chat about text that
exists only in the scan; the source card names the document, its page and the OCR marker.

Real Tesseract in the parsing sandbox behind the real API and Streamlit UI (the session's stack of
tests/e2e/conftest.py), Debian chromium; screenshots under ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingest.ocr import tesseract_available
from tests.e2e.stack import Stack
from tests.e2e.test_browser import api_login, ask, login, open_page, save, settle
from tests.support.scans import GOTHIC, NOTICE, REGULATION, photographed, render_page, scanned_pdf

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(900),
    pytest.mark.skipif(
        not tesseract_available() or not GOTHIC.exists(),
        reason="needs tesseract-ocr, tesseract-ocr-kor and fonts-nanum (scripts/install-system-packages.sh)",
    ),
]

SCAN = "출장규정_스캔.pdf"
PHOTO = "주차공지_사진.jpg"
OCR_WAIT_S = 600  # two OCR jobs on a busy machine; the test ends as soon as both are done


def test_a_scanned_pdf_and_a_photographed_page_uploaded_in_the_browser_are_cited_with_pages(
    browser: Any, stack: Stack, tmp_path: Path
) -> None:
    scan, photo = tmp_path / SCAN, tmp_path / PHOTO
    scan.write_bytes(scanned_pdf([render_page(REGULATION[:2]), render_page(REGULATION[2:])]))
    photo.write_bytes(photographed(NOTICE))

    page = open_page(browser, stack)
    login(page, "admin")
    page.get_by_role("link", name="문서 관리").click()
    page.get_by_text("문서 올리기").wait_for()
    settle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files([str(scan), str(photo)])
    page.get_by_text(SCAN).wait_for()
    page.get_by_text(PHOTO).wait_for()
    page.get_by_role("button", name="올리기").click()  # no group, not public: for administrators only

    progress = _follow_jobs(page)
    assert any(SCAN in text or PHOTO in text for text in progress), progress  # a bar while OCR ran
    assert not any(text.rstrip().endswith("·") for text in progress), progress  # queued: no stage
    settle(page)
    save(page, "ocr-02-upload-done")

    titles = _titles(stack)
    scan_title, photo_title = titles[SCAN], titles[PHOTO]

    page.get_by_role("link", name="질문하기", exact=True).click()
    page.get_by_placeholder("무엇이든 물어보세요").wait_for()
    settle(page)
    ask(page, "국내 출장의 일비는 하루 얼마인가요?")  # only in the scan, on its second page
    card = _card_of(page, scan_title)
    text = card.inner_text()
    assert re.search(r"p\.2 \(OCR \d+%\)", text), text  # the page and the OCR marker with its confidence
    assert "3만 원" in text, text  # the recognised text itself, quoted on the card
    card.scroll_into_view_if_needed()
    save(page, "ocr-03-scan-cited")

    ask(page, "본사 지하 주차장의 월 주차비는 얼마인가요?")  # only in the photographed page
    card = _card_of(page, photo_title)
    text = card.inner_text()
    assert re.search(r"p\.1 \(OCR \d+%\)", text), text
    assert "4만 원" in text, text
    card.scroll_into_view_if_needed()
    save(page, "ocr-04-photo-cited")
    page.context.close()


def _follow_jobs(page: Any) -> list[str]:
    """Wait until both uploads show "완료"; the progress bar texts seen on the way (screenshot of the
    first one naming an upload). A failed job fails the test with the error the page shows."""
    bars = page.locator('[data-testid="stProgress"]')
    seen: list[str] = []
    deadline = time.monotonic() + OCR_WAIT_S
    while time.monotonic() < deadline:
        for text in bars.all_inner_texts():
            if (SCAN in text or PHOTO in text) and text not in seen:
                if not seen:
                    save(page, "ocr-01-upload-progress")
                seen.append(text)
        failed = page.locator('[data-testid="stAlert"]').filter(has_text="— 실패")
        assert failed.count() == 0, failed.first.inner_text()
        done = page.locator('[data-testid="stAlert"]').filter(has_text="— 완료")
        if all(done.filter(has_text=name).count() for name in (SCAN, PHOTO)):
            return seen
        page.wait_for_timeout(250)
    raise AssertionError(f"the OCR jobs did not finish in {OCR_WAIT_S}s; progress seen: {seen}")


def _titles(stack: Stack) -> dict[str, str]:
    """The uploaded documents' titles by file name, as the API lists them for the admin."""
    response = httpx.get(
        f"{stack.api_url}/api/v1/documents",
        headers=api_login(stack, "admin"),
        params={"limit": 100},
        timeout=30,
    )
    response.raise_for_status()
    return {str(d["display_name"]): str(d["title"]) for d in response.json()["items"]}


def _card_of(page: Any, title: str) -> Any:
    """The last answer's source card of the document titled ``title``."""
    answer = page.locator('[data-testid="stChatMessage"]').last
    answer.locator(".jikji-source").first.wait_for()
    cards = answer.locator(".jikji-source").filter(has_text=title)
    shown = answer.locator(".jikji-source").all_inner_texts()
    assert cards.count() >= 1, shown
    return cards.first
