"""``jikji eval gate`` on the golden items of a live index (SQLite and PostgreSQL): an equal candidate
passes, a worse one fails with the questions that got worse, bad candidate settings are refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.cli import main as cli_main
from core.settings import Settings
from tests.api_harness import ApiHarness
from tests.conftest import point_cli_at

pytestmark = pytest.mark.integration

DOCUMENTS = {
    "휴가규정.md": "# 휴가\n\n신입 직원의 연차휴가는 입사 첫해에 15일이며 신청은 인사팀에 한다.\n",
    "출장규정.md": "# 출장\n\n해외 출장 일비는 하루 50달러로 정한다.\n",
    "보안규정.md": "# 보안\n\n비밀번호는 90일마다 변경한다.\n",
    "주차안내.md": "# 주차\n\n본사 주차장은 지하 2층에 있으며 직원은 무료로 이용한다.\n",
}
GOLDEN = [
    ("신입 직원의 연차휴가는 며칠인가요?", "15일", "휴가규정.md"),
    ("해외 출장 일비는 얼마인가요?", "50달러", "출장규정.md"),
    ("비밀번호는 며칠마다 변경하나요?", "90일", "보안규정.md"),
    ("본사 주차장은 몇 층에 있나요?", "지하 2층", "주차안내.md"),
]


@pytest.fixture
def settings(settings_on_each_database: Settings) -> Settings:
    """These tests run on SQLite and on PostgreSQL."""
    return settings_on_each_database


@pytest.fixture
def golden_set(api: ApiHarness, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Four public regulations and a golden item for each; the CLI pointed at the same stores."""
    ids = {name: api.ingest(text, name, public=True) for name, text in DOCUMENTS.items()}
    admin = api.admin()
    for question, answer, name in GOLDEN:
        body = {"question": question, "answers": [answer], "document_ids": [ids[name]]}
        assert api.client.post("/api/v1/golden", json=body, headers=admin).status_code == 201
    point_cli_at(settings, monkeypatch)
    monkeypatch.setenv("JIKJI_LLM__ANSWER_MODE", "extractive")  # no model server needed


def _report(out: Path) -> dict[str, Any]:
    return dict(json.loads((out / "gate.json").read_text(encoding="utf-8")))


def test_an_equal_candidate_passes(golden_set: None, tmp_path: Path) -> None:
    out = tmp_path / "gate"
    assert cli_main(["eval", "gate", "--set", "retrieval.top_k=6", "--out", str(out)]) == 0
    report = _report(out)
    assert report["passed"] is True and report["n_questions"] == 4 and report["worse"] == []
    assert report["candidate_overrides"] == {"retrieval": {"top_k": 6}}
    f1 = next(row for row in report["metrics"] if row["metric"] == "f1")
    assert f1["current"] == f1["candidate"] and f1["current"] > 0.5
    assert (out / "current" / "answer-eval.json").exists() and (
        out / "candidate" / "answer-eval.json"
    ).exists()
    assert len((out / "golden.jsonl").read_text(encoding="utf-8").splitlines()) == 4
    assert "# Release gate: passed" in (out / "gate.md").read_text(encoding="utf-8")


def test_a_worse_candidate_fails_with_what_got_worse(
    golden_set: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JIKJI_EVALUATION__GATE_TOLERANCE", "0.0")
    candidate = tmp_path / "candidate.json"  # a source budget of one token: no source fits the prompt
    candidate.write_text(json.dumps({"llm": {"context_tokens": 1}}))
    out = tmp_path / "gate"
    assert cli_main(["eval", "gate", "--candidate-settings", str(candidate), "--out", str(out)]) == 1
    report = _report(out)
    assert report["passed"] is False
    assert any(row["regressed"] for row in report["metrics"] if row["metric"] in {"f1", "evidence_hit@1"})
    assert report["worse"] and all(item["reasons"] for item in report["worse"])
    assert "실패 / failed" in capsys.readouterr().out


def test_bad_candidate_settings_are_refused(
    golden_set: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["eval", "gate", "--set", "retrieval.top_k=0"]) == 2
    assert cli_main(["eval", "gate", "--set", "no_such_part.x=1"]) == 2
    assert "candidate settings error" in capsys.readouterr().err


def test_with_a_corpus_each_side_answers_from_its_own_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    for name, text in DOCUMENTS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    dataset = tmp_path / "answers.jsonl"
    lines = [{"question": q, "answers": [a], "gold_files": [f]} for q, a, f in GOLDEN]
    dataset.write_text(
        "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8"
    )
    monkeypatch.setenv("JIKJI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("JIKJI_EMBEDDING__MODEL", "hashing")
    monkeypatch.setenv("JIKJI_LLM__ANSWER_MODE", "extractive")
    out = tmp_path / "gate"
    args = ["eval", "gate", "--dataset", str(dataset), "--corpus", str(corpus), "--out", str(out)]
    assert cli_main([*args, "--set", "chunking.chunk_chars=400"]) == 0
    assert _report(out)["n_questions"] == 4
    assert cli_main([*args, "--set", "llm.context_tokens=1"]) == 1
