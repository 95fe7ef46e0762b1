"""Evidence first: Korean sentence splitting and the choice of supporting sentences."""

from __future__ import annotations

from llm.evidence import (
    answer_terms,
    coverage,
    question_terms,
    select_evidence,
    split_sentences,
    split_units,
    term_weights,
)
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


def test_a_compound_matches_a_word_holding_its_halves_with_a_modifier_between() -> None:
    assert coverage(["연차휴가"], "15일의 연차유급휴가를 준다") == 1.0
    assert coverage(["출장경비"], "출장여비와 경비") < 1.0  # halves in two words: partial only
    assert coverage(["휴가연차"], "연차유급휴가를 준다") < 1.0  # halves out of order
    assert coverage(["연차휴가"], "연차휴가") == 1.0


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


def test_list_items_dates_and_faq_questions_split_as_a_reader_would() -> None:
    statute = (
        "① 수요조사에는 다음 각 호의 사항이 포함돼야 한다.\n1. 목표 및 내용\n4. 정부지원 규모 및 형태\n"
        "부칙 단, 제87조제5항은 2024. 9. 1.부터 시행한다.\n"
        "○ ’09. 3. 2 파견 동의안 국회 가결 ○ ’09. 3. 13 청해부대 출항"
    )
    assert split_sentences(statute) == [
        "① 수요조사에는 다음 각 호의 사항이 포함돼야 한다.",
        "정부지원 규모 및 형태",  # a list item is kept however short ("목표 및 내용" is under 8 characters)
        "부칙 단, 제87조제5항은 2024. 9. 1.부터 시행한다.",  # no split after a digit
        "’09. 3. 2 파견 동의안 국회 가결",  # ○ opens an item within a line
        "’09. 3. 13 청해부대 출항",
    ]
    faq = "Q. 비밀번호를 잊어버렸어요. 어떻게 초기화하나요?\n포털에서 비밀번호 재설정을 누르면 됩니다."
    assert split_sentences(faq)[0] == "Q. 비밀번호를 잊어버렸어요. 어떻게 초기화하나요?"


def test_a_line_broken_mid_sentence_is_joined_and_long_sentences_are_cut_at_commas() -> None:
    wrapped = "1회 예약은 최대 2시간까지이며, 연속 예약은 같은 부서 기준으로\n하루 4시간을 넘을 수 없습니다."
    assert split_sentences(wrapped) == [
        "1회 예약은 최대 2시간까지이며, 연속 예약은 같은 부서 기준으로 하루 4시간을 넘을 수 없습니다."
    ]
    bullets = (
        "4. 특별 회의실\n- 사용일 3영업일 전까지 그룹웨어로 신청하고 총무팀 승인을 받아야\n합니다.\n"
        "- 생중계(사내 방송)가 필요하면 IT인프라팀에 5영업일 전까지\n요청합니다.\n"
        "11. 보안 사고 신고\n노트북 분실을 발견한 경우 즉시 정보보안팀에 신고한다."
    )
    assert split_sentences(bullets) == [
        "사용일 3영업일 전까지 그룹웨어로 신청하고 총무팀 승인을 받아야 합니다.",
        "생중계(사내 방송)가 필요하면 IT인프라팀에 5영업일 전까지 요청합니다.",
        "보안 사고 신고",  # a short numbered title is not a wrapped item
        "노트북 분실을 발견한 경우 즉시 정보보안팀에 신고한다.",
    ]
    long = (
        ", ".join(f"{n}번째 조항의 내용을 성실하게 지키며 기록으로 남기고" for n in range(1, 15))
        + " 시행한다."
    )
    pieces = split_sentences(long)
    assert len(pieces) > 1 and all(len(p) <= 300 for p in pieces)
    assert "".join(pieces).replace(" ", "") == long.replace(" ", "")  # nothing clipped away


def test_table_rows_carry_their_header_and_the_header_is_no_sentence() -> None:
    table = (
        "조직\n| 팀 | 팀장 | 내선번호 |\n| --- | --- | --- |\n| 인사팀 | 김나래 | 2310 |\n"
        "| 법무팀 | 조민석 | 2620 |\n문의는 인사팀으로 한다."
    )
    assert split_units(table) == [
        ("인사팀 | 김나래 | 2310", "팀 팀장 내선번호"),
        ("법무팀 | 조민석 | 2620", "팀 팀장 내선번호"),
        ("문의는 인사팀으로 한다.", ""),
    ]


def test_a_per_period_phrase_becomes_a_period_term() -> None:
    assert question_terms("복지포인트는 1년에 얼마 나와요?") == ["복지포인트", "나와", "연간"]
    assert question_terms("한 달에 몇 번 재택해요?")[-1] == "월간"
    assert question_terms("일주일에 며칠 재택할 수 있어요?") == ["재택", "있어요", "주간"]
    assert question_terms("1년 동안 며칠 쉬어요?")[:2] == ["1년", "동안"]  # a span, not a rate
    assert coverage(["연간"], "자기계발비(연 120만원)") == 1.0
    assert coverage(["연간"], "2024년 4월 1일부터 1년간") == 0.0  # a date and a span are no rate
    assert coverage(["월간"], "매월 25일에 지급한다") == 1.0
    assert coverage(["월간"], "4월 15일") == 0.0
