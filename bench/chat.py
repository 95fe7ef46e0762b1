"""Time to first token, broken down: retrieval, prompt building, and the model's own time.

Usage: python -m bench.chat [--data-dir DIR] [--questions N]
Runs the embedded llama.cpp server (gemma-3-270m) on the sample corpus. For each dev-set question it
measures Jikji's path (retrieve → prompt → stream until the first token) and, in the same run, the
model alone on the identical prompt. Target: Jikji's own work before the first token ≤ 10% of the
model's time to first token.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from app.services.chat import ChatService
from bench.common import load_devset, machine, median, samples_container
from core.settings import LLMSettings
from llm.client import OpenAIChatModel
from llm.gguf import ensure_default_gguf
from llm.prompts import stop_sequences
from llm.server import EmbeddedLlamaServer
from retrieval.evaluation import percentile as pct
from retrieval.types import AccessScope
from tests.support.ports import free_port


def first_token_ms(model: OpenAIChatModel, messages: list[dict[str, str]], llm: LLMSettings) -> float:
    started = time.perf_counter()
    stream = model.stream(
        messages,
        max_tokens=llm.max_tokens,
        temperature=llm.temperature,
        stop=stop_sequences(llm.prompt_family),
    )
    try:
        for chunk in stream:
            if chunk.text:
                return (time.perf_counter() - started) * 1000
    finally:
        stream.close()  # type: ignore[attr-defined]
    return float("nan")


def bust_cache(model: OpenAIChatModel, n: int) -> None:
    """Replace the server's cached prompt, so the next measurement prefills from scratch.

    llama.cpp reuses the KV cache of the previous prompt's common prefix; without this, whichever
    of the two measurements runs second would look almost free.
    """
    stream = model.stream([{"role": "user", "content": f"캐시 비우기 {n}"}], max_tokens=1, temperature=0)
    for _ in stream:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--questions", type=int, default=20)
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="jikji-bench-chat-"))
    llm = LLMSettings(port=free_port(), max_tokens=16)
    container = samples_container(data_dir, llm=llm)
    server = EmbeddedLlamaServer(llm, ensure_default_gguf(data_dir / "models"))
    server.start(watch=False)
    try:
        model = OpenAIChatModel(llm, server.base_url)
        service = ChatService(container.searcher, model, llm)
        questions = [item.question for item in load_devset()[: args.questions]]
        service.answer([{"role": "user", "content": "워밍업"}], AccessScope.admin())
        rows = []
        for n, question in enumerate(questions):
            bust_cache(model, n)
            answer = service.answer([{"role": "user", "content": question}], AccessScope.admin())
            iterator = iter(answer)
            next(iterator, None)
            iterator.close()  # type: ignore[attr-defined]
            bust_cache(model, n)
            model_alone = first_token_ms(model, answer.messages, llm)
            jikji_ms = answer.timings.retrieval_ms + answer.timings.prompt_ms
            rows.append(
                (
                    answer.timings.retrieval_ms,
                    answer.timings.prompt_ms,
                    answer.timings.first_token_ms,
                    model_alone,
                    jikji_ms,
                )
            )
    finally:
        server.stop()
    retrieval, prompt, ttft, alone, jikji = (list(column) for column in zip(*rows, strict=True))
    print(f"machine: {machine()}")
    print(f"questions: {len(rows)}  model: gemma-3-270m Q4_K_M (llama.cpp, {llm.threads} threads)")
    print(f"retrieval ms        p50 {median(retrieval):8.1f}  p95 {pct(retrieval, 95):8.1f}")
    print(f"prompt building ms  p50 {median(prompt):8.2f}  p95 {pct(prompt, 95):8.2f}")
    print(f"TTFT via Jikji ms   p50 {median(ttft):8.1f}  p95 {pct(ttft, 95):8.1f}")
    print(f"model alone TTFT ms p50 {median(alone):8.1f}  p95 {pct(alone, 95):8.1f}  (same prompts)")
    ratio = median(jikji) / median(alone)
    print(
        f"Jikji overhead before first token: {median(jikji):.1f} ms = {ratio:.1%} of the model's TTFT (target ≤ 10%)"
    )


if __name__ == "__main__":
    main()
