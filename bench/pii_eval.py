"""Evaluate PII detection on the labelled set and measure masking throughput.

Usage: ``python bench/pii_eval.py [--cases tests/data/pii_cases.jsonl] [--size-kb 300]``

Prints a precision/recall/F1 table per kind over the labelled cases, then the throughput of
``mask_pii`` (one call over the whole corpus) and of ``StreamMasker`` (fed in small chunks, as
an LLM stream would be) on a few hundred KB of synthetic Korean business text.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from ingest.pii import StreamMasker, find_pii, format_score_table, load_cases, mask_pii, score_cases

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CASES = ROOT / "tests" / "data" / "pii_cases.jsonl"
STREAM_CHUNK = 8

FILLER = (
    "2024년 1분기 영업 실적 보고서를 다음과 같이 정리하였습니다.",
    "근로기준법 제17조에 따라 근로계약서를 서면으로 교부하여야 한다.",
    "회의는 2024-03-15 14:00 본사 12층 대회의실에서 진행됩니다.",
    "계약 금액은 1,250,000,000원이며 부가가치세는 별도입니다.",
    "시스템 버전 v3.2.1 배포 이후 응답 시간이 18% 개선되었습니다.",
    "주문번호 2024031500012345 건은 배송이 완료되었습니다.",
    "자세한 사항은 고객센터 1588-1234 로 문의하시기 바랍니다.",
    "신규 입사자 교육은 매월 첫째 주 월요일 오전 9시에 시작합니다.",
    "인사팀은 개인정보 보호를 위해 문서 보관 기간을 3년으로 정하였다.",
    "본 문서는 대외비이며 무단 배포를 금지합니다.",
)


def build_corpus(size_bytes: int, seed: int = 7) -> str:
    """Mix labelled case texts and filler prose into about ``size_bytes`` of UTF-8 text."""
    rng = random.Random(seed)
    sources = [case.text for case in load_cases(DEFAULT_CASES)] + list(FILLER)
    parts: list[str] = []
    total = 0
    while total < size_bytes:
        sentence = rng.choice(sources)
        parts.append(sentence)
        total += len(sentence.encode("utf-8")) + 1
    return "\n".join(parts)


def time_mask(corpus: str) -> tuple[float, int]:
    """Seconds for one ``mask_pii`` call over ``corpus`` and the number of matches."""
    start = time.perf_counter()
    mask_pii(corpus)
    elapsed = time.perf_counter() - start
    return elapsed, len(find_pii(corpus))


def time_stream(corpus: str, chunk: int) -> tuple[float, bool]:
    """Seconds to stream ``corpus`` through ``StreamMasker`` and whether it equals ``mask_pii``."""
    masker = StreamMasker()
    start = time.perf_counter()
    out = [masker.feed(corpus[i : i + chunk]) for i in range(0, len(corpus), chunk)]
    out.append(masker.flush())
    elapsed = time.perf_counter() - start
    return elapsed, "".join(out) == mask_pii(corpus)


def main() -> None:
    """Print the per-kind table and throughput figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    parser.add_argument("--size-kb", type=int, default=300, help="corpus size in KB of UTF-8 text")
    args = parser.parse_args()

    cases = load_cases(args.cases)
    print(f"labelled cases: {len(cases)} ({args.cases})")
    print(format_score_table(score_cases(cases)))

    corpus = build_corpus(args.size_kb * 1024)
    size_kb = len(corpus.encode("utf-8")) / 1024
    mask_s, matches = time_mask(corpus)
    stream_s, same = time_stream(corpus, STREAM_CHUNK)
    print()
    print(f"corpus: {len(corpus):,} chars ({size_kb:,.0f} KB UTF-8), {matches:,} matches")
    print(f"mask_pii:     {len(corpus) / mask_s:>12,.0f} chars/s ({mask_s * 1000:.1f} ms)")
    print(
        f"StreamMasker: {len(corpus) / stream_s:>12,.0f} chars/s ({stream_s * 1000:.1f} ms, "
        f"{STREAM_CHUNK}-char chunks, output {'==' if same else '!='} mask_pii)"
    )


if __name__ == "__main__":
    main()
