"""A document's title: what the file states, else its first real heading, else its file name.

"Real" leaves out what only looks like a title at the top of a file: a numbered section ("1. 회의실
현황", "제1장 총칙", "가. 목적"), a table or figure caption ("표 1", "그림 2", "Table 3"), a sentence,
a placeholder some editors write ("제목 없음", "Untitled", "Microsoft Word - 문서1"), and table text. A
plain-text file's standalone first line ("[회의실 예약 및 이용 안내]") is its heading.
"""

from __future__ import annotations

import re
from pathlib import PurePath

from ingest.document import BlockKind, ParsedDocument
from ingest.metadata import display_name

MAX_TITLE = 300
MAX_HEADING = 80
HEADING_WINDOW = 8  # a title heading stands near the top
_BRACKETS = "[]【】<>〈〉《》「」『』 \t"
_NUMBERED = re.compile(
    r"^(?:제\s*\d+\s*[장절조관편항부]"  # 제1장, 제3조
    r"|\d+(?:[.-]\d+)*\s*[.)]"  # 1. 1) 1.2.
    r"|\d+(?:\.\d+)+\s"  # 1.2 제목
    r"|\(\s*\d+\s*\)"  # (1)
    r"|[가-하]\s*[.)]"  # 가. 나)
    r"|[ivxlcIVXLC]+\s*[.)]\s"  # ii. IV)
    r"|[ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩ]"  # Ⅰ Ⅱ
    r"|[①-⑳]"
    r"|[-*•·■□▶▷◆◇●○※]"  # list bullets
    r")"
)
_CAPTION = re.compile(r"^(?:표|그림|도표|사진|별표|table|figure|fig\.?|chart)\s*\d+", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"^(?:제목\s*없음|untitled|microsoft\s+\w+\s*-|문서\s*\d+$|document\s*\d+$)", re.I)
_SENTENCE_END = (".", "다", "요", "?", "!", ":", ",")


def clean_title(text: str | None, limit: int = MAX_HEADING) -> str | None:
    """``text`` as a title, or None when it is not one (see the module's list)."""
    if not text:
        return None
    title = " ".join(text.split()).strip(_BRACKETS)
    if not title or len(title) > limit or "\n" in text.strip():
        return None
    if _NUMBERED.match(title) or _CAPTION.match(title) or _PLACEHOLDER.match(title):
        return None
    if title.endswith(_SENTENCE_END) or not any(ch.isalpha() for ch in title):
        return None
    return title


def document_title(parsed: ParsedDocument, filename: str) -> str:
    """The metadata title, else the first real heading (or a text file's standalone first line), else
    the file name without its extension."""
    stated = clean_title(parsed.title, MAX_TITLE)
    if stated:
        return stated
    blocks = [b for b in parsed.blocks[:HEADING_WINDOW] if b.text.strip()]
    if blocks and blocks[0].kind is BlockKind.PARAGRAPH and (opening := clean_title(blocks[0].text)):
        return opening  # a plain-text file's first line standing alone
    for block in blocks:
        if block.kind is BlockKind.HEADING and block.level <= 2 and (heading := clean_title(block.text)):
            return heading
    return display_name(PurePath(filename).stem)[:MAX_TITLE] or "문서"
