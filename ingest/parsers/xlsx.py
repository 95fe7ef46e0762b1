"""Excel (XLSX) parser: each sheet becomes a heading followed by pipe tables."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from ingest.document import Block, BlockKind, ParsedDocument, ParseLimits
from ingest.errors import LimitExceededError, ParseError
from ingest.parsers.safezip import LIBRARY_ERRORS, OoxmlKind, open_ooxml
from ingest.parsers.tables import table_blocks
from ingest.parsers.text import normalize_text, require_text

_KIND = OoxmlKind("Excel(XLSX)", "Excel (XLSX)")
# A stored cell costs at least ~8 bytes of sheet XML (``<c r="A1"/>``), so this many cells can
# never be legitimate for a file within the decompression limit; empty filler rows count too.
_BYTES_PER_CELL = 8
_LIBRARY_ERRORS: tuple[type[Exception], ...] = (InvalidFileException, *LIBRARY_ERRORS)


def parse_xlsx(data: bytes, limits: ParseLimits) -> ParsedDocument:
    """Parse a workbook: per sheet a level-1 heading (the sheet name) and TABLE blocks.

    The first non-empty row is the header; empty rows and columns are dropped; long sheets are
    split into tables of at most 50 rows that repeat the header. Formula cells give their cached
    values. ``page`` is the 1-based sheet index and ``location`` the sheet name.
    """
    with open_ooxml(data, limits, _KIND):
        pass
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except _LIBRARY_ERRORS as exc:
        raise _invalid() from exc
    try:
        return _read_workbook(workbook, limits)
    except _LIBRARY_ERRORS as exc:
        raise _invalid() from exc
    finally:
        workbook.close()


def _invalid() -> ParseError:
    return ParseError(
        "invalid_xlsx", f"올바른 {_KIND.name_ko} 파일이 아닙니다", f"Not a valid {_KIND.name_en} file"
    )


def _read_workbook(workbook: Any, limits: ParseLimits) -> ParsedDocument:
    sheets = list(workbook.worksheets)
    if len(sheets) > limits.max_pages:
        raise LimitExceededError(
            "too_many_pages",
            f"시트가 너무 많습니다 ({len(sheets):,}개, 최대 {limits.max_pages:,}개)",
            f"Too many sheets ({len(sheets):,}, at most {limits.max_pages:,})",
        )
    budget = max(1, limits.max_decompressed_bytes // _BYTES_PER_CELL)
    blocks: list[Block] = []
    for index, sheet in enumerate(sheets, start=1):
        sheet.reset_dimensions()  # ignore the declared size; read only the cells present
        rows, budget = _sheet_rows(sheet.iter_rows(values_only=True), budget)
        tables = table_blocks(rows, page=index, location=sheet.title)
        if tables:
            blocks.append(Block(sheet.title, BlockKind.HEADING, level=1, page=index, location=sheet.title))
            blocks.extend(tables)
    title = " ".join((workbook.properties.title or "").split()) or None
    return require_text(ParsedDocument(blocks=blocks, title=title), "통합 문서", "workbook")


def _sheet_rows(rows: Iterable[tuple[object, ...]], budget: int) -> tuple[list[list[str]], int]:
    """Format the sheet's rows as strings, spending one budget unit per cell (or empty row)."""
    result: list[list[str]] = []
    for row in rows:
        budget -= max(1, len(row))
        if budget < 0:
            raise LimitExceededError(
                "too_many_cells",
                "시트의 셀이 너무 많습니다",
                "The workbook has too many cells",
            )
        if any(value is not None for value in row):
            result.append([format_cell(value) for value in row])
    return result, budget


def format_cell(value: object) -> str:
    """Render a cell value as people read it: integral floats without ``.0``, ISO dates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return normalize_text(str(value))
