"""Retrieval evaluation: metrics against hand-computed values, dataset loaders, the report."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from core.question_types import answer_nouns, question_type
from retrieval.evaluation import (
    DatasetError,
    EvalQuestion,
    dedupe,
    evaluate,
    is_squad,
    load_jsonl,
    load_squad,
    mrr_at,
    ndcg_at,
    percentile,
    recall_at,
    restrict_to_corpus,
)

DATA = Path(__file__).resolve().parents[1] / "data"
REPO = Path(__file__).resolve().parents[2]


def q(qid: str, *gold: str) -> EvalQuestion:
    return EvalQuestion(qid, f"질문 {qid}", frozenset(gold))


# --- metrics -------------------------------------------------------------------------------


def test_dedupe_keeps_first_occurrence_order() -> None:
    assert dedupe(["b", "a", "b", "c", "a"]) == ["b", "a", "c"]


def test_recall_at_is_any_gold_within_k() -> None:
    ranked = ["x", "y", "g", "z"]
    assert recall_at(ranked, frozenset({"g"}), 1) == 0.0
    assert recall_at(ranked, frozenset({"g"}), 2) == 0.0
    assert recall_at(ranked, frozenset({"g"}), 3) == 1.0
    assert recall_at(ranked, frozenset({"g", "x"}), 1) == 1.0
    assert recall_at([], frozenset({"g"}), 10) == 0.0


def test_mrr_at_uses_first_gold_and_cutoff() -> None:
    ranked = ["x", "y", "g", "h"]
    assert mrr_at(ranked, frozenset({"g", "h"}), 10) == pytest.approx(1 / 3)
    assert mrr_at(ranked, frozenset({"g"}), 2) == 0.0
    assert mrr_at(["g"], frozenset({"g"}), 10) == 1.0


def test_ndcg_at_hand_computed() -> None:
    # one gold at rank 2: DCG = 1/log2(3), IDCG = 1
    assert ndcg_at(["x", "g"], frozenset({"g"}), 10) == pytest.approx(1 / math.log2(3))
    # two gold at ranks 1 and 3: DCG = 1 + 1/2, IDCG = 1 + 1/log2(3)
    expected = (1 + 0.5) / (1 + 1 / math.log2(3))
    assert ndcg_at(["a", "x", "b"], frozenset({"a", "b"}), 10) == pytest.approx(expected)
    # gold beyond the cutoff counts for nothing; empty gold scores 0
    assert ndcg_at(["x", "g"], frozenset({"g"}), 1) == 0.0
    assert ndcg_at(["x"], frozenset(), 10) == 0.0
    # perfect ranking scores 1
    assert ndcg_at(["a", "b", "x"], frozenset({"a", "b"}), 10) == pytest.approx(1.0)


def test_ndcg_ideal_is_capped_at_k() -> None:
    gold = frozenset({"a", "b", "c"})
    assert ndcg_at(["a", "b"], gold, 2) == pytest.approx(1.0)


def test_percentile_interpolates() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    assert percentile([10.0], 95) == 10.0
    assert percentile([0.0, 100.0], 95) == pytest.approx(95.0)
    assert math.isnan(percentile([], 50))


def test_evaluate_aggregates_and_dedupes_chunks() -> None:
    questions = [q("1", "a"), q("2", "b"), q("3", "c"), q("4", "d")]
    ranked = [
        ["a", "a", "x"],  # rank 1
        ["x", "x", "x", "b"],  # chunk rank 4 → document rank 2
        ["x", "y", "z", "w", "v", "c"],  # document rank 6
        ["x"],  # miss
    ]
    report = evaluate(ranked, questions, [1.0, 2.0, 3.0, 4.0], label="t")
    assert list(report.metrics) == ["R@1", "R@5", "R@10", "MRR@10", "nDCG@10"]
    assert report.metrics["R@1"] == pytest.approx(0.25)
    assert report.metrics["R@5"] == pytest.approx(0.5)
    assert report.metrics["R@10"] == pytest.approx(0.75)
    assert report.metrics["MRR@10"] == pytest.approx((1 + 1 / 2 + 1 / 6) / 4)
    expected_ndcg = (1 + 1 / math.log2(3) + 1 / math.log2(7)) / 4
    assert report.metrics["nDCG@10"] == pytest.approx(expected_ndcg)
    assert report.latency_p50_ms == pytest.approx(2.5)
    assert [r.first_rank for r in report.results] == [1, 2, 6, None]
    assert report.results[1].top == ("x", "b")


def test_evaluate_extra_cutoff_and_length_check() -> None:
    report = evaluate([["x", "a"]], [q("1", "a")], [1.0], recall_cutoffs=(1, 2, 5, 10))
    assert report.metrics["R@2"] == 1.0
    with pytest.raises(ValueError, match="rankings"):
        evaluate([], [q("1", "a")], [])


def test_report_json_and_markdown() -> None:
    report = evaluate([["a"]], [q("1", "a")], [3.0], label="bm25", meta={"tokenizer": "kiwi"})
    data = json.loads(report.to_json())
    assert data["label"] == "bm25"
    assert data["metrics"]["R@1"] == 1.0
    assert data["latency_ms"] == {"p50": 3.0, "p95": 3.0}
    assert data["questions"] == [{"id": "1", "first_rank": 1, "top": ["a"]}]
    markdown = report.to_markdown()
    assert "| run | R@1 | R@5 | R@10 | MRR@10 | nDCG@10 | p50 ms | p95 ms | n |" in markdown
    assert "| bm25 | 1.000 |" in markdown
    assert "| tokenizer | kiwi |" in markdown
    table = report.to_table().splitlines()
    assert table[0].split() == [
        "run",
        "R@1",
        "R@5",
        "R@10",
        "MRR@10",
        "nDCG@10",
        "p50",
        "ms",
        "p95",
        "ms",
        "n",
    ]
    assert table[1].split()[:2] == ["bm25", "1.000"]


# --- loaders -------------------------------------------------------------------------------


def test_load_squad_tiny_set() -> None:
    contexts, questions = load_squad(DATA / "squad_tiny_ko.json")
    assert len(contexts) == 8
    assert len(questions) == 16
    assert contexts[0][0] == "ctx-00000.txt"
    assert "연차휴가를" in contexts[0][1]
    assert questions[0] == EvalQuestion("q01", "연차휴가는 며칠 주어지나요?", frozenset({"ctx-00000.txt"}))
    assert questions[-1].gold == frozenset({"ctx-00007.txt"})
    assert is_squad(DATA / "squad_tiny_ko.json")


def test_load_squad_shares_identical_contexts(tmp_path: Path) -> None:
    para = {"context": "같은 문단", "qas": [{"id": "a", "question": "질문?", "answers": []}]}
    other = {"context": "다른 문단", "qas": [{"id": "b", "question": "또?", "answers": []}]}
    path = tmp_path / "s.json"
    path.write_text(
        json.dumps({"data": [{"title": "t", "paragraphs": [para, other, para]}]}), encoding="utf-8"
    )
    contexts, questions = load_squad(path)
    assert contexts == [("ctx-00000.txt", "같은 문단"), ("ctx-00001.txt", "다른 문단")]
    assert [x.gold for x in questions] == [
        frozenset({"ctx-00000.txt"}),
        frozenset({"ctx-00001.txt"}),
        frozenset({"ctx-00000.txt"}),
    ]


def test_load_squad_rejects_other_json(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"items": []}', encoding="utf-8")
    assert not is_squad(path)
    with pytest.raises(DatasetError, match="SQuAD"):
        load_squad(path)


def test_load_jsonl_gold_ids_and_devset_format(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    lines = [
        {"id": "x1", "question": "연차는?", "gold_doc_ids": ["취업규칙.md"]},
        {"question": "출장비는?", "gold_files": ["출장경비규정.pdf", "b.md"]},
    ]
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n\n", encoding="utf-8")
    questions = load_jsonl(path, None)
    assert questions[0] == EvalQuestion("x1", "연차는?", frozenset({"취업규칙.md"}))
    assert questions[1].id == "q000002"
    assert questions[1].gold == frozenset({"출장경비규정.pdf", "b.md"})
    assert not is_squad(path)


def test_load_jsonl_normalises_decomposed_names(tmp_path: Path) -> None:
    import unicodedata

    path = tmp_path / "q.jsonl"
    nfd = unicodedata.normalize("NFD", "취업규칙.md")
    path.write_text(json.dumps({"question": "q", "gold_doc_ids": [nfd]}), encoding="utf-8")
    assert load_jsonl(path, None)[0].gold == frozenset({"취업규칙.md"})


def test_load_jsonl_answers_find_documents(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(
        json.dumps(
            {"question": "연차는 며칠?", "answers": ["15일", {"text": "열다섯  날"}]}, ensure_ascii=False
        ),
        encoding="utf-8",
    )
    corpus = {"a.md": "연차휴가는 15일이다.", "b.md": "열다섯\n날", "c.md": "관계없음"}
    assert load_jsonl(path, corpus)[0].gold == frozenset({"a.md", "b.md"})
    with pytest.raises(DatasetError, match="corpus"):
        load_jsonl(path, None)


def test_load_jsonl_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": "ok", "gold_doc_ids": ["a"]}\n{broken\n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"q\.jsonl:2"):
        load_jsonl(path, None)
    path.write_text('{"question": "no gold"}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match="gold_doc_ids"):
        load_jsonl(path, None)


def test_answers_find_their_documents_whitespace_insensitively(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(
        json.dumps({"id": "x", "question": "연차?", "answers": ["제12조 연차"]}), encoding="utf-8"
    )
    [question] = load_jsonl(path, {"a": "제12조\n  연차휴가", "b": "제12조연차"})
    assert question.gold == frozenset({"a"})


def test_restrict_to_corpus_drops_unknown_gold() -> None:
    questions = [q("1", "a", "zz"), q("2", "zz"), q("3")]
    restricted = restrict_to_corpus(questions, ["a", "b"])
    assert [x.id for x in restricted.kept] == ["1"]
    assert restricted.kept[0].gold == frozenset({"a"})
    assert [x.id for x in restricted.dropped] == ["2", "3"]
    assert restricted.unknown_keys == frozenset({"zz"})


def test_devset_loads_with_gold_files() -> None:
    questions = load_jsonl(REPO / "bench" / "data" / "devset_ko.jsonl", None)
    assert len(questions) > 100
    assert all(x.gold for x in questions)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("연차휴가는 며칠인가요?", "days"),
        ("출장 숙박은 몇 박까지 되나요?", "days"),
        ("해외 출장 일비는 얼마인가요?", "amount"),
        ("위원은 몇 명으로 구성되나요?", "count"),
        ("회의는 몇 시에 시작하나요?", "when"),
        ("신청 기한은 언제까지인가요?", "when"),
        ("승인권자는 누구인가요?", "who"),
        ("원본은 어디에 보관하나요?", "where"),
        ("재택근무 신청은 어떻게 하나요?", "how"),
        ("왜 비밀번호를 바꿔야 하나요?", "why"),
        ("보안 등급의 종류는 무엇인가요?", "what"),
        ("수습 기간에도 연차가 생기나요?", "yes-no"),
        ("법인카드 한도", "other"),
    ],
)
def test_question_types(question: str, kind: str) -> None:
    assert question_type(question) == kind


@pytest.mark.parametrize(
    ("question", "nouns"),
    [
        ("연차휴가는 며칠인가요?", ["일수"]),
        ("병가는 몇 일까지 쓸 수 있나요?", ["일수"]),
        ("출장 숙박은 몇 박까지 되나요?", ["숙박 일수"]),
        ("해외 출장 일비는 얼마인가요?", ["금액"]),
        ("결재는 얼마나 걸리나요?", ["기간"]),
        ("위원은 몇 명으로 구성되나요?", ["인원"]),
        ("교육은 1년에 몇 회 받아야 하나요?", ["횟수"]),
        ("신청 기한은 언제까지인가요?", ["기한"]),
        ("원본은 어디에 보관하나요?", ["장소"]),
        ("승인권자는 누구인가요?", []),
        ("재택근무 신청은 어떻게 하나요?", []),
    ],
)
def test_answer_nouns_name_what_the_question_asks_for(question: str, nouns: list[str]) -> None:
    assert answer_nouns(question) == nouns


def test_reports_break_results_down_by_question_type() -> None:
    questions = [
        EvalQuestion("a", "연차는 며칠?", frozenset({"x"})),
        EvalQuestion("b", "휴가는 며칠?", frozenset({"y"})),
        EvalQuestion("c", "일비는 얼마?", frozenset({"z"})),
    ]
    report = evaluate([["x"], ["x", "y"], ["z"]], questions, [1.0, 1.0, 1.0])
    assert report.by_type["days"] == {"n": 2.0, "R@1": 0.5, "R@5": 1.0, "MRR@10": 0.75}
    assert report.by_type["amount"]["R@1"] == 1.0
    assert "| days | 2 | 0.500 | 1.000 | 0.750 |" in report.to_markdown()
    assert report.to_dict()["by_type"]["days"]["MRR@10"] == 0.75
