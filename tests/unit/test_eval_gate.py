"""Candidate settings of the release gate: overrides from files and KEY=VALUE pairs, merged into the tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.services.eval_gate import candidate_settings, read_overrides
from core.settings import LLMSettings, Settings


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
