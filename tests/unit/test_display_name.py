"""File names shown and downloaded carry no invisible or reordering characters."""

from __future__ import annotations

import pytest

from ingest.metadata import display_name


@pytest.mark.parametrize(
    ("uploaded", "shown"),
    [
        ("계약서\u202efdp.exe", "계약서fdp.exe"),  # right-to-left override: looked like 계약서exe.pdf
        ("\u202b인사규정\u202c.pdf", "인사규정.pdf"),  # RLE … PDF
        ("보고서\u2066\u2067\u2068.txt\u2069.exe", "보고서.txt.exe"),  # isolates
        ("a\u200eb\u200fc\u061c.md", "abc.md"),  # directional marks
        ("zero\u200bwidth\u200c\u200d\u2060\ufeff.pdf", "zerowidth.pdf"),
        ("soft\u00adhyphen\U000e0041.pdf", "softhyphen.pdf"),  # soft hyphen, tag character
        ("c1\x85\x9bcontrol.pdf", "c1control.pdf"),
        ("line\u2028para\u2029.pdf", "linepara.pdf"),
        ("\u3164\u1160.pdf", "pdf"),  # Hangul fillers render blank; the leading dot is trimmed
        ("\u202e\u200b", "document"),
        ("급여\u3000명세서 (2024).xlsx", "급여\u3000명세서 (2024).xlsx"),  # visible spacing is kept
    ],
)
def test_invisible_and_bidi_characters_are_removed(uploaded: str, shown: str) -> None:
    assert display_name(uploaded) == shown
