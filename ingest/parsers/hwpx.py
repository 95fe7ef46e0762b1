"""HWPX (OWPML, KS X 6101) parser: the zip + XML format of Hancom Office 2010 and later.

The package lists its body sections in ``Contents/content.hpf`` (an OPF manifest and spine); each
``Contents/sectionN.xml`` holds paragraphs (``hp:p`` → ``hp:run`` → ``hp:t``). Tables, text boxes,
headers/footers and notes nest further paragraphs inside ``hp:subList`` elements.

Every zip member is streamed and the bytes actually decompressed are counted against
``ParseLimits.max_decompressed_bytes``; XML with a DTD or entity declaration is refused before it
reaches the XML parser, and every member whose content is XML (whatever its name) is scanned for
one up front (:func:`ingest.parsers.safezip.scan_parts`).

Pictures (``hp:pic`` → ``hc:img binaryItemIDRef`` → a ``BinData/`` member named in the manifest)
are read by OCR when ``limits.ocr`` is on and they may hold text
(:mod:`ingest.parsers.embedded_ocr`): their text follows their section's, located and cited as
``그림 N (OCR x%)`` in the order the pictures first appear.

The helpers shared with the HWP 5.0 parser (:mod:`ingest.parsers.hwp`) live here too: text
cleaning, heading classification, note labels, table-cell layout and the decompression budget.
"""

from __future__ import annotations

import io
import logging
import posixpath
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from xml.etree import ElementTree as ET

from ingest.document import Block, BlockKind, ParsedDocument, ParseLimits
from ingest.errors import EncryptedDocumentError, IngestError, LimitExceededError, ParseError
from ingest.ocr import OCR_OFF
from ingest.parsers.embedded_ocr import ocr_pictures
from ingest.parsers.safezip import scan_parts
from ingest.parsers.tables import table_blocks

logger = logging.getLogger(__name__)
_CHUNK = 64 * 1024
_MAX_MEMBERS = 10_000
_MAX_HEADING_CHARS = 80
_MAX_GRID_FACTOR = 4
_HPF_PATH = "Contents/content.hpf"
_HEADER_PATH = "Contents/header.xml"
_MANIFEST_PATH = "META-INF/manifest.xml"
# What zipfile raises on a damaged archive (bad headers, names, sizes, methods or data).
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    NotImplementedError,
    OSError,
    ValueError,
)
_SECTION_RE = re.compile(r"section(\d+)\.xml$", re.IGNORECASE)
_DTD_RE = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
_SPACE_RUN_RE = re.compile(r"[ \u00a0\u3000]+")

HEADING_OUTLINE = "OUTLINE"
HEADING_NUMBER = "NUMBER"
HEADING_BULLET = "BULLET"

# Inline elements of hp:t and the text each stands for.
_INLINE_TEXT: Mapping[str, str] = MappingProxyType(
    {"tab": "\t", "lineBreak": "\n", "nbSpace": " ", "fwSpace": " ", "hyphen": "-"}
)
# hp:ctrl children whose sub-list text is labelled so people can tell it from the body.
_NOTE_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "header": "머리말",
        "footer": "꼬리말",
        "footNote": "각주",
        "endNote": "미주",
        "hiddenComment": "숨은 설명",
    }
)
# Run-level objects whose content is not reading text (equation scripts, form controls, media).
_CAPTION_NUMBER_TYPES = frozenset({"PICTURE", "TABLE", "EQUATION"})
_SKIPPED_OBJECTS = frozenset({"equation", "shapeComment", "parameters", "video", "chart", "dutmal"})


# --------------------------------------------------------------------------------------------
# Helpers shared with the HWP 5.0 parser
# --------------------------------------------------------------------------------------------


class DecompressionBudget:
    """Counts bytes really produced by decompression; raises once the limit is passed."""

    def __init__(self, limit: int) -> None:
        self._left = limit

    def consume(self, produced: int) -> None:
        """Record ``produced`` more decompressed bytes."""
        self._left -= produced
        if self._left < 0:
            raise LimitExceededError(
                "decompressed_too_large",
                "압축을 풀었을 때 크기가 허용 한도를 넘습니다 (압축 폭탄 의심)",
                "The file decompresses to more than the allowed size (possible zip bomb)",
            )


def clean_text(text: str) -> str:
    """Normalise extracted text: NFC, ``\\n`` line ends, no control characters, trimmed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL_RE.sub("", unicodedata.normalize("NFC", text))
    lines = (_SPACE_RUN_RE.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def paragraph_block(text: str, heading: tuple[str, int] | None) -> Block:
    """A block for one paragraph, using its numbering/outline setting when it has one.

    Outline paragraphs (개요) that are short single lines become headings (outline level 0 →
    heading level 1); numbered and bulleted paragraphs become list items at their depth.
    """
    if heading is None:
        return Block(text)
    kind, level = heading
    if kind == HEADING_OUTLINE and len(text) <= _MAX_HEADING_CHARS and "\n" not in text:
        return Block(text, BlockKind.HEADING, level=level + 1)
    if kind in {HEADING_NUMBER, HEADING_BULLET}:
        return Block(text, BlockKind.LIST_ITEM, level=level)
    return Block(text)


def label_blocks(blocks: Iterable[Block], label: str) -> list[Block]:
    """Prefix text blocks with ``[label]`` (e.g. ``[각주]``); tables keep their Markdown."""
    labelled: list[Block] = []
    for block in blocks:
        if block.kind is BlockKind.TABLE:
            labelled.append(block)
        else:
            labelled.append(Block(f"[{label}] {block.text}"))
    return labelled


@dataclass(frozen=True, slots=True)
class TableCell:
    """One table cell: its grid address (0-based) and its text."""

    row: int
    col: int
    text: str


def cell_rows(cells: Sequence[TableCell]) -> list[list[str]]:
    """Lay cells out as rows of text, by their grid addresses.

    Only rows and columns where some cell starts are kept, so merged cells leave blanks rather
    than empty columns. A layout implausibly sparse for the number of cells (a crafted file)
    falls back to the cells in reading order, grouped by row.
    """
    rows = sorted({cell.row for cell in cells})
    cols = sorted({cell.col for cell in cells})
    if len(rows) * len(cols) > _MAX_GRID_FACTOR * len(cells) + 64:
        return _rows_in_order(cells)
    row_index = {row: i for i, row in enumerate(rows)}
    col_index = {col: i for i, col in enumerate(cols)}
    grid = [[""] * len(cols) for _ in rows]
    for cell in cells:
        grid[row_index[cell.row]][col_index[cell.col]] = cell.text
    return grid


def _rows_in_order(cells: Sequence[TableCell]) -> list[list[str]]:
    grouped: dict[int, list[str]] = {}
    for cell in sorted(cells, key=lambda c: (c.row, c.col)):
        grouped.setdefault(cell.row, []).append(cell.text)
    return list(grouped.values())


def table_to_blocks(cells: Sequence[TableCell]) -> list[Block]:
    """Markdown TABLE blocks for a table's cells (none when every cell is blank)."""
    if not any(cell.text for cell in cells):
        return []
    return table_blocks(cell_rows(cells))


def reject_dtd(data: bytes, name: str) -> None:
    """Refuse XML that declares a DTD or entities (XXE, "billion laughs")."""
    if _DTD_RE.search(_xml_text_for_scan(data)):
        raise ParseError(
            "xml_dtd_forbidden",
            f"문서 내부 XML({name})에 허용되지 않는 DTD/엔티티 선언이 있습니다",
            f"An XML part ({name}) contains a forbidden DTD/entity declaration",
        )


def _xml_text_for_scan(data: bytes) -> str:
    """The XML as text for the DTD scan, whatever its byte encoding (UTF-8 or UTF-16)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="ignore")
    if data.startswith(b"<\x00"):
        return data.decode("utf-16-le", errors="ignore")
    if data.startswith(b"\x00<"):
        return data.decode("utf-16-be", errors="ignore")
    return data.decode("latin-1")


# --------------------------------------------------------------------------------------------
# The HWPX package
# --------------------------------------------------------------------------------------------


def _local(tag: object) -> str:
    """An element's name without its namespace (``{ns}p`` → ``p``)."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(element: ET.Element, name: str) -> Iterator[ET.Element]:
    return (child for child in element if _local(child.tag) == name)


def _first_child(element: ET.Element, name: str) -> ET.Element | None:
    return next(_children(element, name), None)


class _Package:
    """Reads members of an HWPX zip, streaming each one against the decompression budget."""

    def __init__(self, archive: zipfile.ZipFile, limits: ParseLimits) -> None:
        self._archive = archive
        self._budget = DecompressionBudget(limits.max_decompressed_bytes)
        self.names = {info.filename: info for info in archive.infolist() if not info.is_dir()}

    def read(self, name: str) -> bytes:
        """The decompressed bytes of member ``name``."""
        parts: list[bytes] = []
        try:
            with self._archive.open(self.names[name]) as stream:
                while chunk := stream.read(_CHUNK):
                    self._budget.consume(len(chunk))
                    parts.append(chunk)
        except RuntimeError as exc:  # zipfile's "password required" for an encrypted member
            raise _encrypted() from exc
        except _ZIP_ERRORS as exc:
            raise _invalid() from exc
        return b"".join(parts)

    def xml(self, name: str) -> ET.Element:
        """Member ``name`` parsed as XML, after the DTD check."""
        data = self.read(name)
        reject_dtd(data, name)
        try:
            return ET.fromstring(data)  # noqa: S314 - DTDs are rejected above
        except ET.ParseError as exc:
            raise ParseError(
                "invalid_hwpx_xml",
                f"HWPX 문서의 XML({name})이 손상되어 읽을 수 없습니다",
                f"An XML part ({name}) of the HWPX document is damaged",
            ) from exc


def _invalid() -> ParseError:
    return ParseError(
        "invalid_hwpx",
        "올바른 한글(HWPX) 파일이 아닙니다 (손상되었거나 HWPX 구조가 없습니다)",
        "Not a valid Hangul HWPX file (it is damaged or lacks the HWPX/OWPML structure)",
    )


def _member_error(exc: Exception) -> IngestError:
    """What a member that cannot be decompressed means: zip encryption or damage."""
    if isinstance(exc, RuntimeError) and not isinstance(exc, NotImplementedError):
        return _encrypted()
    return _invalid()


def _encrypted() -> EncryptedDocumentError:
    return EncryptedDocumentError(
        "encrypted_document",
        "암호로 보호된 한글(HWPX) 문서라 읽을 수 없습니다. 암호를 해제한 뒤 다시 올려 주세요",
        "This HWPX document is password-protected; remove the password and upload it again",
    )


def _open_zip(data: bytes) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS as exc:
        raise _invalid() from exc
    if len(archive.infolist()) > _MAX_MEMBERS:
        archive.close()
        raise ParseError(
            "too_many_members",
            f"파일 구성 요소가 너무 많습니다 ({len(archive.infolist()):,}개, 최대 {_MAX_MEMBERS:,}개)",
            f"The file has too many parts ({len(archive.infolist()):,}, at most {_MAX_MEMBERS:,})",
        )
    return archive


def _check_encryption(package: _Package) -> None:
    if _MANIFEST_PATH not in package.names:
        return
    manifest = package.xml(_MANIFEST_PATH)
    if any(_local(element.tag) == "encryption-data" for element in manifest.iter()):
        raise _encrypted()


@dataclass(frozen=True, slots=True)
class _Contents:
    """What ``content.hpf`` says: the title and the body sections in reading order."""

    title: str | None
    sections: list[str]
    header: str | None
    items: Mapping[str, str] = field(default_factory=dict)  # manifest ids → member names (pictures too)


def _read_contents(package: _Package) -> _Contents:
    if _HPF_PATH not in package.names:
        return _Contents(None, _fallback_sections(package), _existing(package, _HEADER_PATH))
    root = package.xml(_HPF_PATH)
    hrefs = _manifest_hrefs(root, package)
    spine = [hrefs[ref] for ref in _spine_refs(root) if ref in hrefs]
    sections = [href for href in spine if _SECTION_RE.search(href)]
    header = hrefs.get("header") or _existing(package, _HEADER_PATH)
    return _Contents(_title(root), sections or _fallback_sections(package), header, hrefs)


def _existing(package: _Package, name: str) -> str | None:
    return name if name in package.names else None


def _manifest_hrefs(root: ET.Element, package: _Package) -> dict[str, str]:
    """Manifest item ids → member names that exist in the zip."""
    hrefs: dict[str, str] = {}
    for item in root.iter():
        if _local(item.tag) != "item":
            continue
        resolved = _resolve(item.get("href", ""), package)
        if resolved is not None:
            hrefs[item.get("id", "")] = resolved
    return hrefs


def _resolve(href: str, package: _Package) -> str | None:
    """Manifest hrefs are relative to the package root in practice, to ``Contents/`` in theory."""
    for candidate in (href, posixpath.normpath(posixpath.join(posixpath.dirname(_HPF_PATH), href))):
        if candidate in package.names:
            return candidate
    return None


def _spine_refs(root: ET.Element) -> list[str]:
    return [ref.get("idref", "") for ref in root.iter() if _local(ref.tag) == "itemref"]


def _title(root: ET.Element) -> str | None:
    for element in root.iter():
        if _local(element.tag) == "title":
            title = clean_text("".join(element.itertext()))
            return title or None
    return None


def _fallback_sections(package: _Package) -> list[str]:
    """``Contents/section*.xml`` in numeric order, for packages without a usable spine."""
    found: list[tuple[int, str]] = []
    for name in package.names:
        match = _SECTION_RE.search(name)
        if match and name.startswith("Contents/"):
            found.append((int(match.group(1)), name))
    return [name for _, name in sorted(found)]


def _heading_styles(package: _Package, header: str | None) -> dict[str, tuple[str, int]]:
    """``paraPr`` ids → (heading type, level) for outline, numbered and bulleted paragraphs."""
    if header is None:
        return {}
    styles: dict[str, tuple[str, int]] = {}
    for para_pr in package.xml(header).iter():
        if _local(para_pr.tag) != "paraPr":
            continue
        heading = _first_child(para_pr, "heading")
        kind = heading.get("type", "NONE") if heading is not None else "NONE"
        if kind in {HEADING_OUTLINE, HEADING_NUMBER, HEADING_BULLET} and heading is not None:
            styles[para_pr.get("id", "")] = (kind, _int(heading.get("level")))
    return styles


def _int(value: str | None) -> int:
    try:
        return max(int(value or 0), 0)
    except ValueError:
        return 0


# --------------------------------------------------------------------------------------------
# Section content
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Styles:
    """Document-wide settings paragraphs refer to."""

    headings: Mapping[str, tuple[str, int]]


def _paragraphs_blocks(paragraphs: Iterable[ET.Element], styles: _Styles) -> list[Block]:
    return [block for paragraph in paragraphs for block in _paragraph_blocks(paragraph, styles)]


def _paragraph_blocks(paragraph: ET.Element, styles: _Styles) -> list[Block]:
    """The paragraph's own text, then what its controls and objects hold, in order."""
    text = clean_text(_own_text(paragraph))
    heading = styles.headings.get(paragraph.get("paraPrIDRef", ""))
    blocks = [paragraph_block(text, heading)] if text else []
    for run in _children(paragraph, "run"):
        for child in run:
            blocks.extend(_run_child_blocks(child, styles))
    return blocks


def _own_text(paragraph: ET.Element) -> str:
    """The text of a paragraph's runs, without what nested objects hold."""
    parts: list[str] = []
    for run in _children(paragraph, "run"):
        for child in run:
            name = _local(child.tag)
            if name == "t":
                parts.append(_t_text(child))
            elif name == "ctrl":
                parts.extend(_auto_numbers(child))
            elif name == "dutmal":
                parts.append(_dutmal_text(child))
    return "".join(parts)


def _dutmal_text(dutmal: ET.Element) -> str:
    """Text with an annotation above or below it (덧말): ``본말(덧말)``."""
    main = "".join(_text_of(dutmal, "mainText"))
    sub = "".join(_text_of(dutmal, "subText")).strip()
    return f"{main}({sub})" if sub else main


def _text_of(element: ET.Element, name: str) -> Iterator[str]:
    for child in _children(element, name):
        yield from child.itertext()


def _t_text(t: ET.Element) -> str:
    parts = [t.text or ""]
    for child in t:
        parts.append(_INLINE_TEXT.get(_local(child.tag), ""))
        parts.append(child.tail or "")
    return "".join(parts)


def _auto_numbers(ctrl: ET.Element) -> list[str]:
    """Numbers of caption numbering controls (``표 1``, ``그림 2``) as they display.

    Page numbers are computed at layout and note numbers only repeat the note's own index.
    """
    return [
        number.get("num", "")
        for number in _children(ctrl, "autoNum")
        if number.get("numType") in _CAPTION_NUMBER_TYPES
    ]


def _run_child_blocks(child: ET.Element, styles: _Styles) -> list[Block]:
    name = _local(child.tag)
    if name in {"t", "secPr"} or name in _SKIPPED_OBJECTS:
        return []
    if name == "ctrl":
        return [block for control in child for block in _control_blocks(control, styles)]
    if name == "tbl":
        return _table_blocks(child, styles)
    return _object_blocks(child, styles)


def _control_blocks(control: ET.Element, styles: _Styles) -> list[Block]:
    label = _NOTE_LABELS.get(_local(control.tag))
    if label is None:
        return []
    return label_blocks(_object_blocks(control, styles), label)


def _object_blocks(element: ET.Element, styles: _Styles) -> list[Block]:
    """Text inside a drawing object, picture caption, text box or note: its sub-lists."""
    blocks: list[Block] = []
    for child in element:
        name = _local(child.tag)
        if name == "subList":
            blocks.extend(_paragraphs_blocks(_children(child, "p"), styles))
        elif name == "tbl":
            blocks.extend(_table_blocks(child, styles))
        elif name not in _SKIPPED_OBJECTS:
            blocks.extend(_object_blocks(child, styles))
    return blocks


def _table_blocks(table: ET.Element, styles: _Styles) -> list[Block]:
    """The table's caption as paragraphs, then the table as Markdown."""
    caption = _first_child(table, "caption")
    blocks = _object_blocks(caption, styles) if caption is not None else []
    cells = [_cell(tc, index) for index, tc in enumerate(_table_cells(table))]
    return blocks + table_to_blocks(cells)


def _table_cells(table: ET.Element) -> Iterator[ET.Element]:
    for row in _children(table, "tr"):
        yield from _children(row, "tc")


def _cell(tc: ET.Element, index: int) -> TableCell:
    address = _first_child(tc, "cellAddr")
    row = _int(address.get("rowAddr")) if address is not None else index
    col = _int(address.get("colAddr")) if address is not None else 0
    return TableCell(row=row, col=col, text=_cell_text(tc))


def _cell_text(tc: ET.Element) -> str:
    """All paragraph text in a cell (nested tables and boxes included) on one line."""
    texts = (clean_text(_own_text(p)) for p in tc.iter() if _local(p.tag) == "p")
    return " ".join(text for text in texts if text)


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def parse_hwpx(data: bytes, limits: ParseLimits) -> ParsedDocument:
    """Parse an HWPX document: body paragraphs, tables, text boxes, headers/footers and notes.

    Raises :class:`ParseError` for a file that is not an HWPX package (or whose XML is damaged
    or declares a DTD), :class:`EncryptedDocumentError` for a password-protected document and
    :class:`LimitExceededError` when the parts decompress to more than the configured limit or
    the document has more sections than ``limits.max_pages``. An empty document yields no blocks.
    """
    with _open_zip(data) as archive:
        package = _Package(archive, limits)
        if _HPF_PATH not in package.names and not _fallback_sections(package):
            raise _invalid()
        _check_encryption(package)
        scan_parts(archive, limits.max_decompressed_bytes, _member_error)
        contents = _read_contents(package)
        _check_section_count(contents.sections, limits)
        styles = _Styles(_heading_styles(package, contents.header))
        sections: list[list[Block]] = []
        pictures: list[tuple[int, str]] = []  # (section index, member), each picture once
        try:
            for name in contents.sections:
                root = package.xml(name)
                sections.append(_paragraphs_blocks(_section_paragraphs(root), styles))
                pictures.extend((len(sections) - 1, member) for member in _picture_members(root, contents))
        except RecursionError as exc:
            raise _too_deep() from exc
        _add_picture_text(sections, _unique(pictures), package, limits)
    return ParsedDocument(blocks=[block for blocks in sections for block in blocks], title=contents.title)


def _section_paragraphs(root: ET.Element) -> Iterator[ET.Element]:
    return _children(root, "p")


def _picture_members(section: ET.Element, contents: _Contents) -> list[str]:
    """The ``BinData/`` members the section's pictures (``hc:img binaryItemIDRef``) show, in order."""
    members = (
        contents.items.get(element.get("binaryItemIDRef", ""))
        for element in section.iter()
        if _local(element.tag) == "img"
    )
    return [member for member in members if member is not None]


def _unique(pictures: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Each member once, where it first appears."""
    first: dict[str, int] = {}
    for index, member in pictures:
        first.setdefault(member, index)
    return [(index, member) for member, index in first.items()]


def _add_picture_text(
    sections: list[list[Block]], pictures: list[tuple[int, str]], package: _Package, limits: ParseLimits
) -> None:
    """Append to each section the text OCR finds in the pictures it shows first (OCR on only)."""
    if limits.ocr == OCR_OFF or not pictures:
        return
    data: list[tuple[int, bytes]] = []
    for ordinal, (_, member) in enumerate(pictures):
        try:
            data.append((ordinal, package.read(member)))
        except ParseError as exc:  # a damaged picture member: the text is still indexed
            logger.warning("picture %s not read: %s", member, exc)
    recognised = ocr_pictures(data, limits, paged=False)
    for ordinal, (index, _) in enumerate(pictures):
        sections[index].extend(recognised.get(ordinal, []))


def _check_section_count(sections: Sequence[str], limits: ParseLimits) -> None:
    if not sections:
        raise _invalid()
    if len(sections) > limits.max_pages:
        raise LimitExceededError(
            "too_many_pages",
            f"문서의 구역이 너무 많습니다 ({len(sections):,}개, 최대 {limits.max_pages:,}쪽)",
            f"The document has too many sections ({len(sections):,}; at most {limits.max_pages:,} pages)",
        )


def _too_deep() -> ParseError:
    return ParseError(
        "nesting_too_deep",
        "문서 안의 표·개체가 지나치게 깊이 중첩되어 읽을 수 없습니다",
        "The document nests tables or objects too deeply to be read",
    )
