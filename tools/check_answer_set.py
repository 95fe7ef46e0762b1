"""Check the answer evaluation set ``bench/data/answers_ko.jsonl`` against the sample documents.

Each sample file in ``samples/documents`` is read with the project's own parser registry
(``ingest.detect.detect_file_type`` then ``ingest.registry.parse_bytes``) and cleaned as ingestion
cleans it (``clean_text``: NFC, no control characters); the PII policy is NOT applied, so masked
numbers never hide an answer. The checks:

* every line is a JSON object with ``id``, ``question``, ``answers``, ``gold_files``, ``type`` and
  ``flagship``; ids and questions are unique; ``type`` is one of :data:`TYPES`;
* every gold file exists in ``samples/documents``;
* an answerable question's ``answers[0]`` appears verbatim (whitespace-insensitive) in at least one
  of its gold files (the other answers are accepted variants and may be phrased differently);
* a question with ``unanswerable: true`` has no answers, no gold files and is not a flagship;
* exactly one flagship question per sample file, counted by its first gold file (``gold_files[0]``
  is the question's primary document);
* at least :data:`MIN_ANSWERABLE` answerable questions.

    python tools/check_answer_set.py                  # check and print counts by type
    python tools/check_answer_set.py --also-in        # also list non-gold files containing answers[0]

Exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ingest.detect import detect_file_type  # noqa: E402
from ingest.document import ParseLimits  # noqa: E402
from ingest.metadata import clean_text  # noqa: E402
from ingest.registry import parse_bytes  # noqa: E402

DATASET = ROOT / "bench" / "data" / "answers_ko.jsonl"
DOCUMENTS = ROOT / "samples" / "documents"
TYPES = ("days", "amount", "count", "when", "who", "where", "how", "why", "what", "yes-no")
REQUIRED = ("id", "question", "answers", "gold_files", "type", "flagship")
MIN_ANSWERABLE = 150
_SPACE = re.compile(r"\s+")


def squash(text: str) -> str:
    """NFC text without any whitespace, for whitespace-insensitive containment."""
    return _SPACE.sub("", unicodedata.normalize("NFC", text))


def document_texts(folder: Path) -> dict[str, str]:
    """File name (NFC) → the text the project's parsers extract from it, without PII masking."""
    texts = {}
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        data = path.read_bytes()
        parsed = parse_bytes(data, detect_file_type(data, path.name), ParseLimits())
        texts[unicodedata.normalize("NFC", path.name)] = clean_text(parsed.text)
    return texts


def load(path: Path) -> list[dict]:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            item = json.loads(line)
            item["_line"] = number
            items.append(item)
    return items


def check(items: list[dict], texts: dict[str, str]) -> list[str]:
    """Every problem found, one message each (empty when the set passes)."""
    problems: list[str] = []
    squashed = {name: squash(text) for name, text in texts.items()}
    ids: Counter[str] = Counter()
    questions: Counter[str] = Counter()
    flagships: Counter[str] = Counter()
    answerable = 0
    for item in items:
        where = f"line {item['_line']} ({item.get('id', '?')})"
        missing = [key for key in REQUIRED if key not in item]
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
            continue
        ids[item["id"]] += 1
        questions[item["question"].strip()] += 1
        if item["type"] not in TYPES:
            problems.append(f"{where}: unknown type {item['type']!r}")
        gold = [unicodedata.normalize("NFC", g) for g in item["gold_files"]]
        for name in gold:
            if name not in texts:
                problems.append(f"{where}: gold file {name!r} is not in {DOCUMENTS.name}")
        if item.get("unanswerable"):
            if item["answers"] or gold or item["flagship"]:
                problems.append(f"{where}: unanswerable but has answers, gold files or flagship")
            continue
        answerable += 1
        if not item["answers"] or not gold:
            problems.append(f"{where}: answerable question without answers or gold files")
            continue
        needle = squash(item["answers"][0])
        if not any(needle in squashed.get(name, "") for name in gold):
            problems.append(f"{where}: answer {item['answers'][0]!r} is in none of {gold}")
        if item["flagship"]:
            flagships[gold[0]] += 1
    problems += [f"id {i!r} used {n} times" for i, n in ids.items() if n > 1]
    problems += [f"question {q!r} asked {n} times" for q, n in questions.items() if n > 1]
    for name in texts:
        if flagships[name] != 1:
            problems.append(f"{name}: {flagships[name]} flagship questions (expected exactly 1)")
    if answerable < MIN_ANSWERABLE:
        problems.append(f"only {answerable} answerable questions (expected at least {MIN_ANSWERABLE})")
    return problems


def also_in(items: list[dict], texts: dict[str, str]) -> list[str]:
    """Non-gold files that contain an answerable question's answers[0] (a hint, not a failure)."""
    squashed = {name: squash(text) for name, text in texts.items()}
    lines = []
    for item in items:
        if item.get("unanswerable") or not item.get("answers"):
            continue
        needle = squash(item["answers"][0])
        gold = {unicodedata.normalize("NFC", g) for g in item["gold_files"]}
        others = sorted(name for name, text in squashed.items() if name not in gold and needle in text)
        if others:
            lines.append(f"{item['id']} {item['answers'][0]!r}: also in {', '.join(others)}")
    return lines


def summary(items: list[dict], texts: dict[str, str]) -> str:
    answerable = [i for i in items if not i.get("unanswerable")]
    unanswerable = [i for i in items if i.get("unanswerable")]
    by_type = Counter(i["type"] for i in answerable)
    by_type_un = Counter(i["type"] for i in unanswerable)
    primary = Counter(i["gold_files"][0] for i in answerable if i.get("gold_files"))
    mentions = Counter(g for i in answerable for g in i.get("gold_files", []))
    flagship = {i["gold_files"][0]: i["id"] for i in answerable if i.get("flagship")}
    out = [
        f"{len(items)} questions: {len(answerable)} answerable, {len(unanswerable)} unanswerable",
        "by type (answerable / unanswerable):",
    ]
    out += [f"  {t:7} {by_type[t]:4} / {by_type_un[t]}" for t in TYPES]
    out.append("per file (primary = gold_files[0] / gold in / flagship):")
    out += [
        f"  {name:34} {primary[name]:3} / {mentions[name]:3} / {flagship.get(name, '-')}" for name in texts
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--documents", type=Path, default=DOCUMENTS)
    parser.add_argument("--also-in", action="store_true", help="list non-gold files holding answers[0]")
    args = parser.parse_args(argv)
    texts = document_texts(args.documents)
    items = load(args.dataset)
    print(summary(items, texts))
    if args.also_in:
        print("answers[0] also found outside the gold files (hint):")
        for line in also_in(items, texts):
            print(f"  {line}")
    problems = check(items, texts)
    for problem in problems:
        print(f"FAIL {problem}")
    print("OK" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
