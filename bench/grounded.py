"""Every extractive answer over the answer sets, checked for figures its cited sources do not hold.

Usage: python -m bench.grounded [--sets answers,constitution,statutes] [--cache DIR]

Takes the cases of :mod:`bench.evidence` (the sources the chat service offers each answerable
question, same ``--cache``), composes the extractive answer as the ``extractive`` and ``auto`` modes
do (with the Kiwi noun similarity the chat service gives the composer), and runs the faithfulness
check on it against the offered sources (each with its citation label, as the chat service checks them). Prints, per set, how many answers the check calls ungrounded and
those answers' unsupported figures: an extractive answer quotes its sources, so this should be none.
"""

from __future__ import annotations

from bench.evidence import cached_set_arguments, load_cases, noun_similarity
from llm.extractive import SourceText, compose_extractive
from llm.faithfulness import SourceIndex
from llm.prompts import NOT_FOUND_KO


def main() -> None:
    sets, cache = cached_set_arguments(__doc__.split("\n", 1)[0])
    print("| set | answers | not found | with a figure | ungrounded |")
    print("| --- | ---: | ---: | ---: | ---: |")
    failures: list[str] = []
    for name in sets:
        cases = load_cases(name, cache, None)
        answered = not_found = figured = ungrounded = 0
        for case in cases:
            sources = [SourceText(n, label, text) for n, label, text in case.offered]
            answer = compose_extractive(case.question, sources, noun_similarity())
            answered += 1
            if answer.text == NOT_FOUND_KO:
                not_found += 1
                continue
            report = SourceIndex({s.number: f"{s.label}\n{s.text}" for s in sources}).check(answer.text)
            figured += bool(answer.short_answer) or any(ch.isdigit() for ch in answer.text)
            if not report.grounded:
                ungrounded += 1
                failures.append(f"{name}: {case.question} → {report.to_dict()['unsupported']}")
        print(f"| {name} | {answered} | {not_found} | {figured} | {ungrounded} |", flush=True)
    print("\n".join(["", *failures]) if failures else "\nNo extractive answer shows an unsupported figure.")


if __name__ == "__main__":
    main()
