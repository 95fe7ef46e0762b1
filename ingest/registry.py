"""The parser registry: one entry per format, keyed by the detected file type.

Adding a format is one line here plus its module under ``ingest/parsers``. Parser modules are
imported on first use so a missing optional dependency only affects its own format.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from ingest.detect import FileType
from ingest.document import ParsedDocument, ParseLimits
from ingest.errors import UnsupportedFormatError

Parser = Callable[[bytes, ParseLimits], ParsedDocument]

PARSERS: dict[FileType, str] = {
    FileType.PDF: "ingest.parsers.pdf:parse_pdf",
    FileType.DOCX: "ingest.parsers.docx:parse_docx",
    FileType.PPTX: "ingest.parsers.pptx:parse_pptx",
    FileType.XLSX: "ingest.parsers.xlsx:parse_xlsx",
    FileType.HWP: "ingest.parsers.hwp:parse_hwp",
    FileType.HWPX: "ingest.parsers.hwpx:parse_hwpx",
    FileType.HTML: "ingest.parsers.html:parse_html",
    FileType.MARKDOWN: "ingest.parsers.markdown:parse_markdown",
    FileType.CSV: "ingest.parsers.csv_table:parse_csv",
    FileType.TEXT: "ingest.parsers.text:parse_text",
    FileType.IMAGE: "ingest.parsers.image:parse_image",
}


def parser_for(file_type: FileType) -> Parser:
    """The parse function registered for ``file_type``."""
    target = PARSERS.get(file_type)
    if target is None:
        raise UnsupportedFormatError(
            "no_parser",
            f"{file_type.value} 형식을 읽을 파서가 없습니다.",
            f"No parser for {file_type.value}.",
        )
    module_name, _, function_name = target.partition(":")
    parser: Parser = getattr(importlib.import_module(module_name), function_name)
    return parser


def parse_bytes(data: bytes, file_type: FileType, limits: ParseLimits) -> ParsedDocument:
    """Parse ``data`` with the registered parser for ``file_type``."""
    return parser_for(file_type)(data, limits)
