"""The evaluation page's release-gate tab (릴리스 게이트): start a run with a candidate, see that it
failed and why (the metrics that dropped beyond tolerance, the items that got worse), and the history."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.services.golden import GoldenDraft, create_item
from retrieval.tokenizer import KiwiTokenizer
from tests.integration.test_ui_pages import PAY, RULES, no_exception, page
from tests.support.ui_backend import UiBackend, keep_main_module_fixture, running_backend  # noqa: F401

pytestmark = pytest.mark.integration
GATE_WAIT_S = 300


@pytest.fixture
def backend(tmp_path: Path, kiwi: KiwiTokenizer) -> Iterator[UiBackend]:
    """An admin, two public documents and two golden items on them."""
    with running_backend(tmp_path, kiwi) as real:
        real.user("admin", role="admin")
        rules = real.document(RULES, "취업규칙.md", public=True)
        pay = real.document(PAY, "보상기준.md", public=True)
        with real.container.sessions.begin() as session:
            create_item(session, None, GoldenDraft("연차휴가는 며칠인가요?", ("15일",), (rules,)))
            create_item(session, None, GoldenDraft("성과급은 언제 지급하나요?", ("매년 3월",), (pay,)))
        yield real


def _run_gate(backend: UiBackend, at: AppTest, candidate: str) -> AppTest:
    at.text_area[0].set_value(candidate)
    # the run works in the API's process: the page may wait on a busy API while it starts
    at.button[0].click().run(timeout=GATE_WAIT_S)
    backend.container.gate_runner.wait(GATE_WAIT_S)
    return at.run(timeout=GATE_WAIT_S)  # what the page's polling shows once the run is done


def test_a_gate_run_that_fails_says_which_metrics_dropped_and_what_got_worse(backend: UiBackend) -> None:
    at = page(backend, "admin_eval")
    at.button_group[0].set_value("gate").run()
    assert "아직 게이트 실행 기록이 없습니다." in [c.value for c in at.caption]
    at = _run_gate(backend, at, "llm.context_tokens=1")
    no_exception(at)
    [error] = at.error
    assert "실패" in error.value and "허용치를 넘어" in error.value and "f1" in error.value
    tables = [frame.value for frame in at.dataframe]
    assert any("지표" in table.columns for table in tables)  # the metrics side by side
    worse = next(table for table in tables if "이유" in table.columns)
    assert "연차휴가는 며칠인가요?" in set(worse["질문"])

    at = _run_gate(backend, at, "retrieval.top_k=6")
    no_exception(at)
    assert at.success and "통과" in at.success[0].value
    history = tables_with(at, "결과")
    assert list(history["결과"]) == ["통과", "실패"]
    assert len(at.get("vega_lite_chart")) == 1  # quality over time


def tables_with(at: AppTest, column: str):  # type: ignore[no-untyped-def]
    return next(frame.value for frame in at.dataframe if column in frame.value.columns)
