"""``jikji eval gate``: the answer evaluation of the current configuration and a candidate side by side;
exit code 1 when a metric of the candidate falls beyond the configured tolerance."""

from __future__ import annotations

import argparse
from contextlib import ExitStack
from pathlib import Path

from app.cli.common import ensure_llm_server, fail, missing_paths
from app.services.answer_eval import AnswerReport
from app.services.chat import is_bundled_model, needs_model
from app.services.eval_gate import (
    GateInputs,
    candidate_settings,
    compare_reports,
    evaluate_side,
    golden_dataset,
    read_overrides,
    write_gate_report,
)
from core.settings import Settings
from llm.client import LLMUnavailableError
from retrieval.evaluation import DatasetError


def cmd_eval_gate(settings: Settings, args: argparse.Namespace) -> int:
    """Evaluate both sides, print them side by side with the verdict; 0 passed, 1 failed, 2 bad input."""
    if (code := missing_paths([args.candidate_settings, args.dataset, args.corpus])) is not None:
        return code
    try:
        overrides = read_overrides(args.candidate_settings, args.set or [])
        candidate = candidate_settings(settings, overrides)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        return fail(f"후보 설정 오류 / candidate settings error: {exc}", 2)
    out: Path = args.out or settings.eval_reports_dir / "gate"
    try:
        dataset = args.dataset or golden_dataset(settings, out / "golden.jsonl")
        inputs = GateInputs(dataset, args.corpus, args.limit, args.embedder)
        current = _side(settings, inputs, out / "current", "현재 / current")
        proposed = _side(candidate, inputs, out / "candidate", "후보 / candidate")
    except DatasetError as exc:
        return fail(f"데이터셋 오류 / dataset error: {exc}", 2)
    except LLMUnavailableError as exc:
        return fail(f"LLM 서버에 연결할 수 없습니다 / the model server is unreachable: {exc}", 2)
    result = compare_reports(current, proposed, settings, overrides)
    json_path, md_path = write_gate_report(result, out)
    print(result.to_table())
    print(f"보고서 / report: {json_path}, {md_path}")
    return 0 if result.passed else 1


def _side(settings: Settings, inputs: GateInputs, out: Path, label: str) -> AnswerReport:
    print(f"{label}: 평가 중 / evaluating …", flush=True)
    with ExitStack() as stack:  # each side gets its own model server, stopped before the next side
        if needs_model(settings.llm, small_model=is_bundled_model(settings.llm)):
            ensure_llm_server(settings, stack)
        return evaluate_side(settings, inputs, out)
