"""The held-out split of ``jikji finetune export`` as an answer set for ``jikji eval gate`` / ``eval answers``.

Usage: python -m bench.finetune_heldout --heldout DIR/heldout.jsonl --out heldout_answers.jsonl

``heldout.jsonl`` is in chat format (rules, sources, question → reference answer citing ``[n]``). Each
line becomes ``{"id", "question", "answers", "gold_files"}`` (the reference answer without its citation
markers; the file names of its documents, read from the data directory of the current settings, which
must be the index the export was made from) or, for a ``not in the documents`` item,
``{"unanswerable": true}``. The gate then asks those questions through the chat service for the base
model and for a candidate adapter (``--set llm.adapter=NAME``): answer F1/EM before and after on
documents the adapter was not trained on.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.container import build_container
from core.models import Document
from core.settings import Settings

QUESTION_MARK = "\n\n질문: "
CITATION_RE = re.compile(r"\s*\[\d+\]")


def question_of(user_turn: str) -> str:
    """The question of an exported user turn (``<sources>…</sources>\\n\\n질문: …``)."""
    return user_turn.rsplit(QUESTION_MARK, 1)[-1].strip()


def answer_line(number: int, line: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """One exported conversation as an answer-set line."""
    messages, meta = line["messages"], line.get("meta") or {}
    user = next(m["content"] for m in reversed(messages) if m["role"] == "user")
    item: dict[str, Any] = {
        "id": f"h{number:03d}",
        "question": question_of(user),
        "source": meta.get("source"),
    }
    if meta.get("source") == "abstain":
        return {**item, "answers": [], "unanswerable": True}
    answer = CITATION_RE.sub("", messages[-1]["content"]).strip()
    gold = [names[d] for d in meta.get("document_ids") or () if d in names]
    return {**item, "answers": [answer], "gold_files": gold}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--heldout", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    container = build_container(Settings())
    try:
        with container.sessions() as session:
            names = dict(session.execute(select(Document.id, Document.display_name)).all())
    finally:
        container.close()
    lines = [json.loads(t) for t in args.heldout.read_text(encoding="utf-8").splitlines() if t.strip()]
    items = [answer_line(n, line, names) for n, line in enumerate(lines, start=1)]
    args.out.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    sources: dict[str, int] = {}
    for item in items:
        sources[item["source"]] = sources.get(item["source"], 0) + 1
    print(f"{len(items)} questions ({sources}) → {args.out}")


if __name__ == "__main__":
    main()
