"""Build the Korean statutes-and-bills retrieval set (SQuAD v1) and check it.

Passages come from two PyPI wheels, read as zip files (nothing is installed or downloaded here):

* ``konlpy`` 0.6.0, ``konlpy/data/corpus/kobill/*.txt``: ten National Assembly bills and motions
  (2010), split into paragraph groups of 150-700 characters; the side-by-side old/new tables are left out.
* ``korean-rnd-regs-mcp`` 0.61.0, ``korean_rnd_regs_mcp/manual_*.json``: the statute and notice
  articles that its bundled manuals quote verbatim (국가연구개발혁신법, its 시행령 and 시행규칙,
  국가연구개발사업 연구개발비 사용기준 and others). Only the quoted article text is taken, never
  the manuals' own commentary; long articles are split at their paragraphs (항).

Questions are written by hand in ``bench/data/statutes_ko_questions.tsv`` (passage id, kind, type,
question, answer, optional occurrence index); this script finds each answer's character offset in
its passage and fails if an answer is missing.

    pip download --no-deps konlpy==0.6.0 korean-rnd-regs-mcp==0.61.0 -d /tmp/wheels
    python tools/make_statutes_set.py --wheels /tmp/wheels            # writes the JSON and checks it
    python tools/make_statutes_set.py --wheels /tmp/wheels --list     # prints the passages with ids
    python tools/make_statutes_set.py --check                         # re-checks the written JSON only
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zipfile
from collections.abc import Collection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "data" / "statutes_ko_squad.json"
QUESTIONS = ROOT / "bench" / "data" / "statutes_ko_questions.tsv"
MIN_CHARS, MAX_CHARS = 150, 700

# ---------------------------------------------------------------- National Assembly bills (konlpy)

_PAGE = re.compile(r"\s*-\s*\d+\s*-\s*")
_PARA_START = re.compile(r"([①-⑳]|\d+\.|제\d+조|부\s*칙|[가-하]\.|○|∙|\*|•|\(\d+\))")
_TABLE = re.compile(r"-{5,}|<신 설>|\(생 략\)|현행과 같음|□|<삭 제>")


def _paragraphs(text: str) -> list[str]:
    lines = [line for line in text.split("\n") if line.strip() and not _PAGE.fullmatch(line)]
    paras: list[str] = []
    cur = ""
    for line in lines:
        s = line.strip()
        if cur and (line.startswith(" ") or _PARA_START.match(s)):
            paras.append(cur)
            cur = ""
        cur = (cur + ("" if cur.endswith(" ") else " ") + s) if cur else s
    if cur:
        paras.append(cur)
    return paras


def bill_passages(wheel: Path) -> list[tuple[str, str]]:
    with zipfile.ZipFile(wheel) as z:
        names = sorted(n for n in z.namelist() if "/kobill/" in n and n.endswith(".txt"))
        texts = [(n.rsplit("/", 1)[-1], z.read(n).decode("utf-8")) for n in names]
    out: list[tuple[str, str]] = []
    for name, text in texts:
        table = re.search(r"신\s*[·ㆍ]\s*구조문대비표", text)
        parts = [text[: table.start()] if table else text]
        estimate = text.find("비용추계 미첨부사유서")
        if table and estimate > table.start():
            parts.append(text[estimate - 40 :])
        for part in parts:
            cur = ""
            for raw in _paragraphs(part):
                p = re.sub(r"\s+", " ", raw).strip()
                if p in ("의 안", "부 칙") or _TABLE.search(p):
                    continue
                if sum(c.isdigit() for c in p) > 0.3 * len(p):
                    continue
                if cur and len(cur) + len(p) > 300:
                    out.append((name, cur))
                    cur = ""
                cur = (cur + " " + p).strip()
            if cur:
                out.append((name, cur))
    return [(f"kobill/{name}", t) for name, t in out]


# ---------------------------------------------------------------- statute text quoted in the manuals

_MANUALS = ("manual_body", "manual_b1", "manual_b2", "manual_b3", "manual_b4", "manual_case", "manual_eval")
_ALIAS = {
    "혁신법 시행령": "국가연구개발혁신법 시행령",
    "혁신법 시행규칙": "국가연구개발혁신법 시행규칙",
    "공통사용기준": "국가연구개발사업 연구개발비 사용기준",
    "연구개발비 사용 기준": "국가연구개발사업 연구개발비 사용기준",
    "국가연구개발사업 연구개발비 사용 기준": "국가연구개발사업 연구개발비 사용기준",
}
_HEADER = re.compile(
    r"[가-힣 ]{2,40}(법|법 시행령|법 시행규칙|사용기준|사용 기준|정보처리기준|관리 등에 관한 규정)"
)
_ARTICLE = re.compile(r"제\d+조(의\d+)?\([^)]{1,40}\)")
_MARK = re.compile(r"[①-⑳]|\d+\.\s|\s+[가-하]\.\s|\s+\d+\)\s")
_STOP = re.compile(r"([가-하]\.\s|※|∙|•|- |\* |주요 내용|<|\[|○|■|□|▪|➊|❶|「국가연구개발혁신법」 매뉴얼)")


def _article_blocks(pages: list[str], source: str) -> list[dict]:
    blocks: list[dict] = []
    for page in pages:
        law = None
        cur: dict | None = None
        for raw in page.split("\n"):
            st = raw.strip()
            if _HEADER.fullmatch(st) and len(st) < 40:
                if cur:
                    blocks.append(cur)
                cur, law = None, _ALIAS.get(st, st)
                continue
            if _ARTICLE.match(st) and not raw.startswith(" "):
                if cur:
                    blocks.append(cur)
                cur = {"law": law, "src": source, "lines": [raw]}
                continue
            if cur is None:
                continue
            if _STOP.match(raw) and not raw.startswith(" "):
                blocks.append(cur)
                cur = None
                continue
            if (
                re.match(r"\d+\.\s", raw)
                and "각 호" not in " ".join(cur["lines"])
                and not re.match(r"\d+\.\s", cur["lines"][-1])
            ):
                blocks.append(cur)
                cur = None
                continue
            cur["lines"].append(raw)
        if cur:
            blocks.append(cur)
    return blocks


def _assemble(lines: list[str]) -> str:
    text = lines[0]
    for line in lines[1:]:
        if _MARK.match(line) or re.match(r"[①-⑳]", line.strip()):
            text = text.rstrip() + "\n" + line.rstrip()
        else:
            text = text + ("" if text.endswith(" ") else " ") + line.strip()
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"(?<=\S)  +", " ", text).strip()
    last = text.rfind("다.")
    return text[: last + 2] if last >= 0 else ""


def _split_long(text: str, limit: int = 380) -> list[str]:
    if len(text) <= limit:
        return [text]
    head = re.match(r"제\d+조(?:의\d+)?\([^)]*\)", text)
    parts = re.split(r"(?=\n\s*[②-⑳])", text)
    out: list[str] = []
    cur = ""
    for p in parts:
        if cur and len(cur) + len(p) > limit:
            out.append(cur)
            cur = (head.group(0) + " " if head else "") + p.strip()
        else:
            cur = cur + p if cur else p
    if cur:
        out.append(cur)
    return out


def statute_passages(wheel: Path) -> list[tuple[str, str]]:
    blocks: list[dict] = []
    with zipfile.ZipFile(wheel) as z:
        for name in _MANUALS:
            data = json.loads(z.read(f"korean_rnd_regs_mcp/{name}.json"))
            pages = [p["text"] for s in data["sections"] for p in s["pages"]]
            blocks += _article_blocks(pages, name)
    squash = lambda t: re.sub(r"\s+", "", t)  # noqa: E731
    by_text: dict[str, tuple[str, str]] = {}
    for b in blocks:
        text = _assemble(b["lines"])
        if text:
            by_text.setdefault(squash(text), (b["src"], (b["law"] + " " if b["law"] else "") + text))
    # drop quotes that another, longer quote contains
    keys = sorted(by_text, key=len, reverse=True)
    kept: list[str] = []
    for k in keys:
        if not any(k in other for other in kept):
            kept.append(k)
    out: list[tuple[str, str]] = []
    for k in kept:
        src, text = by_text[k]
        law = re.match(r"(.*?)(?=제\d+조)", text)
        prefix = law.group(1) if law else ""
        for piece in _split_long(text[len(prefix) :]):
            out.append((f"rnd/{src}", piece if not prefix or piece.startswith(prefix) else prefix + piece))
    return out


def build_passages(wheels: Path) -> list[dict]:
    konlpy = next(wheels.glob("konlpy-0.6.0-*.whl"))
    rnd = next(wheels.glob("korean_rnd_regs_mcp-0.61.0-*.whl"))
    seen: set[str] = set()
    passages: list[dict] = []
    for src, text in bill_passages(konlpy) + statute_passages(rnd):
        key = re.sub(r"\s+", "", text)
        if key in seen or not MIN_CHARS <= len(text) <= MAX_CHARS:
            continue
        seen.add(key)
        prefix = "b" if src.startswith("kobill") else "s"
        passages.append({"id": f"{prefix}{len(passages):03d}", "source": src, "text": text})
    return _drop_near_duplicates(passages)


def _shingles(text: str, n: int = 6) -> set[str]:
    t = re.sub(r"\s+", "", text)
    return {t[i : i + n] for i in range(len(t) - n + 1)}


def _drop_near_duplicates(passages: list[dict]) -> list[dict]:
    """Keep one of each group of near-identical passages (the manuals quote some articles twice, in
    slightly different wording; three bills share one rationale). A passage goes when more than half
    of its 6-character shingles lie in a longer kept one; a list of article titles is never kept."""
    titles = re.compile(r"제\d+조(의\d+)?\([^)]*\), ?제\d+조")
    shingles = {p["id"]: _shingles(p["text"]) for p in passages}
    kept: list[dict] = []
    for p in sorted(passages, key=lambda q: -len(shingles[q["id"]])):
        if titles.match(p["text"]):
            continue
        mine = shingles[p["id"]]
        if any(len(mine & shingles[k["id"]]) > 0.5 * len(mine) for k in kept):
            continue
        kept.append(p)
    order = {p["id"]: i for i, p in enumerate(passages)}
    return sorted(kept, key=lambda p: order[p["id"]])


# ---------------------------------------------------------------- questions, offsets, checks

KINDS = {"l": "lexical", "p": "paraphrase"}
TYPES = {"무엇", "언제", "누구", "얼마", "몇", "어디", "어떻게", "왜"}


def read_questions(path: Path, types: Collection[str] = TYPES) -> list[dict]:
    """The question rows of ``path`` (TSV: passage id, kind l/p, interrogative, question, answer, optional
    occurrence of the answer in the passage); also read by tools/make_heldout_set.py."""
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) not in (5, 6) or cols[1] not in KINDS or cols[2] not in types:
            raise SystemExit(f"{path}:{n}: bad row {cols!r}")
        rows.append(
            {
                "pid": cols[0],
                "kind": KINDS[cols[1]],
                "type": cols[2],
                "question": cols[3],
                "answer": cols[4],
                "occurrence": int(cols[5]) if len(cols) == 6 else 0,
                "line": n,
            }
        )
    return rows


def build(
    passages: list[dict], questions: list[dict], version: str = "statutes_ko-1", title_prefix: str = ""
) -> dict:
    """SQuAD v1 of ``passages`` with ``questions``, each answer's offset found in its passage (exits on a
    missing passage or answer)."""
    by_id = {p["id"]: p for p in passages}
    qas: dict[str, list[dict]] = {}
    errors = []
    for q in questions:
        p = by_id.get(q["pid"])
        if p is None:
            errors.append(f"line {q['line']}: no passage {q['pid']}")
            continue
        starts = [m.start() for m in re.finditer(re.escape(q["answer"]), p["text"])]
        if len(starts) <= q["occurrence"]:
            errors.append(f"line {q['line']}: answer {q['answer']!r} not in {q['pid']}")
            continue
        n = len(qas.setdefault(q["pid"], []))
        qas[q["pid"]].append(
            {
                "id": f"{q['pid']}-{n + 1}",
                "question": q["question"],
                "kind": q["kind"],
                "type": q["type"],
                "answers": [{"text": q["answer"], "answer_start": starts[q["occurrence"]]}],
            }
        )
    if errors:
        raise SystemExit("\n".join(errors))
    data = [
        {
            "title": f"{title_prefix}{p['source']} {p['id']}",
            "paragraphs": [{"context": p["text"], "qas": qas.get(p["id"], [])}],
        }
        for p in passages
    ]
    return {"version": version, "data": data}


def check(squad: dict) -> dict:
    """Offsets, lengths, distinct contexts; returns counts."""
    contexts: set[str] = set()
    n_q = 0
    kinds: dict[str, int] = {}
    types: dict[str, int] = {}
    for article in squad["data"]:
        for para in article["paragraphs"]:
            ctx = para["context"]
            assert MIN_CHARS <= len(ctx) <= MAX_CHARS, (article["title"], len(ctx))
            assert ctx not in contexts, article["title"]
            contexts.add(ctx)
            for qa in para["qas"]:
                for a in qa["answers"]:
                    s = a["answer_start"]
                    assert ctx[s : s + len(a["text"])] == a["text"], qa["id"]
                n_q += 1
                kinds[qa["kind"]] = kinds.get(qa["kind"], 0) + 1
                types[qa["type"]] = types.get(qa["type"], 0) + 1
    return {"passages": len(contexts), "questions": n_q, "kinds": kinds, "types": types}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wheels", type=Path, help="folder holding the konlpy and korean-rnd-regs-mcp wheels")
    ap.add_argument("--list", action="store_true", help="print the passages with their ids and stop")
    ap.add_argument("--check", action="store_true", help="only check the written JSON")
    args = ap.parse_args(argv)
    if not args.check:
        if args.wheels is None:
            ap.error("--wheels is needed unless --check")
        passages = build_passages(args.wheels)
        if args.list:
            for p in passages:
                print(f"[{p['id']}] {p['text']}")
            return 0
        squad = build(passages, read_questions(QUESTIONS))
        OUT.write_text(json.dumps(squad, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    counts = check(json.loads(OUT.read_text(encoding="utf-8")))
    print(json.dumps(counts, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
