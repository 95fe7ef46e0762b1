"""Korean particles chosen from the final sound of the word before them.

``particle("ui_kim", "을")`` is ``"을"``, ``particle("DocuFlow", "을")`` is ``"를"``: a word ending in a
consonant (a final ㄱ…ㅎ, 받침) takes 이/을/은/과/으로, one ending in a vowel 가/를/는/와/로, and ㄹ takes
로 rather than 으로. Hangul syllables carry their final in the code point; digits are read as Korean
numbers (1 일, 3 삼 …); Latin letters as they are commonly read (…m, …n, …l, …k, …p, …t end in a
consonant). Anything else (an emoji, an empty string) gets both forms, ``을(를)``.
"""

from __future__ import annotations

HANGUL_FIRST, HANGUL_LAST = 0xAC00, 0xD7A3
RIEUL = 8  # the index of a final ㄹ among the 28 finals (0: none)

# Either form of a pair names it: (after a consonant, after a vowel).
_FORMS = (("이", "가"), ("을", "를"), ("은", "는"), ("과", "와"), ("으로", "로"), ("이나", "나"))
PAIRS: dict[str, tuple[str, str]] = {form: pair for pair in _FORMS for form in pair}

# The final of a digit's Korean reading:
# 0 영(ㅇ) 1 일(ㄹ) 2 이 3 삼(ㅁ) 4 사 5 오 6 육(ㄱ) 7 칠(ㄹ) 8 팔(ㄹ) 9 구.
_DIGIT_FINALS = {"0": 21, "1": RIEUL, "2": 0, "3": 16, "4": 0, "5": 0, "6": 1, "7": RIEUL, "8": RIEUL, "9": 0}
_LATIN_FINALS = {"l": RIEUL, "r": 0, "m": 16, "n": 4, "k": 1, "p": 17, "t": 7}
_IGNORED_TAIL = " \t\n'\")]}>’”」』》〉.,!?…"


def final_consonant(word: str) -> int | None:
    """The index (1-27) of the final consonant the word ends in, 0 for a vowel, None when unknown."""
    stripped = word.rstrip(_IGNORED_TAIL)
    if not stripped:
        return None
    last = stripped[-1]
    if HANGUL_FIRST <= ord(last) <= HANGUL_LAST:
        return (ord(last) - HANGUL_FIRST) % 28
    if last in _DIGIT_FINALS:
        return _DIGIT_FINALS[last]
    lower = last.lower()
    if lower.isascii() and lower.isalpha():
        if stripped.lower().endswith("ng"):
            return 21
        return _LATIN_FINALS.get(lower, 0)
    return None


def particle(word: str, which: str) -> str:
    """The form of the particle ``which`` (either form of a pair: 이/가, 을/를, 은/는, 과/와, (으)로,
    (이)나) that follows ``word``."""
    after_consonant, after_vowel = PAIRS[which]
    final = final_consonant(word)
    if final is None:
        if after_consonant.endswith(after_vowel):  # 으로/로, 이나/나
            return f"({after_consonant[: -len(after_vowel)]}){after_vowel}"
        return f"{after_consonant}({after_vowel})"
    if final == 0 or (after_consonant == "으로" and final == RIEUL):
        return after_vowel
    return after_consonant


def with_particle(word: str, which: str) -> str:
    """``word`` followed by the right form of ``which``: ``with_particle("사전", "을")`` is ``"사전을"``."""
    return f"{word}{particle(word, which)}"
