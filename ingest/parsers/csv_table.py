"""CSV/TSV parser: the file becomes pipe tables of at most 50 rows, each repeating the header."""

from __future__ import annotations

import csv
import io

from ingest.document import ParsedDocument, ParseLimits
from ingest.errors import LimitExceededError, ParseError
from ingest.parsers.tables import table_blocks
from ingest.parsers.text import decode_text, require_text

_DELIMITERS = ",\t;"
_SNIFF_CHARS = 64 * 1024
_BYTES_PER_CELL = 2  # the smallest possible cell is one character plus a delimiter


def sniff_delimiter(text: str) -> str:
    """Guess the delimiter (comma, tab or semicolon) from the start of ``text``; comma by default."""
    sample = text[:_SNIFF_CHARS]
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        first_lines = sample.split("\n", 20)[:20]
        counts = {d: sum(line.count(d) for line in first_lines) for d in _DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def parse_csv(data: bytes, limits: ParseLimits) -> ParsedDocument:
    """Parse delimited text (encoding detected like plain text) into TABLE blocks.

    The first non-empty row is the header; empty rows and columns are dropped.
    """
    text = decode_text(data)
    delimiter = sniff_delimiter(text)
    budget = max(1, limits.max_decompressed_bytes // _BYTES_PER_CELL)
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text), delimiter=delimiter):
            budget -= max(1, len(row))
            if budget < 0:
                raise LimitExceededError(
                    "too_many_cells", "CSV의 셀이 너무 많습니다", "The CSV file has too many cells"
                )
            rows.append(row)
    except csv.Error as exc:
        raise ParseError("invalid_csv", "올바른 CSV 파일이 아닙니다", "Not a valid CSV file") from exc
    return require_text(ParsedDocument(blocks=table_blocks(rows)), "CSV 파일", "CSV file")
