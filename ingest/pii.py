"""Detect and mask Korean personal data in text (ingested documents, queries, LLM output).

Kinds detected: 주민등록번호/외국인등록번호 (RRN), 휴대전화·일반전화 (PHONE), 사업자등록번호
(BUSINESS_NO), 카드번호 (CARD) and e-mail addresses (EMAIL).

Token style: every match is replaced by a fixed, kind-specific token -- ``[주민등록번호]``,
``[전화번호]``, ``[사업자등록번호]``, ``[카드번호]``, ``[이메일]``. Whole-token replacement keeps no
digits at all (partial masks such as ``900101-1******`` still leak birth date and sex) and is
stable, so masked chunks hash and embed identically.

Matching runs on a normalised copy of the text (full-width digits/letters/punctuation, dash
variants and odd spaces mapped to ASCII one code point for one), so offsets are shared and the
original span is what gets replaced.

Decisions on edge cases:

* RRN: ``YYMMDD`` + optional ``-`` (or one space) + 7 digits. The checksum is NOT required (numbers
  issued since Oct 2020 have a random tail). The 7th digit must be 1-8 (1-4 citizens, 5-8
  foreigner registration numbers); 9/0 (born in the 1800s) are rejected because no living holder
  exists and accepting them only adds false positives. The first six digits must be a real date
  in the century that the 7th digit implies (so 040229-3... is valid, 030229-3... is not). Future
  dates are not rejected, to keep results independent of the clock.
* PHONE: mobile 010/011/016/017/018/019, area codes 02, 031-033, 041-044, 051-055, 061-064,
  internet phones 070 and 050x safe numbers, with ``-``, ``.``, a space or nothing between
  groups, an area code optionally in parentheses, and ``+82`` forms (``+82 10-...``,
  ``+82 (0)10...``). NOT masked: 15xx/16xx/18xx representative numbers and 080 toll-free
  numbers (business switchboards, not personal data).
* BUSINESS_NO: ``NNN-NN-NNNNN`` with the official checksum (weights 1,3,7,1,3,7,1,3,5). Without
  hyphens (10 digits or spaced) it is only accepted right after a ``사업자(등록)번호`` label, since
  bare 10-digit runs are too often other identifiers.
* CARD: 13-19 digits, contiguous or in consistent groups (4-4-4-4[-1..3], 4-6-4/5) separated by
  spaces or hyphens, Luhn-valid, with a plausible issuer prefix (3, 4, 5, 6, 9 or 2221-2720).
  The prefix rule keeps ``YYYYMMDD...`` timestamps and order numbers out.
* Digit boundaries: numeric matches may not touch an ASCII letter/digit, nor a digit across a
  ``-``/``.`` (``1.010-1234-5678``, ``010-1234-5678-9`` are parts of longer runs).
* Numeric RRN/BUSINESS_NO/CARD candidates right after a non-personal label (주문번호, 송장번호,
  계좌번호, 승인번호, order/invoice/serial/ref/timestamp, ₩/$ ...) are left alone, as are
  pure digit runs immediately followed by a currency unit (원, 달러, KRW, %, ...). Phone numbers
  are never suppressed by a label: a phone number stays personal even when used as an account.
* Not detected at all: bank account numbers (formats vary by bank; out of scope), dates, times,
  amounts, version strings, article numbers (제12조), e-mail look-alikes without a TLD or whose
  "TLD" is a file extension (``icon@2x.png``), internationalised (Hangul) e-mail domains.
"""

from __future__ import annotations

import calendar
import json
import re
import string
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from core.settings import PiiMode
from ingest.errors import IngestError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from pathlib import Path


class PiiKind(StrEnum):
    """A category of personal data; the value is the stable label used in data files."""

    RRN = "RRN"
    PHONE = "PHONE"
    BUSINESS_NO = "BUSINESS_NO"
    CARD = "CARD"
    EMAIL = "EMAIL"

    @property
    def label_ko(self) -> str:
        """The Korean name of the kind."""
        return _LABELS_KO[self]

    @property
    def label_en(self) -> str:
        """The English name of the kind."""
        return _LABELS_EN[self]

    @property
    def token(self) -> str:
        """The replacement written in place of a match, e.g. ``[전화번호]``."""
        return f"[{self.label_ko}]"


@dataclass(frozen=True, slots=True)
class PiiMatch:
    """One detected item: ``text`` is the original (un-normalised) ``text[start:end]``."""

    kind: PiiKind
    start: int
    end: int
    text: str


class PiiRejectedError(IngestError):
    """Text was refused because it holds personal data; ``kinds`` names what was found."""

    def __init__(self, kinds: Iterable[PiiKind]) -> None:
        self.kinds: frozenset[PiiKind] = frozenset(kinds)
        ordered = [kind for kind in PiiKind if kind in self.kinds]
        names_ko = ", ".join(kind.label_ko for kind in ordered)
        names_en = ", ".join(kind.label_en for kind in ordered)
        super().__init__(
            "pii_rejected",
            f"개인정보({names_ko})가 포함되어 있어 처리할 수 없습니다.",
            f"The text contains personal data ({names_en}) and was rejected.",
        )


_LABELS_KO: Final = MappingProxyType(
    {
        PiiKind.RRN: "주민등록번호",
        PiiKind.PHONE: "전화번호",
        PiiKind.BUSINESS_NO: "사업자등록번호",
        PiiKind.CARD: "카드번호",
        PiiKind.EMAIL: "이메일",
    }
)
_LABELS_EN: Final = MappingProxyType(
    {
        PiiKind.RRN: "resident registration number",
        PiiKind.PHONE: "phone number",
        PiiKind.BUSINESS_NO: "business registration number",
        PiiKind.CARD: "card number",
        PiiKind.EMAIL: "e-mail address",
    }
)

# Full-width ASCII (U+FF01-FF5E), odd spaces and dash variants -> ASCII, one code point each,
# so offsets in the normalised text equal offsets in the original.
_NORMALISE: Final = MappingProxyType(
    {
        **{cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)},
        **dict.fromkeys((0x3000, 0x00A0, 0x2007, 0x202F), 0x20),
        **dict.fromkeys((0x2010, 0x2011, 0x2012, 0x2013, 0x2212, 0xFE63), 0x2D),
    }
)

# Boundaries for numeric matches: not glued to an ASCII letter/digit, not continuing a digit run
# across "-" or ".".
_LEFT: Final = r"(?<![A-Za-z0-9])(?<![0-9][.\-])"
_RIGHT: Final = r"(?![A-Za-z0-9])(?![.\-][0-9])"

_RRN_RE: Final = re.compile(_LEFT + r"(?P<front>[0-9]{6})(?: ?- ?| )?(?P<back>[0-9]{7})" + _RIGHT)
_BUSINESS_RE: Final = re.compile(_LEFT + r"[0-9]{3}(?P<sep>-| |)[0-9]{2}(?P=sep)[0-9]{5}" + _RIGHT)
_CARD_RE: Final = re.compile(
    _LEFT
    + r"(?:[0-9]{4}(?P<s1>[ \-])[0-9]{4}(?P=s1)[0-9]{4}(?P=s1)[0-9]{4}(?:(?P=s1)[0-9]{1,3})?"
    + r"|[0-9]{4}(?P<s2>[ \-])[0-9]{6}(?P=s2)[0-9]{4,5}"
    + r"|[0-9]{13,19})"
    + _RIGHT
)
_DOMESTIC_PREFIX: Final = r"(?:01[016789]|02|03[1-3]|04[1-4]|05[1-5]|06[1-4]|070|050[2-8])"
_PHONE_RE: Final = re.compile(
    r"(?:(?<![A-Za-z0-9+])\+82[ .\-]?(?:\(0\) ?|0)?"
    + r"(?:1[016789]|2|3[1-3]|4[1-4]|5[1-5]|6[1-4]|70)[ .\-]?"
    + r"|"
    + _LEFT
    + r"(?:\("
    + _DOMESTIC_PREFIX
    + r"\) ?|"
    + _DOMESTIC_PREFIX
    + r"[ .\-]?))"
    + r"[0-9]{3,4}[ .\-]?[0-9]{4}"
    + _RIGHT
)
_EMAIL_RE: Final = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]{1,64}@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.){1,8}(?P<tld>[A-Za-z]{2,24})"
    r"(?![A-Za-z0-9\-])"
)

_CONTEXT_WINDOW: Final = 24
_NON_PII_LABEL_RE: Final = re.compile(
    r"(?:(?:주문|송장|운송장|배송|거래|승인|접수|예약|관리|문서|일련|등기|계좌|상품|모델|제품|시리얼|"
    r"품목|청구서|인보이스|영수증|티켓|타임스탬프)\s*(?:번호|넘버)?"
    r"|(?<![A-Za-z])(?:order|invoice|tracking|serial|account|acct|ref|reference|transaction|txn|"
    r"ticket|timestamp|epoch|ts)\s*(?:no\.?|num(?:ber)?|id|#)?)"
    r"\s*[:=#(\[]?\s*(?:는|은)?\s*$"
    r"|[₩$]\s*$",
    re.IGNORECASE,
)
_BUSINESS_LABEL_RE: Final = re.compile(
    r"(?:사업자\s*(?:등록)?\s*(?:번호)?|business\s*(?:registration)?\s*(?:no\.?|number))"
    r"\s*[:(\[]?\s*(?:는|은)?\s*$",
    re.IGNORECASE,
)
_AMOUNT_SUFFIX_RE: Final = re.compile(r"(?:원|달러|엔|위안|KRW|USD|%)", re.IGNORECASE)
_FILE_EXTENSIONS: Final = frozenset(
    {"png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "tif", "tiff", "pdf", "zip"}
)

_CENTURY_BY_DIGIT: Final = MappingProxyType(
    {"1": 1900, "2": 1900, "5": 1900, "6": 1900, "3": 2000, "4": 2000, "7": 2000, "8": 2000}
)
_BUSINESS_WEIGHTS: Final = (1, 3, 7, 1, 3, 7, 1, 3, 5)
_CARD_MIN_DIGITS: Final = 13
_CARD_MAX_DIGITS: Final = 19
_BUSINESS_DIGITS: Final = 10
_MC_2_SERIES: Final = range(2221, 2721)

# Characters a numeric / e-mail pattern can consume; a position between two characters that
# are not both in one class can never lie inside a match (used by StreamMasker).
_NUMERIC_CHARS: Final = frozenset("0123456789-.()+ ")
_EMAIL_CHARS: Final = frozenset(string.ascii_letters + string.digits + "._%+-@")
# Characters needed to the right of a numeric match end (longest amount suffix, "KRW").
_RIGHT_CONTEXT: Final = 3


def normalise_for_matching(text: str) -> str:
    """Map full-width characters, dash variants and odd spaces to ASCII, keeping every offset."""
    return text.translate(_NORMALISE)


def _digits(text: str) -> str:
    return "".join(ch for ch in normalise_for_matching(text) if "0" <= ch <= "9")


def luhn_valid(number: str) -> bool:
    """Return whether the digits of ``number`` (separators ignored) pass the Luhn check."""
    digits = _digits(number)
    if len(digits) < 2:
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def business_number_valid(number: str) -> bool:
    """Return whether ``number`` is a 10-digit 사업자등록번호 with a correct check digit."""
    digits = [int(ch) for ch in _digits(number)]
    if len(digits) != _BUSINESS_DIGITS:
        return False
    total = sum(d * w for d, w in zip(digits[:9], _BUSINESS_WEIGHTS, strict=True))
    total += digits[8] * 5 // 10
    return (10 - total % 10) % 10 == digits[9]


def rrn_plausible(number: str) -> bool:
    """Return whether ``number`` looks like an RRN: a real YYMMDD date and a 7th digit of 1-8."""
    digits = _digits(number)
    if len(digits) != 13:
        return False
    century = _CENTURY_BY_DIGIT.get(digits[6])
    if century is None:
        return False
    year, month, day = century + int(digits[:2]), int(digits[2:4]), int(digits[4:6])
    return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]


def _card_prefix_plausible(digits: str) -> bool:
    return digits[0] in "34569" or int(digits[:4]) in _MC_2_SERIES


def _non_personal_context(norm: str, start: int, end: int) -> bool:
    """Whether a numeric candidate is labelled as something else or is an amount."""
    if _NON_PII_LABEL_RE.search(norm, max(0, start - _CONTEXT_WINDOW), start):
        return True
    return norm[start:end].isdigit() and _AMOUNT_SUFFIX_RE.match(norm, end) is not None


def _accept_rrn(norm: str, match: re.Match[str]) -> bool:
    return rrn_plausible(match["front"] + match["back"]) and not _non_personal_context(
        norm, match.start(), match.end()
    )


def _accept_business(norm: str, match: re.Match[str]) -> bool:
    if not business_number_valid(match[0]):
        return False
    if match["sep"] != "-" and not _BUSINESS_LABEL_RE.search(
        norm, max(0, match.start() - _CONTEXT_WINDOW), match.start()
    ):
        return False
    return not _non_personal_context(norm, match.start(), match.end())


def _accept_card(norm: str, match: re.Match[str]) -> bool:
    digits = _digits(match[0])
    return (
        _CARD_MIN_DIGITS <= len(digits) <= _CARD_MAX_DIGITS
        and _card_prefix_plausible(digits)
        and luhn_valid(digits)
        and not _non_personal_context(norm, match.start(), match.end())
    )


def _accept_phone(_norm: str, _match: re.Match[str]) -> bool:
    return True


def _accept_email(_norm: str, match: re.Match[str]) -> bool:
    return match["tld"].lower() not in _FILE_EXTENSIONS


# Detectors in priority order: on an exact tie (same start and length) the earlier kind wins.
_DETECTORS: Final[tuple[tuple[PiiKind, re.Pattern[str], Callable[[str, re.Match[str]], bool]], ...]] = (
    (PiiKind.RRN, _RRN_RE, _accept_rrn),
    (PiiKind.BUSINESS_NO, _BUSINESS_RE, _accept_business),
    (PiiKind.CARD, _CARD_RE, _accept_card),
    (PiiKind.PHONE, _PHONE_RE, _accept_phone),
    (PiiKind.EMAIL, _EMAIL_RE, _accept_email),
)


def _accepted_spans(
    pattern: re.Pattern[str], norm: str, accept: Callable[[str, re.Match[str]], bool]
) -> Iterator[tuple[int, int]]:
    """Spans of accepted matches; after a rejected match the search resumes one char later."""
    pos = 0
    while (match := pattern.search(norm, pos)) is not None:
        if accept(norm, match):
            yield match.start(), match.end()
            pos = match.end()
        else:
            pos = match.start() + 1


def _find_in_normalised(original: str, norm: str) -> list[PiiMatch]:
    candidates = [
        (start, -(end - start), rank, kind, end)
        for rank, (kind, pattern, accept) in enumerate(_DETECTORS)
        for start, end in _accepted_spans(pattern, norm, accept)
    ]
    candidates.sort()
    chosen: list[PiiMatch] = []
    covered_to = 0
    for start, _neg_len, _rank, kind, end in candidates:
        if start >= covered_to:
            chosen.append(PiiMatch(kind, start, end, original[start:end]))
            covered_to = end
    return chosen


def find_pii(text: str) -> list[PiiMatch]:
    """Find personal data in ``text``: non-overlapping matches sorted by position.

    Overlaps are resolved leftmost first, then longest, then by kind priority
    (RRN > BUSINESS_NO > CARD > PHONE > EMAIL).
    """
    return _find_in_normalised(text, normalise_for_matching(text))


def _replace(text: str, matches: Iterable[PiiMatch], start: int, end: int) -> str:
    """``text[start:end]`` with every match inside that range replaced by its token."""
    parts: list[str] = []
    pos = start
    for match in matches:
        if match.start >= start and match.end <= end:
            parts.extend((text[pos : match.start], match.kind.token))
            pos = match.end
    parts.append(text[pos:end])
    return "".join(parts)


def mask_pii(text: str) -> str:
    """Replace each personal-data match with its token (``[주민등록번호]``, ``[전화번호]`` ...)."""
    return _replace(text, find_pii(text), 0, len(text))


def apply_pii_policy(text: str, mode: PiiMode) -> str:
    """Apply ``mode``: ``off`` returns ``text``, ``mask`` masks it, ``reject`` raises if PII is found.

    Raises:
        PiiRejectedError: in ``reject`` mode when any personal data is found.
    """
    if mode is PiiMode.OFF:
        return text
    if mode is PiiMode.MASK:
        return mask_pii(text)
    found = find_pii(text)
    if found:
        raise PiiRejectedError(match.kind for match in found)
    return text


def _is_safe_end(norm: str, pos: int) -> bool:
    """Whether text up to ``pos`` can be finalised now: no match can span ``pos``, whatever follows.

    A match consumes only numeric-class or only e-mail-class characters, so it cannot span a
    boundary unless the characters on both sides share a class. A numeric match ending at
    ``pos`` also needs the few characters after it (an amount suffix such as ``KRW``).
    """
    before = norm[pos - 1]
    if pos == len(norm):
        return before not in _NUMERIC_CHARS and before not in _EMAIL_CHARS
    after = norm[pos]
    if before in _NUMERIC_CHARS and after in _NUMERIC_CHARS:
        return False
    if before in _EMAIL_CHARS and after in _EMAIL_CHARS:
        return False
    return not before.isdigit() or len(norm) - pos >= _RIGHT_CONTEXT


class StreamMasker:
    """Mask personal data in streamed text (e.g. LLM output) without emitting a partial match.

    ``feed`` returns the masked text that is safe to emit now; ``flush`` returns the rest at the
    end. Text is emitted only up to a boundary that no match can cross (between two characters
    that cannot both belong to one number or one e-mail address) and with a few characters of
    right context, while the last ``context`` emitted characters are kept as left context
    (labels, look-behinds). The concatenated output therefore equals ``mask_pii`` of the whole
    text. Korean prose is released almost immediately; only a trailing run of digits,
    separators or e-mail characters is held back. A run longer than ``max_hold`` characters is
    force-released at a point outside any current match (the only case where the output may
    differ from ``mask_pii``).
    """

    def __init__(self, *, max_hold: int = 4096, context: int = 64) -> None:
        """Create a masker; ``max_hold`` bounds the held-back text, ``context`` the left context."""
        self._max_hold = max(max_hold, 2 * _RIGHT_CONTEXT + 2)
        self._context = max(context, _CONTEXT_WINDOW + 2)
        self._emitted_tail = ""
        self._pending = ""

    def feed(self, chunk: str) -> str:
        """Add ``chunk`` and return the masked text that can be emitted now (possibly "")."""
        self._pending += chunk
        text = self._emitted_tail + self._pending
        norm = normalise_for_matching(text)
        low = len(self._emitted_tail)
        cut = self._last_cut(norm, low)
        if cut == low and len(self._pending) <= self._max_hold:
            return ""
        matches = _find_in_normalised(text, norm)
        if cut == low:
            cut = self._forced_cut(matches, low, len(text) - self._max_hold // 2)
        return self._emit(text, matches, low, cut)

    def flush(self) -> str:
        """Return the masked remainder of the stream and reset the masker."""
        text = self._emitted_tail + self._pending
        low = len(self._emitted_tail)
        out = _replace(text, find_pii(text), low, len(text))
        self._emitted_tail = ""
        self._pending = ""
        return out

    @staticmethod
    def _last_cut(norm: str, low: int) -> int:
        for pos in range(len(norm), low, -1):
            if _is_safe_end(norm, pos):
                return pos
        return low

    @staticmethod
    def _forced_cut(matches: list[PiiMatch], low: int, target: int) -> int:
        cut = max(low, target)
        for match in matches:
            if match.start < cut < match.end:
                cut = match.start
        return max(low, cut)

    def _emit(self, text: str, matches: list[PiiMatch], low: int, cut: int) -> str:
        if cut <= low:
            return ""
        out = _replace(text, matches, low, cut)
        self._emitted_tail = text[max(0, cut - self._context) : cut]
        self._pending = text[cut:]
        return out


@dataclass(frozen=True, slots=True)
class PiiCase:
    """A labelled example: ``expected`` holds ``(kind, matched text)`` pairs."""

    text: str
    expected: tuple[tuple[PiiKind, str], ...]


@dataclass(frozen=True, slots=True)
class KindScore:
    """True/false positives and false negatives for one kind over a labelled set."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        """TP / (TP + FP); 1.0 when nothing was predicted."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """TP / (TP + FN); 1.0 when nothing was expected."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def load_cases(path: Path) -> list[PiiCase]:
    """Read labelled cases from JSON lines ``{"text": ..., "expected": [{"kind", "text"}]}``."""
    cases: list[PiiCase] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            expected = tuple((PiiKind(e["kind"]), str(e["text"])) for e in raw["expected"])
            cases.append(PiiCase(str(raw["text"]), expected))
    return cases


def score_cases(cases: Iterable[PiiCase]) -> dict[PiiKind, KindScore]:
    """Score ``find_pii`` per kind, matching predictions to labels by ``(kind, text)``."""
    tp: Counter[PiiKind] = Counter()
    fp: Counter[PiiKind] = Counter()
    fn: Counter[PiiKind] = Counter()
    for case in cases:
        expected = Counter(case.expected)
        predicted = Counter((m.kind, m.text) for m in find_pii(case.text))
        for (kind, _), count in (expected & predicted).items():
            tp[kind] += count
        for (kind, _), count in (predicted - expected).items():
            fp[kind] += count
        for (kind, _), count in (expected - predicted).items():
            fn[kind] += count
    return {kind: KindScore(tp[kind], fp[kind], fn[kind]) for kind in PiiKind}


def format_score_table(scores: dict[PiiKind, KindScore]) -> str:
    """Render per-kind scores as a fixed-width text table."""
    header = f"{'kind':<12} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>9} {'recall':>7} {'F1':>6}"
    rows = [header, "-" * len(header)]
    rows.extend(
        f"{kind.value:<12} {s.tp:>4} {s.fp:>4} {s.fn:>4} {s.precision:>9.3f} {s.recall:>7.3f} {s.f1:>6.3f}"
        for kind, s in scores.items()
    )
    return "\n".join(rows)
