"""Flagship questions: one per document format, each answered at rank 1 by its gold document and article.

The sample corpus (samples/documents) is ingested with the real Kiwi tokenizer, the configured
default embedder and the default fusion settings, so the rankings are those an installation gives
(a fake dense leg would distort them as soon as the dense weight is more than a tie-breaker). The corpus has no CSV, HWP or HWPX file:
a CSV and an HWPX regulation are written here, and the HWP is a third-party fixture (its text is a
placeholder, so its question is a thin one). The questions were written from the documents' content
before any ranking was looked at.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from app.container import Container, build_container
from core.settings import LLMSettings, Settings
from ingest.pipeline import IngestRequest
from llm.fake import ExtractiveFakeModel
from retrieval.tokenizer import KiwiTokenizer
from retrieval.types import AccessScope
from tests.support.paths import HWP_FIXTURES, SAMPLES_DIR

pytestmark = pytest.mark.integration


@dataclass(frozen=True, slots=True)
class Flagship:
    """A question, the file that answers it, the article it cites (if any) and words of the answer."""

    question: str
    file: str
    article: str | None
    answer: str


FLAGSHIPS = [
    Flagship("연차휴가는 며칠인가요?", "취업규칙.md", "제24조", "15일의 연차유급휴가를 준다"),
    Flagship("법정의무교육은 언제까지 이수해야 하나요?", "교육훈련규정.txt", "제6조", "11월 30일까지"),
    Flagship("해외출장은 출발 며칠 전까지 신청해야 하나요?", "출장경비규정.pdf", "제4조", "14일 전까지"),
    Flagship("보안 USB는 최대 며칠 동안 빌릴 수 있나요?", "정보보안지침.docx", None, "최대 7일"),
    Flagship(
        "DocuFlow Professional 요금제는 사용자당 한 달에 얼마인가요?",
        "DocuFlow_제품소개서.pptx",
        None,
        "15,000원",
    ),
    Flagship("전략기획팀 팀장은 누구인가요?", "조직도.xlsx", None, "서동현"),
    Flagship("구내식당 수요일 점심 메뉴가 뭐예요?", "구내식당_주간메뉴.csv", None, "제육볶음"),
    Flagship(
        "메일 한 통에 첨부파일은 최대 몇 MB까지 보낼 수 있나요?", "IT_헬프데스크_FAQ.html", None, "25MB"
    ),
    Flagship("원본 HWP 파일에는 어떤 내용이 있나요?", "source.hwp", None, "원본 HWP 파일의 내용"),
    Flagship("직원 주차 요금은 한 달에 얼마인가요?", "주차장_운영규정.hwpx", "제5조", "3만원"),
]

CANTEEN_CSV = """요일,중식,석식,비고
월요일,김치찌개·계란말이,닭갈비덮밥,
화요일,된장찌개·고등어구이,짜장면,
수요일,제육볶음·미역국,카레라이스,샐러드바 운영
목요일,순두부찌개·잡채,돈가스,
금요일,비빔밥·어묵국,석식 없음,오후 3시 간식 제공
"""

PARKING_RULES = [
    "주차장 운영 규정",
    "제1조(목적) 이 규정은 서울 본사 지하 주차장의 등록, 이용 및 요금에 관한 사항을 정한다.",
    "제2조(주차 구역) ① 지하 1층은 방문객과 장애인 차량에, 지하 2층과 3층은 직원 등록 차량에 배정한다.",
    "② 전기차 충전 구역은 충전 중인 차량만 이용할 수 있다.",
    "제3조(주차 등록) ① 직원은 본인 명의 또는 가족 명의의 차량 1대에 한하여 주차 등록을 할 수 있다.",
    "② 주차 등록은 총무팀에 신청하며, 대기자가 많은 경우 통근 거리가 먼 직원을 우선한다.",
    "제4조(방문객 주차) 방문객 차량은 안내데스크에서 등록하며 2시간까지 무료로 주차할 수 있다.",
    "제5조(주차 요금) ① 등록 차량의 주차 요금은 월 3만원으로 하며 매월 급여에서 공제한다.",
    "② 경차와 친환경 차량은 주차 요금의 50퍼센트를 감면한다.",
    "제6조(이용 제한) 주차 질서를 세 번 이상 어긴 직원은 6개월 동안 주차 등록을 할 수 없다.",
]


def hwpx_document(paragraphs: list[str]) -> bytes:
    """A minimal HWPX package (mimetype, manifest, one section) holding ``paragraphs``."""
    hp, hs, opf = (
        "http://www.hancom.co.kr/hwpml/2011/paragraph",
        "http://www.hancom.co.kr/hwpml/2011/section",
        "http://www.idpf.org/2007/opf/",
    )
    body = "".join(
        f'<hp:p paraPrIDRef="0"><hp:run><hp:t>{escape(p)}</hp:t></hp:run></hp:p>' for p in paragraphs
    )
    package = (
        f'<?xml version="1.0" encoding="UTF-8"?><opf:package xmlns:opf="{opf}"><opf:metadata>'
        f"<opf:title>{escape(paragraphs[0])}</opf:title></opf:metadata><opf:manifest>"
        '<opf:item id="s0" href="Contents/section0.xml" media-type="application/xml"/></opf:manifest>'
        '<opf:spine><opf:itemref idref="s0"/></opf:spine></opf:package>'
    )
    members = {
        "mimetype": "application/hwp+zip",
        "Contents/content.hpf": package,
        "Contents/section0.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><hs:sec xmlns:hs="{hs}" xmlns:hp="{hp}">{body}</hs:sec>'
        ),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def corpus() -> Iterator[tuple[str, bytes]]:
    """The sample documents, the two HWP fixtures with text, a CSV and an HWPX regulation."""
    for path in sorted(SAMPLES_DIR.iterdir()):
        yield path.name, path.read_bytes()
    for name in ("source.hwp", "target.hwp"):
        yield name, (HWP_FIXTURES / name).read_bytes()
    yield "구내식당_주간메뉴.csv", CANTEEN_CSV.encode()
    yield "주차장_운영규정.hwpx", hwpx_document(PARKING_RULES)


@pytest.fixture(scope="module")
def indexed(
    tmp_path_factory: pytest.TempPathFactory, kiwi: KiwiTokenizer
) -> Iterator[tuple[Container, dict[str, str]]]:
    """The corpus ingested once (default embedder, chunking and fusion); document id → file name."""
    data_dir: Path = tmp_path_factory.mktemp("flagship") / "data"
    # Answers quote their evidence, as with the bundled model.
    settings = Settings(data_dir=data_dir, llm=LLMSettings(answer_mode="extractive"))
    container = build_container(settings, chat_model=ExtractiveFakeModel(), tokenizer=kiwi)
    names = {}
    for name, data in corpus():
        request = IngestRequest(data=data, filename=name, source_key=name, is_public=True)
        names[container.pipeline.ingest(request).document_id] = name
    yield container, names
    container.close()


def flagship_params() -> list[object]:
    """The flagships as test parameters, named by format."""
    return [pytest.param(f, id=f.file.rsplit(".", 1)[-1]) for f in FLAGSHIPS]


@pytest.mark.parametrize("flagship", flagship_params())
def test_flagship_question_ranks_its_gold_first(
    indexed: tuple[Container, dict[str, str]], flagship: Flagship
) -> None:
    container, names = indexed
    hits = container.searcher.search(flagship.question, AccessScope())
    assert hits, flagship.question
    ranking = [(names[hit.document_id], hit.article) for hit in hits]
    top = hits[0]
    assert names[top.document_id] == flagship.file, ranking
    if flagship.article is not None:
        assert top.article is not None and top.article.split()[0] == flagship.article, ranking
    assert flagship.answer in top.text, (ranking, top.text)


@pytest.mark.parametrize(
    ("question", "quoted"),
    [
        ("회사 차로 출퇴근해도 되나요?", "업무용 차량은 출퇴근"),
        ("출장지에서 친척 집에 묵으면 숙박비 대신 뭘 받나요?", "1박당 3만원"),
    ],
)
def test_a_question_in_other_words_is_answered_from_its_sentence(
    indexed: tuple[Container, dict[str, str]], question: str, quoted: str
) -> None:
    """The container gives the chat service Kiwi's noun similarity (llm/paraphrase.py): 회사 차 finds
    업무용 차량 and 친척 finds 친지 in the extractive answer; by letters alone another sentence wins."""
    container, _ = indexed
    stream = container.chat_service.answer([{"role": "user", "content": question}], AccessScope())
    text = "".join(stream)
    assert stream.extractive is not None and stream.extractive.quoted, text
    assert quoted in stream.extractive.quoted[0].sentence, text


@pytest.mark.parametrize(
    ("question", "quoted"),
    [("연차휴가는 며칠인가요?", "15일의 연차유급휴가"), ("반차는 몇 시간 단위예요?", "4시간")],
)
def test_the_first_highlight_is_the_sentence_the_extractive_answer_quotes(
    indexed: tuple[Container, dict[str, str]], question: str, quoted: str
) -> None:
    """The answer's evidence (the API's ``evidence``, the UI's highlights) opens with what the answer
    quotes; before, the evidence was re-ranked by the words it shares with the whole answer and could
    lead with another sentence (both questions here did)."""
    container, _ = indexed
    stream = container.chat_service.answer([{"role": "user", "content": question}], AccessScope())
    text = "".join(stream)
    assert stream.extractive is not None and quoted in stream.extractive.quoted[0].sentence, text
    first = stream.evidence[0]
    assert first["sentence"] == stream.extractive.quoted[0].sentence and first["cited"] is True
    assert len(stream.evidence) <= 3
