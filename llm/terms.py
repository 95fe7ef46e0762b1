"""Content terms of short Korean/English texts, without a morphological analyser.

Used where a handful of terms must be picked quickly and deterministically (follow-up rewriting,
evidence scoring). A trailing particle or question ending is cut from Hangul words; question words
and fillers are dropped. Over-cutting is harmless because terms are matched as substrings or
character bigrams, never as exact tokens.
"""

from __future__ import annotations

import re

WORD_RE = re.compile(r"[0-9A-Za-z가-힣]+")
HANGUL_END_RE = re.compile(r"[가-힣]$")
MIN_STEM = 2

# Longest first, so "에서는" is cut before "는".
ENDINGS = tuple(
    sorted(
        {
            # question and sentence endings
            "인가요", "인지요", "일까요", "할까요", "하나요", "되나요", "있나요", "없나요", "주나요",
            "받나요", "나요", "습니까", "합니까", "됩니까", "입니까", "있습니까", "인데요", "이에요",
            "예요", "에요", "이요", "어요", "아요", "해요", "세요", "해줘", "줘요", "할지", "인지", "한가요",
            "가요", "까요", "니다", "는지", "은지", "입니다", "합니다", "됩니다", "습니다", "한다", "된다",
            "이다", "하며", "되며", "하여",
            # particles (also stacked)
            "에서는", "에게서", "으로는", "으로서", "으로써", "이라고", "이라는", "까지는", "부터는",
            "에서도", "에게는", "한테서", "에서", "에게", "한테", "으로", "께서", "까지", "부터", "보다",
            "처럼", "마다", "이나", "이란", "라는", "이고", "하고", "와는", "과는", "은요", "는요", "에는",
            "에도", "로는", "이랑", "도요", "의", "은", "는", "이", "가", "을", "를", "에", "도", "로", "와",
            "과", "만", "요", "랑",
        },
        key=len,
        reverse=True,
    )
)  # fmt: skip
# Two-syllable nouns whose last syllable looks like a particle (휴가 ≠ 휴 + 가): never cut them.
PROTECTED_TAILS = frozenset(
    {
        "휴가", "병가", "평가", "추가", "참가", "단가", "대가", "물가", "증가", "인가", "허가", "원가",
        "차이", "나이", "종이", "제도", "한도", "정도", "용도", "속도", "빈도", "지도", "결과", "효과",
        "부과", "초과", "통과", "경로", "근로", "통로", "도로", "회의", "협의", "합의", "동의", "주의",
        "정의", "문의", "심의", "필요", "중요", "수요", "여부", "대리", "관리", "처리", "수리",
    }
)  # fmt: skip
VERB_SUFFIXES = ("하는", "되는", "하면", "되면", "해야", "하", "되", "한", "된", "할", "될")

QUESTION_WORDS = frozenset(
    {
        "며칠", "얼마", "얼마나", "언제", "어디", "어디서", "어떻게", "어떤", "어느", "무엇", "무슨",
        "뭐", "뭔가", "뭐야", "뭔지", "누구", "누가", "왜", "몇", "몇일", "알려", "알려줘", "알려주세",
        "궁금", "궁금합니다", "있어", "없어", "되는", "하는", "what", "when", "where", "which", "who",
        "whom", "whose", "why", "how", "many", "much",
    }
)  # fmt: skip
FILLER_WORDS = frozenset(
    {
        # Korean connectives, demonstratives and fillers
        "그럼", "그러면", "그렇다면", "그리고", "그런데", "근데", "또", "또한", "그거", "그건", "그것",
        "그게", "그걸", "이거", "이건", "이것", "이게", "이걸", "저거", "저건", "저것", "거기", "여기",
        "저기", "그곳", "이곳", "그때", "해당", "방금", "아까", "위의", "앞의", "그런", "이런", "저런",
        "경우에", "혹시", "좀", "제발", "정말", "그냥", "있는", "없는", "있을", "되어", "해서", "하여",
        "대해", "대해서", "관해", "관해서", "대한", "관한", "입니다", "합니다", "습니다", "주세요",
        "싶어요", "싶습니다", "하나요", "되나요", "있나요", "없나요", "받나요", "주나요", "해요", "해",
        "돼요", "돼", "되요", "할까요", "가능", "가능한가요", "같은가요", "같나요", "알려야", "됩니까",
        "합니까",
        # English stop words
        "a", "an", "the", "is", "are", "was", "were", "be", "do", "does", "did", "can", "could",
        "should", "would", "will", "i", "we", "you", "it", "its", "they", "them", "this", "that",
        "these", "those", "there", "of", "to", "in", "on", "for", "at", "by", "with", "from", "about",
        "and", "or", "also", "then", "so", "if", "my", "our", "your", "me", "us", "please", "tell",
        "get", "have", "has", "any", "same", "one", "ones",
    }
)  # fmt: skip


def stem(word: str) -> str:
    """``word`` lower-cased, with one trailing particle or ending and a verb suffix cut (Hangul)."""
    word = word.lower()
    if not HANGUL_END_RE.search(word):
        return word
    for ending in ENDINGS:
        if word.endswith(ending):
            if _long_enough(word[: -len(ending)]) and not (len(ending) == 1 and word[-2:] in PROTECTED_TAILS):
                word = word[: -len(ending)]
            break
    for suffix in VERB_SUFFIXES:
        if word.endswith(suffix) and _long_enough(word[: -len(suffix)]):
            return word[: -len(suffix)]
    return word


def _long_enough(stem_text: str) -> bool:
    """A cut must leave two characters (one syllable is too often part of the noun: 제도, 결과)."""
    return len(stem_text) >= MIN_STEM


def content_terms(text: str) -> list[str]:
    """Distinct content terms of ``text`` in order of appearance (question words and fillers dropped)."""
    terms: list[str] = []
    for word in WORD_RE.findall(text):
        lowered = word.lower()
        if lowered in FILLER_WORDS or lowered in QUESTION_WORDS:
            continue
        term = stem(lowered)
        if term in FILLER_WORDS or term in QUESTION_WORDS or not _meaningful(term):
            continue
        if term not in terms:
            terms.append(term)
    return terms


def _meaningful(term: str) -> bool:
    """Single characters carry no meaning on their own, except digits (5일 → "5" is kept as 5일)."""
    return len(term) >= 2 or term.isdigit()
