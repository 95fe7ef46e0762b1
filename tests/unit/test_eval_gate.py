"""Candidate settings of the release gate: overrides from files and KEY=VALUE pairs, merged into the tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.services.answer_eval import AnswerReport
from app.services.eval_gate import (
    SideReport,
    candidate_settings,
    compare_reports,
    describe_candidate,
    read_overrides,
)
from core.settings import LLMSettings, Settings
from retrieval.evaluation import EvalReport, QuestionResult


def test_pairs_take_dotted_and_environment_keys_with_json_values(tmp_path: Path) -> None:
    file = tmp_path / "candidate.toml"
    file.write_text('[llm]\nmodel = "solar-hr"\n[retrieval]\ntop_k = 3\n', encoding="utf-8")
    overrides = read_overrides(file, ["retrieval.top_k=8", "JIKJI_LLM__ANSWER_MODE=extractive"])
    assert overrides == {"llm": {"model": "solar-hr", "answer_mode": "extractive"}, "retrieval": {"top_k": 8}}


def test_candidate_keeps_everything_not_overridden(tmp_path: Path) -> None:
    current = Settings(data_dir=tmp_path, llm=LLMSettings(base_url="http://gpu:8000/v1", model="solar"))
    candidate = candidate_settings(current, {"llm": {"model": "solar-hr"}})
    assert candidate.llm.model == "solar-hr" and candidate.llm.base_url == "http://gpu:8000/v1"
    assert candidate.data_dir == current.data_dir and current.llm.model == "solar"


def test_invalid_or_unknown_overrides_are_value_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="top_k"):
        candidate_settings(Settings(data_dir=tmp_path), {"retrieval": {"top_k": 0}})
    with pytest.raises(ValueError, match="unknown settings"):
        candidate_settings(Settings(data_dir=tmp_path), {"nope": 1})
    with pytest.raises(ValueError, match="KEY=VALUE"):
        read_overrides(None, ["top_k"])


def _retrieval(ranks: dict[str, int | None], r5: float) -> EvalReport:
    results = [QuestionResult(qid, rank, ()) for qid, rank in ranks.items()]
    return EvalReport("x", len(ranks), {"R@5": r5, "MRR@10": r5}, 1.0, 1.0, results)


def test_retrieval_drops_fail_the_gate_and_name_the_questions_ranked_lower(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    answers = AnswerReport("x", 0, {"f1": 0.5}, {})
    current = SideReport(answers, {"dev": _retrieval({"q1": 1, "q2": 2, "q3": 3}, 0.9)}, {"q1": "연차는?"})
    candidate = SideReport(
        answers, {"dev": _retrieval({"q1": None, "q2": 2, "q3": 5}, 0.6)}, {"q1": "연차는?"}
    )
    result = compare_reports(current, candidate, settings, {"llm": {"model": "hr"}})
    assert not result.passed
    assert result.regressed_metrics == ["retrieval.dev.MRR@10", "retrieval.dev.R@5"]
    worse = {row["id"]: row for row in result.worse}
    assert set(worse) == {"q1", "q3"}
    assert worse["q1"]["question"] == "연차는?" and worse["q1"]["reasons"] == ["gold rank 1 → —"]
    assert worse["q3"]["kind"] == "retrieval" and worse["q3"]["set"] == "dev"
    assert "retrieval.dev.R@5" in result.to_table() and "## Retrieval: dev" in result.to_markdown()


def test_a_set_that_could_not_run_is_reported_not_failed(tmp_path: Path) -> None:
    answers = AnswerReport("x", 0, {"f1": 0.5}, {})
    current = SideReport(answers, {"dev": "no question has a gold document in the current index"})
    result = compare_reports(current, SideReport(answers, {"dev": "same"}), Settings(data_dir=tmp_path), {})
    assert result.passed and result.retrieval == {
        "dev": {"skipped": "no question has a gold document in the current index"}
    }


def test_candidate_labels_are_dotted_pairs() -> None:
    assert describe_candidate({"llm": {"adapter": "인사팀"}, "retrieval": {"top_k": 6}}) == (
        'llm.adapter="인사팀", retrieval.top_k=6'
    )
    assert describe_candidate({}) == "(no overrides)"
