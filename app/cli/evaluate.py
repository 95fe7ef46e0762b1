"""``jikji eval retrieval`` and ``jikji eval answers``: score search or answers in a temporary index."""

from __future__ import annotations

import argparse
from contextlib import ExitStack

from app.cli.common import ensure_llm_server, fail, missing_paths
from app.services.answer_eval import REPORT_JSON as ANSWER_JSON
from app.services.answer_eval import REPORT_MD as ANSWER_MD
from app.services.answer_eval import run_answer_eval
from app.services.chat import is_bundled_model, needs_model
from app.services.evaluation import REPORT_JSON, REPORT_MD, run_retrieval_eval
from core.settings import Settings
from llm.client import LLMUnavailableError
from retrieval.evaluation import DatasetError


def cmd_eval_retrieval(settings: Settings, args: argparse.Namespace) -> int:
    """Run the evaluation, print the metrics table and where the reports are."""
    if (code := missing_paths([args.dataset, args.corpus])) is not None:
        return code
    out = args.out or settings.eval_reports_dir
    try:
        report = run_retrieval_eval(
            settings,
            args.dataset,
            baseline=args.baseline,
            corpus=args.corpus,
            out_dir=out,
            k=args.k,
            limit=args.limit,
            embedder=args.embedder,
            keep=args.keep,
        )
    except DatasetError as exc:
        return fail(f"데이터셋 오류 / dataset error: {exc}", 2)
    print(report.to_table())
    print(f"보고서 / report: {out / REPORT_JSON}, {out / REPORT_MD}")
    return 0


def cmd_eval_answers(settings: Settings, args: argparse.Namespace) -> int:
    """Answer an answer set through the chat service, print the metrics and where the reports are."""
    if (code := missing_paths([args.dataset, args.corpus])) is not None:
        return code
    if args.mode:
        settings = settings.model_copy(
            update={"llm": settings.llm.model_copy(update={"answer_mode": args.mode})}
        )
    out = args.out or settings.eval_reports_dir
    try:
        with ExitStack() as stack:
            if needs_model(settings.llm, small_model=is_bundled_model(settings.llm)):
                ensure_llm_server(settings, stack)
            report = run_answer_eval(
                settings,
                args.dataset,
                corpus=args.corpus,
                out_dir=out,
                limit=args.limit,
                embedder=args.embedder,
                keep=args.keep,
            )
    except DatasetError as exc:
        return fail(f"데이터셋 오류 / dataset error: {exc}", 2)
    except LLMUnavailableError as exc:
        return fail(f"LLM 서버에 연결할 수 없습니다 / the model server is unreachable: {exc}")
    print(report.to_table())
    print(f"보고서 / report: {out / ANSWER_JSON}, {out / ANSWER_MD}")
    return 0
