"""``jikji eval gate``: the answer and retrieval evaluations of the current configuration and a candidate
side by side; exit code 1 when a metric of the candidate falls beyond the configured tolerance. Each run
is kept in SQL (``gate_runs``, origin ``cli``) next to those started from the admin page."""

from __future__ import annotations

import argparse
from contextlib import ExitStack
from pathlib import Path

from app.cli.common import ensure_llm_server, fail, missing_paths, open_container
from app.services import eval_gate
from app.services.chat import is_bundled_model, needs_model
from app.services.eval_gate import GateInputs, SideReport, evaluate_side, read_overrides
from app.services.finetune_export import group_by_name
from core.settings import Settings
from llm.client import LLMUnavailableError
from retrieval.evaluation import DatasetError


def cmd_eval_gate(settings: Settings, args: argparse.Namespace) -> int:
    """Evaluate both sides, print them side by side with the verdict; 0 passed, 1 failed, 2 bad input."""
    if (code := missing_paths([args.candidate_settings, args.dataset, args.corpus])) is not None:
        return code
    try:
        overrides = read_overrides(args.candidate_settings, args.set or [])
        eval_gate.candidate_settings(settings, overrides)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        return fail(f"후보 설정 오류 / candidate settings error: {exc}", 2)
    out: Path = args.out or settings.eval_reports_dir / "gate"
    with open_container(settings) as container:
        group_id = None
        with container.sessions.begin() as session:
            if args.group:
                group_id = group_by_name(session, args.group)
                if group_id is None:
                    return fail(f"없는 그룹입니다 / unknown group: {args.group}", 2)
            run_id = eval_gate.create_run(
                session, settings, overrides, created_by=None, origin="cli", group_id=group_id
            ).id
            eval_gate.mark_running(session, run_id)
        try:
            result = eval_gate.run_gate(
                settings,
                overrides,
                out,
                dataset=args.dataset,
                corpus=args.corpus,
                limit=args.limit,
                embedder=args.embedder,
                group_id=group_id,
                side=_side,
            )
        except (DatasetError, LLMUnavailableError, ValueError) as exc:
            with container.sessions.begin() as session:
                eval_gate.finish_run(session, run_id, None, str(exc))
            if isinstance(exc, LLMUnavailableError):
                return fail(f"LLM 서버에 연결할 수 없습니다 / the model server is unreachable: {exc}", 2)
            return fail(f"데이터셋 오류 / dataset error: {exc}", 2)
        with container.sessions.begin() as session:
            eval_gate.finish_run(session, run_id, result)
    print(result.to_table())
    print(f"보고서 / report: {out / eval_gate.GATE_JSON}, {out / eval_gate.GATE_MD}; 실행 / run: {run_id}")
    return 0 if result.passed else 1


def _side(settings: Settings, inputs: GateInputs, out: Path, label: str) -> SideReport:
    print(f"{label}: 평가 중 / evaluating …", flush=True)
    with ExitStack() as stack:  # each side gets its own model server, stopped before the next side
        if needs_model(settings.llm, small_model=is_bundled_model(settings.llm)):
            ensure_llm_server(settings, stack)
        return evaluate_side(settings, inputs, out)
