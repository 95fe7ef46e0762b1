"""Search latency at 100k chunks with permissions on (issue 4 target: p50 ≤ 15 ms, p95 ≤ 40 ms).

Usage: python -m bench.retrieval [--data-dir DIR] [--chunks N] [--rounds R]

Builds (once per data directory; later runs reuse it) a synthetic index from the sample documents:
the samples are ingested with the fast hashing embedder to get real chunks and Kiwi terms, their
unique texts are embedded once with the real model, and N chunks are made by pairing two sample
chunks (text and BM25 terms of both; vector = the normalised, jittered mix of theirs). Documents
have 20 chunks each and belong to one of ten groups, so a member of one group sees 10 % of them
and a member of all ten sees everything.

Then the 214 dev-set questions are searched through the real searcher (Kiwi, BM25, the query
encoder, Chroma, SQL) as three callers — 10 % visible, 100 % visible (non-admin, so the permission
path runs), admin — and printed beside the unfiltered Chroma-only top-20 query and Chroma's
``where``-filtered query for the 10 % caller, all measured in the same run on the same vectors.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import delete, func, insert, select, update

from app.container import Container, build_container
from bench.common import load_devset, machine, samples_container
from core.db import new_id, transaction
from core.models import Chunk, DictionaryTerm, Document, DocumentVersion, Group, document_groups
from core.settings import EmbeddingSettings, Settings
from retrieval import chunk_store
from retrieval.embedder import SentenceTransformerEmbedder
from retrieval.evaluation import percentile as pct
from retrieval.index import index_text
from retrieval.lexical import LexicalIndex
from retrieval.types import AccessScope, ChunkInput

CHUNKS_PER_DOC = 20
GROUPS = 10
JITTER = 0.05
SQL_BATCH = 5000
TARGET_P50_MS, TARGET_P95_MS = 15.0, 40.0


def _say(message: str) -> None:
    print(message, flush=True)


def source_chunks(work: Path) -> tuple[list[str], list[str], list[list[str]], list[str]]:
    """Texts, index texts, BM25 terms and section paths of the sample chunks (ingested once)."""
    cache = work / "sources.json"
    if cache.exists():
        data = json.loads(cache.read_text(encoding="utf-8"))
        return data["texts"], data["index_texts"], data["terms"], data["sections"]
    container = samples_container(work / "samples", embedding=EmbeddingSettings(model="hashing"))
    with container.sessions() as session:
        rows = session.execute(
            select(Chunk.text, Chunk.section_path, Chunk.lexical_tokens, Document.title)
            .join(Document, Document.id == Chunk.document_id)
            .where(Chunk.version_id == Document.current_version_id)
            .order_by(Chunk.id)
        ).all()
    container.engine.dispose()
    texts = [text for text, _, _, _ in rows]
    sections = [path or "[]" for _, path, _, _ in rows]
    index_texts = [
        index_text(title, ChunkInput(text, json.loads(path or "[]"))) for text, path, _, title in rows
    ]
    terms = [json.loads(tokens) for _, _, tokens, _ in rows]
    data = {"texts": texts, "index_texts": index_texts, "terms": terms, "sections": sections}
    cache.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return texts, index_texts, terms, sections


def insert_documents(session: Any, doc_ids: list[str], version_ids: list[str], *, name_digits: int) -> None:
    """Synthetic private documents with one version each (``CHUNKS_PER_DOC`` chunks), in bulk."""
    session.execute(
        insert(Document),
        [
            {"id": d, "title": f"문서 {i}", "display_name": f"doc-{i:0{name_digits}d}.md", "is_public": False}
            for i, d in enumerate(doc_ids)
        ],
    )
    session.execute(
        insert(DocumentVersion),
        [
            {
                "id": v,
                "document_id": d,
                "number": 1,
                "content_hash": v,
                "file_key": v,
                "format": "md",
                "size_bytes": 0,
                "chunk_count": CHUNKS_PER_DOC,
            }
            for d, v in zip(doc_ids, version_ids, strict=True)
        ],
    )


def first_document_rows(sessions: Any) -> tuple[str, str, list[dict[str, Any]]]:
    """The first document (by file name), its current version and that version's chunk rows as dicts."""
    with sessions() as session:
        document_id, version_id = session.execute(
            select(Document.id, Document.current_version_id)
            .where(Document.current_version_id.is_not(None))
            .order_by(Document.display_name)
            .limit(1)
        ).one()
        chunks = [
            {c.name: getattr(row, c.name) for c in Chunk.__table__.columns}
            for row in session.scalars(select(Chunk).where(Chunk.version_id == version_id))
        ]
    return document_id, version_id, chunks


def build(container: Container, work: Path, n_chunks: int) -> None:
    """Fill an empty container with ``n_chunks`` synthetic chunks in SQL, Chroma and BM25."""
    texts, index_texts, terms, sections = source_chunks(work)
    started = time.perf_counter()
    base = container.embedder.embed_passages(index_texts)
    _say(f"embedded {len(index_texts)} unique sample chunks in {time.perf_counter() - started:.1f} s")
    rng = np.random.default_rng(7)
    n_docs = n_chunks // CHUNKS_PER_DOC
    groups = [new_id() for _ in range(GROUPS)]
    doc_ids = [new_id() for _ in range(n_docs)]
    version_ids = [new_id() for _ in range(n_docs)]
    started = time.perf_counter()
    with transaction(container.sessions) as session:
        session.execute(insert(Group), [{"id": g, "name": f"group-{i}"} for i, g in enumerate(groups)])
        insert_documents(session, doc_ids, version_ids, name_digits=5)
        session.execute(
            document_groups.insert(),
            [{"document_id": d, "group_id": groups[i % GROUPS]} for i, d in enumerate(doc_ids)],
        )
        for i, d in enumerate(doc_ids):
            session.get_one(Document, d).current_version_id = version_ids[i]
    _say(f"documents and groups written in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    n_src = len(texts)
    for start in range(0, n_docs * CHUNKS_PER_DOC, SQL_BATCH):
        rows: list[dict[str, object]] = []
        ids: list[str] = []
        vectors: list[np.ndarray] = []
        metas: list[dict[str, object]] = []
        for number in range(start, min(start + SQL_BATCH, n_docs * CHUNKS_PER_DOC)):
            doc, ordinal = divmod(number, CHUNKS_PER_DOC)
            first, second = (doc * 7 + ordinal) % n_src, (doc * 13 + ordinal * 31 + 5) % n_src
            chunk_id = new_id()
            half = terms[second][: len(terms[second]) // 2]
            rows.append(
                {
                    "id": chunk_id,
                    "document_id": doc_ids[doc],
                    "version_id": version_ids[doc],
                    "ordinal": ordinal,
                    "text": f"{texts[first]}\n{texts[second][: len(texts[second]) // 2]}",
                    "section_path": sections[first],
                    "token_count": 0,
                    "lexical_tokens": json.dumps(terms[first] + half, ensure_ascii=False),
                }
            )
            ids.append(chunk_id)
            vector = base[first] + 0.5 * base[second] + rng.normal(0, JITTER, base.shape[1])
            vectors.append(vector / np.linalg.norm(vector))
            metas.append({"document_id": doc_ids[doc], "version_id": version_ids[doc]})
        with transaction(container.sessions) as session:
            session.execute(insert(Chunk), rows)
        container.index.vectors.upsert(ids, np.asarray(vectors, dtype=np.float32), metas)
        done = min(start + SQL_BATCH, n_docs * CHUNKS_PER_DOC)
        _say(f"  {done:,} chunks written ({done / (time.perf_counter() - started):.0f}/s)")
    with transaction(container.sessions) as session:
        chunk_store.bump_index_version(session)
    started = time.perf_counter()
    container.index.refresh()
    _say(f"BM25 built over {len(container.index.lexical):,} chunks in {time.perf_counter() - started:.1f} s")


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall-clock and process CPU milliseconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def line(label: str, values: list[float], cpu: list[float] | None = None) -> str:
    """A result line: p50, p95, mean in milliseconds (and the CPU-time p50 when given)."""
    text = (
        f"{label:<60} p50 {statistics.median(values):6.1f}  p95 {pct(values, 95):6.1f}  "
        f"mean {statistics.fmean(values):6.1f} ms"
    )
    return text + (f"   (CPU p50 {statistics.median(cpu):5.1f})" if cpu else "")


def ensure_small_group(container: Container) -> None:
    """A group holding 0.5 % of the documents (one in 200), for the 'sees very little' caller."""
    with transaction(container.sessions) as session:
        if session.scalar(select(Group.id).where(Group.name == "group-small")):
            return
        group_id = new_id()
        session.execute(insert(Group), [{"id": group_id, "name": "group-small"}])
        doc_ids = list(session.scalars(select(Document.id).order_by(Document.display_name)))
        session.execute(
            document_groups.insert(), [{"document_id": d, "group_id": group_id} for d in doc_ids[::200]]
        )
    container.index.permissions_changed()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, default=None, help="reused when it holds a built index")
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2, help="passes over the dev set per caller")
    args = parser.parse_args()
    work = args.data_dir or Path(tempfile.mkdtemp(prefix="jikji-bench-retrieval-"))
    work.mkdir(parents=True, exist_ok=True)
    container = build_container(Settings(data_dir=work / "index"))
    with container.sessions() as session:
        existing = session.scalar(select(func.count()).select_from(Chunk)) or 0
    if existing == 0:
        build(container, work, args.chunks)
    ensure_small_group(container)
    started = time.perf_counter()
    container.index.refresh()
    _say(f"BM25 ready (saved index loaded, or all terms read) in {time.perf_counter() - started:.1f} s")
    run(container, args.rounds)
    measure_updates(container, args.rounds * 5)
    measure_dictionary_changes(container, args.rounds * 5)


def callers(container: Container) -> dict[str, AccessScope]:
    """The measured callers: 10 % visible, 100 % visible (non-admin), 0.5 % visible, admin."""
    with container.sessions() as session:
        groups = {row.name: row.id for row in session.execute(select(Group.name, Group.id))}
    ten = frozenset(groups[f"group-{i}"] for i in range(GROUPS))
    return {
        "10 % visible": AccessScope(group_ids=frozenset({groups["group-0"]})),
        "100 % visible": AccessScope(group_ids=ten),
        "0.5 % visible": AccessScope(group_ids=frozenset({groups["group-small"]})),
        "admin (no filter)": AccessScope.admin(),
    }


def run(container: Container, rounds: int) -> None:
    """Measure every caller and the Chroma-only baselines on the dev-set questions."""
    with container.sessions() as session:
        n_chunks = session.scalar(select(func.count()).select_from(Chunk)) or 0
        n_docs = session.scalar(select(func.count()).select_from(Document)) or 0
    scopes = callers(container)
    questions = [item.question for item in load_devset()]
    random.Random(3).shuffle(questions)
    searcher, embedder = container.searcher, container.embedder
    collection = container.index.vectors._collection
    for question in questions[:20]:  # warm up: model, masks, visible sets, scope vectors, SQLite pages
        for scope in scopes.values():
            searcher.search(question, scope)
    vectors = [embedder.embed_query(q).tolist() for q in questions]
    wall: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}

    def measure(label: str, fn: Callable[[], object]) -> None:
        w, c = timed(fn)
        wall.setdefault(label, []).append(w)
        cpu.setdefault(label, []).append(c)

    baseline = "Chroma only, unfiltered top-20 (baseline)"
    for _ in range(rounds):
        for question, vector in zip(questions, vectors, strict=True):
            measure(baseline, partial(collection.query, query_embeddings=[vector], n_results=20))
            measure("query embedding alone", partial(embedder.embed_query, question))
            for label, scope in scopes.items():
                measure(f"search, {label}", partial(searcher.search, question, scope))
    narrow_docs = sorted(searcher.visible_documents(scopes["10 % visible"]))
    where = {"document_id": {"$in": narrow_docs}}
    for vector in vectors[:20]:
        measure(
            "Chroma where-filtered top-20, 10 % (avoided)",
            partial(collection.query, query_embeddings=[vector], n_results=20, where=where),
        )
    # Last, on its own: torch's worker threads keep spinning after a call and would slow what follows.
    for threads in (container.settings.embedding.threads, 1):
        torch_settings = container.settings.embedding.model_copy(
            update={
                "threads": threads,
                "model": "bundled:all-MiniLM-L6-v2",
            }  # the old torch path, for comparison
        )
        torch_embedder = SentenceTransformerEmbedder(torch_settings)
        torch_embedder.embed_query("워밍업")
        label = f"query embedding alone, torch, threads={threads or 'default'} (old path)"
        for question in questions[:50]:
            measure(label, partial(torch_embedder.embed_query, question))
    top_k = container.settings.retrieval.top_k
    full = {label: sum(len(searcher.search(q, s)) == top_k for q in questions) for label, s in scopes.items()}
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f} at the end")
    print(
        f"index: {n_chunks:,} chunks in {n_docs:,} documents; query encoder {type(embedder).__name__}; "
        f"{len(questions)} dev-set questions x {rounds} rounds"
    )
    for label, values in wall.items():
        print(line(label, values, cpu[label]))
    print(
        "questions answered with k results: "
        + ", ".join(f"{k} {v}/{len(questions)}" for k, v in full.items())
    )
    for label in ("search, 10 % visible", "search, 100 % visible"):
        values = wall[label]
        ok = statistics.median(values) <= TARGET_P50_MS and pct(values, 95) <= TARGET_P95_MS
        print(
            f"target p50 ≤ {TARGET_P50_MS:.0f} ms, p95 ≤ {TARGET_P95_MS:.0f} ms, {label}: {'met' if ok else 'NOT met'}"
        )


def measure_updates(container: Container, repeats: int) -> None:
    """BM25 keeping up with a changed document, beside reading every chunk's terms again.

    A new version of one document (its 20 chunks, terms copied) is written to SQL and made current,
    then taken back; each time the index catches up (what every process does on its next search)
    and the search latency right after the change is taken. Last, the same index is built from all
    the terms in SQL, as the index did for every change before (and, until the chunks re-cut by a
    dictionary change were stamped, for every dictionary change made by another process).
    """
    index, sessions = container.index, container.sessions
    document_id, old_version, chunks = first_document_rows(sessions)
    question = load_devset()[0].question
    scope = AccessScope.admin()
    times: dict[str, list[float]] = {}
    for _ in range(repeats):
        new_version = new_id()
        with transaction(sessions) as session:
            session.execute(
                insert(DocumentVersion),
                [
                    {
                        "id": new_version,
                        "document_id": document_id,
                        "number": 2,
                        "content_hash": new_version,
                        "file_key": new_version,
                        "format": "md",
                        "size_bytes": 0,
                        "chunk_count": len(chunks),
                    }
                ],
            )
            session.execute(insert(Chunk), [{**c, "id": new_id(), "version_id": new_version} for c in chunks])
            session.get_one(Document, document_id).current_version_id = new_version
            chunk_store.bump_index_version(session)
        times.setdefault("BM25 catch-up, new version of one document (20 chunks)", []).append(
            timed(index.refresh)[0]
        )
        times.setdefault("search right after a change", []).append(
            timed(partial(container.searcher.search, question, scope))[0]
        )
        with transaction(sessions) as session:
            session.get_one(Document, document_id).current_version_id = old_version
            chunk_store.delete_chunks_of_version(session, new_version)
            session.execute(delete(DocumentVersion).where(DocumentVersion.id == new_version))
            chunk_store.bump_index_version(session)
        times.setdefault("BM25 catch-up, version taken back", []).append(timed(index.refresh)[0])
    full = LexicalIndex(*index.lexical.params)
    with sessions() as session:
        current = chunk_store.current_versions(session)
    for _ in range(2):
        times.setdefault("BM25 from all terms in SQL (a full read: once per change before)", []).append(
            timed(partial(_read_all, sessions, full, list(current.values())))[0]
        )
    saved_copy = index.lexical.copy()
    started = time.perf_counter()
    saved_copy.save(container.settings.bm25_dir)
    saved = (time.perf_counter() - started) * 1000
    loaded = LexicalIndex()
    started = time.perf_counter()
    loaded.load(container.settings.bm25_dir)
    print(
        f"BM25 index: {len(saved_copy):,} chunks; save {saved:.0f} ms, load "
        f"{(time.perf_counter() - started) * 1000:.0f} ms (a starting process loads, then catches up)"
    )
    for label, values in times.items():
        print(line(label, values))


def measure_dictionary_changes(container: Container, repeats: int) -> None:
    """Another process catching up after a company-dictionary change that re-cut one document.

    Each change is written to SQL as :mod:`retrieval.dictionary` writes it: a new term, the 20
    chunks containing it stamped with the new dictionary version, both index versions moved. This
    index did not make the change, so it does what every other process does on its next search:
    teaches Kiwi the term and reads back only the re-cut chunks (it read every chunk's terms before,
    the full read above). The terms are removed at the end.
    """
    index, sessions = container.index, container.sessions
    with sessions() as session:
        version_id = session.scalar(
            select(Document.current_version_id)
            .where(Document.current_version_id.is_not(None))
            .order_by(Document.display_name)
            .limit(1)
        )
        recut = session.execute(
            select(Chunk.id, Chunk.lexical_tokens).where(Chunk.version_id == version_id)
        ).all()
    question = load_devset()[0].question
    times: dict[str, list[float]] = {}
    for i in range(repeats):
        term = f"벤치마크전용어{i:03d}"
        with transaction(sessions) as session:
            session.add(DictionaryTerm(term=term))
            version = chunk_store.bump_index_version(session, chunk_store.DICTIONARY_INDEX)
            session.execute(
                update(Chunk),
                [
                    {
                        "id": chunk_id,
                        "lexical_tokens": json.dumps([*json.loads(tokens), term]),
                        "terms_version": version,
                    }
                    for chunk_id, tokens in recut
                ],
            )
            chunk_store.bump_index_version(session)
        times.setdefault(f"BM25 catch-up, dictionary change re-cutting {len(recut)} chunks", []).append(
            timed(index.refresh)[0]
        )
        times.setdefault("search right after a dictionary change", []).append(
            timed(partial(container.searcher.search, question, AccessScope.admin()))[0]
        )
    with transaction(sessions) as session:
        session.execute(delete(DictionaryTerm).where(DictionaryTerm.term.like("벤치마크전용어%")))
        version = chunk_store.bump_index_version(session, chunk_store.DICTIONARY_INDEX)
        session.execute(
            update(Chunk),
            [
                {"id": chunk_id, "lexical_tokens": tokens, "terms_version": version}
                for chunk_id, tokens in recut
            ],
        )
        chunk_store.bump_index_version(session)
    index.refresh()
    for label, values in times.items():
        print(line(label, values))


def _read_all(sessions: Any, lexical: LexicalIndex, versions: list[str]) -> None:
    with sessions() as session:
        rows = chunk_store.lexical_rows_of_versions(session, versions)
    lexical.build([r[0] for r in rows], [r[2] for r in rows], [r[1] for r in rows])


if __name__ == "__main__":
    main()
