"""The page's language in the browser: ``<html lang>`` and Streamlit's own English texts in Korean.

Streamlit has no option for the language of its built-in texts (the file uploader's "Drag and drop
files here", "Press Enter to apply", aria-labels such as "Thumbs up" or "Show password", the "Page not
found" dialog) nor for ``<html lang>``. A constant script, run in the page, sets ``lang`` and, in
Korean mode, rewrites those texts (text nodes and the ``aria-label``/``title``/``placeholder``
attributes) as Streamlit draws them, through one MutationObserver installed once per page. Only
the exact texts below are touched, and never inside answers, code or tables. The same observer
gives the page list's list markup ``role="none"`` (axe-core reports it as a broken list).
"""

from __future__ import annotations

import json

import streamlit as st

# Streamlit's built-in texts (1.67), exactly as they appear, and their Korean.
KOREAN: dict[str, str] = {
    "Drag and drop files here": "파일을 여기로 끌어다 놓으세요",
    "Drag and drop a file here": "파일을 여기로 끌어다 놓으세요",
    "Upload": "파일 선택",
    "Browse files": "파일 선택",
    "Add files": "파일 추가",
    "Press Enter to apply": "Enter 키를 누르면 적용됩니다",
    "Press Enter to submit form": "Enter 키를 누르면 제출됩니다",
    "Press Ctrl+Enter to apply": "Ctrl+Enter 키를 누르면 적용됩니다",
    "Press ⌘+Enter to apply": "⌘+Enter 키를 누르면 적용됩니다",
    "Press Ctrl+Enter to submit form": "Ctrl+Enter 키를 누르면 제출됩니다",
    "Press ⌘+Enter to submit form": "⌘+Enter 키를 누르면 제출됩니다",
    "Thumbs up": "좋아요",
    "Thumbs down": "싫어요",
    "Feedback rating": "답변 평가",
    "Show password": "비밀번호 보기",
    "Hide password": "비밀번호 숨기기",
    "Page not found": "페이지를 찾을 수 없습니다",
    "Close": "닫기",
    "Open": "열기",
    "Clear value": "선택 지우기",
    "Clear all": "모두 지우기",
    "Clear date": "날짜 지우기",
    "Choose date": "날짜 선택",
    "Previous month": "이전 달",
    "Next month": "다음 달",
    "Selected values": "선택한 항목",
    "Choose an option": "선택하세요",
    "Choose options": "선택하세요",
    "No results": "결과가 없습니다",
    "No options to select.": "고를 항목이 없습니다.",
    "Expand sidebar": "사이드바 열기",
    "Collapse sidebar": "사이드바 닫기",
    "Sidebar": "사이드바",
    "Main menu": "메뉴",
    "App pages": "페이지 목록",
    "Send message": "보내기",
    "Stop script": "중지",
    "Notifications": "알림",
    "Link to heading": "제목 링크",
    "Markdown content": "본문",
    "Copy to clipboard": "클립보드에 복사",
    "Download as CSV": "CSV로 내려받기",
    "Search": "검색",
    "Fullscreen": "전체 화면",
    "Close fullscreen": "전체 화면 닫기",
    "Increment": "늘리기",
    "Decrement": "줄이기",
    "Running...": "실행 중…",
    "Stop": "중지",
    "Pagination": "페이지",
    "Previous page": "이전 페이지",
    "Next page": "다음 페이지",
    "Scroll tabs left": "탭 왼쪽으로",
    "Scroll tabs right": "탭 오른쪽으로",
    "Dataframe column menu": "열 메뉴",
    "Skip to main content": "본문으로 건너뛰기",
}

# Texts with a value inside: (pattern, replacement) in JavaScript's RegExp syntax.
KOREAN_PATTERNS: list[tuple[str, str]] = [
    (r"^(\d+(?:\.\d+)?\s*[KMG]?B) per file( • .*)?$", "파일당 최대 $1$2"),
    (r"^Limit (\d+(?:\.\d+)?\s*[KMG]?B) per file( • .*)?$", "파일당 최대 $1$2"),
    (r"^(.*)\. Running the app's main page\.$", "요청한 페이지가 없습니다. 첫 화면을 엽니다."),
]

_SCRIPT = """<script>
(() => {
  const w = window;
  w.jikjiLang = __LANG__;
  document.documentElement.setAttribute("lang", __LANG__);
  if (w.jikjiLanguageObserver) { if (__LANG__ === "ko") w.jikjiTranslate(document.body); return; }
  const TEXT = __TABLE__;
  const PATTERNS = __PATTERNS__.map(([p, r]) => [new RegExp(p), r]);
  const ATTRS = ["aria-label", "title", "placeholder"];
  // Answers, code and tables hold the documents' and users' own words: never touched.
  const KEEP = '[data-testid="stChatMessage"], [data-testid="stCode"], [data-testid="stDataFrame"], '
    + '[data-testid="stTable"], .jikji-source';
  const korean = (value) => {
    const bare = value.trim();
    if (!bare) return null;
    if (Object.prototype.hasOwnProperty.call(TEXT, bare)) return value.replace(bare, TEXT[bare]);
    for (const [pattern, replacement] of PATTERNS) {
      if (pattern.test(bare)) return value.replace(bare, bare.replace(pattern, replacement));
    }
    return null;
  };
  const element = (node) => {
    for (const name of ATTRS) {
      const value = node.getAttribute && node.getAttribute(name);
      const changed = value && korean(value);
      if (changed && changed !== value) node.setAttribute(name, changed);
    }
  };
  let translate = (root) => {
    if (w.jikjiLang !== "ko" || !root) return;
    if (root.nodeType === Node.TEXT_NODE) {
      if (root.parentElement && root.parentElement.closest(KEEP)) return;
      const changed = korean(root.nodeValue || "");
      if (changed && changed !== root.nodeValue) root.nodeValue = changed;
      return;
    }
    if (root.nodeType !== Node.ELEMENT_NODE) return;
    element(root);
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.nodeType === Node.TEXT_NODE) translate(node); else element(node);
    }
  };
  // Streamlit's page list puts section headers and items in lists that axe-core reports as broken
  // lists (serious): present them as plain groups of links instead.
  const fixLists = (root) => {
    if (!root.querySelectorAll) return;
    root.querySelectorAll('[data-testid="stSidebarNav"] ul, [data-testid="stSidebarNav"] li').forEach(
      (node) => { if (node.getAttribute("role") !== "none") node.setAttribute("role", "none"); });
  };
  const translateAll = translate;
  translate = (root) => {
    translateAll(root);
    if (root && root.nodeType === Node.ELEMENT_NODE) fixLists(root);
  };
  w.jikjiTranslate = translate;
  w.jikjiLanguageObserver = new MutationObserver((changes) => {
    if (document.documentElement.getAttribute("lang") !== w.jikjiLang) {
      document.documentElement.setAttribute("lang", w.jikjiLang);
    }
    for (const change of changes) {
      if (change.type === "childList") change.addedNodes.forEach(translate);
      else translate(change.target);
    }
  });
  w.jikjiLanguageObserver.observe(document.documentElement, {
    subtree: true, childList: true, characterData: true, attributes: true,
    attributeFilter: [...ATTRS, "lang"],
  });
  translate(document.body);
})();
</script>"""


def page_language_script(lang: str) -> str:
    """The script that sets ``<html lang>`` to ``lang`` and, for Korean, translates Streamlit's texts."""
    return (
        _SCRIPT.replace("__PATTERNS__", json.dumps(KOREAN_PATTERNS, ensure_ascii=False))
        .replace("__TABLE__", json.dumps(KOREAN, ensure_ascii=False))
        .replace("__LANG__", json.dumps(lang if lang in ("ko", "en") else "ko"))
    )


def set_page_language(lang: str) -> None:
    """Run :func:`page_language_script` in the page (a constant script; nothing of the user's)."""
    st.html(page_language_script(lang), unsafe_allow_javascript=True, width="content")
