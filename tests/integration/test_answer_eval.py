"""`jikji eval answers` end to end on a tiny Korean answer set (real pipeline, searcher and chat service).

The model is scripted: it answers like :class:`llm.fake.ExtractiveFakeModel` (the first sentence of
source [1], cited), except for a few questions where it abstains, invents a figure or cites the
wrong source, so every metric has a known value.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from app.cli import build_parser
from app.cli import evaluate as cli_evaluate
from app.services.answer_eval import (
    REPORT_JSON,
    REPORT_MD,
    AnswerReport,
    load_answer_set,
    run_answer_eval,
)
from core.settings import EmbeddingSettings, EvaluationSettings, Settings
from llm.answer_metrics import char_f1
from llm.client import StreamChunk, Usage
from llm.fake import ExtractiveFakeModel
from llm.prompts import NOT_FOUND_KO
from retrieval.evaluation import DatasetError
from retrieval.tokenizer import KiwiTokenizer
from tests.api_harness import ApiHarness

pytestmark = pytest.mark.integration

DOCUMENTS = {
    "휴가규정.txt": "신입 직원의 연차휴가는 입사 첫해에 15일이며 신청은 인사팀에 한다.",
    "출장규정.txt": "해외 출장 일비는 하루 50달러로 정한다.",
    "보안규정.txt": "비밀번호는 90일마다 변경한다.",
    "주차안내.txt": "본사 주차장은 지하 2층에 있으며 직원은 무료로 이용한다.",
}
QUESTIONS: list[dict[str, Any]] = [
    {
        "id": "leave",
        "question": "신입 직원의 연차휴가는 며칠인가요?",
        "answers": ["15일"],
        "gold_files": ["휴가규정.txt"],
    },
    {
        "id": "perdiem",
        "question": "해외 출장 일비는 얼마인가요?",
        "answers": ["50달러", "USD 50"],
        "gold_files": ["출장규정.txt"],
    },
    {
        "id": "password",
        "question": "비밀번호는 얼마나 자주 변경하나요?",
        "answers": ["비밀번호는 90일마다 변경한다"],
        "gold_files": ["보안규정.txt"],
    },
    {
        "id": "parking",
        "question": "본사 주차장은 몇 층에 있나요?",
        "answers": ["지하 2층"],
        "gold_files": ["주차안내.txt"],
    },
    {"id": "team", "question": "연차휴가 신청은 어느 팀에 하나요?", "answers": ["인사팀"]},
    {"id": "canteen", "question": "사내 식당의 점심 메뉴는 무엇인가요?", "answers": [], "unanswerable": True},
    {
        "id": "elsewhere",
        "question": "법인카드 한도는 얼마인가요?",
        "answers": ["300만 원"],
        "gold_files": ["법인카드.md"],
    },
]
SCRIPT = {  # a word of the question → the answer the model gives
    "주차장": NOT_FOUND_KO,
    "식당": NOT_FOUND_KO,
    "출장": "해외 출장 일비는 하루 70달러입니다 [1].",  # a figure source [1] does not hold
    "어느 팀": "인사팀에 신청합니다 [2].",  # the wrong source: [2] is not the 휴가규정
}


class ScriptedModel(ExtractiveFakeModel):
    """The extractive fake, with scripted answers for some questions."""

    model = "fake-scripted"

    def stream(
        self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float, stop: Sequence[str] = ()
    ) -> Iterator[StreamChunk]:
        """Stream the scripted answer when the question matches, else the fake's."""
        question = messages[-1]["content"].rsplit("</sources>", 1)[-1]
        scripted = next((answer for word, answer in SCRIPT.items() if word in question), None)
        if scripted is None:
            yield from super().stream(messages, max_tokens=max_tokens, temperature=temperature, stop=stop)
            return
        yield StreamChunk(text=scripted)
        yield StreamChunk(finish_reason="stop", usage=Usage(10, 5))


@pytest.fixture
def answer_set(tmp_path: Path) -> tuple[Path, Path]:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in DOCUMENTS.items():
        (corpus / name).write_text(text + "\n", encoding="utf-8")
    dataset = tmp_path / "answers.jsonl"
    lines = (json.dumps(item, ensure_ascii=False) for item in QUESTIONS)
    dataset.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dataset, corpus


@pytest.fixture
def settings(tmp_path: Path, answer_set: tuple[Path, Path]) -> Settings:
    """The API's settings (``api`` fixture): the answer set configured for ``/api/v1/eval/answers``."""
    return Settings(
        data_dir=tmp_path / "data",
        embedding=EmbeddingSettings(model="hashing"),
        evaluation=EvaluationSettings(answers_dataset=answer_set[0]),
    )


def _settings(tmp_path: Path, mode: str) -> Settings:
    settings = Settings(data_dir=tmp_path / "unused")
    return settings.model_copy(update={"llm": settings.llm.model_copy(update={"answer_mode": mode})})


def _run(tmp_path: Path, answer_set: tuple[Path, Path], kiwi: KiwiTokenizer, mode: str) -> AnswerReport:
    dataset, corpus = answer_set
    return run_answer_eval(
        _settings(tmp_path, mode),
        dataset,
        corpus=corpus,
        out_dir=tmp_path / "reports",
        limit=None,
        embedder="hashing",
        keep=False,
        tokenizer=kiwi,
        chat_model=ScriptedModel(),
    )


def test_metrics_on_known_outcomes(
    tmp_path: Path, answer_set: tuple[Path, Path], kiwi: KiwiTokenizer, capsys: pytest.CaptureFixture[str]
) -> None:
    report = _run(tmp_path, answer_set, kiwi, "generative")
    by_id = {outcome.id: outcome for outcome in report.results}
    assert list(by_id) == ["leave", "perdiem", "password", "parking", "team", "canteen"]
    assert report.meta["questions_dropped"] == 1  # its gold file is not in the corpus
    assert report.meta["documents"] == 4 and report.meta["model"] == "fake-scripted"

    leave, perdiem, password = by_id["leave"], by_id["perdiem"], by_id["password"]
    parking, team, canteen = by_id["parking"], by_id["team"], by_id["canteen"]
    assert leave.answer == DOCUMENTS["휴가규정.txt"]  # the fake quotes source [1], marker stripped
    assert leave.cited == ["휴가규정.txt"] and leave.cited_correct == 1
    assert (leave.exact_match, leave.f1) == (0.0, pytest.approx(char_f1(leave.answer, "15일")))
    # 해외출장일비는하루70달러입니다 (16 characters) against 50달러: 0, 달, 러 in common → F1 0.3
    assert (perdiem.exact_match, perdiem.f1) == (0.0, pytest.approx(0.3))
    assert [figure["text"] for figure in perdiem.unsupported] == ["70달러"]
    assert (password.exact_match, password.f1) == (1.0, 1.0)  # equal once the full stop is gone
    assert parking.abstained and not parking.cited
    assert parking.f1 == pytest.approx(0.1)  # only 지 (of 찾지) in common with 지하2층
    assert team.cited != ["휴가규정.txt"] and team.cited_correct == 0  # [2] lacks 인사팀
    assert team.f1 == pytest.approx(0.5)  # 인사팀에신청합니다: 3 of 9 characters, all of 인사팀
    assert canteen.unanswerable and canteen.abstained
    for outcome in (leave, perdiem, password, parking):
        assert outcome.evidence_hit_1 and outcome.evidence_hit_3
    assert not team.evidence_hit_3  # the evidence comes from the cited (wrong) source
    assert all(o.mode == "generative" for o in report.results)

    metrics = report.metrics
    assert metrics["exact_match"] == pytest.approx(1 / 5)
    assert metrics["f1"] == pytest.approx((leave.f1 + 0.3 + 1.0 + 0.1 + 0.5) / 5)
    assert metrics["f1_full_answer"] == pytest.approx(metrics["f1"])  # no short answers in generative mode
    assert metrics["evidence_hit@1"] == metrics["evidence_hit@3"] == pytest.approx(4 / 5)
    assert metrics["citation_precision"] == pytest.approx(3 / 4)  # leave, perdiem, password right; team wrong
    assert metrics["unsupported_figure_rate"] == pytest.approx(1 / 6)
    assert metrics["abstention_rate"] == pytest.approx(1 / 5)
    assert metrics["correct_abstention_rate"] == 1.0
    assert report.latency_ms["p95"] >= report.latency_ms["p50"] > 0
    assert report.latency_ms["first_token_p50"] > 0
    assert report.by_type["days"]["n"] == 1 and report.by_type["days"]["evidence_hit@1"] == 1.0
    assert sum(row["n"] for row in report.by_type.values()) == 5  # answerable questions only

    data = json.loads((tmp_path / "reports" / REPORT_JSON).read_text(encoding="utf-8"))
    assert data["metrics"]["exact_match"] == 0.2 and len(data["questions"]) == 6
    assert data["questions"][1]["unsupported"][0]["text"] == "70달러"
    markdown = (tmp_path / "reports" / REPORT_MD).read_text(encoding="utf-8")
    assert "| generative |" in markdown and "| perdiem |" in markdown
    assert "citation_precision" in report.to_table()
    assert not (tmp_path / "unused").exists()  # the run used its own temporary data directory
    assert "답변" in capsys.readouterr().err  # progress went to stderr


def test_extractive_mode_scores_the_short_answer(
    tmp_path: Path, answer_set: tuple[Path, Path], kiwi: KiwiTokenizer
) -> None:
    report = _run(tmp_path, answer_set, kiwi, "extractive")
    leave = next(o for o in report.results if o.id == "leave")
    if leave.mode != "extractive":
        pytest.skip("the chat service has no extractive mode yet")
    assert report.label == "extractive"
    assert leave.prediction != leave.answer  # the typed short answer, not the quoted evidence
    assert leave.f1 >= leave.f1_full_answer
    assert leave.evidence_hit_1 and leave.cited == ["휴가규정.txt"]


def test_answer_sets_load_and_fail_readably(tmp_path: Path) -> None:
    squad = Path(__file__).resolve().parents[2] / "bench" / "data" / "constitution_ko_squad.json"
    contexts, questions = load_answer_set(squad)
    assert contexts and questions and all(q.answers and len(q.gold) == 1 for q in questions)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "연차휴가는 며칠인가요?"}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match='needs "answers"'):
        load_answer_set(bad)
    good = tmp_path / "good.jsonl"
    good.write_text('{"question": "연차휴가는 며칠인가요?", "answers": ["15일"]}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match="--corpus"):
        run_answer_eval(
            Settings(data_dir=tmp_path / "d"),
            good,
            corpus=None,
            out_dir=tmp_path,
            limit=None,
            embedder="hashing",
            keep=False,
        )


def test_cli_parses_and_passes_the_mode(
    tmp_path: Path, answer_set: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, kiwi: KiwiTokenizer
) -> None:
    dataset, corpus = answer_set
    argv = ["eval", "answers", "--dataset", str(dataset), "--corpus", str(corpus), "--limit", "2"]
    argv += ["--mode", "generative", "--embedder", "hashing", "--out", str(tmp_path / "out")]
    args = build_parser().parse_args(argv)
    assert args.handler == "app.cli.evaluate:cmd_eval_answers"
    assert (args.limit, args.mode, args.keep) == (2, "generative", False)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["eval", "answers", "--dataset", "x", "--mode", "poetry"])

    started: list[Settings] = []
    real_run = cli_evaluate.run_answer_eval

    def with_fakes(settings: Settings, *a: Any, **kw: Any) -> AnswerReport:
        return real_run(settings, *a, **kw, tokenizer=kiwi, chat_model=ScriptedModel())

    monkeypatch.setattr(cli_evaluate, "ensure_llm_server", lambda settings, _stack: started.append(settings))
    monkeypatch.setattr(cli_evaluate, "run_answer_eval", with_fakes)
    settings = Settings(data_dir=tmp_path / "data")
    assert cli_evaluate.cmd_eval_answers(settings, args) == 0
    assert started and started[0].llm.answer_mode == "generative"
    assert (tmp_path / "out" / REPORT_JSON).is_file()
    missing = argparse.Namespace(**{**vars(args), "dataset": tmp_path / "nope.jsonl"})
    assert cli_evaluate.cmd_eval_answers(settings, missing) == 2


def test_admin_runs_the_answer_set_against_the_current_index(api: ApiHarness) -> None:
    admin = api.admin()
    for name, text in DOCUMENTS.items():
        api.ingest(text, name, public=True)
    api.container.index.refresh()
    response = api.client.post("/api/v1/eval/answers", json={"limit": 3}, headers=admin)
    assert response.status_code == 202, response.text
    assert response.json()["run"]["kind"] == "answers"
    api.container.eval_runner.wait(120)

    run = api.client.get("/api/v1/eval/runs", headers=admin).json()["items"][0]
    assert run["status"] == "succeeded", run
    assert run["kind"] == "answers" and run["dataset"] == "answers.jsonl" and run["n_questions"] == 3
    assert run["meta"]["questions_without_gold_in_index"] == 1 and run["meta"]["model"] == "fake-extractive"
    assert {"evidence_hit@1", "f1", "citation_precision", "unsupported_figure_rate"} <= set(run["metrics"])
    assert run["metrics"]["evidence_hit@1"] == 1.0  # the three first questions find their document
    detail = api.client.get(f"/api/v1/eval/runs/{run['id']}", headers=admin).json()
    assert [q["id"] for q in detail["questions"]] == ["leave", "perdiem", "password"]

    employee = api.user("kim")
    assert api.client.post("/api/v1/eval/answers", json={}, headers=employee).status_code == 403
    api.container.settings.evaluation.answers_dataset = None
    response = api.client.post("/api/v1/eval/answers", json={}, headers=admin)
    assert response.status_code == 422 and "answers_dataset" in response.text
