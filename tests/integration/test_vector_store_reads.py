"""Reading stored vectors back from Chroma (the per-scope cache of the dense leg), on each store setting."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.vectors import GET_BATCH, open_vector_store
from tests.conftest import Store

pytestmark = pytest.mark.integration


def test_vectors_read_back_in_batches_are_float32_and_leave_out_unknown_ids(tmp_path, store: Store) -> None:
    vectors = open_vector_store(store.chroma, tmp_path)
    try:
        count = 2 * GET_BATCH + 7  # three reads, the last one short
        matrix = np.random.default_rng(3).normal(size=(count, 16)).astype(np.float32)
        ids = [f"chunk-{i:05d}" for i in range(count)]
        vectors.upsert(
            ids, matrix, [{"document_id": f"doc-{i // 20}", "version_id": "v"} for i in range(count)]
        )
        wanted = ids[::-1] + ["no-such-chunk"] + [f"missing-{i}" for i in range(GET_BATCH)]
        found, stored = vectors.get_vectors(wanted)
        assert sorted(found) == ids
        assert stored.dtype == np.float32
        assert stored.shape == (count, 16)
        by_id = dict(zip(found, stored, strict=True))
        np.testing.assert_allclose(np.asarray([by_id[i] for i in ids]), matrix, rtol=1e-6)
        assert vectors.get_vectors([f"missing-{i}" for i in range(3)])[0] == []
    finally:
        vectors.close()
