"""The release gate (``jikji eval gate``): the answer evaluation of the current configuration and of a
candidate, side by side, failing when a metric of the candidate falls beyond a tolerance.

A candidate is the current settings with overrides (another model or base URL, answer mode, prompt,
fusion weights …): a JSON or TOML file of the settings tree and/or ``KEY=VALUE`` pairs
(``llm.answer_mode=extractive`` or ``JIKJI_LLM__ANSWER_MODE=extractive``). Both sides answer the same
answer set — by default the active golden items (:mod:`app.services.golden`) — through the code path
of ``jikji eval answers``: on the live index (the candidate must then share its embedder and chunker)
or, with a corpus folder, each on its own throw-away index. Metrics are compared with
``evaluation.gate_tolerance`` (per metric: ``evaluation.gate_tolerances``); rates where lower is
better may rise by the tolerance. The report lists each metric and every question that got worse.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.container import Container, build_container
from app.services.answer_eval import (
    AnswerOutcome,
    AnswerReport,
    evaluate_index_answers,
    run_answer_eval,
    write_answer_report,
)
from app.services.golden import export_lines
from core.settings import Settings
from llm.client import ChatModel
from retrieval.evaluation import DatasetError
from retrieval.tokenizer import LexicalTokenizer

LOWER_IS_BETTER = frozenset({"unsupported_figure_rate", "abstention_rate"})
GATE_JSON = "gate.json"
GATE_MD = "gate.md"
ENV_PREFIX = "JIKJI_"


# --- the candidate --------------------------------------------------------------------------------


def read_overrides(path: Path | None, pairs: Sequence[str] = ()) -> dict[str, Any]:
    """Settings overrides from a JSON/TOML file and ``KEY=VALUE`` pairs (the pairs win).

    Raises :class:`ValueError` for an unreadable file or a pair without ``=``.
    """
    overrides: dict[str, Any] = {}
    if path is not None:
        text = path.read_text(encoding="utf-8")
        loaded = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        if not isinstance(loaded, dict):
            msg = f"{path}: expected an object of settings"
            raise ValueError(msg)
        overrides = loaded
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            msg = f"expected KEY=VALUE: {pair}"
            raise ValueError(msg)
        _set_path(overrides, _key_path(key.strip()), _value(raw))
    return overrides


def _key_path(key: str) -> list[str]:
    if key.upper().startswith(ENV_PREFIX):
        return [part.lower() for part in key[len(ENV_PREFIX) :].split("__")]
    return key.split(".")


def _value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _set_path(tree: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        tree = tree.setdefault(part, {})
    tree[path[-1]] = value


def _merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def candidate_settings(settings: Settings, overrides: Mapping[str, Any]) -> Settings:
    """``settings`` with ``overrides`` merged into its tree, validated like the settings themselves."""
    unknown = sorted(set(overrides) - set(Settings.model_fields))
    if unknown:
        msg = f"unknown settings: {', '.join(unknown)}"
        raise ValueError(msg)
    return Settings.model_validate(_merge(settings.model_dump(), overrides))


# --- running one side -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GateInputs:
    """What both sides answer: the answer set, the corpus (None: the live index), a question limit."""

    dataset: Path
    corpus: Path | None = None
    limit: int | None = None
    embedder: str | None = None


def golden_dataset(settings: Settings, path: Path) -> Path:
    """Write the active golden items as an answer set to ``path`` (DatasetError when there are none)."""
    container = build_container(settings)
    try:
        with container.sessions() as session:
            lines = export_lines(session)
    finally:
        container.close()
    if not lines:
        msg = "no active golden items (make some from feedback or import them first)"
        raise DatasetError(msg)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    return path


def evaluate_side(
    settings: Settings,
    inputs: GateInputs,
    out_dir: Path,
    *,
    tokenizer: LexicalTokenizer | None = None,
    chat_model: ChatModel | None = None,
) -> AnswerReport:
    """The answer evaluation of one configuration, its reports written into ``out_dir``."""
    if inputs.corpus is not None:
        return run_answer_eval(
            settings,
            inputs.dataset,
            corpus=inputs.corpus,
            out_dir=out_dir,
            limit=inputs.limit,
            embedder=inputs.embedder,
            keep=False,
            tokenizer=tokenizer,
            chat_model=chat_model,
        )
    container: Container = build_container(settings, tokenizer=tokenizer, chat_model=chat_model)
    try:
        report = evaluate_index_answers(container, inputs.dataset, inputs.limit)
    finally:
        container.close()
    write_answer_report(report, out_dir)
    return report


# --- comparing ------------------------------------------------------------------------------------


@dataclass(slots=True)
class GateResult:
    """Each metric side by side, the questions that got worse, and whether the candidate passed."""

    metrics: list[dict[str, Any]]
    worse: list[dict[str, Any]]
    n_questions: int
    candidate_overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """No metric fell beyond its tolerance."""
        return not any(row["regressed"] for row in self.metrics)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "passed": self.passed,
            "n_questions": self.n_questions,
            "candidate_overrides": self.candidate_overrides,
            "metrics": self.metrics,
            "worse": self.worse,
        }

    def to_table(self) -> str:
        """Metrics side by side as fixed-width text, then the verdict."""
        lines = [f"{'metric':<26} {'current':>8} {'candidate':>10} {'delta':>8} {'tol':>6}"]
        for row in self.metrics:
            flag = "  ✗ regressed" if row["regressed"] else ""
            lines.append(
                f"{row['metric']:<26} {row['current']:>8.4f} {row['candidate']:>10.4f} "
                f"{row['delta']:>+8.4f} {row['tolerance']:>6.3f}{flag}"
            )
        lines.append(f"더 나빠진 질문 / questions that got worse: {len(self.worse)}")
        verdict = (
            "통과 / passed" if self.passed else "실패 / failed: 허용치를 넘어 나빠짐 / a metric fell too far"
        )
        lines.append(f"게이트 / gate: {verdict}")
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """The report as Markdown (metrics table and the questions that got worse)."""
        lines = [
            f"# Release gate: {'passed' if self.passed else 'FAILED'}",
            "",
            f"{self.n_questions} questions. Candidate overrides: `{json.dumps(self.candidate_overrides)}`",
            "",
            "| metric | current | candidate | delta | tolerance | regressed |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {r['metric']} | {r['current']:.4f} | {r['candidate']:.4f} | {r['delta']:+.4f} | "
            f"{r['tolerance']:.3f} | {'yes' if r['regressed'] else ''} |"
            for r in self.metrics
        ]
        lines += ["", "## Questions that got worse", ""]
        lines += [f"- `{w['id']}` {w['question']}: {'; '.join(w['reasons'])}" for w in self.worse] or ["none"]
        return "\n".join(lines) + "\n"


def compare_reports(
    current: AnswerReport, candidate: AnswerReport, settings: Settings, overrides: Mapping[str, Any]
) -> GateResult:
    """The gate's verdict on ``candidate`` against ``current`` with the configured tolerances."""
    tolerances = settings.evaluation.gate_tolerances
    rows = []
    for metric in sorted(set(current.metrics) & set(candidate.metrics)):
        before, after = current.metrics[metric], candidate.metrics[metric]
        tolerance = tolerances.get(metric, settings.evaluation.gate_tolerance)
        loss = after - before if metric in LOWER_IS_BETTER else before - after
        rows.append(
            {
                "metric": metric,
                "current": round(before, 4),
                "candidate": round(after, 4),
                "delta": round(after - before, 4),
                "tolerance": tolerance,
                "lower_is_better": metric in LOWER_IS_BETTER,
                "regressed": loss > tolerance + 1e-9,
            }
        )
    return GateResult(
        rows, worse_questions(current.results, candidate.results), current.n_questions, dict(overrides)
    )


def worse_questions(
    current: Sequence[AnswerOutcome], candidate: Sequence[AnswerOutcome]
) -> list[dict[str, Any]]:
    """Questions the candidate answered worse: lower F1, a lost evidence hit, a new abstention on an
    answerable question, or a new unsupported figure."""
    before = {outcome.id: outcome for outcome in current}
    worse = []
    for after in candidate:
        old = before.get(after.id)
        if old is None:
            continue
        reasons = _reasons(old, after)
        if reasons:
            worse.append(
                {
                    "id": after.id,
                    "question": after.question,
                    "reasons": reasons,
                    "current_answer": old.answer,
                    "candidate_answer": after.answer,
                }
            )
    return worse


def _reasons(old: AnswerOutcome, new: AnswerOutcome) -> list[str]:
    reasons = []
    if new.f1 < old.f1 - 1e-9:
        reasons.append(f"f1 {old.f1:.2f} → {new.f1:.2f}")
    if old.evidence_hit_3 and not new.evidence_hit_3:
        reasons.append("evidence hit@3 lost")
    if not old.unanswerable and new.abstained and not old.abstained:
        reasons.append("abstained")
    if new.unsupported and not old.unsupported:
        reasons.append("unsupported figure")
    return reasons


def write_gate_report(result: GateResult, out_dir: Path) -> tuple[Path, Path]:
    """Write ``gate.json`` and ``gate.md`` into ``out_dir``; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / GATE_JSON, out_dir / GATE_MD
    json_path.write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    md_path.write_text(result.to_markdown(), encoding="utf-8")
    return json_path, md_path
