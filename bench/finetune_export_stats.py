"""Compare ``jikji finetune export`` folders: lines by source and form, the abstention share, phrasing
variety, and how close the training questions come to the answer set's questions as people ask them.

``python -m bench.finetune_export_stats DIR [DIR …] [--answers bench/data/answers_ko.jsonl]``

For each folder: train/held-out lines by ``meta.source`` and ``meta.form`` (``?`` for an export from before
forms were recorded), the abstention share of ``train.jsonl``, the share of training questions in template
form (naming a document and article: "…제3조(경조금)에서 정한 금액은 얼마인가요?"), distinct question
frames (``stats.json``'s ``distinct_question_frames`` when the export records it; for an older export,
where every generated question is a template, the templates' endings and the other questions as they are),
and, for each answer-set question, the character-bigram Jaccard similarity (spaces removed) of the closest
training question. That last figure is a proxy for how far the training phrasing is from employees', not
an answer evaluation: the answer set is only compared with, never trained on.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

TEMPLATE_RE = re.compile(r"제\s*\d+\s*조|에서는 무엇을|에서 정한|에 따른 절차")
TEMPLATE_ENDING_RE = re.compile(r"(에서는 |에서 정한 |에 따른 )")


def question(line: dict[str, Any]) -> str:
    """The question of an exported user turn (``<sources>…</sources>\\n\\n질문: …``)."""
    return str(line["messages"][1]["content"].rsplit("질문: ", 1)[1])


def frame(text: str) -> str:
    """The question without its article number and, for a template, without what precedes its ending."""
    text = re.sub(r"제\s*\d+\s*조", "제N조", text)
    match = TEMPLATE_ENDING_RE.search(text)
    return text[match.start() :] if match else text


def bigrams(text: str) -> set[str]:
    """Character bigrams of ``text`` without whitespace."""
    squeezed = re.sub(r"\s+", "", text)
    return {squeezed[i : i + 2] for i in range(len(squeezed) - 1)}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Objects of a JSONL file (blank lines skipped)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def describe(folder: Path, asks: list[str]) -> dict[str, Any]:
    """The figures of one export folder."""
    train, heldout = read_jsonl(folder / "train.jsonl"), read_jsonl(folder / "heldout.jsonl")
    questions = [question(line) for line in train]
    grams = [bigrams(q) for q in set(questions)]
    nearest = [max((len(g & h) / len(g | h) for h in grams), default=0.0) for g in map(bigrams, asks)]
    sources = Counter(line["meta"]["source"] for line in train)
    return {
        "train": len(train),
        "heldout": len(heldout),
        "sources": dict(sources),
        "heldout_sources": dict(Counter(line["meta"]["source"] for line in heldout)),
        "forms": dict(Counter(line["meta"].get("form", "?") for line in train)),
        "abstain_share": round(sources["abstain"] / len(train), 4) if train else 0.0,
        "template_form_share": round(sum(bool(TEMPLATE_RE.search(q)) for q in questions) / len(questions), 4)
        if questions
        else 0.0,
        "distinct_frames": _frames(folder, questions),
        "answers_nearest_mean": round(sum(nearest) / len(nearest), 4) if nearest else 0.0,
        "answers_nearest_at_least_0.3": round(sum(n >= 0.3 for n in nearest) / len(nearest), 4)
        if nearest
        else 0.0,
        "answers_nearest_at_least_0.5": round(sum(n >= 0.5 for n in nearest) / len(nearest), 4)
        if nearest
        else 0.0,
    }


def _frames(folder: Path, questions: list[str]) -> int:
    stats = json.loads((folder / "stats.json").read_text(encoding="utf-8"))
    recorded = (stats.get("distinct_question_frames") or {}).get("train")
    return int(recorded) if recorded is not None else len({frame(q) for q in questions})


def main() -> None:
    """Print one JSON object per export folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="folders written by `jikji finetune export`")
    parser.add_argument("--answers", type=Path, default=Path("bench/data/answers_ko.jsonl"))
    args = parser.parse_args()
    asks = [str(item["question"]) for item in read_jsonl(args.answers)]
    for folder in args.folders:
        print(json.dumps({"folder": str(folder), **describe(folder, asks)}, ensure_ascii=False))


if __name__ == "__main__":
    main()
