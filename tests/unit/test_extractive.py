"""Extractive answers and the grounding filter, on hand-made sources (no services)."""

from __future__ import annotations

import pytest

from app.services.grounding import GroundingFilter
from llm.evidence import supporting_source
from llm.extractive import SourceText, compose_extractive, rank_evidence, score_sentences, typed_figure
from llm.faithfulness import FaithfulnessPolicy
from llm.prompts import NOT_FOUND_KO

ANNUAL = SourceText(
    1,
    "취업규칙 제24조 ①",
    "제24조(연차휴가) ① 회사는 1년간 80퍼센트 이상 출근한 직원에게 15일의 연차유급휴가를 준다.\n"
    "② 계속 근로 연수가 1년 미만인 직원에게는 1개월 개근 시 1일의 유급휴가를 준다.",
)
TRAVEL = SourceText(
    2,
    "출장 및 경비 규정 제12조",
    "제12조(해외 여비 지급 기준) ① 해외출장 여비는 [별표 2]에 따라 미국 달러(USD)로 산정하여 지급한다.\n"
    "[별표 2] 해외출장 여비 기준 (1일 또는 1박 기준, 단위: USD)\n"
    "직급 일비 식비 숙박비\n임원 90 80 350\n수석 70 65 250\n선임·사원 50 50 200\n",
)
REMOTE = SourceText(
    3,
    "재택근무 규정 제5조",
    "제2장 재택근무의 유형과 신청\n제5조(신청 및 승인) ① 재택근무를 하려는 직원은 그룹웨어 근태 메뉴에서 "
    "재택근무를 신청하고, 승인권자 승인을 받는다.",
)


def test_a_day_count_question_leads_with_the_day_count() -> None:
    answer = compose_extractive("연차휴가는 며칠인가요?", [ANNUAL, TRAVEL])
    assert answer.short_answer == "15일"
    assert answer.text.startswith("15일입니다. 취업규칙 제24조 ①에 따르면 “")
    assert answer.text.rstrip().endswith("[1]")


USE_OF_LEAVE = SourceText(
    5,
    "취업규칙 제25조 ①",
    "제25조(연차휴가의 사용) ① 연차휴가는 1일, 반일(4시간) 또는 반반일(2시간) 단위로 사용할 수 있다.",
)
ANNUAL_PLAIN = SourceText(
    1,
    "취업규칙 제24조 ①",
    "① 1년간 80퍼센트 이상 출근한 직원에게는 15일의 연차유급휴가를 준다.\n"
    "② 계속 근로기간이 1년 미만인 직원에게는 1개월 개근 시 1일의 유급휴가를 준다(최대 11일).",
)


@pytest.mark.parametrize("order", [(ANNUAL_PLAIN, USE_OF_LEAVE), (USE_OF_LEAVE, ANNUAL_PLAIN)])
def test_the_figure_stating_the_topic_wins_over_a_sentence_that_repeats_the_topic_word(
    order: tuple[SourceText, SourceText],
) -> None:
    # 제25조 ① repeats "연차휴가" whole and holds a day count (1일), but only 제24조 ① says how many
    # days of 연차(유급)휴가 there are: its compound matches and its figure qualifies the topic.
    answer = compose_extractive("연차휴가는 며칠인가요?", list(order))
    assert answer.short_answer == "15일", answer.text
    assert answer.quoted[0].source == 1


def test_an_amount_in_a_table_is_quoted_with_its_caption() -> None:
    answer = compose_extractive("해외 출장 일비는 얼마인가요?", [TRAVEL, ANNUAL])
    assert "> [별표 2] 해외출장 여비 기준" in answer.text and "> 임원 90 80 350" in answer.text
    assert answer.text.rstrip().endswith("[2]")


def test_headings_are_not_quoted_and_procedures_have_no_short_answer() -> None:
    answer = compose_extractive("재택근무 신청은 어떻게 하나요?", [REMOTE])
    assert answer.short_answer is None
    assert "그룹웨어 근태 메뉴" in answer.text and "제2장" not in answer.text.split("“", 1)[0]
    assert answer.text.count("“") == 1


FAQ = SourceText(
    4,
    "IT 헬프데스크 FAQ",
    "노트북을 받기 전에 개인 노트북으로 일해도 되나요?\n"
    "안 됩니다. 회사 자료는 회사가 지급한 기기에서만 다룹니다.\n"
    "노트북 수령은 입사 첫날 IT 헬프데스크에서 합니다.",
)
LEAVE_ARTICLE = SourceText(
    5,
    "취업규칙 제27조",
    "제27조(경조휴가) ① 회사는 다음 각 호의 구분에 따라 유급 경조휴가를 준다.\n"
    "1. 본인 결혼: 경조휴가 5일\n2. 자녀 결혼: 경조휴가 1일\n"
    "② 경조휴가는 경조사가 있은 날부터 30일 이내에 사용한다.\n"
    "③ 경조휴가 기간 중의 휴일은 경조휴가 일수에 포함한다.\n"
    "④ 본인 조부모 사망 시 경조휴가는 3일로 한다.",
)


def test_an_faq_question_is_not_the_answer_the_line_after_it_is() -> None:
    ranked = rank_evidence("노트북 받기 전에 개인 노트북으로 일해도 되나요?", [FAQ])
    # "안 됩니다." is too short to be a sentence of its own; the one after the question inherits its score.
    assert ranked[0].sentence == "회사 자료는 회사가 지급한 기기에서만 다룹니다."
    assert ranked[0].score == pytest.approx(0.9, abs=0.01)


def test_every_clause_of_an_article_competes_and_list_intros_rank_lower() -> None:
    # The answer is the article's fifth sentence: no per-source quota may drop it.
    answer = compose_extractive("조부모 사망 시 경조휴가는 며칠인가요?", [LEAVE_ARTICLE])
    assert answer.short_answer == "3일"
    assert "다음 각 호" not in answer.quoted[0].sentence


def test_no_evidence_means_the_stock_reply() -> None:
    assert compose_extractive("주차 요금은 얼마인가요?", []).text == NOT_FOUND_KO


@pytest.mark.parametrize(
    ("sentence", "question", "expected"),
    [
        ("직원에게 15일의 휴가를 준다.", "휴가는 며칠?", "15일"),
        ("일비는 50달러로 한다.", "일비는 얼마?", "50달러"),
        ("위원은 5명 이내로 한다.", "위원은 몇 명?", "5명"),
        ("신청은 3월 1일까지 한다.", "신청은 언제까지?", "3월 1일"),
        ("신청은 3월 1일까지 한다.", "신청 방법은?", None),
        ("가지급금은 여비의 80퍼센트까지 신청한다.", "일비는 얼마인가요?", None),
        ("성과급은 기본급의 20%이다.", "성과급은 기본급의 몇 퍼센트인가요?", "20%"),
    ],
)
def test_typed_figures(sentence: str, question: str, expected: str | None) -> None:
    found = typed_figure(sentence, question)
    assert (found.text if found else None) == expected


def test_markers_are_attached_at_sentence_boundaries_while_streaming() -> None:
    grounding = GroundingFilter({1: ANNUAL.text, 3: REMOTE.text}, FaithfulnessPolicy.FLAG)
    pieces = [
        "직원에게는 15일의 ",
        "연차유급휴가를 준다. ",
        "재택근무는 그룹웨어 ",
        "근태 메뉴에서 신청한다.",
    ]
    shown = "".join(grounding.feed(piece) for piece in pieces) + grounding.flush()
    assert (
        shown == "직원에게는 15일의 연차유급휴가를 준다. [1] 재택근무는 그룹웨어 근태 메뉴에서 신청한다. [3]"
    )


def test_stock_phrases_get_no_marker() -> None:
    assert supporting_source("잘 모르겠습니다.", {1: "잘 모르겠습니다만 규정은 이렇습니다."}) is None


ORG = SourceText(
    6,
    "조직도",
    "| 본부 | 팀 | 팀장 | 내선번호 |\n| --- | --- | --- | --- |\n| 경영지원본부 | 인사팀 | 김나래 | 2310 |\n"
    "| 경영지원본부 | 법무팀 | 조민석 | 2620 |",
)


def test_a_table_row_answers_with_its_header_and_the_header_row_never_does() -> None:
    ranked = rank_evidence("법무팀 내선번호 알려 주세요.", [ORG])
    assert ranked[0].sentence == "경영지원본부 | 법무팀 | 조민석 | 2620"
    assert all("내선번호" not in e.sentence for e in ranked)


def test_an_faq_question_line_marked_q_is_not_the_answer() -> None:
    faq = SourceText(
        7,
        "IT FAQ",
        "Q. 비밀번호를 잊어버렸어요. 어떻게 초기화하나요?\n"
        "사내 포털의 비밀번호 재설정을 누르고 OTP 인증번호를 입력하면 초기화됩니다.",
    )
    ranked = rank_evidence("비밀번호를 잊어버렸어요. 어떻게 초기화해요?", [faq])
    assert ranked[0].sentence.startswith("사내 포털의 비밀번호 재설정")


def test_a_numbered_faq_question_lends_its_score_only_when_it_is_about_the_question() -> None:
    faq = SourceText(
        3,
        "법인카드 FAQ",
        "Q1. 법인카드가 없어서 개인 카드로 결제했어요. 돌려받을 수 있나요?\n"
        '사용일로부터 30일 이내에 경비 시스템에서 "개인 경비 청구"로 영수증을 첨부하여 신청하면 됩니다.\n',
    )
    ranked = rank_evidence("법인카드가 없어서 제 카드로 냈는데 어떻게 돌려받아요?", [faq])
    assert ranked[0].sentence.startswith("사용일로부터 30일 이내")  # not "Q1. …", a question
    other = SourceText(
        4,
        "법인카드 FAQ",
        "Q1. 법인카드를 잃어버리면 어떻게 하나요?\n카드사에 즉시 신고합니다.\n"
        "Q2. 개인 카드로 낸 돈은 어떻게 돌려받나요?\n재무회계팀에 문의합니다.",
    )
    scores = {
        e.sentence: e.score for _, e in score_sentences("법인카드 발급 기간과 신청 서류와 한도는?", [other])
    }
    assert scores["카드사에 즉시 신고합니다."] > 0  # Q1 shares 법인카드: its answer inherits
    assert scores["재무회계팀에 문의합니다."] == 0.0  # Q2 barely matches: nothing to lend


@pytest.mark.parametrize(
    ("sentence", "question", "expected"),
    [
        (
            "임기는 6년으로 하며, 법관의 자격을 가진 9인의 재판관으로 구성한다.",
            "재판관은 몇 명인가요?",
            "9인",
        ),
        ("임기는 6년으로 하며, 법관의 자격을 가진 9인의 재판관으로 구성한다.", "임기는 몇 년인가요?", "6년"),
        ("3분의 1 이상의 찬성과 선거일 현재 40세에 달하여야 한다.", "몇 살 이상이어야 하나요?", "40세"),
        ("같은 부서는 하루 4시간을 넘을 수 없다.", "하루 몇 시간까지 쓸 수 있어요?", "4시간"),
        ("회계연도 개시 90일전까지 국회에 제출한다.", "예산안은 언제까지 내야 하나요?", "90일"),
        ("회계연도 개시 90일전까지 국회에 제출한다.", "예산안은 언제 내나요?", None),
        ("인사팀 | 김나래 | 2310", "내선번호가 몇 번이에요?", None),
        # "얼마" asked of a term or period wants a duration, not an amount of money.
        (
            "위원은 연 1회 100만원의 수당을 받으며, 위원의 임기는 6년으로 한다.",
            "위원 임기는 얼마인가요?",
            "6년",
        ),
        (
            "위반 시 50만원의 과태료와 함께 3개월 동안 재택근무를 제한한다.",
            "재택이 얼마 동안 제한돼요?",
            "3개월",
        ),
        ("발급 수수료는 5,000원이며 발급까지 약 5영업일이 걸린다.", "발급까지 얼마나 걸려요?", "5영업일"),
        ("발급 수수료는 5,000원이며 발급까지 약 5영업일이 걸린다.", "발급 수수료는 얼마인가요?", "5,000원"),
    ],
)
def test_a_count_in_the_unit_the_question_names(sentence: str, question: str, expected: str | None) -> None:
    figure = typed_figure(sentence, question)
    assert (figure.text if figure else None) == expected


def test_list_numbers_of_a_label_or_a_quoted_row_are_not_figures_of_the_answer() -> None:
    from llm.faithfulness import SourceIndex

    rooms = SourceText(1, "1. 회의실 현황", "● 한빛홀 (본사 2층, 80명)\n● 누리룸 (본사 3층, 12명)")
    answer = compose_extractive("한빛홀은 몇 명까지 들어가요?", [rooms])
    assert answer.text.startswith("80명입니다. 회의실 현황에 따르면"), answer.text
    assert SourceIndex({1: f"{rooms.label}\n{rooms.text}"}).check(answer.text).grounded
    quoted = "80명입니다. 회의실 표에 따르면:\n\n> 1. 한빛홀 2층 80\n> 2. 누리룸 3층 12 [1]"
    assert SourceIndex({1: "1. 한빛홀 2층 80\n2. 누리룸 3층 12\n한빛홀 80명"}).check(quoted).grounded


CRITERIA = SourceText(
    8,
    "연구개발혁신법 시행령 제30조",
    "제30조(전문기관의 실태조사) ① 중앙행정기관의 장은 전문기관 운영에 관한 실태조사 및 분석을 "
    "다음 각 호의 기준에 따라 실시한다.\n"
    "1. 사업 관리 절차의 투명성\n2. 수혜대상자의 서비스 만족도\n3. 전문 인력의 확보 수준\n"
    "② 실태조사 결과는 전문기관 지정 평가에 반영한다.",
)


def test_a_list_item_is_scored_with_its_intro_and_beats_it() -> None:
    # The intro holds the question's topic (전문기관, 실태조사, 기준), the item only its distinguishing
    # word (수혜대상자): scored with its intro, the item holding that word comes first.
    ranked = rank_evidence("전문기관 실태조사의 기준 중 수혜대상자와 관련된 것은 무엇인가요?", [CRITERIA])
    assert ranked[0].sentence == "수혜대상자의 서비스 만족도"
    # The evidence score stays the item's own coverage; a clause after the list is not an item.
    assert ranked[0].score < next(e.score for e in ranked if "다음 각 호" in e.sentence)


def test_an_intro_naming_deadlines_opens_a_list() -> None:
    # "다음 기한까지" announces a list as "다음 각 호" does: each item takes the intro's words, so the
    # question's 신청 기한 picks the application article's domestic item, and 정산 기한 the settlement one's.
    apply_by = SourceText(
        1,
        "출장 및 경비 규정 제4조",
        "제2장 출장 절차\n제4조(출장 신청)\n① 출장자는 그룹웨어 출장품의서에 출장 목적, 기간, 방문처, "
        "예상 경비를 적어 다음 기한까지 신청한다.\n• 국내출장: 출발일 3영업일 전까지\n"
        "• 해외출장: 출발일 14일 전까지 (비자가 필요한 국가는 30일 전까지)\n"
        "② 고객사 장애 대응 등 긴급한 경우에는 사후 신청할 수 있으며, 출장 복귀 후 2영업일 이내에 품의를 "
        "완료하여야 한다.",
    )
    settle_by = SourceText(
        2,
        "출장 및 경비 규정 제17조",
        "제5장 경비 정산\n제17조(정산 기한)\n① 출장자는 다음 기한까지 경비 시스템에서 출장비 정산을 "
        "완료하여야 한다.\n• 국내출장: 복귀일로부터 7일 이내\n• 해외출장: 귀국일로부터 14일 이내\n"
        "② 정산 기한을 넘긴 건은 본부장의 승인을 받아야 하며, 3개월이 지나면 지급하지 아니한다.",
    )
    sources = [apply_by, settle_by]
    assert rank_evidence("국내 출장 신청 기한은요?", sources)[0].sentence == "국내출장: 출발일 3영업일 전까지"
    assert (
        rank_evidence("국내 출장 경비 정산 기한은?", sources)[0].sentence == "국내출장: 복귀일로부터 7일 이내"
    )


def test_a_rate_per_period_matches_its_written_forms() -> None:
    # "1년에 얼마" is written "연 120만원": the literal "1년" of a leave's length must not win.
    rules = SourceText(
        1,
        "취업규칙 제37조",
        "제37조(자기계발휴직) ① 근속 5년 이상인 직원은 학위 취득 등 자기계발을 위하여 1년 이내의 "
        "자기계발휴직을 신청할 수 있다.\n② 제1항의 한도는 자기계발비(연 120만원)와 별도로 운영한다.",
    )
    assert "연 120만원" in rank_evidence("자기계발비는 1년에 얼마예요?", [rules])[0].sentence
    remote = SourceText(
        2,
        "재택근무 규정",
        "긴급 재택은 정기 재택의 주 2일 한도에 포함하지 아니한다.\n긴급 재택은 월 2회 이내로 한다.",
    )
    assert rank_evidence("급하게 재택하려면 한 달에 몇 번까지 돼요?", [remote])[0].sentence == (
        "긴급 재택은 월 2회 이내로 한다."
    )


def test_a_who_question_takes_the_subject_of_a_list_intro() -> None:
    # The intro's subject is who acts; scored with the intro, an item would win on the topic words.
    article = SourceText(
        1,
        "결혼중개업법 제4조의2",
        "제4조의2(국제결혼중개업체의 공시) ① 시장ㆍ군수ㆍ구청장은 다음 각 호의 사항을 공시하여야 한다.\n"
        "1. 현재 등록된 국제결혼중개업체 현황\n"
        "2. 제18조에 따라 영업정지 및 등록취소 등의 조치를 받은 경우 그 조치에 관한 사항",
    )
    ranked = rank_evidence("국제결혼중개업체의 공시는 누가 해야 하나요?", [article])
    assert "시장ㆍ군수ㆍ구청장" in ranked[0].sentence
    # Asked what is published, an item still beats its intro.
    ranked = rank_evidence("국제결혼중개업체가 공시하는 사항은 무엇인가요?", [article])
    assert "다음 각 호" not in ranked[0].sentence
