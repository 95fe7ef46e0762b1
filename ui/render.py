"""Safe rendering of model output and sources.

Model output is untrusted text. :func:`safe_markdown` turns it into Markdown that ``st.markdown``
can show without surprises: raw HTML is escaped, images (external or not) are reduced to their alt
text, a link stays clickable only when it is ``http``/``https`` and its host is in the allow-list
(``link_hosts``, default empty): any other link shows its label and its target as code (``javascript:``,
``data:``, relative and entity-obfuscated targets lose their link), and bare addresses (``https://…``,
``www.…``, e-mail addresses) that Markdown would turn into links become code unless their host is
allowed, so a model cannot put a clickable phishing link on the page. Reference definitions are dropped, ``$``
does not start LaTeX, and citation markers ``[n]`` become links to the source cards below the
answer. Code spans and fenced code blocks are left as they are (they never render as HTML).

Source cards are built as HTML from escaped pieces only (:func:`source_card_html`), so the one
place the UI passes ``unsafe_allow_html`` never carries text that was not escaped here.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

CITATION_RE = re.compile(r"\[(\d{1,2})\](?![(:])")
_FENCE_RE = re.compile(
    r"(^|\n)( {0,3})(`{3,}|~{3,})[^\n]*\n.*?(?:\n {0,3}\3[`~]*[ \t]*(?=\n|$)|$)", re.DOTALL
)
_INLINE_CODE_RE = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", re.DOTALL)
_IMAGE_RE = re.compile(r"!\[([^\]\n]*)\](?:\([^)\n]*\)|\[[^\]\n]*\])?")
_REFERENCE_DEF_RE = re.compile(r"^ {0,3}\[[^\]\n]+\]:[ \t]*\S.*$", re.MULTILINE)
_LINK_RE = re.compile(
    r"\[([^\]\n]*)\]\(\s*<?((?:[^()\s<>]|\([^()\s<>]*\))*)>?(?:\s+[\"'(][^)\n]*[\"')])?\s*\)"
)
_SAFE_SCHEME_RE = re.compile(r"^https?://[^\s\\]+$", re.IGNORECASE)
# What GFM turns into a link by itself: http(s)/www addresses and e-mail addresses (wider is harmless).
_BARE_LINK_RE = re.compile(
    r"(?:https?://|www\.)[^\s<>\x00]*[^\s<>\x00.,;:!?'\")\]}]|[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
    re.IGNORECASE,
)
_ADDRESS_START_RE = re.compile(r"https?://|www\.", re.IGNORECASE)
_NUMBER_ONLY_RE = re.compile(r"^\s*\\?\[?\d{1,3}\\?\]?\s*$")
_SPACE_RE = re.compile(r"\s+")
MIN_PARTIAL_MATCH = 16


def safe_markdown(
    text: str,
    *,
    anchor_prefix: str | None = None,
    numbers: Iterable[int] = (),
    link_hosts: Iterable[str] = (),
) -> str:
    """Markdown for ``st.markdown`` from untrusted model output.

    ``anchor_prefix``: citation markers ``[n]`` whose ``n`` is in ``numbers`` (or any ``n`` when
    ``numbers`` is empty) link to ``#{anchor_prefix}-{n}``; without a prefix they are shown bold.
    ``link_hosts``: hosts whose ``http``/``https`` links stay clickable (``*.example.com`` also
    allows its subdomains); every other link and address is shown as text.
    """
    text = text.replace("\x00", "")
    allowed = set(numbers)
    hosts = frozenset(host.strip().lower() for host in link_hosts if host.strip())
    parts: list[str] = []
    for segment, is_code in _split_code(text):
        parts.append(segment if is_code else _safe_prose(segment, anchor_prefix, allowed, hosts))
    return "".join(parts)


def link_allowed(url: str, hosts: frozenset[str]) -> bool:
    """Whether ``url`` is an http(s) address whose host is in ``hosts`` (``*.x`` allows subdomains of x)."""
    if url.lower().startswith("www."):
        url = f"https://{url}"
    if not _SAFE_SCHEME_RE.match(url):
        return False
    try:
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return False
    return bool(host) and (host in hosts or any(h.startswith("*.") and host.endswith(h[1:]) for h in hosts))


def code_span(text: str) -> str:
    """``text`` as a Markdown code span (shown literally, never a link), whatever backticks it holds."""
    text = text.replace("\n", " ")
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _split_code(text: str) -> list[tuple[str, bool]]:
    """``text`` cut into prose and code (fenced blocks and inline spans), in order."""
    pieces: list[tuple[str, bool]] = []
    position = 0
    for match in _FENCE_RE.finditer(text):
        start = match.start() + len(match.group(1))
        pieces += _split_inline(text[position:start])
        pieces.append((text[start : match.end()], True))
        position = match.end()
    pieces += _split_inline(text[position:])
    return pieces


def _split_inline(text: str) -> list[tuple[str, bool]]:
    pieces: list[tuple[str, bool]] = []
    position = 0
    for match in _INLINE_CODE_RE.finditer(text):
        pieces.append((text[position : match.start()], False))
        pieces.append((match.group(0), True))
        position = match.end()
    pieces.append((text[position:], False))
    return [piece for piece in pieces if piece[0]]


def _safe_prose(text: str, anchor_prefix: str | None, allowed: set[int], hosts: frozenset[str]) -> str:
    text = _IMAGE_RE.sub(lambda m: m.group(1), text)
    text = _REFERENCE_DEF_RE.sub("", text)
    kept: list[str] = []

    def keep(markdown: str) -> str:
        kept.append(markdown)
        return f"\x00{len(kept) - 1}\x00"

    def keep_link(match: re.Match[str]) -> str:
        label, target = match.group(1), match.group(2)
        if _NUMBER_ONLY_RE.match(label):  # a fake citation pointing elsewhere: our citation instead
            return f"[{re.sub(r'[^0-9]', '', label)}]"
        if not _SAFE_SCHEME_RE.match(target):  # javascript:, data:, relative, obfuscated: text only
            return label
        if not link_allowed(target, hosts):  # a host not allowed: the label, and where it pointed
            return f"{label} ({keep(code_span(target))})"
        return keep(f"[{_escape_text(label)}]({target.replace('(', '%28').replace(')', '%29')})")

    def keep_address(match: re.Match[str]) -> str:
        address = match.group(0)
        single = len(_ADDRESS_START_RE.findall(address)) == 1 and "@" not in address
        return address if single and link_allowed(address, hosts) else keep(code_span(address))

    text = _LINK_RE.sub(keep_link, text)
    text = _BARE_LINK_RE.sub(keep_address, text)
    text = _escape_text(text)

    def keep_citation(match: re.Match[str]) -> str:
        return keep(_citation(int(match.group(1)), anchor_prefix, allowed))

    text = CITATION_RE.sub(keep_citation, text)
    # Whatever still looks like a link or a reference (nested brackets, odd spacing) is neutralised.
    text = text.replace("](", "]\\(").replace("]:", "]\\:").replace("][", "]\\[")
    return re.sub("\x00(\\d+)\x00", lambda m: kept[int(m.group(1))], text)


def _escape_text(text: str) -> str:
    """Escape ``&`` and ``<`` (no tag, entity or autolink can form), keep ``$`` from starting LaTeX."""
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    return text.replace("$", "\\$").replace("![", "!\\[")


def _citation(number: int, anchor_prefix: str | None, allowed: set[int]) -> str:
    if anchor_prefix and (not allowed or number in allowed):
        return f"[\\[{number}\\]](#{anchor_id(anchor_prefix, number)})"
    return f"**\\[{number}\\]**"


# --- sources ------------------------------------------------------------------------------


def evidence_by_number(evidence: object) -> dict[int, list[str]]:
    """Evidence sentences per source number, from the shapes the API may use.

    Accepts ``{"1": ["…"]}``, ``{"1": "…"}`` or ``[{"number": 1, "sentence": "…"}]`` (also
    ``source``/``source_number`` for the number and ``sentences``/``text`` for the sentences).
    """
    result: dict[int, list[str]] = {}
    if isinstance(evidence, Mapping):
        items: Iterable[tuple[object, object]] = evidence.items()
    elif isinstance(evidence, list):
        items = [(_evidence_number(e), _evidence_sentences(e)) for e in evidence if isinstance(e, Mapping)]
    else:
        return result
    for number, sentences in items:
        try:
            key = int(str(number))
        except ValueError:
            continue
        values = [sentences] if isinstance(sentences, str) else list(sentences or [])  # type: ignore[call-overload]
        result.setdefault(key, []).extend(str(s) for s in values if str(s).strip())
    return result


def _evidence_number(item: Mapping[str, Any]) -> object:
    return item.get("number", item.get("source", item.get("source_number")))


def _evidence_sentences(item: Mapping[str, Any]) -> object:
    return item.get("sentences", item.get("sentence", item.get("text")))


def source_heading(source: Mapping[str, Any]) -> str:
    """How a card is titled: ``[1] 인사규정 제12조 ②`` (plain text, not escaped)."""
    label = source.get("label") or source.get("title") or source.get("file_name") or "?"
    return f"[{source.get('number', '?')}] {label}"


def highlight_html(snippet: str, sentences: Sequence[str]) -> tuple[str, list[str]]:
    """The snippet as escaped HTML with evidence sentences in ``<mark>``; and the sentences not found.

    Whitespace is compared loosely; a sentence cut off by the end of the snippet is still marked
    from where it starts.
    """
    text = _SPACE_RE.sub(" ", snippet).strip()
    spans: list[tuple[int, int]] = []
    missing: list[str] = []
    for sentence in sentences:
        span = _find_sentence(text, _SPACE_RE.sub(" ", sentence).strip())
        if span is None:
            missing.append(sentence)
        else:
            spans.append(span)
    return _mark(text, _merge(spans)), missing


def _find_sentence(text: str, sentence: str) -> tuple[int, int] | None:
    if not sentence:
        return None
    start = text.find(sentence)
    if start >= 0:
        return start, start + len(sentence)
    head = sentence[: max(MIN_PARTIAL_MATCH, len(sentence) // 3)]
    start = text.find(head) if len(head) >= MIN_PARTIAL_MATCH else -1
    if start >= 0 and sentence.startswith(text[start:]):
        return start, len(text)
    return None


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _mark(text: str, spans: list[tuple[int, int]]) -> str:
    out: list[str] = []
    position = 0
    for start, end in spans:
        out.append(html.escape(text[position:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        position = end
    out.append(html.escape(text[position:]))
    return "".join(out)


def source_card_html(
    source: Mapping[str, Any],
    sentences: Sequence[str],
    *,
    anchor_id: str,
    meta: Sequence[str],
    evidence_label: str,
) -> str:
    """A source card as HTML; every piece of text in it is escaped here.

    ``meta``: short facts shown under the heading (file name, version date, page); ``evidence_label``:
    the caption of evidence sentences that are not inside the snippet.
    """
    snippet, missing = highlight_html(str(source.get("snippet") or ""), sentences)
    parts = [
        f'<div class="jikji-source" id="{html.escape(_anchor(anchor_id))}">',
        f'<div class="jikji-source-title">{html.escape(source_heading(source))}</div>',
    ]
    if meta:
        parts.append(f'<div class="jikji-source-meta">{" · ".join(html.escape(m) for m in meta if m)}</div>')
    if snippet:
        parts.append(f'<div class="jikji-source-snippet">{snippet}</div>')
    for sentence in missing:
        parts.append(
            f'<div class="jikji-source-evidence">{html.escape(evidence_label)}: '
            f"<mark>{html.escape(sentence)}</mark></div>"
        )
    parts.append("</div>")
    return "".join(parts)


def _anchor(value: str) -> str:
    """An id safe in HTML and in a URL fragment."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", value)


def anchor_id(prefix: str, number: int) -> str:
    """The element id of source ``number`` under the answer with ``prefix``."""
    return _anchor(f"{prefix}-{number}")


_MARKDOWN_SPECIAL_RE = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:&])")


def plain_label(text: object, limit: int = 80) -> str:
    """Text shown literally where Streamlit reads Markdown (button labels, captions): every Markdown
    character escaped, newlines folded, cut to ``limit`` characters."""
    value = _SPACE_RE.sub(" ", str(text)).strip()
    if len(value) > limit:
        value = value[: limit - 1].rstrip() + "…"
    return _MARKDOWN_SPECIAL_RE.sub(r"\\\1", value)
