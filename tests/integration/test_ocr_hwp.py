"""OCR of pictures pasted into Hangul documents (HWP 5.0 and HWPX), with real Tesseract.

The fixtures' own pictures are small icons; here they are replaced by a rendered scan of Korean
text: in an HWPX by rewriting the zip, in an HWP by overwriting the ``BinData`` stream in place
with a PNG of exactly the same size (olefile only writes same-size streams)."""

from __future__ import annotations

import io
import shutil
import struct
import zipfile
import zlib
from pathlib import Path

import olefile
import pytest

from ingest.document import ParseLimits
from ingest.ocr import tesseract_available
from ingest.parsers.hwp import parse_hwp
from ingest.parsers.hwpx import parse_hwpx
from tests.support.scans import GOTHIC, REGULATION, image_bytes, render_page

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not tesseract_available() or not GOTHIC.exists(),
        reason="needs tesseract-ocr, tesseract-ocr-kor and fonts-nanum (scripts/install-system-packages.sh)",
    ),
]
FIXTURES = Path(__file__).parents[1] / "data" / "fixtures"
AUTO = ParseLimits(ocr="auto")


def scan_png(size: int | None = None) -> bytes:
    """A 1-bit PNG of two lines of a rendered regulation, padded to ``size`` bytes if given."""
    scan = render_page(REGULATION[2:4], dpi=200).crop((150, 150, 1500, 400)).convert("1")
    buffer = io.BytesIO()
    scan.save(buffer, format="PNG", optimize=True)
    png = buffer.getvalue()
    if size is None:
        return png
    padding = size - len(png) - 12  # an ancillary chunk: length, type, data, CRC
    assert padding >= 0, len(png)
    chunk_type, body = b"jiKj", b"\0" * padding
    chunk = struct.pack(">I", padding) + chunk_type + body + struct.pack(">I", zlib.crc32(chunk_type + body))
    return png[:-12] + chunk + png[-12:]  # before IEND


def hwpx_with_scan(picture: bytes) -> bytes:
    """SimplePicture.hwpx with its picture (BinData/image1.jpg) replaced by ``picture``."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(FIXTURES / "hwpx" / "SimplePicture.hwpx") as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = picture if info.filename == "BinData/image1.jpg" else source.read(info)
            target.writestr(info, data)
    return out.getvalue()


def test_hwpx_pictures_are_ocrd_after_their_section() -> None:
    data = hwpx_with_scan(image_bytes(render_page(REGULATION[2:4], dpi=200).crop((0, 0, 1654, 500)), "JPEG"))
    assert "경조사" not in parse_hwpx(data, ParseLimits(ocr="off")).text
    parsed = parse_hwpx(data, AUTO)
    read = [block for block in parsed.blocks if (block.location or "").startswith("그림 1 (OCR ")]
    assert read and "경조사비 50만 원" in " ".join(block.text for block in read)
    assert all(block.page is None for block in read)


def test_hwpx_icon_is_not_ocrd() -> None:
    parsed = parse_hwpx((FIXTURES / "hwpx" / "SimplePicture.hwpx").read_bytes(), AUTO)
    off = parse_hwpx((FIXTURES / "hwpx" / "SimplePicture.hwpx").read_bytes(), ParseLimits(ocr="off"))
    assert [block.text for block in parsed.blocks] == [block.text for block in off.blocks]


def test_hwp_bindata_pictures_are_ocrd(tmp_path: Path) -> None:
    document = tmp_path / "공지.hwp"
    shutil.copy(FIXTURES / "hwp" / "blank.hwp", document)
    with olefile.OleFileIO(str(document), write_mode=True) as ole:
        size = ole.get_size("BinData/BIN0001.png")
        ole.write_stream("BinData/BIN0001.png", scan_png(size))
    data = document.read_bytes()
    assert "경조사" not in parse_hwp(data, ParseLimits(ocr="off")).text
    parsed = parse_hwp(data, AUTO)
    read = [block for block in parsed.blocks if (block.location or "").startswith("그림 1 (OCR ")]
    assert read and "경조사비 50만 원" in " ".join(block.text for block in read)


def test_hwp_icons_stored_compressed_are_skipped() -> None:
    """The fixture's picture is a 138×110 icon stored deflated: read, decoded, and left out."""
    data = (FIXTURES / "hwp" / "글상자-압축.hwp").read_bytes()
    parsed = parse_hwp(data, AUTO)
    assert [block.text for block in parsed.blocks] == [
        block.text for block in parse_hwp(data, ParseLimits(ocr="off")).blocks
    ]
