"""Model output reaches the page only as safe Markdown; source cards carry only escaped text."""

from __future__ import annotations

import re

import pytest

from ui.render import (
    code_span,
    evidence_by_number,
    highlight_html,
    plain_label,
    safe_markdown,
    source_card_html,
)


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "<SCRIPT SRC=//evil.test/x.js></SCRIPT>",
        '<img src="http://evil.test/x.png" onerror="alert(1)">',
        "<iframe src=https://evil.test></iframe>",
        "<a href='javascript:alert(1)'>x</a>",
        "<svg onload=alert(1)>",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
    ],
)
def test_raw_html_is_escaped(hostile: str) -> None:
    out = safe_markdown(f"답변 {hostile} 끝")
    assert "<" not in out
    assert out.startswith("답변 ") and out.endswith(" 끝")


@pytest.mark.parametrize(
    "image",
    [
        "![logo](http://evil.test/track.png)",
        "![](https://evil.test/a.gif)",
        "![alt][ref]\n\n[ref]: http://evil.test/b.png",
        '![x](http://evil.test/c.png "title")',
        "![x](<http://evil.test/d.png>)",
    ],
)
def test_images_are_dropped_to_their_alt_text(image: str) -> None:
    out = safe_markdown(f"보세요 {image}")
    assert "evil.test" not in out
    assert "![" not in out


@pytest.mark.parametrize(
    "link",
    [
        "[클릭](javascript:alert(1))",
        "[클릭](JaVaScRiPt:alert(document.cookie))",
        "[클릭]( javascript:alert(1) )",
        "[클릭](<javascript:alert(1)>)",
        "[클릭](&#106;avascript:alert(1))",
        "[클릭](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[클릭](vbscript:msgbox(1))",
        "[클릭](file:///etc/passwd)",
        "[클릭](//evil.test/relative)",
        "[클릭][r]\n\n[r]: javascript:alert(1)",
        "> [r]: javascript:alert(1)\n\n[클릭][r]",
        "[a [nested] b](javascript:alert(1))",
        "<javascript:alert(1)>",
    ],
)
def test_script_data_and_relative_links_lose_their_target(link: str) -> None:
    out = safe_markdown(f"여기 {link}")
    # Every link left in the output (an unescaped "](") has a safe target; here there is none.
    assert re.findall(r"(?<!\\)\]\(", out) == []
    assert re.findall(r"^\s*\[[^\]]+\]:", out, re.MULTILINE) == []  # no reference definitions
    assert "<" not in out


def test_http_links_to_allowed_hosts_survive_and_citations_link_to_their_cards() -> None:
    out = safe_markdown(
        "근거는 [1], [2] 입니다. [규정](https://intra.example/a_(b))",
        anchor_prefix="src-m1",
        numbers=[1],
        link_hosts=["intra.example"],
    )
    assert "[\\[1\\]](#src-m1-1)" in out
    assert "**\\[2\\]**" in out  # not a source of this answer: shown, not linked
    assert "[규정](https://intra.example/a_%28b%29)" in out


def unescaped_links(markdown: str) -> list[str]:
    """Targets of the Markdown links left outside code spans."""
    prose = re.sub(r"(`+).*?\1", "", markdown)
    return re.findall(r"(?<!\\)\]\(([^)]*)\)", prose)


def bare_addresses(markdown: str) -> list[str]:
    """Addresses outside code spans that GFM would turn into links by itself."""
    prose = re.sub(r"(`+).*?\1", "", markdown)
    prose = re.sub(r"\]\([^)]*\)", "]", prose)  # link targets are counted by unescaped_links
    return re.findall(r"https?://\S+|www\.\S+|[\w.+-]+@[\w-]+\.\w+", prose, re.IGNORECASE)


@pytest.mark.parametrize(
    "answer",
    [
        "자세한 내용은 [사내 포털](https://evil.test/login) 에서 확인하세요.",
        "자세한 내용은 https://evil.test/login?next=%2F 에서 확인하세요.",
        "자세한 내용은 www.evil.test 에서 확인하세요.",
        "문의: helpdesk@evil.test",
        "[메일](mailto:helpdesk@evil.test)",
        "<https://evil.test/x>",
        "[https://intra.example/ok](https://evil.test/real)",
        "https://intra.example.evil.test/x https://intra.example@evil.test/x",
        "https://intra.example/b)https://evil.test",
        "[`코드`](https://evil.test/`tick`)",
    ],
)
def test_links_from_the_model_are_text_unless_their_host_is_allowed(answer: str) -> None:
    for hosts in ((), ("intra.example",)):
        out = safe_markdown(answer, link_hosts=hosts)
        assert not [t for t in unescaped_links(out) if "evil" in t], out
        assert not [a for a in bare_addresses(out) if "evil" in a], out
        assert "<" not in out


def test_the_address_of_a_refused_link_is_shown_as_code() -> None:
    out = safe_markdown("[사내 포털](https://evil.test/login) 참고")
    assert out == "사내 포털 (`https://evil.test/login`) 참고"
    assert code_span("https://e.test/`x`") == "`` https://e.test/`x` ``"  # backticks cannot end the span


def test_allowed_hosts_and_their_subdomains() -> None:
    hosts = ["wiki.example.co.kr", "*.intra.example"]
    out = safe_markdown(
        "[위키](https://wiki.example.co.kr/a) https://docs.intra.example/b [x](https://example.co.kr/c)",
        link_hosts=hosts,
    )
    assert unescaped_links(out) == ["https://wiki.example.co.kr/a"]
    assert bare_addresses(out) == ["https://docs.intra.example/b"]
    assert "x (`https://example.co.kr/c`)" in out


def test_a_fake_citation_pointing_elsewhere_becomes_a_real_one() -> None:
    out = safe_markdown("[1](https://phishing.test) 참고", anchor_prefix="p")
    assert "phishing" not in out
    assert "[\\[1\\]](#p-1)" in out


def test_markdown_injection_cannot_start_latex_or_forge_links() -> None:
    out = safe_markdown("가격은 $5 이고 $$x$$ 입니다 [가짜](#src-other-1 )")
    assert "\\$5" in out and "\\$\\$x\\$\\$" in out
    assert "](#src-other-1" not in out


def test_code_is_left_as_code() -> None:
    text = "예시:\n\n```html\n<b>굵게</b> [1]\n```\n\n그리고 `<i>` 태그"
    out = safe_markdown(text, anchor_prefix="m")
    assert "```html\n<b>굵게</b> [1]\n```" in out
    assert "`<i>`" in out


def test_evidence_shapes() -> None:
    assert evidence_by_number([{"source": 1, "sentence": "가"}, {"source": 1, "sentence": "나"}]) == {
        1: ["가", "나"]
    }
    assert evidence_by_number({"2": ["다"], "x": ["?"]}) == {2: ["다"]}
    assert evidence_by_number(None) == {}


def test_evidence_is_highlighted_in_the_snippet_even_when_cut_off() -> None:
    snippet = "제12조(연차휴가) ① 1년간 80퍼센트 이상   출근한 직원에게 15일의 유급휴가를"
    marked, missing = highlight_html(
        snippet, ["1년간 80퍼센트 이상 출근한 직원에게 15일의 유급휴가를 준다.", "없는 문장"]
    )
    assert "<mark>1년간 80퍼센트 이상 출근한 직원에게 15일의 유급휴가를</mark>" in marked
    assert missing == ["없는 문장"]


def test_source_cards_escape_everything() -> None:
    source = {
        "number": 1,
        "label": "<b>인사규정</b> 제12조 ②",
        "snippet": "<script>alert(1)</script> 연차는 15일이다.",
    }
    card = source_card_html(
        source,
        ["연차는 15일이다."],
        anchor_id='x" onclick="alert(1)',
        meta=["<i>v</i>"],
        evidence_label="근거",
    )
    assert "<script>" not in card and "<b>" not in card and "<i>" not in card
    assert 'id="x--onclick--alert-1-"' in card
    assert "<mark>연차는 15일이다.</mark>" in card
    assert "[1] &lt;b&gt;인사규정&lt;/b&gt; 제12조 ②" in card


def test_plain_labels_show_markdown_literally() -> None:
    label = plain_label("![t](http://evil.test/x.png) **굵게** :red[빨강]\n둘째 줄", 200)
    assert "\\!\\[t\\]\\(http\\:" in label
    assert "\\*\\*굵게\\*\\*" in label and "\\:red\\[" in label
    assert "\n" not in label
    assert plain_label("가" * 100, 10) == "가" * 9 + "…"
