"""Helpers shared by the benchmarks: the machine, percentiles, a container with the samples in it."""

from __future__ import annotations

import os
import platform
import statistics
from pathlib import Path

from app.container import Container, build_container
from app.services.ingest_files import discover, ingest_paths
from core.settings import BUNDLED_DEV_SET, Settings
from retrieval.evaluation import EvalQuestion, load_jsonl

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "documents"
DEVSET = BUNDLED_DEV_SET


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


def median(values: list[float]) -> float:
    """The median of ``values``."""
    return statistics.median(values) if values else float("nan")


def samples_container(data_dir: Path, **settings: object) -> Container:
    """A container on ``data_dir`` with the sample documents ingested (once) as public documents."""
    container = build_container(Settings(data_dir=data_dir, **settings))  # type: ignore[arg-type]
    ingest_paths(container, discover([SAMPLES]), is_public=True)
    container.index.refresh()
    return container


def load_devset(path: Path = DEVSET) -> list[EvalQuestion]:
    """The Korean dev set: each question and its gold file names (the evaluation service's loader)."""
    return load_jsonl(path, None)
