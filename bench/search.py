"""Search quality and latency on the sample corpus with the Korean dev set (embedded defaults).

Usage: python -m bench.search [--data-dir DIR]
Prints R@1, R@5, MRR@10 by gold file and search latency p50/p95 (query embedding included).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.common import load_devset, machine, median, samples_container
from retrieval.evaluation import percentile as pct
from retrieval.types import AccessScope


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="jikji-bench-search-"))
    container = samples_container(data_dir)
    searcher = container.searcher
    devset = load_devset()
    searcher.search("워밍업", AccessScope.admin())
    latencies, ranks = [], []
    for item in devset:
        started = time.perf_counter()
        hits = searcher.search(item.question, AccessScope.admin(), k=10)
        latencies.append((time.perf_counter() - started) * 1000)
        gold = set(item.gold)
        files = [hit.display_name for hit in hits]
        ranks.append(next((i for i, name in enumerate(files, start=1) if name in gold), None))
    n = len(ranks)
    r1 = sum(1 for r in ranks if r == 1) / n
    r5 = sum(1 for r in ranks if r and r <= 5) / n
    mrr = sum(1 / r for r in ranks if r) / n
    print(f"machine: {machine()}")
    print(f"dev set: {n} questions over {len({h for i in devset for h in i.gold})} files")
    print(f"R@1 {r1:.3f}  R@5 {r5:.3f}  MRR@10 {mrr:.3f}")
    print(f"search latency ms: p50 {median(latencies):.1f}  p95 {pct(latencies, 95):.1f}")


if __name__ == "__main__":
    main()
