"""Pooling several files' chunks into shared, length-sorted embedding batches."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ingest.batching import embed_pooled
from retrieval.embedder import HashingEmbedder
from retrieval.types import Vectors


class RecordingEmbedder(HashingEmbedder):
    """The hashing embedder, remembering the texts of every call."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list[str]] = []

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(list(texts))
        return super().embed_passages(texts)


GROUPS = [
    ["짧다", "조금 더 긴 문장입니다.", "가" * 40],
    [],
    ["중간 길이의 문장", "아주 아주 아주 아주 긴 문장이 여기에 있습니다 " * 3],
    ["x"],
]


def test_each_group_gets_the_vectors_it_would_get_alone() -> None:
    embedder = RecordingEmbedder()
    pooled = embed_pooled(embedder, GROUPS, slice_size=2)
    assert [len(v) for v in pooled] == [3, 0, 2, 1]
    for texts, vectors in zip(GROUPS, pooled, strict=True):
        if texts:
            np.testing.assert_array_equal(vectors, HashingEmbedder().embed_passages(texts))
    assert all(v.dtype == np.float32 for v in pooled)


def test_calls_are_slices_of_all_texts_longest_first() -> None:
    embedder = RecordingEmbedder()
    embed_pooled(embedder, GROUPS, slice_size=2)
    assert [len(call) for call in embedder.calls] == [2, 2, 2]
    lengths = [len(text) for call in embedder.calls for text in call]
    assert lengths == sorted(lengths, reverse=True)
    assert sorted(t for call in embedder.calls for t in call) == sorted(t for g in GROUPS for t in g)


def test_progress_reaches_one_after_the_last_slice() -> None:
    seen: list[float] = []
    embed_pooled(RecordingEmbedder(), GROUPS, seen.append, slice_size=4)
    assert seen == [4 / 6, 1.0]


def test_no_texts_at_all_gives_empty_arrays_of_the_model_width() -> None:
    embedder = RecordingEmbedder()
    pooled = embed_pooled(embedder, [[], []])
    assert [v.shape for v in pooled] == [(0, embedder.dimension), (0, embedder.dimension)]
    assert embedder.calls == []
