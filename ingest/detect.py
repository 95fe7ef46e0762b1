"""File type detection: magic bytes first, the extension second, and type confusion rejected."""

from __future__ import annotations

import io
import zipfile
from enum import StrEnum
from pathlib import PurePath

from ingest.errors import ParseError, UnsupportedFormatError

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
PDF_MAGIC = b"%PDF-"
IMAGE_MAGICS = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")
BMP_HEADER_SIZES = {12, 40, 52, 56, 64, 108, 124}


class FileType(StrEnum):
    """Formats Jikji can read."""

    PDF = "pdf"
    DOCX = "docx"
    PPTX = "pptx"
    XLSX = "xlsx"
    HWP = "hwp"
    HWPX = "hwpx"
    HTML = "html"
    MARKDOWN = "markdown"
    CSV = "csv"
    TEXT = "text"
    IMAGE = "image"


EXTENSIONS: dict[str, FileType] = {
    ".pdf": FileType.PDF,
    ".docx": FileType.DOCX,
    ".pptx": FileType.PPTX,
    ".xlsx": FileType.XLSX,
    ".hwp": FileType.HWP,
    ".hwpx": FileType.HWPX,
    ".html": FileType.HTML,
    ".htm": FileType.HTML,
    ".md": FileType.MARKDOWN,
    ".markdown": FileType.MARKDOWN,
    ".csv": FileType.CSV,
    ".tsv": FileType.CSV,
    ".txt": FileType.TEXT,
    ".text": FileType.TEXT,
    ".png": FileType.IMAGE,
    ".jpg": FileType.IMAGE,
    ".jpeg": FileType.IMAGE,
    ".tif": FileType.IMAGE,
    ".tiff": FileType.IMAGE,
    ".bmp": FileType.IMAGE,
    ".webp": FileType.IMAGE,
}
TEXT_FAMILY = {FileType.HTML, FileType.MARKDOWN, FileType.CSV, FileType.TEXT}
LABELS = {
    FileType.PDF: "PDF",
    FileType.DOCX: "Word(DOCX)",
    FileType.PPTX: "PowerPoint(PPTX)",
    FileType.XLSX: "Excel(XLSX)",
    FileType.HWP: "한글(HWP)",
    FileType.HWPX: "한글(HWPX)",
    FileType.HTML: "HTML",
    FileType.MARKDOWN: "Markdown",
    FileType.CSV: "CSV",
    FileType.TEXT: "텍스트",
    FileType.IMAGE: "이미지",
}


def detect_file_type(data: bytes, filename: str) -> FileType:
    """The real type of ``data``; raises when the content contradicts the file name's extension."""
    extension = PurePath(filename).suffix.lower()
    claimed = EXTENSIONS.get(extension)
    sniffed = _sniff(data)
    if claimed is None and sniffed is None:
        raise UnsupportedFormatError(
            "unsupported_format",
            f"지원하지 않는 파일 형식입니다 ({extension or '확장자 없음'}).",
            f"Unsupported file type ({extension or 'no extension'}).",
        )
    if sniffed is None:
        return _check_text_claim(data, claimed, extension)  # type: ignore[arg-type]
    if claimed is not None and claimed not in TEXT_FAMILY and claimed != sniffed:
        raise _confusion(extension, claimed, sniffed)
    if claimed in TEXT_FAMILY and sniffed not in TEXT_FAMILY:
        raise _confusion(extension, claimed, sniffed)  # type: ignore[arg-type]
    if sniffed is FileType.HTML and claimed in {FileType.MARKDOWN, FileType.TEXT}:
        return claimed  # type: ignore[return-value]  # markup inside a text file is still text
    return sniffed


def _sniff(data: bytes) -> FileType | None:
    head = data[:8]
    if head.startswith(PDF_MAGIC) or data[:1024].lstrip().startswith(PDF_MAGIC):
        return FileType.PDF
    if _is_image(data):
        return FileType.IMAGE
    if head.startswith(OLE_MAGIC):
        return _sniff_ole(data)
    if head.startswith(ZIP_MAGIC):
        return _sniff_zip(data)
    if _looks_like_html(data[:2048]):
        return FileType.HTML
    return None


def _is_image(data: bytes) -> bool:
    """PNG, JPEG, TIFF, WebP by magic; BMP by its magic and a known info-header size (``BM`` alone
    could start a text file)."""
    if data.startswith(IMAGE_MAGICS) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return True
    return (
        data[:2] == b"BM"
        and data[6:10] == b"\x00\x00\x00\x00"
        and int.from_bytes(data[14:18], "little") in BMP_HEADER_SIZES
    )


def _sniff_ole(data: bytes) -> FileType:
    if b"H\x00W\x00P\x00" in data[:65536] or b"HWP Document File" in data[:65536]:
        return FileType.HWP
    raise UnsupportedFormatError(
        "legacy_office",
        "구형 MS Office 형식(.doc/.xls/.ppt)은 지원하지 않습니다. DOCX/XLSX/PPTX로 저장해 주세요.",
        "Legacy MS Office files (.doc/.xls/.ppt) are not supported; save as DOCX/XLSX/PPTX.",
    )


def _sniff_zip(data: bytes) -> FileType:
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, NotImplementedError, ValueError, EOFError, OSError) as exc:
        raise ParseError(
            "bad_zip", "손상된 압축(ZIP) 파일입니다.", "The file is a damaged ZIP container."
        ) from exc
    if "Contents/content.hpf" in names or ("mimetype" in names and "Contents/header.xml" in names):
        return FileType.HWPX
    if "[Content_Types].xml" in names:
        for prefix, file_type in (("word/", FileType.DOCX), ("ppt/", FileType.PPTX), ("xl/", FileType.XLSX)):
            if any(name.startswith(prefix) for name in names):
                return file_type
    raise UnsupportedFormatError(
        "unsupported_zip",
        "알 수 없는 ZIP 기반 파일입니다 (DOCX/PPTX/XLSX/HWPX가 아님).",
        "Unknown ZIP-based file (not DOCX/PPTX/XLSX/HWPX).",
    )


def _looks_like_html(head: bytes) -> bool:
    text = head.decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n").lower()
    return text.startswith(("<!doctype html", "<html", "<head", "<body"))


def _check_text_claim(data: bytes, claimed: FileType, extension: str) -> FileType:
    if claimed not in TEXT_FAMILY:
        raise ParseError(
            "type_mismatch",
            f"파일 확장자({extension})와 실제 내용이 다릅니다: {LABELS[claimed]} 파일이 아닙니다.",
            f"The file's content does not match its extension ({extension}): not a {claimed.value} file.",
        )
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ParseError(
            "binary_as_text",
            f"텍스트 파일({extension})이어야 하지만 바이너리 내용입니다.",
            f"Expected a text file ({extension}) but the content is binary.",
        )
    return claimed


def _confusion(extension: str, claimed: FileType, sniffed: FileType) -> ParseError:
    return ParseError(
        "type_mismatch",
        f"파일 확장자({extension})와 실제 내용({LABELS[sniffed]})이 다릅니다. "
        f"올바른 {LABELS[claimed]} 파일이 아닙니다.",
        f"The file's extension ({extension}) does not match its content ({sniffed.value}); "
        f"not a valid {claimed.value} file.",
    )
