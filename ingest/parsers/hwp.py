"""HWP 5.0 parser: the binary Hangul format, an OLE compound file of record streams.

``FileHeader`` says whether streams are compressed (raw deflate) and whether the document is
password-protected or a distribution (배포용) document, whose body is encrypted in ``ViewText``.
Body text lives in ``BodyText/Section0..N``: a flat stream of records (tag, level, size) whose
levels nest them into a tree. A paragraph (``PARA_HEADER``) owns its text (``PARA_TEXT``) and its
controls (``CTRL_HEADER``); tables, text boxes, headers/footers and notes hold further paragraphs
below their control. ``DocInfo`` supplies paragraph shapes, which say which paragraphs are outline
headings or list items. ``PrvText`` is only a truncated preview and is never used.

Pictures live in ``BinData/BINxxxx.ext`` streams (raw deflate when the document is compressed,
unless already an image). With ``limits.ocr`` on, those that may hold text are read by OCR
(:mod:`ingest.parsers.embedded_ocr`); their text follows the body, in picture-number order,
located and cited as ``그림 N (OCR x%)`` (where in the body a picture stands is not traced).

See the "한글 문서 파일 형식 5.0" specification published by Hancom (and neolord0/hwplib).
"""

from __future__ import annotations

import io
import logging
import re
import struct
import sys
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import olefile

from ingest.document import Block, ParsedDocument, ParseLimits
from ingest.errors import EncryptedDocumentError, LimitExceededError, ParseError
from ingest.ocr import OCR_OFF
from ingest.parsers.embedded_ocr import ocr_pictures
from ingest.parsers.hwpx import (
    HEADING_BULLET,
    HEADING_NUMBER,
    HEADING_OUTLINE,
    DecompressionBudget,
    TableCell,
    clean_text,
    label_blocks,
    paragraph_block,
    table_to_blocks,
)

logger = logging.getLogger(__name__)
_BINDATA_RE = re.compile(r"^BinData/BIN([0-9A-Fa-f]{4})\.[A-Za-z0-9]{1,5}$")
# Signatures of image files, stored as they are even in a compressed document.
_IMAGE_MAGICS = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*", b"RIFF")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SIGNATURE = b"HWP Document File"
_HWP3_SIGNATURE = b"HWP Document File V3"
_CHUNK = 64 * 1024
_SECTION_RE = re.compile(r"^BodyText/Section(\d+)$")
_SUMMARY_STREAM = "\x05HwpSummaryInformation"
_PID_TITLE = 2
_VT_LPWSTR = 0x1F
# What olefile raises on a damaged compound file.
_OLE_ERRORS = (OSError, ValueError, TypeError, struct.error, IndexError, KeyError, OverflowError)

# FileHeader property bits.
_FLAG_COMPRESSED = 1 << 0
_FLAG_PASSWORD = 1 << 1
_FLAG_DISTRIBUTION = 1 << 2
_FLAG_DRM = 1 << 4
_FLAG_CERT_ENCRYPTED = 1 << 8
_FLAG_CERT_DRM = 1 << 10

# Record tags.
_HWPTAG_BEGIN = 0x10
_TAG_PARA_SHAPE = _HWPTAG_BEGIN + 9
_TAG_PARA_HEADER = _HWPTAG_BEGIN + 50
_TAG_PARA_TEXT = _HWPTAG_BEGIN + 51
_TAG_CTRL_HEADER = _HWPTAG_BEGIN + 55
_TAG_LIST_HEADER = _HWPTAG_BEGIN + 56
_TAG_TABLE = _HWPTAG_BEGIN + 61

# Paragraph shape heading types (property bits 23-24).
_HEADING_TYPES: Mapping[int, str] = MappingProxyType(
    {1: HEADING_OUTLINE, 2: HEADING_NUMBER, 3: HEADING_BULLET}
)
# Controls whose paragraphs are labelled so people can tell them from the body.
_NOTE_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "head": "머리말",
        "foot": "꼬리말",
        "fn  ": "각주",
        "en  ": "미주",
        "tcmt": "숨은 설명",
        "secd": "바탕쪽",
    }
)
_CTRL_TABLE = "tbl "
_CTRL_AUTO_NUMBER = "atno"
_CTRL_DUTMAL = "tdut"
_CAPTION_NUMBER_TYPES = frozenset({3, 4, 5})  # picture, table, equation

# PARA_TEXT control characters. Inline and extended controls take 8 WCHARs (the code, six
# WCHARs of data, the code again); char controls take one. Only extended ones own a CTRL_HEADER.
_INLINE_OR_EXTENDED = "\x01-\x09\x0b\x0c\x0e-\x17"
_CONTROL_RE = re.compile(f"[{_INLINE_OR_EXTENDED}].{{0,7}}", re.DOTALL)
# Char controls: tab (re-inserted for inline code 9), line break, hyphen, bound and fixed-width
# spaces; every other code below 32 (paragraph end 13 included) is deleted.
_KEPT_CHAR_CONTROLS: Mapping[int, str] = MappingProxyType({9: "\t", 10: "\n", 24: "-", 30: " ", 31: " "})
_CHAR_CONTROL_RE = re.compile("[\x00-\x1f]")
_UTF32_NATIVE = "utf-32-le" if sys.byteorder == "little" else "utf-32-be"


@dataclass(slots=True)
class _Record:
    """One record of a record stream, with the records nested under it."""

    tag: int
    level: int
    data: bytes
    children: list[_Record] = field(default_factory=list)

    def ctrl_id(self) -> str:
        """The four-letter control id of a CTRL_HEADER (stored byte-reversed)."""
        return self.data[:4][::-1].decode("latin-1")


@dataclass(frozen=True, slots=True)
class _Header:
    version: int
    flags: int

    @property
    def compressed(self) -> bool:
        return bool(self.flags & _FLAG_COMPRESSED)


@dataclass(frozen=True, slots=True)
class _Styles:
    """Paragraph shape ids → (heading type, level), from DocInfo."""

    headings: Mapping[int, tuple[str, int]]


# --------------------------------------------------------------------------------------------
# Container: OLE file, header, streams
# --------------------------------------------------------------------------------------------


def _invalid(detail_ko: str = "", detail_en: str = "") -> ParseError:
    return ParseError(
        "invalid_hwp",
        f"올바른 한글(HWP) 파일이 아닙니다{detail_ko}",
        f"Not a valid Hangul HWP file{detail_en}",
    )


def _open_ole(data: bytes) -> olefile.OleFileIO:
    if data.startswith(_HWP3_SIGNATURE):
        raise ParseError(
            "unsupported_hwp_version",
            "HWP 3.0 이하 형식은 지원하지 않습니다. 한글에서 HWP 5.0 이상(또는 HWPX)으로 저장해 주세요",
            "HWP 3.0 and older files are not supported; save the document as HWP 5.0+ or HWPX",
        )
    if not data.startswith(_OLE_MAGIC):
        raise _invalid(" (OLE 복합 문서가 아닙니다)", " (not an OLE compound file)")
    try:
        return olefile.OleFileIO(io.BytesIO(data))
    except _OLE_ERRORS as exc:
        raise _invalid(" (손상된 OLE 구조)", " (damaged OLE structure)") from exc


def _read_raw(ole: olefile.OleFileIO, name: str) -> bytes:
    """A stream's bytes, refusing a declared size larger than the whole file.

    No real stream is larger than the file holding it; a larger size means a crafted sector
    chain that loops over the same sectors to blow up memory.
    """
    try:
        if ole.get_size(name) > _file_size(ole):
            raise _invalid(" (손상된 OLE 구조)", " (damaged OLE structure)")
        with ole.openstream(name) as stream:
            data: bytes = stream.read()
    except _OLE_ERRORS as exc:
        raise _invalid(" (손상된 OLE 구조)", " (damaged OLE structure)") from exc
    return data


def _file_size(ole: olefile.OleFileIO) -> int:
    ole.fp.seek(0, io.SEEK_END)
    return int(ole.fp.tell())


def _read_header(ole: olefile.OleFileIO) -> _Header:
    if not ole.exists("FileHeader"):
        raise _invalid(" (FileHeader 없음)", " (no FileHeader stream)")
    raw = _read_raw(ole, "FileHeader")
    if len(raw) < 40 or not raw.startswith(_SIGNATURE):
        raise _invalid(" (HWP 서명 없음)", " (missing HWP signature)")
    version, flags = struct.unpack_from("<II", raw, 32)
    if version >> 24 != 5:
        raise ParseError(
            "unsupported_hwp_version",
            f"지원하지 않는 HWP 버전입니다 ({version >> 24}.x). HWP 5.0 이상만 읽을 수 있습니다",
            f"Unsupported HWP version ({version >> 24}.x); only HWP 5.0 and later can be read",
        )
    return _Header(version=version, flags=flags)


def _reject_protected(header: _Header, ole: olefile.OleFileIO) -> None:
    """Password, distribution (배포용) and DRM documents keep their body text encrypted."""
    if header.flags & _FLAG_DISTRIBUTION or ole.exists("ViewText"):
        raise EncryptedDocumentError(
            "hwp_distribution_document",
            "배포용(DRM) 문서라 본문이 암호화되어 있어 읽을 수 없습니다. "
            "배포용 설정을 해제한 원본을 올려 주세요",
            "This is a distribution (DRM-protected) HWP document; its body text is encrypted. "
            "Upload the original document instead",
        )
    if header.flags & _FLAG_PASSWORD:
        raise EncryptedDocumentError(
            "encrypted_document",
            "암호가 걸린 한글(HWP) 문서라 읽을 수 없습니다. 암호를 해제한 뒤 다시 올려 주세요",
            "This HWP document is password-protected; remove the password and upload it again",
        )
    if header.flags & (_FLAG_DRM | _FLAG_CERT_ENCRYPTED | _FLAG_CERT_DRM):
        raise EncryptedDocumentError(
            "hwp_drm_document",
            "DRM·인증서로 보호된 한글(HWP) 문서라 본문을 읽을 수 없습니다",
            "This HWP document is protected by DRM or certificate encryption; its text cannot be read",
        )


def _read_stream(ole: olefile.OleFileIO, name: str, header: _Header, budget: DecompressionBudget) -> bytes:
    raw = _read_raw(ole, name)
    return _inflate(raw, budget) if header.compressed else raw


def _inflate(raw: bytes, budget: DecompressionBudget) -> bytes:
    """Raw-deflate ``raw`` incrementally, counting every byte produced against ``budget``.

    Output is drawn at most ``_CHUNK`` bytes at a time until the stream ends; a truncated
    stream (no progress without more input) yields what it held.
    """
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    parts: list[bytes] = []
    pending = raw
    try:
        while not inflater.eof:
            chunk = inflater.decompress(pending, _CHUNK)
            if not chunk and len(inflater.unconsumed_tail) == len(pending):
                break
            budget.consume(len(chunk))
            parts.append(chunk)
            pending = inflater.unconsumed_tail
    except zlib.error as exc:
        raise _invalid(" (압축된 본문이 손상됨)", " (damaged compressed stream)") from exc
    return b"".join(parts)


def _section_names(ole: olefile.OleFileIO, limits: ParseLimits) -> list[str]:
    """``BodyText/SectionN`` streams in numeric order."""
    found: list[tuple[int, str]] = []
    for entry in ole.listdir(streams=True, storages=False):
        match = _SECTION_RE.match("/".join(entry))
        if match:
            found.append((int(match.group(1)), match.group(0)))
    if not found:
        raise _invalid(" (본문 BodyText 없음)", " (no BodyText sections)")
    if len(found) > limits.max_pages:
        raise LimitExceededError(
            "too_many_pages",
            f"문서의 구역이 너무 많습니다 ({len(found):,}개, 최대 {limits.max_pages:,}쪽)",
            f"The document has too many sections ({len(found):,}; at most {limits.max_pages:,} pages)",
        )
    return [name for _, name in sorted(found)]


def _title(ole: olefile.OleFileIO) -> str | None:
    """The title from ``HwpSummaryInformation``, when the document states one.

    The property set is read here rather than by olefile, whose parser can spin for minutes on
    a crafted vector count. Layout (MS-OLEPS): a 28-byte header, the first set's FMTID and
    offset, then at that offset the set's size, property count and (id, offset) pairs.
    """
    if not ole.exists(_SUMMARY_STREAM):
        return None
    try:
        raw = _read_raw(ole, _SUMMARY_STREAM)
    except ParseError:
        return None  # the title is optional; a damaged summary must not lose the body
    if len(raw) < 48:
        return None
    (start,) = struct.unpack_from("<I", raw, 44)
    if start + 8 > len(raw):
        return None
    (count,) = struct.unpack_from("<I", raw, start + 4)
    for index in range(min(count, (len(raw) - start - 8) // 8)):
        property_id, offset = struct.unpack_from("<II", raw, start + 8 + 8 * index)
        if property_id == _PID_TITLE:
            return _wide_string(raw, start + offset)
    return None


def _wide_string(raw: bytes, at: int) -> str | None:
    """A VT_LPWSTR property value: type, padding, character count, UTF-16 characters."""
    if at + 8 > len(raw):
        return None
    value_type, length = struct.unpack_from("<HxxI", raw, at)
    if value_type != _VT_LPWSTR:
        return None
    text = raw[at + 8 : at + 8 + 2 * length].decode("utf-16-le", "ignore")
    return clean_text(text.split("\x00", 1)[0]) or None


# --------------------------------------------------------------------------------------------
# Record streams
# --------------------------------------------------------------------------------------------


def _iter_records(stream: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(tag, level, payload) for each record; a truncated final record ends the stream."""
    offset = 0
    while offset + 4 <= len(stream):
        (header,) = struct.unpack_from("<I", stream, offset)
        offset += 4
        size = header >> 20
        if size == 0xFFF:
            if offset + 4 > len(stream):
                return
            (size,) = struct.unpack_from("<I", stream, offset)
            offset += 4
        if offset + size > len(stream):
            return
        yield header & 0x3FF, (header >> 10) & 0x3FF, stream[offset : offset + size]
        offset += size


def _record_tree(stream: bytes) -> list[_Record]:
    """Nest records by level: each record owns the deeper records that follow it."""
    roots: list[_Record] = []
    stack: list[_Record] = []
    for tag, level, payload in _iter_records(stream):
        record = _Record(tag, level, payload)
        while stack and stack[-1].level >= level:
            stack.pop()
        (stack[-1].children if stack else roots).append(record)
        stack.append(record)
    return roots


def _paragraph_styles(doc_info: bytes) -> _Styles:
    """Heading type and level of each paragraph shape (ids are positions in DocInfo)."""
    headings: dict[int, tuple[str, int]] = {}
    shape_id = 0
    for tag, _level, payload in _iter_records(doc_info):
        if tag != _TAG_PARA_SHAPE:
            continue
        if len(payload) >= 4:
            (properties,) = struct.unpack_from("<I", payload)
            kind = _HEADING_TYPES.get((properties >> 23) & 0x3)
            if kind is not None:
                headings[shape_id] = (kind, (properties >> 25) & 0x7)
        shape_id += 1
    return _Styles(headings)


# --------------------------------------------------------------------------------------------
# Paragraph text
# --------------------------------------------------------------------------------------------


def _units_as_text(payload: bytes) -> str:
    """UTF-16LE code units as a string of one character per unit (surrogates kept apart)."""
    units = array("H", payload[: len(payload) // 2 * 2])
    if sys.byteorder == "big":
        units.byteswap()
    return array("I", units).tobytes().decode(_UTF32_NATIVE, "surrogatepass")


def _decode_para_text(payload: bytes, inline: Mapping[str, Sequence[str]]) -> str:
    """Paragraph text without its control characters.

    Inline and extended controls (8 WCHARs each) are dropped, except a tab (code 9) and the
    extended controls listed in ``inline`` (control id → the text of each occurrence, in order),
    such as automatic caption numbers. Char controls become a line break, hyphen or space, or
    nothing. Lone surrogates are dropped.
    """
    pending = {ctrl_id: iter(texts) for ctrl_id, texts in inline.items()}

    def replace(match: re.Match[str]) -> str:
        code = match.group(0)
        if code[0] == "\t":
            return "\t"
        ctrl_id = code[1:3].encode("utf-16-le", "surrogatepass")[::-1].decode("latin-1")
        return next(pending[ctrl_id], "") if ctrl_id in pending else ""

    text = _CONTROL_RE.sub(replace, _units_as_text(payload))
    text = _CHAR_CONTROL_RE.sub(lambda char: _KEPT_CHAR_CONTROLS.get(ord(char.group(0)), ""), text)
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "ignore")


def _auto_number(record: _Record) -> str:
    """The displayed number of a caption's ``atno`` control (표 1, 그림 2, 수식 3).

    The data after the control id is UINT32 properties (bits 0-3: what is numbered) and the
    UINT16 number. Page numbers are computed at layout and note numbers only repeat the note's
    own index, so those render as nothing.
    """
    if len(record.data) < 10:
        return ""
    properties, number = struct.unpack_from("<IH", record.data, 4)
    return str(number) if properties & 0xF in _CAPTION_NUMBER_TYPES else ""


def _hwp_string(data: bytes, offset: int) -> tuple[str, int]:
    """A length-prefixed string (WORD count, then WCHARs) and the offset after it."""
    if offset + 2 > len(data):
        return "", len(data)
    (length,) = struct.unpack_from("<H", data, offset)
    end = min(offset + 2 + 2 * length, len(data))
    return data[offset + 2 : end].decode("utf-16-le", "ignore"), end


def _dutmal(record: _Record) -> str:
    """Text with an annotation above or below it (덧말): ``본말(덧말)``."""
    main, offset = _hwp_string(record.data, 4)
    sub, _ = _hwp_string(record.data, offset)
    return f"{main}({sub})" if sub.strip() else main


_INLINE_RENDERERS: Mapping[str, Callable[[_Record], str]] = MappingProxyType(
    {_CTRL_AUTO_NUMBER: _auto_number, _CTRL_DUTMAL: _dutmal}
)


def _inline_texts(paragraph: _Record) -> dict[str, list[str]]:
    """Text shown in place of the paragraph's inline-rendered controls, by control id."""
    found: dict[str, list[str]] = {}
    for child in paragraph.children:
        if child.tag != _TAG_CTRL_HEADER:
            continue
        renderer = _INLINE_RENDERERS.get(child.ctrl_id())
        if renderer is not None:
            found.setdefault(child.ctrl_id(), []).append(renderer(child))
    return found


def _own_text(paragraph: _Record) -> str:
    """The cleaned text of one paragraph, without what its controls hold."""
    inline = _inline_texts(paragraph)
    texts = (
        _decode_para_text(child.data, inline) for child in paragraph.children if child.tag == _TAG_PARA_TEXT
    )
    return clean_text("".join(texts))


# --------------------------------------------------------------------------------------------
# Blocks
# --------------------------------------------------------------------------------------------


def _paragraph_blocks(paragraph: _Record, styles: _Styles) -> list[Block]:
    """The paragraph's own text, then what its controls (tables, boxes, notes) hold."""
    text = _own_text(paragraph)
    blocks = [paragraph_block(text, styles.headings.get(_shape_id(paragraph)))] if text else []
    for child in paragraph.children:
        if child.tag == _TAG_CTRL_HEADER:
            blocks.extend(_control_blocks(child, styles))
    return blocks


def _shape_id(paragraph: _Record) -> int:
    if len(paragraph.data) < 10:
        return -1
    (shape_id,) = struct.unpack_from("<H", paragraph.data, 8)
    return int(shape_id)


def _control_blocks(control: _Record, styles: _Styles) -> list[Block]:
    ctrl_id = control.ctrl_id()
    if ctrl_id == _CTRL_TABLE:
        return _table_blocks(control, styles)
    blocks = _nested_blocks(control.children, styles)
    label = _NOTE_LABELS.get(ctrl_id)
    return label_blocks(blocks, label) if label else blocks


def _nested_blocks(records: Iterable[_Record], styles: _Styles) -> list[Block]:
    """Blocks of the paragraphs found under ``records`` (text boxes, grouped shapes, captions)."""
    blocks: list[Block] = []
    for record in records:
        if record.tag == _TAG_PARA_HEADER:
            blocks.extend(_paragraph_blocks(record, styles))
        elif record.tag == _TAG_CTRL_HEADER:
            blocks.extend(_control_blocks(record, styles))
        else:
            blocks.extend(_nested_blocks(record.children, styles))
    return blocks


def _table_blocks(control: _Record, styles: _Styles) -> list[Block]:
    """A table control: caption paragraphs come before the TABLE record, cells after it.

    Each cell starts with a LIST_HEADER giving its column and row; its paragraphs follow.
    """
    caption: list[_Record] = []
    cells: list[tuple[_Record | None, list[_Record]]] = []
    for record in control.children:
        if record.tag == _TAG_TABLE:
            cells.append((None, []))
        elif not cells:
            caption.append(record)
        elif record.tag == _TAG_LIST_HEADER:
            cells.append((record, []))
        else:
            cells[-1][1].append(record)
    table = [_cell(header, body, index) for index, (header, body) in enumerate(cells) if header]
    return _nested_blocks(caption, styles) + table_to_blocks(table)


def _cell(header: _Record, body: Sequence[_Record], index: int) -> TableCell:
    """A cell from its LIST_HEADER (paragraph count, properties, then column and row)."""
    if len(header.data) >= 12:
        col, row = struct.unpack_from("<HH", header.data, 8)
    else:
        col, row = 0, index
    texts = (_own_text(paragraph) for paragraph in _walk_paragraphs(body))
    return TableCell(row=row, col=col, text=" ".join(text for text in texts if text))


def _walk_paragraphs(records: Iterable[_Record]) -> Iterator[_Record]:
    """Every paragraph under ``records`` in reading order, nested ones included."""
    for record in records:
        if record.tag == _TAG_PARA_HEADER:
            yield record
        yield from _walk_paragraphs(record.children)


def _section_blocks(stream: bytes, styles: _Styles) -> list[Block]:
    return _nested_blocks(_record_tree(stream), styles)


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def parse_hwp(data: bytes, limits: ParseLimits) -> ParsedDocument:
    """Parse an HWP 5.0 document: body paragraphs, tables, text boxes, headers/footers and notes.

    Raises :class:`ParseError` for a file that is not an HWP 5.x OLE document (HWP 3.0 included),
    :class:`EncryptedDocumentError` for password-protected, distribution (배포용) and DRM documents,
    and :class:`LimitExceededError` when the streams decompress to more than the configured limit
    or the document has more sections than ``limits.max_pages``. An empty document yields no
    blocks. The title comes from ``HwpSummaryInformation`` when it states one.
    """
    with _open_ole(data) as ole:
        header = _read_header(ole)
        _reject_protected(header, ole)
        budget = DecompressionBudget(limits.max_decompressed_bytes)
        styles = _read_styles(ole, header, budget)
        try:
            blocks = [
                block
                for name in _section_names(ole, limits)
                for block in _section_blocks(_read_stream(ole, name, header, budget), styles)
            ]
        except RecursionError as exc:
            raise ParseError(
                "nesting_too_deep",
                "문서 안의 표·개체가 지나치게 깊이 중첩되어 읽을 수 없습니다",
                "The document nests tables or objects too deeply to be read",
            ) from exc
        blocks.extend(_picture_blocks(ole, header, budget, limits))
        return ParsedDocument(blocks=blocks, title=_title(ole))


def _picture_blocks(
    ole: olefile.OleFileIO, header: _Header, budget: DecompressionBudget, limits: ParseLimits
) -> list[Block]:
    """Text OCR finds in the ``BinData`` pictures, by picture number; none with OCR off."""
    if limits.ocr == OCR_OFF:
        return []
    found = []
    for entry in ole.listdir(streams=True, storages=False):
        match = _BINDATA_RE.match("/".join(entry))
        if match:
            found.append((int(match.group(1), 16), match.group(0)))
    pictures: list[tuple[int, bytes]] = []
    for number, name in sorted(found):
        try:
            pictures.append((number, _picture_bytes(ole, name, header, budget)))
        except ParseError as exc:  # a damaged picture stream: the text is still indexed
            logger.warning("picture %s not read: %s", name, exc)
    recognised = ocr_pictures(pictures, limits, paged=False)
    return [block for number, _ in pictures for block in recognised.get(number, [])]


def _picture_bytes(ole: olefile.OleFileIO, name: str, header: _Header, budget: DecompressionBudget) -> bytes:
    """A picture stream's image bytes: inflated unless stored as an image file already."""
    raw = _read_raw(ole, name)
    if not header.compressed or raw.startswith(_IMAGE_MAGICS):
        return raw
    return _inflate(raw, budget)


def _read_styles(ole: olefile.OleFileIO, header: _Header, budget: DecompressionBudget) -> _Styles:
    if not ole.exists("DocInfo"):
        return _Styles({})
    return _paragraph_styles(_read_stream(ole, "DocInfo", header, budget))
