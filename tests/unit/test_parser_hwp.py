"""HWP 5.0 parser: real sample documents (hwplib) plus crafted damaged and hostile inputs."""

from __future__ import annotations

import re
import shutil
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import olefile
import pytest

from ingest.document import BlockKind, ParsedDocument, ParseLimits
from ingest.errors import EncryptedDocumentError, LimitExceededError, ParseError
from ingest.parsers import hwp
from ingest.parsers.hwp import parse_hwp
from ingest.parsers.hwpx import DecompressionBudget
from tests.support.paths import HWP_FIXTURES as FIXTURES

# Every sample under tests/data/fixtures/hwp (hwplib's, see its README); a missing one fails its tests.
ALL_FIXTURES = [
    "blank.hwp",
    "changing-paragraph-text.hwp",
    "distribution.hwp",
    "extracting_ParaHead.hwp",
    "setting-fields.hwp",
    "source.hwp",
    "target.hwp",
    "각주미주.hwp",
    "글상자-압축.hwp",
    "머리글꼬리글.hwp",
    "문단번호 1-10 수준.hwp",
    "숨은설명.hwp",
    "표.hwp",
    "필드-누름틀.hwp",
]
READABLE = [name for name in ALL_FIXTURES if name != "distribution.hwp"]


def has_preview(name: str) -> bool:
    """Whether sample ``name`` has a PrvText stream (False when it is missing: its other tests fail)."""
    if not (FIXTURES / name).is_file():
        return False
    with olefile.OleFileIO(str(FIXTURES / name)) as ole:
        return bool(ole.exists("PrvText"))


PREVIEWED = [name for name in READABLE if has_preview(name)]
BAD_CHARS = re.compile("[\x00-\x08\x0b-\x1f\ufffd]")
LIMITS = ParseLimits()


def fixture_path(name: str) -> Path:
    path = FIXTURES / name
    assert path.is_file(), f"HWP sample {name} is missing from {FIXTURES}"
    return path


def parse_fixture(name: str) -> ParsedDocument:
    return parse_hwp(fixture_path(name).read_bytes(), LIMITS)


def texts(doc: ParsedDocument) -> list[str]:
    return [b.text for b in doc.blocks if b.text.strip()]


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def edited_copy(name: str, tmp_path: Path, stream: str, edit: Callable[[bytes], bytes]) -> bytes:
    """A copy of a sample with one OLE stream rewritten in place (same length)."""
    target = tmp_path / "edited.hwp"
    shutil.copyfile(fixture_path(name), target)
    with olefile.OleFileIO(str(target), write_mode=True) as ole:
        original = ole.openstream(stream).read()
        replacement = edit(original)
        assert len(replacement) == len(original)
        ole.write_stream(stream, replacement)
    return target.read_bytes()


def with_flags(flags: int) -> Callable[[bytes], bytes]:
    def edit(header: bytes) -> bytes:
        (current,) = struct.unpack_from("<I", header, 36)
        return header[:36] + struct.pack("<I", current | flags) + header[40:]

    return edit


# --- real documents -----------------------------------------------------------------------


def test_the_sample_folder_holds_exactly_the_listed_samples() -> None:
    assert sorted(p.name for p in FIXTURES.glob("*.hwp")) == sorted(ALL_FIXTURES)


@pytest.mark.parametrize("name", READABLE)
def test_fixture_text_is_clean(name: str) -> None:
    doc = parse_fixture(name)
    for block in doc.blocks:
        assert block.text.strip(), f"empty block in {name}"
        assert not BAD_CHARS.search(block.text), f"control character or U+FFFD in {name}: {block.text!r}"


@pytest.mark.parametrize("name", PREVIEWED)
def test_fixture_covers_its_preview_text(name: str) -> None:
    """Every phrase of the PrvText preview stream Hangul wrote appears in what the parser reads.

    (The parser never reads PrvText itself: it is truncated; here it only cross-checks.)
    """
    with olefile.OleFileIO(str(fixture_path(name))) as ole:
        preview = ole.openstream("PrvText").read().decode("utf-16-le")
    body = squash(parse_fixture(name).text)
    for phrase in re.split(r"[<>\r\n]+", preview):
        if phrase.strip():
            assert squash(phrase) in body, f"{phrase!r} missing from {name}"


def test_plain_paragraphs_and_title() -> None:
    doc = parse_fixture("changing-paragraph-text.hwp")
    assert texts(doc) == ["안녕하세요.", "이것은 샘플입니다."]
    assert doc.title == "안녕하세요"


def test_paragraphs_then_table() -> None:
    doc = parse_fixture("source.hwp")
    assert texts(doc) == ["첫 문단...", "이것은 원본 HWP 파일의 내용입니다.", "| ABC | 123 |\n| --- | --- |"]
    assert doc.blocks[-1].kind is BlockKind.TABLE
    assert texts(parse_fixture("target.hwp")) == ["이것은 Target HWP의 문단 내용입니다."]


def test_table_cells_by_address_with_caption() -> None:
    doc = parse_fixture("표.hwp")
    tables = [b for b in doc.blocks if b.kind is BlockKind.TABLE]
    # 3×3 table; the first cell holds two paragraphs. The second, empty table yields nothing.
    assert len(tables) == 1
    assert tables[0].text == (
        "| ABC 123 | DEF | GHI |\n| --- | --- | --- |\n| LMN | OPQ | STR |\n| UVM | 123 | 456 |"
    )
    assert texts(doc)[0] == "표 1"  # the caption, with its automatic number


def test_hidden_comment_is_labelled() -> None:
    assert texts(parse_fixture("숨은설명.hwp")) == [
        "[숨은 설명] 우리는 우리다.",
        "[숨은 설명] 그것은 그것이다.",
    ]


def test_notes_are_labelled_and_empty_footnotes_dropped() -> None:
    # Two footnotes hold only their number; the endnote holds "sssd".
    assert texts(parse_fixture("각주미주.hwp")) == ["[미주] sssd"]


def test_header_is_labelled_and_outline_paragraphs_are_headings() -> None:
    doc = parse_fixture("머리글꼬리글.hwp")
    assert "[머리말] 개요1" in texts(doc)
    by_text = {b.text: b for b in doc.blocks}
    assert (by_text["aaa"].kind, by_text["aaa"].level) == (BlockKind.HEADING, 1)
    assert (by_text["6789"].kind, by_text["6789"].level) == (BlockKind.HEADING, 2)
    assert by_text["8944454545343434"].level == 4


def test_numbered_and_bulleted_paragraphs_are_list_items() -> None:
    doc = parse_fixture("문단번호 1-10 수준.hwp")
    assert [(b.kind, b.text) for b in doc.blocks] == [
        (BlockKind.PARAGRAPH, "양쪽 정렬"),
        (BlockKind.PARAGRAPH, "왼쪽 정렬"),
        (BlockKind.PARAGRAPH, "중앙정렬"),
        (BlockKind.PARAGRAPH, "오른쪽 정렬"),
        *[(BlockKind.LIST_ITEM, "문단번호")] * 3,
        *[(BlockKind.LIST_ITEM, "글머리표")] * 2,
    ]


def test_text_boxes_follow_their_anchor_paragraph() -> None:
    assert texts(parse_fixture("글상자-압축.hwp")) == ["그림 1", "ABC", "123", "ABC"]
    head = texts(parse_fixture("extracting_ParaHead.hwp"))
    assert head[:8] == ["1", "2", "3", "4", "5", "6", "1", "2"]
    assert head[20:23] == ["16", "7", "8"]


def test_click_here_fields_keep_their_text() -> None:
    doc = parse_fixture("필드-누름틀.hwp")
    found = texts(doc)
    assert found[0] == "AA테스트 누름틀ABCD 1234567"
    assert found[1] == "| 테이블안 |\n| --- |"
    assert found[2:5] == ["누름틀은 여러줄 문자열1", "여러줄 문자열2", "여러줄 문자열3 이다"]
    fields = texts(parse_fixture("setting-fields.hwp"))
    assert fields[0] == "필드1 : 이곳을 마우스로 누르고 내용을 입력하세요."


def test_blank_document_has_no_blocks() -> None:
    assert texts(parse_fixture("blank.hwp")) == []


def test_distribution_document_is_reported_as_encrypted() -> None:
    with pytest.raises(EncryptedDocumentError) as info:
        parse_fixture("distribution.hwp")
    assert info.value.code == "hwp_distribution_document"
    assert "배포용" in info.value.message_ko
    assert "distribution" in info.value.message_en


# --- crafted from the samples -------------------------------------------------------------


def test_password_flag_is_reported_as_encrypted(tmp_path: Path) -> None:
    data = edited_copy("changing-paragraph-text.hwp", tmp_path, "FileHeader", with_flags(1 << 1))
    with pytest.raises(EncryptedDocumentError) as info:
        parse_hwp(data, LIMITS)
    assert info.value.code == "encrypted_document"


def test_drm_flag_is_reported_as_encrypted(tmp_path: Path) -> None:
    data = edited_copy("changing-paragraph-text.hwp", tmp_path, "FileHeader", with_flags(1 << 4))
    with pytest.raises(EncryptedDocumentError):
        parse_hwp(data, LIMITS)


def test_ole_file_without_hwp_signature_is_a_parse_error(tmp_path: Path) -> None:
    data = edited_copy("source.hwp", tmp_path, "FileHeader", lambda header: b"\x00" * len(header))
    with pytest.raises(ParseError) as info:
        parse_hwp(data, LIMITS)
    assert info.value.code == "invalid_hwp"


def test_damaged_compressed_body_is_a_parse_error(tmp_path: Path) -> None:
    data = edited_copy("source.hwp", tmp_path, "BodyText/Section0", lambda body: b"\xff" * len(body))
    with pytest.raises(ParseError):
        parse_hwp(data, LIMITS)


def test_decompression_is_counted_against_the_limit() -> None:
    data = fixture_path("글상자-압축.hwp").read_bytes()  # a compressed document
    assert texts(parse_hwp(data, ParseLimits(max_decompressed_bytes=64 * 1024)))
    with pytest.raises(LimitExceededError):
        parse_hwp(data, ParseLimits(max_decompressed_bytes=200))


def test_deflate_bomb_stops_at_the_limit() -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = compressor.compress(b"\x00" * (50 * 1024 * 1024)) + compressor.flush()
    assert len(bomb) < 1024 * 1024
    with pytest.raises(LimitExceededError):
        hwp._inflate(bomb, DecompressionBudget(1024 * 1024))


def test_inflate_returns_the_whole_stream_and_tolerates_truncation() -> None:
    original = ("반복되는 본문 " * 200_000).encode("utf-16-le")
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    compressed = compressor.compress(original) + compressor.flush()
    assert hwp._inflate(compressed, DecompressionBudget(len(original))) == original
    truncated = hwp._inflate(compressed[: len(compressed) // 2], DecompressionBudget(len(original)))
    assert original.startswith(truncated)


def test_garbage_is_a_parse_error() -> None:
    with pytest.raises(ParseError) as info:
        parse_hwp(b"definitely not an HWP file" * 100, LIMITS)
    assert info.value.code == "invalid_hwp"


def test_hwp3_is_reported_as_unsupported() -> None:
    with pytest.raises(ParseError) as info:
        parse_hwp(b"HWP Document File V3.00 \x1a\x01\x02\x03\x04\x05" + b"\x00" * 200, LIMITS)
    assert info.value.code == "unsupported_hwp_version"


# --- record-level decoding ----------------------------------------------------------------


def record(tag: int, level: int, payload: bytes) -> bytes:
    if len(payload) >= 0xFFF:
        return struct.pack("<II", tag | level << 10 | 0xFFF << 20, len(payload)) + payload
    return struct.pack("<I", tag | level << 10 | len(payload) << 20) + payload


def test_para_text_controls_are_removed_and_tab_kept() -> None:
    tab = "\t" + "\x00" * 6 + "\t"  # inline control 9: 8 WCHARs standing for a tab
    table = "\x0b" + b" lbt".decode("utf-16-le") + "\x00" * 4 + "\x0b"  # extended control 'tbl '
    auto_number = "\x12" + b"onta".decode("utf-16-le") + "\x00" * 4 + "\x12"  # extended 'atno'
    field_end = "\x04" + "\x00" * 6 + "\x04"  # inline control
    text = f"가{tab}나{table}다{field_end}\n라\x18\x1e마\x1f표 {auto_number}😀\r"
    payload = text.encode("utf-16-le") + b"\x00\xd8"  # a trailing lone surrogate is dropped
    assert hwp._decode_para_text(payload, {"atno": ["7"]}) == "가\t나다\n라- 마 표 7😀"


def test_long_records_and_levels_nest_into_a_tree() -> None:
    long_text = ("가" * 3000 + "\r").encode("utf-16-le")
    stream = record(hwp._TAG_PARA_HEADER, 0, b"\x00" * 24) + record(hwp._TAG_PARA_TEXT, 1, long_text)
    stream += record(hwp._TAG_PARA_HEADER, 0, b"\x00" * 24) + b"\x01\x02"  # truncated trailing record
    tree = hwp._record_tree(stream)
    assert [r.tag for r in tree] == [hwp._TAG_PARA_HEADER, hwp._TAG_PARA_HEADER]
    assert tree[0].children[0].data == long_text
    styles = hwp._paragraph_styles(b"")
    assert [b.text for b in hwp._section_blocks(stream, styles)] == ["가" * 3000]


def test_dutmal_and_caption_number_render_in_place() -> None:
    def control(ctrl_id: str, data: bytes) -> bytes:
        return record(hwp._TAG_CTRL_HEADER, 1, ctrl_id.encode("latin-1")[::-1] + data)

    def extended(ctrl_id: str, code: str) -> str:
        return code + ctrl_id.encode("latin-1")[::-1].decode("utf-16-le") + "\x00" * 4 + code

    def hwp_string(text: str) -> bytes:
        return struct.pack("<H", len(text)) + text.encode("utf-16-le")

    text = f"표 {extended('atno', chr(0x12))}: {extended('tdut', chr(0x17))}이다\r"
    stream = record(hwp._TAG_PARA_HEADER, 0, b"\x00" * 24)
    stream += record(hwp._TAG_PARA_TEXT, 1, text.encode("utf-16-le"))
    stream += control("atno", struct.pack("<IH", 4, 3) + b"\x00" * 2)  # table number 3
    stream += control("tdut", hwp_string("直指") + hwp_string("직지") + b"\x00" * 12)
    blocks = hwp._section_blocks(stream, hwp._paragraph_styles(b""))
    assert [b.text for b in blocks] == ["표 3: 直指(직지)이다"]
