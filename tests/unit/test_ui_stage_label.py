"""A job's stage in words on the documents page: OCR's page progress (``OCR 3/12`` from
ingest.pipeline) read as pages, in the session's language; other stages as before."""

from __future__ import annotations

from ui.components import stage_text


def test_ocr_page_progress_is_shown_as_pages_read_in_each_language() -> None:
    assert stage_text("OCR 3/12", "ko") == "문자 인식(OCR) 3/12쪽"
    assert stage_text("OCR 3/12", "en") == "OCR page 3 of 12"


def test_known_stages_are_translated_and_unknown_ones_kept_as_named() -> None:
    assert stage_text("parsing", "ko") == "문서 읽는 중"
    assert stage_text("embedding", "en") == "embedding"
    assert stage_text("OCR 3/12 extra", "ko") == "OCR 3/12 extra"
    assert stage_text("retrying", "ko") == "retrying"
    assert stage_text("", "ko") == ""
