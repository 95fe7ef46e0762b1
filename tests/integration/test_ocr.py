"""OCR of scanned PDFs and images through the real pipeline: real Tesseract (kor+eng), the sandbox,
SQLite, Chroma in a temp dir and Kiwi-BM25. The pages are Korean text rendered with NanumGothic."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.container import Container
from core.settings import IngestSettings, OcrMode, Settings
from ingest.errors import IngestError
from ingest.ocr import page_png, parse_ocr_location, recognise_all, tesseract_available
from ingest.pipeline import IngestOutcome, IngestRequest
from retrieval.tokenizer import KiwiTokenizer
from retrieval.types import AccessScope
from tests.api_harness import ApiHarness
from tests.support.containers import make_container
from tests.support.scans import GOTHIC, REGULATION, image_bytes, multipage_tiff, render_page, scanned_pdf

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not tesseract_available() or not GOTHIC.exists(),
        reason="needs tesseract-ocr, tesseract-ocr-kor and fonts-nanum (scripts/install-system-packages.sh)",
    ),
]
TEXT_PAGE = "제3조(복무) 직원은 성실하게 근무하여야 한다. 근무시간은 오전 9시부터 오후 6시까지로 한다."


def with_ocr(settings: Settings, mode: OcrMode, **changes: object) -> Settings:
    ingest = settings.ingest.model_copy(update={"ocr": mode, **changes})
    return settings.model_copy(update={"ingest": ingest})


def ingest(container: Container, data: bytes, name: str) -> IngestOutcome:
    return container.pipeline.ingest(IngestRequest(data=data, filename=name, source_key=name, is_public=True))


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """OCR on, and every OCR'd page counted as low-confidence (so the listing shows)."""
    return with_ocr(settings, OcrMode.AUTO, ocr_low_confidence=99.9)


@pytest.fixture
def ocr_container(settings: Settings, kiwi: KiwiTokenizer) -> Iterator[Container]:
    container = make_container(with_ocr(settings, OcrMode.AUTO), kiwi)
    yield container
    container.close()


def test_scanned_pdf_becomes_searchable_and_citable(ocr_container: Container) -> None:
    data = scanned_pdf([render_page(REGULATION), render_page(REGULATION[2:])])
    outcome = ingest(ocr_container, data, "취업규칙_스캔.pdf")
    assert outcome.status == "added"
    hits = ocr_container.searcher.search("경조사비 50만 원", AccessScope())
    assert hits and hits[0].document_id == outcome.document_id
    assert hits[0].page in {1, 2}
    located = parse_ocr_location(hits[0].location)
    assert located is not None and located[0] == hits[0].page and located[1] > 50
    assert "(OCR " in hits[0].citation_label


def test_mixed_pdf_keeps_the_text_layer_and_ocrs_the_scan(ocr_container: Container) -> None:
    data = scanned_pdf([TEXT_PAGE, render_page(REGULATION)])
    outcome = ingest(ocr_container, data, "혼합.pdf")
    hits = ocr_container.searcher.search("근무시간은 오전 9시부터", AccessScope())
    assert hits[0].document_id == outcome.document_id
    assert hits[0].page == 1 and hits[0].location is None  # the text layer, not OCR
    hits = ocr_container.searcher.search("숙박비는 실비로 정산", AccessScope())
    assert hits[0].page == 2 and parse_ocr_location(hits[0].location) is not None


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "BMP", "WEBP"])
def test_image_is_ocrd(ocr_container: Container, image_format: str) -> None:
    data = image_bytes(render_page(REGULATION), image_format)
    outcome = ingest(ocr_container, data, f"공지.{image_format.lower()}")
    hits = ocr_container.searcher.search("연차휴가 15일", AccessScope())
    assert hits[0].document_id == outcome.document_id
    assert "15일의 유급휴가" in hits[0].text.replace("\n", " ")


def test_multipage_tiff_keeps_its_pages(ocr_container: Container) -> None:
    data = multipage_tiff([render_page([TEXT_PAGE]), render_page(REGULATION)])
    ingest(ocr_container, data, "팩스.tiff")
    hits = ocr_container.searcher.search("숙박비는 실비로 정산", AccessScope())
    assert hits[0].page == 2


def test_ocr_off_keeps_the_scanned_pdf_error(settings: Settings, kiwi: KiwiTokenizer) -> None:
    container = make_container(with_ocr(settings, OcrMode.OFF), kiwi)
    try:
        with pytest.raises(IngestError) as caught:
            ingest(container, scanned_pdf([render_page(REGULATION)]), "스캔.pdf")
        assert caught.value.code == "pdf_no_text_layer"
        assert "OCR" in caught.value.message_ko
        with pytest.raises(IngestError) as caught:
            ingest(container, image_bytes(render_page(REGULATION)), "공지.png")
        assert caught.value.code == "image_ocr_off"
    finally:
        container.close()


def test_page_budget_is_a_clear_error(settings: Settings, kiwi: KiwiTokenizer) -> None:
    container = make_container(with_ocr(settings, OcrMode.AUTO, ocr_max_pages=1), kiwi)
    try:
        with pytest.raises(IngestError) as caught:
            ingest(container, scanned_pdf([render_page(REGULATION)] * 2), "긴스캔.pdf")
        assert caught.value.code == "ocr_too_many_pages"
        assert "최대 1쪽" in caught.value.message_ko and "at most 1" in caught.value.message_en
    finally:
        container.close()


def test_hostile_images_fail_clearly(ocr_container: Container) -> None:
    from PIL import Image

    huge = image_bytes(Image.new("1", (20_000, 20_000), 1))  # 400 Mpx, a few KiB compressed
    with pytest.raises(IngestError) as caught:
        ingest(ocr_container, huge, "폭탄.png")
    assert caught.value.code == "image_too_large"
    with pytest.raises(IngestError) as caught:  # under Pillow's guard, over Jikji's ocr_max_pixels
        ingest(ocr_container, image_bytes(Image.new("1", (9_000, 9_000), 1)), "큰그림.png")
    assert caught.value.code == "image_too_large"
    truncated = image_bytes(render_page(REGULATION))[:5000]
    with pytest.raises(IngestError) as caught:
        ingest(ocr_container, truncated, "잘림.png")
    assert caught.value.code == "invalid_image"


def test_document_detail_lists_ocr_and_low_confidence_pages(api: ApiHarness) -> None:
    outcome = ingest(api.container, scanned_pdf([TEXT_PAGE, render_page(REGULATION)]), "혼합.pdf")
    response = api.client.get(f"/api/v1/documents/{outcome.document_id}", headers=api.admin())
    assert response.status_code == 200, response.text
    body = response.json()
    assert [page["page"] for page in body["ocr_pages"]] == [2]
    assert 50 < body["ocr_pages"][0]["confidence"] <= 100
    assert body["low_confidence_pages"] == [2]  # the threshold here is 99.9


def test_settings_default_to_auto() -> None:
    assert IngestSettings().ocr is OcrMode.AUTO


def test_pages_ocrd_in_parallel_keep_their_order() -> None:
    pages = [(page_png(render_page([line])), 300) for line in (TEXT_PAGE, REGULATION[2], REGULATION[4])]
    serial = recognise_all(pages, "kor+eng", workers=1)
    parallel = recognise_all(pages, "kor+eng", workers=3)
    assert [page.text for page in parallel] == [page.text for page in serial]
    assert "경조사" in parallel[1].text and "출장" in parallel[2].text


def test_ocr_reports_page_progress_from_the_sandbox(ocr_container: Container) -> None:
    seen: list[tuple[float, str]] = []
    data = scanned_pdf([render_page([line]) for line in REGULATION[:3]])
    request = IngestRequest(data=data, filename="진행.pdf", source_key="진행.pdf", is_public=True)
    ocr_container.pipeline.ingest(request, lambda fraction, stage: seen.append((fraction, stage)))
    pages = [(fraction, stage) for fraction, stage in seen if stage.startswith("OCR ")]
    assert sorted(stage for _, stage in pages) == ["OCR 1/3", "OCR 2/3", "OCR 3/3"]
    assert [fraction for fraction, _ in pages] == sorted(fraction for fraction, _ in pages)
    assert 0.05 < pages[-1][0] <= 0.2


def _tesseracts() -> set[int]:
    """Running Tesseract processes started by ingest.ocr (their output path names jikji-ocr-)."""
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if entry.name.isdigit() and b"tesseract" in command and b"jikji-ocr-" in command:
            found.add(int(entry.name))
    return found


def test_a_timed_out_ocr_leaves_no_tesseract_behind(settings: Settings, kiwi: KiwiTokenizer) -> None:
    before = _tesseracts()
    slow = with_ocr(settings, OcrMode.AUTO, parse_timeout_s=1.0, ocr_workers=1)
    container = make_container(slow, kiwi)
    try:
        with pytest.raises(IngestError) as caught:
            ingest(container, scanned_pdf([render_page(REGULATION * 4)] * 2), "느린스캔.pdf")
        assert caught.value.code == "parse_timeout"
        deadline = time.monotonic() + 0.3  # an orphaned Tesseract would run on for a second or more
        while _tesseracts() - before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _tesseracts() - before
    finally:
        container.close()


def test_force_ocrs_pages_with_a_text_layer_too() -> None:
    from ingest.document import ParseLimits
    from ingest.parsers.pdf import parse_pdf

    data = scanned_pdf([TEXT_PAGE])
    assert all(block.location is None for block in parse_pdf(data, ParseLimits(ocr="auto")).blocks)
    forced = parse_pdf(data, ParseLimits(ocr="force"))
    assert forced.blocks and all(parse_ocr_location(block.location) for block in forced.blocks)
    assert "근무시간" in forced.text


def test_a_blank_image_says_no_text_was_recognised(ocr_container: Container) -> None:
    from PIL import Image

    with pytest.raises(IngestError) as caught:
        ingest(ocr_container, image_bytes(Image.new("L", (1200, 1600), 255)), "빈종이.png")
    assert caught.value.code == "image_no_text"


def _deck_with_pictures() -> bytes:
    """Slide 1: a title and a pasted scan of Korean text; slide 2: a small icon only."""
    import io

    from PIL import Image
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[5])  # title only
    first.shapes.title.text = "인사 공지"
    scan = render_page(REGULATION[:4], dpi=200).crop((0, 0, 1654, 800))
    first.shapes.add_picture(
        io.BytesIO(image_bytes(scan, dpi=200)), Inches(0.5), Inches(1.5), width=Inches(9)
    )
    second = deck.slides.add_slide(deck.slide_layouts[5])
    second.shapes.title.text = "아이콘"
    icon = io.BytesIO(image_bytes(Image.new("L", (64, 64), 0)))
    second.shapes.add_picture(icon, Inches(1), Inches(2))
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def test_pictures_pasted_into_slides_are_ocrd() -> None:
    from ingest.document import ParseLimits
    from ingest.parsers.pptx import parse_pptx

    data = _deck_with_pictures()
    off = parse_pptx(data, ParseLimits(ocr="off"))
    assert "경조사" not in off.text
    parsed = parse_pptx(data, ParseLimits(ocr="auto"))
    ocr_blocks = [block for block in parsed.blocks if parse_ocr_location(block.location)]
    assert ocr_blocks and {block.page for block in ocr_blocks} == {1}  # the icon on slide 2 is skipped
    assert "경조사" in " ".join(block.text for block in ocr_blocks)
    assert parsed.blocks[0].text == "인사 공지"  # the slide's own text comes first


def _word_with_a_picture() -> bytes:
    import io

    from docx import Document
    from docx.shared import Inches

    document = Document()
    document.add_heading("복무 안내", level=1)
    document.add_paragraph("아래 공지문 사진을 참고하십시오.")
    scan = render_page(REGULATION[2:6], dpi=200).crop((0, 0, 1654, 800))
    document.add_picture(io.BytesIO(image_bytes(scan, dpi=200)), width=Inches(6))
    document.add_paragraph("문의는 인사팀으로 하십시오.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_pictures_in_word_documents_are_ocrd_where_they_stand(ocr_container: Container) -> None:
    from ingest.document import ParseLimits
    from ingest.parsers.docx import parse_docx

    parsed = parse_docx(_word_with_a_picture(), ParseLimits(ocr="auto"))
    texts = [block.text for block in parsed.blocks]
    ocr_at = [i for i, block in enumerate(parsed.blocks) if (block.location or "").startswith("그림 1 (OCR ")]
    assert ocr_at and texts.index("아래 공지문 사진을 참고하십시오.") < ocr_at[0]
    assert ocr_at[-1] < texts.index("문의는 인사팀으로 하십시오.")
    outcome = ingest(ocr_container, _word_with_a_picture(), "복무안내.docx")
    hits = ocr_container.searcher.search("숙박비는 실비로 정산", AccessScope())
    assert hits[0].document_id == outcome.document_id
    assert "그림 1 (OCR " in hits[0].citation_label
