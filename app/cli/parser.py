"""The ``jikji`` argument parser: every command's arguments, and the handler that runs it.

Handlers are named as ``"module:function"`` and imported only when their command runs, so
``jikji --help`` and argument errors answer without loading Chroma, torch or the models.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from retrieval.evaluation import BASELINES

ANSWER_MODES = ("generative", "extractive", "auto")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        msg = f"must be at least 1: {text}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _command(sub: Any, name: str, handler: str, help_text: str, **kwargs: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help_text, **kwargs)
    parser.set_defaults(handler=handler)
    return parser


def _add_documents(sub: Any) -> None:
    _command(
        sub, "migrate", "app.cli.database:cmd_migrate", "데이터베이스 스키마 적용 / apply database migrations"
    )
    ingest = _command(sub, "ingest", "app.cli.ingest:cmd_ingest", "파일·폴더 색인 / ingest files or folders")
    ingest.add_argument("paths", nargs="+", help="files or directories")
    ingest.add_argument("--public", action="store_true", help="visible to everyone (default: admins only)")
    ingest.add_argument(
        "--groups", default="", help="comma-separated existing groups that may see the documents"
    )
    ingest.add_argument(
        "--create-groups", action="store_true", help="create groups of --groups that do not exist"
    )
    ingest.add_argument(
        "--sync", action="store_true", help="mirror the folders: delete documents whose files are gone"
    )
    rechunk = _command(
        sub, "rechunk", "app.cli.ingest:cmd_rechunk", "새 청크 기준으로 다시 색인 / re-chunk every document"
    )
    rechunk.add_argument("--force", action="store_true", help="re-chunk even when the index is current")
    worker = _command(
        sub, "worker", "app.cli.ingest:cmd_worker", "색인 작업 처리 프로세스 / run ingestion jobs"
    )
    worker.add_argument("--until-idle", action="store_true", help="exit when the queue is empty")


def _add_answers(sub: Any) -> None:
    search = _command(sub, "search", "app.cli.search:cmd_search", "문서 검색 / search documents")
    search.add_argument("query")
    search.add_argument("-k", type=_positive, default=5)
    ask = _command(sub, "ask", "app.cli.search:cmd_ask", "질문하기 (출처 포함 답변) / ask with cited answer")
    ask.add_argument("question")
    serve = _command(
        sub, "serve", "app.cli.serve:cmd_serve", "LLM 서버 + API + UI 실행 / run LLM server, API and UI"
    )
    serve.add_argument("--ingest", default=None, help="folder to ingest on first start (when empty)")
    serve.add_argument("--no-ui", action="store_true", help="do not start the Streamlit UI")


def _add_llm(sub: Any) -> None:
    llm = sub.add_parser("llm", help="LLM 서버 도구 / LLM server tools")
    llm_sub = llm.add_subparsers(dest="llm_command", required=True)
    vllm = _command(
        llm_sub,
        "vllm-command",
        "app.cli.llm:cmd_vllm_command",
        "print a tuned `vllm serve` command for a SOLAR fine-tune",
    )
    vllm.add_argument("--model", default="upstage/SOLAR-10.7B-Instruct-v1.0", help="HF name or local path")
    vllm.add_argument("--served-name", default="solar-10.7b-jikji")
    vllm.add_argument("--max-model-len", type=int, default=4096)
    vllm.add_argument("--gpu-memory-gib", type=float, default=79.0)
    vllm.add_argument("--gpu-memory-utilization", type=float, default=0.90)
    vllm.add_argument("--max-num-seqs", type=int, default=64)
    vllm.add_argument("--lora", action="append", metavar="NAME=PATH", help="department LoRA adapter")


def _add_eval(sub: Any) -> None:
    evaluate = sub.add_parser("eval", help="품질 평가 / evaluate quality")
    kinds = evaluate.add_subparsers(dest="eval_command", required=True)
    parser = _command(
        kinds,
        "retrieval",
        "app.cli.evaluate:cmd_eval_retrieval",
        "검색 품질 평가 (R@k, MRR, nDCG, 지연) / evaluate retrieval",
        description="Ingest a question set's documents into a temporary index and score the searcher.",
    )
    parser.add_argument("--dataset", type=Path, required=True, help="SQuAD v1 JSON or JSONL questions")
    parser.add_argument("--corpus", type=Path, default=None, help="documents to search (JSONL datasets)")
    parser.add_argument("--baseline", choices=BASELINES, default=None, help="default: the configured hybrid")
    parser.add_argument(
        "--out", type=Path, default=None, help="report directory (default: <data_dir>/eval-reports)"
    )
    parser.add_argument("--k", type=_positive, default=10, help="chunks per search (at least 10)")
    parser.add_argument("--limit", type=_positive, default=None, help="evaluate the first N questions")
    parser.add_argument("--embedder", default=None, help="embedding model override, e.g. `hashing`")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    answers = _command(
        kinds,
        "answers",
        "app.cli.evaluate:cmd_eval_answers",
        "답변 품질 평가 (근거 적중, EM/F1, 인용, 수치 검증, 지연) / evaluate answers",
        description="Ingest an answer set's documents into a temporary index and ask every question "
        "through the chat service with the configured model (the embedded llama.cpp server is started "
        "when none is configured or running).",
    )
    answers.add_argument("--dataset", type=Path, required=True, help="SQuAD v1 JSON or JSONL with answers")
    answers.add_argument("--corpus", type=Path, default=None, help="documents to answer from (JSONL sets)")
    answers.add_argument(
        "--out", type=Path, default=None, help="report directory (default: <data_dir>/eval-reports)"
    )
    answers.add_argument("--limit", type=_positive, default=None, help="evaluate the first N questions")
    answers.add_argument("--embedder", default=None, help="embedding model override, e.g. `hashing`")
    answers.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    answers.add_argument(
        "--mode",
        choices=ANSWER_MODES,
        default=None,
        help="answer mode (llm.answer_mode) for this run; default: the configured one",
    )
    gate = _command(
        kinds,
        "gate",
        "app.cli.gate:cmd_eval_gate",
        "릴리스 게이트: 현재 설정과 후보 비교 / release gate: current configuration vs a candidate",
        description="Run the answer evaluation (golden items) and the retrieval evaluation (golden items "
        "and the dev set, evaluation.gate_retrieval_limit questions) for the current configuration and "
        "for a candidate (the settings with overrides), side by side; exit 1 when a metric of the "
        "candidate falls beyond evaluation.gate_tolerance (per metric: evaluation.gate_tolerances). "
        "Each run is kept in SQL (GET /api/v1/eval/gate).",
    )
    gate.add_argument(
        "--candidate-settings", type=Path, default=None, help="JSON or TOML file of settings overrides"
    )
    gate.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="one override, e.g. llm.answer_mode=extractive or JIKJI_LLM__MODEL=solar-hr (repeatable)",
    )
    gate.add_argument(
        "--dataset", type=Path, default=None, help="answer set (default: the active golden items)"
    )
    gate.add_argument(
        "--corpus", type=Path, default=None, help="documents for throw-away indexes (default: the live index)"
    )
    gate.add_argument("--out", type=Path, default=None, help="report directory (default: <reports>/gate)")
    gate.add_argument("--limit", type=_positive, default=None, help="evaluate the first N questions")
    gate.add_argument("--embedder", default=None, help="embedding model override (with --corpus)")
    gate.add_argument("--group", default=None, help="only the golden items of this group (name)")


def _add_golden(sub: Any) -> None:
    parser = sub.add_parser("golden", help="골든 항목 (정답 세트) / golden items (the answer set)")
    commands = parser.add_subparsers(dest="golden_command", required=True)
    export = _command(
        commands,
        "export",
        "app.cli.golden:cmd_export",
        "JSONL로 내보내기 (eval answers 형식) / export as JSONL for `jikji eval answers`",
    )
    export.add_argument("--out", type=Path, default=None, help="file to write (default: stdout)")
    export.add_argument("--status", choices=("active", "retired", "all"), default="active")
    export.add_argument("--group", default=None, help="only the items of this group (name)")
    load = _command(
        commands,
        "import",
        "app.cli.golden:cmd_import",
        "JSONL 가져오기 (id가 같으면 새 버전) / import JSONL (a known id adds a version)",
    )
    load.add_argument("file", type=Path, help="JSONL written by `jikji golden export` or by hand")


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        msg = f"must be at least 0 and below 1: {text}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _add_finetune(sub: Any) -> None:
    parser = sub.add_parser("finetune", help="파인튜닝 데이터·학습 / fine-tuning data and training")
    commands = parser.add_subparsers(dest="finetune_command", required=True)
    export = _command(
        commands,
        "export",
        "app.cli.finetune:cmd_export",
        "학습 데이터셋 내보내기 (답변 프롬프트 형식) / export a data set in the answer prompt format",
        description="Write train.jsonl, heldout.jsonl and stats.json: golden items, questions built from "
        "the documents' articles, amounts, days, dates and procedures (each also in colloquial and keyword "
        "forms), and not-in-the-documents questions, each "
        "prompted exactly as Jikji answers (system rules, the sources retrieved for it, the question) with "
        "a reference answer citing [n]. Deduplicated, personal data masked, split by document; golden items "
        "repeated in train, abstentions capped.",
    )
    export.add_argument("--out", type=Path, required=True, help="folder to write the data set into")
    export.add_argument(
        "--group", default=None, help="only what this group may see (its documents and public ones)"
    )
    export.add_argument(
        "--all", action="store_true", help="every document (admin; default: public documents only)"
    )
    export.add_argument(
        "--heldout", type=_fraction, default=0.1, help="share of documents held out (default 0.1)"
    )
    export.add_argument(
        "--golden-weight", type=_positive, default=3, help="copies of each golden item in train (default 3)"
    )
    export.add_argument(
        "--abstain-cap",
        type=_fraction,
        default=0.15,
        help="largest share of abstention lines in each split (default 0.15)",
    )
    _add_finetune_training(commands)


def _add_finetune_training(commands: Any) -> None:
    train = _command(
        commands,
        "train",
        "app.cli.adapters:cmd_train",
        "LoRA 어댑터 학습 / train a LoRA adapter",
        description="LoRA (PEFT) on the answer model: the loss covers only the reference answers, the "
        "prompts are rendered as the server renders them. Runs on CPU for a few steps (the embedded "
        "gemma-3-270m, dequantised from its GGUF once); a GPU trains properly (--4bit: QLoRA). Writes the "
        "adapter, its card (jikji-adapter.json: data, steps, loss) and adapter.gguf for llama.cpp.",
    )
    train.add_argument("--data", type=Path, required=True, help="train.jsonl from `jikji finetune export`")
    train.add_argument("--out", type=Path, required=True, help="adapter folder to write (PEFT format)")
    train.add_argument("--steps", type=_positive, default=50, help="optimizer steps (default 50)")
    train.add_argument(
        "--max-minutes",
        type=float,
        default=None,
        help="stop after the step that passes this many minutes and save (on CPU: as many steps as fit)",
    )
    train.add_argument("--rank", type=_positive, default=8, help="LoRA rank (default 8)")
    train.add_argument("--lr", type=float, default=2e-4, help="learning rate (default 2e-4)")
    train.add_argument("--max-length", type=_positive, default=768, help="tokens per example (default 768)")
    train.add_argument("--grad-accumulation", type=_positive, default=1, help="examples per step (default 1)")
    train.add_argument(
        "--base", type=Path, default=None, help="GGUF or HF folder (default: the answer model)"
    )
    train.add_argument(
        "--chat-format",
        default=None,
        help="llama.cpp chat format of the prompts (default: llm.chat_format; '' for the model's chat "
        "template, as vLLM applies it)",
    )
    train.add_argument("--4bit", dest="four_bit", action="store_true", help="QLoRA (CUDA + bitsandbytes)")
    train.add_argument("--no-gguf", dest="gguf", action="store_false", help="skip writing adapter.gguf")
    to_gguf = _command(
        commands,
        "to-gguf",
        "app.cli.adapters:cmd_to_gguf",
        "PEFT 어댑터를 llama.cpp GGUF LoRA로 / a PEFT adapter as a llama.cpp GGUF LoRA",
    )
    to_gguf.add_argument("adapter", type=Path, help="PEFT adapter folder")
    to_gguf.add_argument(
        "--out", type=Path, default=None, help="file to write (default: <adapter>/adapter.gguf)"
    )
    to_gguf.add_argument(
        "--arch", default="gemma3", help="llama.cpp architecture of the base (default gemma3)"
    )


def _add_adapters(sub: Any) -> None:
    parser = sub.add_parser("adapters", help="그룹별 파인튜닝 어댑터 / fine-tuned adapters per group")
    commands = parser.add_subparsers(dest="adapters_command", required=True)
    _command(commands, "list", "app.cli.adapters:cmd_list", "설정된 어댑터와 배정 / adapters and assignments")
    enable = _command(
        commands,
        "enable",
        "app.cli.adapters:cmd_enable",
        "그룹에 어댑터 켜기 / switch an adapter on for a group",
        description="Only through a release-gate run that passed with the adapter as its candidate "
        "(--gate-run), or an admin override whose reason is written to the audit log (--override).",
    )
    enable.add_argument("group", help="group name or id")
    enable.add_argument("adapter", help="a name in llm.adapters")
    how = enable.add_mutually_exclusive_group(required=True)
    how.add_argument("--gate-run", default=None, help="id of the passed gate run")
    how.add_argument("--override", default=None, metavar="REASON", help="admin override and its reason")
    disable = _command(
        commands,
        "disable",
        "app.cli.adapters:cmd_disable",
        "그룹을 기본 모델로 / group back to the base model",
    )
    disable.add_argument("group", help="group name or id")


def _add_users(sub: Any) -> None:
    users = sub.add_parser("users", help="계정 관리 / manage accounts")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    create = _command(
        users_sub,
        "create-admin",
        "app.cli.users:cmd_create_admin",
        "관리자 계정 만들기 / create an admin account",
    )
    create.add_argument("name", help="user name of the new admin")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from one line of stdin"
    )
    create.add_argument("--display-name", default="", help="name shown in the UI")
    _command(users_sub, "list", "app.cli.users:cmd_list", "계정 목록 / list accounts")


def _add_identity(sub: Any) -> None:
    parser = sub.add_parser("identity", help="LDAP·SCIM 디렉터리 연동 / directory sync (LDAP, SCIM)")
    commands = parser.add_subparsers(dest="identity_command", required=True)
    sync = _command(
        commands,
        "sync",
        "app.cli.identity:cmd_sync",
        "LDAP 동기화 (그룹 갱신, 퇴사·비활성 계정 해지) / sync LDAP now (groups, deprovisioning)",
    )
    sync.add_argument(
        "--force", action="store_true", help="apply even when it deactivates more than max_deprovision_share"
    )
    _command(commands, "status", "app.cli.identity:cmd_status", "동기화 상태 / last run of each source")
    _command(
        commands,
        "scim-token",
        "app.cli.identity:cmd_scim_token",
        "SCIM 토큰 발급 (해시를 설정에) / new SCIM bearer token and the hash to configure",
    )


def _add_dict(sub: Any) -> None:
    parser = sub.add_parser("dict", help="회사 용어 사전 / company dictionary for Kiwi")
    commands = parser.add_subparsers(dest="dict_command", required=True)
    _command(commands, "list", "app.cli.dictionary:cmd_list", "등록된 용어 / list terms")
    add = _command(commands, "add", "app.cli.dictionary:cmd_add", "용어 추가 (관련 청크 재분석) / add a term")
    add.add_argument("term", help="product, team or acronym to keep whole, e.g. 한빛클라우드")
    add.add_argument("--tag", default="NNP", help="Kiwi POS tag: NNP (default), NNG, SL or XR")
    add.add_argument("--score", type=float, default=0.0, help="Kiwi preference score (0.0)")
    remove = _command(
        commands, "remove", "app.cli.dictionary:cmd_remove", "용어 삭제 (관련 청크 재분석) / remove a term"
    )
    remove.add_argument("term")
    _command(
        commands,
        "retokenize",
        "app.cli.dictionary:cmd_retokenize",
        "모든 청크 재분석 (업그레이드 후) / re-tokenize every chunk (after an upgrade)",
    )


def _add_backup(sub: Any) -> None:
    backup = _command(
        sub,
        "backup",
        "app.cli.backup:cmd_backup",
        "백업 (SQL 스냅숏·원본·색인 목록) / back up SQL, originals and index manifest",
        description="Write one .tar.gz while the server runs: a consistent SQL snapshot (SQLite online "
        "backup; PostgreSQL in one REPEATABLE READ transaction), the stored originals and a manifest "
        "with checksums. Written under a temporary name and renamed when complete; readable by its "
        "owner only (it holds password hashes and every document).",
    )
    backup.add_argument("dest", help="archive file to create, or an existing folder for a dated name")
    restore = _command(
        sub,
        "restore",
        "app.cli.backup:cmd_restore",
        "백업 복원 후 색인 재구성 / restore a backup, then rebuild the indexes",
        description="Verify every checksum, restore the database and originals into an empty data "
        "directory and database, then rebuild Chroma and BM25 from SQL. Stop the server first.",
    )
    restore.add_argument("archive", help="a file written by `jikji backup`")
    restore.add_argument(
        "--force", action="store_true", help="delete the data already in the target and restore over it"
    )
    reindex = _command(
        sub,
        "reindex",
        "app.cli.backup:cmd_reindex",
        "SQL에서 Chroma·BM25 다시 만들기 (이어하기 가능) / rebuild Chroma and BM25 from SQL",
        description="Embed every current chunk that has no vector, delete vectors without a chunk, "
        "and rebuild BM25 from SQL. An interrupted run is resumed by the next one. Permissions live in "
        "SQL and do not change. Stop the server first when Chroma is embedded.",
    )
    reindex.add_argument(
        "--fresh", action="store_true", help="drop the vector collection first (e.g. another embedding model)"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="jikji", description="Jikji 사내 지식 도우미 / knowledge assistant")
    sub = parser.add_subparsers(dest="command", required=True)
    adders = (
        _add_documents,
        _add_answers,
        _add_llm,
        _add_eval,
        _add_golden,
        _add_finetune,
        _add_adapters,
        _add_users,
        _add_dict,
        _add_backup,
        _add_identity,
    )
    for add in adders:
        add(sub)
    return parser
