"""A lean query encoder: the sentence-transformers model exported once to ONNX, run with onnxruntime.

A short query through a 6-layer MiniLM is well under a millisecond of arithmetic, but a call into
sentence-transformers on torch costs 20-30 ms of framework overhead on two CPU cores. The export
happens once per model into a cache directory (``<data_dir>/models/onnx``): the transformer plus its
pooling and L2 normalisation become one ONNX graph, the tokenizer is saved beside it as
``tokenizer.json``, and the exported graph is checked against torch on probe texts before it is
used (cosine within :data:`MAX_COSINE_GAP`). Afterwards a process needs neither torch nor
transformers to embed a query: the ``tokenizers`` library and onnxruntime suffice.

Only the layouts sentence-transformers uses for encoder models are exported: Transformer →
Pooling (mean or CLS) → optional Normalize. Anything else raises :class:`OnnxUnavailableError` and the
caller keeps torch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.types import Vectors

logger = logging.getLogger(__name__)

MAX_COSINE_GAP = 1e-4
OPSET = 17
META = "jikji_onnx.json"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
PROBES = (
    "연차휴가는 며칠인가요?",
    "출장비 정산은 언제까지 해야 하나요",
    "VPN 접속 오류가 나면 누구에게 연락하나요?",
    "What is the travel allowance for overseas trips?",
    "인사",
    "제12조(연차휴가) ① 1년간 80퍼센트 이상 출근한 근로자에게는 15일의 유급휴가를 주어야 한다. " * 12,
)


class OnnxUnavailableError(RuntimeError):
    """The model cannot be served through ONNX here; the message says why."""


def cpu_session(model_file: Path, threads: int) -> Any:
    """An onnxruntime CPU session for one query at a time: all graph optimisations, ``threads`` threads
    inside an operator and one across operators, warnings only."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])


class OnnxQueryEncoder:
    """Embeds one query at a time with an exported graph (L2-normalised, like the torch path)."""

    def __init__(self, directory: Path, threads: int = 1) -> None:
        try:
            import onnxruntime  # noqa: F401 - only to fail early with a clear message
            from tokenizers import Tokenizer
        except ImportError as exc:
            msg = f"onnxruntime or tokenizers is not installed ({exc.name})"
            raise OnnxUnavailableError(msg) from exc
        meta = json.loads((directory / META).read_text(encoding="utf-8"))
        self.dimension = int(meta["dimension"])
        self._inputs: list[str] = list(meta["inputs"])
        self._tokenizer = Tokenizer.from_file(str(directory / TOKENIZER_FILE))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=int(meta["max_length"]))
        self._session = cpu_session(directory / MODEL_FILE, threads)

    def embed(self, text: str) -> Vectors:
        """The vector of one text (1-D, float32, unit length)."""
        encoding = self._tokenizer.encode(text)
        ids = np.asarray([encoding.ids], dtype=np.int64)
        feeds = {
            "input_ids": ids,
            "attention_mask": np.ones_like(ids),
            "token_type_ids": np.zeros_like(ids),
        }
        (vectors,) = self._session.run(None, {name: feeds[name] for name in self._inputs})
        return np.asarray(vectors[0], dtype=np.float32)


def cache_key(model_dir: Path) -> str:
    """A directory name that changes when the model files change (path, names and sizes)."""
    digest = hashlib.sha256(str(model_dir.resolve()).encode())
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(model_dir)}:{path.stat().st_size}".encode())
    return f"{model_dir.name}-{digest.hexdigest()[:16]}"


def load_or_export(model_dir: Path, cache_dir: Path, threads: int = 1, model: Any = None) -> OnnxQueryEncoder:
    """The encoder for ``model_dir``, exported into ``cache_dir`` first if it is not there yet.

    ``model`` is the already loaded SentenceTransformer, when the caller has one (export needs it).
    Raises :class:`OnnxUnavailableError` when exporting or checking fails.
    """
    target = cache_dir / cache_key(model_dir)
    if not (target / META).exists():
        export(model_dir, target, model)
    try:
        return OnnxQueryEncoder(target, threads)
    except OnnxUnavailableError:
        raise
    except Exception as exc:  # a corrupt cache entry: say so, the caller falls back to torch
        msg = f"cannot load the exported model in {target}: {exc}"
        raise OnnxUnavailableError(msg) from exc


def export(model_dir: Path, target: Path, model: Any = None) -> None:
    """Export a sentence-transformers model to ``target`` and verify it against torch."""
    try:
        import onnxruntime  # noqa: F401  (fail before minutes of work when it is missing)
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        msg = f"{exc.name} is not installed"
        raise OnnxUnavailableError(msg) from exc
    try:
        if model is None:
            model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
        _export_checked(model, target, model_dir, torch)
    except OnnxUnavailableError:
        raise
    except Exception as exc:
        msg = f"export failed: {type(exc).__name__}: {exc}"
        raise OnnxUnavailableError(msg) from exc
    logger.info("exported %s to ONNX in %s", model_dir, target)


def _export_checked(model: Any, target: Path, model_dir: Path, torch: Any) -> None:
    """Export into a scratch directory beside ``target``, verify, then move it into place."""
    pooling = _pooling_mode(model)
    transformer = model[0]
    work = Path(tempfile.mkdtemp(prefix=".onnx-", dir=_ensure(target.parent)))
    work.chmod(0o755)
    try:
        tokenizer = transformer.tokenizer
        tokenizer.save_pretrained(str(work))
        if not (work / TOKENIZER_FILE).exists():
            msg = "the model's tokenizer has no fast (tokenizer.json) form"
            raise OnnxUnavailableError(msg)
        sample = tokenizer(["연차휴가 규정"], return_tensors="pt")
        inputs = [name for name in ("input_ids", "attention_mask", "token_type_ids") if name in sample]
        graph = _Pooled(transformer.auto_model, pooling, inputs, torch)
        _torch_export(torch, graph, tuple(sample[name] for name in inputs), inputs, work / MODEL_FILE)
        meta = {
            "inputs": inputs,
            "max_length": int(model.max_seq_length),
            "dimension": int(model.get_embedding_dimension() or 0),
            "pooling": pooling,
            "source": str(model_dir),
        }
        (work / META).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        _verify(OnnxQueryEncoder(work, threads=1), model)
        if target.exists():
            shutil.rmtree(target)
        work.replace(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _pooling_mode(model: Any) -> str:
    """``mean`` or ``cls`` for a Transformer → Pooling (→ Normalize) model; anything else is refused."""
    kinds = [type(module).__name__ for module in model]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        msg = f"unsupported module layout {kinds}"
        raise OnnxUnavailableError(msg)
    pooling = model[1]
    mode = getattr(pooling, "pooling_mode", None)  # sentence-transformers 6; 5 had a method
    if not isinstance(mode, str) and hasattr(pooling, "get_pooling_mode_str"):
        mode = pooling.get_pooling_mode_str()
    if mode not in {"mean", "cls"}:
        msg = f"unsupported pooling {mode!r}"
        raise OnnxUnavailableError(msg)
    return mode


def _Pooled(encoder: Any, pooling: str, inputs: list[str], torch: Any) -> Any:  # noqa: N802
    """A torch module: the transformer, then pooling and L2 normalisation (one graph to export)."""

    class Pooled(torch.nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, *tensors: Any) -> Any:
            named = dict(zip(inputs, tensors, strict=True))
            hidden = self.encoder(**named).last_hidden_state
            if pooling == "cls":
                pooled = hidden[:, 0]
            else:
                mask = named["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=-1)

    return Pooled().eval()


def _torch_export(torch: Any, graph: Any, args: tuple[Any, ...], inputs: list[str], path: Path) -> None:
    axes = {name: {0: "batch", 1: "sequence"} for name in inputs}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings; the graph is checked against torch after
        torch.onnx.export(
            graph,
            args,
            str(path),
            input_names=inputs,
            output_names=["embedding"],
            dynamic_axes={**axes, "embedding": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )


def _verify(encoder: OnnxQueryEncoder, model: Any) -> None:
    expected = model.encode(
        list(PROBES), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    for text, reference in zip(PROBES, expected, strict=True):
        gap = 1.0 - float(np.dot(encoder.embed(text), reference))
        if gap > MAX_COSINE_GAP:
            msg = f"ONNX and torch disagree (1 - cosine = {gap:.2e} on {text[:20]!r})"
            raise OnnxUnavailableError(msg)


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
