"""Retrieval: the index (SQL chunk store, Chroma vectors, Kiwi-BM25) and hybrid search over it."""
