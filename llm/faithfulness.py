"""Faithfulness: every figure in an answer must appear in the sources it cites.

A deterministic, Korean-aware check. Figures are amounts (2만 원, 20,000달러, $300), counts with
units (15일, 3년, 20명, 1박 2일, 열다섯 날, 십오 일, 다섯 명, 이틀), percentages (3.5%, 3.5퍼센트,
100분의 50), fractions (3분의 1, 1/3), dates (2024년 3월 1일, 2024.3.1, 2024-03-01, 3월 1일),
times (오후 3시, 15:00, 09:30), article references (제12조 ②, 제12조 제2항 제3호, [별표 2]),
ranges of any of these (3~5일, 09:00~18:00), bare numbers and codes (02-123-4567), and names
(quoted names, and Latin tokens inside Korean text). Both sides are normalised, so equivalent
forms match: 2만 원 = 20,000원 = 2만원; 1억 5천만 원 = 150,000,000원; 오후 3시 = 15:00 = 15시;
3.5% = 3.5퍼센트; 열다섯 날 = 15일; 50% = 100분의 50.

The match is strict: a figure is supported when a cited source holds the same normalised value with
the same unit (a value that is one end of a range in the source counts; a value merely inside a
range does not). A date in the answer may leave out parts the source gives (3월 1일 against
2024년 3월 1일), never add them. An article reference with a paragraph (제12조 ②) is found when the
source's 제12조 heading is followed by the mark ② before the next heading.

:class:`FaithfulnessStream` applies the check to streamed text: like the PII stream masker it
holds text back, here up to the last complete sentence, so that a sentence with an unsupported
figure can be flagged or dropped before it is shown. The module only reports; what to do about a
failed check (the :class:`FaithfulnessPolicy`) is the chat service's business.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from fractions import Fraction
from typing import Any

from llm.citations import MARKER_RE, cited_numbers
from llm.evidence import SENTENCE_END_RE

Value = Decimal | Fraction | tuple[Any, ...] | str
Key = tuple[Any, ...]


class FigureKind(StrEnum):
    """What a figure is."""

    AMOUNT = "amount"
    COUNT = "count"
    PERCENT = "percent"
    FRACTION = "fraction"
    DATE = "date"
    TIME = "time"
    ARTICLE = "article"
    NUMBER = "number"
    CODE = "code"
    NAME = "name"


class FaithfulnessPolicy(StrEnum):
    """What the chat service does with an answer sentence holding an unsupported figure."""

    FLAG = "flag"  # show it, marked ("출처에 없는 수치")
    DROP_SENTENCE = "drop_sentence"  # leave the sentence out
    FALLBACK_EXTRACTIVE = "fallback_extractive"  # stop and answer from the evidence instead


@dataclass(frozen=True, slots=True)
class Figure:
    """One figure found in a text.

    ``value`` is normalised: a :class:`~decimal.Decimal` (amounts, counts, percentages, numbers),
    a :class:`~fractions.Fraction`, a tuple (dates ``(year, month, day)`` with ``None`` for a
    missing part, times ``(hour, minute)``, articles ``(조, 조의, 항, 호)``, annexes and chapters
    ``(kind, n)``) or a string (codes, names). ``high`` is the upper end of a range.
    ``ambiguous`` marks a time given without 오전/오후 (3시 may be 03:00 or 15:00).
    """

    kind: FigureKind
    value: Value
    unit: str
    start: int
    end: int
    text: str
    high: Value | None = None
    ambiguous: bool = False

    @property
    def span(self) -> tuple[int, int]:
        """``(start, end)`` offsets in the text the figure was found in."""
        return (self.start, self.end)

    @property
    def is_range(self) -> bool:
        """Whether the figure is a range (3~5일)."""
        return self.high is not None

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        out: dict[str, Any] = {
            "kind": str(self.kind),
            "text": self.text,
            "value": show_value(self.kind, self.value),
            "unit": self.unit,
            "start": self.start,
            "end": self.end,
        }
        if self.high is not None:
            out["high"] = show_value(self.kind, self.high)
        return out


def show_value(kind: FigureKind, value: Value) -> str:
    """A normalised value as text: 20000, 1/3, 2024-03-01, 15:00, 제12조 제2항."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, str):
        return value
    return _show_tuple(kind, value)


def _show_tuple(kind: FigureKind, value: tuple[Any, ...]) -> str:
    if kind is FigureKind.DATE:
        return "-".join(f"{part:02d}" if part is not None else "?" for part in value).strip("-?")
    if kind is FigureKind.TIME:
        return f"{value[0]:02d}:{value[1]:02d}"
    if len(value) == 4:
        labels = ("제{}조", "의{}", " 제{}항", " 제{}호")
        return "".join(label.format(part) for label, part in zip(labels, value, strict=True) if part).strip()
    if value[0] in CHAPTER_WORDS:
        return f"제{value[1]}{value[0]}"
    return " ".join(str(part) for part in value)


# ---------------------------------------------------------------------------------------------
# Units

CURRENCIES = {
    "원": "KRW", "₩": "KRW", "￦": "KRW", "KRW": "KRW", "won": "KRW",
    "달러": "USD", "$": "USD", "US$": "USD", "USD": "USD", "dollars": "USD", "dollar": "USD",
    "엔": "JPY", "¥": "JPY", "JPY": "JPY", "yen": "JPY",
    "유로": "EUR", "€": "EUR", "EUR": "EUR", "euros": "EUR", "euro": "EUR",
    "위안": "CNY", "CNY": "CNY", "파운드": "GBP", "£": "GBP", "GBP": "GBP",
}  # fmt: skip
PREFIX_CURRENCIES = ("US$", "$", "₩", "￦", "€", "¥", "£", "KRW", "USD", "EUR", "JPY", "CNY", "GBP")

COUNT_UNITS = {
    "일간": "day", "일": "day", "날": "day", "days": "day", "day": "day",
    "박": "night", "nights": "night", "night": "night",
    "주일": "week", "주간": "week", "주": "week", "weeks": "week", "week": "week",
    "개월": "month", "달": "month", "months": "month", "month": "month",
    "개년": "year", "년간": "year", "년": "year", "해": "year", "years": "year", "year": "year",
    "년차": "service-year", "주년": "anniversary",
    "시간": "hour", "hours": "hour", "hour": "hour",
    "분기": "quarter", "분": "minute", "minutes": "minute", "초": "second",
    "명": "person", "인": "person", "사람": "person", "people": "person", "persons": "person",
    "employees": "person",
    "회": "times", "번": "times", "차례": "times", "times": "times", "번째": "ordinal", "차": "round",
    "영업일": "business-day", "근무일": "business-day",
    "배": "multiple", "건": "case", "개": "item", "가지": "kind", "곳": "place", "대": "대",
    "부": "copy", "장": "sheet", "매": "sheet", "권": "volume", "쪽": "page", "페이지": "page",
    "세": "age", "살": "age", "층": "floor", "호봉": "step", "등급": "grade", "급": "grade",
    "점": "point", "인치": "inch",
    "km": "km", "cm": "cm", "mm": "mm", "m": "m", "kg": "kg", "g": "g", "㎡": "m2", "m²": "m2",
    "m2": "m2", "평": "pyeong", "GB": "GB", "MB": "MB", "TB": "TB", "kWh": "kWh", "℃": "C", "°C": "C",
}  # fmt: skip
PERCENT_UNITS = {
    "%p": "%p", "%포인트": "%p", "퍼센트포인트": "%p", "%": "%", "％": "%", "퍼센트": "%",
    "프로": "%", "percent": "%",
}  # fmt: skip

NATIVE_TENS = {"열": 10, "스물": 20, "스무": 20, "서른": 30, "마흔": 40, "쉰": 50, "예순": 60,
               "일흔": 70, "여든": 80, "아흔": 90}  # fmt: skip
NATIVE_ONES = {"하나": 1, "한": 1, "둘": 2, "두": 2, "셋": 3, "세": 3, "석": 3, "넷": 4, "네": 4,
               "넉": 4, "다섯": 5, "여섯": 6, "일곱": 7, "여덟": 8, "아홉": 9}  # fmt: skip
NATIVE_DAYS = {"하루": 1, "이틀": 2, "사흘": 3, "나흘": 4, "닷새": 5, "엿새": 6, "이레": 7,
               "여드레": 8, "아흐레": 9, "열흘": 10, "보름": 15}  # fmt: skip
COUNT_WORDS = {**{word: (days, "day") for word, days in NATIVE_DAYS.items()}, "일주일": (1, "week"),
               "한 주": (1, "week"), "일 년": (1, "year"), "반년": (6, "month")}  # fmt: skip
NATIVE_UNITS = {
    "명": "person", "사람": "person", "분": "person", "번째": "ordinal", "번": "times",
    "차례": "times", "날": "day", "일": "day", "달": "month", "해": "year", "개": "item",
    "가지": "kind", "곳": "place", "살": "age", "시간": "hour", "주": "week", "권": "volume",
    "장": "sheet", "대": "대", "배": "multiple", "시": "clock",
}  # fmt: skip
SINO_DIGITS = {"영": 0, "공": 0, "일": 1, "이": 2, "삼": 3, "사": 4, "오": 5, "육": 6, "륙": 6,
               "칠": 7, "팔": 8, "구": 9}  # fmt: skip
SMALL_MULTIPLIERS = {"십": 10, "백": 100, "천": 1000}
BIG_MULTIPLIERS = {"만": 10**4, "억": 10**8, "조": 10**12}
SINO_UNITS = {
    **{u: COUNT_UNITS[u] for u in ("일간", "일", "년간", "년", "개월", "주일", "주간", "주", "명",
                                   "회", "시간", "분", "초", "세", "층", "박", "인", "배")},
    **dict.fromkeys(("퍼센트", "프로"), "%"),
    **{u: CURRENCIES[u] for u in ("원", "달러", "엔", "유로", "위안")},
}  # fmt: skip
LATIN_STOPWORDS = frozenset(
    {"AM", "PM", "KRW", "USD", "EUR", "JPY", "CNY", "GBP", "GB", "MB", "TB", "KB", "OK", "NO", "YES"}
)


def _alternation(words: Collection[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_SP = "[ \u00a0]?"
# Numbers start with a plain \d so that the regex engine can skip to the digits quickly.
_DIG = r"\d(?:\d{0,2}(?:,\d{3})+|\d*)(?:\.\d+)?"
_CURRENCY_AHEAD = r"(?=[\s\d,.천백만억]*(?:원|달러|엔|유로|위안))"
_MULT = rf"(?:[천백억]|만(?!큼)|조{_CURRENCY_AHEAD})"
_NUM = rf"{_DIG}(?:{_SP}{_MULT}+(?:{_SP}{_DIG})?)*"
_SINO_NUM = "[일이삼사오육륙칠팔구십백천만억][일이삼사오육륙칠팔구십백천만억]{0,7}"
_NATIVE_WORDS = {*NATIVE_TENS, *NATIVE_ONES, *(t + o for t in NATIVE_TENS for o in NATIVE_ONES)}
_NATIVE_NUM = _alternation(_NATIVE_WORDS)  # one flat list of words, so the engine can skip ahead
_MERIDIEM = "오전|오후|아침|낮|저녁|밤|새벽"
_PERCENT = _alternation(set(PERCENT_UNITS) - {"프로"}) + "|프로(?!그램|젝트|필|세스|모션)"

# Also in a quoted line, and after a model's citation marker that opens the line ("[1] 2. 신청서 제출").
BULLET_SPAN_RE = re.compile(r"(?m)^[ \t]*(?:>[ \t]*)?(?:\[\d{1,3}\][ \t]*)*\d{1,2}[.)](?=\s)")
TAG_SPAN_RE = re.compile(r"</?\w+(?:\s[^<>]*)?>")
EXCLUDED: tuple[re.Pattern[str], ...] = (MARKER_RE, BULLET_SPAN_RE, TAG_SPAN_RE)

ANNEX_RE = re.compile(rf"(별표|별지|부록)\s?(?:제{_SP})?(\d+)(?:{_SP}호)?(?:{_SP}서식)?(?:{_SP}\])?")
BRACKET_BEFORE_RE = re.compile(rf"\[{_SP}$")
ARTICLE_RE = re.compile(
    rf"제{_SP}(\d+){_SP}조(?:{_SP}의{_SP}(\d+))?(?:\([^()\n]{{1,20}}\))?"
    rf"(?:{_SP}(?:제{_SP}(\d+){_SP}항|(\d+){_SP}항|([①-⑳])))?"
    rf"(?:{_SP}(?:제{_SP}(\d+){_SP}호|(\d+){_SP}호(?!봉)))?"
)
PARAGRAPH_RE = re.compile(rf"제{_SP}(\d+){_SP}항(?:{_SP}(?:제{_SP})?(\d+){_SP}호(?!봉))?")
ITEM_RE = re.compile(rf"제{_SP}(\d+){_SP}호(?!봉)")
CHAPTER_WORDS = ("편", "장", "절", "관")
CHAPTER_RE = re.compile(rf"제{_SP}(\d+){_SP}({'|'.join(CHAPTER_WORDS)})")
DATE_SEP_RE = re.compile(r"(\d\d{3})\s?([.\-/])\s?(\d\d?)\s?\2\s?(\d\d?)(?!\d)\.?")
DATE_YMD_RE = re.compile(rf"(\d\d{{3}}){_SP}년{_SP}(\d\d?){_SP}월(?:{_SP}(\d\d?){_SP}일)?")
DATE_MD_RE = re.compile(rf"(\d\d?){_SP}월(?:{_SP}(\d\d?){_SP}일)?(?![급세])")
DATE_Y_RE = re.compile(rf"(\d\d{{3}}){_SP}년(?!{_SP}?[간차])")
TIME_KO_RE = re.compile(
    rf"(\d\d?){_SP}시(?!간|각|행|급|점|기|험|설|장|스템)(?:{_SP}(\d\d?){_SP}분|{_SP}(반))?"
)
TIME_COLON_RE = re.compile(rf"(\d\d?):(\d\d)(?![\d:])(?:{_SP}([AaPp])\.?[Mm]\.?(?![A-Za-z]))?")
TIME_AMPM_RE = re.compile(r"(\d\d?)\s?([AaPp])\.?[Mm]\.?(?![A-Za-z])")
TIME_WORD_RE = re.compile(r"정오|자정")
MERIDIEM_BEFORE_RE = re.compile(rf"({_MERIDIEM}){_SP}$")
CODE_RE = re.compile(r"\d\d{1,5}(?:-\d{2,8}){2,}(?![\d-])")
AMOUNT_PREFIX_RE = re.compile(rf"({_alternation(PREFIX_CURRENCIES)}){_SP}({_NUM})")
FRACTION_RE = re.compile(rf"({_NUM}|{_SINO_NUM}){_SP}분의{_SP}({_NUM}|{_SINO_NUM}(?![부반정자시대상]))")
SLASH_FRACTION_RE = re.compile(r"(\d\d{0,2})/(\d{1,3})(?![\d/])")
NUMERIC_RE = re.compile(
    rf"(?P<num>{_NUM})(?:{_SP}(?:(?P<cur>{_alternation(CURRENCIES)})|(?P<pct>{_PERCENT})"
    rf"|(?P<unit>{_alternation(COUNT_UNITS)}))(?![A-Za-z]))?"
)
NATIVE_RE = re.compile(rf"({_NATIVE_NUM}){_SP}({_alternation(NATIVE_UNITS)})")
COUNT_WORD_RE = re.compile(_alternation(COUNT_WORDS))
SINO_RE = re.compile(rf"({_SINO_NUM}) ({_alternation(SINO_UNITS)})(?![A-Za-z])")
QUOTED_RE = re.compile(r"[「『“\"‘]([^「」『』“”\"‘’\n]{2,40})[」』”\"’]")
LATIN_RE = re.compile(r"[A-Z][A-Za-z0-9]*(?:(?:[&.\-]| (?=[A-Z]))[A-Za-z0-9]+)*")
HANGUL_RE = re.compile("[가-힣]")
LATIN_OR_DIGIT_RE = re.compile("[A-Za-z0-9]")
RANGE_SEP_RE = re.compile(r"\s?(?:[~～∼〜–—]|-|부터|에서)\s?")
WHITESPACE_RE = re.compile(r"\s+")


# ---------------------------------------------------------------------------------------------
# Numbers


def parse_number(text: str) -> Decimal | None:
    """The value of a number written with Arabic digits, Sino-Korean numerals or both.

    Handles thousands separators and the Korean multipliers: "20,000" → 20000, "2만" → 20000,
    "1억 5천만" → 150000000, "1.5억" → 150000000, "십오" → 15, "이만" → 20000.
    """
    total = Decimal(0)
    small = Decimal(0)
    pending: Decimal | None = None
    for token in _number_tokens(text):
        if isinstance(token, Decimal):
            pending = token
        elif token in SMALL_MULTIPLIERS:
            small += (pending if pending is not None else Decimal(1)) * SMALL_MULTIPLIERS[token]
            pending = None
        else:
            group = small + (pending or 0)
            total += (group or Decimal(1)) * BIG_MULTIPLIERS[token]
            small, pending = Decimal(0), None
    if pending is None and small == 0 and total == 0 and not re.search("[0-9영공]", text):
        return None
    return total + small + (pending or 0)


def _number_tokens(text: str) -> Iterator[Decimal | str]:
    for match in re.finditer(r"[\d,]*\d(?:\.\d+)?|[십백천만억조]|[영공일이삼사오육륙칠팔구]", text):
        token = match.group()
        if token in SMALL_MULTIPLIERS or token in BIG_MULTIPLIERS:
            yield token
        elif token in SINO_DIGITS:
            yield Decimal(SINO_DIGITS[token])
        else:
            try:
                yield Decimal(token.replace(",", ""))
            except InvalidOperation:
                continue


def _native_number(text: str) -> int:
    for tens, value in NATIVE_TENS.items():
        if text.startswith(tens):
            return value + NATIVE_ONES.get(text[len(tens) :], 0)
    return NATIVE_ONES[text]


# ---------------------------------------------------------------------------------------------
# Extraction: ordered passes; a later pass never takes text an earlier one claimed.

Builder = Callable[[re.Match[str]], "Figure | None"]


@dataclass(frozen=True, slots=True)
class _Pass:
    pattern: re.Pattern[str]
    build: Builder
    triggers: tuple[str, ...] = ()  # skip the pass when none of these occurs in the text


def _figure(
    match: re.Match[str],
    kind: FigureKind,
    value: Value,
    unit: str = "",
    *,
    start: int | None = None,
    **extra: Any,
) -> Figure:
    begin, end = match.span()
    if start is not None:
        begin = start
    text = match.string[begin:end]
    stripped = text.strip()
    begin += len(text) - len(text.lstrip())
    return Figure(kind, value, unit, begin, begin + len(stripped), stripped, **extra)


def _inside_word(match: re.Match[str]) -> bool:
    """Whether a match starting with a digit continues a number or a Latin token (A4, 12,000)."""
    start = match.start()
    return start > 0 and (
        match.string[start - 1] in ".," or LATIN_OR_DIGIT_RE.match(match.string, start - 1) is not None
    )


def _after_hangul(match: re.Match[str]) -> bool:
    """Whether a Korean numeral word is the tail of a longer word (수십 명, 만일)."""
    start = match.start()
    return start > 0 and HANGUL_RE.match(match.string, start - 1) is not None


NUMERIC_SUFFIXES = (
    ("cur", FigureKind.AMOUNT, CURRENCIES),
    ("pct", FigureKind.PERCENT, PERCENT_UNITS),
    ("unit", FigureKind.COUNT, COUNT_UNITS),
)


def _numeric(match: re.Match[str]) -> Figure | None:
    value = None if _inside_word(match) else parse_number(match.group("num"))
    if value is None:
        return None
    for group, kind, units in NUMERIC_SUFFIXES:
        if match.group(group):
            return _figure(match, kind, value, units[match.group(group)])
    following = match.string[match.end() : match.end() + 1]
    if following.isascii() and following.isalpha():
        return None  # 3D, mp3-like tokens
    return _figure(match, FigureKind.NUMBER, value)


def _amount_prefix(match: re.Match[str]) -> Figure | None:
    value = parse_number(match.group(2))
    return None if value is None else _figure(match, FigureKind.AMOUNT, value, CURRENCIES[match.group(1)])


def _fraction(match: re.Match[str]) -> Figure | None:
    start = match.start()
    if (start > 0 and HANGUL_RE.match(match.string, start - 1)) or _inside_word(match):
        return None
    denominator, numerator = parse_number(match.group(1)), parse_number(match.group(2))
    if not denominator or numerator is None:
        return None
    return _figure(match, FigureKind.FRACTION, Fraction(numerator) / Fraction(denominator))


def _slash_fraction(match: re.Match[str]) -> Figure | None:
    numerator, denominator = int(match.group(1)), int(match.group(2))
    if not denominator or _inside_word(match) or match.string[match.start() - 1 : match.start()] == "/":
        return None
    return _figure(match, FigureKind.FRACTION, Fraction(numerator, denominator))


def _native(match: re.Match[str]) -> Figure | None:
    numeral, unit = match.group(1), match.group(2)
    if _after_hangul(match):
        return None
    value = _native_number(numeral)
    if unit == "일" and len(numeral) < 2:  # "한 일" is "a thing done", not one day
        return None
    if NATIVE_UNITS[unit] == "clock":
        return _clock(match, value, 0) if 1 <= value <= 12 else None
    return _figure(match, FigureKind.COUNT, Decimal(value), NATIVE_UNITS[unit])


def _count_word(match: re.Match[str]) -> Figure | None:
    if _after_hangul(match):
        return None
    value, unit = COUNT_WORDS[match.group()]
    return _figure(match, FigureKind.COUNT, Decimal(value), unit)


def _sino(match: re.Match[str]) -> Figure | None:
    numeral, unit = match.group(1), match.group(2)
    if _after_hangul(match) or numeral in {"이", "사"} or (numeral == "일" and unit.startswith("일")):
        return None  # "이 일" (this work), "사 명" is rare, "일 일" is no Korean
    value = parse_number(numeral)
    if value is None:
        return None
    canonical = SINO_UNITS[unit]
    if canonical == "%":
        return _figure(match, FigureKind.PERCENT, value, "%")
    if canonical in CURRENCIES.values():
        return _figure(match, FigureKind.AMOUNT, value, canonical)
    return _figure(match, FigureKind.COUNT, value, canonical)


def _valid_date(year: int | None, month: int | None, day: int | None) -> bool:
    return (
        (year is None or 1900 <= year <= 2100)
        and (month is None or 1 <= month <= 12)
        and (day is None or 1 <= day <= 31)
    )


def _date(match: re.Match[str], year: str | None, month: str | None, day: str | None) -> Figure | None:
    parts = tuple(int(p) if p else None for p in (year, month, day))
    if not _valid_date(*parts) or _inside_word(match):
        return None
    return _figure(match, FigureKind.DATE, parts)


def _date_ymd(match: re.Match[str]) -> Figure | None:
    return _date(match, match.group(1), match.group(2), match.group(3))


def _date_sep(match: re.Match[str]) -> Figure | None:
    return _date(match, match.group(1), match.group(3), match.group(4))


def _date_md(match: re.Match[str]) -> Figure | None:
    return _date(match, None, match.group(1), match.group(2))


def _date_y(match: re.Match[str]) -> Figure | None:
    return _date(match, match.group(1), None, None)


def _clock(match: re.Match[str], hour: int, minute: int, meridiem: str | None = None) -> Figure | None:
    if hour > 24 or minute >= 60:
        return None
    start = None
    if meridiem is None:
        before = MERIDIEM_BEFORE_RE.search(match.string, max(0, match.start() - 4), match.start())
        if before:
            meridiem, start = before.group(1), before.start()
    ambiguous = meridiem is None and 1 <= hour <= 12 and not match.group().startswith("0")
    evening = meridiem in {"오후", "저녁", "밤", "P", "p"} and hour < 12
    if evening or (meridiem == "낮" and hour <= 6):
        hour += 12
    elif meridiem in {"오전", "새벽", "A", "a", "밤"} and hour == 12:
        hour = 0
    return _figure(match, FigureKind.TIME, (hour % 24, minute), start=start, ambiguous=ambiguous)


def _time_ko(match: re.Match[str]) -> Figure | None:
    if _inside_word(match):
        return None
    minute = 30 if match.group(3) else int(match.group(2) or 0)
    return _clock(match, int(match.group(1)), minute)


def _time_colon(match: re.Match[str]) -> Figure | None:
    if _inside_word(match):
        return None
    return _clock(match, int(match.group(1)), int(match.group(2)), match.group(3))


def _time_ampm(match: re.Match[str]) -> Figure | None:
    return None if _inside_word(match) else _clock(match, int(match.group(1)), 0, match.group(2))


def _time_word(match: re.Match[str]) -> Figure:
    return _figure(match, FigureKind.TIME, (12, 0) if match.group() == "정오" else (0, 0))


def _int(text: str | None) -> int | None:
    return int(text) if text else None


def _article(match: re.Match[str]) -> Figure:
    paragraph = _int(match.group(3) or match.group(4))
    if match.group(5):
        paragraph = ord(match.group(5)) - ord("①") + 1
    value = (int(match.group(1)), _int(match.group(2)), paragraph, _int(match.group(6) or match.group(7)))
    return _figure(match, FigureKind.ARTICLE, value)


def _paragraph(match: re.Match[str]) -> Figure:
    value = (None, None, int(match.group(1)), _int(match.group(2)))
    return _figure(match, FigureKind.ARTICLE, value)


def _item(match: re.Match[str]) -> Figure:
    return _figure(match, FigureKind.ARTICLE, (None, None, None, int(match.group(1))))


def _annex(match: re.Match[str]) -> Figure:
    bracket = BRACKET_BEFORE_RE.search(match.string, max(0, match.start() - 2), match.start())
    start = bracket.start() if bracket else None
    return _figure(match, FigureKind.ARTICLE, (match.group(1), int(match.group(2))), start=start)


def _chapter(match: re.Match[str]) -> Figure:
    return _figure(match, FigureKind.ARTICLE, (match.group(2), int(match.group(1))))


def _code(match: re.Match[str]) -> Figure | None:
    return None if _inside_word(match) else _figure(match, FigureKind.CODE, match.group().replace("-", ""))


PASSES: tuple[_Pass, ...] = (
    _Pass(ANNEX_RE, _annex, ("별표", "별지", "부록")),
    _Pass(ARTICLE_RE, _article, ("제",)),
    _Pass(PARAGRAPH_RE, _paragraph, ("제",)),
    _Pass(ITEM_RE, _item, ("제",)),
    _Pass(CHAPTER_RE, _chapter, ("제",)),
    _Pass(DATE_SEP_RE, _date_sep, (".", "-", "/")),
    _Pass(DATE_YMD_RE, _date_ymd, ("년",)),
    _Pass(DATE_MD_RE, _date_md, ("월",)),
    _Pass(DATE_Y_RE, _date_y, ("년",)),
    _Pass(TIME_COLON_RE, _time_colon, (":",)),
    _Pass(TIME_KO_RE, _time_ko, ("시",)),
    _Pass(TIME_AMPM_RE, _time_ampm, ("M", "m")),
    _Pass(TIME_WORD_RE, _time_word, ("정오", "자정")),
    _Pass(CODE_RE, _code, ("-",)),
    _Pass(AMOUNT_PREFIX_RE, _amount_prefix, PREFIX_CURRENCIES),
    _Pass(FRACTION_RE, _fraction, ("분의",)),
    _Pass(SLASH_FRACTION_RE, _slash_fraction, ("/",)),
    _Pass(NUMERIC_RE, _numeric),
    _Pass(COUNT_WORD_RE, _count_word),
    _Pass(NATIVE_RE, _native),
    _Pass(SINO_RE, _sino),
)


def extract_figures(text: str, *, names: bool = True) -> list[Figure]:
    """The figures of ``text`` in order of position (see the module docstring for the forms).

    Citation markers (``[1]``), list numbers at the start of a line and prompt tags are not
    figures. Two figures joined by a range sign (~, -, 부터) become one range figure; a bare
    number before a range sign takes the unit of the figure after it (3~5일). With ``names``,
    quoted names and Latin tokens next to Hangul text (e.g. "Teams") are figures too.
    """
    claimed = bytearray(len(text))
    for pattern in EXCLUDED:
        for match in pattern.finditer(text):
            _claim(claimed, *match.span())
    found: list[Figure] = []
    for step in PASSES:
        if step.triggers and not any(t in text for t in step.triggers):
            continue
        for match in step.pattern.finditer(text):
            if claimed.find(1, *match.span()) != -1:
                continue
            figure = step.build(match)
            if figure is not None and claimed.find(1, figure.start, figure.end) == -1:
                _claim(claimed, figure.start, figure.end)
                found.append(figure)
    found.sort(key=lambda f: f.start)
    figures = _merge_ranges(text, found)
    if names:
        figures = sorted(figures + _names(text, claimed), key=lambda f: f.start)
    return figures


def _shift(figure: Figure, offset: int) -> Figure:
    return Figure(
        figure.kind,
        figure.value,
        figure.unit,
        figure.start + offset,
        figure.end + offset,
        figure.text,
        figure.high,
        figure.ambiguous,
    )


def _claim(claimed: bytearray, start: int, end: int) -> None:
    claimed[start:end] = b"\x01" * (end - start)


def _merge_ranges(text: str, figures: list[Figure]) -> list[Figure]:
    merged: list[Figure] = []
    for figure in figures:
        low = merged[-1] if merged else None
        if low is not None and _joins_range(text, low, figure):
            merged[-1] = _range(text, low, figure)
        else:
            merged.append(figure)
    return merged


def _joins_range(text: str, low: Figure, high: Figure) -> bool:
    if low.is_range or high.is_range or not RANGE_SEP_RE.fullmatch(text[low.end : high.start]):
        return False
    if high.kind in {FigureKind.NUMBER, FigureKind.CODE, FigureKind.ARTICLE}:
        return False
    same = low.kind is high.kind and low.unit == high.unit
    return same or (low.kind is FigureKind.NUMBER and isinstance(high.value, Decimal))


def _range(text: str, low: Figure, high: Figure) -> Figure:
    low_value = low.value
    if low.kind is FigureKind.NUMBER and isinstance(low_value, Decimal) and isinstance(high.value, Decimal):
        low_value = _scale_like(low_value, high)
    return Figure(
        high.kind,
        low_value,
        high.unit,
        low.start,
        high.end,
        text[low.start : high.end],
        high=high.value,
        ambiguous=low.ambiguous or high.ambiguous,
    )


def _scale_like(value: Decimal, high: Figure) -> Decimal:
    """10~20만 원: the bare 10 is 10만."""
    for word, factor in (("억", 10**8), ("만", 10**4)):
        if word in high.text and value * factor <= Decimal(str(high.value)):
            return value * factor
    return value


def _names(text: str, claimed: bytearray) -> list[Figure]:
    out: list[Figure] = []
    for match in QUOTED_RE.finditer(text):
        name = match.group(1).strip()
        if name and not MARKER_RE.fullmatch(name):
            out.append(Figure(FigureKind.NAME, _compact(name), "", *match.span(1), name))
    for match in LATIN_RE.finditer(text):
        start, end = match.span()
        word = match.group()
        if (
            len(word) < 2
            or (start > 0 and LATIN_OR_DIGIT_RE.match(text, start - 1) is not None)
            or word.upper() in LATIN_STOPWORDS
            or claimed.find(1, start, end) != -1
            or not HANGUL_RE.search(text, max(0, start - 20), end + 20)
            or any(f.start <= start < f.end for f in out)
        ):
            continue
        out.append(Figure(FigureKind.NAME, _compact(word), "", start, end, word))
    return out


def _compact(text: str) -> str:
    return WHITESPACE_RE.sub("", text).casefold()


# ---------------------------------------------------------------------------------------------
# Keys: what a figure is matched by


def _point_keys(kind: FigureKind, unit: str, value: Value, ambiguous: bool) -> list[Key]:
    if kind is FigureKind.PERCENT and unit == "%" and isinstance(value, Decimal):
        return [("ratio", "", Fraction(value) / 100)]
    if kind is FigureKind.FRACTION:
        return [("ratio", "", value)]
    if kind is FigureKind.TIME and ambiguous and isinstance(value, tuple):
        hour, minute = value
        return [("time", "", (hour, minute)), ("time", "", ((hour + 12) % 24, minute))]
    return [(str(kind), unit, value)]


def _source_keys(figure: Figure) -> set[Key]:
    """Every key under which a figure found in a source supports an answer's figure."""
    values = [figure.value] if figure.high is None else [figure.value, figure.high]
    keys: set[Key] = set()
    for value in values:
        keys.update(_point_keys(figure.kind, figure.unit, value, figure.ambiguous))
        keys.update(_component_keys(figure.kind, value))
    if figure.high is not None:
        low = _point_keys(figure.kind, figure.unit, figure.value, ambiguous=False)[0]
        keys.add(("range", *low, figure.high))
    return keys


def _component_keys(kind: FigureKind, value: Value) -> list[Key]:
    """Partial dates a full date supports, and the bare numbers any figure supports."""
    if isinstance(value, Decimal):
        return [("number", "", value)]
    if kind is not FigureKind.DATE or not isinstance(value, tuple):
        return []
    year, month, day = value
    partial = {(year, None, None), (year, month, None), (None, month, day), (None, month, None)}
    keys: list[Key] = [("date", "", p) for p in partial if any(p)]
    return keys + [("number", "", Decimal(p)) for p in value if p is not None]


def _requirements(figure: Figure) -> list[tuple[Key, ...]]:
    """Alternatives for supporting an answer's figure: a source must hold every key of one."""
    points = _point_keys(figure.kind, figure.unit, figure.value, figure.ambiguous)
    if figure.high is None and figure.kind is FigureKind.COUNT and figure.text.endswith("번"):
        points.append(("number", "", figure.value))  # 내선 2310번, 3번 출구: a number, not a count
    if figure.high is None:
        return [(key,) for key in points]
    highs = _point_keys(figure.kind, figure.unit, figure.high, figure.ambiguous)
    return [(("range", *points[0], figure.high),), (points[0], highs[0])]


def _article_context_keys(text: str, figures: Sequence[Figure]) -> set[Key]:
    """(조, 조의, 항, 호) keys from a source's structure: ② after a 제12조 heading is 제12조 제2항.

    An article reference counts as a heading (it sets the context) when it carries a title in
    parentheses, or is followed by a bracket or a paragraph mark; later ① ② marks and "제2항"
    are its paragraphs, "제3호" and list numbers (1. 2.) the items of the current paragraph.
    """
    events: list[tuple[int, str, int | None, int | None]] = []
    for figure in figures:
        value = figure.value
        if figure.kind is FigureKind.ARTICLE and isinstance(value, tuple) and len(value) == 4:
            if value[0] is not None and _is_heading(text, figure):
                events.append((figure.start, "jo", value[0], value[1]))
            if value[2] is not None:
                events.append((figure.end - 1, "hang", value[2], None))
            if value[3] is not None:
                events.append((figure.end, "ho", value[3], None))
    events += [(m.start(), "hang", ord(m.group()) - ord("①") + 1, None) for m in CIRCLED_RE.finditer(text)]
    events += [(m.start(1), "ho", int(m.group(1)), None) for m in LIST_ITEM_RE.finditer(text)]
    return _walk_structure(sorted(events))


def _is_heading(text: str, figure: Figure) -> bool:
    has_paragraph = isinstance(figure.value, tuple) and figure.value[2] is not None
    return "(" in figure.text or has_paragraph or HEADING_AFTER_RE.match(text, figure.end) is not None


def _walk_structure(events: list[tuple[int, str, int | None, int | None]]) -> set[Key]:
    keys: set[tuple[Any, ...]] = set()
    article: tuple[int | None, int | None] = (None, None)
    paragraph: int | None = None
    for _, what, number, sub in events:
        if what == "jo":
            article, paragraph = (number, sub), None
            keys.add((*article, None, None))
        elif what == "hang":
            paragraph = number
            keys.update({(*article, paragraph, None), (None, None, paragraph, None)})
        else:
            keys.update({(*article, paragraph, number), (None, None, paragraph, number)})
            keys.update({(*article, None, number), (None, None, None, number)})
    return {("article", "", key) for key in keys}


CIRCLED_RE = re.compile("[①-⑳]")
LIST_ITEM_RE = re.compile(r"(?:^|\s)(\d{1,2})[.)](?=\s)", re.MULTILINE)
HEADING_AFTER_RE = re.compile(r"\s*[(\[【①-⑳]|\s*$", re.MULTILINE)


# ---------------------------------------------------------------------------------------------
# Reports


@dataclass(frozen=True, slots=True)
class FigureCheck:
    """One figure of the answer, the sentence it sits in and the cited sources that hold it."""

    figure: Figure
    sentence: str
    sources: tuple[int, ...]

    @property
    def supported(self) -> bool:
        """Whether at least one cited source holds the figure."""
        return bool(self.sources)

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {**self.figure.as_dict(), "sentence": self.sentence, "sources": list(self.sources)}


@dataclass(frozen=True, slots=True)
class FaithfulnessReport:
    """The figures of an answer, split into those its cited sources support and those they do not."""

    supported: tuple[FigureCheck, ...]
    unsupported: tuple[FigureCheck, ...]
    cited: tuple[int, ...]

    @property
    def grounded(self) -> bool:
        """True when no figure of the answer is missing from its cited sources."""
        return not self.unsupported

    @property
    def unsupported_sentences(self) -> list[str]:
        """The answer sentences holding an unsupported figure, in order, each once."""
        return list(dict.fromkeys(check.sentence for check in self.unsupported))

    def to_dict(self) -> dict[str, Any]:
        """JSON form, the ``faithfulness`` field of an answer."""
        return {
            "grounded": self.grounded,
            "checked": len(self.supported) + len(self.unsupported),
            "cited": list(self.cited),
            "unsupported": [check.as_dict() for check in self.unsupported],
            "supported": [check.as_dict() for check in self.supported],
        }


class SourceIndex:
    """The figures of the offered sources, by source number, built once per answer."""

    def __init__(self, sources: Sequence[str] | Mapping[int, str]) -> None:
        """Index ``sources``: a sequence is numbered 1, 2, … like the prompt's ``[n]`` markers."""
        items = sources.items() if isinstance(sources, Mapping) else enumerate(sources, start=1)
        self._keys: dict[int, frozenset[Key]] = {}
        self._texts: dict[int, str] = {}
        self._compact: dict[int, str] = {}  # filled on the first name looked up
        for number, text in items:
            self._texts[number] = text
            figures = extract_figures(text, names=False)
            keys = _article_context_keys(text, figures)
            for figure in figures:
                keys.update(_source_keys(figure))
            self._keys[number] = frozenset(keys)

    @property
    def texts(self) -> Mapping[int, str]:
        """The indexed source texts by number."""
        return self._texts

    @property
    def numbers(self) -> tuple[int, ...]:
        """The source numbers, in order."""
        return tuple(self._keys)

    def holders(self, figure: Figure, among: Collection[int]) -> tuple[int, ...]:
        """The sources among ``among`` that hold ``figure``."""
        if figure.kind is FigureKind.NAME:
            return tuple(n for n in among if n in self._texts and str(figure.value) in self._compact_text(n))
        needs = _requirements(figure)
        return tuple(n for n in among if n in self._keys and any(self._keys[n].issuperset(k) for k in needs))

    def _compact_text(self, number: int) -> str:
        if number not in self._compact:
            self._compact[number] = _compact(self._texts[number])
        return self._compact[number]

    def resolve_cited(self, answer: str, cited: Collection[int] | None) -> tuple[int, ...]:
        """The sources an answer is checked against: ``cited`` if given, else its ``[n]`` markers,
        else (an answer that cites nothing) every source."""
        if cited is not None:
            return tuple(n for n in self._keys if n in set(cited))
        return tuple(cited_numbers(answer, self._keys)) or self.numbers

    def check(
        self, answer: str, cited: Collection[int] | None = None, *, names: bool = True
    ) -> FaithfulnessReport:
        """Check ``answer`` against the sources it cites (see :meth:`resolve_cited`)."""
        among = self.resolve_cited(answer, cited)
        spans = sentence_spans(answer)
        supported: list[FigureCheck] = []
        unsupported: list[FigureCheck] = []
        for figure in extract_figures(answer, names=names):
            check = FigureCheck(
                figure, _sentence_at(answer, spans, figure.start), self.holders(figure, among)
            )
            (supported if check.supported else unsupported).append(check)
        return FaithfulnessReport(tuple(supported), tuple(unsupported), among)


def check_answer(
    answer: str,
    sources: Sequence[str] | Mapping[int, str],
    *,
    cited: Collection[int] | None = None,
    names: bool = True,
) -> FaithfulnessReport:
    """Which figures of ``answer`` its cited sources support.

    ``sources`` are the texts offered to the model, numbered 1, 2, … (or a mapping from ``[n]``
    numbers). The answer is checked against the sources in ``cited`` when given (e.g. a citation
    the chat service inferred), else against those its ``[n]`` markers cite, else — an answer that
    cites nothing — against all of them. A figure found only in an uncited source is unsupported.
    """
    return SourceIndex(sources).check(answer, cited, names=names)


# ---------------------------------------------------------------------------------------------
# Sentences


def _boundary_end(text: str, position: int) -> int:
    """Where the next sentence starts: citation markers right after a sentence end belong to it."""
    match = TRAILING_MARKERS_RE.match(text, position)
    return match.end() if match else position


TRAILING_MARKERS_RE = re.compile(r"\s*\[\d{1,2}\](?:\s*\[\d{1,2}\])*")


def sentence_ends(text: str) -> list[int]:
    """Offsets where the sentences of ``text`` end (the last sentence's end excluded).

    A sentence ends at a line break, or at sentence-final punctuation followed by white space
    (the split of :func:`llm.evidence.split_sentences`), unless a digit precedes the mark (2024. 3. 1.).
    """
    ends: list[int] = []
    for match in SENTENCE_END_RE.finditer(text):
        mark = match.start() - 1
        if mark >= 1 and text[mark - 1].isdigit():
            continue
        ends.append(_boundary_end(text, match.start()))
    for match in re.finditer(r"\n", text):
        ends.append(_boundary_end(text, match.start()))
    return sorted(set(ends))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence of ``text`` (white space between sentences left out)."""
    cuts = [0, *sentence_ends(text), len(text)]
    spans = []
    for start, end in itertools.pairwise(cuts):
        piece = text[start:end]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            spans.append((start + lead, start + len(piece.rstrip())))
    return spans


def _sentence_at(text: str, spans: Sequence[tuple[int, int]], position: int) -> str:
    for start, end in spans:
        if start <= position < end:
            return text[start:end]
    return text.strip()


# ---------------------------------------------------------------------------------------------
# Streaming


@dataclass(frozen=True, slots=True)
class SentenceCheck:
    """One answer sentence as the stream decided it."""

    start: int
    end: int
    text: str
    unsupported: tuple[FigureCheck, ...]
    released: bool

    @property
    def grounded(self) -> bool:
        """Whether every figure of the sentence is in a cited source."""
        return not self.unsupported

    def as_dict(self) -> dict[str, Any]:
        """JSON form (e.g. an SSE event that marks the sentence)."""
        return {
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "released": self.released,
            "unsupported": [check.as_dict() for check in self.unsupported],
        }


@dataclass(frozen=True, slots=True)
class StreamRelease:
    """What :class:`FaithfulnessStream` lets through now.

    ``text`` is safe to show; ``sentences`` are the sentences decided in this step; ``fallback``
    turns true (and stays true) when the policy is ``fallback_extractive`` and a sentence failed:
    nothing more is released and the chat service should switch to an extractive answer.
    """

    text: str
    sentences: tuple[SentenceCheck, ...] = ()
    fallback: bool = False


@dataclass
class _StreamState:
    text: str = ""
    decided: int = 0
    fallback: bool = False
    sentences: list[SentenceCheck] = field(default_factory=list)


class FaithfulnessStream:
    """Check a streamed answer sentence by sentence, holding back the unfinished sentence.

    ``feed`` returns what can be shown now: the complete sentences that arrived (a sentence is
    complete once the next one has begun, so its trailing ``[n]`` markers are in it), checked
    against the sources cited so far (all sources while nothing is cited yet, or ``cited`` when
    given). Under ``flag`` every sentence is released and failed ones are reported; under
    ``drop_sentence`` failed sentences are left out; under ``fallback_extractive`` the first failed
    sentence stops the release. An unfinished sentence longer than ``max_hold`` characters is
    decided at its last space outside a figure. :meth:`report` checks the whole answer as
    :func:`check_answer` does.
    """

    def __init__(
        self,
        sources: Sequence[str] | Mapping[int, str] | SourceIndex,
        *,
        policy: FaithfulnessPolicy = FaithfulnessPolicy.FLAG,
        cited: Collection[int] | None = None,
        max_hold: int = 1000,
    ) -> None:
        """Prepare a stream check over ``sources`` (indexed once)."""
        self._index = sources if isinstance(sources, SourceIndex) else SourceIndex(sources)
        self._policy = FaithfulnessPolicy(policy)
        self._cited = cited
        self._max_hold = max(max_hold, 16)
        self._state = _StreamState()

    @property
    def text(self) -> str:
        """Everything fed so far."""
        return self._state.text

    @property
    def sentences(self) -> tuple[SentenceCheck, ...]:
        """Every sentence decided so far."""
        return tuple(self._state.sentences)

    def feed(self, chunk: str) -> StreamRelease:
        """Add ``chunk``; return the text that can be shown now and the sentences just decided."""
        self._state.text += chunk
        return self._release(final=False)

    def flush(self) -> StreamRelease:
        """Decide the rest of the answer at the end of the stream."""
        return self._release(final=True)

    def report(self) -> FaithfulnessReport:
        """The check of the whole answer fed so far."""
        return self._index.check(self._state.text, self._cited)

    def _release(self, *, final: bool) -> StreamRelease:
        state = self._state
        if state.fallback:
            return StreamRelease("", (), fallback=True)
        shown: list[str] = []
        decided: list[SentenceCheck] = []
        for end in self._complete_ends(final):
            sentence = self._decide(state.decided, end)
            decided.append(sentence)
            if state.fallback:
                break
            if sentence.released:
                shown.append(state.text[state.decided : end])
            state.decided = end
        state.sentences.extend(decided)
        return StreamRelease("".join(shown), tuple(decided), state.fallback)

    def _complete_ends(self, final: bool) -> list[int]:
        state = self._state
        pending = state.text[state.decided :]
        ends = [state.decided + e for e in sentence_ends(pending) if _next_sentence_started(pending, e)]
        if final and pending.strip():
            ends.append(len(state.text))
        elif not ends and len(pending) > self._max_hold:
            ends.append(state.decided + _forced_cut(pending))
        return [e for e in ends if e > state.decided]

    def _decide(self, start: int, end: int) -> SentenceCheck:
        state = self._state
        piece = state.text[start:end]
        among = self._among(state.text[:end])
        failed = tuple(
            FigureCheck(figure, piece.strip(), ())
            for figure in (_shift(f, start) for f in extract_figures(piece))
            if not self._index.holders(figure, among)
        )
        released = not failed or self._policy is FaithfulnessPolicy.FLAG
        if failed and self._policy is FaithfulnessPolicy.FALLBACK_EXTRACTIVE:
            state.fallback = True
        return SentenceCheck(start, end, piece.strip(), failed, released)

    def _among(self, text_so_far: str) -> tuple[int, ...]:
        if self._cited is not None:
            return self._index.resolve_cited(text_so_far, self._cited)
        return self._index.resolve_cited(text_so_far, None)


def _next_sentence_started(pending: str, end: int) -> bool:
    rest = pending[end:].lstrip()
    return bool(rest) and not re.fullmatch(r"\[\d{0,2}", rest)


def _forced_cut(pending: str) -> int:
    figures = extract_figures(pending, names=False)
    for match in reversed(list(re.finditer(r"\s+", pending))):
        position = match.end()
        if position < len(pending) and not any(f.start < position < f.end for f in figures):
            return position
    return len(pending)
