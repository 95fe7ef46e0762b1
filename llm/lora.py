"""A PEFT LoRA adapter written as a GGUF LoRA that llama.cpp loads (``--lora_path``), with ``gguf``.

llama.cpp reads an adapter GGUF with ``general.type = adapter``, ``adapter.type = lora``,
``adapter.lora.alpha`` and, for each adapted weight ``W`` (``blk.N.attn_q.weight`` …), two tensors
``W.lora_a`` (PEFT's ``lora_A``, rank × in) and ``W.lora_b`` (PEFT's ``lora_B``, out × rank); the
architecture must be the base model's. Names come from the ``gguf`` package's own HF → GGUF map.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

PEFT_KEY = re.compile(r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_(?P<side>[AB])\.weight$")
DEFAULT_GGUF_NAME = "adapter.gguf"


class LoraConversionError(RuntimeError):
    """The adapter cannot be written as a GGUF LoRA (unknown weight names, unsupported options)."""


@dataclass(frozen=True, slots=True)
class ConvertedLora:
    """What the conversion wrote."""

    path: Path
    arch: str
    rank: int
    alpha: float
    tensors: int
    bytes: int


def _adapter_config(adapter_dir: Path) -> dict[str, object]:
    path = adapter_dir / "adapter_config.json"
    if not path.is_file():
        raise LoraConversionError(f"Not a PEFT adapter (no adapter_config.json): {adapter_dir}")
    config: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    if config.get("peft_type") != "LORA":
        raise LoraConversionError(f"Only LoRA adapters convert (peft_type={config.get('peft_type')})")
    for unsupported in ("use_dora", "use_rslora"):
        if config.get(unsupported):
            raise LoraConversionError(f"{unsupported} adapters are not supported by llama.cpp's loader")
    if config.get("rank_pattern") or config.get("alpha_pattern"):
        raise LoraConversionError("Per-module ranks or alphas (rank_pattern/alpha_pattern) are not supported")
    return config


def _block_count(names: list[str]) -> int:
    blocks = [int(m.group(1)) for n in names if (m := re.search(r"\.layers\.(\d+)\.", n))]
    return max(blocks, default=0) + 1


def convert_peft_to_gguf(adapter_dir: Path, out: Path | None = None, arch: str = "gemma3") -> ConvertedLora:
    """Write ``adapter_dir`` (PEFT ``adapter_model.safetensors``) as a GGUF LoRA for ``arch``."""
    import gguf
    from safetensors.numpy import load_file

    config = _adapter_config(adapter_dir)
    weights_path = adapter_dir / "adapter_model.safetensors"
    if not weights_path.is_file():
        raise LoraConversionError(f"No adapter_model.safetensors in {adapter_dir}")
    arch_ids = {name: key for key, name in gguf.MODEL_ARCH_NAMES.items()}
    if arch not in arch_ids:
        raise LoraConversionError(f"Unknown llama.cpp architecture: {arch}")
    weights = load_file(str(weights_path))
    name_map = gguf.get_tensor_name_map(arch_ids[arch], _block_count(list(weights)))
    out = out or adapter_dir / DEFAULT_GGUF_NAME
    writer = gguf.GGUFWriter(str(out), arch)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    alpha = float(config.get("lora_alpha") or config.get("r") or 8)  # type: ignore[arg-type]
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
    count = 0
    for key in sorted(weights):
        match = PEFT_KEY.match(key)
        if match is None:
            raise LoraConversionError(f"Unexpected tensor in the adapter: {key}")
        target = name_map.get_name(match["module"] + ".weight", try_suffixes=(".weight",))
        if target is None:
            raise LoraConversionError(f"No llama.cpp {arch} tensor for {match['module']}")
        side = "lora_a" if match["side"] == "A" else "lora_b"
        writer.add_tensor(f"{target}.{side}", weights[key].astype("float32"))
        count += 1
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    rank = int(config.get("r") or 0)  # type: ignore[call-overload]
    return ConvertedLora(out, arch, rank, alpha, count, out.stat().st_size)
