"""HWPX parser: real sample documents (hwpxlib) plus crafted hostile and edge-case packages."""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from ingest.document import BlockKind, ParsedDocument, ParseLimits
from ingest.errors import EncryptedDocumentError, LimitExceededError, ParseError
from ingest.parsers import hwpx
from ingest.parsers.hwpx import parse_hwpx
from tests.support.paths import HWPX_FIXTURES as FIXTURES

# Every sample under tests/data/fixtures/hwpx (hwpxlib's, see its README); a missing one fails its tests.
ALL_FIXTURES = [
    "ChangeTrack.hwpx",
    "HeaderFooter.hwpx",
    "MultiColumn.hwpx",
    "PageFunctions.hwpx",
    "ParaHead.hwpx",
    "RectInRect.hwpx",
    "SimpleEquation.hwpx",
    "SimplePicture.hwpx",
    "SimpleTable.hwpx",
    "blank.hwpx",
    "sample1.hwpx",
]
PREVIEWED = [
    name
    for name in ALL_FIXTURES
    if (FIXTURES / name).is_file() and zipfile.Path(FIXTURES / name, "Preview/PrvText.txt").exists()
]
BAD_CHARS = re.compile("[\x00-\x08\x0b-\x1f\ufffd]")
LIMITS = ParseLimits()

HP = "http://www.hancom.co.kr/hwpml/2011/paragraph"
HS = "http://www.hancom.co.kr/hwpml/2011/section"
OPF = "http://www.idpf.org/2007/opf/"


def fixture_bytes(name: str) -> bytes:
    path = FIXTURES / name
    assert path.is_file(), f"HWPX sample {name} is missing from {FIXTURES}"
    return path.read_bytes()


def parse_fixture(name: str) -> ParsedDocument:
    return parse_hwpx(fixture_bytes(name), LIMITS)


def texts(doc: ParsedDocument) -> list[str]:
    return [b.text for b in doc.blocks if b.text.strip()]


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# --- crafted packages ---------------------------------------------------------------------


def section_xml(body: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><hs:sec xmlns:hs="{HS}" xmlns:hp="{HP}">{body}</hs:sec>'


def para(text: str, para_pr: str = "0") -> str:
    return f'<hp:p paraPrIDRef="{para_pr}"><hp:run><hp:t>{text}</hp:t></hp:run></hp:p>'


def content_hpf(sections: list[str], title: str = "") -> str:
    items = "".join(
        f'<opf:item id="s{i}" href="{s}" media-type="application/xml"/>' for i, s in enumerate(sections)
    )
    refs = "".join(f'<opf:itemref idref="s{i}"/>' for i in range(len(sections)))
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><opf:package xmlns:opf="{OPF}">'
        f"<opf:metadata><opf:title>{title}</opf:title></opf:metadata>"
        f'<opf:manifest><opf:item id="header" href="Contents/header.xml" media-type="application/xml"/>'
        f'{items}</opf:manifest><opf:spine><opf:itemref idref="header"/>{refs}</opf:spine></opf:package>'
    )


def make_hwpx(members: dict[str, str | bytes], *, hpf: bool = True) -> bytes:
    """A minimal HWPX zip; ``members`` maps names to content (sections default to the spine)."""
    sections = sorted(name for name in members if re.search(r"section\d+\.xml$", name))
    files: dict[str, str | bytes] = {"mimetype": "application/hwp+zip"}
    if hpf:
        files["Contents/content.hpf"] = content_hpf(sections)
    files.update(members)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


# --- real documents -----------------------------------------------------------------------


def test_the_sample_folder_holds_exactly_the_listed_samples() -> None:
    assert sorted(p.name for p in FIXTURES.glob("*.hwpx")) == sorted(ALL_FIXTURES)


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_fixture_text_is_clean(name: str) -> None:
    doc = parse_fixture(name)
    for block in doc.blocks:
        assert block.text.strip(), f"empty block in {name}"
        assert not BAD_CHARS.search(block.text), f"control character or U+FFFD in {name}: {block.text!r}"


@pytest.mark.parametrize("name", PREVIEWED)
def test_fixture_covers_its_preview_text(name: str) -> None:
    """Every phrase of the Preview/PrvText.txt Hangul wrote appears in what the parser reads."""
    data = fixture_bytes(name)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        preview = archive.read("Preview/PrvText.txt").decode("utf-8")
    body = squash(parse_hwpx(data, LIMITS).text)
    for phrase in re.split(r"[<>\r\n]+", preview):
        if phrase.strip():
            assert squash(phrase) in body, f"{phrase!r} missing from {name}"


def test_simple_table_is_a_markdown_table_with_merged_cells() -> None:
    doc = parse_fixture("SimpleTable.hwpx")
    tables = [b for b in doc.blocks if b.kind is BlockKind.TABLE]
    assert len(tables) == 1
    # 3×3 grid: "1" spans rows 0-1 and columns 0-1, "4" spans columns 1-2 of the last row.
    assert tables[0].text == "| 1 |  | 2 |\n| --- | --- | --- |\n|  |  | 3 |\n| 5 | 4 |  |"


def test_header_and_footer_are_labelled() -> None:
    assert texts(parse_fixture("HeaderFooter.hwpx")) == ["[꼬리말] 꼬리말", "[머리말] 머리말 테스트"]


def test_text_inside_nested_rectangles() -> None:
    assert texts(parse_fixture("RectInRect.hwpx")) == [
        "사각형 안에 텍스트입니다.",
        "사각형 안에 사각형의 텍스트입니다.",
    ]


def test_outline_paragraphs_are_headings_and_numbered_ones_list_items() -> None:
    doc = parse_fixture("ParaHead.hwpx")
    by_text = {b.text: b for b in doc.blocks}
    assert (by_text["개요1"].kind, by_text["개요1"].level) == (BlockKind.HEADING, 1)
    assert (by_text["개요1-1"].kind, by_text["개요1-1"].level) == (BlockKind.HEADING, 2)
    assert (by_text["개요2-1-1"].kind, by_text["개요2-1-1"].level) == (BlockKind.HEADING, 3)
    assert (by_text["글머리1-1"].kind, by_text["글머리1-1"].level) == (BlockKind.LIST_ITEM, 0)
    assert (by_text["번호3-1"].kind, by_text["번호3-1"].level) == (BlockKind.LIST_ITEM, 1)
    assert by_text["번호-4-1-1-1"].level == 3
    assert doc.title == "글머리1"


def test_change_tracking_keeps_text_and_tab() -> None:
    doc = parse_fixture("ChangeTrack.hwpx")
    assert texts(doc) == ["변경 추적 \t인간은"]
    assert doc.title == "변경 추적 인간은"


def test_form_fields_and_drawing_objects_keep_running_text() -> None:
    assert texts(parse_fixture("sample1.hwpx")) == ["수학", "우리는 수학 이다.더"]


def test_page_function_controls_leave_only_text() -> None:
    doc = parse_fixture("PageFunctions.hwpx")
    assert texts(doc) == ["테스트 ...", "한글 테스트 ..."]
    assert doc.title == "테스트"


def test_multi_column_paragraphs_in_order() -> None:
    expected = ["1", "2", "3", "4", "5", "7", "8", "9", "10", "1"]  # the sample has no "6"
    assert texts(parse_fixture("MultiColumn.hwpx"))[:10] == expected


@pytest.mark.parametrize("name", ["blank.hwpx", "SimpleEquation.hwpx", "SimplePicture.hwpx"])
def test_documents_without_text_yield_no_blocks(name: str) -> None:
    # Equation scripts and the automatic "그림입니다." picture comments are not reading text.
    doc = parse_fixture(name)
    assert texts(doc) == []
    assert doc.title is None


# --- crafted: structure ---------------------------------------------------------------------


def test_sections_follow_the_spine_and_title_is_read() -> None:
    data = make_hwpx(
        {
            "Contents/section0.xml": section_xml(para("첫 구역")),
            "Contents/section1.xml": section_xml(para("둘째 구역")),
        }
    )
    doc = parse_hwpx(data, LIMITS)
    assert texts(doc) == ["첫 구역", "둘째 구역"]


def test_without_manifest_sections_are_read_in_numeric_order() -> None:
    members: dict[str, str | bytes] = {
        f"Contents/section{i}.xml": section_xml(para(f"구역 {i}")) for i in (10, 2, 0, 1)
    }
    doc = parse_hwpx(make_hwpx(members, hpf=False), LIMITS)
    assert texts(doc) == ["구역 0", "구역 1", "구역 2", "구역 10"]


def test_inline_elements_tabs_and_line_breaks() -> None:
    body = (
        '<hp:p paraPrIDRef="0"><hp:run><hp:t>가<hp:tab/>나<hp:lineBreak/>다<hp:markpenBegin/></hp:t></hp:run>'
        "<hp:run><hp:t>라</hp:t></hp:run></hp:p>"
    )
    doc = parse_hwpx(make_hwpx({"Contents/section0.xml": section_xml(body)}), LIMITS)
    assert texts(doc) == ["가\t나\n다라"]


def test_dutmal_shows_main_text_with_its_annotation() -> None:
    body = (
        '<hp:p paraPrIDRef="0"><hp:run><hp:t>직지는 </hp:t><hp:dutmal><hp:mainText>直指</hp:mainText>'
        "<hp:subText>직지</hp:subText></hp:dutmal><hp:t>이다</hp:t></hp:run></hp:p>"
    )
    doc = parse_hwpx(make_hwpx({"Contents/section0.xml": section_xml(body)}), LIMITS)
    assert texts(doc) == ["직지는 直指(직지)이다"]


def test_footnote_and_endnote_are_labelled_and_nested_table_is_flattened() -> None:
    note = (
        '<hp:p paraPrIDRef="0"><hp:run><hp:t>본문</hp:t><hp:ctrl><hp:footNote number="1"><hp:subList>'
        f"{para('각주 내용')}</hp:subList></hp:footNote></hp:ctrl>"
        f"<hp:ctrl><hp:endNote><hp:subList>{para('미주 내용')}</hp:subList></hp:endNote></hp:ctrl>"
        "</hp:run></hp:p>"
    )
    inner = (
        '<hp:tbl><hp:tr><hp:tc><hp:subList>{0}</hp:subList><hp:cellAddr colAddr="0" rowAddr="0"/></hp:tc>'
        '<hp:tc><hp:subList>{1}</hp:subList><hp:cellAddr colAddr="1" rowAddr="0"/></hp:tc></hp:tr></hp:tbl>'
    )
    nested = inner.format(para("안1"), para("안2"))
    outer_cell = f'<hp:p paraPrIDRef="0"><hp:run><hp:t>바깥</hp:t>{nested}</hp:run></hp:p>'
    table = f'<hp:p paraPrIDRef="0"><hp:run>{inner.format(outer_cell, para("옆 | 칸"))}</hp:run></hp:p>'
    doc = parse_hwpx(make_hwpx({"Contents/section0.xml": section_xml(note + table)}), LIMITS)
    assert texts(doc)[:3] == ["본문", "[각주] 각주 내용", "[미주] 미주 내용"]
    assert doc.blocks[3].kind is BlockKind.TABLE
    assert doc.blocks[3].text == "| 바깥 안1 안2 | 옆 \\| 칸 |\n| --- | --- |"


def test_not_a_zip_is_a_parse_error() -> None:
    with pytest.raises(ParseError) as info:
        parse_hwpx(b"this is not a zip file at all" * 10, LIMITS)
    assert info.value.code == "invalid_hwpx"
    assert "HWPX" in info.value.message_ko


def test_zip_without_owpml_structure_is_a_parse_error() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ParseError):
        parse_hwpx(buffer.getvalue(), LIMITS)


def test_damaged_xml_is_a_parse_error() -> None:
    data = make_hwpx({"Contents/section0.xml": "<hs:sec><hp:p>"})
    with pytest.raises(ParseError):
        parse_hwpx(data, LIMITS)


# --- crafted: hostile input -----------------------------------------------------------------


def test_zip_bomb_is_stopped_by_counting_decompressed_bytes() -> None:
    bomb = b"<hs:sec>" + b"\x00" * (50 * 1024 * 1024)
    data = make_hwpx({"Contents/section0.xml": bomb})
    assert len(data) < 1024 * 1024
    with pytest.raises(LimitExceededError):
        parse_hwpx(data, ParseLimits(max_decompressed_bytes=1024 * 1024))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_xml_with_doctype_is_refused(encoding: str) -> None:
    billion_laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
        f'<hs:sec xmlns:hs="{HS}" xmlns:hp="{HP}"><hp:p><hp:run><hp:t>&lol2;</hp:t></hp:run></hp:p></hs:sec>'
    )
    data = make_hwpx({"Contents/section0.xml": billion_laughs.encode(encoding)})
    with pytest.raises(ParseError) as info:
        parse_hwpx(data, LIMITS)
    assert info.value.code == "xml_dtd_forbidden"


def test_entity_declaration_in_manifest_is_refused() -> None:
    data = make_hwpx(
        {
            "Contents/section0.xml": section_xml(para("본문")),
            "META-INF/manifest.xml": '<!ENTITY x SYSTEM "file:///etc/passwd"><manifest/>',
        }
    )
    with pytest.raises(ParseError):
        parse_hwpx(data, LIMITS)


@pytest.mark.parametrize("name", ["BinData/image1.bmp", "Preview/PrvImage.png", "settings"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_entity_bomb_in_a_member_with_an_innocent_name_is_refused(name: str, encoding: str) -> None:
    # Members the parser never reads are XML by content too: the file is stored and downloaded whole.
    billion_laughs = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><lolz>&lol;</lolz>'
    data = make_hwpx(
        {"Contents/section0.xml": section_xml(para("본문")), name: billion_laughs.encode(encoding)}
    )
    with pytest.raises(ParseError) as info:
        parse_hwpx(data, LIMITS)
    assert info.value.code == "xml_dtd_forbidden"
    assert name in str(info.value)


def test_xml_member_in_utf7_is_refused() -> None:
    utf7 = b'<?xml version="1.0" encoding="UTF-7"?>+ADw-!DOCTYPE d +AFs-+ADw-!ENTITY x "y"+AD4-+AF0-+AD4-<d/>'
    data = make_hwpx({"Contents/section0.xml": section_xml(para("본문")), "BinData/a.xml": utf7})
    with pytest.raises(ParseError) as info:
        parse_hwpx(data, LIMITS)
    assert info.value.code == "xml_encoding_forbidden"


def test_encrypted_package_is_reported() -> None:
    manifest = (
        '<odf:manifest xmlns:odf="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
        '<odf:file-entry odf:full-path="Contents/section0.xml"><odf:encryption-data odf:checksum="x"/>'
        "</odf:file-entry></odf:manifest>"
    )
    data = make_hwpx({"Contents/section0.xml": b"\x8f\x01garbage", "META-INF/manifest.xml": manifest})
    with pytest.raises(EncryptedDocumentError):
        parse_hwpx(data, LIMITS)


def test_zip_with_too_many_members_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hwpx, "_MAX_MEMBERS", 10)
    members: dict[str, str | bytes] = {f"BinData/empty{i}.bin": b"" for i in range(10)}
    members["Contents/section0.xml"] = section_xml(para("본문"))
    with pytest.raises(ParseError) as info:
        parse_hwpx(make_hwpx(members), LIMITS)
    assert info.value.code == "too_many_members"


def test_more_sections_than_max_pages_is_a_limit_error() -> None:
    members: dict[str, str | bytes] = {f"Contents/section{i}.xml": section_xml(para("x")) for i in range(3)}
    with pytest.raises(LimitExceededError):
        parse_hwpx(make_hwpx(members), ParseLimits(max_pages=2))


def test_absurdly_deep_nesting_is_a_parse_error() -> None:
    depth = 3000
    opening = '<hp:p paraPrIDRef="0"><hp:run><hp:rect><hp:drawText><hp:subList>'
    closing = "</hp:subList></hp:drawText></hp:rect></hp:run></hp:p>"
    body = opening * depth + para("바닥") + closing * depth
    data = make_hwpx({"Contents/section0.xml": section_xml(body)})
    with pytest.raises(ParseError) as info:
        parse_hwpx(data, LIMITS)
    assert info.value.code == "nesting_too_deep"
