"""Validate an Office Open XML (DOCX/PPTX/XLSX) zip before a library parses it.

Checks are made on what the zip really holds, never on what it declares: every member is
streamed through the decompressor and the bytes produced are counted, so a zip bomb is caught
after at most ``max_decompressed_bytes`` of work. XML parts with a DTD (``<!DOCTYPE``/``<!ENTITY``)
are refused, closing XXE and entity-expansion ("billion laughs") attacks.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass

from ingest.document import ParseLimits
from ingest.errors import EncryptedDocumentError, LimitExceededError, ParseError

MAX_MEMBERS = 10_000
_CHUNK = 64 * 1024
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_XML_SUFFIXES = (".xml", ".rels", ".vml")
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
    budget = limits.max_decompressed_bytes
    for info in members:
        if not info.is_dir():
            budget -= _stream_member(archive, info, budget, kind)


def _stream_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int, kind: OoxmlKind) -> int:
    """Decompress one member, returning its real size; raise once ``budget`` is exceeded."""
    scan = info.filename.lower().endswith(_XML_SUFFIXES)
    produced = 0
    tail = b""
    try:
        with archive.open(info) as member:
            while chunk := member.read(_CHUNK):
                produced += len(chunk)
                if produced > budget:
                    raise _too_large()
                if scan:
                    _reject_dtd(tail + chunk, info.filename)
                    tail = chunk[-_OVERLAP:]
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, OSError, ValueError) as exc:
        raise _invalid(kind) from exc
    return produced


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
