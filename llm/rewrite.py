"""Follow-up questions rewritten into standalone search queries.

"그럼 병가는요?" means nothing to a search index; after "연차휴가 신청 절차는?" it means "병가 신청
절차". The default rewrite is deterministic (a tiny local model cannot be trusted with it): a
follow-up — one that opens with a connective or a reference (그럼, 그리고, 또, 그거, 거기, what
about…), is elliptical ("병가는요?"), or names no topic of its own ("신청 방법은?") — gets the content
terms of the conversation's previous standalone query. When the follow-up switches to a topic of its
own (marked by 은/는/도 or "what about"), only the previous query's aspect terms (신청, 절차, 기간,
금액…) are carried, so the old topic does not pull the search back. Only user turns are read. An
LLM-based rewrite is available behind a setting.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from llm.client import ChatModel, LLMUnavailableError
from llm.terms import WORD_RE, content_terms, stem

MAX_CARRIED_TERMS = 6
MAX_LLM_QUERY_CHARS = 200
HISTORY_CHARS = 300

OPENERS = frozenset(
    {"그럼", "그러면", "그렇다면", "그리고", "그런데", "근데", "또", "또한", "아니면", "그래서"}
)  # fmt: skip
ENGLISH_OPENERS = ("what about", "how about", "what if", "and ", "also ", "then ", "so ", "same for")
# Words that point back into the conversation. Ambiguous English ones (it, that, there) are left
# out: "Is there a policy that…" is a standalone question.
REFERENCES = frozenset(
    {
        "그거", "그건", "그것", "그게", "그걸", "이거", "이건", "이것", "이게", "이걸", "저거", "저건",
        "저것", "거기", "거기서", "거기에", "여기", "여기서", "그곳", "이곳", "해당", "그", "이", "위",
        "앞", "방금", "아까", "마찬가지", "동일", "those", "them",
    }
)  # fmt: skip
SAME_AS_RE = re.compile(r"같(?:은가|나|아|을까|은지|습니까)|마찬가지|동일한가|the same", re.IGNORECASE)
ELLIPSIS_RE = re.compile(r"(?:은|는|도)요?\s*[?？]?\s*$")
TOPIC_MARK_RE = re.compile(r"[가-힣](?:은|는|도)요?$")  # 병가는(요), 해외 출장도: a topic being switched to
SWITCH_OPENERS = ("what about", "how about", "same for", "and for", "what if")
ELLIPTICAL_MAX_WORDS = 2

# Aspects of a topic rather than topics: they say what is asked about, not what it is about.
ASPECT_TERMS = frozenset(
    {
        "신청", "방법", "절차", "기간", "대상", "조건", "자격", "요건", "금액", "비용", "한도", "기준",
        "서류", "양식", "서식", "제출", "승인", "결재", "지급", "일수", "시간", "횟수", "날짜", "기한",
        "마감", "예외", "경우", "적용", "규정", "규칙", "정책", "내용", "담당", "담당자", "부서",
        "연락처", "문의", "처리", "변경", "취소", "연장", "사용", "계산", "산정", "최대", "최소",
        "이상", "이하", "차이", "방식", "범위", "효력", "시행", "일정", "신청서", "증빙",
        "process", "procedure", "apply", "application", "deadline", "eligibility", "eligible",
        "amount", "limit", "cost", "costs", "documents", "form", "forms", "approval", "days", "hours",
        "time", "rules", "rule", "policy", "exceptions", "exception", "contact", "conditions",
    }
)  # fmt: skip


def is_aspect(term: str) -> bool:
    """Whether ``term`` is an aspect word, or a compound of aspect words (신청방법, 지급기준)."""
    if term in ASPECT_TERMS:
        return True
    return any(term.startswith(a) and is_aspect(term[len(a) :]) for a in ASPECT_TERMS if len(a) < len(term))


def topical_terms(text: str) -> list[str]:
    """Content terms of ``text`` that name a topic (aspect words left out)."""
    return [term for term in content_terms(text) if not is_aspect(term)]


def is_follow_up(question: str) -> bool:
    """Whether ``question`` leans on the conversation before it to be understood."""
    text = question.strip()
    lowered = text.lower()
    words = WORD_RE.findall(lowered)
    if not words:
        return False
    if words[0] in OPENERS or lowered.startswith(ENGLISH_OPENERS):
        return True
    if any(stem(word) in REFERENCES for word in words) or SAME_AS_RE.search(text):
        return True
    if len(words) <= ELLIPTICAL_MAX_WORDS and ELLIPSIS_RE.search(text):
        return True
    return not topical_terms(text)


def strip_references(question: str) -> str:
    """``question`` without its opening connective and without bare reference words."""
    text = question.strip()
    lowered = text.lower()
    for opener in ENGLISH_OPENERS:
        if lowered.startswith(opener):
            text = text[len(opener) :].strip()
            break
    kept: list[str] = []
    for position, token in enumerate(text.split()):
        word = WORD_RE.findall(token.lower())
        bare = word[0] if len(word) == 1 else ""
        if bare and (stem(bare) in REFERENCES or (position == 0 and bare in OPENERS)):
            continue
        kept.append(token)
    return " ".join(kept)


def switched_topics(question: str) -> list[str]:
    """Topics a follow-up switches to: "그럼 **병가**는?", "해외 **출장**도 같은가요?", "what about **X**"."""
    lowered = question.strip().lower()
    for opener in SWITCH_OPENERS:
        if lowered.startswith(opener):
            return topical_terms(lowered[len(opener) :])
    topics: list[str] = []
    for word in WORD_RE.findall(lowered):
        term = stem(word)
        if term != word and TOPIC_MARK_RE.search(word) and term in topical_terms(term):
            topics.append(term)
    return topics


def merge_follow_up(previous_query: str, question: str) -> str:
    """``question`` completed with terms of the previous standalone query.

    All of them, unless the follow-up switches to a topic of its own: then only the aspect terms
    (신청, 절차, 한도…), so "연차휴가 신청 절차" + "병가는요?" searches "신청 절차 병가는요?".
    """
    own = content_terms(question)
    switching = bool(switched_topics(question))
    carried = [
        term
        for term in content_terms(previous_query)
        if term not in own and (not switching or is_aspect(term))
    ]
    body = strip_references(question)
    return " ".join([*carried[-MAX_CARRIED_TERMS:], body]).strip() or question.strip()


def user_turns(messages: Sequence[dict[str, str]]) -> list[str]:
    """The non-empty user messages, in order."""
    return [
        m["content"].strip() for m in messages if m.get("role") == "user" and m.get("content", "").strip()
    ]


def standalone_query(messages: Sequence[dict[str, str]]) -> str:
    """The search query for the last user message, with follow-ups resolved turn by turn."""
    turns = user_turns(messages)
    if not turns:
        return ""
    query = turns[0]
    for question in turns[1:]:
        query = merge_follow_up(query, question) if is_follow_up(question) else question
    return query


REWRITE_INSTRUCTION = (
    "아래 대화의 마지막 질문을, 대화를 보지 않아도 이해되는 하나의 검색 질의로 다시 쓰세요. "
    "답하지 말고 다시 쓴 질의만 한 줄로 쓰세요. "
    "(Rewrite the last question as one standalone search query; write only the query.)"
)
LLM_LABEL_RE = re.compile(r"^\s*(?:검색\s*질의|질의|query|search query)\s*[:：]\s*", re.IGNORECASE)


def rewrite_prompt(messages: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    """The one-message prompt asking a model for a standalone query."""
    lines = []
    for message in messages:
        role = message.get("role")
        content = " ".join(message.get("content", "").split())[:HISTORY_CHARS]
        if role in {"user", "assistant"} and content:
            lines.append(f"{'사용자' if role == 'user' else '도우미'}: {content}")
    conversation = "\n".join(lines)
    return [{"role": "user", "content": f"{REWRITE_INSTRUCTION}\n\n{conversation}\n\n검색 질의:"}]


def rewrite_with_model(
    model: ChatModel, messages: Sequence[dict[str, str]], max_tokens: int = 64
) -> str | None:
    """A standalone query written by ``model``; ``None`` when it fails or writes nothing usable."""
    parts: list[str] = []
    stream = None
    try:
        stream = model.stream(rewrite_prompt(messages), max_tokens=max_tokens, temperature=0.0, stop=["\n"])
        parts.extend(chunk.text for chunk in stream)
    except LLMUnavailableError:
        return None
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    lines = "".join(parts).strip().splitlines()
    query = LLM_LABEL_RE.sub("", lines[0]).strip().strip("\"'“”‘’").strip() if lines else ""
    if not WORD_RE.search(query) or len(query) > MAX_LLM_QUERY_CHARS:
        return None
    return query
