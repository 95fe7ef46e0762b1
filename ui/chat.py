"""Jikji chat page (Streamlit). Talks to the API over HTTP only."""

from __future__ import annotations

import httpx
import streamlit as st

from core.settings import load_settings
from ui.api_client import ApiClient, ApiClientError, StreamedAnswer
from ui.render import safe_markdown, source_title

settings = load_settings()
client = ApiClient(settings.api_url)

st.set_page_config(page_title=f"{settings.ui.company_name} 지식 도우미", page_icon="📚", layout="centered")
st.markdown("<style>[data-testid='stToolbar'] {display: none;}</style>", unsafe_allow_html=True)
st.title(f"{settings.ui.company_name} 지식 도우미")
st.caption("사내 문서를 근거로 답하고 출처를 밝힙니다. / Answers from company documents, with sources.")

if "messages" not in st.session_state:
    st.session_state.messages = []


def show_sources(sources: list[dict[str, object]]) -> None:
    """Source cards under an answer: cited ones first."""
    cited = [s for s in sources if s.get("cited")]
    shown = cited or sources
    if not shown:
        return
    label = "출처" if cited else "참고한 문서 (답변에 인용되지 않음)"
    st.markdown(f"**{label}**")
    for source in shown:
        with st.expander(source_title(source)):
            section = source.get("section")
            if section:
                st.caption(str(section))
            st.text(str(source.get("snippet", "")))


for message in st.session_state.messages:
    with st.chat_message(message["role"]):
        st.markdown(safe_markdown(message["content"]))
        if message["role"] == "assistant":
            show_sources(message.get("sources", []))

question = st.chat_input("무엇이든 물어보세요. 예: 연차휴가는 며칠인가요?")
if question:
    st.session_state.messages.append({"role": "user", "content": question})
    with st.chat_message("user"):
        st.markdown(safe_markdown(question))
    history = [{"role": m["role"], "content": m["content"]} for m in st.session_state.messages]
    answer = StreamedAnswer()
    with st.chat_message("assistant"):
        try:
            placeholder = st.empty()
            for _ in client.stream_chat(history, answer):
                placeholder.markdown(safe_markdown(answer.text) + "▌")
            placeholder.markdown(safe_markdown(answer.text or "문서에서 답을 찾지 못했습니다."))
            show_sources(answer.sources)
        except ApiClientError as exc:
            st.error(f"{exc.message_ko}\n\n{exc.message_en}")
        except httpx.HTTPError:
            st.error("API 서버에 연결할 수 없습니다. / Cannot reach the Jikji API.")
    if answer.text:
        st.session_state.messages.append(
            {"role": "assistant", "content": answer.text, "sources": answer.sources}
        )
