"""The BM25 index: bm25s's scores, and in-place changes that equal a fresh build."""

from __future__ import annotations

import random
from pathlib import Path

import bm25s
import numpy as np
import pytest

from retrieval import lexical as lexical_module
from retrieval.lexical import LexicalIndex

VOCABULARY = [f"어휘{i}" for i in range(60)] + ["규정", "휴가", "출장", "vpn", "2026"]


def corpus(seed: int, n: int, prefix: str = "c") -> tuple[list[str], list[list[str]], list[str]]:
    """Chunk ids, terms (with repeats, some empty) and documents (about four chunks each)."""
    rng = random.Random(seed)
    ids = [f"{prefix}{seed}-{i}" for i in range(n)]
    tokens = [rng.choices(VOCABULARY, k=rng.choice([0, 3, 8, 20, 40])) for _ in range(n)]
    documents = [f"d{seed}-{i // 4}" for i in range(n)]
    return ids, tokens, documents


def by_id(index: LexicalIndex, query: list[str]) -> dict[str, float]:
    scores = index.scores(query)
    return {chunk_id: float(scores[index.row_of(chunk_id)]) for chunk_id in index.ids}


QUERIES = [["규정"], ["휴가", "출장", "휴가"], ["vpn", "어휘3", "없는말"], ["2026", "어휘59"]]


def test_scores_equal_bm25s_lucene() -> None:
    ids, tokens, documents = corpus(1, 200)
    tokens = [terms or ["어휘0"] for terms in tokens]  # bm25s cannot index an empty document
    ours = LexicalIndex(1.2, 0.75)
    ours.build(ids, tokens, documents)
    theirs = bm25s.BM25(k1=1.2, b=0.75)
    theirs.index(tokens, show_progress=False)
    for query in QUERIES:
        known = [t for t in query if t in theirs.vocab_dict]
        np.testing.assert_allclose(ours.scores(query), theirs.get_scores(known), rtol=1e-5, atol=1e-6)


def test_changes_in_place_equal_a_fresh_build() -> None:
    ids, tokens, documents = corpus(2, 120)
    index = LexicalIndex()
    index.build(ids, tokens, documents)
    final = dict(zip(ids, zip(tokens, documents, strict=True), strict=True))
    rng = random.Random(7)
    for step in range(12):
        gone = {d for d in set(documents) if rng.random() < 0.1}
        index.remove_documents(sorted(gone))
        final = {i: v for i, v in final.items() if v[1] not in gone}
        new_ids, new_tokens, new_documents = corpus(100 + step, rng.choice([1, 9, 30]), prefix="n")
        index.add(new_ids, new_tokens, new_documents)
        final.update(zip(new_ids, zip(new_tokens, new_documents, strict=True), strict=True))
    fresh = LexicalIndex()
    fresh.build(list(final), [v[0] for v in final.values()], [v[1] for v in final.values()])
    assert sorted(index.ids) == sorted(final) and len(index) == len(final)
    for query in QUERIES:
        ours, expected = by_id(index, query), by_id(fresh, query)
        assert ours.keys() == expected.keys()
        for chunk_id, score in expected.items():
            assert ours[chunk_id] == pytest.approx(score, rel=1e-5, abs=1e-6)


def test_compaction_keeps_scores_and_drops_dead_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lexical_module, "MAX_SEGMENTS", 100)
    monkeypatch.setattr(lexical_module, "MAX_DEAD_SHARE", 1.0)
    index = LexicalIndex()
    for seed in range(5):
        index.add(*corpus(seed, 20))
    index.remove_documents(["d0-0", "d3-2"])
    before = {tuple(q): by_id(index, q) for q in QUERIES}
    assert len(index._ids) == 100 and len(index) == 92
    index.compact()
    assert len(index._ids) == 92 and len(index._segments) == 1
    for query in QUERIES:
        assert by_id(index, query) == pytest.approx(before[tuple(query)])


def test_removed_chunks_never_come_back() -> None:
    ids, tokens, documents = corpus(3, 40)
    index = LexicalIndex()
    index.build(ids, [[*terms, "규정"] for terms in tokens], documents)
    index.remove_documents(["d3-0"])
    index.remove_ids([ids[10]])
    removed = {*ids[:4], ids[10]}
    hits = index.search(["규정"], 100)
    assert len(hits) == 35 and not removed & {h.chunk_id for h in hits}
    assert all(index.document_of(chunk_id) is None for chunk_id in removed)
    mask = index.mask_for(frozenset(documents))
    assert int(mask.sum()) == 35 and not removed & set(index.ids_where(mask))


def test_replacing_a_chunk_keeps_one_row_for_it() -> None:
    index = LexicalIndex()
    index.build(["a", "b"], [["휴가"], ["출장"]], ["d", "d"])
    index.add(["a"], [["출장", "출장"]], ["d"])
    assert sorted(index.ids) == ["a", "b"]
    assert [h.chunk_id for h in index.search(["휴가"], 5)] == []
    assert next(h.chunk_id for h in index.search(["출장"], 5)) == "a"


def test_a_copy_changes_alone() -> None:
    index = LexicalIndex()
    index.build(*corpus(4, 16))
    twin = index.copy()
    twin.remove_documents(["d4-0"])
    twin.add(["x"], [["규정"]], ["dx"])
    assert len(index) == 16 and len(twin) == 13
    assert index.document_of("x") is None and index.document_of("c4-0") == "d4-0"


def test_save_and_load(tmp_path: Path) -> None:
    index = LexicalIndex(1.5, 0.6)
    index.build(*corpus(5, 30), version=7)
    index.add(*corpus(6, 8))
    index.remove_documents(["d5-1"])
    index.document_versions = {"d5-0": "v1"}
    index.dictionary_version = 3
    expected = {tuple(q): by_id(index, q) for q in QUERIES}
    index.save(tmp_path)
    index.save(tmp_path)  # a second save replaces the first one's files
    assert len(list(tmp_path.glob("snapshot-*"))) == 1
    loaded = LexicalIndex(1.5, 0.6)  # scores are computed when searching: settings' k1 and b apply
    assert loaded.load(tmp_path)
    assert (loaded.version, loaded.dictionary_version) == (7, 3)
    assert loaded.document_versions == {"d5-0": "v1"}
    for query in QUERIES:
        assert by_id(loaded, query) == pytest.approx(expected[tuple(query)])


def test_an_old_or_broken_save_is_not_loaded(tmp_path: Path) -> None:
    (tmp_path / lexical_module.MANIFEST).write_text('{"version": 3, "ids": []}', encoding="utf-8")
    assert not LexicalIndex().load(tmp_path)
    (tmp_path / lexical_module.MANIFEST).write_text("{not json", encoding="utf-8")
    assert not LexicalIndex().load(tmp_path)
    assert not LexicalIndex().load(tmp_path / "missing")


def test_small_segments_are_merged_without_touching_the_large_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lexical_module, "MAX_SEGMENTS", 3)
    index = LexicalIndex()
    index.build(*corpus(8, 400))
    head = index._segments[0]
    final = dict(zip(index.ids, [None] * 400, strict=True))
    for step in range(20):
        ids, tokens, documents = corpus(200 + step, 1, prefix="s")
        index.add(ids, tokens, documents)
        final[ids[0]] = None
        assert len(index._segments) <= 4
    assert index._segments[0] is head, "the large segment was not rewritten"
    index.remove_documents(["d8-0"])
    rebuilt = index.copy()
    rebuilt.compact()
    for query in QUERIES:
        assert by_id(index, query) == pytest.approx(by_id(rebuilt, query))
    assert len(index) == 416


def test_repeated_ids_count_once() -> None:
    index = LexicalIndex()
    index.build(["a", "b", "c"], [["휴가"], ["휴가"], ["출장"]], ["d", "d", "e"])
    index.remove_ids(["a", "a"])
    fresh = LexicalIndex()
    fresh.build(["b", "c"], [["휴가"], ["출장"]], ["d", "e"])
    assert len(index) == 2 and by_id(index, ["휴가", "출장"]) == pytest.approx(by_id(fresh, ["휴가", "출장"]))
    index.add(["x", "x"], [["규정"], ["출장", "출장"]], ["f", "f"])
    assert sorted(index.ids) == ["b", "c", "x"] and len(index) == 3
    assert next(h.chunk_id for h in index.search(["출장"], 5)) == "x"
    assert [h.chunk_id for h in index.search(["규정"], 5)] == []


def test_a_damaged_save_is_not_loaded(tmp_path: Path) -> None:
    index = LexicalIndex()
    index.build(*corpus(9, 10))
    index.save(tmp_path)
    (postings,) = tmp_path.glob("snapshot-*/rows.npy")
    postings.write_bytes(postings.read_bytes()[:100])  # cut short, as by a power loss
    assert not LexicalIndex().load(tmp_path)
    postings.write_bytes(b"")
    assert not LexicalIndex().load(tmp_path)


def test_concurrent_saves_never_leave_a_manifest_without_its_postings(tmp_path: Path) -> None:
    import threading

    indexes = []
    for seed in range(4):
        index = LexicalIndex()
        index.build(*corpus(seed, 50), version=seed)
        indexes.append(index)
    failures: list[str] = []

    def save_and_load(index: LexicalIndex) -> None:
        for _ in range(10):
            index.copy().save(tmp_path)
            if not LexicalIndex().load(tmp_path):
                failures.append("load failed")

    threads = [threading.Thread(target=save_and_load, args=(index,)) for index in indexes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(list(tmp_path.glob("snapshot-*"))) == 1
