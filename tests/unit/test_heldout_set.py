"""The held-out Korean answer set (issue 15): the committed JSON passes its builder's ``--check`` (offsets,
lengths, distinct contexts, at least 150 questions, at least half paraphrased), agrees with the hand-written
TSV, shares no passage with the sets that ranking was tuned on, and loads as an answer set. Nothing here runs
retrieval or evidence selection on it: the set stays unseen by tuning."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from app.services.answer_eval import load_answer_set

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "bench" / "data"


def _builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_heldout_set", REPO / "tools" / "make_heldout_set.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_heldout_set", module)
    spec.loader.exec_module(module)
    return module


mh = _builder()


@pytest.fixture(scope="module")
def squad() -> dict:
    return json.loads(mh.OUT.read_text(encoding="utf-8"))


def test_committed_set_passes_the_check(squad: dict) -> None:
    counts = mh.check(squad)
    assert 120 <= counts["passages"] <= 260
    assert counts["questions"] >= 150
    assert counts["kinds"]["paraphrase"] * 2 >= counts["questions"]
    # a mix of interrogatives, not one kind of question
    assert {"며칠", "얼마", "몇", "언제", "누구", "무엇", "어떻게", "왜"} <= set(counts["types"])


def test_main_check_prints_the_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert mh.main(["--check"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["questions"] >= 150


def test_check_catches_a_wrong_offset_and_a_duplicate_context(squad: dict) -> None:
    broken = copy.deepcopy(squad)
    qa = next(q for a in broken["data"] for p in a["paragraphs"] for q in p["qas"])
    qa["answers"][0]["answer_start"] += 1
    with pytest.raises(AssertionError):
        mh.check(broken)
    doubled = copy.deepcopy(squad)
    doubled["data"].append(copy.deepcopy(doubled["data"][0]))
    with pytest.raises(AssertionError):
        mh.check(doubled)


def test_build_computes_offsets_and_refuses_a_missing_answer() -> None:
    passages = [
        {
            "id": "h000",
            "source": "manual_b1",
            "text": "[절] 연차는 15일이고 반차는 0.5일이다. 15일 안에 쓴다.",
        }
    ]
    rows = [
        {
            "pid": "h000",
            "kind": "lexical",
            "type": "며칠",
            "question": "연차는?",
            "answer": "15일",
            "occurrence": 1,
            "line": 1,
        },
    ]
    built = mh.build(passages, rows)
    answer = built["data"][0]["paragraphs"][0]["qas"][0]["answers"][0]
    assert answer == {"text": "15일", "answer_start": passages[0]["text"].rindex("15일")}
    with pytest.raises(SystemExit, match="not in h000"):
        mh.build(passages, [dict(rows[0], answer="20일", occurrence=0)])
    with pytest.raises(SystemExit, match="no passage h999"):
        mh.build(passages, [dict(rows[0], pid="h999", occurrence=0)])


def test_the_json_matches_the_hand_written_questions(squad: dict) -> None:
    rows = mh.read_questions(mh.QUESTIONS)
    by_question = {
        qa["question"]: (
            article["title"].rsplit(" ", 1)[-1],
            qa["answers"][0]["text"],
            qa["kind"],
            qa["type"],
        )
        for article in squad["data"]
        for para in article["paragraphs"]
        for qa in para["qas"]
    }
    assert len(rows) == len(by_question)
    for row in rows:
        assert by_question[row["question"]] == (row["pid"], row["answer"], row["kind"], row["type"])


def test_no_passage_comes_from_the_tuned_sets(squad: dict) -> None:
    tuned: set[str] = set()
    texts: set[str] = set()
    for name in ("statutes_ko_squad.json", "constitution_ko_squad.json"):
        for article in json.loads((DATA / name).read_text(encoding="utf-8"))["data"]:
            for para in article["paragraphs"]:
                tuned |= mh.shingles(para["context"])
                texts.add(para["context"])
    for article in squad["data"]:
        ctx = article["paragraphs"][0]["context"]
        assert ctx not in texts
        mine = mh.shingles(ctx)
        assert len(mine & tuned) <= 0.4 * len(mine), article["title"]


def test_loads_as_an_answer_set() -> None:
    contexts, questions = load_answer_set(mh.OUT)
    assert contexts is not None and len(contexts) == len({c for _, c in contexts}) >= 120
    assert len(questions) >= 150 and all(q.answers for q in questions)
