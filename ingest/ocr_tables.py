"""Tables found in an OCR'd page, from the word boxes in Tesseract's TSV output.

Conservative on purpose (prose must never become a table): a table is at least three consecutive
lines (a header and two rows) that each split, at horizontal gaps wider than
:data:`_COLUMN_GAP` times the line height, into the same number (two or more) of column segments,
whose column bands (the x-range of a column over all the rows) do not overlap (a white river runs
down between every two columns), and whose cells line up in every row after the header: by their
left edges, right edges (numbers) or centres, within a line height. Normal word spacing is well
under one line height, so a line of prose never splits at all.

A cell's text comes from Tesseract's plain-text line (which knows where Korean words end: the TSV
often cuts Hangul into syllables); its characters are matched to the TSV words in order, and a
line where they do not match is not used for a table.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

_COLUMN_GAP = 2.5  # a gap wider than this many line heights separates two columns
_MIN_ROWS = 3  # a header row and at least two body rows


@dataclass(frozen=True, slots=True)
class OcrTable:
    """A table on an OCR'd page: the lines ``first``..``last`` (indexes into the page text's
    ``splitlines()``, inclusive) and its rows of cells, the first row the header."""

    first: int
    last: int
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class _Word:
    left: int
    right: int
    height: int
    text: str


@dataclass(frozen=True, slots=True)
class _Line:
    index: int  # in text.splitlines()
    cells: tuple[str, ...]
    bands: tuple[tuple[int, int], ...]  # each cell's (left, right)
    height: int = 0  # the median word height


def find_tables(text: str, tsv: str) -> tuple[OcrTable, ...]:
    """The tables in a page read by Tesseract: ``text`` its plain-text output, ``tsv`` its TSV."""
    text_lines = text.replace("\f", "").splitlines()
    filled = [i for i, line in enumerate(text_lines) if line.strip()]
    boxes = _tsv_lines(tsv)
    if len(filled) != len(boxes):
        return ()  # the two outputs do not line up: no tables rather than wrong ones
    lines = [_split(index, text_lines[index], words) for index, words in zip(filled, boxes, strict=True)]
    tables: list[OcrTable] = []
    run: list[_Line] = []
    for line in [*lines, None]:
        if line is not None and line.cells and (not run or _fits(run, line)):
            run.append(line)
            continue
        if len(run) >= _MIN_ROWS:
            tables.append(OcrTable(run[0].index, run[-1].index, tuple(row.cells for row in run)))
        run = [line] if line is not None and line.cells else []
    return tuple(tables)


def _tsv_lines(tsv: str) -> list[list[_Word]]:
    """The recognised words of each text line in the TSV, in reading order."""
    lines: dict[tuple[str, str, str, str], list[_Word]] = {}
    for row in tsv.splitlines()[1:]:
        fields = row.split("\t")
        if len(fields) < 12 or fields[0] != "5" or not fields[11].strip():
            continue
        left, width, height = int(fields[6]), int(fields[8]), int(fields[9])
        word = _Word(left, left + width, height, fields[11].strip())
        lines.setdefault((fields[1], fields[2], fields[3], fields[4]), []).append(word)
    return list(lines.values())


def _split(index: int, text: str, words: list[_Word]) -> _Line:
    """The line's cells (empty when it has a single column or its text and boxes do not match)."""
    if not words:
        return _Line(index, (), ())
    heights = sorted(word.height for word in words)
    gap = _COLUMN_GAP * heights[len(heights) // 2]
    segment_of: list[int] = []  # the segment of each non-space character of the line
    bands: list[tuple[int, int]] = []
    previous: _Word | None = None
    for word in words:
        if previous is None or word.left - previous.right > gap:
            bands.append((word.left, word.right))
        else:
            bands[-1] = (bands[-1][0], max(bands[-1][1], word.right))
        segment_of.extend([len(bands) - 1] * len("".join(word.text.split())))
        previous = word
    if len(bands) < 2 or "".join(text.split()) != "".join("".join(w.text.split()) for w in words):
        return _Line(index, (), ())
    cells = [""] * len(bands)
    position = 0
    for char in text.strip():
        if char.isspace():
            segment = segment_of[position] if position < len(segment_of) else len(bands) - 1
            cells[segment] += " "
            continue
        cells[segment_of[position]] += char
        position += 1
    cells = [" ".join(cell.split()) for cell in cells]
    return _Line(index, tuple(cells), tuple(bands), heights[len(heights) // 2])


def _fits(run: list[_Line], line: _Line) -> bool:
    """Whether ``line`` continues the table ``run``: same columns, bands still apart, and each column
    aligned (left, right or centre, within a line height) in every row after the header."""
    if len(line.cells) != len(run[0].cells):
        return False
    body = [*run[1:], line]
    tolerance = max(row.height for row in body)
    for column in zip(*(row.bands for row in body), strict=True):
        lefts, rights = [band[0] for band in column], [band[1] for band in column]
        centres = [left + right for left, right in column]  # twice the centre
        if not (
            max(lefts) - min(lefts) <= tolerance
            or max(rights) - min(rights) <= tolerance
            or max(centres) - min(centres) <= 2 * tolerance
        ):
            return False
    merged = [
        (min(band[0] for band in column), max(band[1] for band in column))
        for column in zip(*(row.bands for row in [*run, line]), strict=True)
    ]
    return all(left[1] < right[0] for left, right in pairwise(merged))
