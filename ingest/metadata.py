"""Document-level metadata read from the text: language, effective date, display name."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from pathlib import PurePath

HANGUL_RE = re.compile(r"[\uac00-\ud7a3]")
LATIN_RE = re.compile(r"[A-Za-z]")
EFFECTIVE_RE = re.compile(
    r"(?:시행일|시행일자|개정일|개정일자|시행|개정|Effective(?:\s+date)?|Revised)\s*[:：]?\s*"
    r"(\d{4})\s*(?:년|[.\-/])\s*(\d{1,2})\s*(?:월|[.\-/])\s*(\d{1,2})",
    re.IGNORECASE,
)
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]")
UNSAFE_NAME_RE = re.compile(r"[\x00-\x1f\x7f<>:\"/\\|?*]")
# Characters a file name shows nothing for, or shows in another order: Unicode format characters (Cf:
# bidi embeddings/overrides U+202A–U+202E and isolates U+2066–U+2069, marks U+200E/U+200F/U+061C,
# zero-width U+200B–U+200D/U+2060/U+FEFF, soft hyphen, tags), C0/C1 controls, line and paragraph
# separators, lone surrogates, and the Hangul fillers that render blank. "계약서\u202efdp.exe" would
# otherwise read as "계약서exe.pdf".
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc", "Zl", "Zp", "Cs"})
_BLANK_HANGUL = frozenset("\u115f\u1160\u3164\uffa0")


def detect_language(text: str) -> str:
    """``ko`` when Hangul dominates the letters, else ``en``."""
    sample = text[:20000]
    hangul = len(HANGUL_RE.findall(sample))
    latin = len(LATIN_RE.findall(sample))
    return "ko" if hangul * 3 >= latin else "en"


def find_effective_date(text: str) -> date | None:
    """The latest 시행일/개정일 the document states near its start, if any."""
    found: list[date] = []
    for match in EFFECTIVE_RE.finditer(text[:5000]):
        year, month, day = (int(group) for group in match.groups())
        try:
            found.append(date(year, month, day))
        except ValueError:
            continue
    return max(found) if found else None


def clean_text(text: str) -> str:
    """NFC-normalised text without control characters (tabs and newlines kept)."""
    return CONTROL_RE.sub("", unicodedata.normalize("NFC", text))


def display_name(filename: str) -> str:
    """A safe name to show: the last path component, NFC, without control, bidi, invisible or path
    characters."""
    base = PurePath(filename.replace("\\", "/")).name
    name = UNSAFE_NAME_RE.sub("_", visible_text(unicodedata.normalize("NFC", base))).strip(" .")
    return name[:200] or "document"


def visible_text(text: str) -> str:
    """``text`` without invisible and reordering characters (bidi controls, zero-width, controls)."""
    return "".join(
        c for c in text if unicodedata.category(c) not in _INVISIBLE_CATEGORIES and c not in _BLANK_HANGUL
    )
