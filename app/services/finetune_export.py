"""``jikji finetune export``: a supervised data set in the exact prompt format Jikji answers with.

Each line of ``train.jsonl`` / ``heldout.jsonl`` is one conversation::

    {"messages": [{"role": "system", ...}, {"role": "user", "<sources>… 질문: …"},
                  {"role": "assistant", "content": "reference answer [n]"}],
     "meta": {"source": "golden"|"document"|"abstain", "document_ids": [...], "groups": [...]}}

The system and user turns are not written here: every question goes through the chat service's own
path (:meth:`app.services.chat.ChatService.answer`: the same search, context assembly and
:func:`llm.prompts.build_messages`) with the export's access scope, and the prompt it would send is
taken as is (prompt family ``chat``: the rules as the system turn; a trainer applies the model's chat
template, which for Gemma folds the system turn into the first user turn exactly as Jikji does).

Items come from three places:

- ``golden``: active golden items (:mod:`app.services.golden`) whose documents the scope sees;
- ``document``: deterministic templates over the chunks of each visible document — what an article
  provides, an amount, a date or deadline, a procedure — answered with the sentence that holds it;
- ``abstain``: questions the documents do not answer (an article number a regulation does not have,
  everyday topics no visible chunk mentions), answered with Jikji's standard not-found sentence.

A reference answer cites ``[n]``, the number the supporting document got among the sources retrieved
for that question; an item whose document is not retrieved is skipped (the model would learn to answer
without its evidence). Items are deduplicated by question, personal data is masked
(:func:`ingest.pii.mask_pii`), and the held-out split is by document (a document's items all land on
the same side), decided by a hash so the same corpus always splits the same way.

Scope: a group sees its own documents and public ones; no group means public documents only; ``all``
(admins) every document. Nothing outside the scope is searched, so no line can carry it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.container import Container
from app.services.chat import ChatService
from app.services.golden import export_lines
from core.models import Chunk, Document, Group
from ingest.pii import PiiMode, mask_pii
from llm.prompts import NOT_FOUND_KO, approx_tokens
from retrieval.chunk_store import visible_document_ids
from retrieval.types import AccessScope

Source = Literal["golden", "document", "abstain"]
TRAIN_FILE = "train.jsonl"
HELDOUT_FILE = "heldout.jsonl"
STATS_FILE = "stats.json"
DEFAULT_HELDOUT = 0.1
MAX_PER_DOCUMENT = 40
ANSWER_CHARS = 240

AMOUNT_RE = re.compile(r"\d[\d,.]*\s*(?:만|억|천|백)?\s*원")
DATE_RE = re.compile(
    r"\d{4}\s*년\s*\d{1,2}\s*월(?:\s*\d{1,2}\s*일)?|매(?:월|년|주)\s*\d{1,2}\s*일"
    r"|\d{1,2}\s*월\s*\d{1,2}\s*일|\d+\s*(?:일|개월|주)\s*(?:이내|전까지|전에|전)"
)
PROCEDURE_RE = re.compile(r"신청|제출|승인|결재|절차|보고하여야|신고")
SENTENCE_RE = re.compile(r"(?<=[.!?。])\s+|(?<=다\.)|\s+(?=[①②③④⑤⑥⑦⑧⑨⑩])|\n+")
ARTICLE_NUMBER_RE = re.compile(r"제\s*(\d+)\s*조")
CHAPTER_HEADING_RE = re.compile(r"^제\s*\d+\s*[장절편](?:\s|$)(?!.*[다요]\.?$)")
CLAUSE_MARK_RE = re.compile(r"^[①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳]\s*")
MISSING_ARTICLE_OFFSETS = (7, 31)
CITATION_MARK_RE = re.compile(r"\s*\[\d+\]")
HEADING_RE = re.compile(r"^\s*#+\s*|^\s*제\s*\d+\s*조(?:\s*의\s*\d+)?\s*(?:\([^)]{0,60}\))?\s*")

# Everyday questions a company's documents usually do not answer, each with the word that would have
# to appear in a visible chunk for the question to be answerable (then it is left out).
OFF_TOPIC: tuple[tuple[str, str], ...] = (
    ("사내 주차장 월 주차 요금은 얼마인가요?", "주차"),
    ("회사 헬스장은 몇 시에 문을 여나요?", "헬스장"),
    ("사내 어린이집 입소 대기 기간은 얼마나 되나요?", "어린이집"),
    ("통근 버스 노선은 어떻게 되나요?", "통근"),
    ("사내 동호회 지원금은 얼마인가요?", "동호회"),
    ("해외 주재원 자녀 학비 지원 한도는 얼마인가요?", "학비"),
    ("사옥 옥상 정원은 언제 개방하나요?", "옥상"),
    ("사내 카페 음료 할인율은 몇 퍼센트인가요?", "카페"),
    ("What is the company's policy on pets in the office?", "반려"),
    ("How many parking spaces does the head office have?", "주차"),
)


@dataclass(frozen=True, slots=True)
class ExportScope:
    """Whose data set: one group (its documents and public ones), public only, or every document."""

    group_id: str | None = None
    group_name: str | None = None
    all_documents: bool = False

    def access(self) -> AccessScope:
        """The retrieval scope every question of the export is searched with."""
        if self.all_documents:
            return AccessScope.admin()
        return AccessScope(group_ids=frozenset({self.group_id}) if self.group_id else frozenset())


@dataclass(slots=True)
class Candidate:
    """A question with its reference answer, before retrieval numbers its sources."""

    question: str
    answer: str
    source: Source
    document_ids: tuple[str, ...]
    anchor: str
    groups: tuple[str, ...] = ()


@dataclass(slots=True)
class ExportStats:
    """Counts per split and source, what was skipped and why, and a token estimate."""

    counts: dict[str, Counter[str]] = field(
        default_factory=lambda: {"train": Counter(), "heldout": Counter()}
    )
    skipped: Counter[str] = field(default_factory=Counter)
    tokens: int = 0
    documents: int = 0
    scope: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON form (also written as ``stats.json``)."""
        return {
            "scope": self.scope,
            "documents": self.documents,
            "train": dict(self.counts["train"]),
            "heldout": dict(self.counts["heldout"]),
            "total": sum(sum(c.values()) for c in self.counts.values()),
            "skipped": dict(self.skipped),
            "tokens_estimate": self.tokens,
        }

    def to_table(self) -> str:
        """The statistics as printed by the CLI (bilingual)."""
        lines = [f"범위 / scope: {self.scope}; 문서 / documents: {self.documents}"]
        lines.append(f"{'source':<10} {'train':>7} {'heldout':>8}")
        for source in ("golden", "document", "abstain"):
            lines.append(
                f"{source:<10} {self.counts['train'][source]:>7} {self.counts['heldout'][source]:>8}"
            )
        total = self.to_dict()["total"]
        lines.append(f"합계 / total: {total}; 토큰 추정 / tokens (estimate): {self.tokens}")
        if self.skipped:
            reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(self.skipped.items()))
            lines.append(f"건너뜀 / skipped: {reasons}")
        return "\n".join(lines)


@dataclass(slots=True)
class FinetuneDataset:
    """Train and held-out lines with the statistics."""

    train: list[dict[str, Any]]
    heldout: list[dict[str, Any]]
    stats: ExportStats


# --- candidates -------------------------------------------------------------------------------------


def golden_candidates(session: Session, scope: ExportScope, visible: frozenset[str]) -> list[Candidate]:
    """Active golden items whose every document the scope sees: a group's export takes that group's items
    and those of no group, the public export only items of no group, ``all`` every item."""
    candidates = []
    for line in export_lines(session):
        documents = tuple(line["document_ids"])
        if not documents or not set(documents) <= visible or not line["answers"]:
            continue
        owners = set(line["group_ids"])
        if not scope.all_documents and owners and scope.group_id not in owners:
            continue
        groups = (scope.group_name,) if scope.group_name and owners else tuple(line["groups"])
        candidates.append(
            Candidate(line["question"], line["answers"][0], "golden", documents, documents[0], groups)
        )
    return candidates


@dataclass(slots=True)
class _Passage:
    document_id: str
    title: str
    label: str
    is_article: bool
    text: str


def _passages(session: Session, visible: frozenset[str]) -> dict[str, list[_Passage]]:
    """Each visible document's current chunks merged per article (or section), in reading order."""
    rows = session.execute(
        select(Chunk.document_id, Document.title, Chunk.article, Chunk.section_path, Chunk.text)
        .join(Document, Document.id == Chunk.document_id)
        .where(Chunk.version_id == Document.current_version_id)
        .order_by(Chunk.document_id, Chunk.ordinal)
    ).all()
    merged: dict[str, dict[str, _Passage]] = defaultdict(dict)
    for document_id, title, article, section_path, text in rows:
        if document_id not in visible:
            continue
        sections = [str(part).strip() for part in json.loads(section_path or "[]") if str(part).strip()]
        label = article or (sections[-1] if sections else "")
        if article and sections and sections[-1].replace(" ", "").startswith(article):
            label = sections[-1]  # 제2조(연차휴가): the article with its caption
        key = label or "_"
        passage = merged[document_id].get(key)
        if passage is None:
            merged[document_id][key] = _Passage(document_id, title, label, bool(article), text)
        else:
            passage.text += "\n" + text
    return {doc: list(passages.values()) for doc, passages in merged.items()}


def sentences(text: str) -> list[str]:
    """The text's sentences and clauses without headings (a clause mark ① starts a new one; chapter and
    section headings — 제6장 …, 제2절 … — are left out, and so is a clause's leading mark)."""
    parts = []
    for raw in SENTENCE_RE.split(text):
        sentence = HEADING_RE.sub("", raw or "").strip()
        if CHAPTER_HEADING_RE.match(sentence):
            continue
        sentence = CLAUSE_MARK_RE.sub("", sentence)
        if len(sentence) >= 8:
            parts.append(sentence[:ANSWER_CHARS])
    return parts


def document_candidates(passages: Sequence[_Passage], groups: tuple[str, ...]) -> list[Candidate]:
    """Template questions over one document's articles: what it provides, amounts, dates, procedures."""
    out: list[Candidate] = []
    for passage in passages:
        where = f"{passage.title} {passage.label}".strip()
        said = sentences(passage.text)
        if not said:
            continue

        def add(question: str, answer: str, *, passage: _Passage = passage) -> None:
            out.append(
                Candidate(question, answer, "document", (passage.document_id,), passage.document_id, groups)
            )

        if passage.is_article:
            add(f"{where}에서는 무엇을 정하고 있나요?", " ".join(said[:2]))
        for pattern, question in (
            (AMOUNT_RE, f"{where}에서 정한 금액은 얼마인가요?"),
            (DATE_RE, f"{where}에서 정한 날짜나 기한은 언제인가요?"),
            (PROCEDURE_RE, f"{where}에 따른 절차는 어떻게 되나요?"),
        ):
            found = next((s for s in said if pattern.search(s)), None)
            if found is not None:
                add(question, found)
    return out[:MAX_PER_DOCUMENT]


def abstain_candidates(passages: dict[str, list[_Passage]]) -> list[Candidate]:
    """Questions the visible documents do not answer: a missing article of a regulation, and everyday
    topics that no visible chunk mentions."""
    out = []
    everything = "\n".join(p.text for doc in passages.values() for p in doc)
    for document_id, doc in passages.items():
        numbers = [int(n) for p in doc for n in ARTICLE_NUMBER_RE.findall(p.label + " " + p.text)]
        if not any(p.is_article for p in doc):
            continue
        for offset in MISSING_ARTICLE_OFFSETS:
            missing = max(numbers, default=0) + offset
            out.append(
                Candidate(
                    f"{doc[0].title} 제{missing}조에서는 무엇을 정하고 있나요?",
                    NOT_FOUND_KO,
                    "abstain",
                    (),
                    document_id,
                )
            )
    for question, needle in OFF_TOPIC:
        if needle not in everything:
            out.append(Candidate(question, NOT_FOUND_KO, "abstain", (), question))
    return out


# --- prompts ----------------------------------------------------------------------------------------


def export_chat(container: Container) -> ChatService:
    """The chat service as the export uses it: the container's searcher and settings, prompt family
    ``chat`` (rules as the system turn), no query rewriting (one-turn questions), masking done later."""
    llm = container.settings.llm.model_copy(update={"prompt_family": "chat", "query_rewrite": "off"})
    return ChatService(container.searcher, container.chat_model, llm, PiiMode.OFF)


def to_line(
    chat: ChatService, scope: AccessScope, visible: frozenset[str], item: Candidate
) -> dict[str, Any] | str:
    """The JSONL object for ``item``, or the reason it was skipped (``not_retrieved``)."""
    stream = chat.answer([{"role": "user", "content": item.question}], scope)
    retrieved = {ref.hit.document_id for ref in stream.sources}
    if not retrieved <= visible:  # the searcher enforces the scope; refuse rather than trust it blindly
        msg = "a source outside the export's scope was retrieved"
        raise RuntimeError(msg)
    if item.source == "abstain":
        answer = item.answer
    else:
        numbers = [ref.number for ref in stream.sources if ref.hit.document_id in item.document_ids]
        if not numbers:
            return "not_retrieved"
        answer = cited(item.answer, numbers[0])
    messages = [*stream.messages, {"role": "assistant", "content": answer}]
    return {
        "messages": [{"role": m["role"], "content": mask_pii(m["content"])} for m in messages],
        "meta": {
            "source": item.source,
            "document_ids": list(item.document_ids),
            # every document whose text the prompt carries: what an adapter trained on this line may repeat
            "context_document_ids": sorted(retrieved),
            "groups": list(item.groups),
        },
    }


def cited(answer: str, number: int) -> str:
    """``answer`` citing source ``number``: markers it already carries (numbered against some other
    source list, e.g. a golden item written from an earlier answer) give way to the one that is true here."""
    return f"{CITATION_MARK_RE.sub('', answer).rstrip()} [{number}]"


def is_heldout(anchor: str, fraction: float) -> bool:
    """Deterministic split by document (or question, for items without one)."""
    bucket = int(hashlib.sha256(anchor.encode("utf-8")).hexdigest()[:8], 16) % 10_000
    return bucket < fraction * 10_000


def _normalised(question: str) -> str:
    return re.sub(r"\s+", " ", question).strip().casefold()


def _document_groups(session: Session, scope: ExportScope) -> dict[str, tuple[str, ...]]:
    """Group names each document is shared with, within the scope (a group's export names only it)."""
    groups: dict[str, list[str]] = defaultdict(list)
    for document in session.scalars(select(Document)):
        for group in document.groups:
            if scope.group_id is None or group.id == scope.group_id:
                groups[document.id].append(group.name)
    return {doc: tuple(sorted(names)) for doc, names in groups.items()}


def build_dataset(
    container: Container, scope: ExportScope, *, heldout_fraction: float = DEFAULT_HELDOUT
) -> FinetuneDataset:
    """Every item of the scope, prompted through the chat path, deduplicated and split."""
    access = scope.access()
    with container.sessions() as session:
        visible = visible_document_ids(session, access)
        passages = _passages(session, visible)
        groups = _document_groups(session, scope)
        candidates = golden_candidates(session, scope, visible)
    for document_id, doc in passages.items():
        candidates += document_candidates(doc, groups.get(document_id, ()))
    candidates += abstain_candidates(passages)
    stats = ExportStats(documents=len(visible), scope=describe(scope))
    chat = export_chat(container)
    train: list[dict[str, Any]] = []
    heldout: list[dict[str, Any]] = []
    for item in _deduplicated(candidates, stats):
        line = to_line(chat, access, visible, item)
        if isinstance(line, str):
            stats.skipped[line] += 1
            continue
        split = "heldout" if is_heldout(item.anchor, heldout_fraction) else "train"
        (heldout if split == "heldout" else train).append(line)
        stats.counts[split][item.source] += 1
        stats.tokens += sum(approx_tokens(m["content"]) for m in line["messages"])
    return FinetuneDataset(train, heldout, stats)


def _deduplicated(candidates: Iterable[Candidate], stats: ExportStats) -> Iterator[Candidate]:
    seen: set[str] = set()
    for item in candidates:
        key = _normalised(item.question)
        if key in seen:
            stats.skipped["duplicate"] += 1
            continue
        seen.add(key)
        yield item


def describe(scope: ExportScope) -> str:
    """The scope in words for statistics and logs."""
    if scope.all_documents:
        return "all documents (admin)"
    if scope.group_name:
        return f"group {scope.group_name} + public"
    return "public documents only"


def group_by_name(session: Session, name: str) -> str | None:
    """A group's id from its name, or None."""
    return session.scalar(select(Group.id).where(Group.name == name))


def write_dataset(dataset: FinetuneDataset, out_dir: Path) -> list[Path]:
    """Write ``train.jsonl``, ``heldout.jsonl`` and ``stats.json`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, lines in ((TRAIN_FILE, dataset.train), (HELDOUT_FILE, dataset.heldout)):
        path = out_dir / name
        path.write_text(
            "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8"
        )
        paths.append(path)
    stats = out_dir / STATS_FILE
    stats.write_text(
        json.dumps(dataset.stats.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return [*paths, stats]
