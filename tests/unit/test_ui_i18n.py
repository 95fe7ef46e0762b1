"""Every message the UI shows exists in Korean and English, and every key the pages use exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

from ui.i18n import DEFAULT_LANGUAGE, LANGUAGES, MESSAGES, t

UI = Path(__file__).resolve().parents[2] / "ui"
LITERAL_KEY = re.compile(r"""\btr\(\s*["']([a-z_]+(?:\.[a-z_]+)+)["']""")
DYNAMIC_KEY = re.compile(r"""\btr\(\s*f["']([a-z_.]+)\{""")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_message_has_both_languages_with_the_same_placeholders() -> None:
    assert DEFAULT_LANGUAGE == "ko"
    for key, entry in MESSAGES.items():
        assert set(entry) == set(LANGUAGES), key
        assert all(entry[lang].strip() for lang in LANGUAGES), key
        assert _fields(entry["ko"]) == _fields(entry["en"]), key


def test_every_key_used_by_the_ui_exists() -> None:
    used: set[str] = set()
    prefixes: set[str] = set()
    for path in UI.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        used |= set(LITERAL_KEY.findall(source))
        prefixes |= set(DYNAMIC_KEY.findall(source))
    assert used, "no message keys found"
    assert sorted(used - set(MESSAGES)) == []
    for prefix in prefixes:  # f"status.{status}" and the like: the family must exist
        assert any(key.startswith(prefix) for key in MESSAGES), prefix


def test_families_used_with_dynamic_keys_are_complete() -> None:
    for family, members in {
        "status": ("queued", "running", "succeeded", "failed", "ready", "processing"),
        "role": ("admin", "employee"),
        "keys.status": ("active", "revoked", "expired"),
        "eval.status": ("running", "succeeded", "failed"),
    }.items():
        for member in members:
            assert f"{family}.{member}" in MESSAGES


def test_lookup_fills_values_and_falls_back() -> None:
    assert t("chat.starter_template", "ko", title="취업규칙") == "취업규칙의 주요 내용은?"
    assert t("chat.starter_template", "en", title="Handbook") == "What are the main points of Handbook?"
    assert t("no.such.key", "en") == "no.such.key"
