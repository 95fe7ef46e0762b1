"""Language-model reader scores for evidence sentences (issue 15 item 5, third pass), kept in a JSON cache.

Query likelihood (UPR-style): ``log P(question | sentence)`` under the bundled gemma-3-270m GGUF,
computed in-process with llama-cpp-python. Only the question's tokens get logits (the model's output
layer over its 262k-token vocabulary costs as much as the rest of it), so one score is one prefill
of the prompt and ``len(question tokens)`` output rows.
"""

from __future__ import annotations

import ctypes
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

TEMPLATES = {
    "upr": ("글: ", "\n위 글을 읽고 물을 수 있는 질문: "),
}
MAX_SENTENCE_CHARS = 300


class ReaderScores:
    """Summed log-probability of a question after a sentence, per (template, sentence, question)."""

    def __init__(self, model_path: Path, cache: Path | None, *, threads: int = 2) -> None:
        self._model_path = model_path
        self._threads = threads
        self._llm: Any = None
        self._path = cache
        self._scores: dict[str, list[float]] = (
            json.loads(cache.read_text(encoding="utf-8")) if cache and cache.exists() else {}
        )
        self.seconds: list[float] = []
        self.tokens: list[int] = []
        self._unsaved = 0
        self.only: set[str] | None = None
        """When set, the questions worth scoring (the bench's mixers leave others as shipped)."""

    def _model(self) -> Any:
        if self._llm is None:
            from llama_cpp import Llama

            self._llm = Llama(
                model_path=str(self._model_path),
                n_ctx=512,
                n_batch=512,
                n_threads=self._threads,
                n_threads_batch=self._threads,
                logits_all=False,
                verbose=False,
            )
        return self._llm

    def score(self, question: str, sentences: Sequence[str], template: str = "upr") -> list[float]:
        """``log P(question | template(sentence))`` summed over the question's tokens, for each sentence."""
        found = []
        for sentence in sentences:
            key = f"{template}\x00{sentence}\x00{question}"
            if key not in self._scores:
                started = time.perf_counter()
                self._scores[key] = list(self._compute(question, sentence, template))
                self.seconds.append(time.perf_counter() - started)
                self._unsaved += 1
                if self._unsaved >= 20:
                    self.save()
                    print(f"  reader: {len(self.seconds)} scores computed", flush=True)
            found.append(self._scores[key][0])
        return found

    def _compute(self, question: str, sentence: str, template: str) -> tuple[float, int]:
        llm = self._model()
        before, after = TEMPLATES[template]
        prefix = llm.tokenize(f"{before}{sentence[:MAX_SENTENCE_CHARS]}{after}".encode(), add_bos=True)
        asked = llm.tokenize(question.strip().encode(), add_bos=False)
        tokens = (prefix + asked)[-llm.n_ctx() :]
        start = len(tokens) - len(asked)
        self.tokens.append(len(tokens))
        return _question_logprob(llm, tokens, start), len(asked)

    def save(self) -> None:
        """Write the scores back to the cache file."""
        if self._path:
            self._path.write_text(json.dumps(self._scores, ensure_ascii=False), encoding="utf-8")
        self._unsaved = 0

    def cost(self) -> str:
        """Median seconds and prompt tokens per computed score so far."""
        if not self.seconds:
            return "reader: nothing computed (all cached)\n"
        seconds, tokens = sorted(self.seconds), sorted(self.tokens)
        return (
            f"reader: {len(seconds)} scores computed, median {seconds[len(seconds) // 2] * 1000:.0f} ms "
            f"and {tokens[len(tokens) // 2]} tokens a (sentence, question) pair\n"
        )


def _question_logprob(llm: Any, tokens: list[int], start: int) -> float:
    """Sum of log P(tokens[i] | tokens[:i]) for i >= start, with logits requested only for those rows."""
    import llama_cpp

    ctx = llm._ctx
    ctx.kv_cache_clear()
    batch = llm._batch
    batch.set_batch(batch=tokens, n_past=0, logits_all=False)
    for i in range(len(tokens)):
        batch.batch.logits[i] = start - 1 <= i < len(tokens) - 1
    ctx.decode(batch)
    vocab = llm.n_vocab()
    total = 0.0
    for i in range(start - 1, len(tokens) - 1):
        pointer = llama_cpp.llama_get_logits_ith(ctx.ctx, i)
        row = np.ctypeslib.as_array(ctypes.cast(pointer, ctypes.POINTER(ctypes.c_float)), shape=(vocab,))
        top = float(row.max())
        total += float(row[tokens[i + 1]]) - top - float(np.log(np.exp(row - top).sum()))
    return total
