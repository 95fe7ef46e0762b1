"""The faithfulness check: Korean number, date and unit forms, citations, and the stream."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from llm.faithfulness import (
    FaithfulnessPolicy,
    FaithfulnessStream,
    FigureKind,
    SourceIndex,
    check_answer,
    extract_figures,
    parse_number,
    sentence_spans,
)

# (id, answer, source): the answer's figure is in the source, written another way.
SUPPORTED = [
    ("man-won-vs-comma", "일비는 2만 원입니다.", "국내 출장 일비는 20,000원으로 한다."),
    ("comma-vs-plain", "일비는 20,000원입니다.", "일비 20000원"),
    ("plain-vs-man-nospace", "일비는 20000원입니다.", "일비는 2만원이다."),
    ("man-nospace-vs-space", "일비는 2만원입니다.", "일비는 2만 원이다."),
    ("eok-cheonman", "한도는 1억 5천만 원입니다.", "한도 150,000,000원"),
    ("eok-decimal", "예산은 1.5억 원입니다.", "예산 150,000,000원"),
    ("man-cheon-mixed", "지원금은 2만 5천 원입니다.", "지원금 25,000원"),
    ("cheonman", "보험금은 5천만 원입니다.", "보험금 50,000,000원"),
    ("baekman", "상금은 5백만 원입니다.", "상금 5,000,000원"),
    ("sino-man-won", "회비는 만 원입니다.", "회비 10,000원"),
    ("sino-samman-won", "회비는 삼만 원입니다.", "회비 30,000원"),
    ("usd-word-vs-code", "해외 일비는 60달러입니다.", "가등급 국가 USD 60"),
    ("usd-sign-vs-word", "해외 일비는 $60입니다.", "가등급 국가 60달러"),
    ("yen", "일본 일비는 5,000엔입니다.", "일본 5천 엔"),
    ("day-plain", "연차휴가는 15일입니다.", "15일의 유급휴가를 준다."),
    ("day-native-nal", "연차휴가는 열다섯 날입니다.", "15일의 유급휴가를 준다."),
    ("day-native-il", "연차휴가는 열다섯 일입니다.", "15일의 유급휴가를 준다."),
    ("day-sino", "연차휴가는 십오 일입니다.", "15일의 유급휴가를 준다."),
    ("day-boreum", "휴가는 보름입니다.", "휴가는 15일로 한다."),
    ("day-itteul", "경조휴가는 이틀입니다.", "경조휴가 2일"),
    ("day-source-native", "경조휴가는 3일입니다.", "경조휴가는 사흘로 한다."),
    ("day-ilgan", "교육은 5일간입니다.", "교육 기간은 5일이다."),
    ("year-sino", "근속 삼 년이면 가산됩니다.", "3년 이상 근속한 직원"),
    ("year-plain", "3년 이상 근무해야 합니다.", "3년 이상 근속한 직원"),
    ("month-native", "수습은 한 달입니다.", "수습 기간은 1개월로 한다."),
    ("month-gaewol", "수습은 3개월입니다.", "수습 기간은 3개월로 한다."),
    ("person-native", "정원은 다섯 명입니다.", "정원 5명"),
    ("person-plain", "정원은 20명입니다.", "정원은 20명으로 한다."),
    ("person-in", "1인당 지급합니다.", "1명당 지급"),
    ("times-native", "연 세 번 신청할 수 있습니다.", "연 3회 신청 가능"),
    ("times-hoe-beon", "2회 신청합니다.", "2번까지 신청"),
    ("bak-il", "출장은 1박 2일입니다.", "1박 2일 일정"),
    ("week-juil", "교육은 일주일입니다.", "교육 기간 1주일"),
    ("percent-sign-word", "인상률은 3.5%입니다.", "3.5퍼센트 인상"),
    ("percent-word-sign", "인상률은 3.5퍼센트입니다.", "3.5% 인상"),
    ("percent-pro", "할인율은 10프로입니다.", "할인율 10%"),
    ("percent-fraction", "감액률은 50%입니다.", "100분의 50을 감액한다."),
    ("percent-point", "금리는 0.5%p 올랐습니다.", "0.5%포인트 인상"),
    ("fraction-slash", "3분의 1을 지급합니다.", "1/3을 지급한다."),
    ("fraction-korean", "1/3을 지급합니다.", "3분의 1을 지급한다."),
    ("fraction-sino", "삼분의 일을 지급합니다.", "3분의 1을 지급한다."),
    ("date-ymd-dots", "시행일은 2024년 3월 1일입니다.", "이 규정은 2024.3.1.부터 시행한다."),
    ("date-dots-dashes", "시행일은 2024.3.1.입니다.", "시행일 2024-03-01"),
    ("date-spaced-dots", "시행일은 2024. 3. 1.입니다.", "2024년 3월 1일부터 시행"),
    ("date-slash", "2024/03/01부터 시행합니다.", "2024년 3월 1일부터 시행"),
    ("date-md-partial", "3월 1일부터 시행합니다.", "2024년 3월 1일부터 시행"),
    ("date-year-partial", "2024년부터 시행합니다.", "2024년 3월 1일부터 시행"),
    ("date-month", "매년 3월에 지급합니다.", "2024년 3월 10일 지급"),
    ("time-pm-colon", "신청은 오후 3시까지입니다.", "신청 마감 15:00"),
    ("time-colon-pm", "신청은 15:00까지입니다.", "오후 3시까지 신청"),
    ("time-si", "신청은 15시까지입니다.", "오후 3시까지 신청"),
    ("time-half", "오후 3시 반에 시작합니다.", "15:30 시작"),
    ("time-minutes", "오전 9시 30분에 시작합니다.", "09:30 시작"),
    ("time-ambiguous", "3시까지 신청합니다.", "오후 3시까지 신청"),
    ("time-english-pm", "Apply by 3 PM.", "15:00까지 신청"),
    (
        "article-circled",
        "제12조 ②에 따릅니다.",
        "제12조(연차휴가) ① 15일을 준다. ② 3년 이상 근속 시 가산한다.",
    ),
    (
        "article-hang",
        "제12조 제2항에 따릅니다.",
        "제12조(연차휴가) ① 15일을 준다. ② 3년 이상 근속 시 가산한다.",
    ),
    ("article-plain", "제12조에 따릅니다.", "제12조(연차휴가) ① 15일을 준다."),
    (
        "article-ho",
        "제5조 제1항 제2호에 해당합니다.",
        "제5조(휴가) ① 다음 각 호의 휴가를 준다.\n1. 결혼: 5일\n2. 사망: 3일",
    ),
    ("article-ui", "제12조의2에 따릅니다.", "제12조의2(특별휴가) 회사는 특별휴가를 줄 수 있다."),
    ("annex-bracket", "금액은 [별표 2]에 있습니다.", "해외 일비는 별표 2에 따른다."),
    ("annex-plain", "별표 2를 보십시오.", "[별표 2] 해외 출장 일비"),
    ("range-tilde", "처리 기간은 3~5일입니다.", "처리 기간 3~5일"),
    ("range-units", "처리 기간은 3일~5일입니다.", "처리 기간 3~5일"),
    ("range-ends-separate", "처리 기간은 3~5일입니다.", "3일 이상 5일 이내에 처리한다."),
    ("range-end-low", "최소 3일이 걸립니다.", "처리 기간 3~5일"),
    ("range-end-high", "최대 5일이 걸립니다.", "처리 기간 3~5일"),
    ("range-man-won", "숙박비는 10~20만 원입니다.", "숙박비 100,000원~200,000원"),
    ("range-time", "근무시간은 09:00~18:00입니다.", "근무시간 오전 9시부터 오후 6시까지"),
    ("code-phone", "문의는 02-123-4567로 하십시오.", "연락처 02-123-4567"),
    ("bare-number", "내선 1234로 연락하십시오.", "인사팀 내선 1234"),
    ("beon-as-number", "내선 2310번으로 연락하십시오.", "인사팀 (내선 2310)"),
    ("business-days", "발급에는 5영업일이 걸립니다.", "발급까지 약 5영업일이 걸립니다."),
    ("name-latin", "Microsoft Teams로 신청합니다.", "신청은 Microsoft Teams 채널에서 한다."),
    ("name-quoted", "「복지포인트 운영지침」에 따릅니다.", "복지포인트 운영지침 제3조"),
    ("english-days", "Annual leave is 15 days.", "15일의 유급휴가"),
]

# (id, answer, sources, the surfaces that must be reported unsupported)
UNSUPPORTED = [
    ("amount-absent", "일비는 3만 원입니다.", ["일비는 2만 원이다."], ["3만 원"]),
    ("amount-currency-differs", "일비는 20,000달러입니다.", ["일비는 20,000원이다."], ["20,000달러"]),
    ("amount-scale-differs", "한도는 1억 원입니다.", ["한도 10,000,000원"], ["1억 원"]),
    ("day-absent", "연차휴가는 20일입니다.", ["15일의 유급휴가를 준다."], ["20일"]),
    ("native-absent", "연차휴가는 열여섯 날입니다.", ["15일의 유급휴가를 준다."], ["열여섯 날"]),
    ("unit-differs", "수습은 3주입니다.", ["수습 기간은 3개월로 한다."], ["3주"]),
    ("percent-absent", "인상률은 4%입니다.", ["3.5% 인상"], ["4%"]),
    ("percent-not-point", "금리는 0.5% 올랐습니다.", ["0.5%p 인상"], ["0.5%"]),
    ("fraction-absent", "4분의 1을 지급합니다.", ["3분의 1을 지급한다."], ["4분의 1"]),
    ("date-day-differs", "2024년 3월 2일부터 시행합니다.", ["2024년 3월 1일부터 시행"], ["2024년 3월 2일"]),
    ("date-year-added", "2025년 3월 1일부터 시행합니다.", ["3월 1일부터 시행"], ["2025년 3월 1일"]),
    ("date-not-count", "연차휴가는 15일입니다.", ["3월 15일까지 신청"], ["15일"]),
    ("time-absent", "신청은 오후 4시까지입니다.", ["15:00까지 신청"], ["오후 4시"]),
    ("time-am-pm", "신청은 오전 3시까지입니다.", ["15:00까지 신청"], ["오전 3시"]),
    ("article-absent", "제13조에 따릅니다.", ["제12조(연차휴가) ① 15일을 준다."], ["제13조"]),
    (
        "article-paragraph-absent",
        "제12조 ③에 따릅니다.",
        ["제12조(연차휴가) ① 15일을 준다. ② 가산한다."],
        ["제12조 ③"],
    ),
    ("annex-absent", "[별표 3]에 있습니다.", ["[별표 2] 해외 출장 일비"], ["[별표 3]"]),
    ("inside-range-only", "처리 기간은 4일입니다.", ["처리 기간 3~5일"], ["4일"]),
    ("range-absent", "처리 기간은 3~7일입니다.", ["처리 기간 3~5일"], ["3~7일"]),
    ("code-absent", "문의는 02-123-9999로 하십시오.", ["연락처 02-123-4567"], ["02-123-9999"]),
    ("name-absent", "Slack으로 신청합니다.", ["신청은 Microsoft Teams 채널에서 한다."], ["Slack"]),
    ("one-of-two", "일비는 2만 원, 숙박비는 9만 원입니다.", ["일비 20,000원, 숙박비 8만 원"], ["9만 원"]),
    ("no-source", "연차휴가는 15일입니다.", [""], ["15일"]),
]


@pytest.mark.parametrize(("answer", "source"), [c[1:] for c in SUPPORTED], ids=[c[0] for c in SUPPORTED])
def test_equivalent_forms_are_supported(answer: str, source: str) -> None:
    report = check_answer(answer, [source])
    assert report.supported, "no figure found in the answer"
    assert report.grounded, [c.figure.text for c in report.unsupported]


@pytest.mark.parametrize(
    ("answer", "sources", "expected"), [c[1:] for c in UNSUPPORTED], ids=[c[0] for c in UNSUPPORTED]
)
def test_absent_figures_are_unsupported(answer: str, sources: list[str], expected: list[str]) -> None:
    report = check_answer(answer, sources)
    assert not report.grounded
    assert [c.figure.text for c in report.unsupported] == expected


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("20,000", 20000),
        ("2만", 20000),
        ("1억 5천만", 150_000_000),
        ("1.5억", 150_000_000),
        ("3천5백만", 35_000_000),
        ("십오", 15),
        ("이십오", 25),
        ("만", 10000),
        ("백만", 1_000_000),
    ],
    ids=[
        "comma",
        "man",
        "eok-cheonman",
        "eok-decimal",
        "cheon-baek-man",
        "sino-15",
        "sino-25",
        "sino-man",
        "sino-baekman",
    ],
)
def test_parse_number(text: str, value: int) -> None:
    assert parse_number(text) == Decimal(value)


@pytest.mark.parametrize(
    "text",
    [
        "구분",
        "만일의 경우",
        "이 일은 끝났다",
        "한 일이 많다",
        "세계 한국 회사",
        "오전에 온다",
        "프로그램 3개",
        "3시간",
    ],
    ids=["gubun", "manil", "i-il", "han-il", "segye", "ojeon", "program", "hours-not-clock"],
)
def test_words_that_are_not_figures(text: str) -> None:
    kinds = {f.kind for f in extract_figures(text)}
    assert FigureKind.TIME not in kinds
    assert not [
        f for f in extract_figures(text) if f.kind is FigureKind.COUNT and f.unit in {"day", "minute"}
    ]


def test_extracted_figure_fields() -> None:
    figures = extract_figures("시행일은 2024년 3월 1일, 마감은 오후 3시, 기간은 3~5일.")
    assert [(f.kind, f.text) for f in figures] == [
        (FigureKind.DATE, "2024년 3월 1일"),
        (FigureKind.TIME, "오후 3시"),
        (FigureKind.COUNT, "3~5일"),
    ]
    assert figures[0].value == (2024, 3, 1)
    assert figures[1].value == (15, 0)
    assert (figures[2].value, figures[2].high, figures[2].unit) == (Decimal(3), Decimal(5), "day")
    assert figures[1].span == (figures[1].start, figures[1].end)


def test_markers_and_list_numbers_are_not_figures() -> None:
    assert extract_figures("연차휴가를 줍니다 [1][2].\n1. 신청서 제출\n2) 승인") == []


def test_a_list_number_after_a_marker_that_opens_the_line_is_not_a_figure() -> None:
    """A model often closes a sentence's citation on the next line, before the list's next number."""
    assert extract_figures("신청 절차입니다.\n1. 신청서 제출\n[1] 2. 승인\n[1][2] 3) 통보") == []
    assert [f.text for f in extract_figures("[1] 15일을 준다.")] == ["15일"]


SOURCES = ["제12조(연차휴가) ① 회사는 15일의 유급휴가를 준다.", "경조휴가는 5일이다. 일비는 2만 원이다."]


def test_figure_only_in_an_uncited_source_is_unsupported() -> None:
    report = check_answer("연차휴가는 15일이고 일비는 2만 원입니다 [1].", SOURCES)
    assert report.cited == (1,)
    assert [c.figure.text for c in report.unsupported] == ["2만 원"]
    assert [c.figure.text for c in report.supported] == ["15일"]


def test_answer_without_markers_is_checked_against_all_sources() -> None:
    report = check_answer("연차휴가는 15일이고 일비는 2만 원입니다.", SOURCES)
    assert report.grounded
    assert report.cited == (1, 2)


def test_explicit_cited_overrides_markers() -> None:
    report = check_answer("일비는 2만 원입니다 [1].", SOURCES, cited=[2])
    assert report.grounded
    assert report.supported[0].sources == (2,)


def test_mapping_sources_keep_their_numbers() -> None:
    report = check_answer("일비는 2만 원입니다 [4].", {3: SOURCES[0], 4: SOURCES[1]})
    assert report.grounded
    assert report.supported[0].sources == (4,)


def test_report_to_dict_is_json_and_names_the_sentence() -> None:
    answer = "연차휴가는 15일입니다 [1]. 일비는 3만 원입니다 [2]."
    data = check_answer(answer, SOURCES).to_dict()
    json.dumps(data, ensure_ascii=False)
    assert data["grounded"] is False
    assert data["checked"] == 2
    assert data["unsupported"][0]["text"] == "3만 원"
    assert data["unsupported"][0]["value"] == "30000"
    assert data["unsupported"][0]["unit"] == "KRW"
    assert data["unsupported"][0]["sentence"] == "일비는 3만 원입니다 [2]."
    assert data["supported"][0]["sources"] == [1]


def test_answer_without_figures_is_grounded() -> None:
    report = check_answer("규정에 따라 신청하면 됩니다.", SOURCES)
    assert report.grounded
    assert report.to_dict()["checked"] == 0


def test_sentence_spans_keep_dates_and_trailing_markers() -> None:
    text = "시행일은 2024. 3. 1.입니다. [1] 다음 문장입니다.\n마지막"
    sentences = [text[s:e] for s, e in sentence_spans(text)]
    assert sentences == ["시행일은 2024. 3. 1.입니다. [1]", "다음 문장입니다.", "마지막"]


ANSWER = "연차휴가는 15일입니다 [1]. 일비는 3만 원입니다 [2]. 경조휴가는 5일입니다 [2]."


def _run(policy: FaithfulnessPolicy, chunk: int = 4) -> tuple[str, FaithfulnessStream, bool]:
    stream = FaithfulnessStream(SOURCES, policy=policy)
    shown: list[str] = []
    fallback = False
    for i in range(0, len(ANSWER), chunk):
        release = stream.feed(ANSWER[i : i + chunk])
        shown.append(release.text)
        fallback = fallback or release.fallback
    release = stream.flush()
    return "".join(shown) + release.text, stream, fallback or release.fallback


def test_stream_flag_releases_everything_and_reports() -> None:
    shown, stream, fallback = _run(FaithfulnessPolicy.FLAG)
    assert shown == ANSWER
    assert not fallback
    failed = [s for s in stream.sentences if not s.grounded]
    assert [s.text for s in failed] == ["일비는 3만 원입니다 [2]."]
    assert failed[0].released
    assert not stream.report().grounded


def test_stream_drop_sentence_leaves_it_out() -> None:
    shown, _, fallback = _run(FaithfulnessPolicy.DROP_SENTENCE, chunk=3)
    assert shown == "연차휴가는 15일입니다 [1]. 경조휴가는 5일입니다 [2]."
    assert not fallback


def test_stream_fallback_stops_at_the_first_failed_sentence() -> None:
    shown, stream, fallback = _run(FaithfulnessPolicy.FALLBACK_EXTRACTIVE)
    assert shown == "연차휴가는 15일입니다 [1]."
    assert fallback
    assert stream.feed(" 더 보냅니다 7일.").text == ""


def test_stream_holds_back_the_unfinished_sentence() -> None:
    stream = FaithfulnessStream(SOURCES)
    assert stream.feed("연차휴가는 15").text == ""
    assert stream.feed("일입니다. ").text == ""  # complete only once the next sentence begins
    assert stream.feed("일비").text == "연차휴가는 15일입니다."
    assert stream.flush().text == " 일비"


def test_stream_waits_for_trailing_markers() -> None:
    stream = FaithfulnessStream(SOURCES, policy=FaithfulnessPolicy.DROP_SENTENCE)
    shown = stream.feed("일비는 2만 원입니다. [").text
    shown += stream.feed("2] 끝").text
    assert shown == "일비는 2만 원입니다. [2]"


def test_stream_forces_out_a_long_sentence_without_cutting_a_figure() -> None:
    stream = FaithfulnessStream(SOURCES, max_hold=20)
    release = stream.feed("가나다라 마바사 아자차 카타파 하 2만 원")
    assert release.text
    assert "2만" not in release.text


def test_stream_reuses_a_source_index() -> None:
    index = SourceIndex(SOURCES)
    stream = FaithfulnessStream(index, policy=FaithfulnessPolicy.DROP_SENTENCE)
    stream.feed("경조휴가는 5일입니다.")
    assert stream.flush().text == "경조휴가는 5일입니다."
    assert stream.report().grounded
