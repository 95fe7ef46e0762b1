"""``/api/v1/eval``: run the retrieval dev set against the current index, and list past runs (admin).

A run searches every question of ``bench/data/devset_ko.jsonl`` with an admin scope through the
live searcher, matches the ranked documents against the question's gold files by file name, and
scores the rankings with :mod:`retrieval.evaluation` (R@k, MRR@10, nDCG@10, latency). Runs execute
one at a time in a background thread; each is a JSON file under ``<data_dir>/eval`` (no schema).
Questions whose gold files are not in the index are left out and counted in ``meta``.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from app.api.deps import AdminPrincipal, ContainerDep
from app.container import Container
from app.evaluate import MIN_SEARCH_DEPTH, _search_all
from app.services.errors import AppError, conflict, not_found
from core.models import Document
from retrieval.evaluation import (
    DatasetError,
    EvalReport,
    evaluate,
    load_jsonl,
    normalize_key,
    restrict_to_corpus,
)

router = APIRouter(prefix="/api/v1/eval", tags=["evaluation"])
_log = logging.getLogger(__name__)

DEV_SET = Path(__file__).resolve().parents[2] / "bench" / "data" / "devset_ko.jsonl"
RunStatus = Literal["running", "succeeded", "failed"]


class EvalRequest(BaseModel):
    """Options of a retrieval evaluation run."""

    limit: int | None = Field(
        default=None, ge=1, le=10000, description="Evaluate only the first N questions."
    )


class EvalRun(BaseModel):
    """One evaluation run: its state and, once finished, its metrics."""

    id: str
    status: RunStatus
    dataset: str = Field(description="The question set's file name.")
    created_at: datetime
    finished_at: datetime | None = None
    created_by: str | None = Field(default=None, description="User name of the admin who started it.")
    n_questions: int = Field(default=0, description="Questions scored (those with a gold file in the index).")
    metrics: dict[str, float] = Field(default_factory=dict, description="R@1, R@5, R@10, MRR@10, nDCG@10.")
    latency_ms: dict[str, float] = Field(default_factory=dict, description="Search latency p50 and p95.")
    meta: dict[str, Any] = Field(default_factory=dict, description="Index size, questions left out, weights.")
    error_ko: str | None = None
    error_en: str | None = None


class EvalRunDetail(EvalRun):
    """A run with each question's outcome: rank of its first gold document and the top documents."""

    questions: list[dict[str, Any]] = Field(default_factory=list)


class EvalRunList(BaseModel):
    """Runs, newest first."""

    total: int
    items: list[EvalRun]


class EvalStarted(BaseModel):
    """The run just started (``status: running``); poll ``GET /api/v1/eval/runs``."""

    run: EvalRun


def _now() -> datetime:
    return datetime.now(UTC)


class EvalRunner:
    """Runs evaluations one at a time in a background thread and keeps each run as a JSON file."""

    def __init__(self, directory: Path, dataset: Path = DEV_SET) -> None:
        self.directory = directory
        self.dataset = dataset
        self._lock = threading.Lock()
        self._active: str | None = None
        self._thread: threading.Thread | None = None

    def start(self, container: Container, created_by: str, limit: int | None) -> dict[str, Any]:
        """Record a new run and start it; 409 while another run is still going."""
        if not self.dataset.is_file():
            raise AppError(
                422,
                "invalid_request",
                f"평가 질문 세트를 찾을 수 없습니다: {self.dataset.name}",
                f"The evaluation question set is missing: {self.dataset.name}",
            )
        with self._lock:
            if self._active is not None:
                raise conflict("이미 평가가 진행 중입니다.", "An evaluation is already running.")
            run: dict[str, Any] = {
                "id": uuid.uuid4().hex,
                "status": "running",
                "dataset": self.dataset.name,
                "created_at": _now().isoformat(),
                "created_by": created_by,
            }
            self._write(run)
            self._active = run["id"]
            self._thread = threading.Thread(  # the thread gets its own copy to fill in
                target=self._run, args=(container, dict(run), limit), name="jikji-eval", daemon=True
            )
            self._thread.start()
        return run

    def wait(self, timeout_s: float) -> None:
        """Wait for the run in progress, if any (shutdown and tests)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)

    def _run(self, container: Container, run: dict[str, Any], limit: int | None) -> None:
        try:
            report = evaluate_index(container, self.dataset, limit)
            run.update(_report_fields(report), status="succeeded")
        except DatasetError as exc:
            run.update(status="failed", error_ko=f"평가 데이터 오류: {exc}", error_en=f"Dataset error: {exc}")
        except Exception as exc:  # noqa: BLE001 — a failed run must be recorded, not lost in a thread
            _log.exception("retrieval evaluation failed")
            run.update(
                status="failed",
                error_ko=f"평가 중 오류가 발생했습니다: {type(exc).__name__}",
                error_en=f"The evaluation failed: {type(exc).__name__}",
            )
        finally:
            run["finished_at"] = _now().isoformat()
            self._write(run)
            with self._lock:
                self._active = None

    def runs(self) -> list[dict[str, Any]]:
        """Every stored run, newest first; a run left ``running`` by a stopped server shows as failed."""
        if not self.directory.is_dir():
            return []
        runs = [self._read(path) for path in self.directory.glob("*.json")]
        return sorted((r for r in runs if r), key=lambda r: str(r.get("created_at")), reverse=True)

    def get(self, run_id: str) -> dict[str, Any]:
        """One run with per-question results (404 when unknown)."""
        path = self.directory / f"{run_id}.json"
        run = self._read(path) if run_id.isalnum() and path.is_file() else None
        if run is None:
            raise not_found("평가 실행", "evaluation run")
        return run

    def _read(self, path: Path) -> dict[str, Any] | None:
        try:
            run: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if run.get("status") == "running" and run.get("id") != self._active:
            run.update(
                status="failed",
                error_ko="서버가 다시 시작되어 평가가 중단되었습니다.",
                error_en="The server restarted before the evaluation finished.",
            )
        return run

    def _write(self, run: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / f"{run['id']}.json"
        temporary = target.with_suffix(".tmp")
        temporary.write_text(json.dumps(run, ensure_ascii=False, indent=1), encoding="utf-8")
        temporary.replace(target)


def evaluate_index(container: Container, dataset: Path, limit: int | None) -> EvalReport:
    """Score the live index on ``dataset`` (JSONL with ``gold_files``), matching documents by file name."""
    with container.sessions() as session:
        keys = {
            doc_id: normalize_key(name)
            for doc_id, name in session.execute(select(Document.id, Document.display_name))
        }
    restricted = restrict_to_corpus(load_jsonl(dataset, None), keys.values())
    kept = restricted.kept[:limit] if limit else restricted.kept
    if not kept:
        msg = "no question has a gold document in the current index (upload the sample documents first)"
        raise DatasetError(msg)
    ranked, latencies = _search_all(container, kept, keys, MIN_SEARCH_DEPTH)
    retrieval = container.settings.retrieval
    meta = {
        "documents": len(keys),
        "questions_total": len(restricted.kept) + len(restricted.dropped),
        "questions_without_gold_in_index": len(restricted.dropped),
        "search_depth_chunks": MIN_SEARCH_DEPTH,
        "embedder": container.settings.embedding.model,
        "lexical_weight": retrieval.lexical_weight,
        "dense_weight": retrieval.dense_weight,
    }
    return evaluate(ranked, kept, latencies, label="current-index", meta=meta)


def _report_fields(report: EvalReport) -> dict[str, Any]:
    data = report.to_dict()
    return {
        "n_questions": data["n_questions"],
        "metrics": data["metrics"],
        "latency_ms": data["latency_ms"],
        "meta": data["meta"],
        "questions": data["questions"],
    }


def get_runner(request: Request) -> EvalRunner:
    """The application's evaluation runner."""
    runner: EvalRunner = request.app.state.eval_runner
    return runner


@router.post("/retrieval", response_model=EvalStarted, status_code=202)
def start_retrieval_eval(
    body: EvalRequest, request: Request, admin: AdminPrincipal, container: ContainerDep
) -> dict[str, Any]:
    """Run the retrieval dev set against the current index in the background (one run at a time)."""
    return {"run": get_runner(request).start(container, admin.username, body.limit)}


@router.get("/runs", response_model=EvalRunList)
def list_runs(
    request: Request, _admin: AdminPrincipal, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> dict[str, Any]:
    """Past and running evaluations, newest first (without per-question results)."""
    runs = get_runner(request).runs()
    return {"total": len(runs), "items": runs[:limit]}


@router.get("/runs/{run_id}", response_model=EvalRunDetail)
def get_run(run_id: str, request: Request, _admin: AdminPrincipal) -> dict[str, Any]:
    """One run with each question's outcome."""
    return get_runner(request).get(run_id)
