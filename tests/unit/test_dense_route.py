"""Which route the dense leg takes for a caller, by how much of the collection they see."""

from __future__ import annotations

from core.settings import RetrievalSettings
from retrieval.search import dense_route

MILLION = 1_000_000


def test_a_caller_who_sees_little_is_searched_exactly_over_their_vectors() -> None:
    settings = RetrievalSettings()
    assert dense_route(settings, 5_000, MILLION, settings.dense_candidates) == ("exact", 5_000)


def test_a_caller_who_sees_a_tenth_of_a_million_chunks_overfetches_unfiltered() -> None:
    settings = RetrievalSettings()
    # 20 candidates x 1.5 / 0.1: Chroma's unfiltered top-300, never its metadata filter.
    assert dense_route(settings, 100_000, MILLION, settings.dense_candidates) == ("overfetch", 300)


def test_a_caller_who_sees_everything_overfetches_a_little() -> None:
    settings = RetrievalSettings()
    assert dense_route(settings, MILLION, MILLION, settings.dense_candidates) == ("overfetch", 30)


def test_an_overfetch_beyond_the_limit_takes_chromas_filter() -> None:
    settings = RetrievalSettings(dense_max_fetch=200)
    assert dense_route(settings, 100_000, MILLION, 20) == ("filter", 20)


def test_no_caller_of_a_million_chunks_falls_on_chromas_filter_at_the_defaults() -> None:
    """Between the exact cache (≤ 20,000 visible) and the over-fetch no visibility takes Chroma's
    metadata filter (0.7-0.8 s at 1M vectors); with a largest fetch of 500 a caller who sees 3 % did."""
    settings = RetrievalSettings()
    assert dense_route(settings, 30_000, MILLION, settings.dense_candidates) == ("overfetch", 1000)
    for visible in range(settings.dense_exact_max + 1, MILLION, 1_000):
        assert dense_route(settings, visible, MILLION, settings.dense_candidates)[0] == "overfetch"
