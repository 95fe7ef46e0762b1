"""Faithfulness check: precision and recall of "unsupported figure" detection, and its cost.

Usage: python -m bench.faithfulness [--cases FILE] [--rounds N] [--show-errors]
Each case of ``bench/data/faithfulness_cases.jsonl`` holds an answer (with ``[n]`` markers, or none),
the four sources offered (chunks of the sample documents) and the answer's surfaces that are not
in its cited sources (labelled by construction: a changed figure, or a sentence citing the wrong
source). A reported unsupported figure is a true positive when its surface is labelled. Latency is
one ``check_answer`` call (indexing the sources included), wall-clock and CPU, over all cases.
Target: < 5 ms per answer.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from bench.common import machine, median
from llm.faithfulness import check_answer
from retrieval.evaluation import percentile

CASES = Path(__file__).resolve().parent / "data" / "faithfulness_cases.jsonl"


def load_cases(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def score(cases: list[dict[str, Any]], show_errors: bool) -> tuple[int, int, int]:
    tp = fp = fn = 0
    for case in cases:
        found = [c.figure.text for c in check_answer(case["answer"], case["sources"]).unsupported]
        expected = list(case["unsupported"])
        hits = [s for s in found if s in expected]
        tp += len(hits)
        fp += len(found) - len(hits)
        fn += len([s for s in expected if s not in found])
        if show_errors and sorted(found) != sorted(expected):
            print(f"  {case['id']}: reported {found}, labelled {expected}\n    {case['answer']}")
    return tp, fp, fn


def timings(cases: list[dict[str, Any]], rounds: int) -> tuple[list[float], list[float]]:
    wall: list[float] = []
    cpu: list[float] = []
    for case in cases:  # warm-up
        check_answer(case["answer"], case["sources"])
    for _ in range(rounds):
        for case in cases:
            w, c = time.perf_counter(), time.process_time()
            check_answer(case["answer"], case["sources"])
            wall.append((time.perf_counter() - w) * 1000)
            cpu.append((time.process_time() - c) * 1000)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=Path, default=CASES)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--show-errors", action="store_true")
    args = parser.parse_args()
    cases = load_cases(args.cases)
    tp, fp, fn = score(cases, args.show_errors)
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    wall, cpu = timings(cases, args.rounds)
    answer_chars = sum(len(c["answer"]) for c in cases) / len(cases)
    source_chars = sum(len(s) for c in cases for s in c["sources"]) / len(cases)
    labelled = sum(len(c["unsupported"]) for c in cases)
    print(f"machine: {machine()}")
    print(
        f"cases: {len(cases)} ({sum(bool(c['unsupported']) for c in cases)} with unsupported figures, "
        f"{labelled} labelled surfaces); answer {answer_chars:.0f} chars, sources {source_chars:.0f} chars per case"
    )
    print(
        f"unsupported-figure detection: precision {precision:.3f} recall {recall:.3f} (tp {tp}, fp {fp}, fn {fn})"
    )
    print(
        f"ms per answer ({len(wall)} checks): wall p50 {median(wall):.2f} p95 {percentile(wall, 95):.2f}; "
        f"CPU p50 {median(cpu):.2f} p95 {percentile(cpu, 95):.2f}"
    )


if __name__ == "__main__":
    main()
