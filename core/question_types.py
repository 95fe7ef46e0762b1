"""What kind of answer a Korean question asks for, from its interrogative (며칠, 얼마, 언제, 누구 …).

Used to break evaluation results down by question type, so weak kinds of question show.
"""

from __future__ import annotations

import re

QUESTION_TYPES = ("days", "amount", "count", "when", "who", "where", "how", "why", "what", "yes-no", "other")
"""Every type :func:`question_type` returns, in a stable order for reports."""

# First match wins: the specific forms (며칠, 몇 명) before the general ones (몇, 무엇).
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("days", re.compile(r"며칠|몇\s*일|몇\s*박|how many days", re.IGNORECASE)),
    ("amount", re.compile(r"얼마|금액|비용은|몇\s*(?:원|달러|퍼센트|%)|how much", re.IGNORECASE)),
    ("when", re.compile(r"언제|몇\s*시|몇\s*년도|기한|when\b", re.IGNORECASE)),
    ("count", re.compile(r"몇|how many", re.IGNORECASE)),
    ("who", re.compile(r"누구|누가|어느\s*(?:부서|팀|사람)|who\b", re.IGNORECASE)),
    ("where", re.compile(r"어디|어느\s*곳|where\b", re.IGNORECASE)),
    ("how", re.compile(r"어떻게|어떤\s*(?:방법|절차)|방법은|절차는|how\b", re.IGNORECASE)),
    ("why", re.compile(r"왜|무슨\s*이유|이유는|why\b", re.IGNORECASE)),
    ("what", re.compile(r"무엇|뭐|무슨|어떤|어느|what\b|which\b", re.IGNORECASE)),
    ("yes-no", re.compile(r"(?:나요|까요|습니까|ㅂ니까|가요|되요|돼요|인가|있나|없나)\s*\??\s*$")),
)


def question_type(question: str) -> str:
    """The answer type a question asks for (one of :data:`QUESTION_TYPES`)."""
    for name, pattern in _RULES:
        if pattern.search(question):
            return name
    return "other"


# The noun a Korean passage uses for what an interrogative asks: 며칠 ("how many days") is answered
# by a passage about 일수 (the number of days), 얼마 by one about a 금액. The interrogative itself
# never occurs in the answer, so neither search leg can match it.
_ANSWER_NOUNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"며칠|몇\s*일"), "일수"),
    (re.compile(r"몇\s*박"), "숙박 일수"),
    (re.compile(r"얼마(?!나\s*(?:자주|오래|걸리))"), "금액"),
    (re.compile(r"얼마나\s*오래|얼마나\s*걸리|몇\s*(?:시간|개월|년)\s*(?:동안|간)"), "기간"),
    (re.compile(r"몇\s*명"), "인원"),
    (re.compile(r"몇\s*(?:회|번)"), "횟수"),
    (re.compile(r"언제까지"), "기한"),
    (re.compile(r"어디(?:에서|서|로|에)?"), "장소"),
)


def answer_nouns(question: str) -> list[str]:
    """Nouns naming what ``question`` asks for (며칠 → 일수, 얼마 → 금액, 몇 명 → 인원 …), in order.

    Search adds them to the query, so a passage stating the quantity asked about (``휴가 일수는
    25일``) matches; see :mod:`retrieval.search`.
    """
    found: list[str] = []
    for pattern, noun in _ANSWER_NOUNS:
        if pattern.search(question) and noun not in found:
            found.append(noun)
    return found
