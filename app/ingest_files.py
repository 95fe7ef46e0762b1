"""Ingesting files from disk (the CLI's ``ingest``): walk paths, report progress, summarise."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ingest.detect import EXTENSIONS
from ingest.errors import IngestError
from ingest.pipeline import IngestOutcome, IngestPipeline, IngestRequest


@dataclass
class IngestSummary:
    """Counts of what a batch ingestion did."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0

    @property
    def total(self) -> int:
        """Files processed."""
        return self.added + self.updated + self.unchanged + len(self.failed)


def discover(paths: Iterable[Path]) -> list[Path]:
    """Supported files under the given files/directories, sorted, hidden files skipped."""
    found: list[Path] = []
    for path in paths:
        candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
        found += [
            p
            for p in candidates
            if p.is_file()
            and p.suffix.lower() in EXTENSIONS
            and not any(part.startswith(".") for part in p.parts[-1:])
        ]
    return found


def ingest_paths(
    pipeline: IngestPipeline,
    files: list[Path],
    *,
    is_public: bool,
    groups: tuple[str, ...],
    on_file: Callable[[int, int, Path, IngestOutcome | None, str | None, float], None] | None = None,
) -> IngestSummary:
    """Ingest each file (one failure does not stop the rest) and summarise."""
    summary = IngestSummary()
    started = time.perf_counter()
    for i, path in enumerate(files, start=1):
        t0 = time.perf_counter()
        outcome, error = None, None
        try:
            request = IngestRequest(
                data=path.read_bytes(),
                filename=path.name,
                source_key=str(path.resolve()),
                is_public=is_public,
                group_names=groups,
            )
            outcome = pipeline.ingest(request)
        except (IngestError, OSError) as exc:
            error = str(exc)
            summary.failed.append((str(path), error))
        if outcome is not None:
            setattr(summary, outcome.status, getattr(summary, outcome.status) + 1)
            summary.chunks += outcome.chunk_count if outcome.status != "unchanged" else 0
        if on_file is not None:
            on_file(i, len(files), path, outcome, error, time.perf_counter() - t0)
    summary.seconds = time.perf_counter() - started
    return summary
