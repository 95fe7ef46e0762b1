"""Rendering tabular data as Markdown pipe tables, shared by the spreadsheet-like parsers."""

from __future__ import annotations

import re

from ingest.document import Block, BlockKind

DEFAULT_MAX_TABLE_ROWS = 50
_WHITESPACE_RE = re.compile(r"\s+")


def clean_cell(value: str) -> str:
    """Flatten a cell to one line: whitespace (newlines included) collapses, ``|`` is escaped."""
    return _WHITESPACE_RE.sub(" ", value).strip().replace("|", "\\|")


def render_table(rows: list[list[str]]) -> str:
    """Render rows as a Markdown pipe table; the first row is the header.

    Short rows are padded with blank cells so every row has the width of the widest one.
    """
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    if width == 0:
        return ""
    lines = [_render_row(rows[0], width), "| " + " | ".join(["---"] * width) + " |"]
    lines.extend(_render_row(row, width) for row in rows[1:])
    return "\n".join(lines)


def _render_row(row: list[str], width: int) -> str:
    cells = [clean_cell(cell) for cell in row] + [""] * (width - len(row))
    return "| " + " | ".join(cells) + " |"


def drop_empty(rows: list[list[str]]) -> list[list[str]]:
    """Remove rows and columns whose cells are all blank, padding rows to a common width."""
    kept = [row for row in rows if any(cell.strip() for cell in row)]
    if not kept:
        return []
    width = max(len(row) for row in kept)
    padded = [row + [""] * (width - len(row)) for row in kept]
    columns = [i for i in range(width) if any(row[i].strip() for row in padded)]
    return [[row[i] for i in columns] for row in padded]


def table_blocks(
    rows: list[list[str]],
    *,
    page: int | None = None,
    location: str | None = None,
    max_rows: int = DEFAULT_MAX_TABLE_ROWS,
) -> list[Block]:
    """Turn rows (first = header) into TABLE blocks of at most ``max_rows`` body rows each.

    Empty rows and columns are dropped first; every piece repeats the header row so it can be
    read (and retrieved) on its own.
    """
    rows = drop_empty(rows)
    if not rows:
        return []
    header, body = rows[0], rows[1:]
    if not body:
        return [Block(render_table([header]), BlockKind.TABLE, page=page, location=location)]
    return [
        Block(
            render_table([header, *body[start : start + max_rows]]),
            BlockKind.TABLE,
            page=page,
            location=location,
        )
        for start in range(0, len(body), max_rows)
    ]
