"""Embedding the chunks of several files together, in length-sorted batches.

One file gives the model a few dozen chunks of mixed length: short heading-led chunks padded to the
longest in their batch, and a part-filled last batch. Pooling the chunks of every file a worker has
in hand and sorting them by length fills each batch with texts of nearly equal length, as the
model gets when it embeds a whole corpus in one call. On the 2-core bench machine, under load at
batch 64, this cut the embedding CPU time of the sample corpus by about a fifth; idle at batch 16
the difference was within noise (bench/README.md, "Ingestion throughput").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from retrieval.types import Vectors

SLICE = 128  # texts per embedding call between progress reports (a multiple of the usual batch sizes)


class PassageEmbedder(Protocol):
    """The part of :class:`retrieval.embedder.Embedder` pooling needs."""

    dimension: int

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Vectors of passages, one row each."""
        ...


def embed_pooled(
    embedder: PassageEmbedder,
    groups: Sequence[Sequence[str]],
    progress: Callable[[float], None] | None = None,
    slice_size: int = SLICE,
) -> list[Vectors]:
    """The vectors of each group of texts, computed over all groups in length-sorted slices.

    Row ``i`` of the ``g``-th result is the vector of ``groups[g][i]``, exactly as if each group had
    been embedded alone; only the batching differs. ``progress`` gets the fraction done after each
    slice.
    """
    owners = [(g, i) for g, texts in enumerate(groups) for i in range(len(texts))]
    texts = [groups[g][i] for g, i in owners]
    order = sorted(range(len(texts)), key=lambda k: len(texts[k]), reverse=True)
    results: list[Vectors] = []
    for start in range(0, len(order), slice_size):
        picked = order[start : start + slice_size]
        vectors = np.asarray(embedder.embed_passages([texts[k] for k in picked]), dtype=np.float32)
        if not results:  # the model tells the width
            results = [np.zeros((len(group), vectors.shape[1]), np.float32) for group in groups]
        for k, vector in zip(picked, vectors, strict=True):
            g, i = owners[k]
            results[g][i] = vector
        if progress is not None:
            progress(min(1.0, (start + len(picked)) / len(order)))
    return results or [np.zeros((len(group), embedder.dimension), np.float32) for group in groups]
