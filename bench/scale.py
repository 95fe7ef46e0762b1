"""Cost as the corpus grows (issue 20 item 4): 10k, 100k (and 1M) chunks.

Usage: python -m bench.scale [--sizes 10000,100000] [--work DIR] [--rounds 1]
       python -m bench.scale --sizes 1000000 --lexical-only [--chroma-vectors] [--variant LABEL:ENV=VALUE]

``--lexical-only`` writes SQL and the BM25 snapshot in bulk and measures against a Chroma server;
``--chroma-vectors`` first fills that server with one vector per SQL chunk (:func:`load_vectors`) and
then measures the dense leg too (:func:`measure_dense`: route per caller, Chroma's raw and filtered
queries, recall against an exact search); each ``--variant`` is measured in the same run with its settings.

For each size an index is built once per work directory with :func:`bench.retrieval.build` (real
Korean chunks of the sample documents, paired and repeated; their vectors are the real
multilingual-e5-small vectors (384 dimensions) of the sample chunks, mixed and jittered — synthetic
vectors of the real dimension; Kiwi BM25 terms are real), then a *fresh process* (one API process's
work, without HTTP) is started on it and measures:

- start-up: settings → container → saved BM25 loaded → first search answered (model load included);
- search p50/p95 through the real searcher (Kiwi, BM25, e5 ONNX query, Chroma, SQL permissions) for a
  caller seeing 10 % and one seeing 100 % of the documents (non-admin), dev-set questions;
- memory of that process: resident set after start-up and after the searches, and its peak;
- catch-up: a changed document read into BM25 (``bench.retrieval.measure_updates``);
- disk per store: the SQLite file, the Chroma directory, the BM25 snapshot.

Targets at 1M chunks: p50 ≤ 30 ms, p95 ≤ 80 ms, ≤ 4 GB per API process, start-up ≤ 30 s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import delete, func, insert, select, update

from app.container import Container, build_container
from bench.common import load_devset, machine
from bench.retrieval import (
    CHUNKS_PER_DOC,
    GROUPS,
    JITTER,
    build,
    callers,
    ensure_small_group,
    first_document_rows,
    insert_documents,
    measure_updates,
    source_chunks,
)
from core.db import new_id, transaction
from core.models import Chunk, Document, DocumentVersion, Group, document_groups
from core.settings import Settings
from retrieval import chunk_store
from retrieval import lexical as lexical_module
from retrieval.embedder import build_embedder
from retrieval.evaluation import percentile as pct
from retrieval.lexical import LexicalIndex
from retrieval.types import AccessScope
from retrieval.vectors import open_vector_store
from tests.support.dependencies import ChromaServer

TARGETS = {"p50_ms": 30.0, "p95_ms": 80.0, "rss_gb": 4.0, "startup_s": 30.0}


def rss_mb(field: str = "VmRSS") -> float:
    """This process's resident memory (``VmRSS``) or its peak (``VmHWM``), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory_mb() -> dict[str, int]:
    """This process's memory split (MiB): resident, proportional (PSS: shared pages divided among the
    processes mapping them), anonymous (private to the process) and file-backed (page cache, shareable:
    a memory-mapped BM25 snapshot), from ``/proc/self/smaps_rollup``."""
    fields = {"Rss": "rss", "Pss": "pss", "Anonymous": "anonymous", "Shared_Clean": "shared_clean"}
    found = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in fields:
            found[fields[name]] = round(int(value.split()[0]) / 1024)
    found["file_backed"] = found.get("rss", 0) - found.get("anonymous", 0)
    return found


def disk_mb(path: Path) -> float:
    """Bytes under ``path`` (a file, or a directory's files), in MiB."""
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20 if path.exists() else 0.0


def ensure_built(index_dir: Path, work: Path, n_chunks: int) -> float:
    """Build the index of ``n_chunks`` unless it is there; seconds spent building (0 when reused)."""
    started = time.perf_counter()
    container = build_container(Settings(data_dir=index_dir))
    try:
        with container.sessions() as session:
            existing = session.scalar(select(func.count()).select_from(Chunk)) or 0
        if existing:
            return 0.0
        build(container, work, n_chunks)
        ensure_small_group(container)
        container.index.checkpoint()  # the BM25 snapshot a starting process loads
        with container.sessions() as session:
            written = session.scalar(select(func.count()).select_from(Chunk)) or 0
        if written != n_chunks // CHUNKS_PER_DOC * CHUNKS_PER_DOC:
            msg = f"the built index holds {written} chunks, not {n_chunks}"
            raise RuntimeError(msg)
    finally:
        container.close()
    return time.perf_counter() - started


def bm25_profile(index: LexicalIndex) -> dict[str, object]:
    """MiB held by each part of a BM25 index, and whether its arrays are memory-mapped (shared).

    Works on both representations: chunk ids and terms as Python lists and dicts (format 2), or as
    numpy arrays with a small Python tail (format 3).
    """
    mib = 2**20

    def strings(values: Any) -> float:
        return sum(sys.getsizeof(value) for value in values)

    def keys_mb(keys: Any) -> tuple[float, bool]:
        if isinstance(keys, dict | list):  # format 2: a list of ids and a dict (or a vocabulary dict)
            size = sys.getsizeof(keys) + strings(keys)
            return size / mib, False
        arrays = [keys._sorted, keys._places, keys._ranks]
        tail = sys.getsizeof(keys._added) + sys.getsizeof(keys._where) + strings(keys._added)
        return (sum(a.nbytes for a in arrays) + tail) / mib, isinstance(keys._sorted, np.memmap)

    ids_mb, ids_mapped = keys_mb(index._ids)
    position = getattr(index, "_position", None)
    if position is not None:
        ids_mb += sys.getsizeof(position) / mib
    vocabulary_mb, vocabulary_mapped = keys_mb(index._vocabulary)
    segments = index._segments
    postings = sum(s.starts.nbytes + s.rows.nbytes + s.counts.nbytes for s in segments) / mib
    rows = (index._lengths.nbytes + index._doc_of_row.nbytes + index._alive.nbytes) / mib
    return {
        "chunk ids": round(ids_mb, 1),
        "vocabulary": round(vocabulary_mb, 1),
        "postings": round(postings, 1),
        "per-row arrays (lengths, documents, alive)": round(rows, 1),
        "documents (names, codes, versions)": round(
            (
                sys.getsizeof(index._doc_names)
                + strings(index._doc_names)
                + sys.getsizeof(index._doc_codes)
                + sys.getsizeof(index.document_versions)
                + strings(index.document_versions.values())
            )
            / mib,
            1,
        ),
        "permission masks cached": round(sum(m.nbytes for m in index._masks.values()) / mib, 1),
        "mapped (shared page cache)": {
            "postings": all(isinstance(s.rows, np.memmap) for s in segments) and bool(segments),
            "chunk ids": ids_mapped,
            "vocabulary": vocabulary_mapped,
        },
        "vocabulary terms": len(index._vocabulary),
        "postings count": sum(s.size for s in segments),
    }


def ensure_share_group(container: Container, name: str, every: int) -> None:
    """A group holding one in ``every`` documents (by file name), unless it is there."""
    with transaction(container.sessions) as session:
        if session.scalar(select(Group.id).where(Group.name == name)):
            return
        group_id = new_id()
        session.execute(insert(Group), [{"id": group_id, "name": name}])
        doc_ids = list(session.scalars(select(Document.id).order_by(Document.display_name)))
        rows = [{"document_id": d, "group_id": group_id} for d in doc_ids[1::every]]
        session.execute(document_groups.insert(), rows)
    container.index.permissions_changed()


THREE_PERCENT = "group-3pct"
FEW_QUESTIONS = 60  # questions the 3 % caller is timed on


def measured_callers(container: Container) -> dict[str, Any]:
    """The callers measured: 10 % and 100 % visible (non-admin), and 3 % where that group exists (a
    scope between the exact cache and the unfiltered over-fetch at 1M chunks)."""
    scopes = callers(container)
    measured = {label: scopes[label] for label in ("10 % visible", "100 % visible")}
    with container.sessions() as session:
        three = session.scalar(select(Group.id).where(Group.name == THREE_PERCENT))
    if three is not None:
        measured["3 % visible"] = AccessScope(group_ids=frozenset({three}))
    return measured


def measure_parts(container: Container, questions: list[str], scopes: dict[str, Any]) -> dict[str, object]:
    """Wall p50/p95 (ms) of the search's parts on the same questions: Kiwi, the BM25 leg per caller
    (permission mask cached, as in a search), the query embedding."""
    index, searcher = container.index, container.searcher
    times: dict[str, list[float]] = {}

    def timed(label: str, fn: Callable[[], object]) -> None:
        begin = time.perf_counter()
        fn()
        times.setdefault(label, []).append((time.perf_counter() - begin) * 1000)

    for question in questions:
        begin = time.perf_counter()
        terms = index.tokenizer.tokenize(question)
        times.setdefault("Kiwi terms of the question", []).append((time.perf_counter() - begin) * 1000)
        for label in ("10 % visible", "100 % visible"):
            mask = index.lexical.mask_for(searcher.visible_documents(scopes[label]))
            timed(f"BM25 top-50, {label}", partial(index.lexical.search, terms, 50, allowed=mask))
        timed("query embedding", partial(container.embedder.embed_query, question))
    return {label: [round(statistics.median(v), 1), round(pct(v, 95), 1)] for label, v in times.items()}


def measure(
    index_dir: Path, rounds: int, full_read: bool = True, work: Path | None = None, raw_dense: bool = True
) -> dict[str, object]:
    """In a fresh process: start-up, search latency, memory and catch-up on a built index.

    ``full_read`` False leaves out the comparison with a full read of every chunk's terms from SQL
    (at 1M chunks that read alone holds several GB). With ``work`` (where :func:`load_vectors` kept its
    base vectors) and vectors in Chroma, the dense leg is measured on its own too (:func:`measure_dense`).
    """
    questions = [item.question for item in load_devset()]
    random.Random(5).shuffle(questions)
    rss_stages = {"interpreter and imports": round(rss_mb())}
    started = time.perf_counter()
    container = build_container(Settings(data_dir=index_dir))
    rss_stages["container built (Kiwi, SQL engine, Chroma client)"] = round(rss_mb())
    begin = time.perf_counter()
    container.index.refresh()
    bm25_s = time.perf_counter() - begin
    rss_stages["BM25 loaded and caught up"] = round(rss_mb())
    with container.sessions() as session:
        n_chunks = session.scalar(select(func.count()).select_from(Chunk)) or 0
    if not n_chunks:
        msg = f"no chunks in {index_dir}"
        raise RuntimeError(msg)
    scopes = measured_callers(container)
    container.searcher.search(questions[0], scopes["10 % visible"])
    startup_s = time.perf_counter() - started
    rss_started = rss_mb()
    rss_stages["first search (query encoder loaded)"] = round(rss_started)
    for question in questions[:10]:  # warm-up: visible sets, scope vectors, pages
        for label in scopes:
            container.searcher.search(question, scopes[label])
    latencies: dict[str, list[float]] = {label: [] for label in scopes}
    cpu: dict[str, list[float]] = {label: [] for label in latencies}
    for _ in range(rounds):
        for number, question in enumerate(questions):
            for label, values in latencies.items():
                if label == "3 % visible" and number >= FEW_QUESTIONS:
                    continue  # its route may be Chroma's metadata filter (most of a second at 1M)
                begin, begin_cpu = time.perf_counter(), time.process_time()
                container.searcher.search(question, scopes[label])
                values.append((time.perf_counter() - begin) * 1000)
                cpu[label].append((time.process_time() - begin_cpu) * 1000)
    parts = measure_parts(container, questions, scopes)
    result: dict[str, object] = {
        "chunks": n_chunks,
        "startup_s": round(startup_s, 2),
        "rss_after_start_mb": round(rss_started),
        "rss_after_search_mb": round(rss_mb()),
        "rss_peak_mb": round(rss_mb("VmHWM")),
        "memory_after_search_mb": memory_mb(),
        "rss_by_stage_mb": rss_stages,
        "bm25_load_and_catch_up_s": round(bm25_s, 2),
        "bm25_parts_mb": bm25_profile(container.index.lexical),
        "searches": sum(len(v) for v in latencies.values()),
        "load_average": round(os.getloadavg()[0], 2),
    }
    for label, values in latencies.items():
        result[label] = {
            "p50_ms": round(statistics.median(values), 1),
            "p95_ms": round(pct(values, 95), 1),
            "cpu_p50_ms": round(statistics.median(cpu[label]), 1),
            "cpu_p95_ms": round(pct(cpu[label], 95), 1),
        }
    result["parts (wall p50 / p95 ms)"] = parts
    if work is not None and (work / "base_vectors.npy").exists() and container.index.vectors.count():
        result["dense leg"] = measure_dense(container, questions, scopes, work, raw=raw_dense)
    if full_read:
        print("catch-up (bench.retrieval.measure_updates):", flush=True)
        measure_updates(container, 3)
    else:
        result["catch_up"] = measure_catch_up(container, 3)
    container.close()
    return result


# --- the fast build for 1M chunks (SQL and BM25 real, no vectors) -------------------------------

LEXICAL_BATCH = 50_000  # chunks per SQL insert batch and per BM25 add


def _hex_ids(rng: random.Random, n: int) -> list[str]:
    return [f"{rng.getrandbits(128):032x}" for _ in range(n)]


def synthetic_layout(n_chunks: int) -> tuple[list[str], list[str], list[str]]:
    """Document, version and chunk ids of a synthetic corpus, the same on every call (seeded)."""
    rng = random.Random(n_chunks)
    n_docs = n_chunks // CHUNKS_PER_DOC
    return _hex_ids(rng, n_docs), _hex_ids(rng, n_docs), _hex_ids(rng, n_docs * CHUNKS_PER_DOC)


def _pair(number: int, n_src: int) -> tuple[int, int, int, int]:
    """Document, ordinal and the two sample chunks a synthetic chunk is made of (as bench.retrieval)."""
    doc, ordinal = divmod(number, CHUNKS_PER_DOC)
    return doc, ordinal, (doc * 7 + ordinal) % n_src, (doc * 13 + ordinal * 31 + 5) % n_src


def chunk_terms(terms: list[list[str]], first: int, second: int) -> list[str]:
    """A synthetic chunk's BM25 terms: all of one sample chunk's and half of another's."""
    return terms[first] + terms[second][: len(terms[second]) // 2]


def build_sql(container: Container, work: Path, n_chunks: int) -> None:
    """Write ``n_chunks`` synthetic chunks (text, terms; no vectors) and their documents to SQL in bulk.

    The same corpus as :func:`bench.retrieval.build` (real Korean sample chunks paired; ten groups and a
    0.5 % group), with ids from a seeded generator so :func:`build_snapshot` can rebuild BM25 without
    reading the terms back.
    """
    texts, _, terms, sections = source_chunks(work)
    doc_ids, version_ids, chunk_ids = synthetic_layout(n_chunks)
    groups = [new_id() for _ in range(GROUPS)]
    small = new_id()
    with transaction(container.sessions) as session:
        session.execute(insert(Group), [{"id": g, "name": f"group-{i}"} for i, g in enumerate(groups)])
        session.execute(insert(Group), [{"id": small, "name": "group-small"}])
        insert_documents(session, doc_ids, version_ids, name_digits=7)
        session.execute(
            update(Document),
            [{"id": d, "current_version_id": v} for d, v in zip(doc_ids, version_ids, strict=True)],
        )
        memberships = [{"document_id": d, "group_id": groups[i % GROUPS]} for i, d in enumerate(doc_ids)]
        memberships += [{"document_id": d, "group_id": small} for d in sorted(doc_ids)[::200]]
        session.execute(document_groups.insert(), memberships)
    started = time.perf_counter()
    for start in range(0, len(chunk_ids), LEXICAL_BATCH):
        rows = []
        for number in range(start, min(start + LEXICAL_BATCH, len(chunk_ids))):
            doc, ordinal, first, second = _pair(number, len(texts))
            rows.append(
                {
                    "id": chunk_ids[number],
                    "document_id": doc_ids[doc],
                    "version_id": version_ids[doc],
                    "ordinal": ordinal,
                    "text": f"{texts[first]}\n{texts[second][: len(texts[second]) // 2]}",
                    "section_path": sections[first],
                    "token_count": 0,
                    "lexical_tokens": json.dumps(chunk_terms(terms, first, second), ensure_ascii=False),
                }
            )
        with transaction(container.sessions) as session:
            session.execute(insert(Chunk), rows)
        done = start + len(rows)
        print(f"  {done:,} chunk rows written ({done / (time.perf_counter() - started):.0f}/s)", flush=True)
    with transaction(container.sessions) as session:
        chunk_store.bump_index_version(session)


def build_snapshot(container: Container, work: Path, n_chunks: int) -> float:
    """Build BM25 from the synthetic corpus's terms in batches and save it; seconds spent.

    What a process's full read from SQL would give (same ids, terms and document of each chunk), made
    without holding a million parsed term lists at once.
    """
    started = time.perf_counter()
    _, _, terms, _ = source_chunks(work)
    doc_ids, version_ids, chunk_ids = synthetic_layout(n_chunks)
    with container.sessions() as session:
        versions = chunk_store.index_versions(session)
    lexical = LexicalIndex(*container.index.lexical.params)
    merge_after = lexical_module.MAX_SEGMENTS
    lexical_module.MAX_SEGMENTS = len(chunk_ids)  # the batches are merged once, when saved
    for start in range(0, len(chunk_ids), LEXICAL_BATCH):
        numbers = range(start, min(start + LEXICAL_BATCH, len(chunk_ids)))
        pairs = [_pair(number, len(terms)) for number in numbers]
        lexical.add(
            [chunk_ids[number] for number in numbers],
            [chunk_terms(terms, first, second) for _, _, first, second in pairs],
            [doc_ids[doc] for doc, _, _, _ in pairs],
        )
    lexical_module.MAX_SEGMENTS = merge_after
    lexical.document_versions = dict(zip(doc_ids, version_ids, strict=True))
    lexical.version = versions.get(chunk_store.LEXICAL_INDEX, 0)
    lexical.dictionary_version = versions.get(chunk_store.DICTIONARY_INDEX, 0)
    lexical.save(container.settings.bm25_dir)
    return time.perf_counter() - started


# --- 1M vectors in a Chroma server, in Jikji's collection layout ------------------------------------

VECTOR_BATCH = 5000  # vectors per add (the server's largest batch is 5,461)
LOAD_THREADS = 1  # batches in flight; the 1M build was measured with one (two were not measured)
LOAD_TIMEOUT_S = 600.0


def base_vectors(work: Path, index_dir: Path, settings: Settings) -> np.ndarray:
    """The real multilingual-e5-small passage vectors of the sample chunks (cached in ``work``)."""
    cache = work / "base_vectors.npy"
    if cache.exists():
        return np.load(cache)
    _, index_texts, _, _ = source_chunks(work)
    embedder = build_embedder(settings.embedding, index_dir / "models")
    vectors = np.asarray(embedder.embed_passages(index_texts), dtype=np.float32)
    np.save(cache, vectors)
    return vectors


def chunk_vectors(base: np.ndarray, size: int, start: int, stop: int) -> np.ndarray:
    """Vectors of synthetic chunks ``start``..``stop``: the e5 vectors of the two sample chunks the chunk's
    text is made of (all of one, half of the other: weights 1 and 0.5), jittered and renormalised.

    Seeded per batch, so a resumed or repeated build (and the exact search of the recall check) gets
    the same vectors.
    """
    rng = np.random.default_rng([size, start])
    pairs = np.asarray([_pair(number, len(base))[2:] for number in range(start, stop)])
    vectors = base[pairs[:, 0]] + 0.5 * base[pairs[:, 1]]
    vectors += rng.normal(0, JITTER, vectors.shape).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32)


def process_memory_mb(pid: int) -> dict[str, int]:
    """Resident memory and its peak of process ``pid`` (MiB)."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[{"VmRSS": "rss_mb", "VmHWM": "peak_mb"}[name]] = round(int(value.split()[0]) / 1024)
    return found


def server_pid(chroma: ChromaServer) -> int:
    """The process id of a started Chroma server."""
    assert chroma._process is not None
    return chroma._process.pid


def first_query_s(index_dir: Path, chroma: ChromaServer) -> float:
    """Seconds the Chroma server takes to answer a first query on Jikji's collection."""
    settings = Settings(data_dir=index_dir, chroma={"mode": "http", "port": chroma.port})  # type: ignore[arg-type]
    store = open_vector_store(settings.chroma, index_dir)
    store._client._server._session.timeout = httpx.Timeout(LOAD_TIMEOUT_S, connect=10.0)
    try:
        vector = np.random.default_rng(0).normal(size=384).astype(np.float32)
        return _ms(lambda: store.query(vector / np.linalg.norm(vector), 10)) / 1000
    finally:
        store.close()


EF_SEARCH = "CHROMA_EF_SEARCH"
"""A --variant key: the collection's HNSW ef_search for that run (set, then the server restarted)."""


def set_ef_search(index_dir: Path, chroma: ChromaServer, ef_search: int) -> int:
    """Set the collection's HNSW ``ef_search`` and restart the server (a running server keeps the
    value it loaded the index with); the previous value."""
    settings = Settings(data_dir=index_dir, chroma={"mode": "http", "port": chroma.port})  # type: ignore[arg-type]
    store = open_vector_store(settings.chroma, index_dir)
    try:
        before = int(store._collection.configuration["hnsw"]["ef_search"])
        store._collection.modify(configuration={"hnsw": {"ef_search": ef_search}})
    finally:
        store.close()
    stop_gracefully(chroma)
    chroma.start()
    print(
        f"ef_search {before} -> {ef_search}; first query after the restart {first_query_s(index_dir, chroma):.1f} s"
    )
    return before


def stop_gracefully(chroma: ChromaServer) -> None:
    """Stop the Chroma server with SIGTERM (its HNSW files flushed), killing it only if it hangs."""
    process = chroma._process
    if process is not None and process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=120)
    chroma.stop()


def load_vectors(index_dir: Path, work: Path, size: int, chroma: ChromaServer) -> dict[str, object]:
    """Put the vectors of the synthetic corpus's chunks into the Chroma server, in Jikji's layout.

    The collection is opened as the API opens it (:func:`retrieval.vectors.open_vector_store`: name
    ``jikji_chunks``, cosine space, stamped with the embedding model), ids are the SQL chunk ids of
    :func:`synthetic_layout` and each vector carries its document and version as metadata (what the
    permission filter reads). Resumable: batches already in the server are skipped.
    """
    settings = Settings(data_dir=index_dir, chroma={"mode": "http", "port": chroma.port})  # type: ignore[arg-type]
    base = base_vectors(work, index_dir, settings)
    doc_ids, version_ids, chunk_ids = synthetic_layout(size)
    store = open_vector_store(settings.chroma, index_dir)
    # A batch can wait behind another's HNSW inserts for longer than the API's 30 s read timeout.
    store._client._server._session.timeout = httpx.Timeout(LOAD_TIMEOUT_S, connect=10.0)
    store.check_embedder(settings.embedding.model, base.shape[1])
    collection = store._collection
    present = store.count()
    started = time.perf_counter()

    def add(start: int) -> int:
        """Add batch ``start`` (the vectors it lacks); how many were added."""
        stop = min(start + VECTOR_BATCH, len(chunk_ids))
        ids = chunk_ids[start:stop]
        keep = list(range(len(ids)))
        if start < present:
            there = set(collection.get(ids=ids, include=[])["ids"])
            keep = [i for i, chunk_id in enumerate(ids) if chunk_id not in there]
        if keep:
            docs = [(start + i) // CHUNKS_PER_DOC for i in keep]
            collection.add(
                ids=[ids[i] for i in keep],
                embeddings=chunk_vectors(base, size, start, stop)[keep],
                metadatas=[{"document_id": doc_ids[d], "version_id": version_ids[d]} for d in docs],
            )
        return len(keep)

    # Batches are added in order, LOAD_THREADS at a time: every batch before the last 2 × LOAD_THREADS
    # the count covers is whole.
    first = max(0, (present // VECTOR_BATCH - 2 * LOAD_THREADS) * VECTOR_BATCH)
    added = 0
    pool = ThreadPoolExecutor(LOAD_THREADS)
    try:
        starts = range(first, len(chunk_ids), VECTOR_BATCH)
        for start, count in zip(starts, pool.map(add, starts), strict=True):
            added += count
            stop = min(start + VECTOR_BATCH, len(chunk_ids))
            if stop % 50_000 == 0 or stop == len(chunk_ids):
                rate = added / (time.perf_counter() - started)
                print(f"  {stop:,} vectors in Chroma ({rate:.0f}/s this run)", flush=True)
        count = store.count()
    finally:
        pool.shutdown(cancel_futures=True)  # an interrupted build stops after the batches being sent
        store.close()
    return {
        "vectors": count,
        "added this run": added,
        "seconds this run": round(time.perf_counter() - started),
        "server memory": process_memory_mb(server_pid(chroma)),
        "server disk MiB": round(disk_mb(chroma.path)),
    }


RECALL_QUESTIONS = 60
FILTERED_QUESTIONS = 30  # Chroma's metadata filter is slow: fewer questions time it


def exact_top(
    queries: np.ndarray, base: np.ndarray, size: int, visible: list[np.ndarray | None], k: int
) -> list[np.ndarray]:
    """For each of ``visible`` (a boolean per chunk, or None for all): rows of the exact top ``k`` chunks
    by cosine for each query, best first. The chunks' vectors are made again batch by batch
    (:func:`chunk_vectors`), once for all of ``visible``."""
    best = [
        (np.full((len(queries), 0), -np.inf, np.float32), np.zeros((len(queries), 0), np.int64))
        for _ in visible
    ]
    for start in range(0, size, VECTOR_BATCH):
        stop = min(start + VECTOR_BATCH, size)
        batch_scores = queries @ chunk_vectors(base, size, start, stop).T
        for number, rows_visible in enumerate(visible):
            rows = np.arange(start, stop)
            scores = batch_scores
            if rows_visible is not None:
                keep = rows_visible[start:stop]
                rows, scores = rows[keep], scores[:, keep]
            best_scores, best_rows = best[number]
            scores = np.concatenate([best_scores, scores], axis=1)
            candidates = np.concatenate([best_rows, np.broadcast_to(rows, (len(queries), len(rows)))], axis=1)
            top = np.argpartition(-scores, min(k, scores.shape[1] - 1), axis=1)[:, :k]
            best[number] = (
                np.take_along_axis(scores, top, axis=1),
                np.take_along_axis(candidates, top, axis=1),
            )
    return [np.take_along_axis(rows, np.argsort(-scores, axis=1), axis=1) for scores, rows in best]


def measure_dense(
    container: Container, questions: list[str], scopes: dict[str, Any], work: Path, raw: bool = True
) -> dict[str, object]:
    """The dense leg over the vectors in the Chroma server: which route each caller takes, its time as
    the searcher runs it, Chroma's raw unfiltered top-k and metadata-filtered top-50 (``raw``), and
    recall against an exact search over the caller's visible vectors (made again from the build's
    seeds)."""
    searcher, index = container.searcher, container.index
    store, lexical = index.vectors, index.lexical
    n = container.settings.retrieval.dense_candidates
    labels = tuple(scopes)
    allowed = {label: searcher.visible_documents(scopes[label]) for label in labels}
    masks = {label: lexical.mask_for(allowed[label]) for label in labels}
    routes: dict[str, object] = {}
    for label in labels:
        visible = int(np.count_nonzero(masks[label]))
        for depth in (n, 50):
            route, fetch = searcher.dense_route(visible, len(lexical), depth)
            routes[f"{label}, top-{depth}"] = {
                "visible chunks": visible,
                "route": route,
                "asks Chroma for": fetch,
            }
    vectors = [container.embedder.embed_query(searcher.dense_text(q)) for q in questions]
    times: dict[str, list[float]] = {}

    def timed(label: str, fn: Callable[[], object]) -> object:
        begin = time.perf_counter()
        value = fn()
        times.setdefault(label, []).append((time.perf_counter() - begin) * 1000)
        return value

    ten = allowed["10 % visible"]
    for number, vector in enumerate(vectors):
        for label in labels:
            if label == "3 % visible" and number >= FEW_QUESTIONS:
                continue
            timed(
                f"dense leg as searched (top-{n}), {label}",
                partial(searcher._dense, lexical, vector, n, allowed[label], masks[label]),
            )
        if not raw:
            continue
        for k in (50, 500, 1000):
            timed(f"Chroma top-{k}, unfiltered", partial(store.query, vector, k))
        if number < FILTERED_QUESTIONS:
            timed(
                "Chroma top-50, metadata filter (10 % caller's documents)",
                partial(store.query, vector, 50, ten),
            )
    result: dict[str, object] = {
        "routes": routes,
        "wall p50 / p95 ms": {
            label: [round(statistics.median(v), 1), round(pct(v, 95), 1)] for label, v in times.items()
        },
        "questions (filtered: first)": [len(vectors), FILTERED_QUESTIONS],
    }
    result["recall"] = dense_recall(container, vectors[:RECALL_QUESTIONS], allowed, masks, work, raw)
    return result


def dense_recall(
    container: Container,
    vectors: list[np.ndarray],
    allowed: dict[str, frozenset[str]],
    masks: dict[str, Any],
    work: Path,
    raw: bool = True,
) -> dict[str, object]:
    """Share of the exact top-k (over the caller's visible vectors) that each route finds, mean over
    ``vectors``; and how many visible chunks an unfiltered over-fetch leaves."""
    searcher, store, lexical = container.searcher, container.index.vectors, container.index.lexical
    n = container.settings.retrieval.dense_candidates
    base = np.load(work / "base_vectors.npy")
    size = len(lexical)
    doc_ids, _, chunk_ids = synthetic_layout(size)
    ten = allowed["10 % visible"]
    visible_rows = np.repeat(np.asarray([d in ten for d in doc_ids]), CHUNKS_PER_DOC)
    queries = np.asarray(vectors, dtype=np.float32)
    exact_ten, exact_all = exact_top(queries, base, size, [visible_rows, None], 50)

    def ranked(rows: np.ndarray, k: int) -> set[str]:
        return {chunk_ids[r] for r in rows[:k]}

    found: dict[str, list[float]] = {}
    kept: dict[str, list[int]] = {}
    for vector, rows_ten, rows_all in zip(vectors, exact_ten, exact_all, strict=True):
        truth_ten = {k: ranked(rows_ten, k) for k in (n, 50)}
        truth_all = {k: ranked(rows_all, k) for k in (n, 50)}

        def share(label: str, got: list[str], truth: set[str]) -> None:
            found.setdefault(label, []).append(len(set(got) & truth) / len(truth))

        for k in (n, 50):
            got = searcher._dense(lexical, vector, k, allowed["10 % visible"], masks["10 % visible"])
            share(f"10 %: the searcher's route at top-{k}", [h.chunk_id for h in got], truth_ten[k])
            got = searcher._dense(lexical, vector, k, allowed["100 % visible"], masks["100 % visible"])
            share(f"100 %: the searcher's route at top-{k}", [h.chunk_id for h in got], truth_all[k])
        if not raw:
            continue
        for k in (n, 50):
            share(
                f"100 %: Chroma unfiltered top-{k}",
                [h.chunk_id for h in store.query(vector, k)],
                truth_all[k],
            )
        for fetch in (300, 750, 1000):
            hits = [h.chunk_id for h in store.query(vector, fetch) if lexical.document_of(h.chunk_id) in ten]
            kept.setdefault(f"visible left of an unfiltered top-{fetch}", []).append(len(hits))
            for k in (n, 50):
                share(f"10 %: unfiltered top-{fetch}, visible kept, top-{k}", hits[:k], truth_ten[k])
        got_filtered = [h.chunk_id for h in store.query(vector, 50, ten)]
        share("10 %: Chroma metadata filter top-50", got_filtered, truth_ten[50])
    return {
        "recall (mean share of the exact top-k found)": {
            k: round(statistics.fmean(v), 3) for k, v in found.items()
        },
        "min over questions": {k: round(min(v), 3) for k, v in found.items()},
        "visible kept (p5 / median)": {
            k: [int(np.percentile(v, 5)), int(statistics.median(v))] for k, v in kept.items()
        },
        "questions": len(vectors),
    }


def measure_catch_up(container: Container, repeats: int) -> dict[str, object]:
    """BM25 catching up with a changed document, and the snapshot's save and load (no full read).

    A new version of one document (its 20 chunks copied) is made current and then taken back, each
    followed by the catch-up every process makes on its next search; then a copy of the index is
    saved to a scratch folder and loaded from it (resident memory before and peak after included).
    """
    index, sessions = container.index, container.sessions
    document_id, old_version, chunks = first_document_rows(sessions)
    forward: list[float] = []
    back: list[float] = []
    for _ in range(repeats):
        new_version = new_id()
        with transaction(sessions) as session:
            version_row = {
                "id": new_version,
                "document_id": document_id,
                "number": 2,
                "content_hash": new_version,
                "file_key": new_version,
                "format": "md",
                "size_bytes": 0,
                "chunk_count": len(chunks),
            }
            session.execute(insert(DocumentVersion), [version_row])
            session.execute(insert(Chunk), [{**c, "id": new_id(), "version_id": new_version} for c in chunks])
            session.get_one(Document, document_id).current_version_id = new_version
            chunk_store.bump_index_version(session)
        forward.append(_ms(index.refresh))
        with transaction(sessions) as session:
            session.get_one(Document, document_id).current_version_id = old_version
            chunk_store.delete_chunks_of_version(session, new_version)
            session.execute(delete(DocumentVersion).where(DocumentVersion.id == new_version))
            chunk_store.bump_index_version(session)
        back.append(_ms(index.refresh))
    scratch = Path(tempfile.mkdtemp(prefix="bm25-save-", dir=container.settings.data_dir))
    rss_before = rss_mb()
    copy = index.lexical.copy()
    save_ms = _ms(lambda: copy.save(scratch))
    peak_after_save = rss_mb("VmHWM")
    load_ms = _ms(lambda: LexicalIndex().load(scratch))
    shutil.rmtree(scratch, ignore_errors=True)
    return {
        "new version of one document (20 chunks) p50 ms": round(statistics.median(forward), 1),
        "version taken back p50 ms": round(statistics.median(back), 1),
        "snapshot save ms (compacts a copy)": round(save_ms),
        "snapshot load ms": round(load_ms),
        "rss before save / peak after save MiB": [round(rss_before), round(peak_after_save)],
    }


def _ms(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def measure_full_read(database: Path) -> dict[str, object]:
    """BM25 read from every chunk's terms in ``database`` into an empty index: seconds and memory (MiB)."""
    scratch = Path(tempfile.mkdtemp(prefix="jikji-full-read-"))
    url = f"sqlite:///{database.resolve()}"
    container = build_container(Settings(data_dir=scratch, database={"url": url}))  # type: ignore[arg-type]
    try:
        container.index.load_dictionary()  # Kiwi built first: its memory is not the read's
        before = rss_mb()
        started = time.perf_counter()
        container.index.refresh()
        return {
            "chunks": len(container.index.lexical),
            "seconds": round(time.perf_counter() - started, 1),
            "rss_before_mb": round(before),
            "rss_peak_mb": round(rss_mb("VmHWM")),
        }
    finally:
        container.close()
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000", help="chunk counts, comma-separated")
    parser.add_argument("--work", type=Path, default=None, help="built indexes are kept and reused here")
    parser.add_argument("--rounds", type=int, default=1, help="passes over the dev set per caller")
    parser.add_argument(
        "--lexical-only",
        action="store_true",
        help="build SQL and BM25 only (bulk, no vectors) and measure against an empty Chroma server "
        "(production's http mode): what fits the time at 1M chunks",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="a source tree of another release (e.g. `git archive` of the previous BM25 format) measured "
        "in the same run on the same SQL database, with its own BM25 snapshot (--lexical-only)",
    )
    parser.add_argument(
        "--full-read",
        type=Path,
        default=None,
        help="a built SQLite file: read every chunk's BM25 terms from it into an empty index (what a "
        "process without a usable snapshot does) and print the time and peak resident memory",
    )
    parser.add_argument(
        "--chroma-vectors",
        action="store_true",
        help="with --lexical-only: put one vector per SQL chunk into the Chroma server first (Jikji's "
        "collection layout, the chunks' ids; resumable) and measure the dense leg over them",
    )
    parser.add_argument("--build-only", action="store_true", help="build (and load vectors), do not measure")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="LABEL:KEY=VALUE[,KEY=VALUE]",
        help="with --lexical-only: measure this tree again, in the same run, with these environment "
        "settings (e.g. 'max fetch 1000:JIKJI_RETRIEVAL__DENSE_MAX_FETCH=1000')",
    )
    parser.add_argument("--measure", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--no-full-read", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--route-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--snapshot", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:  # the child process
        result = measure(
            args.measure, args.rounds, not args.no_full_read, work=args.work, raw_dense=not args.route_only
        )
        print("RESULT " + json.dumps(result), flush=True)
        return
    if args.full_read is not None:
        print(json.dumps(measure_full_read(args.full_read)), flush=True)
        return
    if args.snapshot is not None:  # a child building BM25 with its own source tree's LexicalIndex
        container = build_container(Settings(data_dir=args.snapshot))
        try:
            print(f"SNAPSHOT {build_snapshot(container, args.work, args.size):.1f}", flush=True)
        finally:
            container.close()
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="jikji-bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine()} (shared with other sessions: load average {os.getloadavg()[0]:.2f})")
    for size in (int(s) for s in args.sizes.split(",")):
        if args.lexical_only:
            run_lexical_only(
                work / f"{size}-lexical",
                size,
                args.rounds,
                args.baseline,
                vectors=args.chroma_vectors,
                build_only=args.build_only,
                variants=dict(parse_variant(v) for v in args.variant),
            )
            continue
        index_dir = work / f"{size}" / "index"
        built_s = ensure_built(index_dir, work / f"{size}", size)
        result, lines = run_child(Path.cwd(), ["--measure", str(index_dir), "--rounds", str(args.rounds)], {})
        disk = {
            "sqlite_mb": round(disk_mb(index_dir / "jikji.db") + disk_mb(index_dir / "jikji.db-wal"), 1),
            "chroma_mb": round(disk_mb(index_dir / "chroma"), 1),
            "bm25_mb": round(disk_mb(index_dir / "bm25"), 1),
        }
        print(f"\n== {size:,} chunks (built in {built_s:.0f} s; 0 = reused)")
        print(json.dumps(result | {"disk": disk}, ensure_ascii=False, indent=1))
        for line in lines:
            if not line.startswith("RESULT "):
                print("  " + line)


def parse_variant(text: str) -> tuple[str, dict[str, str]]:
    """``LABEL:KEY=VALUE,KEY=VALUE`` as (label, environment)."""
    label, _, pairs = text.partition(":")
    return label, dict(pair.split("=", 1) for pair in pairs.split(",") if pair)


def run_child(tree: Path, arguments: list[str], env: dict[str, str]) -> tuple[dict[str, object], list[str]]:
    """Run ``python -m bench.scale ARGUMENTS`` in source tree ``tree``; its RESULT and other lines."""
    child = subprocess.run(
        [sys.executable, "-m", "bench.scale", *arguments],
        capture_output=True,
        text=True,
        check=False,
        cwd=tree,
        env=os.environ | env | {"PYTHONPATH": str(tree)},
    )
    if child.returncode:
        print(child.stdout[-3000:], child.stderr[-3000:])
        raise SystemExit(child.returncode)
    lines = child.stdout.splitlines()
    found = next((line for line in lines if line.startswith("RESULT ")), None)
    return (json.loads(found[7:]) if found else {}), lines


def run_lexical_only(
    work: Path,
    size: int,
    rounds: int,
    baseline: Path | None,
    *,
    vectors: bool = False,
    build_only: bool = False,
    variants: dict[str, dict[str, str]] | None = None,
) -> None:
    """Build (bulk SQL, BM25 snapshot) and measure ``size`` chunks against a Chroma server.

    The API process's BM25, SQL, Kiwi and query encoder are real. Without ``vectors`` the Chroma
    server holds no vectors, so its HNSW search cost (in the server process, not the API's) is not
    measured; with it the server is filled with one vector per SQL chunk first (:func:`load_vectors`).
    """
    index_dir = work / "index"
    database = f"sqlite:///{(index_dir / 'jikji.db').resolve()}"
    chroma = ChromaServer(work / "chroma")
    (work / "chroma").mkdir(parents=True, exist_ok=True)
    chroma.start()
    env = {"JIKJI_CHROMA__MODE": "http", "JIKJI_CHROMA__PORT": str(chroma.port)}
    try:
        trees: dict[str, tuple[Path, Path, dict[str, str]]] = {"this tree": (Path.cwd(), index_dir, {})}
        for label, overrides in (variants or {}).items():
            trees[label] = (Path.cwd(), index_dir, overrides)
        if baseline is not None:
            trees["baseline"] = (baseline.resolve(), work / "baseline", {})
        with_env = env | {"JIKJI_DATABASE__URL": database}
        container = build_container(Settings(data_dir=index_dir))
        try:
            with container.sessions() as session:
                built = bool(session.scalar(select(func.count()).select_from(Chunk)))
            if not built:
                started = time.perf_counter()
                build_sql(container, work, size)
                print(f"SQL written in {time.perf_counter() - started:.0f} s", flush=True)
        finally:
            container.close()
        if vectors:
            built_vectors = load_vectors(index_dir, work, size, chroma)
            print("vectors: " + json.dumps(built_vectors, ensure_ascii=False), flush=True)
        if build_only:
            return
        if vectors:
            container = build_container(Settings(data_dir=index_dir))
            try:
                ensure_share_group(container, THREE_PERCENT, 33)
            finally:
                container.close()
        if vectors:  # the server loads a collection's HNSW on its first query after a start
            stop_gracefully(chroma)
            began = time.perf_counter()
            chroma.start()
            print(f"Chroma server restarted: heartbeat after {time.perf_counter() - began:.1f} s", flush=True)
            print(f"  first query answered after {first_query_s(index_dir, chroma):.1f} s more", flush=True)
        for label, (tree, data_dir, overrides) in trees.items():
            if not (data_dir / "bm25" / "jikji_manifest.json").exists():
                _, output = run_child(
                    tree, ["--snapshot", str(data_dir), "--size", str(size), "--work", str(work)], with_env
                )
                print(f"{label}: BM25 snapshot built in {output[-1].split()[-1]} s", flush=True)
            arguments = [
                "--measure",
                str(data_dir),
                "--rounds",
                str(rounds),
                "--no-full-read",
                "--work",
                str(work),
            ]
            if overrides:  # Chroma's raw figures do not depend on the settings: measured once
                arguments.append("--route-only")
            ef_search = overrides.get(EF_SEARCH)
            before = set_ef_search(index_dir, chroma, int(ef_search)) if ef_search else None
            try:
                result, lines = run_child(tree, arguments, with_env | overrides)
            finally:
                if before is not None:
                    set_ef_search(index_dir, chroma, before)
            disk = {
                "sqlite_mb": round(disk_mb(index_dir / "jikji.db") + disk_mb(index_dir / "jikji.db-wal"), 1),
                "bm25_mb": round(disk_mb(data_dir / "bm25"), 1),
                "chroma_mb": round(disk_mb(work / "chroma")) if vectors else "empty server (no vectors)",
            }
            result["chroma server memory after the run"] = process_memory_mb(server_pid(chroma))
            served = "vectors in Chroma" if vectors else "Chroma server empty"
            print(f"\n== {size:,} chunks, {label} ({tree}, {overrides or 'defaults'}), {served}")
            print(json.dumps(result | {"disk": disk}, ensure_ascii=False, indent=1))
            for line in lines:
                if not line.startswith("RESULT "):
                    print("  " + line)
    finally:
        stop_gracefully(chroma)


if __name__ == "__main__":
    main()
