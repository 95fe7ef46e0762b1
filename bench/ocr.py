"""Korean OCR accuracy and speed: text rendered into page images, read back through Jikji's parsers.

Usage: python -m bench.ocr [--pages N] [--steps denoise,resample,deskew,orient | none]
Renders Korean regulation-style text (articles, amounts, dates; NanumGothic and NanumMyeongjo,
12 pt) onto A4 pages at 300 dpi, clean and rotated ±3° like a skewed scan (also with speckle noise
and saved as JPEG at quality 75), at 150 dpi, and as a phone photo (200 dpi, ±2°, lit unevenly
from one side, speckled JPEG), then
OCRs each as a PNG image and once as a scanned PDF (no text layer) with the parsers the sandbox
child runs (Tesseract kor+eng, one thread). Prints per condition: character accuracy (1 - CER,
spaces ignored: Korean spacing is scored apart), word accuracy (1 - WER over space-separated
words), the share of numbers and dates recovered exactly, mean Tesseract confidence, pages/s; and a few
pages with a table (3 columns, header and 5 rows; without rules and in a ruled grid): how many come back as one TABLE block
of the right shape, and how many of its cells are read exactly.
Issue 21 targets: CER ≤ 3 % at 300 dpi clean, ≤ 8 % with skew; numbers and dates ≥ 95 %.
``--steps`` picks the preprocessing before Tesseract (``ingest.ocr_preprocess``; default: the
pipeline's own), so each step can be measured alone.
"""

from __future__ import annotations

import argparse
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bench.common import machine
from ingest.document import BlockKind, ParseLimits
from ingest.ocr import parse_ocr_location
from ingest.ocr_preprocess import STEPS
from ingest.parsers.image import parse_image
from ingest.parsers.pdf import parse_pdf
from tests.support.scans import (
    GOTHIC,
    MYEONGJO,
    image_bytes,
    render_page,
    render_table_page,
    scanned_pdf,
    speckled,
    unevenly_lit,
)

LIMITS = ParseLimits(ocr="auto", ocr_max_pages=100)
NUMBER_RE = re.compile(r"\d[\d,.]*\s*(?:년|월|일|만\s?원|원|퍼센트|%|명|시|조|항|호)?")
ARTICLES = [
    "제{n}조(연차휴가) 회사는 1년간 80퍼센트 이상 출근한 직원에게 15일의 유급휴가를 준다.",
    "제{n}조(경조사) 본인이 결혼하는 경우 특별휴가 5일과 경조사비 50만 원을 지급한다.",
    "제{n}조(출장비) 국내 출장의 일비는 하루 3만 원으로 하고 숙박비는 1박 12만 원을 한도로 한다.",
    "제{n}조(근무시간) 근무시간은 오전 9시부터 오후 6시까지로 하며 휴게시간은 1시간으로 한다.",
    "제{n}조(시행일) 이 규정은 2026년 3월 1일부터 시행하고 2025년 12월 31일 이전의 신청에도 적용한다.",
    "제{n}조(교육비) 직무 관련 교육비는 연간 200만 원까지 지원하며 사전에 부서장의 승인을 받는다.",
    "제{n}조(재택근무) 재택근무는 주 2일 이내로 하며 신청서는 전월 25일까지 인사팀에 제출한다.",
    "제{n}조(보안) 직원은 회사의 영업비밀을 외부에 누설하여서는 아니 되며 퇴직 후 3년간 같다.",
]
CHARS_PER_LINE = 34


@dataclass(slots=True)
class Tally:
    """Errors and sizes summed over a condition's pages."""

    char_errors: int = 0
    chars: int = 0
    word_errors: int = 0
    words: int = 0
    numbers_found: int = 0
    numbers: int = 0
    confidence: float = 0.0
    pages: int = 0
    seconds: float = 0.0

    def add(self, source: str, read: str, confidence: float, seconds: float) -> None:
        plain_source, plain_read = _no_space(source), _no_space(read)
        self.char_errors += edit_distance(plain_source, plain_read)
        self.chars += len(plain_source)
        self.word_errors += edit_distance(source.split(), read.split())
        self.words += len(source.split())
        wanted = [_no_space(m) for m in NUMBER_RE.findall(source)]
        self.numbers += len(wanted)
        self.numbers_found += sum(1 for number in wanted if number in plain_read)
        self.confidence += confidence
        self.pages += 1
        self.seconds += seconds


def edit_distance(a: Sequence[object], b: Sequence[object]) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    previous = list(range(len(b) + 1))
    for i, item in enumerate(a, start=1):
        current = [i]
        for j, other in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (item != other)))
        previous = current
    return previous[-1]


def _no_space(text: str) -> str:
    return re.sub(r"\s+", "", text)


def page_lines(index: int) -> list[str]:
    """About 20 lines of articles for page ``index``, wrapped at a Korean line width.

    Each page starts with another article: a line at the top of every page would be taken for a
    running header and dropped, as it should be in a real document.
    """
    shift = index % len(ARTICLES)
    order = ARTICLES[shift:] + ARTICLES[:shift]
    text = " ".join(a.format(n=index * 8 + k + 1) for k, a in enumerate(order))
    lines, line = [], ""
    for word in text.split():
        if len(line) + len(word) + 1 > CHARS_PER_LINE and line:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return [*lines, line]


def run(pages: int, limits: ParseLimits = LIMITS) -> None:
    """Print one row per condition."""
    conditions = [
        ("NanumGothic 300 dpi clean", GOTHIC, 300, 0.0),
        ("NanumGothic 300 dpi +3°", GOTHIC, 300, 3.0),
        ("NanumGothic 300 dpi -3°", GOTHIC, 300, -3.0),
        ("NanumGothic 150 dpi clean", GOTHIC, 150, 0.0),
        ("NanumMyeongjo 300 dpi clean", MYEONGJO, 300, 0.0),
        ("NanumMyeongjo 300 dpi ±3°", MYEONGJO, 300, 3.0),
        ("NanumGothic 300 dpi ±3°, noise + JPEG q75", GOTHIC, 300, 3.0),
        ("NanumMyeongjo 300 dpi ±3°, noise + JPEG q75", MYEONGJO, 300, 3.0),
        ("photographed: NanumGothic 200 dpi ±2°, uneven light, noise + JPEG q75", GOTHIC, 200, 2.0),
    ]
    print(machine(), f"load average {os.getloadavg()[0]:.2f}", f"steps {','.join(limits.ocr_preprocess)}")
    print(
        "| condition | pages | char accuracy (1-CER) | word accuracy (1-WER) | numbers/dates exact | confidence | pages/s |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    prose_pages = prose_tables = 0
    for name, font, dpi, skew in conditions:
        tally = Tally()
        for index in range(pages):
            lines = page_lines(index)
            angle = skew if index % 2 == 0 or name.endswith("+3°") or name.endswith("-3°") else -skew
            image = render_page(lines, dpi=dpi, font=font, skew=angle)
            if name.startswith("photographed"):
                image = unevenly_lit(image)
            if "noise" in name:
                data = image_bytes(speckled(image, seed=index), "JPEG", dpi=dpi)
            else:
                data = image_bytes(image, dpi=dpi)
            started = time.perf_counter()
            parsed = parse_image(data, limits)
            seconds = time.perf_counter() - started
            located = parse_ocr_location(parsed.blocks[0].location) if parsed.blocks else None
            tally.add(" ".join(lines), parsed.text, located[1] if located else 0.0, seconds)
            prose_pages += 1
            prose_tables += any(block.kind == BlockKind.TABLE for block in parsed.blocks)
        _row(name, tally)
    _pdf_row(pages, limits)
    print(f"\nprose pages above read as holding a table: {prose_tables}/{prose_pages}")
    _table_rows(pages, limits)


ITEMS = [
    "결혼 경조사비",
    "출장 일비",
    "숙박비 한도",
    "월 주차비",
    "교육비 지원",
    "재택근무 수당",
    "야근 식대",
]


def table_rows(index: int) -> list[list[str]]:
    """A header and five rows (item, amount in won, date) for table page ``index``."""
    body = [
        [
            ITEMS[(index + k) % len(ITEMS)],
            f"{(index * 7 + k * 13) % 90 * 10_000 + 10_000:,}원",
            f"2026.{(index + k) % 12 + 1:02d}.{(index * 3 + k * 5) % 28 + 1:02d}",
        ]
        for k in range(5)
    ]
    return [["구분", "지급액", "시행일"], *body]


def _table_rows(pages: int, limits: ParseLimits) -> None:
    """Tables without rules: found as TABLE blocks with their rows, and cells read exactly."""
    print()
    print("| table pages (3 columns × 6 rows) | pages | tables found, right shape | cells exact |")
    print("| --- | --- | --- | --- |")
    for name, font, dpi, skew in [
        ("no rules, NanumGothic 300 dpi clean", GOTHIC, 300, 0.0),
        ("no rules, NanumMyeongjo 300 dpi ±2°", MYEONGJO, 300, 2.0),
        ("no rules, NanumGothic 200 dpi ±2°, noise + JPEG q75", GOTHIC, 200, 2.0),
        ("ruled grid, NanumGothic 300 dpi ±2°", GOTHIC, 300, 2.0),
        ("ruled grid, NanumGothic 200 dpi ±2°, noise + JPEG q75", GOTHIC, 200, 2.0),
    ]:
        found = exact = cells = 0
        for index in range(pages):
            rows = table_rows(index)
            angle = skew if index % 2 == 0 else -skew
            image = render_table_page(rows, dpi=dpi, font=font, skew=angle, ruled=name.startswith("ruled"))
            data = image_bytes(speckled(image, seed=index), "JPEG", dpi=dpi) if "noise" in name else None
            parsed = parse_image(data or image_bytes(image, dpi=dpi), limits)
            tables = [block for block in parsed.blocks if block.kind == BlockKind.TABLE]
            read = [_cells(line) for line in tables[0].text.splitlines()[2:]] if len(tables) == 1 else []
            read = [_cells(tables[0].text.splitlines()[0]), *read] if read else []
            cells += sum(len(row) for row in rows)
            if [len(row) for row in read] == [len(row) for row in rows]:
                found += 1
                exact += sum(
                    a == b
                    for got, want in zip(read, rows, strict=True)
                    for a, b in zip(got, want, strict=True)
                )
        print(
            f"| {name} | {pages} | {found}/{pages} | {exact}/{cells} = {exact / max(cells, 1):.3f} |",
            flush=True,
        )


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split(" | ")]


def _pdf_row(pages: int, limits: ParseLimits) -> None:
    sources = [page_lines(index) for index in range(pages)]
    data = scanned_pdf([render_page(lines) for lines in sources])
    started = time.perf_counter()
    parsed = parse_pdf(data, limits)
    seconds = time.perf_counter() - started
    tally = Tally()
    for number, lines in enumerate(sources, start=1):
        blocks = [b for b in parsed.blocks if b.page == number]
        located = parse_ocr_location(blocks[0].location) if blocks else None
        text = "\n".join(b.text for b in blocks)
        tally.add(" ".join(lines), text, located[1] if located else 0.0, seconds / pages)
    _row("scanned PDF, NanumGothic 300 dpi (rendered by PDFium)", tally)


def _row(name: str, tally: Tally) -> None:
    print(
        f"| {name} | {tally.pages} | {1 - tally.char_errors / max(tally.chars, 1):.3f} "
        f"| {1 - tally.word_errors / max(tally.words, 1):.3f} "
        f"| {tally.numbers_found}/{tally.numbers} = {tally.numbers_found / max(tally.numbers, 1):.3f} "
        f"| {tally.confidence / max(tally.pages, 1):.1f} | {tally.pages / max(tally.seconds, 1e-9):.2f} |",
        flush=True,
    )


def main() -> None:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=4, help="pages per condition")
    parser.add_argument(
        "--steps", default=None, help=f"preprocessing steps, comma-separated ({', '.join(STEPS)}) or 'none'"
    )
    args = parser.parse_args()
    if not Path(GOTHIC).exists():
        raise SystemExit("needs fonts-nanum (scripts/install-system-packages.sh)")
    limits = LIMITS
    if args.steps is not None:
        steps = tuple(s for s in args.steps.split(",") if s and s != "none")
        if set(steps) - set(STEPS):
            raise SystemExit(f"unknown steps: {sorted(set(steps) - set(STEPS))}")
        limits = replace(LIMITS, ocr_preprocess=steps)
    run(args.pages, limits)


if __name__ == "__main__":
    main()
