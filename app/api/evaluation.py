"""``/api/v1/eval``: run the retrieval question set or the answer set against the current index, and
list past runs (admin).

The work is :mod:`app.services.eval_runs` (one run at a time, in the background) over
:mod:`app.services.evaluation` and :mod:`app.services.answer_eval` (the code paths of
``jikji eval retrieval`` and ``jikji eval answers``). Questions whose gold files are not in the
index are left out and counted in ``meta``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from app.api.deps import AdminPrincipal, ContainerDep

router = APIRouter(prefix="/api/v1/eval", tags=["evaluation"])
RunStatus = Literal["running", "succeeded", "failed"]


class EvalRequest(BaseModel):
    """Options of an evaluation run."""

    limit: int | None = Field(
        default=None, ge=1, le=10000, description="Evaluate only the first N questions."
    )


class EvalRun(BaseModel):
    """One evaluation run: its state and, once finished, its metrics."""

    id: str
    kind: Literal["retrieval", "answers"] = Field(
        default="retrieval", description="`retrieval` (search) or `answers` (the chat service)."
    )
    status: RunStatus
    dataset: str = Field(description="The question set's file name.")
    created_at: datetime
    finished_at: datetime | None = None
    created_by: str | None = Field(default=None, description="User name of the admin who started it.")
    n_questions: int = Field(default=0, description="Questions scored (those with a gold file in the index).")
    metrics: dict[str, float] = Field(
        default_factory=dict,
        description="Retrieval: R@1, R@5, R@10, MRR@10, nDCG@10. Answers: evidence_hit@1/@3, exact_match, "
        "f1, f1_full_answer, citation_precision, unsupported_figure_rate, abstention_rate "
        "(correct_abstention_rate when the set has unanswerable questions).",
    )
    latency_ms: dict[str, float] = Field(
        default_factory=dict,
        description="Search latency p50 and p95; for answers the whole answer's p50/p95 and first_token_p50.",
    )
    meta: dict[str, Any] = Field(default_factory=dict, description="Index size, questions left out, weights.")
    error_ko: str | None = None
    error_en: str | None = None


class EvalRunDetail(EvalRun):
    """A run with each question's outcome: rank of its first gold document and the top documents, or
    the answer, its scores, citations and unsupported figures."""

    questions: list[dict[str, Any]] = Field(default_factory=list)


class EvalRunList(BaseModel):
    """Runs, newest first."""

    total: int
    items: list[EvalRun]


class EvalStarted(BaseModel):
    """The run just started (``status: running``); poll ``GET /api/v1/eval/runs``."""

    run: EvalRun


@router.post("/retrieval", response_model=EvalStarted, status_code=202)
def start_retrieval_eval(body: EvalRequest, admin: AdminPrincipal, container: ContainerDep) -> dict[str, Any]:
    """Run the retrieval question set against the current index in the background (one run at a time)."""
    return {"run": container.eval_runner.start(container, admin.username, body.limit)}


@router.post("/answers", response_model=EvalStarted, status_code=202)
def start_answer_eval(body: EvalRequest, admin: AdminPrincipal, container: ContainerDep) -> dict[str, Any]:
    """Ask the configured answer set (``evaluation.answers_dataset``) through the chat service against
    the current index, in the background (one run at a time); 422 when no answer set is configured.

    Each answer takes the model's time (seconds on the embedded CPU model): use ``limit``.
    """
    return {"run": container.eval_runner.start(container, admin.username, body.limit, kind="answers")}


@router.get("/runs", response_model=EvalRunList)
def list_runs(
    container: ContainerDep, _admin: AdminPrincipal, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> dict[str, Any]:
    """Past and running evaluations, newest first (without per-question results)."""
    runs = container.eval_runner.runs()
    return {"total": len(runs), "items": runs[:limit]}


@router.get("/runs/{run_id}", response_model=EvalRunDetail)
def get_run(run_id: str, container: ContainerDep, _admin: AdminPrincipal) -> dict[str, Any]:
    """One run with each question's outcome."""
    return container.eval_runner.get(run_id)
