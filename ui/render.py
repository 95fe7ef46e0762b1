"""Safe rendering of model output and sources: no raw HTML, no images, no script links."""

from __future__ import annotations

import re

IMAGE_RE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
UNSAFE_LINK_RE = re.compile(r"\]\(\s*(?:javascript|data|vbscript|file):[^)]*\)", re.IGNORECASE)
CITATION_RE = re.compile(r"\[(\d{1,2})\]")


def safe_markdown(text: str) -> str:
    """Markdown for ``st.markdown`` (which never renders raw HTML here): images and unsafe links dropped."""
    text = IMAGE_RE.sub(lambda m: m.group(1), text)
    text = UNSAFE_LINK_RE.sub("]", text)
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    return CITATION_RE.sub(lambda m: f"**[{m.group(1)}]**", text)


def source_title(source: dict[str, object]) -> str:
    """The heading of a source card: ``[1] 취업규칙 제12조 — 취업규칙.md``."""
    return f"[{source.get('number')}] {source.get('label')} — {source.get('file_name')}"
