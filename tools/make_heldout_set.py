"""Build the held-out Korean answer set (SQuAD v1) and check it.

A fourth set for evidence selection (issue 15) that no ranking change has been tuned on: the
lead engineer runs a change on it once, before adopting it, and never tunes on it.

Passages come from one PyPI wheel, read as a zip file (nothing is installed or downloaded here):
``korean-rnd-regs-mcp`` 0.61.0, ``korean_rnd_regs_mcp/manual_*.json``, the explanatory text of the
government's national-R&D manuals (국가연구개발혁신법 매뉴얼 본권, 별권 1-4, 국가연구개발 과제평가
표준지침). ``tools/make_statutes_set.py`` took only the statute and notice articles that these
manuals quote; this set takes the manuals' own prose, and drops every paragraph that shares more
than 30 % of its 6-character shingles with a passage of ``statutes_ko_squad.json``. The KAIA case
book (``manual_case``) is left out: it is not a government publication.

Each passage is a run of paragraphs (bullets, numbered items, notes) from one manual section, 150-700
characters, prefixed with the section's title in brackets: ``[학생인건비 지급액 책정 및 지급] - …``.

Questions are written by hand in ``bench/data/heldout_ko_questions.tsv`` (passage id, kind, type,
question, answer, optional occurrence index), without running any retrieval or ranking on them;
this script finds each answer's character offset in its passage and fails if an answer is missing.

    pip download --no-deps korean-rnd-regs-mcp==0.61.0 -d /tmp/wheels
    python tools/make_heldout_set.py --wheels /tmp/wheels            # writes the JSON and checks it
    python tools/make_heldout_set.py --wheels /tmp/wheels --list     # prints the passages with ids
    python tools/make_heldout_set.py --check                         # re-checks the written JSON only
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script or loaded by file path in tests
import make_statutes_set as statutes_set  # the statutes set's TSV reader and SQuAD builder

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
OUT = DATA / "heldout_ko_squad.json"
QUESTIONS = DATA / "heldout_ko_questions.tsv"
STATUTES = DATA / "statutes_ko_squad.json"
WHEEL = "korean_rnd_regs_mcp-0.61.0-*.whl"
MANUALS = ("manual_body", "manual_b1", "manual_b2", "manual_b3", "manual_b4", "manual_eval")
MIN_CHARS, MAX_CHARS = 150, 700
GROUP_CHARS = 420  # a passage grows paragraph by paragraph up to about this many characters
MIN_QUESTIONS = 150
KINDS = statutes_set.KINDS
TYPES = {"무엇", "언제", "누구", "얼마", "몇", "어디", "어떻게", "왜", "며칠"}

_START = re.compile(
    r"([○◦ㅇ●•∙▪■□※☞➊-➓❶-❿①-⑳]|-\s|\d+\.\s|\d+\)\s|[가-하]\.\s|[가-하]\)\s"
    r"|Q\d*[.:)]?\s|A[.:)]?\s|제\d+조(의\d+)?\()"
)
_END = re.compile(r"(다|함|음|것|임|됨|니다)\)?\.?\s*$")


def shingles(text: str, n: int = 6) -> set[str]:
    t = re.sub(r"\s+", "", text)
    return {t[i : i + n] for i in range(len(t) - n + 1)}


def _hangul(text: str) -> int:
    return sum("가" <= c <= "힣" for c in text)


def _paragraphs(lines: list[str]) -> list[str]:
    """Join the PDF's broken lines into paragraphs; a paragraph starts at a bullet or number."""
    paras: list[str] = []
    cur = ""
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if cur and _START.match(line):
            paras.append(cur)
            cur = line
        else:
            cur = (cur + ("" if cur.endswith(" ") else " ") + line) if cur else line
    if cur:
        paras.append(cur)
    return [re.sub(r"\s+", " ", p).strip() for p in paras]


def _keep(paragraph: str, used: set[str]) -> bool:
    """Prose only: long enough, mostly Hangul, few digits (tables), a finished sentence, and not
    the statute text that the statutes set already holds."""
    p = paragraph
    if len(p) < 40 or _hangul(p) < 0.5 * len(p.replace(" ", "")):
        return False
    if sum(c.isdigit() for c in p) > 0.25 * len(p) or not _END.search(p):
        return False
    mine = shingles(p)
    return len(mine & used) <= 0.3 * len(mine)


def build_passages(wheels: Path, statutes: Path = STATUTES) -> list[dict]:
    wheel = next(wheels.glob(WHEEL))
    used: set[str] = set()
    for article in json.loads(statutes.read_text(encoding="utf-8"))["data"]:
        for para in article["paragraphs"]:
            used |= shingles(para["context"])
    raw: list[tuple[str, str]] = []
    with zipfile.ZipFile(wheel) as z:
        for name in MANUALS:
            data = json.loads(z.read(f"korean_rnd_regs_mcp/{name}.json"))
            for section in data["sections"]:
                title = section["section_title"]
                lines = [line for page in section["pages"] for line in page["text"].split("\n")]
                cur = ""
                for p in [q if _keep(q, used) else None for q in _paragraphs(lines)] + [None]:
                    if p is not None and (not cur or len(cur) + len(p) < GROUP_CHARS):
                        cur = f"{cur} {p}" if cur else f"[{title}] {p}"
                        continue
                    if cur:
                        raw.append((name, cur))
                    cur = f"[{title}] {p}" if p is not None else ""
    seen: set[str] = set()
    passages: list[dict] = []
    for src, text in raw:
        key = re.sub(r"\s+", "", text)
        if key in seen or not MIN_CHARS <= len(text) <= MAX_CHARS:
            continue
        seen.add(key)
        passages.append({"source": src, "text": text})
    passages = _drop_near_duplicates(passages)
    for n, passage in enumerate(passages):
        passage["id"] = f"h{n:03d}"
    return passages


def _drop_near_duplicates(passages: list[dict]) -> list[dict]:
    """The manuals repeat some notes word for word in several sections: a passage goes when more
    than half of its shingles lie in a longer kept one, so each question has one correct passage."""
    sh = [shingles(p["text"]) for p in passages]
    kept: list[int] = []
    for i in sorted(range(len(passages)), key=lambda j: -len(sh[j])):
        if not any(len(sh[i] & sh[k]) > 0.5 * len(sh[i]) for k in kept):
            kept.append(i)
    return [passages[i] for i in sorted(kept)]


# ---------------------------------------------------------------- questions, offsets, checks


def read_questions(path: Path) -> list[dict]:
    """The question rows (the statutes set's TSV format, with 며칠 among the interrogatives)."""
    return statutes_set.read_questions(path, TYPES)


def build(passages: list[dict], questions: list[dict]) -> dict:
    """SQuAD v1 of the passages with their questions (exits on a missing passage or answer)."""
    return statutes_set.build(passages, questions, version="heldout_ko-1", title_prefix="rnd/")


def check(squad: dict) -> dict:
    """Offsets, lengths, distinct contexts, no statute-set context, enough questions; returns counts."""
    statutes = {
        para["context"]
        for article in json.loads(STATUTES.read_text(encoding="utf-8"))["data"]
        for para in article["paragraphs"]
    }
    contexts: set[str] = set()
    questions: set[str] = set()
    n_q = 0
    kinds: dict[str, int] = {}
    types: dict[str, int] = {}
    for article in squad["data"]:
        for para in article["paragraphs"]:
            ctx = para["context"]
            assert MIN_CHARS <= len(ctx) <= MAX_CHARS, (article["title"], len(ctx))
            assert ctx not in contexts, article["title"]
            assert ctx not in statutes, article["title"]
            contexts.add(ctx)
            for qa in para["qas"]:
                assert qa["question"] not in questions, qa["id"]
                questions.add(qa["question"])
                assert qa["kind"] in KINDS.values(), qa["id"]
                assert qa["type"] in TYPES, qa["id"]
                for a in qa["answers"]:
                    s = a["answer_start"]
                    assert a["text"].strip(), qa["id"]
                    assert ctx[s : s + len(a["text"])] == a["text"], qa["id"]
                n_q += 1
                kinds[qa["kind"]] = kinds.get(qa["kind"], 0) + 1
                types[qa["type"]] = types.get(qa["type"], 0) + 1
    assert n_q >= MIN_QUESTIONS, n_q
    assert kinds.get("paraphrase", 0) * 2 >= n_q, kinds
    return {"passages": len(contexts), "questions": n_q, "kinds": kinds, "types": types}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wheels", type=Path, help="folder holding the korean-rnd-regs-mcp 0.61.0 wheel")
    ap.add_argument("--list", action="store_true", help="print the passages with their ids and stop")
    ap.add_argument("--check", action="store_true", help="only check the written JSON")
    args = ap.parse_args(argv)
    if not args.check:
        if args.wheels is None:
            ap.error("--wheels is needed unless --check")
        passages = build_passages(args.wheels)
        if args.list:
            for p in passages:
                print(f"[{p['id']}] ({p['source']}) {p['text']}")
            return 0
        squad = build(passages, read_questions(QUESTIONS))
        OUT.write_text(json.dumps(squad, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    counts = check(json.loads(OUT.read_text(encoding="utf-8")))
    print(json.dumps(counts, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
