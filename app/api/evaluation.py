"""``/api/v1/eval``: run the retrieval question set or the answer set against the current index, and
list past runs (admin); ``/api/v1/eval/gate``: the release gate (current configuration vs a candidate),
run in the background and kept in SQL.

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
from sqlalchemy import select

from app.api.deps import (
    AdminPrincipal,
    ContainerDep,
    DbDep,
    GroupAdminPrincipal,
    PageLimit,
    PageOffset,
)
from app.auth.principal import Principal
from app.services import eval_gate
from app.services.errors import AppError, invalid, not_found
from core.models import GateRun, Group, User
from retrieval.chunk_store import visible_document_ids

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


# --- release gate ------------------------------------------------------------------------------------

GateStatus = Literal["queued", "running", "passed", "failed", "error"]


class GateRequest(BaseModel):
    """A candidate for the release gate: settings overrides as a tree and/or ``KEY=VALUE`` pairs."""

    candidate: dict[str, Any] = Field(
        default_factory=dict,
        description='Settings overrides as a tree, e.g. `{"llm": {"model": "solar-hr"}}` or '
        '`{"retrieval": {"dense_weight": 0.7}}`.',
    )
    set: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Overrides as `KEY=VALUE` (`llm.answer_mode=extractive`, `JIKJI_LLM__MODEL=x`).",
    )
    group_id: str | None = Field(default=None, description="Only the golden items of this group.")
    limit: int | None = Field(default=None, ge=1, le=10000, description="Answer only the first N questions.")


class GateRunOut(BaseModel):
    """One release-gate run: state, verdict, candidate, metrics side by side (once finished)."""

    id: str
    created_at: datetime
    finished_at: datetime | None = None
    created_by: str | None = Field(default=None, description="User name of the admin (none from the CLI).")
    origin: str = Field(description="`api` or `cli`.")
    status: GateStatus
    passed: bool | None = None
    candidate: dict[str, Any] = Field(description="The settings overrides evaluated.")
    label: str = Field(description="The overrides as `key=value` pairs.")
    group_id: str | None = None
    n_questions: int = 0
    metrics: dict[str, Any] = Field(
        default_factory=dict,
        description="`answers`: rows {metric, current, candidate, delta, tolerance, regressed}; "
        "`retrieval`: per question set (`golden`, `dev`) its rows or why it was skipped; "
        "`regressed`: names of the metrics that dropped beyond tolerance.",
    )
    tolerances: dict[str, Any] = Field(default_factory=dict)
    n_regressions: int = 0
    error: str | None = None
    message_ko: str = ""
    message_en: str = ""


class GateRunDetail(GateRunOut):
    """A run with every item that got worse: kind (answers/retrieval), set, question, reasons, answers."""

    regressions: list[dict[str, Any]] = Field(default_factory=list)


class GateRunList(BaseModel):
    """Runs, newest first."""

    total: int
    items: list[GateRunOut]


GatePrincipal = GroupAdminPrincipal  # admins, and admin keys narrowed to groups (their groups' runs)


def _narrowed_to(caller: Principal) -> frozenset[str] | None:
    """The groups a narrowed admin key is limited to (None: an unrestricted admin)."""
    return None if caller.is_admin else caller.group_ids


def _check_group(caller: Principal, group_id: str | None) -> None:
    """A narrowed key runs the gate of one of its groups only: its golden items, answered as it sees."""
    groups = _narrowed_to(caller)
    if groups is None:
        return
    if group_id is None:
        raise AppError(
            403,
            "gate_group_required",
            "일부 그룹으로 제한된 키는 그 그룹 중 하나(group_id)의 게이트만 실행할 수 있습니다.",
            "A key limited to some groups can only run the gate of one of those groups (group_id).",
        )
    if group_id not in groups:
        raise AppError(
            403,
            "gate_group_not_allowed",
            "이 키가 제한된 그룹이 아닙니다: 그 그룹의 게이트는 실행할 수 없습니다.",
            "This key is not limited to that group: it cannot run that group's gate.",
        )


def _usernames(db: DbDep, runs: list[GateRun]) -> dict[str, str]:
    ids = {run.created_by for run in runs if run.created_by}
    if not ids:
        return {}
    return dict(db.execute(select(User.id, User.username).where(User.id.in_(ids))).all())


def _view(
    run: GateRun,
    container: ContainerDep,
    names: dict[str, str],
    *,
    detail: bool,
    visible: frozenset[str] | None = None,
) -> dict[str, Any]:
    view = eval_gate.run_view(run, detail=detail, usernames=names)
    if visible is not None:
        view = eval_gate.narrowed_view(run, view, visible)
    stale = run.origin == "api" and run.status in {"queued", "running"}
    if stale and not container.gate_runner.is_active(run.id):
        view.update(
            status="error",
            error="server restarted",
            message_ko="서버가 다시 시작되어 게이트 실행이 중단되었습니다.",
            message_en="The server restarted before the gate run finished.",
        )
    return view


@router.post("/gate", response_model=GateRunOut, status_code=202)
def start_gate(body: GateRequest, admin: GatePrincipal, container: ContainerDep, db: DbDep) -> dict[str, Any]:
    """Run the release gate in the background: the answer and retrieval evaluations of the current
    configuration and of the candidate, side by side (one run at a time; 409 while one is going).
    Poll ``GET /api/v1/eval/gate/{id}``: ``passed`` or ``failed`` (a metric dropped beyond tolerance).

    An admin key narrowed to some groups must name one of them (``group_id``; 403 otherwise)."""
    _check_group(admin, body.group_id)
    try:
        overrides = eval_gate.read_overrides(None, body.set)
        overrides = eval_gate.merge_overrides(body.candidate, overrides)
        eval_gate.candidate_settings(container.settings, overrides)
    except ValueError as exc:
        raise invalid(f"후보 설정이 올바르지 않습니다: {exc}", f"Invalid candidate settings: {exc}") from exc
    if refused := eval_gate.api_candidate_refused(overrides):
        names, allowed = ", ".join(refused), ", ".join(eval_gate.API_CANDIDATE_SECTIONS)
        raise invalid(
            f"API로 시작하는 게이트는 {allowed} 설정만 바꿀 수 있습니다 (받음: {names}). "
            "다른 설정은 서버에서 jikji eval gate로 시험하세요.",
            f"A gate started over the API may change only the {allowed} settings (got: {names}); "
            "try other settings with jikji eval gate on the server.",
        )
    if body.group_id is not None and db.get(Group, body.group_id) is None:
        raise not_found("그룹", "group")
    return container.gate_runner.start(container, admin.user_id, overrides, body.group_id, body.limit)


def _visible(db: DbDep, caller: Principal) -> frozenset[str] | None:
    """Documents a narrowed key sees now (None: an unrestricted admin sees every run's whole report)."""
    return None if caller.is_admin else visible_document_ids(db, caller.access_scope())


@router.get("/gate", response_model=GateRunList)
def list_gate_runs(
    container: ContainerDep, caller: GatePrincipal, db: DbDep, limit: PageLimit = 50, offset: PageOffset = 0
) -> dict[str, Any]:
    """Past and running gate runs (API and CLI), newest first, without the items that got worse.

    An admin key narrowed to some groups lists only the runs scoped to one of them."""
    total, runs = eval_gate.list_runs(db, limit, offset, _narrowed_to(caller))
    names, visible = _usernames(db, runs), _visible(db, caller)
    return {
        "total": total,
        "items": [_view(run, container, names, detail=False, visible=visible) for run in runs],
    }


@router.get("/gate/{run_id}", response_model=GateRunDetail)
def get_gate_run(run_id: str, container: ContainerDep, caller: GatePrincipal, db: DbDep) -> dict[str, Any]:
    """One gate run with every item that got worse.

    An admin key narrowed to some groups reads only runs scoped to one of them (others: 404), with only
    the golden items whose documents it may see (the dev set's questions left out)."""
    run = eval_gate.get_run(db, run_id)
    groups = _narrowed_to(caller)
    if groups is not None and eval_gate.run_group(run) not in groups:
        raise not_found("게이트 실행", "gate run")
    return _view(run, container, _usernames(db, [run]), detail=True, visible=_visible(db, caller))
