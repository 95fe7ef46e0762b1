"""``jikji eval retrieval``: score the searcher on a question set in a throw-away index."""

from __future__ import annotations

import argparse

from app.cli.common import fail, missing_paths
from app.services.evaluation import REPORT_JSON, REPORT_MD, run_retrieval_eval
from core.settings import Settings
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
