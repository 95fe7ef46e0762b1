"""`jikji eval retrieval` end to end on a tiny Korean SQuAD-format set (real pipeline and searcher).

The set's questions use other particles and endings than their paragraphs (연차휴가를 → 연차휴가는,
제출하여야 → 내야), so BM25 over Kiwi morphemes should find more gold paragraphs first than BM25
over whitespace tokens.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import build_parser
from app.services.evaluation import REPORT_JSON, REPORT_MD, run_retrieval_eval
from core.settings import RetrievalSettings, Settings
from retrieval.evaluation import DatasetError, EvalReport
from retrieval.tokenizer import KiwiTokenizer

pytestmark = pytest.mark.integration

DATASET = Path(__file__).resolve().parents[1] / "data" / "squad_tiny_ko.json"
METRICS = ["R@1", "R@5", "R@10", "MRR@10", "nDCG@10"]


def _run(settings: Settings, out: Path, kiwi: KiwiTokenizer, baseline: str | None) -> EvalReport:
    return run_retrieval_eval(
        settings,
        DATASET,
        baseline=baseline,
        corpus=None,
        out_dir=out,
        k=10,
        limit=None,
        embedder="hashing",
        keep=False,
        tokenizer=kiwi,
    )


def test_hybrid_and_whitespace_baseline(
    tmp_path: Path, kiwi: KiwiTokenizer, capsys: pytest.CaptureFixture[str]
) -> None:
    # The hashing embedder is no semantic model: like MiniLM on Korean it only breaks BM25's ties.
    settings = Settings(data_dir=tmp_path / "unused", retrieval=RetrievalSettings(dense_weight=0.05))
    hybrid = _run(settings, tmp_path / "hybrid", kiwi, None)
    whitespace = _run(settings, tmp_path / "ws", kiwi, "whitespace-bm25")

    assert hybrid.label == "hybrid" and whitespace.label == "whitespace-bm25"
    for report in (hybrid, whitespace):
        assert list(report.metrics) == METRICS
        assert report.n_questions == 16
        assert all(0.0 <= v <= 1.0 for v in report.metrics.values())
        assert report.metrics["R@1"] <= report.metrics["R@5"] <= report.metrics["R@10"]
        assert report.latency_p50_ms > 0 and report.latency_p95_ms >= report.latency_p50_ms
        assert report.meta["documents"] == 8
        assert report.meta["embedder"] == "hashing"
    assert whitespace.meta["tokenizer"] == "whitespace" and whitespace.meta["dense_weight"] == 0.0
    assert hybrid.meta["tokenizer"] == "kiwi"

    # Kiwi morphemes bridge the particles and endings; whitespace tokens mostly cannot.
    assert hybrid.metrics["R@1"] >= 0.8
    assert hybrid.metrics["R@1"] > whitespace.metrics["R@1"]

    data = json.loads((tmp_path / "hybrid" / REPORT_JSON).read_text(encoding="utf-8"))
    assert data["label"] == "hybrid" and len(data["questions"]) == 16
    assert data["questions"][0]["top"][0].startswith("ctx-")
    assert "| hybrid |" in (tmp_path / "hybrid" / REPORT_MD).read_text(encoding="utf-8")
    assert not (tmp_path / "unused").exists()  # the run used its own temporary data directory
    assert "검색" in capsys.readouterr().err  # progress went to stderr


def test_kiwi_bm25_beats_whitespace_at_rank_one(tmp_path: Path, kiwi: KiwiTokenizer) -> None:
    settings = Settings(data_dir=tmp_path / "unused")
    kiwi_bm25 = _run(settings, tmp_path / "bm25", kiwi, "bm25")
    whitespace = _run(settings, tmp_path / "ws", kiwi, "whitespace-bm25")
    assert kiwi_bm25.meta["dense_weight"] == 0.0
    assert kiwi_bm25.metrics["R@1"] >= whitespace.metrics["R@1"] + 0.3


def test_the_plain_reference_baseline_and_the_diagnostics(tmp_path: Path, kiwi: KiwiTokenizer) -> None:
    settings = Settings(data_dir=tmp_path / "unused")
    plain = _run(settings, tmp_path / "plain", kiwi, "plain-bm25")
    whitespace = _run(settings, tmp_path / "ws", kiwi, "whitespace-bm25")
    assert plain.label == "plain-bm25" and plain.meta["tokenizer"] == "kiwi-plain"
    assert plain.meta["embedder"] == "hashing"  # the reference needs no embedding model
    assert plain.metrics["R@1"] > whitespace.metrics["R@1"]
    stats = plain.meta["chunk_stats"]
    assert stats["documents"] == 8 and stats["chunks"] >= 8 and stats["chars_per_chunk_mean"] > 20
    assert sum(row["n"] for row in plain.by_type.values()) == plain.n_questions
    shown = (tmp_path / "plain" / REPORT_MD).read_text(encoding="utf-8")
    assert "By question type" in shown and "chunk_stats" in shown


def test_jsonl_needs_a_corpus(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": "q", "gold_doc_ids": ["a.md"]}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match="--corpus"):
        run_retrieval_eval(
            Settings(data_dir=tmp_path / "d"),
            path,
            baseline=None,
            corpus=None,
            out_dir=tmp_path / "out",
            k=10,
            limit=None,
            embedder="hashing",
            keep=False,
        )


def test_cli_parses_eval_retrieval() -> None:
    args = build_parser().parse_args(
        [
            "eval",
            "retrieval",
            "--dataset",
            "d.jsonl",
            "--corpus",
            "docs",
            "--baseline",
            "dense",
            "--limit",
            "5",
        ]
    )
    assert args.dataset == Path("d.jsonl") and args.corpus == Path("docs")
    assert args.baseline == "dense" and args.limit == 5 and args.k == 10
    assert args.out is None and not args.keep  # None: the settings' reports directory
    assert args.handler == "app.cli.evaluate:cmd_eval_retrieval"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["eval", "retrieval", "--dataset", "d", "--baseline", "nope"])


def test_jsonl_with_corpus_ids_and_answers(tmp_path: Path, kiwi: KiwiTokenizer) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "휴가.txt").write_text("직원에게는 15일의 연차휴가를 부여한다.", encoding="utf-8")
    (corpus / "출장.md").write_text("# 출장\n\n출장 숙박비는 1박당 10만 원까지 정산한다.", encoding="utf-8")
    (corpus / "보안.txt").write_text("비밀번호는 90일마다 변경하여야 한다.", encoding="utf-8")
    lines = [
        {"id": "a", "question": "연차휴가는 며칠인가요?", "gold_doc_ids": ["휴가.txt"]},
        {"id": "b", "question": "숙박비는 얼마까지 나오나요?", "answers": ["10만 원"]},
        {"id": "c", "question": "비밀번호 변경 주기는?", "gold_files": ["보안.txt", "없는파일.pdf"]},
        {"id": "d", "question": "답이 어디에도 없는 질문", "answers": ["존재하지 않는 문자열"]},
    ]
    dataset = tmp_path / "q.jsonl"
    dataset.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), encoding="utf-8")
    report = run_retrieval_eval(
        Settings(data_dir=tmp_path / "unused"),
        dataset,
        baseline="bm25",
        corpus=corpus,
        out_dir=tmp_path / "out",
        k=12,
        limit=None,
        embedder="hashing",
        keep=False,
        tokenizer=kiwi,
    )
    assert report.n_questions == 3  # "d" has no gold document in the corpus
    assert report.meta["questions_dropped"] == 1 and report.meta["documents"] == 3
    assert report.meta["search_depth_chunks"] == 12
    assert "R@12" in report.metrics
    assert report.metrics["R@1"] == 1.0
    assert [r.top[0] for r in report.results] == ["휴가.txt", "출장.md", "보안.txt"]


def test_malformed_jsonl_fails_before_ingesting(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": "q", "gold_doc_ids": ["a.md"]}\nnot json\n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"q\.jsonl:2"):
        run_retrieval_eval(
            Settings(data_dir=tmp_path / "d"),
            path,
            baseline=None,
            corpus=tmp_path,
            out_dir=tmp_path / "out",
            k=10,
            limit=None,
            embedder="hashing",
            keep=False,
        )
    assert not (tmp_path / "out").exists()
