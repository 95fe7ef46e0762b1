"""``jikji finetune export``: a supervised data set in the exact prompt format Jikji answers with.

Each line of ``train.jsonl`` / ``heldout.jsonl`` is one conversation::

    {"messages": [{"role": "system", ...}, {"role": "user", "<sources>… 질문: …"},
                  {"role": "assistant", "content": "reference answer [n]"}],
     "meta": {"source": "golden"|"document"|"abstain", "form": "colloquial"|…, "document_ids": [...],
              "context_document_ids": [...], "groups": [...]}}

The system and user turns are not written here: every question goes through the chat service's own
path (:meth:`app.services.chat.ChatService.answer`: the same search, context assembly and
:func:`llm.prompts.build_messages`) with the export's access scope, and the prompt it would send is
taken as is (prompt family ``chat``: the rules as the system turn; a trainer applies the model's chat
template, which for Gemma folds the system turn into the first user turn exactly as Jikji does).

Items come from three places:

- ``golden``: active golden items (:mod:`app.services.golden`) whose documents the scope sees;
- ``document``: deterministic templates over the chunks of each visible document — what an article
  provides, an amount, a number of days, a date or deadline, a procedure — answered with the sentence
  that holds it; each template question also comes in colloquial forms office workers type ("연차휴가
  며칠이에요?", "경조금 얼마예요?", "출장 신청 어떻게 해요?") and as a short keyword query ("경조금 금액"),
  naming the article's topic instead of the document and article number;
- ``abstain``: questions the documents do not answer (an article number a regulation does not have,
  everyday topics no visible chunk mentions, and questions about an article's own topic asking what no
  visible chunk says: "연차휴가 담당자 내선번호가 몇 번이에요?"), answered with Jikji's standard
  not-found sentence.

Golden items (employees' real phrasing) are repeated ``golden_weight`` times in the training split, and
abstention lines are capped at ``abstain_cap`` of each split (kinds taken in turn), so the model does
not learn that a question not phrased like a template is not in the documents. :class:`ExportStats`
reports lines by source and by form, the abstention share and the number of distinct question frames.

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
DEFAULT_GOLDEN_WEIGHT = 3
DEFAULT_ABSTAIN_CAP = 0.15
MAX_PER_DOCUMENT = 40
"""Template questions per document (each with its colloquial and keyword forms)."""
COLLOQUIAL_PER_TEMPLATE = 2
TOPIC_ABSTAIN_PER_DOCUMENT = 4
ANSWER_CHARS = 240

AMOUNT_RE = re.compile(r"\d[\d,.]*\s*(?:만|억|천|백)?\s*원")
DATE_RE = re.compile(
    r"\d{4}\s*년\s*\d{1,2}\s*월(?:\s*\d{1,2}\s*일)?|매(?:월|년|주)\s*\d{1,2}\s*일"
    r"|\d{1,2}\s*월\s*\d{1,2}\s*일|\d+\s*(?:일|개월|주)\s*(?:이내|전까지|전에|전)"
)
PROCEDURE_RE = re.compile(r"신청|제출|승인|결재|절차|보고하여야|신고")
# A number of days that is not a calendar date (4월 1일), a deadline (3일 전까지, 7일 이내: DATE_RE) nor a
# per-day rate (1일 1만원, 1일 8시간, 1일당).
DAYS_RE = re.compile(
    r"(?<![\d월])(?<!월\s)\d+\s*일(?:간|의|을|씩|분|로)?(?!\d)(?!\s*(?:이내|전|부터|까지|당|\d))"
)
CAPTION_RE = re.compile(r"\(([^)]{1,30})\)")
LEADING_NUMBER_RE = re.compile(r"^\s*(?:\d+(?:\.\d+)*\.?|[가-하]\.)\s+")
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


# Colloquial forms of each template question, as employees type them: ``{t}`` is the article's topic
# (its caption: 제2조(연차휴가) → 연차휴가), ``{eun}``/``{i}`` its particles (은/는, 이/가). The first
# form of each kind is the template itself (with the document and article), the keyword form last.
PHRASINGS: dict[str, tuple[str, ...]] = {
    "article": (
        "{t} 규정 알려주세요",
        "{t}{eun} 어떻게 돼요?",
        "{t} 관련 규정이 뭐예요?",
        "{t} 기준이 어떻게 되나요?",
        "{t}에 대해 알려 주세요.",
    ),
    "amount": (
        "{t} 얼마예요?",
        "{t} 금액이 얼마나 돼요?",
        "{t} 얼마 받을 수 있어요?",
        "{t} 한도가 얼마죠?",
        "{t}{eun} 얼마까지 나오나요?",
    ),
    "days": (
        "{t} 며칠이에요?",
        "{t}{eun} 며칠까지 쓸 수 있어요?",
        "{t} 기간이 며칠이에요?",
        "{t} 며칠 받을 수 있나요?",
    ),
    "date": (
        "{t} 언제까지 해야 돼요?",
        "{t} 기한이 언제예요?",
        "{t} 마감 언제예요?",
        "{t}{eun} 언제까지인가요?",
    ),
    "procedure": (
        "{t} 신청 어떻게 해요?",
        "{t} 하려면 어떻게 해야 돼요?",
        "{t} 절차 알려주세요",
        "{t}{eun} 어디에 신청해요?",
        "{t} 처리 순서가 어떻게 되나요?",
    ),
}
KEYWORD_PHRASING = {
    "article": "{t}",
    "amount": "{t} 금액",
    "days": "{t} 일수",
    "date": "{t} 기한",
    "procedure": "{t} 절차",
}
TEMPLATES = {
    "article": "{where}에서는 무엇을 정하고 있나요?",
    "amount": "{where}에서 정한 금액은 얼마인가요?",
    "days": "{where}에서 정한 일수는 며칠인가요?",
    "date": "{where}에서 정한 날짜나 기한은 언제인가요?",
    "procedure": "{where}에 따른 절차는 어떻게 되나요?",
}
# Questions about an article's own topic asking what the documents do not say, each with the words that
# must be absent from every visible chunk (and so from the article) for it to be unanswerable.
TOPIC_ASPECTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("{t} 담당자 내선번호가 몇 번이에요?", ("내선",)),
    ("{t} 비용을 법인카드로 결제해도 되나요?", ("법인카드",)),
    ("{t} 관련해서 반려동물도 같이 가능한가요?", ("반려",)),
    ("{t} 규정, 작년이랑 비교해서 뭐가 바뀌었어요?", ("작년", "개정")),
    ("{t}, 인턴도 똑같이 적용돼요?", ("인턴",)),
    ("{t} 관련 사내 교육 영상은 어디서 볼 수 있어요?", ("영상",)),
    ("{t}{eun} 해외 법인 직원도 적용되나요?", ("해외 법인", "해외법인")),
    ("{t} 신청 앱 비밀번호를 잊어버렸어요. 어떻게 찾나요?", ("앱",)),
    ("{t} 관련해서 외국인 직원은 어떻게 해요?", ("외국인",)),
    ("{t}, 파견 나가 있는 직원도 해당돼요?", ("파견",)),
    ("{t} 관련 포상이나 인센티브도 있나요?", ("포상", "인센티브")),
    ("{t} 관련 설문조사 결과는 어디서 봐요?", ("설문",)),
    ("{t} 작년 예산이 얼마였어요?", ("예산", "작년")),
    ("{t}, 임신 중인 직원은 예외가 있나요?", ("임신", "임산부")),
    ("{t} 관련 노조 합의 내용이 있나요?", ("노조", "노동조합")),
)
ABSTAIN_KINDS = ("topic_aspect", "missing_article", "off_topic")
# Article captions that name no topic of their own (목적, 정의 …): no colloquial form, no topic question.
GENERIC_TOPICS = frozenset(
    {
        "목적",
        "정의",
        "용어의 정의",
        "용어의정의",
        "적용 범위",
        "적용범위",
        "적용 대상",
        "적용대상",
        "시행일",
        "시행",
        "부칙",
        "총칙",
        "개요",
        "기타",
        "다른 규정과의 관계",
        "규칙의 비치 및 변경",
    }
)
UNUSABLE_TOPIC_RE = re.compile(r"[:~\d|]")


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
    form: str = "template"
    """``golden``; ``template``, ``colloquial``, ``keyword`` (document items); ``topic_aspect``,
    ``missing_article``, ``off_topic`` (abstentions)."""
    frame: str = ""
    """The question with its topic left out (the phrasing), for the variety statistic."""


@dataclass(slots=True)
class ExportStats:
    """Counts per split by source and by form, the abstention share and its cap, distinct question
    frames, what was skipped and why, and a token estimate."""

    counts: dict[str, Counter[str]] = field(
        default_factory=lambda: {"train": Counter(), "heldout": Counter()}
    )
    forms: dict[str, Counter[str]] = field(default_factory=lambda: {"train": Counter(), "heldout": Counter()})
    frames: dict[str, set[str]] = field(default_factory=lambda: {"train": set(), "heldout": set()})
    skipped: Counter[str] = field(default_factory=Counter)
    tokens: int = 0
    documents: int = 0
    scope: str = ""
    golden_weight: int = 1
    abstain_cap: float = 1.0

    def abstain_share(self, split: str) -> float:
        """The share of abstention lines in ``split`` (0 when it is empty)."""
        total = sum(self.counts[split].values())
        return round(self.counts[split]["abstain"] / total, 4) if total else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON form (also written as ``stats.json``)."""
        return {
            "scope": self.scope,
            "documents": self.documents,
            "train": dict(self.counts["train"]),
            "heldout": dict(self.counts["heldout"]),
            "total": sum(sum(c.values()) for c in self.counts.values()),
            "forms": {split: dict(sorted(counter.items())) for split, counter in self.forms.items()},
            "abstain_share": {split: self.abstain_share(split) for split in self.counts},
            "abstain_cap": self.abstain_cap,
            "golden_weight": self.golden_weight,
            "distinct_question_frames": {split: len(frames) for split, frames in self.frames.items()},
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
        data = self.to_dict()
        lines.append(f"합계 / total: {data['total']}; 토큰 추정 / tokens (estimate): {self.tokens}")
        for split in ("train", "heldout"):
            forms = ", ".join(f"{form} {n}" for form, n in data["forms"][split].items()) or "-"
            lines.append(
                f"{split}: 기권 비율 / abstention share {self.abstain_share(split):.1%} "
                f"(상한 / cap {self.abstain_cap:.0%}); 질문 틀 / distinct question frames "
                f"{data['distinct_question_frames'][split]}; 형태 / forms: {forms}"
            )
        lines.append(f"골든 가중치 / golden weight (train): x{self.golden_weight}")
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
        question = line["question"]
        candidates.append(
            Candidate(
                question, line["answers"][0], "golden", documents, documents[0], groups, "golden", question
            )
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


def topic(passage: _Passage) -> str:
    """What an article is about, as an employee would name it: its caption (제2조(연차휴가) → 연차휴가),
    else its heading without a leading number, else the document's title."""
    caption = CAPTION_RE.search(passage.label)
    if caption:
        return caption.group(1).strip()
    heading = LEADING_NUMBER_RE.sub("", HEADING_RE.sub("", passage.label)).strip()
    return heading or passage.title


def usable_topic(passage: _Passage) -> str | None:
    """The passage's topic when employees would ask by it: a caption or heading of its own (not the
    document's title), not generic (목적, 정의 …), short, without numbering or list marks (2주차: …)."""
    if not passage.label:
        return None
    name = topic(passage)
    if name == passage.title or name in GENERIC_TOPICS or not 2 <= len(name) <= 20:
        return None
    return None if UNUSABLE_TOPIC_RE.search(name) else name


def _has_final_consonant(word: str) -> bool:
    last = word.rstrip()[-1:] or "a"
    if "가" <= last <= "힣":
        return (ord(last) - ord("가")) % 28 != 0
    return last in "013678LMNlmn"  # 영, 일, 삼, 육, 칠, 팔; English words ending in a nasal


def phrase(frame: str, subject: str) -> str:
    """``frame`` with ``{t}`` as ``subject`` and its particles chosen by its last syllable."""
    final = _has_final_consonant(subject)
    return frame.format(t=subject, eun="은" if final else "는", i="이" if final else "가")


def _pick(frames: Sequence[str], n: int, key: str) -> list[str]:
    """``n`` of ``frames``, chosen by a hash of ``key`` (deterministic; varied across articles)."""
    start = int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16) % len(frames)
    return [frames[(start + i) % len(frames)] for i in range(min(n, len(frames)))]


def _template_answers(passage: _Passage) -> list[tuple[str, str]]:
    """(kind, reference answer) of each template the article supports."""
    said = sentences(passage.text)
    if not said:
        return []
    found: list[tuple[str, str]] = [("article", " ".join(said[:2]))] if passage.is_article else []
    for kind, pattern in (
        ("amount", AMOUNT_RE),
        ("days", DAYS_RE),
        ("date", DATE_RE),
        ("procedure", PROCEDURE_RE),
    ):
        sentence = next((s for s in said if pattern.search(s)), None)
        if sentence is not None:
            found.append((kind, sentence))
    return found


def document_candidates(
    passages: Sequence[_Passage], groups: tuple[str, ...], *, colloquial: int = COLLOQUIAL_PER_TEMPLATE
) -> list[Candidate]:
    """Template questions over one document's articles (what it provides, amounts, days, dates,
    procedures), each followed by ``colloquial`` colloquial forms and a keyword query on its topic."""
    out: list[Candidate] = []
    templates = [(p, kind, answer) for p in passages for kind, answer in _template_answers(p)]
    for passage, kind, answer in templates[:MAX_PER_DOCUMENT]:
        where = f"{passage.title} {passage.label}".strip()
        forms = [(TEMPLATES[kind].format(where=where), "template", TEMPLATES[kind])]
        subject = usable_topic(passage)
        if subject is not None:
            key = f"{passage.document_id}|{passage.label}|{kind}"
            forms += [(phrase(f, subject), "colloquial", f) for f in _pick(PHRASINGS[kind], colloquial, key)]
            keyword = KEYWORD_PHRASING[kind]
            keyword = "{t}" if keyword.split()[-1] in subject else keyword  # 정산 기한, not 정산 기한 기한
            forms.append((phrase(keyword, subject), "keyword", keyword))
        document = (passage.document_id,)
        out += [
            Candidate(question, answer, "document", document, passage.document_id, groups, form, frame)
            for question, form, frame in forms
        ]
    return out


def abstain_candidates(passages: dict[str, list[_Passage]]) -> list[Candidate]:
    """Questions the visible documents do not answer: a missing article of a regulation, questions on an
    article's own topic asking what no visible chunk says, and everyday topics no visible chunk mentions."""
    out = []
    everything = "\n".join(p.text for doc in passages.values() for p in doc)
    for document_id, doc in passages.items():
        out += _topic_abstentions(document_id, doc, everything)
        numbers = [int(n) for p in doc for n in ARTICLE_NUMBER_RE.findall(p.label + " " + p.text)]
        if not any(p.is_article for p in doc):
            continue
        for offset in MISSING_ARTICLE_OFFSETS:
            missing = max(numbers, default=0) + offset
            question = f"{doc[0].title} 제{missing}조에서는 무엇을 정하고 있나요?"
            frame = "{title} 제{n}조에서는 무엇을 정하고 있나요?"
            out.append(
                Candidate(question, NOT_FOUND_KO, "abstain", (), document_id, (), "missing_article", frame)
            )
    for question, needle in OFF_TOPIC:
        if needle not in everything:
            out.append(Candidate(question, NOT_FOUND_KO, "abstain", (), question, (), "off_topic", question))
    return out


def _topic_abstentions(document_id: str, doc: Sequence[_Passage], everything: str) -> list[Candidate]:
    """Up to :data:`TOPIC_ABSTAIN_PER_DOCUMENT` questions on the document's article topics whose asked
    detail (its words) appears in no visible chunk; anchored to the document (split with it)."""
    out: list[Candidate] = []
    frames = [f for f, words in TOPIC_ASPECTS if not any(w in everything for w in words)]
    for passage in doc:
        subject = usable_topic(passage)
        if len(out) >= TOPIC_ABSTAIN_PER_DOCUMENT or not frames:
            break
        if subject is None:
            continue
        [frame] = _pick(frames, 1, f"{document_id}|{passage.label}|abstain")
        question = phrase(frame, subject)
        out.append(Candidate(question, NOT_FOUND_KO, "abstain", (), document_id, (), "topic_aspect", frame))
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
            "form": item.form,
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
    container: Container,
    scope: ExportScope,
    *,
    heldout_fraction: float = DEFAULT_HELDOUT,
    golden_weight: int = DEFAULT_GOLDEN_WEIGHT,
    abstain_cap: float = DEFAULT_ABSTAIN_CAP,
) -> FinetuneDataset:
    """Every item of the scope, prompted through the chat path, deduplicated and split; golden lines
    repeated ``golden_weight`` times in the training split, abstention lines capped at ``abstain_cap``
    of each split."""
    access = scope.access()
    with container.sessions() as session:
        visible = visible_document_ids(session, access)
        passages = _passages(session, visible)
        groups = _document_groups(session, scope)
        candidates = golden_candidates(session, scope, visible)
    for document_id, doc in passages.items():
        candidates += document_candidates(doc, groups.get(document_id, ()))
    candidates += abstain_candidates(passages)
    stats = ExportStats(
        documents=len(visible), scope=describe(scope), golden_weight=golden_weight, abstain_cap=abstain_cap
    )
    chat = export_chat(container)
    splits: dict[str, list[tuple[Candidate, dict[str, Any]]]] = {"train": [], "heldout": []}
    for item in _deduplicated(candidates, stats):
        line = to_line(chat, access, visible, item)
        if isinstance(line, str):
            stats.skipped[line] += 1
            continue
        splits["heldout" if is_heldout(item.anchor, heldout_fraction) else "train"].append((item, line))
    out: dict[str, list[dict[str, Any]]] = {}
    for split, found in splits.items():
        weight = golden_weight if split == "train" else 1
        weighted = [row for row in found for _ in range(weight if row[0].source == "golden" else 1)]
        rows = cap_abstentions(weighted, abstain_cap, stats)
        out[split] = [line for _item, line in rows]
        for item, line in rows:
            stats.counts[split][item.source] += 1
            stats.forms[split][item.form] += 1
            stats.frames[split].add(item.frame or item.question)
            stats.tokens += sum(approx_tokens(m["content"]) for m in line["messages"])
    return FinetuneDataset(out["train"], out["heldout"], stats)


def cap_abstentions(
    rows: Sequence[tuple[Candidate, dict[str, Any]]], cap: float, stats: ExportStats | None = None
) -> list[tuple[Candidate, dict[str, Any]]]:
    """``rows`` with at most ``cap`` of them abstentions: the kinds (topic, missing article, off topic)
    are kept in turn, each in a fixed hash order, and the rest dropped (counted as ``abstain_over_cap``).
    The other rows keep their order."""
    answered = [row for row in rows if row[0].source != "abstain"]
    abstain = [row for row in rows if row[0].source == "abstain"]
    room = len(abstain) if cap >= 1 else int(cap * len(answered) / (1 - cap) + 1e-9)
    if len(abstain) <= room:
        return list(rows)
    by_kind: dict[str, list[tuple[Candidate, dict[str, Any]]]] = defaultdict(list)
    for row in sorted(abstain, key=lambda row: hashlib.sha256(row[0].question.encode("utf-8")).hexdigest()):
        by_kind[row[0].form].append(row)
    kinds = [kind for kind in (*ABSTAIN_KINDS, *sorted(by_kind)) if kind in by_kind]
    kept: set[int] = set()
    while len(kept) < room:
        for kind in dict.fromkeys(kinds):
            if by_kind[kind] and len(kept) < room:
                kept.add(id(by_kind[kind].pop(0)))
    if stats is not None:
        stats.skipped["abstain_over_cap"] += len(abstain) - len(kept)
    return [row for row in rows if row[0].source != "abstain" or id(row) in kept]


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
