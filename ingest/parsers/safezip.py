"""Validate an Office Open XML (DOCX/PPTX/XLSX) zip before a library parses it.

Checks are made on what the zip really holds, never on what it declares: every member is
streamed through the decompressor and the bytes produced are counted, so a zip bomb is caught
after at most ``max_decompressed_bytes`` of work. Every part whose *content* is XML, whatever its
name, is scanned: one with a DTD (``<!DOCTYPE``/``<!ENTITY``) is refused, and so is XML in an encoding
the scan cannot read (UTF-7, UTF-32, EBCDIC: libxml2 decodes those, and the markers would hide in
them), closing XXE and entity-expansion ("billion laughs") attacks. :func:`scan_parts` serves the
other zip formats (HWPX) as well.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from ingest.document import ParseLimits
from ingest.errors import EncryptedDocumentError, LimitExceededError, ParseError

MAX_MEMBERS = 10_000
_CHUNK = 64 * 1024
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
# Byte-order marks, longest first; UTF-32 ones mean an encoding the DTD scan does not read (None).
_BOMS: tuple[tuple[bytes, str | None], ...] = (
    (b"\xff\xfe\x00\x00", None),
    (b"\x00\x00\xfe\xff", None),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
# How XML starts without a byte-order mark in UCS-4 or EBCDIC (XML 1.0, appendix F).
_FOREIGN_HEADS = (b"\x00\x00\x00<", b"<\x00\x00\x00", b"\x00\x00<\x00", b"\x00<\x00\x00", b"\x4c\x6f\xa7\x94")
# Declared encodings in which the DTD markers are the ASCII bytes the scan looks for.
_SCANNABLE_ENCODINGS = frozenset(
    {"utf-8", "utf8", "utf-16", "utf16", "us-ascii", "ascii", "iso-8859-1", "latin1", "latin-1"}
    | {"euc-kr", "cp949", "uhc", "ks_c_5601-1987", "windows-949"}
)
_DECLARED_ENCODING = re.compile(r"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([^"']*)["']""")
_DTD_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")
_FORBIDDEN = tuple(
    marker.decode("ascii").encode(encoding)
    for marker in _DTD_MARKERS
    for encoding in ("utf-8", "utf-16-le", "utf-16-be")
)
_OVERLAP = max(len(marker) for marker in _FORBIDDEN)

# What python-docx/python-pptx/openpyxl raise on malformed packages (lxml's XMLSyntaxError is a
# SyntaxError; NotImplementedError is a RuntimeError); parsers turn these into ParseError.
LIBRARY_ERRORS: tuple[type[Exception], ...] = (
    KeyError,
    ValueError,
    TypeError,
    AttributeError,
    IndexError,
    SyntaxError,
    OSError,
    EOFError,
    RuntimeError,
    zipfile.BadZipFile,
)


@dataclass(frozen=True, slots=True)
class OoxmlKind:
    """How to name the expected format in error messages, e.g. ``Word(DOCX)``."""

    name_ko: str = "Office Open XML"
    name_en: str = "Office Open XML"


def open_ooxml(data: bytes, limits: ParseLimits, kind: OoxmlKind | None = None) -> zipfile.ZipFile:
    """Open ``data`` as an OOXML zip after checking it is safe to hand to a parser library.

    Raises :class:`EncryptedDocumentError` for a password-protected Office file,
    :class:`ParseError` for anything that is not an OOXML zip, has more than
    ``MAX_MEMBERS`` members, is corrupt, or has an XML part with a DTD, and
    :class:`LimitExceededError` when the members decompress to more than
    ``limits.max_decompressed_bytes``. The caller owns (and should close) the returned zip.
    """
    kind = kind or OoxmlKind()
    if data.startswith(_OLE_MAGIC):
        raise _ole_error(data, kind)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, RuntimeError, EOFError) as exc:
        raise _invalid(kind) from exc
    try:
        _check_archive(archive, limits, kind)
    except BaseException:
        archive.close()
        raise
    return archive


def scan_parts(archive: zipfile.ZipFile, budget: int, on_zip_error: Callable[[Exception], Exception]) -> None:
    """Stream every member of ``archive``, refusing XML parts with a DTD and a zip bomb.

    Which parts are XML is decided by their content (:func:`xml_encoding`), never by their names.
    Raises :class:`ParseError` (``xml_dtd_forbidden`` or ``xml_encoding_forbidden``),
    :class:`LimitExceededError` once more than ``budget`` bytes were decompressed, and whatever
    ``on_zip_error`` returns for the exception of a damaged member.
    """
    for info in archive.infolist():
        if not info.is_dir():
            budget -= _stream_member(archive, info, budget, on_zip_error)


def xml_encoding(head: bytes) -> str | None:
    """How to read a part that begins with ``head`` if an XML parser could accept it.

    ``"utf-8"``, ``"utf-16-le"`` or ``"utf-16-be"`` for XML the DTD scan reads; ``"foreign"`` for
    XML in another encoding (UTF-32, EBCDIC, a declared encoding such as UTF-7); ``None`` for a
    part that no XML parser would take (images, fonts, binary objects).
    """
    encoding = "utf-8"
    body = head
    for bom, bom_encoding in _BOMS:
        if head.startswith(bom):
            if bom_encoding is None:
                return "foreign"
            encoding, body = bom_encoding, head[len(bom) :]
            break
    else:
        if head.startswith(_FOREIGN_HEADS):
            return "foreign"
        # expat's rule: a NUL first byte means UTF-16BE, a NUL second byte UTF-16LE.
        if head[:1] == b"\x00":
            encoding = "utf-16-be"
        elif head[1:2] == b"\x00":
            encoding = "utf-16-le"
    text = body[:4096].decode(encoding, errors="ignore").lstrip()
    if text and not text.startswith("<") and body is head:
        return None
    declared = _DECLARED_ENCODING.match(text)
    if declared and declared.group(1).strip().lower() not in _SCANNABLE_ENCODINGS:
        return "foreign"
    return encoding


def _check_archive(archive: zipfile.ZipFile, limits: ParseLimits, kind: OoxmlKind) -> None:
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise ParseError(
            "too_many_members",
            f"파일 구성 요소가 너무 많습니다 ({len(members):,}개, 최대 {MAX_MEMBERS:,}개)",
            f"The file has too many parts ({len(members):,}, at most {MAX_MEMBERS:,})",
        )
    if "[Content_Types].xml" not in archive.namelist():
        raise _invalid(kind)
    scan_parts(archive, limits.max_decompressed_bytes, lambda _exc: _invalid(kind))


def _stream_member(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    budget: int,
    on_zip_error: Callable[[Exception], Exception],
) -> int:
    """Decompress one member, returning its real size; raise once ``budget`` is exceeded."""
    scan: bool | None = None
    produced = 0
    tail = b""
    try:
        with archive.open(info) as member:
            while chunk := member.read(_CHUNK):
                produced += len(chunk)
                if produced > budget:
                    raise _too_large()
                if scan is None:
                    scan = _is_scannable_xml(chunk, info.filename)
                if scan:
                    _reject_dtd(tail + chunk, info.filename)
                    tail = chunk[-_OVERLAP:]
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, OSError, ValueError) as exc:
        raise on_zip_error(exc) from exc
    return produced


def _is_scannable_xml(head: bytes, name: str) -> bool:
    encoding = xml_encoding(head)
    if encoding == "foreign":
        raise ParseError(
            "xml_encoding_forbidden",
            f"문서 내부 XML({name})이 허용되지 않는 문자 인코딩을 씁니다 (UTF-8 또는 UTF-16만 허용)",
            f"An XML part ({name}) uses a character encoding that is not allowed (only UTF-8 or UTF-16)",
        )
    return encoding is not None


def _reject_dtd(window: bytes, name: str) -> None:
    if any(marker in window for marker in _FORBIDDEN):
        raise ParseError(
            "xml_dtd_forbidden",
            f"문서 내부 XML({name})에 허용되지 않는 DTD/엔티티 선언이 있습니다",
            f"An XML part ({name}) contains a forbidden DTD/entity declaration",
        )


def _too_large() -> LimitExceededError:
    return LimitExceededError(
        "decompressed_too_large",
        "압축을 풀었을 때 크기가 허용 한도를 넘습니다 (압축 폭탄 의심)",
        "The file decompresses to more than the allowed size (possible zip bomb)",
    )


def _invalid(kind: OoxmlKind) -> ParseError:
    return ParseError(
        "invalid_ooxml",
        f"올바른 {kind.name_ko} 파일이 아닙니다",
        f"Not a valid {kind.name_en} file",
    )


def _ole_error(data: bytes, kind: OoxmlKind) -> EncryptedDocumentError | ParseError:
    """An OLE compound file is either a password-protected OOXML file or a legacy binary one."""
    if _ENCRYPTED_PACKAGE in data:
        return EncryptedDocumentError(
            "encrypted_document",
            "암호로 보호된 문서입니다. 암호를 해제한 뒤 다시 올려 주세요",
            "The document is password-protected; remove the password and upload it again",
        )
    return ParseError(
        "legacy_office_format",
        f"올바른 {kind.name_ko} 파일이 아닙니다 (이전 Office 형식으로 보입니다. 새 형식으로 저장해 주세요)",
        f"Not a valid {kind.name_en} file (it looks like a legacy Office format; save it as {kind.name_en})",
    )
