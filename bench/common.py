"""Helpers shared by the benchmarks: the machine, percentiles, a container with the samples in it."""

from __future__ import annotations

import json
import os
import platform
import statistics
from pathlib import Path
from typing import Any

from app.container import Container, build_container
from app.ingest_files import discover, ingest_paths
from core.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "documents"
DEVSET = REPO / "bench" / "data" / "devset_ko.jsonl"


def machine() -> str:
    """One line describing this machine (CPU model, cores, memory, Python)."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except OSError:
        mem_kb = 0
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem_kb / 1024 / 1024:.0f} GiB, Python {platform.python_version()}"
    )


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (0-100) of ``values``."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def median(values: list[float]) -> float:
    """The median of ``values``."""
    return statistics.median(values) if values else float("nan")


def samples_container(data_dir: Path, **settings: object) -> Container:
    """A container on ``data_dir`` with the sample documents ingested (once) as public documents."""
    container = build_container(Settings(data_dir=data_dir, **settings))  # type: ignore[arg-type]
    ingest_paths(container, discover([SAMPLES]), is_public=True, groups=())
    container.index.refresh()
    return container


def load_devset(path: Path = DEVSET) -> list[dict[str, Any]]:
    """The Korean dev set: question, gold file names, kind."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
