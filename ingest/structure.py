"""Recognising the structure of Korean regulations: 장 / 절 / 조 / 항 / 호 markers."""

from __future__ import annotations

import re
from dataclasses import dataclass

CHAPTER_RE = re.compile(r"^\s*제\s*(\d+)\s*장(?:\s|$|[(.])")
SECTION_RE = re.compile(r"^\s*제\s*(\d+)\s*절(?:\s|$|[(.])")
ARTICLE_RE = re.compile(r"^\s*(제\s*(\d+)\s*조(?:\s*의\s*(\d+))?)\s*(?:\(([^)]{0,60})\))?")
PARAGRAPH_MARKS = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
PARAGRAPH_RE = re.compile(rf"(?:^|\s)([{PARAGRAPH_MARKS}])")


@dataclass(frozen=True, slots=True)
class ArticleRef:
    """A regulation article as people cite it: ``제12조`` with its caption ``연차휴가``."""

    label: str
    caption: str | None = None


def _compact(label: str) -> str:
    return re.sub(r"\s+", "", label)


def match_article(text: str) -> ArticleRef | None:
    """The article a line opens (``제12조(연차휴가) ① ...`` → 제12조 / 연차휴가), if any.

    A reference in running text ("제12조에 따라") does not open an article: the marker must be
    followed by a caption in parentheses, by the end of the line or by a paragraph mark.
    """
    match = ARTICLE_RE.match(text)
    if match is None:
        return None
    rest = text[match.end() :].lstrip()
    caption = match.group(4)
    if caption is None and rest and rest[0] not in PARAGRAPH_MARKS:
        return None
    return ArticleRef(label=_compact(match.group(1)), caption=caption.strip() if caption else None)


def chapter_level(text: str) -> int | None:
    """1 for a 장 heading, 2 for a 절 heading, else None."""
    if CHAPTER_RE.match(text):
        return 1
    if SECTION_RE.match(text):
        return 2
    return None


def paragraph_marks(text: str) -> list[str]:
    """The 항 markers (①, ②, …) that begin clauses in ``text``, in order."""
    return PARAGRAPH_RE.findall(text)
