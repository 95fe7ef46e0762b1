"""Training data rendering (the server's exact prompt, loss only on the answer), the PEFT → GGUF LoRA
conversion read back with the gguf package, the llama.cpp server's adapter config, adapter settings and
the vLLM LoRA sizing. No model is loaded here (tests/integration/test_adapter_loop.py trains one)."""

from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from safetensors.numpy import save_file

from core.settings import LLMSettings
from llm.finetune import IGNORE_INDEX, FinetuneError, encode, fold_system, read_chat_jsonl, render_prompt
from llm.lora import LoraConversionError, convert_peft_to_gguf
from llm.prompts import SYSTEM_PROMPT_KO, PromptSource, build_messages, render_sources
from llm.server import EmbeddedLlamaServer
from llm.vllm import VllmPlan

USER = f"{render_sources([PromptSource(1, '취업규칙', '제24조 연차휴가는 15일이다.')])}\n\n질문: 연차휴가는 며칠?"


class CharTokenizer:
    """One token per character; BOS 1, EOS 2."""

    bos_token_id = 1
    eos_token_id = 2

    def __call__(self, text: str, add_special_tokens: bool = True) -> dict[str, list[int]]:
        ids = [10 + ord(c) % 1000 for c in text]
        return {"input_ids": ([1] if add_special_tokens else []) + ids}


def test_exported_messages_render_as_the_embedded_server_prompts_them() -> None:
    exported = [{"role": "system", "content": SYSTEM_PROMPT_KO}, {"role": "user", "content": USER}]
    folded = fold_system(exported, "base")
    served = build_messages(
        "연차휴가는 며칠?", [PromptSource(1, "취업규칙", "제24조 연차휴가는 15일이다.")], family="base"
    )
    assert folded == served  # what the chat service sends for the base family
    prompt = render_prompt(folded, "alpaca")
    assert prompt == f"\n\n### Instruction: {served[0]['content']}\n\n"  # llama.cpp's alpaca formatter
    assert fold_system(exported, "chat") == exported  # families with a system role keep it
    with pytest.raises(FinetuneError, match="chat template"):
        render_prompt(folded, None, tokenizer=None)


def test_loss_covers_only_the_answer_and_long_prompts_lose_their_oldest_tokens() -> None:
    tokenizer = CharTokenizer()
    example = encode(tokenizer, "질문입니다", "답 [1]", max_length=64)
    answer_len = len("답 [1]") + 1
    assert example.input_ids[0] == 1 and example.input_ids[-1] == 2
    assert example.labels[:-answer_len] == [IGNORE_INDEX] * (len(example.input_ids) - answer_len)
    assert example.labels[-answer_len:] == example.input_ids[-answer_len:]
    long = encode(tokenizer, "가" * 100 + "질문", "답", max_length=20)
    assert len(long.input_ids) == 20 and long.input_ids[0] == 1
    assert long.input_ids[-4:-2] == tokenizer("질문", add_special_tokens=False)["input_ids"]


def test_training_data_must_end_with_the_answer(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps({"messages": [{"role": "user", "content": "q"}]}) + "\n", encoding="utf-8")
    with pytest.raises(FinetuneError, match="assistant"):
        read_chat_jsonl(path)
    with pytest.raises(FinetuneError, match="not found"):
        read_chat_jsonl(tmp_path / "missing.jsonl")


def _peft_adapter(folder: Path, *, rank: int = 4, config: dict[str, Any] | None = None) -> Path:
    """A PEFT-format adapter on two gemma3 layers (random A and B), as PEFT writes it."""
    folder.mkdir()
    shapes = {"self_attn.q_proj": (640, 1024), "self_attn.o_proj": (1024, 640), "mlp.down_proj": (2048, 640)}
    rng = np.random.default_rng(0)
    tensors = {}
    for layer in (0, 17):
        for module, (inp, out) in shapes.items():
            key = f"base_model.model.model.layers.{layer}.{module}"
            tensors[f"{key}.lora_A.weight"] = rng.standard_normal((rank, inp)).astype(np.float32)
            tensors[f"{key}.lora_B.weight"] = rng.standard_normal((out, rank)).astype(np.float32)
    save_file(tensors, str(folder / "adapter_model.safetensors"))
    base = {"peft_type": "LORA", "r": rank, "lora_alpha": 2 * rank, "target_modules": ["q_proj"]}
    (folder / "adapter_config.json").write_text(json.dumps({**base, **(config or {})}), encoding="utf-8")
    return folder


def test_peft_adapter_converts_to_a_gguf_lora_with_llama_cpp_names_and_shapes(tmp_path: Path) -> None:
    import gguf

    converted = convert_peft_to_gguf(_peft_adapter(tmp_path / "hr"))
    assert converted.path == tmp_path / "hr" / "adapter.gguf" and converted.tensors == 12
    reader = gguf.GGUFReader(str(converted.path))
    assert reader.fields["general.architecture"].contents() == "gemma3"
    assert reader.fields["general.type"].contents() == "adapter"
    assert reader.fields["adapter.type"].contents() == "lora"
    assert reader.fields["adapter.lora.alpha"].contents() == pytest.approx(8.0)
    shapes = {t.name: [int(n) for n in t.shape] for t in reader.tensors}
    # GGUF lists dimensions innermost first: lora_a is (in, rank), lora_b (rank, out); the base's
    # blk.0.attn_q.weight is (640, 1024) in the bundled model.
    assert shapes["blk.0.attn_q.weight.lora_a"] == [640, 4]
    assert shapes["blk.0.attn_q.weight.lora_b"] == [4, 1024]
    assert shapes["blk.17.attn_output.weight.lora_b"] == [4, 640]
    assert shapes["blk.17.ffn_down.weight.lora_a"] == [2048, 4]


def test_unsupported_adapters_are_refused(tmp_path: Path) -> None:
    with pytest.raises(LoraConversionError, match="use_dora"):
        convert_peft_to_gguf(_peft_adapter(tmp_path / "dora", config={"use_dora": True}))
    with pytest.raises(LoraConversionError, match="adapter_config"):
        convert_peft_to_gguf(tmp_path)


def test_adapter_settings_and_the_servers_model_config(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"llm\.adapter"):
        LLMSettings.model_validate({"adapter": "인사팀"})
    lora = tmp_path / "hr.gguf"
    llm = LLMSettings.model_validate(
        {"adapters": {"인사팀": {"path": str(lora), "served_model": "gemma-hr"}, "재무팀": {}}, "port": 9999}
    )
    assert llm.served_model("인사팀") == "gemma-hr" and llm.served_model("재무팀") == "재무팀"
    server = EmbeddedLlamaServer(llm, tmp_path / "base.gguf", log_path=tmp_path / "llama.log")
    assert server.lora_models() == {"gemma-hr": lora}  # an adapter without a path is vLLM's business
    assert server.command()[-2:] == ["--config_file", str(tmp_path / "llama-models-9999.json")]
    models = server.models_config()["models"]
    assert isinstance(models, list)
    assert [(m["model_alias"], m.get("lora_path")) for m in models] == [
        ("gemma-3-270m", None),
        ("gemma-hr", str(lora)),
    ]
    assert models[1]["chat_format"] == "alpaca" and models[1]["model"] == str(tmp_path / "base.gguf")
    plain = EmbeddedLlamaServer(LLMSettings(), tmp_path / "base.gguf")
    assert "--config_file" not in plain.command()
    without_log = EmbeddedLlamaServer(llm, tmp_path / "base.gguf").command()[-1]
    folder = Path(without_log).parent
    assert folder != Path(tempfile.gettempdir()) and folder.stat().st_mode & 0o777 == 0o700
    another = Path(EmbeddedLlamaServer(llm, tmp_path / "base.gguf").command()[-1]).parent
    assert another != folder
    folder.rmdir()
    another.rmdir()


def test_vllm_lora_sizing_reads_the_adapters_rank(tmp_path: Path) -> None:
    hr = _peft_adapter(tmp_path / "hr", rank=24)
    plan = VllmPlan(lora_modules={"인사팀": str(hr), "재무팀": "/remote/finance"})
    assert plan.max_lora_rank == 32  # 24 rounded up to a rank vLLM accepts
    command = plan.command()
    assert command[command.index("--max-lora-rank") + 1] == "32"
    assert command[command.index("--max-loras") + 1] == "2"
    assert command[-2:] == [f"인사팀={hr}", "재무팀=/remote/finance"]
    rendered = plan.render()
    assert (
        'JIKJI_LLM__ADAPTERS={"인사팀": {"served_model": "인사팀"}, "재무팀": {"served_model": "재무팀"}}'
        in rendered
    )
    assert "--max-loras 2 in one batch" in rendered
    assert VllmPlan().kv_cache_tokens - plan.kv_cache_tokens == pytest.approx(
        plan.lora_gib * 2**30 / (192 * 1024), abs=2
    )


def test_the_card_names_every_document_the_data_carries(tmp_path: Path) -> None:
    from llm.finetune import training_documents

    data = tmp_path / "train.jsonl"
    lines = [
        {"messages": [], "meta": {"document_ids": ["a"], "context_document_ids": ["a", "b"]}},
        {"messages": [], "meta": {"document_ids": [], "context_document_ids": ["c"]}},
        {"messages": []},
    ]
    data.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n", encoding="utf-8")
    assert training_documents(data) == ["a", "b", "c"]


def _tiny_base(folder: Path) -> Path:
    """A randomly initialised two-layer gemma3 text model with a word-level tokenizer, as an HF folder."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig, PreTrainedTokenizerFast

    words = ["<pad>", "<bos>", "<eos>", "<unk>", "연차휴가는", "15일", "[1]", "질문"]
    backend = Tokenizer(WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    backend.pre_tokenizer = Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>", unk_token="<unk>"
    )
    config = Gemma3TextConfig(
        vocab_size=len(words),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=8,
        layer_types=["sliding_attention", "full_attention"],
    )
    Gemma3ForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_training_runs_on_examples_tokenised_elsewhere(tmp_path: Path) -> None:
    """The GPU path: examples tokenised where llama.cpp's formatter is (save_examples) train where it is
    not (train_lora(examples=...)), and the card says where it ran; a count that does not match the data
    is refused."""
    from llm.finetune import Example, TrainConfig, load_examples, save_examples, train_lora, training_device

    data = tmp_path / "train.jsonl"
    turn = [{"role": "user", "content": "질문"}, {"role": "assistant", "content": "15일 [1]"}]
    line = json.dumps({"messages": turn, "meta": {"document_ids": ["d1"]}}, ensure_ascii=False)
    data.write_text(line + "\n" + line + "\n", encoding="utf-8")
    examples = [Example([1, 4, 7, 5, 6, 2], [IGNORE_INDEX] * 3 + [5, 6, 2])] * 2
    save_examples(examples, tmp_path / "examples.jsonl")
    assert load_examples(tmp_path / "examples.jsonl") == examples
    config = TrainConfig(data=data, out=tmp_path / "adapter", base=_tiny_base(tmp_path / "base"), steps=2)
    result = train_lora(
        config, on_progress=lambda _line: None, examples=load_examples(tmp_path / "examples.jsonl")
    )
    card = json.loads((tmp_path / "adapter" / "jikji-adapter.json").read_text(encoding="utf-8"))
    assert result.examples == 2 and card["steps"] == 2 and card["document_ids"] == ["d1"]
    assert card["device"] == training_device() and len(card["losses"]) == 2
    assert (tmp_path / "adapter" / "adapter_model.safetensors").is_file()
    with pytest.raises(FinetuneError, match="1 tokenised examples for 2 lines"):
        train_lora(config, on_progress=lambda _line: None, examples=examples[:1])
    budget = replace(config, out=tmp_path / "budget", steps=50, max_seconds=0.0)
    timed = train_lora(budget, on_progress=lambda _line: None, examples=examples)
    saved = json.loads((tmp_path / "budget" / "jikji-adapter.json").read_text(encoding="utf-8"))
    assert timed.steps == saved["steps"] == len(saved["losses"]) == 1  # stopped at the budget, and saved
