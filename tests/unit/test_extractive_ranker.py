"""The fourth pass's measurement tools (bench.evidence_ranker): the listwise ranker and the rule tries."""

from __future__ import annotations

import numpy as np

from bench.evidence_ranker import (
    Group,
    _subject,
    _tie_break,
    exception_continuation,
    fit_listwise,
    hit_at_1,
)
from llm.evidence import Evidence


def _group(rows: list[list[float]], gold: list[int], answered: bool = True) -> Group:
    return Group(np.array(rows, dtype=float), np.array(gold, dtype=float), answered)


def test_the_listwise_ranker_learns_a_feature_that_marks_the_gold_candidate() -> None:
    rng = np.random.default_rng(0)
    train = []
    for _ in range(40):
        keys = np.sort(rng.random(4))[::-1]
        gold = int(rng.integers(4))
        marker = np.zeros(4)
        marker[gold] = 1.0
        train.append(_group(np.column_stack([keys, marker]).tolist(), [int(i == gold) for i in range(4)]))
    scorer = fit_listwise(train, [0, 1], l2=0.1)
    held = _group([[0.9, 0.0], [0.5, 1.0], [0.4, 0.0]], [0, 1, 0])
    shipped, picked = hit_at_1([held], lambda features: int(np.argmax(scorer(features))))
    assert shipped == [False]
    assert picked == [True]


def test_an_abstention_is_a_miss_whatever_the_order() -> None:
    group = _group([[0.3, 0.0], [0.2, 0.9]], [1, 0], answered=False)
    assert hit_at_1([group], lambda _features: 0) == ([False], [False])


def test_cosine_breaks_only_ties_within_eps() -> None:
    # columns as in FEATURES: key first, the e5 cosine at its index
    from bench.evidence_ranker import FEATURES

    rows = np.zeros((3, len(FEATURES)))
    rows[:, 0] = [0.50, 0.50, 0.45]
    rows[:, FEATURES.index("e5 cosine")] = [0.80, 0.85, 0.95]
    assert _tie_break(1e-6)(rows) == 1
    assert _tie_break(0.1)(rows) == 2


def test_an_exception_question_lifts_the_proviso_after_its_sentence() -> None:
    main = Evidence(1, "④비상계엄하의 군사재판은 … 단심으로 할 수 있다.", 0.71)
    proviso = Evidence(1, "다만, 사형을 선고한 경우에는 그러하지 아니하다.", 0.10)
    scored = [(0.76, main), (0.15, proviso)]
    keys = exception_continuation("군사재판을 단심으로 끝낼 수 없는 경우는?", scored, None)
    assert keys[1] > keys[0]
    assert exception_continuation("군사재판은 단심으로 할 수 있나요?", scored, None) == [0.76, 0.15]


def test_the_subject_is_read_after_the_article_and_clause_marks() -> None:
    assert _subject("위원장은 위원중에서 호선한다.") == "위원장"
    assert _subject("②중앙선거관리위원회는 대통령이 임명하는 3인") == "중앙선거관리위원회"
    assert _subject("제14조 모든 국민은 거주·이전의 자유를 가진다.") == "국민"
