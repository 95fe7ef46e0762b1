"""Evidence first: Korean sentence splitting and the choice of supporting sentences."""

from __future__ import annotations

from llm.evidence import answer_terms, coverage, select_evidence, split_sentences, term_weights
from llm.prompts import NOT_FOUND_KO

RULES = """# 취업규칙

## 제3장 휴가

제12조(연차휴가)
① 회사는 1년간 80% 이상 출근한 직원에게 15일의 유급휴가를 준다. ② 3년 이상 근속한 직원에게는 \
최초 1년을 초과하는 근속연수 매 2년에 대하여 1일을 가산한 유급휴가를 준다.
제13조(병가) 업무 외 질병으로 요양이 필요한 경우 연간 60일 이내의 병가를 쓸 수 있다. 병가 중 \
1.5일분은 유급으로 한다.
"""
WELFARE = """## 경조사비

- 본인 결혼 시 경조사비 100만원과 특별휴가 5일을 지급한다.
- 자녀 결혼 시 경조사비 50만원을 지급한다.
"""


def test_korean_articles_split_into_clauses_with_their_heading() -> None:
    sentences = split_sentences(RULES)
    assert sentences[0] == "제12조(연차휴가) ① 회사는 1년간 80% 이상 출근한 직원에게 15일의 유급휴가를 준다."
    assert sentences[1].startswith("② 3년 이상 근속한 직원에게는")
    assert sentences[2].startswith("제13조(병가) 업무 외 질병으로")
    assert sentences[3] == "병가 중 1.5일분은 유급으로 한다."  # a decimal point does not end a sentence
    assert not any(s.startswith("#") or s == "취업규칙" for s in sentences)


def test_section_titles_carried_by_chunks_are_not_sentences() -> None:
    chunk = "복리후생 안내\n경조사비\n본인 결혼 시 경조사비 100만원을 지급한다.\n결혼 휴가: 5일\n"
    assert split_sentences(chunk) == ["본인 결혼 시 경조사비 100만원을 지급한다.", "결혼 휴가: 5일"]


def test_bullets_lose_their_markers_and_english_splits_at_full_stops() -> None:
    assert split_sentences(WELFARE) == [
        "본인 결혼 시 경조사비 100만원과 특별휴가 5일을 지급한다.",
        "자녀 결혼 시 경조사비 50만원을 지급한다.",
    ]
    english = "Employees get 15 days of paid leave. Unused days expire after one year! Ask HR."
    assert split_sentences(english)[:2] == [
        "Employees get 15 days of paid leave.",
        "Unused days expire after one year!",
    ]


def test_coverage_tolerates_particles_and_compounds() -> None:
    assert coverage(["연차휴가"], "연차휴가를 쓴다") == 1.0
    assert 0 < coverage(["연차휴가"], "연차를 휴가로 쓴다") < 1.0
    assert coverage(["병가"], "연차휴가를 쓴다") == 0.0
    assert coverage([], "아무 문장") == 0.0


def test_terms_every_sentence_shares_weigh_less_than_rare_ones() -> None:
    sentences = [
        "연구개발과제의 협약을 맺는다.",
        "연구개발과제의 기술료를 징수한다.",
        "연구개발과제를 평가한다.",
    ]
    weights = term_weights(["연구개발과제", "기술료"], sentences)
    assert weights["기술료"] > weights["연구개발과제"] > 0
    # Weighted, the sentence with the rare term covers more of the question than one with the common term.
    terms = ["연구개발과제", "기술료"]
    assert coverage(terms, sentences[1], weights) > coverage(terms, sentences[0], weights) + 0.3
    assert coverage(terms, sentences[1], {}) == coverage(terms, sentences[1])


def test_the_sentence_stating_the_answer_comes_first() -> None:
    evidence = select_evidence(
        "연차휴가는 며칠인가요?", "연차휴가는 15일입니다 [1].", [(1, RULES), (2, WELFARE)]
    )
    assert evidence[0].source == 1
    assert "15일의 유급휴가" in evidence[0].sentence
    assert evidence[0].score > 0.8
    assert all(e.source == 1 for e in evidence)  # nothing in the welfare rules supports it
    assert [e.score for e in evidence] == sorted((e.score for e in evidence), reverse=True)


def test_a_not_found_answer_is_backed_by_what_matches_the_question() -> None:
    evidence = select_evidence("결혼하면 경조사비는 얼마?", NOT_FOUND_KO, [(1, RULES), (2, WELFARE)])
    assert evidence[0].source == 2
    assert "본인 결혼 시 경조사비 100만원" in evidence[0].sentence


def test_prompt_tags_echoed_by_a_small_model_do_not_count_as_answer_terms() -> None:
    echoed = '<source id="3" title="취업규칙 제8조">\n제13조 병가'
    assert answer_terms(echoed) == ["제13조", "병가"]


def test_limits_per_source_and_in_total_and_repeated_sentences_once() -> None:
    overlapping = [(1, RULES), (2, RULES), (3, WELFARE)]  # chunks 1 and 2 repeat each other
    evidence = select_evidence("휴가 병가 유급 경조사비 결혼", "", overlapping, limit=3, relative=0.0)
    assert len(evidence) == 3
    assert len({e.sentence for e in evidence}) == 3
    assert 2 not in {e.source for e in evidence}
    one_each = select_evidence("휴가 병가 유급 경조사비 결혼", "", overlapping, per_source=1, relative=0.0)
    assert sorted(e.source for e in one_each) == [1, 3]


def test_unrelated_sources_give_no_evidence() -> None:
    assert select_evidence("주차장 위치", "주차장은 지하 2층입니다.", [(1, WELFARE)]) == []
    assert select_evidence("연차", "", []) == []


def test_evidence_as_dict_is_json_ready() -> None:
    item = select_evidence("경조사비", "", [(3, WELFARE)])[0]
    assert item.as_dict() == {"source": 3, "sentence": item.sentence, "score": item.score}
