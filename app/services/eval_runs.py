"""Admin evaluation runs of the live index: one at a time in a background thread, each kept as a JSON file.

A run has a kind. ``retrieval`` searches every question of the configured question set
(``evaluation.dataset``, by default the bundled Korean dev set) through
:func:`app.services.evaluation.evaluate_index`; ``answers`` asks every question of
``evaluation.answers_dataset`` through the chat service
(:func:`app.services.answer_eval.evaluate_index_answers`): the code paths of ``jikji eval retrieval``
and ``jikji eval answers``. Runs live under ``<data_dir>/eval`` (no schema); a run left ``running``
by a stopped server reads back as failed.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from app.container import Container
from app.services.answer_eval import evaluate_index_answers
from app.services.errors import AppError, conflict, not_found
from app.services.evaluation import evaluate_index
from retrieval.evaluation import DatasetError

_log = logging.getLogger(__name__)
EvalKind = Literal["retrieval", "answers"]
Evaluator = Callable[[Container, Path, int | None], dict[str, Any]]


def _now() -> datetime:
    return datetime.now(UTC)


class EvalRunner:
    """Runs evaluations one at a time in a background thread and keeps each run as a JSON file."""

    def __init__(self, directory: Path, dataset: Path) -> None:
        self.directory = directory
        self.dataset = dataset
        self._lock = threading.Lock()
        self._active: str | None = None
        self._thread: threading.Thread | None = None

    def start(
        self, container: Container, created_by: str, limit: int | None, kind: EvalKind = "retrieval"
    ) -> dict[str, Any]:
        """Record a new run of ``kind`` and start it; 409 while another run is still going, 422 without
        its question set."""
        dataset = self.dataset_for(container, kind)
        with self._lock:
            if self._active is not None:
                raise conflict("이미 평가가 진행 중입니다.", "An evaluation is already running.")
            run: dict[str, Any] = {
                "id": uuid.uuid4().hex,
                "kind": kind,
                "status": "running",
                "dataset": dataset.name,
                "created_at": _now().isoformat(),
                "created_by": created_by,
            }
            self._write(run)
            self._active = run["id"]
            self._thread = threading.Thread(  # the thread gets its own copy to fill in
                target=self._run,
                args=(container, dict(run), dataset, limit),
                name="jikji-eval",
                daemon=True,
            )
            self._thread.start()
        return run

    def dataset_for(self, container: Container, kind: EvalKind) -> Path:
        """The question set of a ``kind`` of run (422 when it is not configured or missing)."""
        if kind == "retrieval":
            dataset: Path | None = self.dataset
        else:
            dataset = container.settings.evaluation.answers_dataset
        if dataset is None:
            raise AppError(
                422,
                "invalid_request",
                "답변 평가 세트가 설정되지 않았습니다 (evaluation.answers_dataset).",
                "No answer set is configured (evaluation.answers_dataset).",
            )
        if not dataset.is_file():
            raise AppError(
                422,
                "invalid_request",
                f"평가 질문 세트를 찾을 수 없습니다: {dataset.name}",
                f"The evaluation question set is missing: {dataset.name}",
            )
        return dataset

    def wait(self, timeout_s: float) -> None:
        """Wait for the run in progress, if any (shutdown and tests)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)

    def _run(self, container: Container, run: dict[str, Any], dataset: Path, limit: int | None) -> None:
        try:
            run.update(_EVALUATORS[run["kind"]](container, dataset, limit), status="succeeded")
        except DatasetError as exc:
            run.update(status="failed", error_ko=f"평가 데이터 오류: {exc}", error_en=f"Dataset error: {exc}")
        except Exception as exc:  # noqa: BLE001 — a failed run must be recorded, not lost in a thread
            _log.exception("%s evaluation failed", run["kind"])
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


def _report_fields(data: dict[str, Any]) -> dict[str, Any]:
    """What a run keeps of a report's dictionary (retrieval and answer reports share these keys)."""
    return {
        "n_questions": data["n_questions"],
        "metrics": data["metrics"],
        "latency_ms": data["latency_ms"],
        "meta": data["meta"],
        "questions": data["questions"],
    }


_EVALUATORS: dict[str, Evaluator] = {
    "retrieval": lambda container, dataset, limit: _report_fields(
        evaluate_index(container, dataset, limit).to_dict()
    ),
    "answers": lambda container, dataset, limit: _report_fields(
        evaluate_index_answers(container, dataset, limit).to_dict()
    ),
}


class GateRunner:
    """Release-gate runs from the admin API, one at a time in a background thread, kept in SQL
    (``gate_runs``); the reports of each run go to ``<directory>/<run id>``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._active: str | None = None
        self._thread: threading.Thread | None = None

    def start(
        self,
        container: Container,
        created_by: str | None,
        overrides: dict[str, Any],
        group_id: str | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """Queue a run of the candidate ``overrides`` and start it; 409 while another gate run is going."""
        # Imported here: the gate builds containers of its own (an import cycle with app.container).
        from app.services import eval_gate

        with self._lock:
            if self._active is not None:
                raise conflict("이미 게이트가 실행 중입니다.", "A gate run is already in progress.")
            with container.sessions.begin() as session:
                run = eval_gate.create_run(
                    session,
                    container.settings,
                    overrides,
                    created_by=created_by,
                    origin="api",
                    group_id=group_id,
                )
                view = eval_gate.run_view(run)
            self._active = run.id
            self._thread = threading.Thread(
                target=self._run,
                args=(container, run.id, overrides, group_id, limit),
                name="jikji-gate",
                daemon=True,
            )
            self._thread.start()
        return view

    def wait(self, timeout_s: float) -> None:
        """Wait for the run in progress, if any (shutdown and tests)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)

    def is_active(self, run_id: str) -> bool:
        """Whether ``run_id`` is the run this process is working on."""
        return self._active == run_id

    def _run(
        self,
        container: Container,
        run_id: str,
        overrides: dict[str, Any],
        group_id: str | None,
        limit: int | None,
    ) -> None:
        from app.services import eval_gate

        result, error = None, None
        try:
            with container.sessions.begin() as session:
                eval_gate.mark_running(session, run_id)
            result = eval_gate.run_gate(
                container.settings, overrides, self.directory / run_id, limit=limit, group_id=group_id
            )
        except (DatasetError, ValueError) as exc:
            error = str(exc)
        except Exception as exc:  # noqa: BLE001 — a failed run must be recorded, not lost in a thread
            _log.exception("gate run failed")
            error = type(exc).__name__
        finally:
            try:
                with container.sessions.begin() as session:
                    eval_gate.finish_run(session, run_id, result, error)
            finally:
                with self._lock:
                    self._active = None
