"""``jikji finetune export`` on a live index (SQLite and PostgreSQL): lines in the answer prompt format
with cited reference answers from golden items, the documents and abstention questions; scoped to what
a group may see, personal data masked, deduplicated, split by document, statistics printed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.cli import main as cli_main
from core.settings import Settings
from llm.prompts import NOT_FOUND_KO, SYSTEM_PROMPT_KO
from tests.api_harness import ApiHarness
from tests.conftest import point_cli_at

pytestmark = pytest.mark.integration

HR_RULES = """# 인사규정

## 제1조(목적)

이 규정은 직원의 근무 조건과 복지를 정함을 목적으로 한다.

## 제2조(연차휴가)

① 신입 직원의 연차휴가는 입사 첫해에 15일로 한다.
② 연차휴가는 사용 3일 전까지 인사팀에 신청하여 승인을 받아야 한다.

## 제3조(경조금)

직원 본인 결혼 시 경조금 500,000원을 담당자 010-1234-5678에게 신청하여 받는다.
"""
FINANCE_SECRET = """# 재무 기밀

## 제1조(예산)

블루펭귄프로젝트 예산은 총 987억원이며 재무팀만 열람한다.
"""
PUBLIC_NOTICE = """# 식당 안내

## 제1조(운영)

점심은 11시 30분부터 13시까지 제공한다.
"""


@pytest.fixture
def settings(settings_on_each_database: Settings) -> Settings:
    """These tests run on SQLite and on PostgreSQL."""
    return settings_on_each_database


@pytest.fixture
def corpus(api: ApiHarness, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """HR's rules (인사팀), finance's secret (재무팀), a public notice; a golden item for each."""
    ids = {
        "hr": api.ingest(HR_RULES, "인사규정.md", groups=["인사팀"]),
        "finance": api.ingest(FINANCE_SECRET, "재무기밀.md", groups=["재무팀"]),
        "public": api.ingest(PUBLIC_NOTICE, "식당안내.md", public=True),
    }
    admin = api.admin()
    golden = [
        ("신입 연차휴가는 며칠?", "15일", "hr", ["인사팀"]),
        ("블루펭귄프로젝트 예산은?", "987억원", "finance", ["재무팀"]),
        ("점심은 몇 시부터?", "11시 30분", "public", []),
    ]
    for question, answer, key, groups in golden:
        body = {"question": question, "answers": [answer], "document_ids": [ids[key]]}
        if groups:
            body["group_ids"] = [api.group(g) for g in groups]
        response = api.client.post("/api/v1/golden", json=body, headers=admin)
        assert response.status_code == 201, response.text
    point_cli_at(settings, monkeypatch)
    return ids


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _export(out: Path, *args: str) -> list[dict[str, Any]]:
    assert cli_main(["finetune", "export", "--out", str(out), *args]) == 0
    return _lines(out / "train.jsonl") + _lines(out / "heldout.jsonl")


def test_a_group_export_is_in_the_answer_format_and_holds_only_what_the_group_sees(
    corpus: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Everything in train: the split hashes document ids, which are random per run, so with a held-out
    # share the train split's statistics below would depend on which document the hash set aside.
    lines = _export(tmp_path / "hr", "--group", "인사팀", "--heldout", "0")
    printed = capsys.readouterr().out
    assert "golden" in printed and "tokens" in printed

    for line in lines:
        roles = [m["role"] for m in line["messages"]]
        assert roles == ["system", "user", "assistant"]
        assert line["messages"][0]["content"] == SYSTEM_PROMPT_KO
        assert line["messages"][1]["content"].startswith("<sources>")
        assert "질문: " in line["messages"][1]["content"]
        assert set(line["meta"]) == {"source", "form", "document_ids", "context_document_ids", "groups"}
        assert set(line["meta"]["context_document_ids"]) <= {corpus["hr"], corpus["public"]}
        text = json.dumps(line, ensure_ascii=False)
        assert "블루펭귄" not in text and "987억" not in text and corpus["finance"] not in text
        assert "재무팀" not in text
        assert set(line["meta"]["document_ids"]) <= {corpus["hr"], corpus["public"]}

    sources = {line["meta"]["source"] for line in lines}
    assert sources == {"golden", "document", "abstain"}
    golden = [line for line in lines if line["meta"]["source"] == "golden"]
    assert {g["messages"][1]["content"].rsplit("질문: ", 1)[1] for g in golden} == {
        "신입 연차휴가는 며칠?",
        "점심은 몇 시부터?",
    }
    hr_golden = next(g for g in golden if "연차" in g["messages"][1]["content"].rsplit("질문: ", 1)[1])
    assert hr_golden["meta"]["groups"] == ["인사팀"]
    answer = hr_golden["messages"][2]["content"]
    assert answer.startswith("15일 [")
    number = answer.rsplit("[", 1)[1].rstrip("]")
    assert f'<source id="{number}" title="' in hr_golden["messages"][1]["content"]

    documents = [line for line in lines if line["meta"]["source"] == "document"]
    questions = [d["messages"][1]["content"].rsplit("질문: ", 1)[1] for d in documents]
    assert any("제2조(연차휴가)" in q and "기한" in q for q in questions), (questions, printed)
    assert any("제3조(경조금)" in q and "금액" in q for q in questions)
    amount = next(d for d in documents if "금액" in d["messages"][1]["content"].rsplit("질문: ", 1)[1])
    assert "500,000원" in amount["messages"][2]["content"]
    # Personal data is masked wherever it appears (the sources and the answers).
    assert "010-1234-5678" not in json.dumps(lines, ensure_ascii=False)
    assert "[전화번호]" in amount["messages"][2]["content"]

    abstain = [line for line in lines if line["meta"]["source"] == "abstain"]
    assert abstain and all(a["messages"][2]["content"] == NOT_FOUND_KO for a in abstain)
    assert all(a["meta"]["document_ids"] == [] for a in abstain)
    asked = {a["meta"]["form"]: a["messages"][1]["content"].rsplit("질문: ", 1)[1] for a in abstain}
    assert set(asked) <= {"missing_article", "topic_aspect", "off_topic"}
    stats = json.loads((tmp_path / "hr" / "stats.json").read_text(encoding="utf-8"))
    assert stats["abstain_cap"] == 0.15 and stats["golden_weight"] == 3
    train = _lines(tmp_path / "hr" / "train.jsonl")
    share = sum(line["meta"]["source"] == "abstain" for line in train) / len(train)
    assert 0 < share <= 0.15 and stats["abstain_share"]["train"] == round(share, 4), stats
    assert stats["skipped"]["abstain_over_cap"] > 0  # without the cap abstentions would be a third
    assert "abstention share" in printed and "distinct question frames" in printed
    # Colloquial and keyword forms, naming the article's topic as employees do.
    forms = {d["meta"]["form"] for d in documents}
    assert forms == {"template", "colloquial", "keyword"}
    assert "경조금 금액" in questions and "연차휴가 일수" in questions
    assert stats["distinct_question_frames"]["train"] > 10
    # Golden items are repeated in train (employees' real phrasing weighs more); other questions are unique.
    everything = [line["messages"][1]["content"].rsplit("질문: ", 1)[1] for line in train]
    assert everything.count("신입 연차휴가는 며칠?") + everything.count("점심은 몇 시부터?") == 3 * len(
        {q for q in everything if q in {"신입 연차휴가는 며칠?", "점심은 몇 시부터?"}}
    )
    others = [
        q for line, q in zip(lines, map(_question, lines), strict=True) if line["meta"]["source"] != "golden"
    ]
    assert len(others) == len(set(others))


def _question(line: dict[str, Any]) -> str:
    return str(line["messages"][1]["content"].rsplit("질문: ", 1)[1])


def test_without_a_group_only_public_documents_and_all_by_an_admin(
    corpus: dict[str, str], tmp_path: Path
) -> None:
    public = _export(tmp_path / "public")
    text = json.dumps(public, ensure_ascii=False)
    assert "연차휴가" not in text and "블루펭귄" not in text
    assert {d for line in public for d in line["meta"]["document_ids"]} == {corpus["public"]}

    everything = _export(tmp_path / "all", "--all")
    assert {d for line in everything for d in line["meta"]["document_ids"]} == set(corpus.values())
    assert cli_main(["finetune", "export", "--out", str(tmp_path / "x"), "--group", "없는팀"]) == 2
    assert cli_main(["finetune", "export", "--out", str(tmp_path / "x"), "--group", "인사팀", "--all"]) == 2


def test_the_split_is_by_document_and_deterministic(corpus: dict[str, str], tmp_path: Path) -> None:
    _export(tmp_path / "a", "--all", "--heldout", "0.5")
    _export(tmp_path / "b", "--all", "--heldout", "0.5")
    for name in ("train.jsonl", "heldout.jsonl", "stats.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    train, heldout = _lines(tmp_path / "a" / "train.jsonl"), _lines(tmp_path / "a" / "heldout.jsonl")
    train_docs = {d for line in train for d in line["meta"]["document_ids"]}
    heldout_docs = {d for line in heldout for d in line["meta"]["document_ids"]}
    assert not train_docs & heldout_docs
    stats = json.loads((tmp_path / "a" / "stats.json").read_text(encoding="utf-8"))
    assert stats["total"] == len(train) + len(heldout) and stats["tokens_estimate"] > 0


def test_golden_weight_and_abstention_cap_are_options(corpus: dict[str, str], tmp_path: Path) -> None:
    lines = _export(tmp_path / "c", "--all", "--heldout", "0", "--golden-weight", "1", "--abstain-cap", "0")
    assert not [line for line in lines if line["meta"]["source"] == "abstain"]
    golden = [_question(line) for line in lines if line["meta"]["source"] == "golden"]
    assert sorted(golden) == sorted(set(golden)) and len(golden) == 3
    stats = json.loads((tmp_path / "c" / "stats.json").read_text(encoding="utf-8"))
    assert (
        stats["abstain_cap"] == 0 and stats["golden_weight"] == 1 and stats["skipped"]["abstain_over_cap"] > 0
    )
