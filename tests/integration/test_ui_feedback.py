"""The feedback review page (AppTest, the real API client against the real API): a 👎 with a comment
is shown with its question and answer, becomes a golden item, and the golden item is listed, exported
and retired."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from retrieval.tokenizer import KiwiTokenizer
from tests.integration.test_ui_pages import RULES, app, ask, last_answer_id, no_exception, page
from tests.support.ui_backend import UiBackend, keep_main_module_fixture, running_backend  # noqa: F401

pytestmark = pytest.mark.integration


@pytest.fixture
def backend(tmp_path: Path, kiwi: KiwiTokenizer) -> Iterator[UiBackend]:
    """kim in 인사팀, an admin, one public document."""
    with running_backend(tmp_path, kiwi) as real:
        real.user("kim", groups=("인사팀",))
        real.user("admin", role="admin")
        real.document(RULES, "취업규칙.md", public=True)
        yield real


def test_a_thumbs_down_becomes_a_golden_item_listed_exported_and_retired(backend: UiBackend) -> None:
    at = ask(app(backend, "kim"), "연차휴가는 며칠인가요?")
    message_id = last_answer_id(backend)
    at.feedback(key=f"fb-{message_id}").set_value(0).run()
    at.text_area(key=f"comment-{message_id}").set_value("조항 번호가 없어요")
    at.button(key=f"comment-send-{message_id}").click().run()
    assert backend.feedback(message_id)["rating"] == -1

    review = page(backend, "admin_feedback")
    no_exception(review)
    (expander,) = review.expander
    assert "연차휴가는 며칠인가요?" in expander.label
    assert any("조항 번호가 없어요" in info.value for info in review.info)
    (feedback_id,) = [
        k.removeprefix("gold-answer-") for k in review.session_state if k.startswith("gold-answer-")
    ]
    review.text_input(key=f"gold-answer-{feedback_id}").set_value("15일")
    review.multiselect(key=f"gold-groups-{feedback_id}").set_value(["인사팀"])
    review.button(key=f"gold-make-{feedback_id}").click().run()
    no_exception(review)
    assert any("골든 항목을 만들었습니다" in s.value for s in review.success)

    golden = review.dataframe[0].value
    assert list(golden.iloc[:, 0]) == ["연차휴가는 며칠인가요?"] and list(golden.iloc[:, 1]) == ["15일"]
    exported = backend.client("admin").export_golden()
    assert json.loads(exported.splitlines()[0])["answers"] == ["15일"]
    review.button(key="fbr_retire").click().run()
    assert any("폐기했습니다" in s.value for s in review.success)
    assert backend.client("admin").list_golden("active") == []
    employee = page(backend, "admin_feedback", username="kim")
    assert employee.error  # the API answers 403 to an employee
