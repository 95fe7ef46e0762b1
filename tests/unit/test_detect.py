from __future__ import annotations

import io
import zipfile

import pytest

from ingest.detect import FileType, detect_file_type
from ingest.errors import ParseError, UnsupportedFormatError


def make_zip(names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


def test_magic_bytes_win_over_extension_family() -> None:
    assert detect_file_type(b"%PDF-1.7\n...", "report.pdf") is FileType.PDF
    assert detect_file_type(make_zip(["[Content_Types].xml", "word/document.xml"]), "a.docx") is FileType.DOCX
    assert detect_file_type(make_zip(["[Content_Types].xml", "xl/workbook.xml"]), "a.xlsx") is FileType.XLSX
    assert detect_file_type(make_zip(["mimetype", "Contents/content.hpf"]), "a.hwpx") is FileType.HWPX


def test_text_formats_follow_the_extension() -> None:
    assert detect_file_type("# 제목".encode(), "a.md") is FileType.MARKDOWN
    assert detect_file_type("이름,부서".encode(), "a.csv") is FileType.CSV
    assert detect_file_type(b"<!DOCTYPE html><html></html>", "page.htm") is FileType.HTML


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"<!DOCTYPE html><html><body>hi</body></html>", "invoice.pdf"),
        (b"just some text", "report.docx"),
        (b"%PDF-1.4 ...", "notes.txt"),
    ],
)
def test_type_confusion_is_rejected_with_a_clear_message(data: bytes, name: str) -> None:
    with pytest.raises(ParseError) as caught:
        detect_file_type(data, name)
    assert caught.value.code == "type_mismatch"
    assert "확장자" in caught.value.message_ko


def test_zip_pretending_to_be_docx_is_rejected() -> None:
    with pytest.raises(ParseError):
        detect_file_type(make_zip(["[Content_Types].xml", "ppt/presentation.xml"]), "a.docx")


def test_unknown_extension_and_content_is_unsupported() -> None:
    with pytest.raises(UnsupportedFormatError):
        detect_file_type(b"\x00\x01binary", "tool.exe")


def test_legacy_ole_office_is_explained() -> None:
    with pytest.raises(UnsupportedFormatError) as caught:
        detect_file_type(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "old.doc")
    assert caught.value.code == "legacy_office"
